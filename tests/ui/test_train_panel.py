"""The Train panel standalone: start a run from the panel, see the plots receive points, pause,
resume and stop with the thread finished; failures show as a sentence and leave the panel usable;
two runs compare on the same plots."""

from pathlib import Path
import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QSpinBox

from designer.core.presets import load_design
from designer.train.events import Message, Paused, Resumed
from designer.ui.document import Document
from designer.ui.panel_registry import PanelContext
from designer.ui.train_panel import TrainPanel

from ..helpers import tiny_digits_net


def is_a(kind):
    """A check for `qtbot.waitSignal(job.yielded, check_params_cb=...)`: an event of `kind`."""
    return lambda event: isinstance(event, kind)


def run_to_end(panel, qtbot, timeout):
    """Wait until the run started last has ended and the panel is ready for the next."""
    qtbot.waitUntil(lambda: panel.start_button.isEnabled() and not panel.is_running, timeout=timeout)


@pytest.fixture
def panel(qtbot, tmp_path, tiny_net):
    context = PanelContext()
    context.set_document(Document(tiny_net))
    widget = TrainPanel(context, runs_dir=tmp_path / "runs")
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    yield widget
    widget.shutdown()


def test_start_plot_pause_resume_stop(panel, qtbot):
    panel.editors["epochs"].box.setValue(200)     # long enough that Stop, not the end, finishes it
    panel.editors["batch_size"].box.setValue(16)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    job = panel.job
    assert job.isRunning() and not panel.start_button.isEnabled()
    assert not panel.editors["epochs"].isEnabled()      # settings are locked while training
    run = panel.current
    batch_sizes = []
    job.yielded.connect(lambda event: isinstance(event, list) and batch_sizes.append(len(event)))

    qtbot.waitUntil(lambda: run.points("loss_step") > 20, timeout=30_000)
    qtbot.waitUntil(lambda: run.items["loss_step"].xData is not None
                    and len(run.items["loss_step"].xData) > 0, timeout=5_000)
    qtbot.waitUntil(lambda: run.points("val_top1") >= 1, timeout=30_000)
    panel.refresh_plots()
    assert len(run.items["val_top1"].yData) >= 1 and len(run.items["lr"].yData) > 0
    assert run.items["loss_step"].opts["clipToView"] and run.items["loss_step"].opts["autoDownsample"]
    assert panel.progress.value() > 0 and "ETA" in panel.progress.format()
    assert batch_sizes and max(batch_sizes) > 1      # steps arrive throttled, in batches

    with qtbot.waitSignal(job.yielded, check_params_cb=is_a(Paused), timeout=10_000):
        qtbot.mouseClick(panel.pause_button, Qt.LeftButton)
    assert panel.resume_button.isEnabled() and not panel.pause_button.isEnabled()
    frozen = run.points("loss_step")
    qtbot.wait(300)
    assert run.points("loss_step") == frozen          # nothing trains while paused
    with qtbot.waitSignal(job.yielded, check_params_cb=is_a(Resumed), timeout=10_000):
        qtbot.mouseClick(panel.resume_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: run.points("loss_step") > frozen, timeout=10_000)

    with qtbot.waitSignal(job.returned, timeout=20_000) as blocker:
        qtbot.mouseClick(panel.stop_button, Qt.LeftButton)
    assert blocker.args[0].status == "stopped"
    assert job.wait(10_000) and job.isFinished()
    assert panel.start_button.isEnabled() and panel.editors["epochs"].isEnabled()
    assert "stopped" in panel.runs_list.item(0).text()


def test_design_errors_show_and_panel_stays_usable(panel, qtbot):
    broken = tiny_digits_net()
    broken.set_params("conv", kernel=11, padding="valid")
    panel.context.set_document(Document(broken))
    panel.start()
    run_to_end(panel, qtbot, 20_000)
    assert panel.job.wait(5_000)
    assert "cannot train" in panel.status_label.text() and "conv" in panel.status_label.text()
    assert panel.start_button.isEnabled()


def test_training_starts_from_chosen_weights_and_reports_them(panel, qtbot, tmp_path):
    import torch
    from designer.core.compile import compile_graph
    weights = tmp_path / "start.pth"
    state = compile_graph(tiny_digits_net()).state_dict()
    torch.save(state, weights)
    panel.editors["weights"].line.setText(str(weights))
    panel.editors["epochs"].box.setValue(1)
    messages = []
    panel.start()
    panel.job.yielded.connect(lambda event: isinstance(event, Message) and messages.append(event.text))
    with qtbot.waitSignal(panel.job.returned, timeout=60_000) as blocker:
        pass
    assert blocker.args[0].status == "completed"
    assert any("weights from" in m and f"loaded {len(state)} of {len(state)} tensors" in m for m in messages), messages

    panel.editors["weights"].line.setText(str(tmp_path / "missing.pth"))
    panel.start()
    run_to_end(panel, qtbot, 20_000)
    assert "missing.pth" in panel.status_label.text()
    assert panel.start_button.isEnabled()


