"""Regenerate every preset design file (in the package, `designer/presets/`) from
`designer.presetlib`.

    python presets/generate.py            # all presets
    python presets/generate.py resnet50   # some
"""

import sys

from designer.core import fileformat
from designer.core.presets import PRESETS_DIR
from designer.presetlib import BUILDERS, build, load_all


def main(names):
    load_all()
    for name in names or sorted(BUILDERS):
        fileformat.save(build(name), PRESETS_DIR / f"{name}.json")
        print(f"wrote designer/presets/{name}.json")


if __name__ == "__main__":
    main(sys.argv[1:])
