"""CondenseNet-74 (Huang et al. 2018) in its condensed, deployable form, named like pytorchcv's
converted `condensenet74_c8_g8` / `condensenet74_c4_g4` (only the index buffers differ:
`conv1.gather.index` here for `conv1.index`, `output.gather.index` for `output.index`)."""

from designer.core.builder import GraphBuilder
from . import preset

# CondenseNet-74 for ImageNet (section 4.2): layers and growth rate k of the five dense stages.
CONDENSENET74_STAGES = ((4, 8), (6, 16), (8, 32), (10, 64), (8, 128))


def condensenet74_graph(groups=8, classes=1000):
    """CondenseNet-74 with G = C = `groups` (the paper trains 4 and 8)."""
    params = {4: "4,773,944 parameters and 517 M multiply-adds (the paper: 4.8 M, 529 M)",
              8: "2,935,416 parameters and 262 M multiply-adds (the paper: 2.9 M, 274 M)"}
    b = GraphBuilder(
        f"CondenseNet-74 (C = G = {groups})",
        f"CondenseNet-74 with G = C = {groups} for ImageNet (Huang et al. 2018, 'CondenseNet: "
        "An Efficient DenseNet using Learned Group Convolutions', Table 5), condensed for "
        "inference: a 3×3/2 convolution to 16 channels, five dense stages of 4-6-8-10-8 layers "
        "with growth rates 8-16-32-64-128 (each layer a learned group 1×1 to 4k channels and a "
        f"{groups}-group 3×3 to k), joined by 2×2 average pools with no compression, then "
        "BN-ReLU, global average pooling and a 1000-way FC that reads the half of the 2064 "
        "features training kept (an index layer). The learned grouping lives in the index "
        "buffers loaded with the weights. "
        + params.get(groups, "") + ". Names follow pytorchcv's converted model. 3×224×224 in.")
    x = b.input((3, 224, 224))
    channels = 16
    x = b.add("Conv2d", "features.init_block.conv", x, out_channels=channels, kernel=3, stride=2,
              padding=1, bias=False)
    for stage, (layers, growth) in enumerate(CONDENSENET74_STAGES, 1):
        if stage > 1:
            x = b.add("AvgPool2d", f"features.stage{stage}.trans{stage}.pool", x, kernel=2,
                      stride=2)
        for unit in range(1, layers + 1):
            x = b.add("CondenseUnit", f"features.stage{stage}.unit{unit}", x, growth_rate=growth,
                      bottleneck=4, groups=groups, condense_factor=groups)
            channels += growth
    x = b.add("BatchNorm", "features.post_activ.bn", x)
    x = b.add("ReLU", "features.post_activ.activ", x)
    x = b.add("GlobalAvgPool2d", "features.final_pool", x, flatten=True)
    x = b.add("ChannelGather", "output.gather", x, channels=channels // 2)
    x = b.add("Linear", "output.linear", x, out_features=classes)
    b.output(x, "logits")
    return b.finish()


@preset("condensenet", "condensenet", "CondenseNet-74, C = G = 8 (Huang et al. 2018): 2.9 M "
        "parameters, 262 M multiply-adds")
def condensenet():
    return condensenet74_graph(8)
