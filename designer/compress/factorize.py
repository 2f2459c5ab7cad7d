"""Low-rank factorisation by truncated SVD, as a design rewrite.

A fully connected layer W (out × in) becomes two: `<id>_lowrank` (in → r, no bias, weights
√S·Vᵀ) then `<id>` (r → out, the original bias, weights U·√S). A k×k convolution becomes a k×k
convolution with r filters (same stride, padding and dilation) followed by a 1×1 convolution to
the original filters. The rank comes from an energy threshold (the smallest r whose singular
values keep that share of Σσ²) or is given; a layer is only factorised when it gets smaller.
The second layer keeps the original id, so everything downstream stays wired as it was.
"""

from dataclasses import dataclass, field

import torch

from designer.core.shapes import resolve_padding
from .measure import CompressError
from .rewrite import locate
from .prune import full_state


@dataclass
class FactorizeResult:
    graph: object
    state_dict: dict
    layers: list = field(default_factory=list)   # {"layer", "rank", "full_rank", "params_before", "params_after", "energy"}
    skipped: list = field(default_factory=list)  # (layer, reason)


def _matrix(weight):
    return weight.reshape(weight.shape[0], -1).double()


def choose_rank(singular, energy=None, rank=None):
    if rank is not None:
        return max(1, min(rank, singular.numel()))
    share = (singular ** 2).cumsum(0) / (singular ** 2).sum().clamp_min(1e-300)
    return int((share < energy - 1e-12).sum().item()) + 1


def _factorisable(node):
    if node.type == "Linear":
        return None
    if node.type in ("Conv2d", "PointwiseConv2d"):
        return None if node.params["groups"] == 1 else "it is a grouped convolution"
    return f"it is a {node.type}, not a fully connected or convolution layer"


def _spatial_matrix(weight):
    """W[o, i, y, x] as M[(i, y), (o, x)]: its rank-r SVD gives r vertical k×1 filters over the
    input and, for each output, a 1×k filter over those r maps (Jaderberg et al. 2014)."""
    o, i, kh, kw = weight.shape
    return weight.permute(1, 2, 0, 3).reshape(i * kh, o * kw).double()


