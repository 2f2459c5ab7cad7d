import gc
import os
import tempfile

import pytest

# No display in CI: Qt renders offscreen. Set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Settings, recovery files and training runs of the tests stay out of the person's own folder.
os.environ.setdefault("CNN_DESIGNER_HOME", tempfile.mkdtemp(prefix="cnn-designer-tests-"))


def pytest_configure(config):
    # `make test` runs two pytest-xdist workers, one per core of the CI machine: a worker's
    # torch takes one thread, as two threads per worker would fight over the two cores.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch
        torch.set_num_threads(1)


@pytest.fixture
def tiny_net():
    """A fresh copy of the smallest network that trains on the bundled digits."""
    from .helpers import tiny_digits_net
    return tiny_digits_net()


@pytest.fixture(scope="session")
def lenet_run(tmp_path_factory):
    """(run folder, the engine's epoch events) of LeNet-5 trained 3 epochs on digits, shared by
    the Insight engine's tests and the Insight panel's."""
    from designer.core.presets import load_design
    from designer.train.config import TrainConfig
    from designer.train.loop import train
    from .helpers import single_thread
    run_dir = tmp_path_factory.mktemp("lenet5_digits")
    config = TrainConfig(epochs=3, batch_size=64, lr=0.05, seed=0, out=str(run_dir))
    with single_thread():     # 3 s, not 60, on a busy machine
        epochs, finished = train(load_design("lenet5"), config)
    assert finished.status == "completed"
    return run_dir, epochs


@pytest.fixture(autouse=True)
def _qt_garbage_in_the_main_thread(request):
    """Qt objects must be destroyed in the GUI thread, but Python's cyclic collector runs in
    whichever thread allocates: a worker thread once collected a closed window's QMenu and
    deadlocked on the GIL. In tests that use Qt, collect only here, in the main thread (the app
    collects from a GUI-thread timer for the same reason)."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()
