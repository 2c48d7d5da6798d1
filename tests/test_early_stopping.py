import numpy as np

from warmstart_bo.early_stopping import running_average_at, should_stop


def test_running_average_only_for_curves_that_reached_the_step():
    curve = [(1, 1.0), (2, 3.0), (3, 5.0)]
    assert running_average_at(curve, 2) == 2.0
    assert running_average_at(curve, 3) == 3.0
    assert running_average_at(curve, 4) is None
    assert running_average_at([], 1) is None


def test_median_rule_against_a_direct_computation():
    rng = np.random.default_rng(0)
    finished = [[(s, float(v)) for s, v in enumerate(np.cumsum(rng.normal(size=8)), start=1)] for _ in range(5)]
    for trial in range(20):
        values = np.cumsum(rng.normal(size=rng.integers(2, 9)))
        curve = [(s, float(v)) for s, v in enumerate(values, start=1)]
        step = curve[-1][0]
        medians = np.median([np.mean([v for s, v in c if s <= step]) for c in finished])
        assert should_stop(curve, finished) == (max(v for _, v in curve) < medians)


def test_rule_waits_for_enough_trials_and_for_warmup():
    good = [[(1, 1.0), (2, 1.0)]] * 3
    assert should_stop([(1, 0.0), (2, 0.0)], good)
    assert not should_stop([(1, 0.0)], good)  # first report: warm-up
    assert not should_stop([(1, 0.0), (2, 0.0)], good[:2])  # two earlier trials are not enough
    short = [[(1, 1.0)]] * 3
    assert not should_stop([(1, 0.0), (2, 0.0)], short)  # none reached step 2
    assert not should_stop([(1, 2.0), (2, 0.0)], good)  # its best so far beats the median
