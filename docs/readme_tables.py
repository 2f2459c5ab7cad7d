"""The README's measured tables, made by running the commands printed above them.

    python docs/readme_tables.py            # run the commands, print the tables
    python docs/readme_tables.py --write    # ... and put them (and the sweep's PNG) in place
    python docs/readme_tables.py --check    # exit 1 naming each figure README.md has wrong

A table sits between `<!-- table NAME: ... -->` and `<!-- end table -->`; the commands measured are
the `sh` block just before it, run exactly as printed, one `bash` call each, in an empty folder
(`designer` is this checkout's). The figures come from what those commands print and write, so
the table cannot say something a fresh run would not. The marker names the machine the table
was made on (`machine()`: the CPU's vendor, the instruction set torch runs on, torch's version),
since float sums round differently on each and training follows another path there. On that
machine `--check` compares counts exactly and validation errors within `ERROR_TOLERANCE`; on
another, errors within `OTHER_MACHINE_ERROR` points and other numbers within
`OTHER_MACHINE_RELATIVE` of theirs (LeNet-5 pruned 90 % without fine-tuning moved 3.3 points
between two machines). Latencies, which belong to the machine, are not compared.
"""

import argparse
import csv
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ERROR_TOLERANCE = 0.6      # percentage points: two of the 359 digits held out
OTHER_MACHINE_ERROR = 5.0  # percentage points, on a machine other than the table's
OTHER_MACHINE_RELATIVE = 0.02   # bytes after entropy coding follow the weights
MARKER = re.compile(r"<!-- table (\w+): (.*?)-->\n(.*?)<!-- end table -->\n", re.S)
MADE_ON = re.compile(r", on (.*?) $")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def code_blocks(text):
    """(info string, body, offset of the block's end) for each fenced block."""
    return [(m.group(1), m.group(2), m.end()) for m in FENCE.finditer(text)]


def commands(body):
    """The block's commands: continuation lines joined, blank lines dropped."""
    return [c for c in body.replace("\\\n", " ").splitlines() if c.strip()]


def environment(folder):
    """A user's shell, this checkout's `designer` first on PATH, nothing of the user's touched."""
    env = dict(os.environ, HOME=str(folder), CNN_DESIGNER_RUNS=str(Path(folder) / "user-runs"),
               QT_QPA_PLATFORM="offscreen")
    bin_dir = Path(folder) / ".bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "designer"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m designer "$@"\n')
    shim.chmod(0o755)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


class CommandFailed(Exception):
    pass


