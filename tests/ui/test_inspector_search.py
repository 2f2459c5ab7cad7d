"""The inspector's Search space section: typing values marks a parameter searchable (one undo
step, saved in the design file), a bad value shows its sentence and changes nothing, clearing the
field stops searching it."""

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from designer.core import fileformat
from designer.core.space import Searchable


def _type(field, text):
    field.setFocus()
    field.selectAll()
    QTest.keyClick(field, Qt.Key_Backspace)
    QTest.keyClicks(field, text)
    QTest.keyClick(field, Qt.Key_Return)


def test_typing_values_marks_a_parameter_searchable_and_saves_it(window, tmp_path):
    window.open_design("lenet5")
    graph = window.document.graph
    window.scene.select_ids(["c1"])
    fields = window.inspector.search_fields
    assert {"out_channels", "kernel"} <= set(fields) and "type" not in fields
    _type(fields["out_channels"], "4:12:4")
    assert graph.search["c1"]["out_channels"] == Searchable(low=4, high=12, step=4)
    _type(fields["kernel"], "3, 5")
    assert graph.search["c1"]["kernel"] == Searchable(((3, 3), (5, 5)))
    assert window.document.undo_stack.count() == 2
    window.document.save(tmp_path / "space.json")
    assert fileformat.load(tmp_path / "space.json").search == graph.search
    window.document.undo_stack.undo()
    assert "kernel" not in graph.search["c1"] and fields["kernel"].text() == ""
    _type(fields["out_channels"], "")
    assert "c1" not in graph.search


def test_a_bad_value_shows_its_sentence_and_changes_nothing(window):
    window.open_design("lenet5")
    window.scene.select_ids(["c1"])
    field = window.inspector.search_fields["out_channels"]
    _type(field, "0, 8")
    assert window.document.graph.search == {}
    assert "c1.out_channels" in window.inspector.problem.text()
    assert field.text() == ""


def test_a_block_offers_its_type_among_compatible_ones(window):
    window.open_design("resnet18")
    window.scene.select_ids(["layer1.0"])
    field = window.inspector.search_fields["type"]
    _type(field, "BasicBlock, PreActBasicBlock")
    assert window.document.graph.search["layer1.0"]["type"].choices == ("BasicBlock",
                                                                       "PreActBasicBlock")
