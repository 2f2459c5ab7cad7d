"""ConvNeXt's block (Liu et al. 2022, 'A ConvNet for the 2020s').

Inner names follow torchvision's CNBlock (`block.0` the 7×7 depthwise convolution, `block.2` the
layer norm, `block.3`/`block.5` the linear layers, `stochastic_depth`), so a block node compiles
to torchvision's keys; the one exception is the layer scale, a bare parameter `layer_scale` in
torchvision and the `layer_scale.scale` parameter of a LayerScale layer here.
"""

from ..builder import GraphBuilder
from ..params import Param
from ..registry import BlockSpec, register
from ..shapes import require_image


def _expand_convnext(p, shapes):
    c = require_image(shapes[0])[0]
    b = GraphBuilder("ConvNeXtBlock")
    x = b.block_input("in")
    y = b.add("Conv2d", "block.0", x, out_channels=c, kernel=p.kernel, padding=p.kernel // 2,
              groups=c, bias=True)
    y = b.add("Permute", "block.1", y, dims=(1, 2, 0))
    y = b.add("LayerNorm", "block.2", y, eps=p.eps)
    y = b.add("PositionwiseLinear", "block.3", y, out_features=p.expansion * c)
    y = b.add("GELU", "block.4", y)
    y = b.add("PositionwiseLinear", "block.5", y, out_features=c)
    y = b.add("Permute", "block.6", y, dims=(2, 0, 1))
    y = b.add("LayerScale", "layer_scale", y, init=p.layer_scale)
    if p.survival_probability < 1.0:
        y = b.add("DropPath", "stochastic_depth", y, survival_probability=p.survival_probability)
    y = b.add("Add", "add", y, x)
    b.output(y, "out", name="out")
    return b.finish()


def _import_cn_block(m, shape):
    return dict(kernel=m.block[0].kernel_size[0], expansion=m.block[3].out_features // shape[0],
                eps=m.block[2].eps, survival_probability=1.0 - m.stochastic_depth.p)


register(BlockSpec(
    type="ConvNeXtBlock", category="residual", title="ConvNeXt block",
    help="ConvNeXt's residual block (Liu et al. 2022): a 7×7 depthwise convolution, then, "
         "channels-last, a layer norm and an inverted bottleneck of two position-wise linear "
         "layers (C → 4C → C) with GELU between, a learned per-channel layer scale (1e-6 at "
         "first) and stochastic depth on the branch before the identity shortcut. The 'modernised "
         "ResNet': large kernels, fewer activations and norms, LN instead of BN.",
    params=(Param("kernel", "int", 7, "Depthwise kernel size (odd)", min=1, max=31),
            Param("expansion", "int", 4, "Hidden width of the bottleneck in multiples of C",
                  min=1, max=16),
            Param("eps", "float", 1e-6, "Layer norm epsilon", min=0.0),
            Param("layer_scale", "float", 1e-6, "Initial layer scale"),
            Param("survival_probability", "float", 1.0, "Stochastic depth: probability of "
                  "keeping the branch in training (1 keeps it always)", min=0.01, max=1.0)),
    expand=_expand_convnext,
    summary=lambda p: f"{p.kernel}×{p.kernel} dw, ×{p.expansion}",
    imports={"torchvision.models.convnext.CNBlock": _import_cn_block},
    import_renames={"layer_scale": "layer_scale.scale"},
))
