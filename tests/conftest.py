import jax
import pytest


@pytest.fixture
def x64():
    """float64 for one test, the way the library enables it: a context, not a global flip."""
    with jax.enable_x64(True):
        yield