def factorize(graph, state, energy=None, rank=None, layers=None, spatial=False):
    """Factorise `layers` (module paths; default every Linear and Conv2d that gets smaller).
    `spatial` splits k×k convolutions into k×1 then 1×k instead of k×k then 1×1."""
    if (energy is None) == (rank is None):
        raise CompressError("give either an energy threshold or a rank")
    if energy is not None and not 0 < energy <= 1:
        raise CompressError(f"the energy must be in (0, 1]; got {energy:g}")
    if rank is not None and rank < 1:
        raise CompressError(f"the rank must be at least 1; got {rank}")
    state = full_state(graph, state)
    result = FactorizeResult(graph.copy(), dict(state))
    candidates = layers if layers is not None else [
        key[:-len(".weight")] for key, value in state.items()
        if key.endswith(".weight") and value.ndim in (2, 4)]
    for path in candidates:
        holder, node_id = locate(result.graph, path)
        node = holder.nodes[node_id]
        reason = _factorisable(node)
        if reason is not None:
            if layers is not None:
                raise CompressError(f"{path} cannot be factorised: {reason}")
            continue
        weight = state[f"{path}.weight"]
        split = spatial and weight.ndim == 4 and min(weight.shape[2:]) > 1
        if spatial and not split and layers is not None:
            raise CompressError(f"{path} cannot be split spatially: it needs a k×k kernel with "
                                "k > 1")
        matrix = _spatial_matrix(weight) if split else _matrix(weight)
        u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
        r = choose_rank(s, energy, rank)
        rows_dim, cols_dim = matrix.shape
        before, after = weight.numel(), r * (rows_dim + cols_dim)
        if after >= before:
            reason = (f"rank {r} of {s.numel()} would not make it smaller ({after:,} weights "
                      f"instead of {before:,})")
            if layers is not None:
                raise CompressError(f"{path} cannot be factorised: {reason}")
            result.skipped.append((path, reason))
            continue
        root = s[:r].sqrt()
        first = (root[:, None] * vh[:r]).float()
        second = (u[:, :r] * root[None, :]).float()
        _rewrite(holder, node_id, node, r, split)
        low = f"{path}_lowrank"      # the new node sits beside the old one, in the same holder
        if split:
            o, i, kh, kw = weight.shape
            vertical = second.t().reshape(r, i, kh, 1)          # from U·√S over (i, y)
            horizontal = first.reshape(r, o, kw).permute(1, 0, 2).reshape(o, r, 1, kw)
            result.state_dict[f"{low}.weight"] = vertical.contiguous()
            result.state_dict[f"{path}.weight"] = horizontal.contiguous()
        elif weight.ndim == 4:
            result.state_dict[f"{low}.weight"] = first.reshape(r, *weight.shape[1:]).contiguous()
            result.state_dict[f"{path}.weight"] = second.reshape(weight.shape[0], r, 1, 1).contiguous()
        else:
            result.state_dict[f"{low}.weight"] = first.contiguous()
            result.state_dict[f"{path}.weight"] = second.contiguous()
        kept = (s[:r] ** 2).sum() / (s ** 2).sum().clamp_min(1e-300)
        result.layers.append({"layer": path, "rank": r, "full_rank": s.numel(),
                              "split": "k×1 then 1×k" if split else "rank r then full",
                              "params_before": before, "params_after": after,
                              "energy": float(kept)})
    if not result.layers:
        reasons = "; ".join(f"{p}: {r}" for p, r in result.skipped[:3])
        raise CompressError("no layer of the design gets smaller by factorisation"
                            + (f" ({reasons})" if reasons else ""))
    return result


def _rewrite(holder, node_id, node, rank, split=False):
    """Insert `<id>_lowrank` (r outputs) before `node_id`, which becomes the r → out layer."""
    low_id = f"{node_id}_lowrank"
    if low_id in holder.nodes:
        raise CompressError(f"cannot factorise {node_id}: a node named {low_id} already exists")
    edge = holder.in_edge(node_id, "in")
    x, y = node.pos
    with holder.batch():
        if node.type == "Linear":
            holder.add_node("Linear", low_id, {"out_features": rank, "bias": False}, (x, y - 40))
        elif node.type == "PointwiseConv2d":
            holder.add_node("PointwiseConv2d", low_id, {"out_channels": rank, "bias": False},
                            (x, y - 40))
        elif split:
            p = node.params
            padding = resolve_padding(p["padding"], p["kernel"], p["stride"], p["dilation"])
            if padding == "same":
                raise CompressError(f"{node_id} cannot be split spatially with torch's asymmetric "
                                    "'same' padding; give the padding explicitly")
            (kh, kw), (sh, sw), (dh, dw), (ph, pw) = p["kernel"], p["stride"], p["dilation"], padding
            holder.add_node("Conv2d", low_id, {
                "out_channels": rank, "kernel": (kh, 1), "stride": (sh, 1), "padding": (ph, 0),
                "dilation": (dh, 1), "bias": False}, (x, y - 40))
            holder.set_params(node_id, kernel=(1, kw), stride=(1, sw), padding=(0, pw),
                              dilation=(1, dw))
        else:
            p = node.params
            holder.add_node("Conv2d", low_id, {
                "out_channels": rank, "kernel": p["kernel"], "stride": p["stride"],
                "padding": p["padding"], "dilation": p["dilation"], "bias": False}, (x, y - 40))
            holder.set_params(node_id, kernel=(1, 1), stride=(1, 1), padding="valid",
                              dilation=(1, 1))
        if edge is not None:
            holder.disconnect(edge)
            holder.connect(edge.src, edge.src_port, low_id, "in")
        holder.connect(low_id, "out", node_id, "in")
