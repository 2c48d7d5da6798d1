import os

import jax
import pytest

# Tests compile from scratch: a persistent cache warm from an earlier run would hide the
# compilations that tests count. tests/test_runtime.py turns it on in subprocesses.
os.environ["WARMSTART_BO_COMPILATION_CACHE"] = "off"


@pytest.fixture
def x64():
    """float64 for one test, the way the library enables it: a context, not a global flip."""
    with jax.enable_x64(True):
        yield
