"""Settings schemas (designer.core.settings): one declaration gives the CLI flags, the checks with
one sentence per bad value, and JSON; a dataclass of settings gets its schema from its fields."""

import argparse
from dataclasses import dataclass

import pytest

from designer.core.errors import DesignError
from designer.core.params import Param
from designer.core.settings import Settings, SettingsError, setting, settings_class


class RecipeError(DesignError):
    pass


SCHEMA = Settings([
    Param("rate", "float", 0.1, title="Learning rate", above=0, group="Optimisation",
          help="The step size"),
    Param("share", "float", 0.5, title="Share", above=0, below=1, help="A fraction"),
    Param("epochs", "int", 3, title="Epochs", min=1, unit="epochs", group="Optimisation",
          help="Passes"),
    Param("fast", "bool", True, title="Fast", help="Go fast"),
    Param("mode", "choice", "a", choices={"a": "first", "b": "second"}, title="Mode",
          help="Which one"),
    Param("layers", "names", None, optional=True, title="Layers", help="Which layers"),
    Param("budget", "count", None, optional=True, title="MAC budget", above=0, help="At most"),
    Param("folder", "folder", None, optional=True, title="Folder", none_text="a new one",
          help="Where", applies={"mode": ("b",)}),
    Param("clip", "float", 0.0, title="Clip", min=0, special="off", help="Largest norm"),
], RecipeError)


def test_check_fills_defaults_and_gives_canonical_values():
    values = SCHEMA.check({"epochs": 5.0, "layers": "a, b c", "budget": "1.5G",
                           "folder": "  /data  "})
    assert values == {"rate": 0.1, "share": 0.5, "epochs": 5, "fast": True, "mode": "a",
                      "layers": ("a", "b", "c"), "budget": 1_500_000_000, "folder": "/data",
                      "clip": 0.0}
    assert values.epochs == 5 and isinstance(values.epochs, int)       # attribute access too
    assert SCHEMA.check({"layers": ["a,b", "c"]}).layers == ("a", "b", "c")
    assert SCHEMA.check({"folder": " ", "budget": ""}).folder is None


@pytest.mark.parametrize("values, sentence", [
    ({"rate": -1}, "learning rate must be positive; got -1"),
    ({"rate": "fast"}, "learning rate: expected a number, got 'fast'"),
    ({"share": 1.0}, "share must be between 0 and 1 (exclusive); got 1"),
    ({"epochs": 0}, "epochs must be at least 1; got 0"),
    ({"clip": -0.5}, "clip must be zero or more; got -0.5"),
    ({"mode": "c"}, "unknown mode 'c'; choose one of a, b"),
    ({"budget": "lots"}, "MAC budget: expected a number such as 300M, got 'lots'"),
    ({"budget": "-2k"}, "MAC budget must be positive; got -2000"),
    ({"fast": "yes"}, "fast: expected true or false, got 'yes'"),
    ({"speed": 1, "colour": 2}, "unknown settings: colour, speed"),
])
def test_each_bad_value_is_one_sentence_naming_the_setting(values, sentence):
    with pytest.raises(RecipeError) as refused:
        SCHEMA.check(values)
    assert str(refused.value) == sentence


def test_flags_are_typed_grouped_and_left_out_when_not_given():
    parser = argparse.ArgumentParser()
    SCHEMA.add_arguments(parser, required=("mode",))
    args = parser.parse_args(["--rate", "0.5", "--no-fast", "--layers", "x,y", "z",
                              "--mode", "b", "--budget", "300M"])
    assert SCHEMA.given(args) == {"rate": 0.5, "fast": False, "layers": ["x,y", "z"],
                                  "mode": "b", "budget": "300M"}
    checked = SCHEMA.check(SCHEMA.given(args))
    assert checked.layers == ("x", "y", "z") and checked.budget == 300_000_000
    assert SCHEMA.given(parser.parse_args(["--mode", "a"])) == {"mode": "a"}
    with pytest.raises(SystemExit):                     # a required setting must be given
        parser.parse_args([])
    text = parser.format_help()
    assert "optimisation:" in text and "--fast, --no-fast" in text
    assert "Passes; default 3 epochs" in text
    assert "Largest norm; default 0.0 (off)" in text
    assert "Where; default a new one" in text
    assert set(SCHEMA.flags()) == {"--rate", "--share", "--epochs", "--fast", "--no-fast",
                                   "--mode", "--layers", "--budget", "--folder", "--clip"}


def test_json_round_trips_and_applies_follows_the_other_settings():
    values = SCHEMA.check({"layers": ("a",)})
    plain = SCHEMA.to_json(values)
    assert plain["layers"] == ["a"] and SCHEMA.check(plain) == values
    folder = SCHEMA["folder"]
    assert not folder.applies_to({"mode": "a"}) and folder.applies_to({"mode": "b"})
    assert SCHEMA["rate"].applies_to({})


def test_a_dataclass_of_settings_gets_its_schema():
    @settings_class
    @dataclass
    class Recipe:
        Error = RecipeError
        epochs: int = setting(2, "Epochs", min=1, help="Passes")
        rate: float = setting(0.5, "Rate", above=0, help="Step")
        out: str | None = setting(None, "Out", kind="folder", help="Where")
        name: str = setting("run", "Name", help="What")
    schema = Recipe.SETTINGS
    assert [p.kind for p in schema] == ["int", "float", "folder", "str"]
    assert schema["out"].optional and not schema["name"].optional
    recipe = Recipe(epochs=4.0).check_fields()
    assert recipe.epochs == 4 and isinstance(recipe.epochs, int)
    with pytest.raises(RecipeError, match="rate must be positive"):
        Recipe(rate=0).check_fields()

    with pytest.raises(TypeError, match="Plain.hidden is not declared with setting"):
        @settings_class
        @dataclass
        class Plain:
            hidden: int = 3


def test_default_error_and_duplicate_names():
    with pytest.raises(SettingsError):
        Settings([Param("a", "int", 1, title="A")]).check({"a": "x"})
    with pytest.raises(ValueError, match="share a name"):
        Settings([Param("a", "int", 1), Param("a", "int", 2)])
