"""Regenerate every preset design file in this folder from `designer.presetlib`.

    python presets/generate.py            # all presets
    python presets/generate.py resnet50   # some
"""

import sys
from pathlib import Path

from designer.core import fileformat
from designer.presetlib import BUILDERS, build, load_all

HERE = Path(__file__).resolve().parent


def main(names):
    load_all()
    for name in names or sorted(BUILDERS):
        fileformat.save(build(name), HERE / f"{name}.json")
        print(f"wrote presets/{name}.json")


if __name__ == "__main__":
    main(sys.argv[1:])
