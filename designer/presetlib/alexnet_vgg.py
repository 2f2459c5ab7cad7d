"""The early ImageNet networks: AlexNet (as in the paper and as in torchvision), ZFNet, the VGG
configurations A-E (with A-LRN and a batch-norm D), and Network in Network.

Where torchvision has the network its module names are used (`features.N`, `classifier.N`), so
its state_dict loads by name; the paper versions use the layer names of the papers' tables.
"""

from designer.core.builder import GraphBuilder
from . import preset

# The AlexNet paper's normalisation divides by (k + α·Σa²)^β with k=2, n=5, α=1e-4, β=0.75;
# torch's LocalResponseNorm uses α/n, so α = 5 · 1e-4 reproduces the paper's formula.
PAPER_LRN = dict(size=5, alpha=5e-4, beta=0.75, k=2.0)


def _classifier(b, x, names, classes=1000, dropout_first=True):
    """Two 4096-wide FC layers with ReLU and dropout, then the class layer. `names` are the
    node names of the layers in order: dropout before each FC (AlexNet) or after (VGG)."""
    it = iter(names)
    for _ in range(2):
        if dropout_first:
            x = b.add("Dropout", next(it), x, p=0.5)
        x = b.add("Linear", next(it), x, out_features=4096)
        x = b.add("ReLU", next(it), x)
        if not dropout_first:
            x = b.add("Dropout", next(it), x, p=0.5)
    x = b.add("Linear", next(it), x, out_features=classes)
    b.output(x)
    return b.finish()


def _paper_convnet(b, x, first, second, norm_after_pool=False):
    """The shared body of AlexNet and ZFNet: conv1 → ReLU → LRN → pool → conv2 → ReLU → LRN →
    pool → conv3-5 → pool, then the FC layers (ZFNet normalises after pooling). `first` and
    `second` are (channels, kernel, stride, padding) of conv1/conv2 plus the pool's padding."""
    for i, (c, k, s, pad, pool_pad) in enumerate((first, second), 1):
        x = b.add("Conv2d", f"conv{i}", x, out_channels=c, kernel=k, stride=s, padding=pad)
        x = b.add("ReLU", f"relu{i}", x)
        if not norm_after_pool:
            x = b.add("LocalResponseNorm", f"norm{i}", x, **PAPER_LRN)
        x = b.add("MaxPool2d", f"pool{i}", x, kernel=3, stride=2, padding=pool_pad)
        if norm_after_pool:
            x = b.add("LocalResponseNorm", f"norm{i}", x, **PAPER_LRN)
    for i, c in ((3, 384), (4, 384), (5, 256)):
        x = b.add("Conv2d", f"conv{i}", x, out_channels=c, kernel=3, padding=1)
        x = b.add("ReLU", f"relu{i}", x)
    x = b.add("MaxPool2d", "pool5", x, kernel=3, stride=2)
    x = b.add("Flatten", "flatten", x)
    return _classifier(b, x, ["drop6", "fc6", "relu6", "drop7", "fc7", "relu7", "fc8"])


@preset("alexnet", "alexnet_vgg", "AlexNet (Krizhevsky et al. 2012) as in the paper, one tower, "
        "no grouping: 62,378,344 parameters")
def alexnet():
    b = GraphBuilder(
        "AlexNet",
        "AlexNet (Krizhevsky, Sutskever & Hinton 2012, 'ImageNet Classification with Deep "
        "Convolutional Neural Networks') as its paper-style table gives it, on one device "
        "(no grouped convolutions): conv 11×11/4 96 → LRN → 3×3/2 max pool → conv 5×5 256 → "
        "LRN → pool → conv 3×3 384, 384, 256 → pool → FC 4096, 4096, 1000 with dropout 0.5 "
        "before the first two. Overlapping pooling, ReLU everywhere. Local response "
        "normalisation with the paper's k=2, n=5, α=1e-4, β=0.75 (α·n in torch's "
        "convention). 3×227×227 in (the '224' of the paper does not give its 55×55 maps); "
        "62,378,344 parameters.")
    x = b.input((3, 227, 227))
    return _paper_convnet(b, x, (96, 11, 4, 0, 0), (256, 5, 1, 2, 0))


@preset("alexnet_torchvision", "alexnet_vgg", "AlexNet as in torchvision (the 'one weird trick' "
        "variant, 64/192/384/256/256): 61,100,840 parameters")
