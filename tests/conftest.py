import os
import tempfile

import pytest

# No display in CI: Qt renders offscreen. Set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Settings, recovery files and training runs of the tests stay out of the person's own folder.
os.environ.setdefault("CNN_DESIGNER_HOME", tempfile.mkdtemp(prefix="cnn-designer-tests-"))


@pytest.fixture
def tiny_net():
    """A fresh copy of the smallest network that trains on the bundled digits."""
    from .helpers import tiny_digits_net
    return tiny_digits_net()
