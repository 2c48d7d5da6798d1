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


def test_the_rule_over_unsorted_and_sparse_curves_matches_running_averages():
    rng = np.random.default_rng(1)
    finished = [[(float(s), float(v)) for s, v in zip(rng.permutation(rng.integers(1, 12)) + 1, rng.normal(size=12))] for _ in range(6)]
    for step in np.arange(0.5, 14, 0.5):
        curve = [(1.0, 0.0), (float(step), float(rng.normal()))]
        averages = [a for a in (running_average_at(c, step) for c in finished) if a is not None]
        expected = len(averages) >= 3 and max(v for _, v in curve) < np.median(averages)
        assert should_stop(curve, finished) == expected


def test_a_trial_reporting_every_step_pays_no_quadratic_price():
    """Each report rescanned every finished curve and the trial's own: 3,000 reports against
    five finished curves of 3,000 steps took seconds of the trial's time (minutes at 10,000)."""
    import time

    from warmstart_bo.estimators import Reporter

    steps = 3000
    finished = [[(s, 1.0 - k / 10 + 1.0 / s) for s in range(1, steps + 1)] for k in range(5)]
    report = Reporter("acc", sign=1.0, finished_curves=finished, early_stopping=True)
    start = time.perf_counter()
    for s in range(1, steps + 1):
        report(s, 2.0)  # always the best: never stopped
    assert time.perf_counter() - start < 0.5
    assert report.early_stopped_at is None and len(report.curve) == steps
