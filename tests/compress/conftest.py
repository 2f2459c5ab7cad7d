import pytest

from designer.core.presets import load_design
from designer.train.config import TrainConfig
from designer.train.loop import train

from ..helpers import single_thread


@pytest.fixture(autouse=True)
def one_thread():
    with single_thread():
        yield


@pytest.fixture(scope="session")
def trained_lenet5(tmp_path_factory):
    """LeNet-5 trained on the bundled digits for 5 epochs: (graph, best.pt, best val error)."""
    folder = tmp_path_factory.mktemp("lenet5_run")
    config = TrainConfig(epochs=5, batch_size=32, lr=0.05, seed=0, out=str(folder))
    with single_thread():
        epochs, finished = train(load_design("lenet5"), config)
    assert finished.status == "completed"
    return load_design("lenet5"), folder / "best.pt", finished.best_val_top1_error
