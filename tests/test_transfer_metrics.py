"""Transfer-benchmark metrics on small hand-made curves."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from benchmarks import transfer_metrics as M

ROOT = Path(__file__).resolve().parents[1]


def test_regret_curve_is_best_so_far_and_floored():
    c = M.regret_curve([5.0, 3.0, 4.0, 1.0], optimum=1.0, floor=1e-3)
    np.testing.assert_allclose(c, [4.0, 2.0, 2.0, 1e-3])


def test_curves_without_optimum_use_the_best_value_of_any_run():
    rows = [
        {"problem": "p", "seed": 0, "method": "cold", "values": [3.0, 2.0], "optimum": None},
        {"problem": "p", "seed": 0, "method": "warm", "values": [1.5, 2.5], "optimum": None},
        {"problem": "p", "seed": 1, "method": "cold", "values": [1.0], "optimum": None},
    ]
    t = M.curves(rows, floor=1e-6)
    np.testing.assert_allclose(t["p"]["cold"][0], [2.0, 1.0])  # from seed 1's 1.0: one data set
    np.testing.assert_allclose(t["p"]["warm"][0], [0.5, 0.5])
    np.testing.assert_allclose(t["p"]["cold"][1], [1e-6])


def test_a_known_optimum_is_its_own_seeds():
    rows = [
        {"problem": "p", "seed": 0, "method": "cold", "values": [3.0, 2.0], "optimum": 1.0},
        {"problem": "p", "seed": 1, "method": "cold", "values": [-4.0], "optimum": -5.0},
    ]
    t = M.curves(rows)
    np.testing.assert_allclose(t["p"]["cold"][0], [2.0, 1.0])  # not measured from seed 1's -5
    np.testing.assert_allclose(t["p"]["cold"][1], [1.0])


def test_a_run_below_its_known_optimum_becomes_the_reference():
    """A stated optimum that a run beats (an optimizer's estimate) is not a regret floor."""
    rows = [
        {"problem": "p", "seed": 0, "method": "cold", "values": [3.0, 0.5], "optimum": 1.0},
        {"problem": "p", "seed": 0, "method": "warm", "values": [2.0], "optimum": 1.0},
    ]
    t = M.curves(rows, floor=1e-8)
    np.testing.assert_allclose(t["p"]["cold"][0], [2.5, 1e-8])
    np.testing.assert_allclose(t["p"]["warm"][0], [1.5])


def test_references_in_one_pass_equal_each_reference():
    """Known optima (one beaten by a run), a data set without one, and two stored result files."""
    rows = [
        {"problem": "p", "seed": 0, "method": "cold", "values": [3.0, 0.5], "optimum": 1.0},
        {"problem": "p", "seed": 0, "method": "warm", "values": [2.0], "optimum": 1.0},
        {"problem": "p", "seed": 1, "method": "cold", "values": [-4.0], "optimum": -5.0},
        {"problem": "data", "seed": 0, "method": "cold", "values": [0.3, 0.2], "optimum": None},
        {"problem": "data", "seed": 1, "method": "warm", "values": [0.25, 0.1]},
    ]
    stored = [[json.loads(line) for line in (ROOT / "experiments/results/shifted-probe" / name).read_text().splitlines()[1:]]
              for name in ("tuning.jsonl", "oracle-move.jsonl")]
    for rs in (rows, *([r for r in s if "method" in r] for s in stored)):
        refs = M.references(rs)
        assert refs == {(r["problem"], r["seed"]): M.reference(rs, r["problem"], r["seed"]) for r in rs}
    assert M.references(rows)["p", 0] == 0.5 and M.references(rows)["data", 0] == 0.1


def test_paired_trials_measure_against_cold_starts_own_trajectory():
    cold = np.array([9.0, 5.0, 5.0, 2.0, 2.0, 2.0])  # reaches its trial-6 regret at trial 4
    warm = np.array([3.0, 2.0, 1.0, 1.0, 1.0, 1.0])
    assert M.paired_trials(warm, cold, 6) == (4.0, 2.0)
    assert M.paired_trials(warm, cold, 3) == (2.0, 1.0)
    never = np.full(6, 7.0)
    assert M.paired_trials(never, cold, 6) == (4.0, 7.0)  # censored at the budget + 1
    assert M.trials_to_reach(np.array([3.0, 0.1 + 0.2]), 0.3) == 2.0  # a floating-point tie reaches
    assert M.trials_to_reach(np.array([3.0, 0.30001]), 0.3) == np.inf


def test_average_ranks_average_ties_and_skip_incomplete_seeds():
    table = {
        "p": {"a": {0: np.array([1.0]), 1: np.array([3.0])}, "b": {0: np.array([2.0]), 1: np.array([3.0])}, "c": {0: np.array([3.0])}},
    }
    ranks, n = M.average_ranks(table, ["a", "b"], 1)
    assert n == 2 and ranks == {"a": 1.25, "b": 1.75}
    ranks, n = M.average_ranks(table, ["a", "b", "c"], 1)
    assert n == 1 and ranks == {"a": 1.0, "b": 2.0, "c": 3.0}
    longer = {"p": {"a": {0: np.array([5.0, 1.0]), 1: np.array([3.0])}, "b": {0: np.array([5.0, 2.0]), 1: np.array([1.0])}}}
    ranks, n = M.average_ranks(longer, ["a", "b"], 2)  # seed 1 ran one trial only
    assert n == 1 and ranks == {"a": 1.0, "b": 2.0}
    ranks, n = M.average_ranks(longer, ["a", "b"], 3)
    assert n == 0 and all(np.isnan(v) for v in ranks.values())


def test_holm_matches_the_step_down_rule():
    np.testing.assert_allclose(M.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(M.holm([0.5, 0.001]), [0.5, 0.002])
    np.testing.assert_allclose(M.holm([0.6, 0.7]), [1.0, 1.0])  # capped at 1


def test_wilcoxon_vs_cold_is_scipys_test_on_log_regret():
    """Ranks of log ratios, not of raw differences: here warm is 10x better on seven small
    regrets and 2x worse on five large ones, so raw differences favour cold and logs warm.
    A tied pair counts half on each side (zsplit)."""
    cold = np.array([1e-3] * 7 + [1.0] * 5 + [0.5])
    warm = np.array([1e-4] * 7 + [2.0] * 5 + [0.5])
    d = np.log(warm) - np.log(cold)
    p = M.wilcoxon_vs_cold(warm, cold)
    assert p == pytest.approx(stats.wilcoxon(d, zero_method="zsplit").pvalue)
    assert p != pytest.approx(stats.wilcoxon(warm - cold, zero_method="zsplit").pvalue)
    assert stats.wilcoxon(d, zero_method="zsplit", alternative="less").pvalue < 0.5  # logs favour warm
    assert M.wilcoxon_vs_cold(cold, cold) == 1.0


def test_win_tie_loss_and_worst_case():
    warm, cold = [1.0, 2.0, 5.0, 1.0], [2.0, 2.0, 1.0, 1.005]
    assert M.win_tie_loss(warm, cold) == (1, 2, 1)
    assert M.win_tie_loss([1.0, 1.0, 1.0, 5.0], [2.0, 3.0, 1.005, 1.0]) == (2, 1, 1)
    assert M.win_tie_loss([1.0], [1.0102]) == (1, 0, 0)  # just outside 1 %
    assert M.worst_case_ratio(warm, cold) == (2.5, 5.0)


def test_summary_and_mean_log():
    assert M.summary([1, 2, 3, 4, 5]) == (3.0, 2.0, 4.0)
    assert M.mean_log10([1e-2, 1.0]) == pytest.approx(-1.0)


def test_the_report_counts_each_units_parents_once_across_files(tmp_path):
    """Two results files of one suite (a peer's beside the main one) both record each
    unit's parents, and a run resumed mid-unit records them again: the report's parents
    table counts every (problem, seed) once."""
    import json

    from benchmarks import transfer_report as R

    header = {"config": {"name": "t", "suite": "tuning", "budget": 10, "n_parents": 1, "parent_trials": 2, "top_k": 1, "seeds": [0, 1]},
              "methods_run": [], "machine": {"cpu": "cpu", "cores": 1}}
    parents = [{"problem": "p", "seed": s, "parents": {"trials": [2], "target_at_best": [0.5]}} for s in (0, 1)]
    runs = [{"problem": "p", "seed": s, "method": m, "optimum": None, "parent_trials": 0, "values": list(np.geomspace(1.0, 0.1, 10))} for s in (0, 1) for m in ("cold",)]
    peer = [{"problem": "p", "seed": s, "method": "peer", "optimum": None, "parent_trials": 0, "values": list(np.geomspace(0.9, 0.2, 10))} for s in (0, 1)]
    main, other = tmp_path / "main.jsonl", tmp_path / "peer.jsonl"
    main.write_text("\n".join(json.dumps(r) for r in [header, *parents, *runs]))
    other.write_text("\n".join(json.dumps(r) for r in [header, parents[0], parents[0], parents[1], *peer]))
    _, _, loaded = R.load([str(main), str(other)])
    assert sorted((p["problem"], p["seed"]) for p in loaded) == [("p", 0), ("p", 1)]
    row = next(line for line in R.report([str(main), str(other)]).splitlines() if line.startswith("p | "))
    assert row.split(" | ")[1] == "2"


def test_the_report_pools_synthetic_problems_by_similarity_band(tmp_path):
    """Issue 13 states its goals per band (related, in between, unrelated, adversarial):
    the report pools each band's pairs, and each band's ratio comes from its own problems."""
    import json

    from benchmarks import transfer_report as R

    header = {"config": {"name": "t", "suite": "synthetic", "budget": 30, "n_parents": 1, "parent_trials": 2, "top_k": 1, "seeds": [0, 1, 2]},
              "methods_run": [], "machine": {"cpu": "cpu", "cores": 1}}
    cold = list(np.geomspace(1.0, 1e-3, 30))
    fast = list(np.geomspace(1.0, 1e-3, 30) ** 4)  # reaches cold's regret@25 well before trial 25
    rows = [header]
    for s in (0, 1, 2):
        for problem, warm in (("h/sim0.9", fast), ("h/far", cold)):
            rows.append({"problem": problem, "seed": s, "parents": {"trials": [2], "target_at_best": [0.5]}})
            rows.append({"problem": problem, "seed": s, "method": "cold", "optimum": 0.0, "parent_trials": 0, "values": cold})
            rows.append({"problem": problem, "seed": s, "method": "prior", "optimum": 0.0, "parent_trials": 2, "values": warm})
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    text = R.report([str(path)])
    section = text.split("by band (issue 13's goals)")[1].split("\n\n")[0].splitlines()
    related = next(line for line in section if "| related" in line).split(" | ")
    adversarial = next(line for line in section if "| adversarial" in line).split(" | ")
    assert related[2] == "3" and float(related[6].split()[0]) > 3.0
    assert adversarial[6].startswith("1.00")
    assert float(related[9]) < -1.0 and adversarial[9] == "+0.00"  # warm's log10 regret minus cold's
    p_related = float(related[10])
    assert p_related == pytest.approx(0.25) and adversarial[10] == "1"  # three pairs, all one way
    assert float(related[11].rstrip(" *")) == pytest.approx(2 * p_related)  # Holm over the two bands


def test_the_report_keeps_a_run_two_files_share_once_and_refuses_different_ones(tmp_path):
    """A control file and a methods file both run cold start on the same units: the same
    run in both is counted once; a different one (other code) stops the report."""
    import json

    from benchmarks import transfer_report as R

    header = {"config": {"name": "t", "suite": "tuning", "budget": 10, "n_parents": 1, "parent_trials": 2, "top_k": 1, "seeds": [0]},
              "methods_run": [], "machine": {"cpu": "cpu", "cores": 1}}
    cold = {"problem": "p", "seed": 0, "method": "cold", "optimum": None, "parent_trials": 0, "values": list(np.geomspace(1.0, 0.1, 10))}
    peer = {**cold, "method": "peer", "values": list(np.geomspace(0.9, 0.2, 10))}
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    a.write_text("\n".join(json.dumps(r) for r in [header, cold]))
    b.write_text("\n".join(json.dumps(r) for r in [header, cold, peer]))
    c.write_text("\n".join(json.dumps(r) for r in [header, {**cold, "values": list(np.geomspace(1.0, 0.05, 10))}]))
    _, runs, _ = R.load([str(a), str(b)])
    assert sorted(r["method"] for r in runs) == ["cold", "peer"]
    with pytest.raises(SystemExit, match=r"a\.jsonl and .*c\.jsonl hold different runs of cold on p, seed 0"):
        R.load([str(a), str(c)])


def test_the_report_pairs_a_method_against_its_baseline_run_on_other_code(tmp_path):
    """``--baseline``: the same method run on older code comes in renamed, beside the new
    one, and both share one cold start; ``--compare`` pairs the two directly, so a change
    is measured seed by seed (here it wins on every seed and reaches the baseline's
    regret at 25 trials in fewer trials)."""
    import json

    from benchmarks import transfer_report as R

    header = {"config": {"name": "t", "suite": "synthetic", "budget": 30, "n_parents": 1, "parent_trials": 2, "top_k": 1, "seeds": [0, 1, 2, 3, 4, 5]},
              "methods_run": [], "machine": {"cpu": "cpu", "cores": 1}}
    cold = list(np.geomspace(1.0, 1e-3, 30))
    rows_new, rows_old = [header], [header]
    for s in range(6):
        unit = {"problem": "h/far", "seed": s, "parents": {"trials": [2], "target_at_best": [0.5]}}
        base = {"problem": "h/far", "seed": s, "optimum": 0.0, "parent_trials": 2}
        rows_new += [unit, {**base, "method": "cold", "values": cold}, {**base, "method": "prior", "values": list(np.geomspace(1.0, 1e-4 * (s + 1), 30))}]
        rows_old += [unit, {**base, "method": "cold", "values": cold}, {**base, "method": "prior", "values": list(np.geomspace(1.0, 1e-2 * (s + 1), 30))}]
    new, old = tmp_path / "new.jsonl", tmp_path / "old.jsonl"
    new.write_text("\n".join(json.dumps(r) for r in rows_new))
    old.write_text("\n".join(json.dumps(r) for r in rows_old))
    _, runs, _ = R.load([str(new)], [str(old)])
    assert sorted({r["method"] for r in runs}) == ["cold", "prior", "prior (baseline)"]
    text = R.report([str(new)], [str(old)], [("prior", "prior (baseline)")])
    section = text.split("# prior against prior (baseline) at 25 trials, paired\n")[1].split("\n\n")[0].splitlines()
    assert "prior (baseline) trials to own regret@25" in section[0]
    row = next(line for line in section if line.startswith("prior | all")).split(" | ")
    assert row[2] == "6" and row[7] == "6/0/0" and float(row[6].split()[0]) > 1.0
    with pytest.raises(SystemExit, match="no method 'other'"):
        R.report([str(new)], [str(old)], [("prior", "other")])


def test_the_guard_worst_case_summary_pairs_each_run_with_its_own_cold_start(tmp_path):
    """``guard_worst_case.py --summary``: each prior's gap is taken against the cold start
    stored beside it (two files may hold different cold runs), and two priors are paired
    on their gaps, seed by seed."""
    import json

    from benchmarks.guard_worst_case import summary

    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("\n".join(json.dumps({"prior": "p", "adversary": "far", "seed": s, "transfer": 10.0 * (s + 1), "cold": float(s + 1)}) for s in range(8)))
    b.write_text("\n".join(json.dumps({"prior": "q", "adversary": "far", "seed": s, "transfer": 2.0 * (s + 1) * 1.1 ** s, "cold": 2.0 * (s + 1)}) for s in range(8)))
    lines = summary([a, b])
    p_row = next(line for line in lines if line.startswith("p | far")).split(" | ")
    q_row = next(line for line in lines if line.startswith("q | far")).split(" | ")
    assert p_row[2] == "8" and p_row[3] == "+1.00" and float(p_row[4]) < 0.01
    assert float(q_row[3]) == pytest.approx(np.mean([s * np.log10(1.1) for s in range(8)]), abs=0.006)
    paired = next(line for line in lines if line.startswith("p | q | far")).split(" | ")
    assert paired[3] == "8" and float(paired[4]) > 0.5 and float(paired[5]) < 0.01


def test_a_comparison_on_model_tuning_is_also_reported_per_model_family(tmp_path):
    """A head-to-head on the tuning suite adds a per-family table with its own Holm
    correction, each family's pairs from its own problems; the pooled row is unchanged."""
    import json

    from benchmarks import transfer_report as R

    assert R.model_families(["svc/wine", "knn/iris", "svc/iris", "h/sim0.9", "h/far"]) == [("svc", ["svc/wine", "svc/iris"]), ("knn", ["knn/iris"])]
    assert R.model_families(["svc/wine", "svc/iris", "h/sim0"]) == []
    header = {"config": {"name": "t", "suite": "tuning", "budget": 30, "n_parents": 1, "parent_trials": 2, "top_k": 1, "seeds": [0, 1, 2]},
              "methods_run": [], "machine": {"cpu": "cpu", "cores": 1}}
    slow = list(np.geomspace(1.0, 1e-3, 30))
    fast = list(np.geomspace(1.0, 1e-3, 30) ** 2)
    rows = [header]
    for s in (0, 1, 2):
        for problem, a in (("svc/wine", fast), ("knn/wine", slow)):
            rows.append({"problem": problem, "seed": s, "parents": {"trials": [2], "target_at_best": [0.5]}})
            rows += [{"problem": problem, "seed": s, "method": m, "optimum": 0.0, "parent_trials": 0, "values": v} for m, v in (("cold", slow), ("a", a), ("b", slow))]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    text = R.report([str(path)], compare=[("a", "b")])
    pooled = text.split("# a against b at 25 trials, paired\n")[1].split("\n\n")[0].splitlines()
    assert [line.split(" | ")[1] for line in pooled[1:]] == ["all"]
    family = text.split("# a against b at 25 trials, paired, per model family\n")[1].split("\n\n")[0].splitlines()
    svc, knn = (next(line for line in family if line.startswith(f"a | {f} |")).split(" | ") for f in ("svc", "knn"))
    assert svc[2] == knn[2] == "3"
    assert svc[7] == "3/0/0" and knn[7] == "0/3/0"
    assert float(svc[9]) < -1.0 and knn[9] == "+0.00"
    assert float(svc[11].rstrip(" *")) == pytest.approx(2 * float(svc[10]))  # Holm over the two families


def test_matched_budgets_set_a_method_after_10_trials_against_cold_start_after_40(tmp_path):
    """Issue 13's 4x goal as its parenthesis states it ("TRANSFER@10 no worse than
    cold@40"): each pair sets the method's regret at trial 10 against the same seed's cold
    start at trial 40, not at 10, and the 2x reading sets 25 against 50."""
    import json

    from benchmarks import transfer_report as R

    header = {"config": {"name": "t", "suite": "synthetic", "budget": 50, "n_parents": 1, "parent_trials": 2, "top_k": 1, "seeds": [0, 1, 2, 3]},
              "methods_run": [], "machine": {"cpu": "cpu", "cores": 1}}
    cold = np.geomspace(1.0, 1e-4, 50)  # regret at 10: ~0.19, at 40: ~6.5e-4, at 50: 1e-4
    # Related: 4x faster than cold (trial t reaches cold's trial 4t) on three seeds, and
    # only as fast as cold on the fourth; adversarial: as fast as cold on every seed.
    fast = cold[np.minimum(4 * np.arange(1, 51), 50) - 1] * 0.5
    rows = [header]
    for s in range(4):
        for problem, warm in (("h/sim0.9", fast if s < 3 else cold), ("h/far", cold)):
            rows.append({"problem": problem, "seed": s, "parents": {"trials": [2], "target_at_best": [0.5]}})
            rows.append({"problem": problem, "seed": s, "method": "cold", "optimum": 0.0, "parent_trials": 0, "values": list(cold)})
            rows.append({"problem": problem, "seed": s, "method": "prior", "optimum": 0.0, "parent_trials": 2, "values": list(warm)})
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    text = R.report([str(path)])
    section = text.split("after 10 trials against cold start after 40 (4x the trials), by band\n")[1].split("\n\n")[0].splitlines()
    assert "method@10 vs cold@40" in section[0]
    related = next(line for line in section if "| related" in line).split(" | ")
    adversarial = next(line for line in section if "| adversarial" in line).split(" | ")
    assert related[2] == "4" and related[3] == "3/0/1"
    assert float(related[5]) == pytest.approx(cold[39], rel=1e-2)  # cold start's regret at 40, not at 10
    assert float(related[6].split()[0]) == pytest.approx(0.5, rel=1e-2)  # the median seed's method@10 / cold@40
    assert adversarial[3] == "0/0/4" and float(adversarial[7]) == pytest.approx(np.log10(cold[9] / cold[39]), abs=0.01)
    two = text.split("after 25 trials against cold start after 50 (2x the trials), by band\n")[1].split("\n\n")[0].splitlines()
    assert next(line for line in two if "| related" in line).split(" | ")[3] == "3/0/1"


def test_matched_budgets_pair_each_seed_with_its_own_cold_start_and_holm_correct_the_table():
    """Each seed's method run is set against the same seed's cold start: here cold start's
    regret differs by seed, and the method beats its own seed's cold start after 40 trials
    but would lose to any other seed's; Holm's correction runs over the table's rows."""
    from benchmarks import transfer_report as R

    base = np.geomspace(1.0, 1e-4, 50)
    table = {"h/sim0.9": {"cold": {}, "prior": {}}, "h/far": {"cold": {}, "prior": {}}}
    for s in range(6):
        table["h/sim0.9"]["cold"][s] = base * 10.0 ** (2 * s)
        table["h/sim0.9"]["prior"][s] = np.full(50, base[39] * 10.0 ** (2 * s) * 0.5)
        table["h/far"]["cold"][s] = base
        table["h/far"]["prior"][s] = np.full(50, base[39] * 2.0)
    rows = R.matched_rows(table, ["cold", "prior"], 10, 40, [("related", ["h/sim0.9"]), ("adversarial", ["h/far"])])
    assert [(r[1], r[3]) for r in rows] == [("related", (6, 0, 0)), ("adversarial", (0, 0, 6))]
    lines = R.matched_table(table, ["cold", "prior"], 10, 40, [("related", ["h/sim0.9"]), ("adversarial", ["h/far"])], "band")
    p, holm = zip(*((float(line.split(" | ")[8]), float(line.split(" | ")[9].rstrip(" *"))) for line in lines[1:]))
    assert p == pytest.approx((0.03125, 0.03125), rel=1e-2)  # six pairs, all one way
    assert holm == pytest.approx((0.0625, 0.0625), rel=1e-2)  # Holm over the table's two rows


def test_the_report_gives_the_share_of_asks_that_used_transfer_and_pairs_it(tmp_path):
    """Each run's ``transfer_used`` (share of its asks whose model passed the guard) is
    summarized per method and band, and a compared pair's differences are taken seed by
    seed (a method that always uses transfer more is 'more' on every seed)."""
    import json

    from benchmarks import transfer_report as R

    header = {"config": {"name": "t", "suite": "synthetic", "budget": 30, "n_parents": 1, "parent_trials": 2, "top_k": 1, "seeds": [0, 1, 2, 3]},
              "methods_run": [], "machine": {"cpu": "cpu", "cores": 1}}
    curve = list(np.geomspace(1.0, 1e-3, 30))
    rows = [header]
    for s in range(4):
        for problem in ("h/sim0.9", "h/far"):
            rows.append({"problem": problem, "seed": s, "parents": {"trials": [2], "target_at_best": [0.5]}})
            rows.append({"problem": problem, "seed": s, "method": "cold", "optimum": 0.0, "values": curve})
            base = 0.2 * s + (0.1 if problem == "h/far" else 0.0)
            rows.append({"problem": problem, "seed": s, "method": "a", "optimum": 0.0, "values": curve, "transfer_used": base})
            rows.append({"problem": problem, "seed": s, "method": "b", "optimum": 0.0, "values": curve, "transfer_used": base + 0.25})
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    section = R.report([str(path)], compare=[("b", "a")]).split("# Asks that used the transfer model")[1].splitlines()
    a_related = next(line for line in section if line.startswith("a | related")).split(" | ")
    assert a_related[2] == "4" and float(a_related[3]) == pytest.approx(0.3)
    b_all = next(line for line in section if line.startswith("b | all")).split(" | ")
    assert b_all[2] == "8" and float(b_all[3]) == pytest.approx(0.6)
    paired = next(line for line in section if line.startswith("b - a | adversarial")).split(" | ")
    assert paired[2] == "4" and float(paired[3]) == pytest.approx(0.25) and paired[4] == "4/0/0"
    assert not any(line.startswith("cold |") for line in section)


def test_the_report_counts_the_units_where_the_parents_best_point_alone_matches_cold_start(tmp_path):
    """Seed by seed, the target's regret at the best of the parents' best points against
    cold start's regret after 10, 25 and 50 trials, per band."""
    import json

    from benchmarks import transfer_report as R

    header = {"config": {"name": "t", "suite": "synthetic", "budget": 50, "n_parents": 2, "parent_trials": 2, "top_k": 1, "seeds": [0, 1, 2]},
              "methods_run": [], "machine": {"cpu": "cpu", "cores": 1}}
    cold = list(np.geomspace(1.0, 1e-4, 50))  # regret after 10 / 25 / 50 trials: 0.18, 0.011, 1e-4
    # Target values (optimum 0) at each parent's best point; the best of them counts, and
    # equal to cold start's regret counts as reaching it (seed 1 at 25 trials).
    at_best = {("h/sim0.9", 0): [0.5, 0.1], ("h/sim0.9", 1): [cold[24], 0.3], ("h/sim0.9", 2): [1e-5, 0.9],
               ("h/far", 0): [0.9, 0.8], ("h/far", 1): [0.4, 0.2], ("h/far", 2): [0.3, 0.19]}
    rows = [header]
    for (problem, s), values in at_best.items():
        rows.append({"problem": problem, "seed": s, "parents": {"trials": [2, 2], "target_at_best": values}})
        rows.append({"problem": problem, "seed": s, "method": "cold", "optimum": 0.0, "parent_trials": 0, "values": cold})
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    section = R.report([str(path)]).split("# What the parents' best points alone reach")[1].split("\n\n")[0].splitlines()
    cells = {line.split(" | ")[0]: line.split(" | ")[1:] for line in section[2:]}
    assert cells["related (similarity >= 0.75)"] == ["3", "3 (100%)", "2 (67%)", "1 (33%)"]
    assert cells["adversarial parents"] == ["3", "0 (0%)", "0 (0%)", "0 (0%)"]
    assert cells["all"] == ["6", "3 (50%)", "2 (33%)", "1 (17%)"]


def test_paced_trials_open_with_the_parents_points_then_take_cold_starts_own_pace():
    """The parents' points first; if the best is not yet at cold start's regret after t
    trials, then the trials cold start took from that level to its regret at t."""
    cold = np.array([1.0, 0.5, 0.3, 0.3, 0.1, 0.1, 0.05, 0.05, 0.02, 0.02])  # regret at 8: 0.05, first at 7
    assert M.paced_trials(cold, [0.4, 0.2, 0.9], 8) == (7.0, 3 + (7 - 5))  # 0.2 first reached at trial 5
    assert M.paced_trials(cold, [0.4, 0.05, 0.9], 8) == (7.0, 2.0)  # the second point already reaches it (a tie)
    assert M.paced_trials(cold, [2.0, 3.0], 8) == (7.0, 2 + 7 - 1)  # worse than cold's first point
    # Cold start passes 0.04 and its regret at 10 (0.02) in one step, at trial 9: a run still
    # at 0.04 needs one more trial.
    assert M.paced_trials(cold, [0.04], 10) == (9.0, 1 + 1)


def test_paced_trials_at_another_runs_pace_count_that_runs_stretch_and_censor_it():
    """With ``pace`` another cold run's trials from the parents' level to cold start's regret
    at t are counted; censored where it never gets there, NaN where it never reaches the
    parents' level."""
    cold = np.array([1.0, 0.5, 0.3, 0.3, 0.1, 0.1, 0.05, 0.05, 0.02, 0.02])  # regret at 8: 0.05, first at 7
    slow = np.array([1.0, 0.9, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.04, 0.04])  # 0.2 at 3, 0.05 at 9
    assert M.paced_trials(cold, [0.4, 0.2, 0.9], 8, slow) == (7.0, 3 + (9 - 3))
    assert M.paced_trials(cold, [0.4, 0.2, 0.9], 8, cold) == M.paced_trials(cold, [0.4, 0.2, 0.9], 8)
    stuck = np.array([1.0, 0.3, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2])
    assert M.paced_trials(cold, [0.4, 0.2, 0.9], 8, stuck) == (7.0, 3 + (11 - 3))
    assert M.paced_trials(cold, [0.4, 0.05, 0.9], 8, stuck) == (7.0, 2.0)  # the parents' point alone: no pace needed
    assert np.isnan(M.paced_trials(cold, [0.1, 0.9], 8, stuck)[1])


def test_the_pace_table_counts_the_controls_censored_and_never_reached_units():
    """The control's row reads 25 trials only, counts a unit whose control never gets from
    the parents' level to cold start's regret (censored at the budget + 1) and one whose
    control never reaches the parents' level (no saving)."""
    from benchmarks import transfer_report as R

    cold = np.geomspace(1.0, 1e-4, 50)  # 0.0111 at 25, first <= 0.1 at 14
    controls = {0: np.r_[[1.0] * 5, cold[:45]], 1: np.r_[cold[:20], [cold[19]] * 30], 2: np.full(50, 0.5)}
    table = {"h/sim0.9": {"cold": dict.fromkeys(controls, cold), "cold-reseeded": controls}}
    runs = [{"problem": "h/sim0.9", "seed": s, "method": "cold", "optimum": 0.0, "values": list(cold)} for s in controls]
    parents = [{"problem": "h/sim0.9", "seed": s, "parents": {"target_at_best": [0.1]}} for s in controls]
    rows = {line.split(" | ")[1]: line.split(" | ")[2:] for line in R.pace_table(parents, table, runs, [("all", ["h/sim0.9"])], 50)[1:]}
    assert rows["cold start's own"][:2] == ["3", f"{25 / (1 + 11):.2f}x [{25 / 12:.2f}, {25 / 12:.2f}]"] and rows["cold start's own"][-1] == "0 / 0"
    # Seed 0: 1 + 11 trials; seed 1 reaches 0.1 at 14 and stays above 0.0111: 1 + (51 - 14);
    # seed 2 never reaches 0.1: 0x.
    assert rows["the control's"][1] == f"{25 / 38:.2f}x [{25 / 76:.2f}, {(25 / 38 + 25 / 12) / 2:.2f}]"
    assert rows["the control's"][4:] == ["-", "-", "-", "1 / 1"]


def test_endgame_trials_count_from_the_parents_level_and_censor_at_the_budget():
    curve = np.array([0.9, 0.4, 0.2, 0.2, 0.05, 0.01])
    assert M.endgame_trials(curve, 0.2, 0.05) == 5 - 3
    assert M.endgame_trials(curve, 0.5, 0.2) == 3 - 2
    assert M.endgame_trials(curve, 0.2, 0.001) == 7 - 3  # never gets there: censored at length + 1
    assert np.isnan(M.endgame_trials(curve, 0.001, 0.0001))


def test_the_report_gives_the_paced_saving_and_each_methods_trials_from_the_parents_level(tmp_path):
    """Per band: the saving of the parents' points followed by cold start's own pace, and
    each method's trials from the parents' level to cold start's regret at 25 trials against
    cold start's, on the units where the parents' best point is above it."""
    import json

    from benchmarks import transfer_report as R

    header = {"config": {"name": "t", "suite": "synthetic", "budget": 50, "n_parents": 2, "parent_trials": 2, "top_k": 1, "seeds": [0, 1, 2]},
              "methods_run": [], "machine": {"cpu": "cpu", "cores": 1}}
    cold = np.geomspace(1.0, 1e-4, 50)  # regret 10^(-4 i / 49) at trial i + 1: 0.0111 at 25, first <= 0.1 at 14
    at_best = {0: [0.5, 0.1], 1: [cold[24], 0.3], 2: [1e-5, 0.9]}
    rows = [header]
    for s, values in at_best.items():
        rows.append({"problem": "h/sim0.9", "seed": s, "parents": {"trials": [2, 2], "target_at_best": values}})
        rows.append({"problem": "h/sim0.9", "seed": s, "method": "cold", "optimum": 0.0, "parent_trials": 0, "values": list(cold)})
        rows.append({"problem": "h/sim0.9", "seed": s, "method": "quick", "optimum": 0.0, "parent_trials": 4, "values": list(cold**2)})
        rows.append({"problem": "h/sim0.9", "seed": s, "method": "stuck", "optimum": 0.0, "parent_trials": 4, "values": [0.9] * 50})
        rows.append({"problem": "h/sim0.9", "seed": s, "method": "cold-reseeded", "optimum": 0.0, "parent_trials": 0, "values": list(np.r_[[1.0] * 5, cold[:45]])})
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    text = R.report([str(path)])
    pace = text.split("# Cold start's pace from the parents' level")[1].split("\n\n")[0].splitlines()
    rows = {line.split(" | ")[1]: line.split(" | ")[2:] for line in pace if line.startswith("all")}  # one band: pooled only
    # Seed 0: both parents' points, then cold start's 25 - 14 trials: 25 / 13; seeds 1 and 2
    # reach it with their first point: 25 / 1.
    assert rows["cold start's own"][:4] == ["3", "25.00x [13.46, 25.00]", "67%", "67%"]
    # At 50: 50 / (2 + 50 - 14), 50 / (2 + 50 - 25) and 50x.
    assert rows["cold start's own"][4:] == ["1.85x [1.58, 25.93]", "33%", "33%", "0 / 0"]
    # The control is cold start five trials late: the same stretch at 25 trials (30 - 19),
    # so the same saving; at 50 trials it is not read.
    assert rows["the control's"] == rows["cold start's own"][:4] + ["-"] * 3 + ["0 / 0"]
    endgame = text.split("# From the parents' level to cold start's regret at 25 trials")[1].split("\n\n")[0].splitlines()
    cells = {tuple(line.split(" | ")[:2]): line.split(" | ")[2:] for line in endgame[2:]}
    # Only seed 0 is above the level. cold**2 is at 0.1 from trial 8 and at 0.0111 from trial 13.
    assert cells[("quick", "all")] == ["1", "11.0 [11.0, 11.0]", "5.0 [5.0, 5.0]", "1 / 0 / 0", "0", "0"]
    assert cells[("stuck", "all")] == ["0", "-", "-", "0 / 0 / 0", "1", "0"]


def test_the_report_can_keep_only_the_units_every_method_ran():
    """Files of different seeds pair across all their methods with ``common``: a unit that
    one method lacks is dropped from every table, its parents' record with it."""
    from benchmarks import transfer_report as R

    runs = [{"problem": p, "seed": s, "method": m} for p, s, m in
            [("a", 0, "cold"), ("a", 0, "x"), ("a", 0, "y"), ("a", 1, "cold"), ("a", 1, "x"), ("b", 0, "cold"), ("b", 0, "y"), ("b", 0, "x")]]
    parents = [{"problem": p, "seed": s} for p, s in [("a", 0), ("a", 1), ("b", 0)]]
    kept, kept_parents = R.common_units(runs, parents)
    assert {(r["problem"], r["seed"]) for r in kept} == {("a", 0), ("b", 0)} and len(kept) == 6
    assert kept_parents == [parents[0], parents[2]]