def run_block(body, folder):
    """Run each command as printed; {command: its stdout and stderr}. Raises on a failure."""
    env, outputs = environment(folder), {}
    # Commands sent to the background (`&` ... `wait`) run together, as one script.
    together = any(c.rstrip().endswith("&") for c in commands(body))
    for command in ["set -e\n" + body] if together else commands(body):
        done = subprocess.run(["bash", "-c", command], cwd=folder, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if done.returncode:
            raise CommandFailed(f"exit {done.returncode}: {command}\n{done.stdout[-3000:]}")
        outputs[command] = done.stdout
    return outputs


def _output_of(outputs, *words):
    """The output of the one command that contains every word."""
    (out,) = [o for c, o in outputs.items() if all(w in c.split() for w in words)]
    return out


def _before_after(out, label):
    """('61,706', '15,738') from a compress verb's `  parameters   61,706 → 15,738  (×0.26)`."""
    m = re.search(rf"^  {re.escape(label)}\s+(\S+) → (\S+)", out, re.M)
    return m.group(1), m.group(2)


def _error(text):
    return text.replace("%", " %")


def compress_table(outputs, folder):
    prune = _output_of(outputs, "prune")
    int8 = _output_of(outputs, "quantize", "int8-static")
    w4 = _output_of(outputs, "quantize", "weight:4:kmeans")
    svd = _output_of(outputs, "factorize")
    report = _output_of(outputs, "compress-report")

    def row(label, out, bytes_note=""):
        return (f"| {label} | {_before_after(out, 'parameters')[1]} | "
                f"{_before_after(out, 'multiply-adds')[1]} | "
                f"{_before_after(out, 'bytes')[1]}{bytes_note} | "
                f"{_error(_before_after(out, 'val top-1 error')[1])} |")

    params, macs, size, error = (_before_after(prune, label)[0] for label in
                                 ("parameters", "multiply-adds", "bytes", "val top-1 error"))
    batches = re.search(r"calibrated on (\d+) batches", int8).group(1)
    before, after = (int(v.replace(",", "")) for v in _before_after(int8, "bytes"))
    ranks = ", ".join(f"{m.group(2)}/{m.group(3)}" for m in re.finditer(
        r"layer (\S+)\s+rank (\d+)\s+full_rank (\d+)", svd))
    layers = "/".join(m.group(1) for m in re.finditer(r"layer (\S+)\s+rank", svd))
    stages = {m.group(1): (m.group(2), m.group(3), m.group(4)) for m in re.finditer(
        r"^  (dense|pruned|quantized|huffman)\s+([\d,]+) bytes\s+×(\S+) smaller\s+"
        r"val top-1 error (\S+)", report, re.M)}
    layers_kept = [(int(w.replace(",", "")), int(k.replace(",", ""))) for w, k in
                   re.findall(r"weights ([\d,]+)\s+kept ([\d,]+)", report)]
    kept = sum(k for _, k in layers_kept)
    pruned = "/".join(f"{p} %" for p in sorted({round(100 * (1 - k / w)) for w, k in layers_kept}))
    bits = "/".join(sorted({b for b in re.findall(r"bits (\d+)", report)}, reverse=True,
                           key=int))
    return "\n".join([
        "| LeNet-5 on digits | parameters | multiply-adds | bytes | val top-1 error |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| trained fp32 | {params} | {macs} | {size} | {_error(error)} |",
        row("L1 prune half the filters + 3 fine-tune epochs", prune),
        row(f"int8 static ({batches} calibration batches)", int8,
            f" (×{before / after:.2f} smaller)"),
        row("weight-only 4-bit k-means, per channel", w4),
        row(f"SVD of {layers} at 90 % energy (ranks {ranks})", svd),
        f"| Deep Compression: prune {pruned} → k-means {bits} bits → Huffman | {kept:,} kept | "
        f"{macs} | "
        f"{stages['pruned'][0]} → {stages['quantized'][0]} → {stages['huffman'][0]} "
        f"(×{stages['huffman'][1]}) | {_error(stages['pruned'][2])} → "
        f"{_error(stages['quantized'][2])} (no fine-tuning) |",
    ]) + "\n"


def sweep_table(outputs, folder):
    (out_dir,) = re.findall(r"--out (\S+)", "".join(c for c in outputs if "sweep" in c))
    with open(Path(folder) / out_dir / "trials.csv", newline="") as f:
        trials = list(csv.DictReader(f))
    lines = ["| trial | lr | width | parameters | MACs | latency ms | val top-1 error |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for t in trials:
        error = f"{float(t['val_top1_error']):.2%}".replace("%", " %")
        if t["state"] != "complete":
            epoch = re.search(r"after epoch (\d+)", t["message"] or "")
            error = (f"{t['state']}" + (f" after epoch {epoch.group(1)} at {error}"
                                        if epoch else ""))
        lines.append(f"| {t['trial']} | {t['lr']} | {t['width']} | {int(t['total_params']):,} | "
                     f"{int(t['total_macs']):,} | {float(t['latency_ms']):.3f} | {error} |")
    return "\n".join(lines) + "\n"


def sweep_picture(folder, outputs):
    (out_dir,) = re.findall(r"--out (\S+)", "".join(c for c in outputs if "sweep" in c))
    return Path(folder) / out_dir / "tradeoff.png"


TABLES = {"compress": compress_table, "sweep": sweep_table}
PICTURES = {"sweep": (sweep_picture, ROOT / "docs" / "speed_tradeoff_digits.png")}


def machine():
    """What a training run's figures depend on besides the code and the seed."""
    import platform
    import torch
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            vendor = next((line.split(":", 1)[1].strip() for line in cpuinfo
                           if line.startswith("vendor_id")), "")
    except OSError:
        vendor = ""
    return (f"{vendor or platform.machine()} {torch.backends.cpu.get_cpu_capability()}, "
            f"torch {torch.__version__}")


def generated(text, names=None):
    """{name: (block body, offset span of the table in text, the machine it was made on or
    None, offset span of the marker's text)} for the README's marked tables."""
    found = {}
    for m in MARKER.finditer(text):
        name = m.group(1)
        if names and name not in names:
            continue
        blocks = [b for b in code_blocks(text[:m.start()]) if b[0] == "sh"]
        made_on = MADE_ON.search(m.group(2))
        found[name] = (blocks[-1][1], m.span(3), made_on.group(1) if made_on else None,
                       m.span(2))
    return found


def measure(name, body, keep_picture=False):
    with tempfile.TemporaryDirectory(prefix=f"readme-{name}-") as folder:
        outputs = run_block(body, folder)
        table = TABLES[name](outputs, folder)
        if keep_picture and name in PICTURES:
            source, target = PICTURES[name]
            shutil.copyfile(source(folder, outputs), target)
        return table


_NUMBER = re.compile(r"(\d[\d,]*\.?\d*)( %)?")


def differences(name, old, new, same_machine=True):
    """Sentences naming each figure of `old` that a fresh run (`new`) does not reproduce, on the
    machine `old` was made on or (`same_machine` False) another."""
    error_tolerance = ERROR_TOLERANCE if same_machine else OTHER_MACHINE_ERROR
    relative = 0.0 if same_machine else OTHER_MACHINE_RELATIVE

    def near(x, y, is_error):
        x, y = float(x.replace(",", "")), float(y.replace(",", ""))
        return abs(x - y) <= (error_tolerance if is_error else relative * max(abs(x), abs(y)))

    problems = []
    old_rows, new_rows = old.strip().splitlines(), new.strip().splitlines()
    if len(old_rows) != len(new_rows):
        return [f"{name}: README has {len(old_rows)} rows, a fresh run {len(new_rows)}"]
    header = [h.strip() for h in new_rows[0].strip("|").split("|")]
    for old_row, new_row in zip(old_rows[2:], new_rows[2:]):
        old_cells = [c.strip() for c in old_row.strip("|").split("|")]
        new_cells = [c.strip() for c in new_row.strip("|").split("|")]
        for column, a, b in zip(header, old_cells, new_cells):
            if a == b or "latency" in column:
                continue
            va, vb = _NUMBER.findall(a), _NUMBER.findall(b)
            close = (len(va) == len(vb) and [x[1] for x in va] == [x[1] for x in vb]
                     and all(x == y or near(x, y, bool(pa)) for (x, pa), (y, _) in zip(va, vb))
                     and _NUMBER.sub("#", a) == _NUMBER.sub("#", b))
            if not close:
                problems.append(f"{name}, {new_cells[0]!r}, {column}: README says {a!r}, "
                                f"a fresh run gives {b!r}")
    return problems


def check(text, names=None):
    """Every sentence about a wrong figure in the README's generated tables (empty: all hold)."""
    problems, here = [], machine()
    for name, (body, (start, end), made_on, _) in generated(text, names).items():
        problems += differences(name, text[start:end], measure(name, body),
                                same_machine=made_on == here)
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"tables to make (default all: {list(TABLES)})")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="put the fresh tables in README.md")
    mode.add_argument("--check", action="store_true", help="exit 1 if README.md's tables are wrong")
    args = parser.parse_args(argv)
    text = README.read_text()
    if args.check:
        problems = check(text, args.names)
        print("\n".join(problems) or "README tables hold")
        return 1 if problems else 0
    tables, here = generated(text, args.names), machine()
    for name, (body, span, _, marker) in sorted(tables.items(), key=lambda t: -t[1][1][0]):
        fresh = measure(name, body, keep_picture=args.write)
        print(f"{name} (on {here}):\n{fresh}")
        (start, end), (marker_start, marker_end) = span, marker
        words = MADE_ON.sub(" ", text[marker_start:marker_end]).rstrip()
        text = (text[:marker_start] + f"{words}, on {here} " + text[marker_end:start] + fresh
                + text[end:])
    if args.write:
        from designer.core.atomic import write_text
        write_text(README, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
