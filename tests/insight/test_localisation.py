"""Grad-CAM finds the digit: on digits placed at random in a larger empty frame, a small network
trained to name them puts most of Grad-CAM's heat inside the digit's box, on many images.

(On the bundled digits as they are, each 8×8 digit fills its whole frame and the gaps between
strokes are evidence too, so heat inside vs outside the ink says little there; the frame makes
"where is the digit" a real question.)"""

import numpy as np
import torch
import torch.nn.functional as F

from designer.core.builder import GraphBuilder
from designer.core.compile import compile_graph
from designer.insight.attribution import gradcam
from designer.insight.subject import find_tap
from designer.train.data import load_digits, split_indices

FRAME = 16


def _framed_digits():
    images, labels = load_digits()
    pixels = images.float() / 255
    offsets = torch.randint(0, FRAME - 8 + 1, (len(pixels), 2),
                            generator=torch.Generator().manual_seed(0))
    framed = torch.zeros(len(pixels), 1, FRAME, FRAME)
    ink = torch.zeros(len(pixels), FRAME, FRAME, dtype=torch.bool)
    box = torch.zeros(len(pixels), FRAME, FRAME, dtype=torch.bool)
    for i, (row, column) in enumerate(offsets.tolist()):
        framed[i, 0, row:row + 8, column:column + 8] = pixels[i, 0]
        ink[i, row:row + 8, column:column + 8] = pixels[i, 0] > 0.3
        box[i, row:row + 8, column:column + 8] = True
    return (framed - 0.1) / 0.3, labels, ink, box


def _network():
    b = GraphBuilder("framed digits")
    x = b.input((1, FRAME, FRAME))
    x = b.add("Conv2d", "conv1", x, out_channels=8, kernel=3, padding=1)
    x = b.add("ReLU", "relu1", x)
    x = b.add("MaxPool2d", "pool1", x)
    x = b.add("Conv2d", "conv2", x, out_channels=32, kernel=3, padding=1)
    x = b.add("ReLU", "relu2", x)
    x = b.add("GlobalAvgPool2d", "gap", x, flatten=True)
    x = b.add("Linear", "fc", x, out_features=10)
    b.output(x)
    return b.finish()


def test_gradcam_heat_lies_on_the_digit():
    torch.manual_seed(0)
    images, labels, ink, box = _framed_digits()
    train_idx, val_idx = split_indices(len(labels), 0.2)
    graph = _network()
    model = compile_graph(graph)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    order = torch.Generator().manual_seed(0)
    for _ in range(6):
        shuffled = torch.tensor(train_idx)[torch.randperm(len(train_idx), generator=order)]
        for start in range(0, len(shuffled), 32):
            batch = shuffled[start:start + 32]
            loss = F.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = float((model(images[val_idx]).argmax(1) == labels[val_idx]).float().mean())
    assert accuracy > 0.5, accuracy
    tap = find_tap(graph, "relu2")
    in_box = on_ink = total = 0.0
    for i in val_idx[:100]:
        heat = gradcam(model, images[i:i + 1], int(labels[i]), tap)
        in_box += heat[box[i].numpy()].sum()
        on_ink += heat[ink[i].numpy()].sum()
        total += heat.sum()
    box_share, ink_share = in_box / total, on_ink / total
    box_area = 64 / FRAME ** 2
    ink_area = float(ink[val_idx[:100]].float().mean())
    print(f"accuracy {accuracy:.1%}; Grad-CAM heat in the digit's box {box_share:.1%} "
          f"(area {box_area:.0%}), on its ink {ink_share:.1%} (area {ink_area:.1%})")
    assert box_share > 0.5 and box_share > 2 * box_area
    assert ink_share > 2.5 * ink_area