def alexnet_torchvision():
    b = GraphBuilder(
        "AlexNet (torchvision)",
        "torchvision's alexnet, after Krizhevsky 2014 ('One weird trick for parallelizing "
        "convolutional neural networks'): conv 11×11/4 64, 5×5 192, 3×3 384, 256, 256 with "
        "3×3/2 max pools and no LRN, adaptive average pool to 6×6, FC 4096, 4096, 1000 with "
        "dropout 0.5 before the first two. Layer names equal torchvision's, so its weights load "
        "by name. 3×224×224 in; 61,100,840 parameters.")
    x = b.input((3, 224, 224))
    layers = [("Conv2d", dict(out_channels=64, kernel=11, stride=4, padding=2)), ("ReLU", {}),
              ("MaxPool2d", dict(kernel=3, stride=2)),
              ("Conv2d", dict(out_channels=192, kernel=5, padding=2)), ("ReLU", {}),
              ("MaxPool2d", dict(kernel=3, stride=2)),
              ("Conv2d", dict(out_channels=384, kernel=3, padding=1)), ("ReLU", {}),
              ("Conv2d", dict(out_channels=256, kernel=3, padding=1)), ("ReLU", {}),
              ("Conv2d", dict(out_channels=256, kernel=3, padding=1)), ("ReLU", {}),
              ("MaxPool2d", dict(kernel=3, stride=2))]
    for i, (kind, params) in enumerate(layers):
        x = b.add(kind, f"features.{i}", x, **params)
    x = b.add("AdaptiveAvgPool2d", "avgpool", x, output_size=6)
    x = b.add("Flatten", "flatten", x)
    return _classifier(b, x, [f"classifier.{i}" for i in range(7)])


@preset("zfnet", "alexnet_vgg", "ZFNet (Zeiler & Fergus 2013), the architecture of their "
        "Fig. 3: 62,357,608 parameters")
def zfnet():
    b = GraphBuilder(
        "ZFNet",
        "ZFNet (Zeiler & Fergus 2013, 'Visualizing and Understanding Convolutional Networks', "
        "Fig. 3): AlexNet with the first layer changed after visualising it, 7×7 stride-2 "
        "filters instead of 11×11 stride 4, and a stride-2 second layer: conv 7×7/2 96 → 3×3/2 "
        "max pool → contrast norm → conv 5×5/2 256 → pool → norm → conv 3×3 384, 384, 256 → "
        "pool → FC 4096, 4096, 1000 with dropout 0.5. Maps 110, 55, 26, 13, 13, 13, 6 as in the "
        "figure; contrast normalisation taken as AlexNet's LRN. 3×224×224 in; 62,357,608 "
        "parameters.")
    x = b.input((3, 224, 224))
    return _paper_convnet(b, x, (96, 7, 2, 1, 1), (256, 5, 2, 0, 1), norm_after_pool=True)