def test_two_runs_compare_on_one_plot(panel, qtbot):
    panel.context.set_document(Document(load_design("reactor_digits")))
    panel.editors["epochs"].box.setValue(1)
    for _ in range(2):
        panel.start()
        run_to_end(panel, qtbot, 60_000)
    first, second = panel.runs
    assert first.status == second.status == "completed"
    assert first.points("val_top1") == second.points("val_top1") == 1
    # The second run shows alone; ticking the first puts both on the same plots.
    assert not first.items["val_loss"].isVisible() and second.items["val_loss"].isVisible()
    panel.runs_list.item(0).setCheckState(Qt.Checked)
    assert first.items["val_loss"].isVisible()
    assert first.items["val_loss"].getViewBox() is second.items["val_loss"].getViewBox()
    # The design is copied at Start: the panel never edits the editor's graph.
    assert panel.context.graph.nodes["fc2"].params["out_features"] == 10


def test_earlier_runs_are_listed_with_curves_widen_the_axes_and_resume(panel, qtbot, tmp_path):
    panel.editors["epochs"].box.setValue(3)
    panel.editors["batch_size"].box.setValue(64)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    job = panel.job
    qtbot.waitUntil(lambda: panel.current.points("val_top1") >= 1, timeout=60_000)
    with qtbot.waitSignal(job.returned, timeout=30_000):
        qtbot.mouseClick(panel.stop_button, Qt.LeftButton)   # stopped after its first epoch
    job.wait(10_000)

    # A new session (a new panel on the same runs folder): the run is listed, unticked.
    later = TrainPanel(panel.context, runs_dir=tmp_path / "runs")
    qtbot.addWidget(later)
    later.resize(1000, 700)
    later.show()
    assert len(later.runs) == 1
    run = later.runs[0]
    item = later.runs_list.item(0)
    assert item.checkState() == Qt.Unchecked and "can resume" in item.text()
    assert run.points("val_top1") >= 1 and run.points("loss_step") == 0   # steps read on demand
    loss = later.plots["loss"]
    item.setCheckState(Qt.Checked)                      # ticking it widens the axes to show it
    assert run.points("loss_step") > 0
    later.refresh_plots()
    xs, ys = run.data["loss_step"]

    def covered():
        (x0, x1), (y0, y1) = loss.getViewBox().viewRange()
        return x1 >= max(xs) and y0 <= min(ys) and y1 >= max(ys)
    qtbot.waitUntil(covered, timeout=5_000)

    # Resume it from the panel: it continues to its 3 epochs in the same folder.
    later.runs_list.setCurrentRow(0)
    assert later.resume_run_button.isEnabled()
    qtbot.mouseClick(later.resume_run_button, Qt.LeftButton)
    with qtbot.waitSignal(later.job.returned, timeout=120_000) as blocker:
        pass
    assert blocker.args[0].status == "completed"
    assert run.points("val_top1") == 3 and later.runs_list.count() == 1
    later.shutdown()


def test_form_is_generated_from_the_config_fields(panel):
    from designer.train.config import DATASETS, TrainConfig
    assert panel.config() == TrainConfig()                           # every default round-trips
    box = panel.editors["dataset"].box
    assert [box.itemText(i) for i in range(box.count())] == list(DATASETS.values())
    assert not panel.editors["data_dir"].isEnabled()                 # digits needs no folder
    box.setCurrentIndex(box.findData("cifar10"))
    flip = panel.editors["flip"].box
    flip.setCurrentIndex(flip.findData(False))
    panel.editors["grad_clip"].box.setValue(1.5)
    config = panel.config()
    assert (config.dataset, config.flip, config.grad_clip) == ("cifar10", False, 1.5)
    assert panel.editors["data_dir"].isEnabled()
    assert panel.editors["grad_clip"].box.specialValueText() == "off"


