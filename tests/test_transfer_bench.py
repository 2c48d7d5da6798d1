"""The transfer benchmark's runner on one tiny unit: the parents' record and each method's run."""

import numpy as np

from benchmarks.transfer_runs import bo_run
from experiments import transfer_bench as TB

CONFIG = {"name": "tiny", "suite": "synthetic", "families": ["hartmann3"], "similarities": [0.9], "adversaries": [],
          "adversary_similarity": 0.75, "seeds": [0], "budget": 6, "parent_trials": 4, "n_parents": 2, "top_k": 2}


def test_cold_reseeded_is_cold_start_on_another_seed():
    """The control differs from cold start by its seed only: cold start's run is the one
    ``bo_run`` gives for the unit's seed, the control's the one for ``RESEED + seed``."""
    rows = TB.run_seed("hartmann3/sim0.9", 0, CONFIG, ["cold", "cold-reseeded"])
    assert rows[0]["parents"]["trials"] == [4, 4]
    cold, control = rows[1], rows[2]
    assert cold["method"] == "cold" and control["method"] == "cold-reseeded" and control["parent_trials"] == 0
    problem = TB.make_problem("hartmann3/sim0.9", 0, CONFIG)
    np.testing.assert_array_equal(cold["values"], bo_run(problem.space, problem.target, 6, 0)["values"])
    np.testing.assert_array_equal(control["values"], bo_run(problem.space, problem.target, 6, TB.RESEED)["values"])
    assert not np.array_equal(cold["values"], control["values"])
