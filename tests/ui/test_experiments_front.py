"""The Experiments panel's structure-search view: any two objectives on the axes, the Pareto
front of the trials within the bounds, the bounded region shaded, the front marked in the table,
and opening a point opens its design with its trial's weights."""

import torch

from designer.compress.measure import load_model
from designer.core import fileformat
from designer.core.presets import load_design


def _records(tmp_path):
    """Five trials as a search lists them; each complete one has a run folder with weights."""
    rows = [(0.10, 2.0, 900), (0.20, 1.0, 800), (0.05, 4.0, 5000), (0.30, 3.0, 700),
            (None, None, 0)]
    graph = load_design("reactor_digits")
    records = []
    for number, (error, latency, params) in enumerate(rows):
        run = tmp_path / f"trial_{number:04d}"
        run.mkdir()
        fileformat.save(graph, run / "design.json")
        torch.manual_seed(number)
        if error is not None:
            torch.save(load_model(graph).state_dict(), run / "best.pt")
        records.append({"number": number, "state": "complete" if error is not None else "failed",
                        "settings": {"conv1.out_channels": 2 * number + 2},
                        "total_params": params or None, "total_macs": params * 5 or None,
                        "latency_ms": latency, "val_top1_error": error, "weight_bytes": None,
                        "run_dir": str(run), "design": str(run / "design.json"),
                        "message": None if error is not None else "kernel 9×9 is larger"})
    records[1].update(parent=0, warm_start="from trial 0: widened conv1 2→4")   # --warm-start
    records[4].update(state="pruned", over_budget=True, total_params=9000,
                      message="params 9,000 is over params<=1000; not trained")
    return records


def test_front_of_two_chosen_objectives_within_the_bounds(window, tmp_path):
    assert window.open_design("reactor_digits")
    panel = window.panels["experiments"]
    for record in _records(tmp_path):
        panel.add_trial(record)
    panel.y_box.setCurrentIndex(panel.y_box.findData("error"))
    panel.cost_box.setCurrentIndex(panel.cost_box.findData("latency"))
    xs = sorted(p.pos().x() for p in panel.scatter.points())
    assert xs == [1.0, 2.0, 3.0, 4.0]                 # the failed trial is not a point
    assert sorted(panel.front_numbers) == [0, 1, 2]    # 3 is beaten by 1 on both
    assert not panel.bounds["x"].isVisible()
    # a parameter bound takes trial 2 off the front; a latency bound shades the X axis
    panel.editors["constraint"].set_value(["params<=1000", "latency<=3.5ms"])
    panel.redraw()
    assert sorted(panel.front_numbers) == [0, 1]
    assert panel.bounds["x"].isVisible() and panel.bounds["x"].getRegion() == (1.0, 3.5)
    assert not panel.bounds["y"].isVisible()
    # the table marks the front
    marks = {int(panel.table.item(r, 0).text()): panel.table.item(r, 7).text()
             for r in range(panel.table.rowCount())}
    assert marks == {0: "●", 1: "●", 2: "", 3: "", 4: ""}
    # and names the trial a warm-started one grew from, what was grown in its tooltip
    starts = {int(panel.table.item(r, 0).text()): panel.table.item(r, 8)
              for r in range(panel.table.rowCount())}
    assert starts[1].text() == "from trial 0" and "widened conv1 2→4" in starts[1].toolTip()
    assert starts[0].text() == "" and starts[0].toolTip() == ""
    # a trial over a cost bound was never trained: not "pruned" (which stops a trailing run)
    states = {int(panel.table.item(r, 0).text()): panel.table.item(r, 1).text()
              for r in range(panel.table.rowCount())}
    assert states == {0: "complete", 1: "complete", 2: "complete", 3: "complete",
                      4: "over bound"}
    # any two objectives: parameters against latency
    panel.y_box.setCurrentIndex(panel.y_box.findData("params"))
    assert sorted(p.pos().y() for p in panel.scatter.points()) == [700, 800, 900, 5000]
    # opening a point opens its design with that trial's weights
    point = next(p for p in panel.scatter.points() if p.data() == 1)
    panel.scatter.sigClicked.emit(panel.scatter, [point], None)
    assert window.document.path == tmp_path / "trial_0001" / "design.json"
    assert window.document.current_weights == tmp_path / "trial_0001" / "best.pt"
    # double-clicking a row does the same
    row = next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 0).text() == "0")
    panel.table.cellDoubleClicked.emit(row, 0)
    assert window.document.current_weights == tmp_path / "trial_0000" / "best.pt"


def test_a_bad_bound_is_a_sentence_before_any_sweep(window):
    assert window.open_design("reactor_digits")
    panel = window.panels["experiments"]
    panel.editors["constraint"].set_value(["latency<=5kg"])
    panel.editors["out"].set_value("")
    assert panel.start() is False and "a latency is in ms" in panel.status.text()