def test_train_help_and_the_form_list_exactly_the_same_settings(panel):
    """Every flag `designer train --help` prints is a row of the form with the same help, and
    every row is a flag; only the run's own arguments (the design, --input, --resume, --json)
    are CLI-only."""
    from designer.cli import build_parser
    from designer.train.cli import RUN_ARGUMENTS
    from designer.train.config import TRAIN_SETTINGS
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    text = train.format_help()
    text = text[text.index("options:"):]          # the flags, not the description's words
    printed = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text)) - {"--help"}
    flags = {}
    for action in train._actions:
        for option in action.option_strings:
            flags[option] = action
    rows = {}
    for name, editor in panel.editors.items():
        setting = TRAIN_SETTINGS[name]
        rows[setting.cli_flag] = name
        assert panel.form.labels[name].text() == setting.label
        assert editor.toolTip().startswith(setting.help)
        assert flags[setting.cli_flag].help.startswith(setting.help)     # the same words
    negated = {f"--no-{flag[2:]}" for flag, name in rows.items()
               if TRAIN_SETTINGS[name].kind == "bool"}
    assert printed - set(RUN_ARGUMENTS) == set(rows) | negated
    assert set(panel.editors) == set(TRAIN_SETTINGS.by_name)
    assert "accumulate_steps" in panel.editors and "--accumulate-steps" in printed


def trained_run(folder, epochs, stop_after=None, name=None, graph=None):
    """A run written by the engine into `folder` (as the CLI or an earlier session would):
    `epochs` planned, stopped after epoch `stop_after` when given."""
    from designer.train.config import TrainConfig
    from designer.train.loop import TrainControl, Trainer
    control = TrainControl()
    trainer = Trainer(graph or tiny_digits_net(), TrainConfig(epochs=epochs, out=str(folder)),
                      control=control, name=name)
    for event in trainer.run():
        if event.kind == "epoch" and event.epoch == stop_after:
            control.stop()
    return folder


def click_row(panel, row, key=None):
    """Select a run in the runs list with the mouse (and press `key` on it: Space ticks it)."""
    view = panel.runs_list
    centre = view.visualItemRect(view.item(row)).center()
    QTest.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, centre)
    if key is not None:
        QTest.keyClick(view, key)


