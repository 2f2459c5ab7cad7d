"""Transfer learning in a run: a new classifier for the dataset, frozen nodes and per-node
learning-rate factors.

What to freeze and scale comes from two places that add up: the design's own marks (a node's
`frozen` and `lr_factor`, set in the inspector) and the run's settings (`--freeze`,
`--lr-factor`, whose entries are node ids or name prefixes such as `layer1`, matched at dots:
`layer1` selects `layer1.0` and `layer1.1` but not `layer10`). `resolve` folds both into the
run's config, so its checkpoint keeps them and `--resume` trains the same way.
"""

from torch import nn

from designer.core.errors import DesignError
from designer.core.heads import HeadError, new_head_command
from .config import parse_lr_factors


class TransferError(DesignError):
    """A freeze or learning-rate entry that selects nothing, or a head that cannot be replaced."""


def under(name, prefix):
    """Whether module or tensor `name` is `prefix` or lies inside it (matched at dots)."""
    return name == prefix or name.startswith(prefix + ".")


def new_head(graph, classes):
    """Give the design's classifier `classes` outputs, in place; the `Head` as it was."""
    try:
        command, head = new_head_command(graph, classes)
    except HeadError as error:
        raise TransferError(f"--new-head: {error}") from None
    if command is not None:
        command.redo()
    return head


def resolve(graph, config):
    """The run's freeze list and LR factors with the design's marks added, written back into
    `config` (so a checkpoint keeps them); each entry must select a node of the design."""
    freeze = list(dict.fromkeys(graph.frozen_nodes() + list(config.freeze or ())))
    factors = {path: factor for path, (_, factor) in graph.training_marks().items()
               if factor != 1.0}
    factors.update(parse_lr_factors(config.lr_factor))
    for flag, names in (("--freeze", freeze), ("--lr-factor", list(factors))):
        for name in names:
            if not any(under(nid, name) or under(name, nid) for nid in graph.nodes):
                shown = ", ".join(list(graph.nodes)[:12])
                raise TransferError(f"{flag}: {name!r} is no node of the design and no prefix "
                                    f"of one (its nodes: {shown}…)")
    config.freeze = tuple(freeze) or None
    config.lr_factor = ",".join(f"{name}={factor:g}" for name, factor in factors.items()) or None
    return freeze, factors


def freeze(model, prefixes):
    """Stop the gradient of every parameter under `prefixes`; the batch norms under them, which
    `keep_frozen_norms` puts back in eval mode after each `model.train()`."""
    for name, parameter in model.named_parameters():
        if any(under(name, p) for p in prefixes):
            parameter.requires_grad_(False)
    return [module for name, module in model.named_modules()
            if isinstance(module, nn.modules.batchnorm._BatchNorm)
            and any(under(name, p) for p in prefixes)]


def keep_frozen_norms(norms):
    for module in norms:
        module.eval()


def factor_of(name, factors):
    """The LR factor of tensor `name`: the longest entry of `factors` it lies under, else 1."""
    matching = [prefix for prefix in factors if under(name, prefix)]
    return factors[max(matching, key=len)] if matching else 1.0


def parameter_counts(model):
    """(trainable, frozen) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters()) - trainable
