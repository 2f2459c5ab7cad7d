"""The settings form (designer.ui.forms.SettingsForm) as a person uses it: sections fold on a
click of their title, a setting that does not apply is greyed out until the one it depends on
changes, optional settings show what "unset" means, typed values reach `values()`."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from designer.core.params import Param
from designer.core.settings import Settings
from designer.ui.forms import SettingsForm

SCHEMA = Settings([
    Param("schedule", "choice", "cosine", choices={"cosine": "cosine", "step": "step"},
          title="Schedule", group="Schedule", help="How the rate changes"),
    Param("step_size", "int", 30, title="Step every", min=1, unit="epochs", group="Schedule",
          applies={"schedule": ("step",)}, help="Epochs between decays"),
    Param("threads", "int", None, optional=True, title="Threads", min=1,
          none_text="PyTorch's default", group="Hardware", help="CPU threads"),
    Param("clip", "float", 0.0, title="Clip", min=0.0, special="off", decimals=2,
          group="Hardware", help="Largest norm"),
    Param("flip", "bool", None, optional=True, title="Flip", none_text="auto",
          group="Hardware", help="Mirror images"),
    Param("data", "folder", None, optional=True, title="Data", none_text="no folder",
          group="Hardware", help="Where the images are"),
    Param("budget", "count", None, optional=True, title="MAC budget", above=0,
          none_text="no budget", group="Hardware", help="At most"),
])


@pytest.fixture
def form(qtbot):
    widget = SettingsForm(SCHEMA, folded=("Hardware",))
    qtbot.addWidget(widget)
    widget.resize(400, 400)
    widget.show()
    return widget


def test_defaults_round_trip_and_rows_follow_their_settings(form, qtbot):
    assert SCHEMA.check(form.values()) == SCHEMA.defaults()
    step = form.editors["step_size"]
    assert not step.isEnabled()                       # cosine: the step size does not apply
    box = form.editors["schedule"].box
    box.setFocus()
    QTest.keyClick(box, Qt.Key_Down)                  # the person picks "step"
    assert form.values()["schedule"] == "step" and step.isEnabled()
    spin = step.box
    spin.selectAll()
    QTest.keyClicks(spin, "12")
    QTest.keyClick(spin, Qt.Key_Return)
    assert form.values()["step_size"] == 12 and spin.suffix() == " epochs"


def test_a_folded_section_opens_on_a_click_of_its_title(form, qtbot):
    threads = form.editors["threads"]
    assert not threads.isVisible()
    QTest.mouseClick(form.sections["Hardware"], Qt.LeftButton)
    assert threads.isVisible()
    QTest.mouseClick(form.sections["Hardware"], Qt.LeftButton)
    assert not threads.isVisible()


def test_unset_values_show_what_they_mean(form, qtbot, monkeypatch):
    form.set_folded("Hardware", False)
    threads = form.editors["threads"].box
    assert threads.text() == "PyTorch's default" and form.values()["threads"] is None
    QTest.keyClick(threads, Qt.Key_Up)
    assert form.values()["threads"] == 1
    assert form.editors["clip"].box.text() == "off"
    flip = form.editors["flip"].box
    assert flip.currentText() == "auto" and form.values()["flip"] is None
    flip.setCurrentIndex(flip.findData(False))
    assert form.values()["flip"] is False
    data = form.editors["data"]
    assert data.line.placeholderText() == "no folder" and form.values()["data"] is None
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a: "/data/images")
    with qtbot.waitSignal(form.changed) as changed:
        QTest.mouseClick(data.browse_button, Qt.LeftButton)
    assert changed.args == ["data"] and form.values()["data"] == "/data/images"
    budget = form.editors["budget"].line
    QTest.keyClicks(budget, "300M")
    QTest.keyClick(budget, Qt.Key_Return)
    assert SCHEMA.check(form.values()).budget == 300_000_000


def test_saved_values_come_back_and_stale_ones_are_skipped(form):
    form.set_values({"schedule": "step", "step_size": 7, "threads": 4, "clip": "broken",
                     "budget": 2_000_000, "gone": 1})
    values = form.values()
    assert (values["schedule"], values["step_size"], values["threads"]) == ("step", 7, 4)
    assert values["clip"] == 0.0                      # not a number: the editor kept its own
    assert form.editors["budget"].line.text() == "2M"
    assert form.editors["step_size"].isEnabled()


def test_hidden_rows_stay_hidden_and_an_empty_section_hides_its_title(form):
    form.set_folded("Hardware", False)
    for name in ("threads", "clip", "flip", "data", "budget"):
        form.set_row_visible(name, False)
    assert not form.sections["Hardware"].isVisible()
    form.set_row_visible("clip", True)
    assert form.sections["Hardware"].isVisible() and form.editors["clip"].isVisible()
    assert not form.editors["threads"].isVisible()