def folder_files(folder):
    return {p.name: p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def open_panel(qtbot, context, runs_dir):
    widget = TrainPanel(context, runs_dir=runs_dir)
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    return widget


def test_resume_refuses_a_run_of_another_design_and_changes_nothing(qtbot, tmp_path):
    runs = tmp_path / "runs"
    folder = trained_run(runs / "tiny_run", epochs=3, stop_after=1, name="tiny run")
    wider = tiny_digits_net()
    wider.set_params("conv", out_channels=8)
    wider.set_metadata(name="wider")
    context = PanelContext()
    context.set_document(Document(wider))
    panel = open_panel(qtbot, context, runs)
    (run,) = panel.runs
    entry = panel.runs_list.item(0)
    text, curves, files = entry.text(), {k: (list(x), list(y)) for k, (x, y) in run.data.items()}, \
        folder_files(folder)
    assert text == "tiny run — stopped, 1 of 3 epochs, can resume"

    click_row(panel, 0)
    assert panel.resume_run_button.isEnabled()
    qtbot.mouseClick(panel.resume_run_button, Qt.LeftButton)
    assert panel.job is None                           # refused before anything started
    said = panel.status_label.text()
    assert "'tiny run' trained the design 'tiny', not 'wider'" in said and "Nothing was changed" in said
    assert entry.text() == text and run.status == "stopped"
    assert {k: (list(x), list(y)) for k, (x, y) in run.data.items()} == curves
    assert folder_files(folder) == files

    # A run without design.json (older ones) is refused by the engine: the panel still keeps it.
    (folder / "design.json").unlink()
    files = folder_files(folder)
    qtbot.mouseClick(panel.resume_run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30_000)
    assert "trained the design 'tiny', not 'wider'" in panel.status_label.text()
    assert entry.text() == text and run.status == "stopped"
    assert {k: (list(x), list(y)) for k, (x, y) in run.data.items()} == curves
    assert folder_files(folder) == files
    panel.shutdown()


def test_continue_extends_a_finished_run_and_its_name_stays_after_a_restart(panel, qtbot,
                                                                           tmp_path):
    panel.editors["epochs"].box.setValue(1)
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    run_to_end(panel, qtbot, 60_000)
    (run,) = panel.runs
    assert run.status == "completed" and panel.runs_list.item(0).text() == f"{run.name} — 1 epoch"
    click_row(panel, 0)
    assert not panel.resume_run_button.isEnabled()     # nothing left to resume ...
    assert panel.continue_run_button.isEnabled()       # ... but it can be extended
    qtbot.mouseClick(panel.continue_run_button, Qt.LeftButton)
    dialog = panel.continue_dialog
    assert dialog.isVisible() and "1 epoch so far" in dialog.labelText()
    spin = dialog.findChild(QSpinBox)
    spin.selectAll()
    QTest.keyClicks(spin, "3")
    QTest.keyClick(spin, Qt.Key_Return)
    assert not dialog.isVisible() and panel.job is not None
    with qtbot.waitSignal(panel.job.returned, timeout=60_000) as blocker:
        pass
    assert blocker.args[0].status == "completed"
    run_to_end(panel, qtbot, 10_000)
    assert panel.runs == [run] and run.points("val_top1") == 3
    assert [int(x) for x in run.data["val_top1"][0]] == [1, 2, 3]
    metrics = (Path(run.run_dir) / "metrics.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in metrics] == ["epoch", "1", "2", "3"]
    text = panel.runs_list.item(0).text()
    assert text == f"{run.name} — 3 epochs"

    later = open_panel(qtbot, panel.context, tmp_path / "runs")   # the app restarted
    assert [later.runs_list.item(i).text() for i in range(later.runs_list.count())] == [text]
    later.shutdown()


def test_a_failed_run_shows_failed_with_its_reason_before_and_after_a_restart(panel, qtbot,
                                                                             tmp_path):
    for name, value in (("lr", 1e6), ("momentum", 0.0), ("weight_decay", 0.0)):
        panel.editors[name].box.setValue(value)       # the loss overflows on the first steps
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    run_to_end(panel, qtbot, 60_000)
    (run,) = panel.runs
    entry = panel.runs_list.item(0)
    assert entry.text() == f"{run.name} — failed" and "the loss became" in entry.toolTip()
    later = open_panel(qtbot, panel.context, tmp_path / "runs")
    again = later.runs_list.item(0)
    assert again.text() == entry.text() and "0 epochs" not in again.text()
    assert "the loss became" in again.toolTip() and run.run_dir in again.toolTip()
    later.shutdown()


def test_a_run_folder_setting_naming_an_existing_run_is_refused(panel, qtbot, tmp_path):
    folder = trained_run(tmp_path / "kept", epochs=1)
    files = folder_files(folder)
    panel.editors["out"].line.setText(str(folder))
    qtbot.mouseClick(panel.start_button, Qt.LeftButton)
    assert panel.job is None and panel.runs == []
    assert f"{folder} already holds a training run" in panel.status_label.text()
    assert folder_files(folder) == files


def test_compared_runs_of_different_lengths_are_all_in_view(qtbot, tmp_path, tiny_net):
    runs = tmp_path / "runs"
    trained_run(runs / "short", epochs=1, name="short")
    trained_run(runs / "long", epochs=3, name="long")
    context = PanelContext()
    context.set_document(Document(tiny_net))
    panel = open_panel(qtbot, context, runs)
    assert [r.name for r in panel.runs] == ["short", "long"]
    qtbot.waitExposed(panel)
    qtbot.wait(300)                          # laid out and drawn, as a person sees it first
    error_view = panel.plots["error"].getViewBox()
    click_row(panel, 0, Qt.Key_Space)        # the 1-epoch run first: the plots fit it
    qtbot.waitUntil(lambda: error_view.viewRange()[0][1] < 2, timeout=5_000)
    qtbot.wait(300)
    click_row(panel, 1, Qt.Key_Space)        # then the 3-epoch run beside it
    assert all(panel.runs_list.item(row).checkState() == Qt.Checked for row in (0, 1))

    def all_in_view():
        for key in ("error", "speed", "loss"):
            (x0, x1), _ = panel.plots[key].getViewBox().viewRange()
            if not (x0 <= 1 and x1 >= 3):
                return False
        return True
    qtbot.waitUntil(all_in_view, timeout=5_000)
    panel.shutdown()


def test_the_threads_row_shows_auto_and_sets_an_exact_count(panel):
    editor = panel.editors["threads"]
    assert editor.box.text() == "auto (1 for a small model on the CPU)"
    assert panel.config().threads is None
    editor.box.setValue(2)
    assert panel.config().threads == 2


def test_ticking_compile_for_a_small_model_on_the_cpu_says_it_seldom_pays(panel, qtbot):
    note = panel.compile_note
    assert not note.isVisible()
    panel.editors["compile"].box.click()               # the tiny digits net: far under 10 M MACs
    assert note.isVisible() and "unlikely to pay" in note.text(), note.text()
    device = panel.editors["device"].box
    device.setCurrentIndex(device.findData("cuda"))
    assert not note.isVisible()                        # on a GPU compiling is worth trying
    device.setCurrentIndex(device.findData("cpu"))
    assert note.isVisible()
    panel.context.set_document(Document(load_design("resnet18")))   # 1.8 G multiply-adds
    assert not note.isVisible()
    panel.context.set_document(Document(load_design("lenet5")))
    assert note.isVisible()
    panel.editors["compile"].box.click()
    assert not note.isVisible()                        # compile is off again
