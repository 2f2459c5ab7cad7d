import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Two threads on a shared two-core machine are many times slower than one for small convs.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
