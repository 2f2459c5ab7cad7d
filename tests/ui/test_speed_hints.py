"""Speed hints (ShuffleNet V2's guidelines) show in the Issues panel without counting as errors."""

from PySide6.QtCore import Qt


def test_hints_listed_after_errors_and_never_counted(window):
    assert window.open_design("mobilenet_v2")
    issues = window.issues
    hinted = issues.node_ids("hint")
    assert hinted and issues.node_ids() == []
    assert window.issues_dock.windowTitle() == "Issues"          # hints are not problems to fix
    texts = [issues.item(i).text() for i in range(issues.count())]
    assert texts[0].startswith("No problems")
    assert any(" — hint · G1: " in t for t in texts)
    hint_item = next(issues.item(i) for i in range(issues.count())
                     if issues.item(i).data(Qt.UserRole) == hinted[0])
    issues.itemClicked.emit(hint_item)
    assert window.scene.selected_ids() == [hinted[0]]
