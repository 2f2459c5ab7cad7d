"""CapsNet for MNIST (Sabour, Frosst & Hinton 2017, 'Dynamic Routing Between Capsules')."""

from designer.core.builder import GraphBuilder
from . import preset


def capsnet_graph(conv_channels=256, capsules=32, capsule_dim=8, digit_dim=16, classes=10,
                  decoder=(512, 1024), iterations=3, name="CapsNet (MNIST)", description=""):
    """CapsNet for 1×28×28 inputs; the defaults are the paper's MNIST network."""
    b = GraphBuilder(name, description)
    x = b.input((1, 28, 28))
    x = b.add("Conv2d", "conv1", x, out_channels=conv_channels, kernel=9, padding="valid")
    x = b.add("ReLU", "relu1", x)
    x = b.add("PrimaryCapsules", "primary_caps", x, capsules=capsules, capsule_dim=capsule_dim,
              kernel=9, stride=2)
    caps = b.add("CapsuleRouting", "digit_caps", x, capsules=classes, capsule_dim=digit_dim,
                 iterations=iterations)
    b.output(b.add("CapsuleLength", "lengths", caps), "scores")
    y = b.add("CapsuleMask", "mask", caps)
    for i, width in enumerate(decoder, 1):
        y = b.add("Linear", f"decoder.fc{i}", y, out_features=width)
        y = b.add("ReLU", f"decoder.relu{i}", y)
    y = b.add("Linear", f"decoder.fc{len(decoder) + 1}", y, out_features=28 * 28)
    y = b.add("Sigmoid", "decoder.sigmoid", y)
    b.output(y, "reconstruction", role="auxiliary", loss_weight=0.0005)
    return b.finish()


@preset("capsnet_mnist", "capsules", "CapsNet (Sabour et al. 2017): 8.2 M parameters with the "
        "reconstruction decoder, 3 routing iterations")
def capsnet_mnist():
    return capsnet_graph(description=(
        "CapsNet (Sabour, Frosst & Hinton 2017, 'Dynamic Routing Between Capsules', Fig. 1-2): a "
        "9×9 convolution to 256 channels with ReLU; primary capsules, a 9×9/2 convolution to 32 "
        "types of 8-D capsules (6×6×32 = 1152 capsules) squashed; DigitCaps, 10 capsules of 16 "
        "dimensions reached by dynamic routing with 3 iterations; the capsule lengths are the "
        "class scores, trained with the margin loss (m+ 0.9, m− 0.1, λ 0.5). The auxiliary head "
        "is the reconstruction decoder: the longest capsule alone (the others masked) through "
        "fully connected layers of 512 and 1024 with ReLU and 784 with a sigmoid, trained to "
        "redraw the input with the summed squared error weighted by 0.0005. 8,215,568 "
        "parameters (6,804,224 without the decoder), as in the paper. 1×28×28 in: MNIST, or the "
        "built-in digits scaled up. The paper masks with the true label in training; a design "
        "sees only images, so the predicted capsule is used throughout."))
