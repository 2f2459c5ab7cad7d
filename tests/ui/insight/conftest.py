import pytest

from ...helpers import single_thread


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """LeNet-5 on digits is tiny: one torch thread is faster than two, far faster on a busy
    machine."""
    with single_thread():
        yield
