"""The core install pulls no integration or peer library; the extras name them."""

import re
import tomllib
from pathlib import Path

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())


def _names(requirements):
    return {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_core_install_does_not_pull_ray_optuna_or_torch():
    core = _names(PYPROJECT["project"]["dependencies"])
    assert {"numpy", "jax", "jaxlib", "optax", "flax"} <= core
    assert not core & {"ray", "optuna", "torch", "botorch", "gpytorch"}


def test_the_extras_name_the_integrations():
    extras = {k: _names(v) for k, v in PYPROJECT["project"]["optional-dependencies"].items()}
    assert "ray" in extras["ray"] and "optuna" in extras["optuna"]
    assert {"ray", "optuna"} <= extras["test"]  # the integrations' tests run in CI
    assert "torch" not in set().union(*extras.values())  # torch is installed by hand, CPU wheel
