"""Memory access cost (MAC) per node, arithmetic intensity and the roofline verdict.

ShuffleNet V2 (Ma et al. 2018) counts a layer's memory access as the elements it reads (inputs and
weights) plus the elements it writes (outputs); for a 1×1 convolution from c1 to c2 channels on an
h×w map that is exactly hw(c1 + c2) + c1·c2. We count every layer the same way, unfused, from the
live shape analysis (no forward pass): a block is the sum of the layers inside it. Arithmetic
intensity is multiply-adds per byte moved; a layer below the device's ridge point (peak MAC/s ÷
peak bytes/s) is memory-bound, above it compute-bound.

The CPU's peaks are measured once (a large fp32 matmul and a large copy) and cached on disk per
machine, thread count and torch version; on CUDA the same two measurements run on the GPU. The
verdict for float16/bfloat16 layers is taken against these fp32 peaks.
"""

from dataclasses import dataclass
import json
from math import prod
import os
from pathlib import Path
import platform
import time

from designer.core.atomic import write_text
from designer.core.categories import REGULARISATION
from designer.core.infer import analyze, input_states
from designer.core.registry import Role

# Nodes that move no data of their own when executed: graph plumbing, regularisation layers
# (Dropout, DropPath: identities at inference, where latency is measured) and these views.
PLUMBING = (Role.INPUT, Role.OUTPUT, Role.BLOCK_INPUT)
VIEWS = {"Identity", "Flatten", "Split"}

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


@dataclass(frozen=True)
class Traffic:
    """One node's work for a batch: multiply-adds and bytes read (inputs + weights) and written."""
    macs: int = 0
    bytes_read: int = 0
    bytes_written: int = 0

    @property
    def bytes(self):
        return self.bytes_read + self.bytes_written

    @property
    def intensity(self):
        """Multiply-adds per byte moved (0 for a node that moves nothing)."""
        return self.macs / self.bytes if self.bytes else 0.0

    def __add__(self, other):
        return Traffic(self.macs + other.macs, self.bytes_read + other.bytes_read,
                       self.bytes_written + other.bytes_written)


def moves_no_data(node):
    return (node.role in PLUMBING or node.spec.category is REGULARISATION
            or node.type in VIEWS)


def node_traffic(graph, results, nid, batch=1, dtype="float32"):
    """The Traffic of node `nid` of an error-free `graph` analysed into `results`."""
    node, result = graph.nodes[nid], results[nid]
    if moves_no_data(node) or not result.ok:
        return Traffic()
    states = input_states(graph, results, nid)
    if node.is_block:
        inner = node.block_graph([s.shape for s in states.values()])
        inner_results = analyze(inner, states)
        return sum((node_traffic(inner, inner_results, inner_id, batch, dtype)
                    for inner_id in inner.nodes), Traffic())
    size = DTYPE_BYTES[dtype]
    read = batch * sum(prod(s.shape) for s in states.values()) + result.params
    written = batch * sum(prod(s.shape) for s in result.outputs.values())
    return Traffic(result.macs * batch, read * size, written * size)


def graph_traffic(graph, results=None, batch=1, dtype="float32"):
    """Node id -> Traffic for every node of `graph` (analysed here unless `results` is given)."""
    results = results if results is not None else analyze(graph)
    return {nid: node_traffic(graph, results, nid, batch, dtype) for nid in graph.nodes}


# ---- the device's peaks ---------------------------------------------------------------------

@dataclass(frozen=True)
class Peak:
    macs_per_s: float       # dense matmul multiply-adds per second
    bytes_per_s: float      # copy bandwidth, bytes read + written per second

    @property
    def ridge(self):
        """The intensity (MACs per byte) where a layer stops being memory-bound."""
        return self.macs_per_s / self.bytes_per_s

    def bound(self, traffic):
        if not traffic.bytes:
            return "memory"
        return "compute" if traffic.intensity >= self.ridge else "memory"


_peaks = {}


def _cache_file():
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "cnn-designer" / "peaks.json"


def _best_seconds(work, sync, repeats=3):
    work()
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def _measure(device):
    import torch
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    n = 2048 if device == "cuda" else 1024
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    macs_per_s = n ** 3 / _best_seconds(lambda: torch.mm(a, b), sync)
    elements = (1 << 26) if device == "cuda" else (1 << 24)       # 256 MiB / 64 MiB of fp32
    src = torch.randn(elements, device=device)
    dst = torch.empty_like(src)
    bytes_per_s = 2 * elements * 4 / _best_seconds(lambda: dst.copy_(src), sync)
    return Peak(macs_per_s, bytes_per_s)


def device_peak(device="cpu"):
    """The device's Peak, measured the first time for this machine, thread count and torch
    version and cached (in memory and in ~/.cache/cnn-designer/peaks.json)."""
    import torch
    if device == "cuda":
        key = f"cuda|{torch.cuda.get_device_name()}|{torch.__version__}"
    else:
        key = f"cpu|{platform.machine()}|{os.cpu_count()}|{torch.get_num_threads()}|{torch.__version__}"
    if key in _peaks:
        return _peaks[key]
    path = _cache_file()
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        stored = {}
    if isinstance(stored.get(key), dict):
        try:
            _peaks[key] = Peak(float(stored[key]["macs_per_s"]), float(stored[key]["bytes_per_s"]))
            return _peaks[key]
        except (KeyError, TypeError, ValueError):
            pass
    peak = _peaks[key] = _measure(device)
    stored[key] = {"macs_per_s": peak.macs_per_s, "bytes_per_s": peak.bytes_per_s}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(stored, indent=1))
    except OSError:
        pass     # a read-only home only costs a re-measurement next time
    return peak
