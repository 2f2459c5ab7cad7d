"""The DenseNet family (Huang et al. 2017): torchvision's ImageNet DenseNet-BC models, DenseNet-264
and the CIFAR DenseNet-BC-100 (k = 12).

Node names follow torchvision (`features.conv0`, `features.denseblock1`, `features.transition1`,
`features.norm5`, `classifier`), so torchvision's state_dict loads by name.
"""

from designer.core.builder import GraphBuilder
from . import preset


def _dense_stages(b, x, block_config, growth_rate, compression=0.5, bn_size=4):
    for i, layers in enumerate(block_config, 1):
        x = b.add("DenseBlock", f"features.denseblock{i}", x, num_layers=layers,
                  growth_rate=growth_rate, bottleneck=True, bn_size=bn_size)
        if i < len(block_config):
            x = b.add("Transition", f"features.transition{i}", x, compression=compression)
    x = b.add("BatchNorm", "features.norm5", x)
    return b.add("ReLU", "features.relu5", x)


def _head(b, x, classes):
    x = b.add("GlobalAvgPool2d", "avgpool", x, flatten=True)
    x = b.add("Linear", "classifier", x, out_features=classes)
    b.output(x)
    return b.finish()


def imagenet_densenet(title, description, block_config, growth_rate=32, init_features=64):
    b = GraphBuilder(title, description)
    x = b.input((3, 224, 224))
    x = b.add("Conv2d", "features.conv0", x, out_channels=init_features, kernel=7, stride=2,
              padding=3, bias=False)
    x = b.add("BatchNorm", "features.norm0", x)
    x = b.add("ReLU", "features.relu0", x)
    x = b.add("MaxPool2d", "features.pool0", x, kernel=3, stride=2, padding=1)
    x = _dense_stages(b, x, block_config, growth_rate)
    return _head(b, x, 1000)


def _register(depth, block_config, count, torchvision=True):
    layers = "/".join(map(str, block_config))
    source = (f"As torchvision's densenet{depth} (weights load by name)" if torchvision else
              f"torchvision's DenseNet class with block_config=({', '.join(map(str, block_config))})"
              " builds the same network")
    description = (
        f"DenseNet-{depth} (Huang et al. 2017, 'Densely Connected Convolutional Networks', Table "
        f"1): DenseNet-BC with growth rate k = 32, a 7×7/2 stem to 64 channels and 3×3/2 max "
        f"pool, four dense blocks of {layers} bottleneck layers (BN-ReLU-1×1 to 4k, BN-ReLU-3×3 "
        f"to k) joined by transitions with compression 0.5, then BN-ReLU, global average pool "
        f"and a 1000-way FC. {source}. 3×224×224 in.")

    @preset(f"densenet{depth}", "densenet",
            f"DenseNet-{depth} (Huang et al. 2017), k = 32: {count} parameters")
    def build():
        return imagenet_densenet(f"DenseNet-{depth}", description, block_config)
    return build


_register(121, (6, 12, 24, 16), "8.0 M")
_register(169, (6, 12, 32, 32), "14.1 M")
_register(201, (6, 12, 48, 32), "20.0 M")
_register(264, (6, 12, 64, 48), "33.3 M", torchvision=False)


@preset("densenet_bc_100_k12_cifar", "densenet", "DenseNet-BC-100, k = 12, for CIFAR-10 "
        "(Huang et al. 2017, Table 2): 0.8 M parameters")
def densenet_bc_100_k12_cifar():
    growth = 12
    layers = (100 - 4) // 6
    b = GraphBuilder(
        "DenseNet-BC-100 (k = 12, CIFAR)",
        "DenseNet-BC-100 with growth rate k = 12 for CIFAR-10 (Huang et al. 2017, 'Densely "
        "Connected Convolutional Networks', section 3 and Table 2): a 3×3 convolution to 2k = 24 "
        f"channels, three dense blocks of {layers} bottleneck layers (BN-ReLU-1×1 to 4k, "
        "BN-ReLU-3×3 to k) on 32×32/16×16/8×8 maps, transitions with compression θ = 0.5, then "
        "BN-ReLU, global average pool and a 10-way FC. 3×32×32 in.")
    x = b.input((3, 32, 32))
    x = b.add("Conv2d", "features.conv0", x, out_channels=2 * growth, kernel=3, padding=1,
              bias=False)
    x = _dense_stages(b, x, (layers,) * 3, growth)
    return _head(b, x, 10)
