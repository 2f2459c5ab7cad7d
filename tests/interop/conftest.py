import pytest

from ..helpers import single_thread


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Two threads on a shared two-core machine are many times slower than one for small convs.
    with single_thread():
        yield
