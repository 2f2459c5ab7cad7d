"""GhostNet 1.0× (Han et al. 2020), named like timm's `ghostnet_100` so its state_dict loads by
name."""

from designer.core.blocks.ghost import make_divisible
from designer.core.builder import GraphBuilder
from . import preset

# GhostNet, Table 1, grouped into timm's stages: (kernel, hidden, out, SE ratio, stride).
GHOSTNET_STAGES = (
    ((3, 16, 16, 0, 1),),
    ((3, 48, 24, 0, 2),),
    ((3, 72, 24, 0, 1),),
    ((5, 72, 40, 0.25, 2),),
    ((5, 120, 40, 0.25, 1),),
    ((3, 240, 80, 0, 2),),
    ((3, 200, 80, 0, 1), (3, 184, 80, 0, 1), (3, 184, 80, 0, 1), (3, 480, 112, 0.25, 1),
     (3, 672, 112, 0.25, 1)),
    ((5, 672, 160, 0.25, 2),),
    ((5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1), (5, 960, 160, 0, 1), (5, 960, 160, 0.25, 1)),
)


def ghostnet_graph(width=1.0, classes=1000):
    b = GraphBuilder(
        f"GhostNet {width:g}×",
        f"GhostNet {width:g}× (Han et al. 2020, 'GhostNet: More Features from Cheap Operations', "
        "Table 1): a 3×3/2 convolution to 16 channels, 16 Ghost bottlenecks (hidden widths "
        "16-960, outputs 16-160, squeeze-and-excite with a hard-sigmoid gate in seven of them, "
        "3×3 or 5×5 depthwise at the stride-2 steps), a 1×1 convolution to 960, global average "
        "pooling, a 1×1 convolution to 1280 with ReLU, dropout 0.2 and a 1000-way FC. At 1.0×: "
        "5,182,508 parameters and 141 M multiply-adds (the paper: 5.2 M, 141 M FLOPs). Identical "
        "to timm's ghostnet_100, whose weights load by name. 3×224×224 in.")
    x = b.input((3, 224, 224))
    x = b.add("Conv2d", "conv_stem", x, out_channels=make_divisible(16 * width, 4), kernel=3,
              stride=2, padding=1, bias=False)
    x = b.add("ReLU", "act1", b.add("BatchNorm", "bn1", x))
    for i, stage in enumerate(GHOSTNET_STAGES):
        for j, (kernel, hidden, out, se_ratio, stride) in enumerate(stage):
            x = b.add("GhostBottleneck", f"blocks.{i}.{j}", x,
                      mid_channels=make_divisible(hidden * width, 4),
                      out_channels=make_divisible(out * width, 4), kernel=kernel, stride=stride,
                      se_ratio=se_ratio)
    last = len(GHOSTNET_STAGES)
    x = b.add("Conv2d", f"blocks.{last}.0.conv", x, out_channels=make_divisible(960 * width, 4),
              kernel=1, padding=0, bias=False)
    x = b.add("ReLU", f"blocks.{last}.0.act", b.add("BatchNorm", f"blocks.{last}.0.bn1", x))
    x = b.add("GlobalAvgPool2d", "global_pool", x)
    x = b.add("Conv2d", "conv_head", x, out_channels=1280, kernel=1, padding=0, bias=True)
    x = b.add("ReLU", "act2", x)
    x = b.add("Flatten", "flatten", x)
    x = b.add("Dropout", "dropout", x, p=0.2)
    x = b.add("Linear", "classifier", x, out_features=classes)
    b.output(x)
    return b.finish()


@preset("ghostnet", "ghostnet", "GhostNet 1.0× (Han et al. 2020): 5.2 M parameters, "
        "141 M multiply-adds")
def ghostnet():
    return ghostnet_graph()
