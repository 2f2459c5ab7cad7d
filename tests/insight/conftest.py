"""One LeNet-5 trained on the bundled digits by the training engine, shared by the Insight tests."""

import pytest
import torch

from designer.core.presets import load_design
from designer.train.config import TrainConfig
from designer.train.loop import train


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: one thread is faster than two, and on a busy machine far faster
    (a training epoch of the localisation test: 0.6 s against 26 s with two threads spinning)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
