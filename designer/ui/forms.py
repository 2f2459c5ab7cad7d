"""Editors for typed values, one per kind of `Param`, and the settings form made of them.

The one editor table (`EDITORS`) serves the inspector (a layer's parameters) and every panel's
settings (`SettingsForm`, made from a `designer.core.settings.Settings` schema), as pyqtgraph's
parametertree has one table of parameter types. An editor shows a value with `set_value` (its
widgets stay silent) and announces only the person's changes with `edited(value)`.

Numbers typed into a field apply on Enter, on leaving the field or after a short pause, not on
every keystroke (typing 48 must not apply 4 first and re-flow the network); arrows and the wheel
apply at once. Height × width pairs keep a square lock, on while the value is square. A setting
that may be unset (`optional`) shows its `none_text`: a spin box's lowest step, a combo box's
first entry, or a text field's placeholder.
"""

from contextlib import ExitStack
import re

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QToolButton,
                               QWidget)

from designer.core.errors import DesignError
from designer.core.params import format_shape
from designer.core.summary import human

INT_LIMIT = 2**31 - 1
TYPING_PAUSE_MS = 700


def _commit_after_pause(box):
    """Typed numbers apply on Enter, focus-out, or once typing pauses; steps apply at once."""
    box.setKeyboardTracking(False)
    timer = QTimer(box)
    timer.setSingleShot(True)
    timer.setInterval(TYPING_PAUSE_MS)
    timer.timeout.connect(box.interpretText)
    box.lineEdit().textEdited.connect(lambda text: timer.start())
    return box


def _bounds(param, integer):
    """The spin box's range: the value's inclusive and exclusive bounds, and one step below the
    lowest value for an optional setting (where the box shows its none text)."""
    tiny = 1 if integer else 10.0 ** -_decimals(param)
    low = (param.min if param.min is not None else
           param.above + tiny if param.above is not None else
           -INT_LIMIT if integer else -1e12)
    high = (param.max if param.max is not None else
            param.below - tiny if param.below is not None else
            INT_LIMIT if integer else 1e12)
    if param.optional:
        low -= 1 if integer else (param.step or tiny)
    return (int(low), int(high)) if integer else (float(low), float(high))


def _decimals(param):
    return param.decimals if param.decimals is not None else 5


def tooltip(param):
    """The help text with the range, as the inspector and the forms show it."""
    tip = param.help
    if param.min is not None or param.max is not None:
        tip += (f" (range {param.min if param.min is not None else '…'} to "
                f"{param.max if param.max is not None else '…'})")
    return tip


class Editor(QWidget):
    """Base of the typed editors: `set_value` (silent) and the `edited(value)` signal. A subclass
    shows a value in `show_value`; only the person's changes are announced."""
    edited = Signal(object)

    def __init__(self, param):
        super().__init__()
        self.param = param
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(4)

    def set_value(self, value):
        """Show `value` without announcing it as an edit: the editor's widgets stay silent."""
        with ExitStack() as silence:
            for widget in self.findChildren(QWidget):
                silence.enter_context(QSignalBlocker(widget))
            self.show_value(value)

    def _emit(self, *args):
        self.edited.emit(self.value())


class _NumberEditor(Editor):
    """A spin box; an optional setting's None is the box's lowest value, shown as its none text;
    a setting's `special` text names its minimum ("off", "auto")."""

    def _setup(self, box):
        self.box = box
        param = self.param
        special = param.none_text if param.optional else param.special
        if special:
            box.setSpecialValueText(special)
        if param.unit:
            box.setSuffix(f" {param.unit}")
        self.layout_.addWidget(box)
        box.valueChanged.connect(self._emit)

    def show_value(self, value):
        self.box.setValue(self.box.minimum() if value is None else value)

    def value(self):
        value = self.box.value()
        return None if self.param.optional and value == self.box.minimum() else value