# VGG configurations (Simonyan & Zisserman 2015, Table 1): channels per 3×3 conv, "M" = max pool;
# an int pair (c, 1) is configuration C's 1×1 conv.
VGG_CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M", 512, 512, (512, 1), "M",
          512, 512, (512, 1), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def vgg(title, description, config, batch_norm=False, lrn=False):
    """torchvision's layout: `features.N` numbered like its Sequential, `avgpool` (adaptive 7×7),
    `classifier.N`. A-LRN puts LRN after the first conv's ReLU (it has no torchvision twin)."""
    b = GraphBuilder(title, description)
    x = b.input((3, 224, 224))
    index = 0

    def add(kind, **params):
        nonlocal x, index
        x = b.add(kind, f"features.{index}", x, **params)
        index += 1

    for i, item in enumerate(VGG_CONFIGS[config]):
        if item == "M":
            add("MaxPool2d", kernel=2, stride=2)
            continue
        channels, kernel = item if isinstance(item, tuple) else (item, 3)
        add("Conv2d", out_channels=channels, kernel=kernel, padding=kernel // 2)
        if batch_norm:
            add("BatchNorm")
        add("ReLU")
        if lrn and i == 0:
            add("LocalResponseNorm", **PAPER_LRN)
    x = b.add("AdaptiveAvgPool2d", "avgpool", x, output_size=7)
    x = b.add("Flatten", "flatten", x)
    names = [f"classifier.{i}" for i in range(7)]
    return _classifier(b, x, names, dropout_first=False)


_VGG_TEXT = ("VGG-{depth} (Simonyan & Zisserman 2015, 'Very Deep Convolutional Networks for "
             "Large-Scale Image Recognition', Table 1 configuration {config}): {body}, each conv "
             "3×3 stride 1 with padding 1 and ReLU, five 2×2/2 max pools, FC 4096, 4096, 1000 "
             "with dropout 0.5. Laid out as torchvision's {tv} (adaptive 7×7 average pool before "
             "the FC layers, weights load by name). 3×224×224 in; {params} parameters.")

_VGG_BODIES = {
    "A": "8 convolutions (64, 128, 256×2, 512×2, 512×2)",
    "B": "10 convolutions (64×2, 128×2, 256×2, 512×2, 512×2)",
    "C": "13 convolutions, configuration B plus a 1×1 convolution at the end of the last three "
         "stages",
    "D": "13 convolutions (64×2, 128×2, 256×3, 512×3, 512×3)",
    "E": "16 convolutions (64×2, 128×2, 256×4, 512×4, 512×4)",
}

for _name, _config, _depth, _count in (("vgg11", "A", 11, "132,863,336"),
                                       ("vgg13", "B", 13, "133,047,848"),
                                       ("vgg16", "D", 16, "138,357,544"),
                                       ("vgg19", "E", 19, "143,667,240")):
    preset(_name, "alexnet_vgg", f"VGG-{_depth} (Simonyan & Zisserman 2015, configuration "
           f"{_config}), torchvision layout: {_count} parameters")(
        (lambda name, config, depth, count: lambda: vgg(
            f"VGG-{depth}", _VGG_TEXT.format(depth=depth, config=config,
                                              body=_VGG_BODIES[config], tv=name, params=count),
            config))(_name, _config, _depth, _count))


@preset("vgg11_lrn", "alexnet_vgg", "VGG-11 with LRN (Simonyan & Zisserman 2015, configuration "
        "A-LRN): 132,863,336 parameters")
def vgg11_lrn():
    return vgg(
        "VGG-11 (A-LRN)",
        "VGG configuration A-LRN (Simonyan & Zisserman 2015, Table 1): configuration A with "
        "local response normalisation after the first convolution, as in AlexNet (k=2, n=5, "
        "α=1e-4, β=0.75); the paper found it does not help. Named like torchvision's vgg11, "
        "the LRN taking features.2. 3×224×224 in; 132,863,336 parameters (LRN has none).",
        "A", lrn=True)


@preset("vgg16_bn", "alexnet_vgg", "VGG-16 with batch norm, torchvision layout: 138,365,992 "
        "parameters")
def vgg16_bn():
    return vgg(
        "VGG-16 (batch norm)",
        "VGG-16 (Simonyan & Zisserman 2015, configuration D) with batch normalisation after "
        "every convolution, as torchvision's vgg16_bn (weights load by name). 3×224×224 in; "
        "138,365,992 parameters.",
        "D", batch_norm=True)


@preset("nin", "alexnet_vgg", "Network in Network for CIFAR-10 (Lin et al. 2013): 966,986 "
        "parameters")
def nin():
    b = GraphBuilder(
        "Network in Network (CIFAR-10)",
        "Network in Network (Lin, Chen & Yan 2013), the CIFAR-10 model of section 4.2 as the "
        "authors released it: three mlpconv layers (5×5 192 → 1×1 160 → 1×1 96; 5×5 192 → "
        "1×1 192 → 1×1 192; 3×3 192 → 1×1 192 → 1×1 10), 3×3/2 max and average pooling with "
        "dropout 0.5 between them, and global average pooling over the ten class maps in place "
        "of fully connected layers. 3×32×32 in; 966,986 parameters.")
    x = b.input((3, 32, 32))
    x = b.add("MLPConv", "mlpconv1", x, out_channels=192, kernel=5, padding=2, mlp=(160, 96))
    x = b.add("MaxPool2d", "pool1", x, kernel=3, stride=2, ceil_mode=True)
    x = b.add("Dropout", "drop1", x, p=0.5)
    x = b.add("MLPConv", "mlpconv2", x, out_channels=192, kernel=5, padding=2, mlp=(192, 192))
    x = b.add("AvgPool2d", "pool2", x, kernel=3, stride=2, ceil_mode=True)
    x = b.add("Dropout", "drop2", x, p=0.5)
    x = b.add("MLPConv", "mlpconv3", x, out_channels=192, kernel=3, padding=1, mlp=(192, 10))
    x = b.add("GlobalAvgPool2d", "gap", x, flatten=True)
    b.output(x)
    return b.finish()
