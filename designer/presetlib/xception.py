"""Xception (Chollet 2017), laid out as timm's legacy_xception so its weights load by name."""

from designer.core.blocks.xception import separable
from designer.core.builder import GraphBuilder
from . import preset


@preset("xception", "xception", "Xception (Chollet 2017), timm legacy_xception layout: "
        "22,855,952 parameters")
def xception():
    b = GraphBuilder(
        "Xception",
        "Xception (Chollet 2017, 'Xception: Deep Learning with Depthwise Separable "
        "Convolutions', Fig. 5): entry flow (3×3/2 conv 32, 3×3 conv 64, then three stride-2 "
        "residual blocks of separable convolutions, 128, 256, 728), middle flow (8 residual "
        "blocks of three 728-wide separable convolutions at 19×19), exit flow (a stride-2 "
        "block 728 → 1024, separable convolutions 1536 and 2048 with ReLU), global average "
        "pool and a 1000-way logistic layer. Every convolution is followed by batch norm. "
        "Laid out as timm's legacy_xception (weights load by name). 3×299×299 in; 22,855,952 "
        "parameters, the paper's count.")
    x = b.input((3, 299, 299))
    x = b.add("Conv2d", "conv1", x, out_channels=32, kernel=3, stride=2, padding=0, bias=False)
    x = b.add("ReLU", "act1", b.add("BatchNorm", "bn1", x))
    x = b.add("Conv2d", "conv2", x, out_channels=64, kernel=3, padding=0, bias=False)
    x = b.add("ReLU", "act2", b.add("BatchNorm", "bn2", x))
    x = b.add("XceptionBlock", "block1", x, out_channels=128, reps=2, stride=2,
              start_with_relu=False)
    x = b.add("XceptionBlock", "block2", x, out_channels=256, reps=2, stride=2)
    x = b.add("XceptionBlock", "block3", x, out_channels=728, reps=2, stride=2)
    for i in range(4, 12):
        x = b.add("XceptionBlock", f"block{i}", x, out_channels=728, reps=3)
    x = b.add("XceptionBlock", "block12", x, out_channels=1024, reps=2, stride=2,
              grow_first=False)
    for i, width in ((3, 1536), (4, 2048)):
        x = separable(b, f"conv{i}", x, width)
        x = b.add("ReLU", f"act{i}", b.add("BatchNorm", f"bn{i}", x))
    x = b.add("GlobalAvgPool2d", "global_pool", x, flatten=True)
    b.output(b.add("Linear", "fc", x, out_features=1000))
    return b.finish()
