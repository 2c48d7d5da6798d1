"""The paper's control tables, on hand-made rows whose answers are known."""

import numpy as np
import pytest

from paper import controls


def _continuation_row(seed, whole, child, prefix=True):
    return {"function": "f", "seed": seed, "prefix_identical": prefix, "parent_regret": [5.0, 3.0],
            "uninterrupted_regret": [5.0, 3.0, whole], "child_regret": [child]}


def test_continuation_pairs_seeds_and_counts_wins():
    rows = [_continuation_row(0, 1.0, 2.0), _continuation_row(1, 1.0, 0.5), _continuation_row(2, 4.0, 4.0, prefix=False)]
    table, values = controls.continuation(rows)
    line = next(row for row in table.splitlines() if row.startswith("| f |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1] == "3"
    assert cells[2].startswith("1 ")  # median uninterrupted regret 1.0
    assert cells[3].startswith("2 ")  # median child regret 2.0
    assert cells[4] == "1.00"  # ratios 2, 0.5, 1: median 1
    assert cells[5] == "1 / 1"
    assert cells[7] == "2 of 3"
    assert values["continuation_worst_ratio"] == "1.00"


def test_continuation_counts_the_parents_trials_as_the_childs():
    # The child never beats 3.0 itself, but the parent reached it: the pair's regret is 3.0.
    table, _ = controls.continuation([_continuation_row(0, 3.0, 9.0)])
    assert "| 1.00 | 0 / 0 |" in table


def _ic_rows(seed, cold, identical, transfer, cold_b, cold20, cold30):
    jobs = {"cold": ("A", cold), "identical": ("A", identical), "transfer": ("B", transfer), "cold-20": ("A", cold20),
            "cold-30": ("A", cold30), "cold-b": ("B", cold_b)}
    return [{"seed": seed, "job": j, "task": t, "values": v} for j, (t, v) in jobs.items()]


def test_image_classifier_compares_each_warm_start_with_its_matched_cold_job():
    rows = []
    for s in range(5):
        rows += _ic_rows(s, cold=[0.5, 0.6], identical=[0.7, None], transfer=[0.8, 0.2], cold_b=[0.3, 0.4],
                         cold20=[0.1, 0.65, 0.2, 0.3], cold30=[0.1] * 6)
    table, values = controls.image_classifier(rows)
    assert values == {"image_seeds": "5", "image_trials": "2"}
    first = next(line for line in table.splitlines() if line.startswith("| cold 2 + identical 2 vs cold-20"))
    assert "0.7000" in first and "0.6500" in first and "5 / 0 / 0" in first
    assert "| identical | A | 2 | 0.7000" in table  # a failed trial (None) is skipped
    transfer = next(line for line in table.splitlines() if line.startswith("| transfer vs cold-b, 2 trials"))
    assert "0.8000" in transfer and "0.4000" in transfer and "5 / 0 / 0" in transfer
    assert float(transfer.rsplit("|", 2)[-2]) == pytest.approx(0.0625)  # five wins of five: the smallest two-sided p


def test_paired_p_of_identical_samples_is_one():
    assert controls.paired_p(np.ones(4), np.ones(4)) == 1.0
