"""The Issues panel lists the core's design problems (issue 10, fix 9), and discarding unsaved
changes tears the document down without touching deleted Qt objects (fix 13)."""

from PySide6.QtCore import QCoreApplication, QEvent


def _palette_add(window, type_name):
    item = window.palette.item_for(type_name)
    before = set(window.document.graph.nodes)
    window.palette.tree.itemActivated.emit(item, 0)
    (added,) = set(window.document.graph.nodes) - before
    return added


def _texts(window):
    return [window.issues.item(i).text() for i in range(window.issues.count())]


def test_a_design_without_output_shows_the_problem_in_the_issues_panel(window, qtbot):
    window.new_design("")
    window.issues_dock.raise_()
    assert _texts(window) == ["No problems: every shape checks out."]   # an empty canvas
    _palette_add(window, "Input")
    # The list follows once edits pause (its speed hints look at the whole graph).
    assert not any("no Output node" in text for text in _texts(window))
    qtbot.waitUntil(lambda: any(text.startswith("The design has no Output node")
                                for text in _texts(window)), timeout=2000)
    assert window.issues.node_ids() == []          # a problem of the design, not of a node
    _palette_add(window, "Output")                  # added below the selected Input and linked
    qtbot.waitUntil(lambda: not any("no Output node" in text for text in _texts(window)), timeout=2000)


def test_discarding_unsaved_changes_tears_down_cleanly(qtbot, home, dialogs):
    from designer.ui.window import MainWindow
    with qtbot.capture_exceptions() as exceptions:
        win = MainWindow(home=home)
        win.show()
        win.new_design("")
        _palette_add(win, "Input")
        assert win.document.modified
        qtbot.wait(20)                                # let the window settle (deferred fits)
        assert win.close()
        win.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    assert [kind for kind, *_ in dialogs] == ["question"]     # "Unsaved changes": Discard
    assert exceptions == []
