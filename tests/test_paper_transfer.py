"""The paper's transfer section: tables with the default first, similarity bands, and the
paired savings it reports, from hand-made results in the runner's format."""

import json

import numpy as np

from benchmarks import transfer_report as R
from paper import transfer as T


def _results(tmp_path):
    config = {"name": "tiny", "suite": "synthetic", "families": ["hartmann3"], "similarities": [0, 0.9], "adversaries": ["far"],
              "adversary_similarity": 0.75, "seeds": [0, 1, 2], "budget": 6, "parent_trials": 4, "n_parents": 2, "top_k": 2}
    header = {"config": config, "methods_run": ["cold", "transfer-stacked", "random"], "peers_missing": [],
              "versions": {"jax": "x"}, "machine": {"cpu": "test CPU", "cores": 2}}
    rows = []
    for problem in ("hartmann3/sim0", "hartmann3/sim0.9", "hartmann3/far"):
        for seed in (0, 1):  # seed 2 not finished: the section says so
            rows.append({"problem": problem, "seed": seed, "parents": {"trials": [4, 4]}})
            cold = [5.0, 4.0, 3.0, 2.0, 1.5, 1.0]
            # Transfer reaches cold start's final value at trial 3 on the related problem,
            # never on the adversarial one.
            warm = {"hartmann3/sim0.9": [3.0, 2.0, 1.0, 0.5, 0.5, 0.5], "hartmann3/sim0": cold, "hartmann3/far": [9.0] * 6}[problem]
            for method, values in (("cold", cold), ("transfer-stacked", warm), ("random", [9.0] * 6)):
                rows.append({"problem": problem, "seed": seed, "method": method, "optimum": 0.0, "values": values,
                             "parent_trials": 8 if method.startswith("transfer") else 0, "seconds": 2.0, "ask_seconds": 0.1})
    path = tmp_path / "transfer-tiny.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [header] + rows))
    return path


def test_the_section_puts_the_default_first_and_pairs_savings_with_cold_start(tmp_path):
    values = T.section([_results(tmp_path)], tmp_path, "tiny")
    assert "6 (problem, seed) units finished of the 9 the config plans" in values["transfer_what_ran"]
    ranks = values["table_transfer_ranks"].splitlines()
    assert [line.split(" | ")[0] for line in ranks[2:5]] == ["| transfer-stacked", "| cold", "| random"]
    # At trial 5 (regret: cold 1.5; transfer 0.5 related, 1.5 at sim 0, 9 far; random 9):
    # transfer ranks 1, 1.5, 2.5 (ties averaged), cold 2, 1.5, 1, random 3, 3, 2.5.
    assert ranks[2:5] == ["| transfer-stacked | 1.67 |", "| cold | 1.50 |", "| random | 2.83 |"]
    savings = [line for line in values["table_transfer_savings"].splitlines() if line.startswith("| transfer-stacked")]
    by_band = {line.split(" | ")[1]: line.split(" | ") for line in savings}
    # Related: cold needs 6 trials for its own final regret 1.0, transfer 3: a 2x saving, 8 parent trials charged.
    related = by_band["related (similarity >= 0.75)"]
    assert related[3] == "8" and related[4].startswith("6 ") and related[5].startswith("3 ") and related[6].startswith("2.00")
    assert by_band["adversarial parents"][6].startswith("0.86")  # censored at budget + 1 = 7: 6 / 7
    worst = values["table_transfer_worst"]
    assert "| hartmann3/far | 9.00! [9] |" in worst and "| hartmann3/sim0.9 | 0.50 [0.5] |" in worst
    assert "| transfer-stacked | 6 | 2.0 [2.0, 2.0] | 0.100 [0.100, 0.100] |" in values["table_transfer_costs"]
    assert (tmp_path / "transfer-tiny-ranks.png").stat().st_size > 5_000
    assert (tmp_path / "transfer-tiny-similarity.png").stat().st_size > 5_000
    assert (tmp_path / "transfer-tiny-log-regret.png").stat().st_size > 5_000