class IntEditor(_NumberEditor):
    def __init__(self, param):
        super().__init__(param)
        box = _commit_after_pause(QSpinBox())
        box.setRange(*_bounds(param, True))
        box.setAccelerated(True)
        if param.step:
            box.setSingleStep(int(param.step))
        self._setup(box)


class FloatEditor(_NumberEditor):
    def __init__(self, param):
        super().__init__(param)
        box = _commit_after_pause(QDoubleSpinBox())
        box.setDecimals(_decimals(param))
        box.setRange(*_bounds(param, False))
        small = param.max is not None and param.max <= 1.0
        box.setSingleStep(param.step or (0.05 if small else 0.1))
        self._setup(box)


class BoolEditor(Editor):
    """A check box; an optional setting (on, off or its none text: "auto") is a combo box."""

    def __init__(self, param):
        super().__init__(param)
        if param.optional:
            self.box = QComboBox()
            for value, title in ((None, param.none_text or "auto"), (True, "on"),
                                 (False, "off")):
                self.box.addItem(title, value)
            self.box.currentIndexChanged.connect(self._emit)
        else:
            self.box = QCheckBox()
            self.box.toggled.connect(self._emit)
        self.layout_.addWidget(self.box)

    def show_value(self, value):
        if self.param.optional:
            self.box.setCurrentIndex(max(0, self.box.findData(value)))
        else:
            self.box.setChecked(value)

    def value(self):
        return self.box.currentData() if self.param.optional else self.box.isChecked()


class ChoiceEditor(Editor):
    def __init__(self, param):
        super().__init__(param)
        self.box = QComboBox()
        if param.optional:
            self.box.addItem(param.none_text or "none", None)
        titles = param.choice_titles or [str(choice) for choice in param.choices]
        for choice, title in zip(param.choices, titles):
            self.box.addItem(title, choice)
        self.layout_.addWidget(self.box)
        self.box.currentIndexChanged.connect(self._emit)

    def show_value(self, value):
        self.box.setCurrentIndex(max(0, self.box.findData(value)))

    def value(self):
        return self.box.currentData()


def _int_box(param):
    box = QSpinBox()
    box.setRange(*_bounds(param, True))
    box.setAccelerated(True)
    return _commit_after_pause(box)


class PairEditor(Editor):
    """Height × width as two spin boxes, with a square lock that keeps them equal."""

    def __init__(self, param):
        super().__init__(param)
        self.h, self.w = _int_box(param), _int_box(param)
        self.h.setToolTip("height")
        self.w.setToolTip("width")
        self.lock = QToolButton()
        self.lock.setText("■")
        self.lock.setCheckable(True)
        self.lock.setChecked(True)
        self.lock.setToolTip("Square: keep height and width equal")
        self.lock.setAutoRaise(True)
        self.layout_.addWidget(self.h)
        self.layout_.addWidget(QLabel("×"))
        self.layout_.addWidget(self.w)
        self.layout_.addWidget(self.lock)
        self.h.valueChanged.connect(lambda value: self._changed(self.w, value))
        self.w.valueChanged.connect(lambda value: self._changed(self.h, value))
        self.lock.toggled.connect(self._locked)

    def _changed(self, other, value):
        if self.lock.isChecked() and other.value() != value:
            with QSignalBlocker(other):
                other.setValue(value)
        self._emit()

    def _locked(self, on):
        if on and self.h.value() != self.w.value():
            self._changed(self.w, self.h.value())

    def show_value(self, value):
        self.h.setValue(value[0])
        self.w.setValue(value[1])
        if value[0] != value[1]:   # a value that is not square unlocks
            self.lock.setChecked(False)

    def value(self):
        return (self.h.value(), self.w.value())


