"""One LeNet-5 trained on the bundled digits by the training engine, shared by the Insight tests."""

import pytest

from designer.core.presets import load_design
from designer.train.config import TrainConfig
from designer.train.loop import train


@pytest.fixture(scope="session")
def lenet_run(tmp_path_factory):
    """(run folder, the engine's epoch events) of LeNet-5 trained 3 epochs on digits."""
    run_dir = tmp_path_factory.mktemp("lenet5_digits")
    config = TrainConfig(epochs=3, batch_size=64, lr=0.05, seed=0, out=str(run_dir))
    epochs, finished = train(load_design("lenet5"), config)
    assert finished.status == "completed"
    return run_dir, epochs


@pytest.fixture(scope="session")
def lenet(lenet_run):
    from designer.insight.subject import load_subject
    return load_subject(load_design("lenet5"), lenet_run[0] / "last.pt")
