"""Fixtures for the editor tests: a main window with its own settings folder, and message boxes
that answer without blocking (recorded so tests can assert what the person would have seen)."""

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")


class Seen(list):
    """The message boxes shown: (kind, title, text); `answers` sets what each kind returns."""
    answers = None


@pytest.fixture
def dialogs(monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    seen = Seen()
    answers = {"question": QMessageBox.Discard}

    def record(kind):
        def show(parent, title, text, *args, **kwargs):
            seen.append((kind, title, text))
            return answers.get(kind, QMessageBox.Ok)
        return staticmethod(show)

    for kind in ("question", "critical", "information", "warning"):
        monkeypatch.setattr(QMessageBox, kind, record(kind))
    seen.answers = answers
    return seen


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DESIGNER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def window(qtbot, home, dialogs):
    from PySide6.QtCore import QCoreApplication, QEvent
    from designer.ui.window import MainWindow
    win = MainWindow(home=home)
    win.resize(1200, 800)
    win.show()
    yield win
    if win.document is not None:
        win.document.undo_stack.setClean()
        win.document._recovered = False
    win.close()
    # Delete the window now: live windows make every later style sheet change slower, and Qt
    # objects left for interpreter shutdown are destroyed in no safe order.
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
