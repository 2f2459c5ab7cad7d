"""The Insight engine's tests share one LeNet-5 trained on the bundled digits (`lenet_run`, in
tests/conftest.py, shared with the Insight panel's tests)."""

import pytest

from designer.core.presets import load_design

from ..helpers import single_thread


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: one thread is faster than two, and on a busy machine far faster
    (a training epoch of the localisation test: 0.6 s against 26 s with two threads spinning)."""
    with single_thread():
        yield


@pytest.fixture(scope="session")
def lenet(lenet_run):
    from designer.insight.subject import load_subject
    return load_subject(load_design("lenet5"), lenet_run[0] / "last.pt")