def test_bands_and_markdown():
    assert R.bands(["h/sim0", "h/sim0.25", "h/sim0.9", "h/flipped", "svc/wine"]) == [
        ("related (similarity >= 0.75)", ["h/sim0.9"]), ("similarity 0.25-0.5", ["h/sim0.25"]), ("similarity 0", ["h/sim0"]),
        ("adversarial parents", ["h/flipped"]), ("model tuning", ["svc/wine"])]
    assert T.markdown(["(a note)", "a | b", "1 | 2", "after"]) == "| a | b |\n|---|---|\n| 1 | 2 |\n\n(a note) after"
    assert T.ordered(["random", "cold", "transfer-icm", "transfer-stacked", "x"]) == ["transfer-stacked", "transfer-icm", "cold", "random", "x"]
    assert R.similarity("h/far") is None and R.similarity("svc/wine") is None
    assert R.similarity("h/sim0") == 0.0 and R.similarity("h/sim0.25") == 0.25


def _runs(path, curves, name="tiny", seeds=(0, 1)):
    """A results file: ``curves`` maps problem -> method -> values (every seed alike)."""
    config = {"name": name, "suite": "synthetic", "families": ["hartmann3"], "similarities": [0.9], "adversaries": ["far"],
              "adversary_similarity": 0.75, "seeds": list(seeds), "budget": 6, "parent_trials": 4, "n_parents": 2, "top_k": 2}
    rows = [{"config": config, "methods_run": sorted({m for c in curves.values() for m in c}), "peers_missing": [],
             "versions": {}, "machine": {"cpu": "test CPU", "cores": 2}}]
    for problem, by_method in curves.items():
        for seed in seeds:
            rows.append({"problem": problem, "seed": seed, "parents": {"trials": [4, 4]}})
            for method, values in by_method.items():
                rows.append({"problem": problem, "seed": seed, "method": method, "optimum": 0.0, "values": values,
                             "parent_trials": 8, "seconds": 1.0})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_default_choice_follows_the_ranks_unless_the_guard_ablation_breaks_the_bound(tmp_path):
    cold, good, better = [5.0, 4, 3, 2, 1.5, 1], [4.0, 3, 2, 1, 0.8, 0.8], [3.0, 2, 1, 0.5, 0.4, 0.4]
    suite = _runs(tmp_path / "suite.jsonl", {"hartmann3/sim0.9": {"cold": cold, "transfer-stacked": good, "transfer-icm": better}})
    _, runs, _ = T.R.load([str(suite)])
    table, methods = T.M.curves(runs), T.ordered(T.R.methods_of(runs))
    unsafe = _runs(tmp_path / "guard.jsonl", {"hartmann3/far": {"cold": cold, "transfer-stacked": [2.0] * 6, "transfer-icm": [10.0] * 6}})
    text = T.default_choice(table, methods, 6, 5, [unsafe])
    # Checkpoints up to the budget of 6: trial 5 only, where cold is third.
    assert "Average rank at trials 5: transfer-stacked 2.00; transfer-icm 1.00." in text
    assert "transfer-icm ranks ahead of the default, transfer-stacked, at trials 5" in text
    assert "far 2.00; transfer-icm far 10.00" in text and "10.0x, is 5.0 times the default's" in text
    safe = _runs(tmp_path / "guard-safe.jsonl", {"hartmann3/far": {"cold": cold, "transfer-stacked": [2.0] * 6, "transfer-icm": [1.0] * 6}})
    assert "so it should become the default" in T.default_choice(table, methods, 6, 5, [safe])
    assert T.default_choice(table, methods, 6, 5, []).endswith("at trials 5. ")


