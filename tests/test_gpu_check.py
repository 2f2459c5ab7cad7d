"""bench/gpu_check.py's CPU smoke test: `--device cpu --quick` prints its table and no row
FAILED (the compile rows say "skipped (quick)", the CUDA-only ones "skipped (cpu)")."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu_check.py"


@pytest.mark.timeout(120)
def test_gpu_check_cpu_quick(capsys, tmp_path):
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = module.main(["--device", "cpu", "--quick", "--json", str(tmp_path / "rows.json")])
    out = capsys.readouterr().out
    assert "FAILED" not in out.replace("0 FAILED", ""), out
    assert code == 0, out
    assert "skipped (cpu)" in out and "skipped (quick)" in out
    for row in ("train resnet20_cifar fast path fp32", "train resnet20_cifar DataLoader fp32",
                "ratio resnet20_cifar fast path / plain loop", "profile resnet20_cifar",
                "insight", "compress prune", "sweep 2 trials", "DDP one process (gloo)",
                "memory: a batch that cannot fit is refused"):
        line = next((text for text in out.splitlines() if text.startswith(row)), "")
        assert " ok " in line, (row, out)
    assert (tmp_path / "rows.json").exists()
