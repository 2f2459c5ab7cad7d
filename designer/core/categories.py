"""The palette's sections: every layer and block spec names one `Category` (title, colour, order).

Colours are hex strings (the core is Qt-free); the UI turns them into QColors. A spec may give a
category by name; a name not listed here (a new block family) gets its own category after the
listed ones, with a colour of its own, so adding a block family never needs a change here.
"""

from dataclasses import dataclass

BLOCK_COLOUR = "#3d77c2"
_FAMILY_COLOURS = ("#3d77c2", "#5a6fd6", "#2f8fae", "#7b5cc4", "#b0683a", "#4b9a8f")


@dataclass(frozen=True)
class Category:
    name: str        # as specs and files name it, e.g. "convolution" or "blocks/inception"
    title: str       # the palette's section heading
    colour: str      # "#rrggbb", the node header and palette icon colour
    order: int       # palette sections sort by (order, title)

    def __str__(self):
        return self.name


INPUT_OUTPUT = Category("input/output", "Input / output", "#4f7cff", 0)
CONVOLUTION = Category("convolution", "Convolution", "#2e9d6a", 1)
POOLING = Category("pooling", "Pooling", "#1f9fb5", 2)
NORMALISATION = Category("normalisation", "Normalisation", "#8e63d2", 3)
ACTIVATION = Category("activation", "Activation", "#e09a2b", 4)
MERGE = Category("merge", "Merge", "#d0603f", 5)
REGULARISATION = Category("regularisation", "Regularisation", "#8b8f97", 6)
UTILITY = Category("utility", "Utility", "#6f86a6", 7)
HEAD = Category("head", "Head", "#c4507c", 8)
BLOCKS = Category("blocks", "Blocks", BLOCK_COLOUR, 9)

_KNOWN = {c.name: c for c in (INPUT_OUTPUT, CONVOLUTION, POOLING, NORMALISATION, ACTIVATION,
                              MERGE, REGULARISATION, UTILITY, HEAD, BLOCKS)}


def category(name_or_category):
    """The `Category` for a name (or the category itself): a listed one, else a block family
    placed after the listed sections."""
    if isinstance(name_or_category, Category):
        return name_or_category
    name = name_or_category
    found = _KNOWN.get(name)
    if found is None:
        text = name.replace("/", " / ").replace("_", " ")
        colour = (BLOCK_COLOUR if name.startswith("block")
                  else _FAMILY_COLOURS[sum(map(ord, name)) % len(_FAMILY_COLOURS)])
        found = _KNOWN[name] = Category(name, text[:1].upper() + text[1:], colour, 100)
    return found
