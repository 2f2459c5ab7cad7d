"""The Train panel standalone: start a run from the panel, see the plots receive points, pause,
resume and stop with the thread finished; failures show as a sentence and leave the panel usable;
two runs compare on the same plots."""

import re

import pytest
from PySide6.QtCore import Qt

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
