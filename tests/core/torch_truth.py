"""What torch itself says about a module: shapes from a meta-device forward, multiply-adds from
FlopCounterMode (which counts matmuls and convolutions, 2 FLOPs per multiply-add), parameters
from the module."""

import torch
from torch.utils.flop_counter import FlopCounterMode


def meta_truth(module, input_shapes, batch=2):
    module = module.to("meta").eval()
    inputs = [torch.empty((batch,) + tuple(s), device="meta") for s in input_shapes]
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            out = module(inputs) if getattr(module, "_takes_list", False) else module(*inputs)
    outs = out if isinstance(out, (list, tuple)) else [out]
    shapes = [tuple(o.shape[1:]) for o in outs]
    params = sum(p.numel() for p in module.parameters())
    return shapes, params, counter.get_total_flops() // (2 * batch)