class PaddingEditor(Editor):
    """'same', 'valid', or explicit zeros (height × width)."""

    def __init__(self, param):
        super().__init__(param)
        self.mode = QComboBox()
        self.mode.addItems(["same", "valid", "explicit"])
        self.pair = PairEditor(param)
        self.layout_.addWidget(self.mode)
        self.layout_.addWidget(self.pair, 1)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.pair.edited.connect(self._emit)

    def _mode_changed(self, index):
        self.pair.setEnabled(self.mode.currentText() == "explicit")
        self._emit()

    def show_value(self, value):
        if isinstance(value, str):
            self.mode.setCurrentText(value)
        else:
            self.mode.setCurrentText("explicit")
            self.pair.show_value(value)
        self.pair.setEnabled(not isinstance(value, str))

    def value(self):
        mode = self.mode.currentText()
        return self.pair.value() if mode == "explicit" else mode


class TextEditor(Editor):
    """Free text, applied when editing finishes; an optional setting's empty field is None and
    shows its none text as a placeholder."""

    def __init__(self, param):
        super().__init__(param)
        self.line = QLineEdit()
        if param.none_text:
            self.line.setPlaceholderText(param.none_text)
        self.layout_.addWidget(self.line, 1)
        self.line.editingFinished.connect(self._finished)
        self._shown = None

    def _finished(self):
        if self.line.text() != self._shown:
            self._emit()

    def show_value(self, value):
        self._shown = self.format(value)
        self.line.setText(self._shown)

    def format(self, value):
        return "" if value is None else value

    def value(self):
        text = self.line.text()
        return None if self.param.optional and not text.strip() else text


class PathEditor(TextEditor):
    """A file or folder path with a Browse… button (a folder for the `folder` kind). Browse
    opens at the path shown, or at `start_in` (a folder the owner sets) while the field is
    empty."""

    def __init__(self, param):
        super().__init__(param)
        self.start_in = None
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        self.layout_.addWidget(self.browse_button)

    def browse(self):
        title = self.param.label
        start = self.line.text().strip() or str(self.start_in or "")
        if self.param.kind == "folder":
            path = QFileDialog.getExistingDirectory(self, title, start)
        else:
            path, _ = QFileDialog.getOpenFileName(self, title, start,
                                                  ";;".join(filter(None, (self.param.pattern,
                                                                          "All files (*)"))))
        if path:
            self.line.setText(path)
            self._finished()


class NamesEditor(TextEditor):
    """Names separated by commas or spaces (node ids, layers, methods)."""

    def format(self, value):
        return ", ".join(value) if value else ""

    def value(self):
        names = tuple(n for n in re.split(r"[,\s]+", self.line.text().strip()) if n)
        return names or (None if self.param.optional else ())


class CountEditor(TextEditor):
    """A count written as people write them (300M, 1.5G, 4k); checked when the settings are."""

    def format(self, value):
        return "" if value is None else human(value).replace(".00", "")


class ShapeEditor(TextEditor):
    """A shape typed as 3×224×224 (x, ×, commas or spaces between the numbers)."""

    def __init__(self, param):
        super().__init__(param)
        if not param.none_text:
            self.line.setPlaceholderText("3×224×224")

    def format(self, value):
        return "" if value is None else format_shape(value)

    def value(self):
        parts = [p for p in re.split(r"[x×X,\s]+", self.line.text().strip()) if p]
        if not parts and self.param.optional:
            return None
        try:
            return [int(p) for p in parts]
        except ValueError:
            return self.line.text()


class IntsEditor(ShapeEditor):
    def format(self, value):
        return ", ".join(str(v) for v in value)


EDITORS = {"int": IntEditor, "float": FloatEditor, "bool": BoolEditor, "choice": ChoiceEditor,
           "pair": PairEditor, "padding": PaddingEditor, "shape": ShapeEditor, "ints": IntsEditor,
           "str": TextEditor, "path": PathEditor, "folder": PathEditor, "names": NamesEditor,
           "count": CountEditor}


def editor_for(param):
    """The editor of `param`'s kind, showing its default, with its help as the tooltip."""
    editor = EDITORS[param.kind](param)
    editor.set_value(param.default)
    editor.setToolTip(tooltip(param))
    return editor