def test_a_peer_run_on_fewer_seeds_gets_a_rank_table_of_its_own(tmp_path):
    cold, warm = [5.0, 4, 3, 2, 1.5, 1], [4.0, 3, 2, 1, 0.8, 0.8]
    main = _runs(tmp_path / "main.jsonl", {"hartmann3/sim0.9": {"cold": cold, "transfer-stacked": warm}}, seeds=(0, 1, 2))
    peer = _runs(tmp_path / "peer.jsonl", {"hartmann3/sim0.9": {"botorch": [0.1] * 6}}, name="tiny-botorch", seeds=(0,))
    _, runs, _ = T.R.load([str(main), str(peer)])
    table, methods = T.M.curves(runs), T.ordered(T.R.methods_of(runs))
    assert T.complete_methods(table, methods) == ["transfer-stacked", "cold"]
    text = T.rank_tables(table, methods, 6)
    first, second = text.split("Run on fewer seeds so far (botorch)")
    assert "(3 (problem, seed) pairs; 1 = best of 2)" in first and "| transfer-stacked | 1.00 |" in first
    assert "(1 (problem, seed) pairs; 1 = best of 3)" in second and "| botorch | 1.00 |" in second


def _stored_as(tmp_path, monkeypatch, name: str):
    """``make_figures`` reading a results folder that holds the test runs as ``name``."""
    from paper import make_figures

    results = tmp_path / "results"
    results.mkdir()
    _results(tmp_path).rename(results / name)
    monkeypatch.setattr(make_figures, "RESULTS", results)
    return make_figures


def test_the_model_tuning_subsection_reads_its_own_file_and_only_for_the_full_config(tmp_path, monkeypatch):
    make_figures = _stored_as(tmp_path, monkeypatch, "transfer-tuning.jsonl")
    values = make_figures.tuning_values(tmp_path, "full")
    assert set(values) == set(make_figures.TUNING_KEYS.values()) and "tuning_default_choice" not in values
    assert values["table_tuning_ranks"].splitlines()[2].startswith("| transfer-stacked")
    assert "6 (problem, seed) units finished of the 9" in values["tuning_what_ran"]
    assert (tmp_path / "transfer-tuning-ranks.png").stat().st_size > 5_000
    other = make_figures.tuning_values(tmp_path, "small")
    assert all(v.startswith("(the model-tuning suite has not run") for v in other.values())


def test_the_hyperprior_subsection_reads_its_two_files(tmp_path, monkeypatch):
    make_figures = _stored_as(tmp_path, monkeypatch, "transfer-synthetic-hyperprior.jsonl")
    values = make_figures.hyperprior_values(tmp_path, "full")
    assert set(values) == set(make_figures.HYPERPRIOR_KEYS.values()) | set(make_figures.HPTUNING_KEYS.values())
    assert "6 (problem, seed) units finished of the 9" in values["hyperprior_what_ran"]
    assert values["hptuning_what_ran"].startswith("(the hyperprior's model-tuning suite has not run")
    assert (tmp_path / "transfer-synthetic-hyperprior-ranks.png").stat().st_size > 5_000
    assert "cold-reseeded" not in values["table_hyperprior_ranks"]
    # With the suite's cold-start control stored, it stands beside the methods.
    results = make_figures.RESULTS
    lines = (results / "transfer-synthetic-hyperprior.jsonl").read_text().splitlines()
    control = [json.loads(line) for line in lines]
    control[0]["config"]["name"] = "tiny-control"
    control[1:] = [r for r in control[1:] if r.get("method") in (None, "cold")]
    control += [{**r, "method": "cold-reseeded", "values": r["values"][::-1]} for r in control[1:] if r.get("method") == "cold"]
    (results / "transfer-synthetic-coldcontrol.jsonl").write_text("".join(json.dumps(r) + "\n" for r in control))
    values = make_figures.hyperprior_values(tmp_path, "full")
    assert "tiny, tiny-control: 6 (problem, seed) units finished" in values["hyperprior_what_ran"]
    assert "| cold-reseeded |" in values["table_hyperprior_ranks"]
    assert "cold-reseeded" in values["table_hyperprior_worst"].splitlines()[0]
