import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _peak_cache(tmp_path_factory):
    """The measured device peaks go to a temporary cache, not the user's home."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old