class SettingsForm(QWidget):
    """A form made from a settings schema: one labelled editor per setting, in sections by the
    settings' `group` (a section's title folds it; `folded` names those folded at first), each
    editor disabled while the settings it depends on (`applies`) have other values. One form
    layout holds every row, so the editors line up across sections. `values()` reads every
    setting; `changed(name)` follows the person's edits."""
    changed = Signal(str)

    def __init__(self, settings, folded=(), parent=None):
        super().__init__(parent)
        self.settings = settings
        self.editors = {}
        self.labels = {}
        self.sections = {}      # group -> its title button (only when there are several groups)
        self.hidden = set()     # settings whose rows the owner hides (`set_row_visible`)
        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setVerticalSpacing(3)
        self.layout_.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        groups = settings.groups()
        for group, params in groups:
            if len(groups) > 1:
                self.sections[group] = self._section_button(group, group not in folded)
                self.layout_.addRow(self.sections[group])
            for param in params:
                editor = editor_for(param)
                label = QLabel(param.label)
                label.setToolTip(editor.toolTip())
                self.layout_.addRow(label, editor)
                editor.edited.connect(lambda value, name=param.name: self._edited(name))
                self.editors[param.name] = editor
                self.labels[param.name] = label
        for group in self.sections:
            self._show_rows(group)
        self.follow_dependencies()

    def _section_button(self, title, open_):
        button = QToolButton()
        button.setText(title)
        button.setObjectName("section")
        button.setCheckable(True)
        button.setChecked(open_)
        button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        button.setAutoRaise(True)
        font = button.font()
        font.setBold(True)
        button.setFont(font)
        button.toggled.connect(lambda on, group=title: self._show_rows(group))
        return button

    def _show_rows(self, group):
        button = self.sections[group]
        button.setArrowType(Qt.DownArrow if button.isChecked() else Qt.RightArrow)
        for param in self.settings:
            if param.group == group:
                self.layout_.setRowVisible(self.editors[param.name], button.isChecked()
                                           and param.name not in self.hidden)

    def insert_row(self, position, label, widget):
        """A row of the owner's own (not a setting) at `position`, aligned with the settings."""
        self.layout_.insertRow(position, label, widget)

    def set_folded(self, group, folded):
        self.sections[group].setChecked(not folded)

    def _edited(self, name):
        self.follow_dependencies()
        self.changed.emit(name)

    def values(self):
        """Every setting's value as the editors show it (not yet checked)."""
        return {name: editor.value() for name, editor in self.editors.items()}

    def set_values(self, values):
        """Show these values (names not in the form are ignored); a value an editor cannot show
        (from an older version) is skipped."""
        for name, value in values.items():
            editor = self.editors.get(name)
            if editor is None:
                continue
            try:
                editor.set_value(self.settings[name].coerce(value))
            except (DesignError, TypeError, ValueError, OverflowError):
                continue   # a stale saved value: the editor keeps its own
        self.follow_dependencies()

    def follow_dependencies(self):
        """Enable each editor whose conditions hold for the values shown (conditions on
        settings outside this form are not this form's to judge)."""
        values = self.values()
        for param in self.settings:
            on = all(values[name] in allowed for name, allowed in param.applies
                     if name in values)
            self.editors[param.name].setEnabled(on)
            self.labels[param.name].setEnabled(on)

    def set_row_visible(self, name, visible):
        """Show or hide one setting's row (a panel shows the settings of the chosen technique);
        a folded section keeps its rows hidden until it is opened, and a section whose rows
        are all hidden hides its title too."""
        (self.hidden.discard if visible else self.hidden.add)(name)
        group = self.settings[name].group
        if group not in self.sections:
            self.layout_.setRowVisible(self.editors[name], visible)
            return
        self.layout_.setRowVisible(self.editors[name], visible and self.sections[group].isChecked())
        self.layout_.setRowVisible(self.sections[group], any(
            p.name not in self.hidden for p in self.settings if p.group == group))
