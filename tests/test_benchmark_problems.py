"""Benchmark problems and the convergence runner, at toy budgets; the paper's generator."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import problems as P
from experiments import convergence

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", P.SYNTHETIC)
def test_synthetic_problems_know_their_optimum(name):
    problem = P.make(name, seed=0)
    assert problem.objective_type == "Minimize" and len(problem.parents) == 3
    rng = np.random.default_rng(0)
    space = problem.space
    for _ in range(20):
        p = {k: rng.uniform(r.min_value, r.max_value) for k, r in space.items()}
        assert problem.objective(p) >= problem.optimum - 1e-6
    assert P.make(name, seed=0).objective(p) == problem.objective(p)  # seeded draws
    assert P.make(name, seed=1).objective(p) != problem.objective(p)


@pytest.mark.parametrize("model", P.MODELS)
def test_model_tuning_problems_score_by_cross_validation(model):
    problem = P.make(model, seed=0)
    assert problem.objective_type == "Maximize" and problem.optimum is None and problem.parents
    good = {"C": 10.0, "gamma": 0.01, "epsilon": 0.1}
    bad = {"C": 0.01, "gamma": 10.0, "epsilon": 1.0}
    pick = lambda hp: {k: hp[k] for k in problem.space}
    assert problem.objective(pick(good)) > problem.objective(pick(bad))
    assert -1.0 < problem.objective(pick(good)) <= 1.0
    with pytest.raises(ValueError, match="has no known optimum"):
        problem.regret(0.5)
    assert problem.regret(0.5, reference=0.9) == pytest.approx(0.4)


@pytest.mark.slow
def test_every_method_runs_and_records_its_values():
    """The first convergence suite's runner (``experiments/convergence.py``) with every
    method (slow: each method compiles its own programs; the default suite's paper test
    runs three of them through the same runner)."""
    config = {"budget": 3, "parent_trials": 3, "similarity": 0.8}
    methods = ["random", "cold", "identical", "transfer-stacked", "transfer-icm", "transfer-rgpe", "optuna-gp"]
    rows = convergence.run_seed("forrester", 0, config, methods)
    assert [r["method"] for r in rows] == methods
    for r in rows:
        assert len(r["values"]) == 3 and all(np.isfinite(r["values"]))
        assert min(r["values"]) >= r["optimum"] - 1e-9


def test_the_paper_regenerates_from_stored_results(tmp_path):
    """A tiny results file through the same generator the paper uses."""
    results = tmp_path / "results"
    results.mkdir()
    config = {"name": "tiny", "problems": ["forrester"], "seeds": [0, 1], "budget": 3, "parent_trials": 3, "similarity": 0.8, "methods": ["random", "cold", "transfer-best-first"]}
    (tmp_path / "tiny.json").write_text(json.dumps(config))
    subprocess.run([sys.executable, str(ROOT / "experiments" / "convergence.py"), str(tmp_path / "tiny.json"), "--out", str(results / "convergence-tiny.jsonl"), "--no-progress"], check=True, timeout=600)
    lines = (results / "convergence-tiny.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    assert header["versions"]["jax"] and header["machine"]["cores"] and len(lines) == 1 + 2 * 3
    from paper import make_figures

    make_figures.RESULTS = results
    make_figures.main(["--config", "tiny", "--out", str(tmp_path / "paper")])
    paper = (tmp_path / "paper" / "paper.md").read_text()
    assert "{{" not in paper and "forrester" in paper
    seconds = sum(json.loads(line)["seconds"] for line in lines[1:])
    assert f"(first convergence suite {seconds / 3600:.1f} h; {seconds / 3600:.1f} h in all)" in paper
    assert (tmp_path / "paper" / "figures" / "convergence.png").stat().st_size > 10_000


def test_the_stored_paper_regenerates_identically(tmp_path, monkeypatch):
    """paper.md and tables.md are what the generator makes of the stored full results."""
    from paper import make_figures

    monkeypatch.setattr(make_figures, "RESULTS", ROOT / "experiments" / "results")
    make_figures.main(["--config", "full", "--out", str(tmp_path)])
    for name in ("paper.md", "tables.md"):
        assert (tmp_path / name).read_text() == (ROOT / "paper" / name).read_text(), name
