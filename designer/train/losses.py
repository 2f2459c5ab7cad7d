"""Which loss trains each output of a design.

An output is trained by what it is, read from the design, so a design file needs no loss field:
- a main output fed by a `CapsuleLength` layer gives capsule lengths: the margin loss of Sabour et
  al. 2017 (Eq. 4: m+ = 0.9, m- = 0.1, λ = 0.5);
- an auxiliary output with as many values as the input image is a reconstruction: the summed
  squared error against the input pixels in 0..1 (the paper's decoder loss, which it weights by
  0.0005 through the output's loss weight);
- every other output gives class scores: the cross-entropy.
"""

from math import prod

import torch
import torch.nn.functional as F

from designer.core.compile import output_nodes

CROSS_ENTROPY, MARGIN, RECONSTRUCTION = "cross_entropy", "margin", "reconstruction"


def margin_loss(lengths, labels, m_plus=0.9, m_minus=0.1, down_weight=0.5):
    """Sum over classes of T·max(0, m+ − |v|)² + λ(1 − T)·max(0, |v| − m−)², mean over the batch."""
    present = F.one_hot(labels, lengths.shape[1]).to(lengths.dtype)
    loss = present * F.relu(m_plus - lengths) ** 2 \
        + down_weight * (1 - present) * F.relu(lengths - m_minus) ** 2
    return loss.sum(1).mean()


def reconstruction_loss(reconstruction, images, mean, std):
    """Summed squared error per sample (mean over the batch) against the un-normalised input."""
    mean = torch.tensor(mean, device=images.device, dtype=images.dtype).view(1, -1, 1, 1)
    std = torch.tensor(std, device=images.device, dtype=images.dtype).view(1, -1, 1, 1)
    target = (images * std + mean).flatten(1)
    return ((reconstruction.flatten(1) - target) ** 2).sum(1).mean()


def output_losses(graph, input_shape, shapes):
    """The loss kind of each output (in the compiled model's order), given their shapes; None
    where an output's shape fits no loss (the caller says what is wrong)."""
    kinds = []
    for node, shape in zip(output_nodes(graph), shapes):
        source = graph.nodes[graph.in_edge(node.id, "in").src]
        if node.params["role"] == "main" and source.type == "CapsuleLength":
            kinds.append(MARGIN)
        elif node.params["role"] == "auxiliary" and prod(shape) == prod(input_shape) \
                and len(shape) == 1:
            kinds.append(RECONSTRUCTION)
        else:
            kinds.append(CROSS_ENTROPY)
    return kinds
