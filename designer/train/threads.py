"""How many CPU threads a run uses, and when `torch.compile` is unlikely to pay.

PyTorch's default intra-op thread count is the machine's cores, which a busy machine does not
have free: on 2 cores with one other busy process, lenet5 trained at 1,205 images/s on 2 threads
against 5,416 on 1 (resnet20_cifar: 33–97 against 285), the threads spinning and waiting on each
other. Idle, 2 threads were faster (lenet5 9,606 against 6,549: 1.47× for twice the CPU). So
`threads` left at auto is 1 on the CPU for a model of fewer than `SMALL_MODEL_MACS`
multiply-adds a sample (little to gain, much to lose), else the physical cores not already busy
(by the 1-minute load average), never more than PyTorch's current count (which honours
OMP_NUM_THREADS). On CUDA the model runs on the GPU and the CPU threads serve only the data path,
so auto takes the larger count there whatever the model. README, "Training small models on CPU".

Under torchrun the processes of one node share its cores: each takes its share of the free ones
(LOCAL_WORLD_SIZE). With one process per node torchrun leaves OMP_NUM_THREADS unset, so PyTorch's
count is the machine's and auto gives that process the free cores (the issue measured 99 images/s
on the 1 thread it ran on before against ~1,100); with several torchrun sets OMP_NUM_THREADS=1,
which auto keeps.
"""

import os

# Below this many multiply-adds per sample a run on the CPU takes one thread: lenet5 is 0.4 M
# (1.47× from a second idle core), resnet20_cifar 41 M (up to 1.8×), resnet18 1.8 G.
SMALL_MODEL_MACS = 10_000_000
# torch.compile's speed against eager's, lenet5 on a 2-core CPU (issue 25): it does not pay.
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
    """A model under `SMALL_MODEL_MACS` on the CPU; `device` a torch.device or its name (torch
    is not imported here: the Train panel asks before PyTorch has loaded)."""
    kind = getattr(device, "type", None) or str(device).split(":")[0]
    return kind == "cpu" and macs < SMALL_MODEL_MACS


def busy_cores():
    """The cores other processes keep busy: the 1-minute load average, rounded down."""
    try:
        return int(os.getloadavg()[0])
    except (AttributeError, OSError):
        return 0


def local_processes():
    """The training processes on this machine: torchrun's LOCAL_WORLD_SIZE, else 1."""
    try:
        return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        return 1


def auto_threads(macs, device, current=None, busy=None, local=None):
    """The thread count `threads=None` (auto) means for a model of `macs` multiply-adds a sample
    on `device`; `current` is PyTorch's count now, `busy` the cores other processes use and
    `local` the run's processes on this machine (each read when not given)."""
    import torch
    current = torch.get_num_threads() if current is None else current
    if small_on_cpu(macs, device):
        return 1
    cores = physical_cores()
    busy = busy_cores() if busy is None else busy
    local = local_processes() if local is None else local
    return max(1, min((cores - busy) // local, current))


def thread_note(threads, asked, macs, device):
    """The run's message about its thread count."""
    if asked is not None:
        return f"threads: {threads} (as asked)"
    local = local_processes()
    shared = f", shared by this machine's {local} training processes" if local > 1 else ""
    why = (f"a small model, {macs / 1e6:.1f} M multiply-adds a sample, on the CPU"
           if small_on_cpu(macs, device) else f"the physical cores not busy{shared}")
    return f"threads: {threads} (auto: {why}; --threads N sets it)"


def compile_note(macs, device):
    """A sentence when `torch.compile` is unlikely to pay (a small model on the CPU), else None.
    Compiling is not refused."""
    if not small_on_cpu(macs, device):
        return None
    return (f"compile: unlikely to pay for a small model on the CPU ({macs / 1e6:.1f} M "
            f"multiply-adds a sample): lenet5 trained at {SMALL_COMPILE_SPEEDUP:.2f}× eager's "
            "speed compiled; --no-compile trains it eagerly")

