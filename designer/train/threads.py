"""How many CPU threads a run uses, and when `torch.compile` is unlikely to pay.

PyTorch's default intra-op thread count is the machine's cores. A small model's step on the CPU
is too short to split: on a 2-core machine lenet5 trained 2–3× slower at 2 threads than at 1
(the threads spin and wait on each other, worse still when the machine is busy). So `threads`
left at auto is 1 on the CPU for a model of fewer than `SMALL_MODEL_MACS` multiply-adds a
sample, else the physical cores, never more than PyTorch's current count (which honours
OMP_NUM_THREADS). On CUDA the model runs on the GPU and the CPU threads serve only the data
path, so auto takes the large-model count there whatever the model.
"""

import os

import torch

# Below this many multiply-adds per sample, one thread trains fastest on the CPU (README,
# "Training small models on CPU"): lenet5 is 0.4 M, resnet20_cifar 41 M.
SMALL_MODEL_MACS = 50_000_000
# torch.compile against eager, lenet5 on the CPU (measured, README): it does not pay there.
SMALL_COMPILE_SPEEDUP = 0.52


def physical_cores():
    """The physical cores this process may run on (hyper-threads counted once)."""
    try:
        allowed = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        allowed = set(range(os.cpu_count() or 1))
    cores, cpu = set(), None
    try:
        with open("/proc/cpuinfo") as info:
            fields = {}
            for line in info:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "processor":
                    cpu = int(value)
                fields[key] = value
                if key == "core id" and cpu in allowed:
                    cores.add((fields.get("physical id"), value))
    except (OSError, ValueError):
        cores = set()
    return max(1, min(len(cores) or len(allowed), len(allowed)))


def small_on_cpu(macs, device):
    return torch.device(device).type == "cpu" and macs < SMALL_MODEL_MACS


def auto_threads(macs, device, current=None):
    """The thread count `threads=None` (auto) means for a model of `macs` multiply-adds a sample
    on `device`; `current` is PyTorch's count now (read when not given)."""
    current = torch.get_num_threads() if current is None else current
    if small_on_cpu(macs, device):
        return 1
    return max(1, min(physical_cores(), current))


def thread_note(threads, asked, macs, device):
    """The run's message about its thread count."""
    if asked is not None:
        return f"threads: {threads} (as asked)"
    why = (f"a small model, {macs / 1e6:.1f} M multiply-adds a sample, on the CPU"
           if small_on_cpu(macs, device) else "the physical cores")
    return f"threads: {threads} (auto: {why}; --threads N sets it)"


def compile_note(macs, device):
    """A sentence when `torch.compile` is unlikely to pay (a small model on the CPU), else None.
    Compiling is not refused."""
    if not small_on_cpu(macs, device):
        return None
    return (f"compile: unlikely to pay for a small model on the CPU ({macs / 1e6:.1f} M "
            f"multiply-adds a sample): lenet5 trained at {SMALL_COMPILE_SPEEDUP:.2f}× eager's "
            "speed compiled; --no-compile trains it eagerly")

