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
    assert {"numpy", "jax", "jaxlib", "optax"} <= core
    assert not core & {"ray", "optuna", "torch", "botorch", "gpytorch"}


def test_the_harness_extra_holds_flax_and_the_default_data():
    """The GP (Optimizer, tuner) installs without Flax; the harness extra brings Flax and
    scikit-learn (the harness's default data set, digits), and the test extra both."""
    extras = _by_extra()
    assert not extras[""] & {"flax", "scikit-learn"}
    assert extras["harness"] == {"flax", "scikit-learn"}
    assert extras["harness"] <= extras["test"]


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


def _run(code: str) -> str:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300).stdout.strip()


def test_the_core_imports_no_flax_and_the_cli_no_jax():
    """The GP and the tuner work without the harness extra; listing jobs loads no JAX."""
    core = "import sys, warmstart_bo; warmstart_bo.Optimizer, warmstart_bo.HyperparameterTuner, warmstart_bo.gp; import warmstart_bo.executors, warmstart_bo.cli, warmstart_bo.demo, warmstart_bo.testfunctions"
    assert _run(core + "; print('jax' in sys.modules, sorted({'flax', 'sklearn'} & set(sys.modules)))") == "True []"
    assert _run("import sys, warmstart_bo.cli; print(sorted({'jax', 'numpy', 'flax'} & set(sys.modules)))") == "[]"


def test_without_flax_the_harness_and_the_population_executor_name_the_extra():
    blocked = "import sys; sys.modules['flax'] = None\n"  # as if Flax were not installed
    harness = "try:\n    import warmstart_bo.harness\nexcept ModuleNotFoundError as e:\n    print(e.name, e)\n"
    out = _run(blocked + harness)
    assert out.startswith("flax the image-classifier harness needs Flax") and 'pip install "warmstart-bo[harness]"' in out
    population = (
        "import warmstart_bo as wb\n"
        "try:\n    wb.HyperparameterTuner(lambda hp: 0.0, 'loss', {'x': wb.ContinuousParameter(0, 1)}, executor='population')\n"
        "except ValueError as e:\n    print(e)\n"
    )
    out = _run(blocked + population)
    assert "executor='population' needs an estimator with fit_population()" in out and 'pip install "warmstart-bo[harness]"' in out


def test_every_public_name_resolves_on_first_use():
    """The package imports its names lazily; each name of __all__ must still be there."""
    out = _run("import warmstart_bo as w; print(sorted(n for n in w.__all__ if getattr(w, n, None) is None))")
    assert out == "[]"
    import warmstart_bo

    assert set(warmstart_bo.__all__) == {*warmstart_bo._EXPORTS, *warmstart_bo._SUBMODULES, "__version__"}
