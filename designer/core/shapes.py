"""Shape arithmetic shared by the layer rules (microsecond-cheap; checked against torch by tests)."""

from .errors import ShapeError
from .params import format_pair, format_shape


def require_image(shape, what="input"):
    if len(shape) != 3:
        raise ShapeError(f"{what} is {format_shape(shape)}, but an image tensor C×H×W is needed")
    return shape


def require_vector(shape, what="input"):
    if len(shape) != 1:
        raise ShapeError(f"{what} is {format_shape(shape)}, but a feature vector is needed "
                         "(add a Flatten or a global pool first)")
    return shape


def resolve_padding(padding, kernel, stride, dilation):
    """Explicit (ph, pw) for 'same'/'valid'/explicit, or the string 'same' where only torch's
    asymmetric 'same' works (an even effective kernel at stride 1)."""
    if padding == "valid":
        return (0, 0)
    if padding != "same":
        return padding
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    if all(t % 2 == 0 for t in totals):
        return tuple(t // 2 for t in totals)
    if stride == (1, 1):
        return "same"
    raise ShapeError(f"padding 'same' with the even kernel {format_pair(kernel)} needs stride 1; "
                     "give the padding explicitly")


def window_output(size, kernel, stride, padding, dilation=(1, 1), ceil_mode=False, what="kernel"):
    """Output H, W of a convolution or pooling window: torch's own formula, ceil_mode included
    (with ceil_mode the last window may hang over the edge, but must start inside the input)."""
    if padding == "same":
        return size
    out = []
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        if o < 1:
            extent = "×".join(str(d * (k - 1) + 1) for k, d in zip(kernel, dilation))
            padded = "×".join(str(n + 2 * p) for n, p in zip(size, padding))
            raise ShapeError(f"{what} {extent} is larger than the padded input {padded}")
        out.append(o)
    return tuple(out)


def check_divides(groups, channels, what):
    if channels % groups:
        raise ShapeError(f"groups {groups} does not divide the {channels} {what}")


def same_shapes(shapes, what="inputs"):
    if len(set(shapes)) != 1:
        listed = " and ".join(format_shape(s) for s in shapes)
        raise ShapeError(f"{what} are {listed}")
