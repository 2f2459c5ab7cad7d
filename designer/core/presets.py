"""Finding designs by file path or preset name."""

from pathlib import Path

from . import fileformat
from .errors import DesignFileError

PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets"


def preset_names():
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def preset_path(name):
    return PRESETS_DIR / f"{name}.json"


def resolve(file_or_preset):
    """A path to an existing file, else the preset of that name; DesignFileError if neither."""
    path = Path(file_or_preset)
    if path.suffix == ".json" or path.exists():
        if not path.exists():
            raise DesignFileError(f"{path}: no such file")
        return path
    candidate = preset_path(file_or_preset)
    if candidate.exists():
        return candidate
    raise DesignFileError(f"{file_or_preset!r} is neither a design file nor a preset "
                          f"(`designer presets` lists them)")


def load_design(file_or_preset):
    return fileformat.load(resolve(file_or_preset))
