"""The core install pulls no integration or peer library; the extras name them."""

import importlib.metadata
import re
from collections import defaultdict

REQUIRES = importlib.metadata.requires("warmstart-bo") or []


def _by_extra():
    """Installed metadata: requirement names per extra ("" for the core install)."""
    out = defaultdict(set)
    for r in REQUIRES:
        name = re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower()
        extra = re.search(r"extra\s*==\s*['\"]([\w-]+)['\"]", r)
        out[extra.group(1) if extra else ""].add(name)
    return out


def test_the_core_install_does_not_pull_ray_optuna_or_torch():
    core = _by_extra()[""]
    assert {"numpy", "jax", "jaxlib", "optax", "flax"} <= core
    assert not core & {"ray", "optuna", "torch", "botorch", "gpytorch"}


def test_the_extras_name_the_integrations():
    extras = _by_extra()
    assert "ray" in extras["ray"] and "optuna" in extras["optuna"]
    assert {"ray", "optuna"} <= extras["test"]  # the integrations' tests run in CI
    assert "torch" not in set().union(*extras.values())  # torch is installed by hand, CPU wheel


def test_importing_the_library_imports_no_integration():
    """The integrations import their libraries only when used, so a core install works."""
    import subprocess
    import sys

    code = "import sys, warmstart_bo, warmstart_bo.harness, warmstart_bo.executors; print(sorted({'ray', 'optuna', 'torch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == "[]"
