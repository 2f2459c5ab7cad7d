"""Refusing work that cannot fit in memory, before anything is allocated.

The analysis already knows a design's weights and activations per sample (fp32). Building the
model allocates the weights; running a batch allocates at least the activations of that batch.
`check_fits` compares that lower bound with the memory available (the machine's, or the GPU's)
and raises `MemoryLimitError` naming both numbers, instead of letting the allocator fail after
eating the machine's memory (`--input 3x100000x100000`).
"""

import os

from .errors import DesignError
from .infer import BYTES_PER_ELEMENT, Analyzer


class MemoryLimitError(DesignError):
    """The design, at this input size and batch, needs more memory than there is."""


def format_bytes(n):
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n} bytes"


def _cgroup_limit():
    """What this process's control group still allows (containers), or None. The page cache it
    is charged for ("file") can be reclaimed, so it does not count as used."""
    try:
        with open("/sys/fs/cgroup/memory.max") as handle:
            limit = handle.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current") as handle:
            used = int(handle.read().strip())
        with open("/sys/fs/cgroup/memory.stat") as handle:
            stats = dict(line.split() for line in handle if line.count(" ") == 1)
    except (OSError, ValueError):
        return None
    return max(0, int(limit) - used + int(stats.get("file", 0)))


def available_memory(device=None):
    """Bytes that can still be allocated on `device` (a torch.device or None for the CPU), or None
    when this platform does not say."""
    if device is not None and getattr(device, "type", "cpu") == "cuda":
        import torch
        return torch.cuda.mem_get_info(device)[0]
    found = []
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not found and hasattr(os, "sysconf"):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            pass
    limit = _cgroup_limit()
    if limit is not None:
        found.append(limit)
    return min(found) if found else None


def design_needs(graph):
    """(parameters, activation bytes per sample) of what the compiled model keeps."""
    totals = Analyzer(graph).totals
    return totals.params, totals.memory


def check_fits(params, per_sample, batch, doing, device=None, available=None):
    """MemoryLimitError when `doing` (e.g. "exporting") cannot fit: building `params` fp32
    weights and running a batch of `batch` samples of `per_sample` activation bytes is the least
    it allocates. `available` overrides the measured free memory (tests)."""
    available = available_memory(device) if available is None else available
    if available is None:
        return
    weights = params * BYTES_PER_ELEMENT
    need = weights + per_sample * batch
    if need > available:
        where = " on the GPU" if getattr(device, "type", "cpu") == "cuda" else ""
        activations = (f" and {format_bytes(per_sample)} of activations per sample × batch {batch}"
                       if batch else "")
        raise MemoryLimitError(
            f"{doing} needs at least {format_bytes(need)} ({format_bytes(weights)} of weights"
            f"{activations}) but only {format_bytes(available)} is free{where}; use a smaller "
            "input shape or batch, or fewer channels")
