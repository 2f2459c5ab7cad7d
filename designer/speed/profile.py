"""Measured latency per node of a compiled design, and the `designer profile` report.

The compiled `torch.fx.GraphModule` names its submodules after node ids (a block's layers nest under
the block's id), so every fx node belongs to one node of the design. We copy the fx graph and put a
clock tick before each node's first fx operation (and one before the output): one forward pass then
yields each node's time as the gap to the next tick, and the gaps add up to the forward pass minus
the ticks' own cost. On CUDA the ticks are CUDA events. The end-to-end time is measured on the
unmodified module (the median of the repeats after warm-up), interleaved with the ticked runs;
a node's time is its mean over the ticked runs whose total lies in the middle half, so the parts
add up to a typical whole even on a busy machine. The residual (end-to-end minus the per-node
sum) is reported, never hidden.

With `backward=True` each node's output tensor gets a gradient hook: backward reaches a node when
its output's gradient is ready, so the gap from that hook to the next one is the node's backward
time (autograd may interleave independent branches; those gaps are attributed to the node whose
gradient arrived first). Backward runs in training mode, as in training.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
import statistics
import time

import torch
from torch import fx

from designer.core.compile import compile_graph
from designer.core.infer import analyze
from designer.core.memory import check_fits, design_needs
from designer.core.registry import Role
from .settings import ProfileError

from .hints import design_hints
from .mac import DTYPE_BYTES, device_peak, graph_traffic


def owner_map(graph, module):
    """fx node name -> id of the design node it belongs to (None for placeholders and output)."""
    ids = set(graph.nodes)
    owners = {}
    for fx_node in module.graph.nodes:
        owner = None
        if fx_node.op == "call_module":
            parts = fx_node.target.split(".")
            for end in range(len(parts), 0, -1):       # longest id first: ids may contain dots
                candidate = ".".join(parts[:end])
                if candidate in ids:
                    owner = candidate
                    break
        elif fx_node.op in ("call_function", "call_method"):
            # getitem of a multi-output layer belongs to that layer
            sources = [a for a in fx_node.all_input_nodes if owners.get(a.name)]
            owner = owners[sources[0].name] if sources else None
        owners[fx_node.name] = owner
    return owners


class _Clock:
    """Collects (node index, timestamp) marks: perf_counter on the CPU, events on CUDA."""

    def __init__(self, cuda):
        self.cuda = cuda
        self.marks = []

    def _now(self):
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def tick(self, index):
        self.marks.append((index, self._now()))

    def watch(self, value, index):
        """Mark when the gradient of `value` (this node's output) arrives in backward."""
        if isinstance(value, torch.Tensor) and value.requires_grad:
            value.register_hook(lambda grad: self.tick(index))

    def gaps_ms(self):
        """(index of the earlier mark, milliseconds to the next mark) for consecutive marks."""
        if self.cuda:
            torch.cuda.synchronize()
            elapsed = [a.elapsed_time(b) for (_, a), (_, b) in zip(self.marks, self.marks[1:])]
        else:
            elapsed = [(b - a) * 1000 for (_, a), (_, b) in zip(self.marks, self.marks[1:])]
        return [(index, ms) for (index, _), ms in zip(self.marks, elapsed)]


def ticked_module(module, owners, order, clock, watch=False):
    """A copy of `module` whose forward ticks `clock` before each design node's operations
    (index into `order`) and before returning. With `watch`, `clock.watch` sees every value a
    node computes, right after it is computed (so no tensor lives longer than in `module`)."""
    index_of = {nid: i for i, nid in enumerate(order)}
    graph = fx.Graph()
    env = {}
    current = None
    for fx_node in module.graph.nodes:
        owner = owners.get(fx_node.name)
        if fx_node.op == "output":
            graph.call_function(clock.tick, (len(order),))
        elif owner is not None and owner != current:
            graph.call_function(clock.tick, (index_of[owner],))
            current = owner
        env[fx_node.name] = graph.node_copy(fx_node, lambda n: env[n.name])
        if watch and owner is not None:
            graph.call_function(clock.watch, (env[fx_node.name], index_of[owner]))
    return fx.GraphModule(module, graph)


@dataclass
class Timing:
    """Measured times in milliseconds (medians over the repeats)."""
    end_to_end_ms: float
    node_ms: dict                       # node id -> forward time
    backward_end_to_end_ms: float | None = None
    backward_node_ms: dict = field(default_factory=dict)

    @property
    def sum_ms(self):
        return sum(self.node_ms.values())

    @property
    def residual_ms(self):
        return self.end_to_end_ms - self.sum_ms


def _sync(cuda):
    if cuda:
        torch.cuda.synchronize()


def _timed(run, cuda):
    _sync(cuda)
    start = time.perf_counter()
    run()
    _sync(cuda)
    return (time.perf_counter() - start) * 1000


def measure(graph, input_shape=None, batch=1, device="cpu", threads=None, repeats=20, warmup=3,
            backward=False, dtype="float32"):
    """Time `graph` node by node; returns a Timing. `input_shape` (C, H, W) overrides the design's."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ProfileError("CUDA is not available on this machine; profile with --device cpu")
    if repeats < 1 or warmup < 0 or batch < 1:
        raise ProfileError("repeats and the batch size must be at least 1")
    graph = _with_input(graph, input_shape)
    # Refuse before allocating: one batch holds at least every activation of the model.
    check_fits(*design_needs(graph), batch, "profiling", torch.device(device))
    with num_threads(threads):
        return _measure(graph, batch, device, repeats, warmup, backward, dtype)


@contextmanager
def num_threads(threads):
    """torch's CPU thread count set to `threads` (if given) for the block, then restored."""
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _measure(graph, batch, device, repeats, warmup, backward, dtype):
    module = compile_graph(graph, include_auxiliary=False)
    torch_dtype = getattr(torch, dtype)
    module = module.to(device=device, dtype=torch_dtype).eval()
    cuda = device == "cuda"
    order = graph.topological_order()[0]
    owners = owner_map(graph, module)
    clock = _Clock(cuda)
    ticked = ticked_module(module, owners, order, clock)
    shape = tuple(graph.nodes_of_role(Role.INPUT)[0].params["shape"])
    x = torch.randn((batch,) + shape, device=device, dtype=torch_dtype)

    plain, runs = [], []
    with torch.inference_mode():
        for repeat in range(warmup + repeats):
            ms = _timed(lambda: module(x), cuda)
            clock.marks = []
            ticked(x)
            _sync(cuda)
            if repeat < warmup:
                continue
            plain.append(ms)
            runs.append(_run_times(clock, order))
    timing = Timing(statistics.median(plain), _middle_mean(runs))
    if backward:
        watched = ticked_module(module, owners, order, clock, watch=True)
        _measure_backward(module, watched, clock, order, x, warmup, repeats, cuda, timing)
    return timing


def _run_times(clock, order):
    """Node id -> milliseconds in one ticked run."""
    times = {}
    for index, ms in clock.gaps_ms():
        if index < len(order):
            times[order[index]] = times.get(order[index], 0.0) + ms
    return times


def _middle_mean(runs):
    """Per-node means over the runs whose total lies in the middle half. On a busy machine a
    stalled run inflates random nodes; dropping the slowest and fastest quarter keeps one stall
    from skewing a node, and a mean (unlike per-node medians) keeps the parts adding up to the
    typical whole, comparable with the median end-to-end time."""
    ranked = sorted(runs, key=lambda run: sum(run.values()))
    quarter = len(ranked) // 4
    middle = ranked[quarter:len(ranked) - quarter] or ranked
    nodes = {nid for run in middle for nid in run}
    return {nid: sum(run.get(nid, 0.0) for run in middle) / len(middle) for nid in nodes}


def _measure_backward(module, ticked, clock, order, x, warmup, repeats, cuda, timing):
    module.train()
    plain, runs = [], []

    def step(model):
        out = model(x)
        loss = sum(o.float().sum() for o in (out if isinstance(out, (tuple, list)) else (out,)))
        return loss

    try:
        for repeat in range(warmup + repeats):
            loss = step(module)
            ms = _timed(loss.backward, cuda)
            module.zero_grad(set_to_none=True)
            loss = step(ticked)
            clock.marks = []
            clock.tick(len(order))                # backward starts: the loss's own gradient
            loss.backward()
            clock.tick(len(order))
            module.zero_grad(set_to_none=True)
            if repeat >= warmup:
                plain.append(ms)
                runs.append(_run_times(clock, order))
    except ValueError as error:       # e.g. BatchNorm on a single value in training mode
        raise ProfileError(f"backward could not run in training mode: {error}; "
                           f"try a larger batch") from None
    finally:
        module.eval()
    timing.backward_end_to_end_ms = statistics.median(plain)
    timing.backward_node_ms = _middle_mean(runs)


def _plumbing(node):
    """Input and main Output nodes: listed with no time of their own."""
    return node.role is Role.INPUT or (node.role is Role.OUTPUT and node.params["role"] == "main")


def _with_input(graph, input_shape):
    inputs = graph.nodes_of_role(Role.INPUT)
    if len(inputs) != 1:
        raise ProfileError(f"profiling needs exactly one Input node; the design has {len(inputs)}")
    if input_shape is not None:
        graph = graph.copy()
        graph.set_params(inputs[0].id, shape=tuple(input_shape))
    return graph


def profile(graph, input_shape=None, batch=1, device="cpu", threads=None, repeats=20, warmup=3,
            backward=False, dtype="float32"):
    """The `designer profile --json` object: measured latency, memory access cost, intensity,
    roofline verdict and guideline hints per node, plus the end-to-end time and the residual."""
    if dtype not in DTYPE_BYTES:
        raise ProfileError(f"unknown dtype {dtype!r}; choose one of " + ", ".join(DTYPE_BYTES))
    graph = _with_input(graph, input_shape)
    with num_threads(threads):
        timing = measure(graph, None, batch, device, None, repeats, warmup, backward, dtype)
        peak = device_peak(device)
        used_threads = torch.get_num_threads()
    results = analyze(graph)
    traffic = graph_traffic(graph, results, batch, dtype)
    hints = design_hints(graph, results)
    nodes, not_run = [], []
    for nid in graph.topological_order()[0]:
        node, t = graph.nodes[nid], traffic[nid]
        if nid not in timing.node_ms and not _plumbing(node):
            not_run.append(nid)           # auxiliary heads: training only
            continue
        record = {"id": nid, "type": node.type,
                  "latency_ms": timing.node_ms.get(nid, 0.0),
                  "macs": t.macs, "bytes_read": t.bytes_read, "bytes_written": t.bytes_written,
                  "intensity": t.intensity, "bound": peak.bound(t),
                  "hints": hints.get(nid, [])}
        if backward:
            record["backward_ms"] = timing.backward_node_ms.get(nid, 0.0)
        nodes.append(record)
    report = {"device": device, "input_shape": list(graph.nodes_of_role(Role.INPUT)[0].params["shape"]),
              "batch": batch, "end_to_end_ms": timing.end_to_end_ms,
              "nodes": nodes,
              "sum_ms": timing.sum_ms, "residual_ms": timing.residual_ms, "not_run": not_run,
              "dtype": dtype, "threads": used_threads, "repeats": repeats,
              "peak": {"macs_per_s": peak.macs_per_s, "bytes_per_s": peak.bytes_per_s,
                       "ridge_macs_per_byte": peak.ridge}}
    if backward:
        report["backward_end_to_end_ms"] = timing.backward_end_to_end_ms
        report["backward_sum_ms"] = sum(timing.backward_node_ms.values())
    return report

