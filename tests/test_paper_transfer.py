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


COLD = [5.0, 4, 3, 2, 1.5, 1]
CANDIDATES = {"cold": COLD, "best-first": [4.0, 3, 2, 1, 0.8, 0.8], "transfer-stacked": [4.5, 3.5, 2.5, 1.5, 1.2, 1.2],
              "transfer-hyperprior": [3.0, 2, 1, 0.5, 0.4, 0.4], "transfer-hyperprior:unguarded": [9.0] * 6}


def _guard_rows(path, prior, worst_seed_regret):
    """Guard-setting rows for seeds 0-11: cold start's worst is seed 10 (2.0; 0.5 on seeds
    0-9); the prior's regret is 0.4 except on seed 3."""
    rows = [{"prior": prior, "adversary": adv, "seed": s, "transfer": worst_seed_regret if s == 3 else 0.4, "cold": 2.0 if s == 10 else 0.5}
            for adv in ("flipped", "far", "unrelated") for s in range(12)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_default_is_paired_with_every_other_candidate_and_its_worst_case_read_per_seed_block(tmp_path):
    assert T.DEFAULT == T.method_of(T.DEFAULT_PRIOR) and T.method_of("best-first") == "best-first" and T.method_of("icm") == "transfer-icm"
    suite = _runs(tmp_path / "suite.jsonl", {"hartmann3/sim0.9": CANDIDATES}, seeds=range(10))
    table = T.M.curves(T.R.load([str(suite)])[1])
    text, h2h = T.head_to_head({"synthetic": table}, "best-first", (5,))
    # At trial 5: best-first 0.8, stacked 1.2, hyperprior 0.4 on all ten seeds; the
    # unguarded ablation is no candidate.
    assert "unguarded" not in text and set(h2h) == {("synthetic", "transfer-hyperprior", 5), ("synthetic", "transfer-stacked", 5)}
    assert "| synthetic | transfer-hyperprior | 5 | 10 | 0/0/10 | +0.30 |" in text
    assert "| synthetic | transfer-stacked | 5 | 10 | 10/0/0 | -0.18 |" in text
    assert h2h[("synthetic", "transfer-stacked", 5)][2] < 0.05

    worst = T.guard_worst(json.loads(line) for p in (_guard_rows(tmp_path / "a.jsonl", "best-first", 2.4), _guard_rows(tmp_path / "b.jsonl", "stacked", 5.0))
                          for line in p.read_text().splitlines())
    # Over seeds 0-11: 2.4 / 2.0 = 1.2 and 5.0 / 2.0 = 2.5; over seeds 0-9: 2.4 / 0.5 and 5.0 / 0.5.
    assert worst["best-first"]["far"] == (1.2, 4.8) and worst["stacked"]["unrelated"] == (2.5, 10.0)
    table_md = T.guard_table(worst, "0-11")
    assert "| best-first | 1.20 (4.80) | 1.20 (4.80) | 1.20 (4.80) |" in table_md and "| transfer-stacked | 2.50! (10.00) |" in table_md

    choice = T.default_choice({"synthetic": table}, worst, "best-first", (5,))
    assert "the default, best-first, ranks 2 of 4 (the candidates and cold start) at trial 5" in choice
    assert "behind transfer-hyperprior (W/T/L 0/0/10, +0.30 decades" in choice and "ahead of transfer-stacked (W/T/L 10/0/0, -0.18 decades" in choice
    assert "flipped 1.20x, far 1.20x, unrelated 1.20x cold start's worst, within the 1.25x bound" in choice
    assert "transfer-stacked exceeds it on at least one adversary" in choice
    # Two suites pool their pairs for one more rank: here the same table twice, 20 pairs.
    assert "Pooled over both suites (20 pairs), average rank at trial 5: transfer-hyperprior 1.00, best-first 2.00, transfer-stacked 3.00, cold 4.00." in T.default_choice(
        {"a": table, "b": table}, worst, "best-first", (5,))
    held = T.default_choice({"synthetic": table}, worst, "best-first", (5,), {"held out": table})
    assert "On seeds held out from the choice (held out, 10 pairs) it is, against cold start at trial 5, W/T/L 10/0/0, -0.27 decades" in held


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


def test_the_default_subsection_reads_the_suites_that_ran_every_candidate(tmp_path, monkeypatch):
    from paper import make_figures

    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(make_figures, "RESULTS", results)
    assert all(v.startswith("(the suites that choose the default have not run") for v in make_figures.default_values("full").values())
    _runs(results / "transfer-synthetic-hyperprior.jsonl", {"hartmann3/sim0.9": CANDIDATES}, seeds=range(10))
    _guard_rows(results / "guard-worst-best-first.jsonl", "best-first", 2.4)
    values = make_figures.default_values("full")
    assert set(values) == set(make_figures.DEFAULT_KEYS) and values["default_method"] == T.DEFAULT
    # A 6-trial budget: the pairs at trial 6, not 25 or 50.
    assert "| synthetic | transfer-stacked | 6 | 10 | 10/0/0 | -0.18 |" in values["table_default_head_to_head"]
    assert "ranks 2 of 4 (the candidates and cold start) at trial 6" in values["transfer_default_choice"]
    assert "| best-first | 1.20 (4.80) |" in values["table_default_worst"] and "seeds 0-11" in values["table_default_worst"]
    assert values["table_default_heldout"] == "(the held-out seeds have not run)"
    _runs(results / "transfer-tuning-heldout.jsonl", {"svc/wine": CANDIDATES}, seeds=range(10, 13))
    held = make_figures.default_values("full")
    assert "| model-tuning, seeds 10-12 | transfer-stacked | 6 | 3 | 3/0/0 | -0.18 |" in held["table_default_heldout"]
    assert "On seeds held out from the choice (model-tuning, seeds 10-12, 3 pairs)" in held["transfer_default_choice"]
    assert make_figures.default_values("small")["default_method"].startswith("(the suites that choose the default have not run")


def test_icm_and_rgpe_on_todays_engine_are_paired_with_the_default_and_ranked_among_the_candidates(tmp_path, monkeypatch):
    """ICM and RGPE ran in a file of their own on the hyperprior suites' units: the default
    is paired with each (Holm over that table), and they are ranked with every candidate and
    cold start, the unguarded ablation left out; the guard table gains their rows."""
    from paper import make_figures

    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(make_figures, "RESULTS", results)
    _runs(results / "transfer-synthetic-hyperprior.jsonl", {"hartmann3/sim0.9": CANDIDATES}, seeds=range(10))
    assert all(v.startswith("(ICM and RGPE have not run") for v in make_figures.other_priors_values("full").values())
    # ICM ahead of best-first (0.6 against 0.8 at trial 6) on every seed, RGPE behind it (2.0).
    _runs(results / "transfer-synthetic-icm-rgpe.jsonl", {"hartmann3/sim0.9": {"transfer-icm": [4.0, 3, 2, 1, 0.6, 0.6], "transfer-rgpe": [4.0, 3, 2, 2, 2, 2]}}, "icm-rgpe", range(10))
    values = make_figures.other_priors_values("full")
    rows = [line for line in values["table_other_priors"].splitlines() if line.startswith("| synthetic")]
    assert rows == ["| synthetic | best-first | transfer-icm | 6 | 10 | 0/0/10 | +0.12 | 0.00195 | 0.00391 * |",
                    "| synthetic | best-first | transfer-rgpe | 6 | 10 | 10/0/0 | -0.40 | 0.00195 | 0.00391 * |"]
    ranks = values["table_other_priors_ranks"].splitlines()
    # A 6-trial budget has one checkpoint, trial 5: hyperprior 0.4, ICM 0.6, best-first 0.8, stacked 1.2, cold 1.5, RGPE 2.
    assert ranks[0] == "| method | synthetic (10 pairs), rank at 5 |"
    assert ranks[2:8] == ["| best-first | 3.00 |", "| transfer-stacked | 4.00 |", "| transfer-icm | 2.00 |", "| transfer-rgpe | 6.00 |",
                          "| transfer-hyperprior | 1.00 |", "| cold | 5.00 |"]
    assert not any("unguarded" in line for line in ranks)
    assert all(v.startswith("(ICM and RGPE have not run") for v in make_figures.other_priors_values("small").values())
    _guard_rows(results / "guard-worst-icm.jsonl", "icm", 2.4)
    assert "| transfer-icm | 1.20 (4.80) |" in make_figures.default_values("full")["table_default_worst"]
    assert values["table_other_priors_heldout"] == "(ICM and RGPE have not run on the held-out seeds for this configuration)"


def test_icm_and_rgpe_on_the_held_out_seeds_are_paired_within_their_own_file(tmp_path, monkeypatch):
    """On the held-out seeds ICM and RGPE ran beside cold start and the default in one
    file: its methods are paired with each other only, never with the held-out file the
    candidates ran in (another machine's runs), on each suite where it ran."""
    from paper import make_figures

    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(make_figures, "RESULTS", results)
    # The candidates' held-out file would make best-first level with ICM; it must not be read.
    _runs(results / "transfer-tuning-heldout.jsonl", {"svc/wine": {"cold": [5.0, 4, 3, 2, 1.5, 1.0], "best-first": [4.0, 3, 2, 1, 0.6, 0.6]}}, seeds=range(10, 13))
    assert all(v.startswith("(ICM and RGPE have not run") for v in make_figures.other_priors_values("full").values())
    # RGPE behind best-first (2.0 against 0.8 at trial 6) on every seed, ICM level with it.
    _runs(results / "transfer-tuning-heldout-icm-rgpe.jsonl", {"svc/wine": {"cold": [5.0, 4, 3, 2, 1.5, 1.0], "best-first": [4.0, 3, 2, 1, 0.8, 0.8],
          "transfer-icm": [4.0, 3, 2, 1, 0.8, 0.8], "transfer-rgpe": [4.0, 3, 2, 2, 2, 2]}}, "heldout-icm-rgpe", range(10, 16))
    values = make_figures.other_priors_values("full")
    assert values["table_other_priors"].startswith("(ICM and RGPE have not run on today's engine")
    rows = [line for line in values["table_other_priors_heldout"].splitlines() if line.startswith("| model-tuning")]
    assert rows == ["| model-tuning | best-first | transfer-icm | 6 | 6 | 0/6/0 | +0.00 | 1 | 1 |",
                    "| model-tuning | best-first | transfer-rgpe | 6 | 6 | 6/0/0 | -0.40 | 0.0312 | 0.0625 |"]
    ranks = values["table_other_priors_heldout_ranks"].splitlines()
    # Trial 5: best-first and ICM 0.8 (tied, 1.5), cold 1.5 (3), RGPE 2 (4).
    assert ranks[0] == "| method | model-tuning (6 pairs), rank at 5 |"
    assert ranks[2:6] == ["| best-first | 1.50 |", "| transfer-icm | 1.50 |", "| transfer-rgpe | 4.00 |", "| cold | 3.00 |"]
    assert make_figures.other_priors_values("small")["table_other_priors_heldout"].startswith("(ICM and RGPE have not run on the held-out seeds")


def test_the_hyperprior_ablation_pairs_its_own_file_with_the_hyperprior_suites(tmp_path, monkeypatch):
    """The ablation's file holds one method; the table pairs it with the hyperprior and
    best-first of the suite file beside it, on each suite where both files ran, Holm over
    the whole table."""
    from paper import make_figures

    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(make_figures, "RESULTS", results)
    assert make_figures.ablation_values("full")["table_hyperprior_ablation"].startswith("(the ablation has not run")
    _runs(results / "transfer-synthetic-hyperprior.jsonl", {"hartmann3/sim0.9": CANDIDATES}, seeds=range(10))
    assert make_figures.ablation_values("full")["table_hyperprior_ablation"].startswith("(the ablation has not run")
    # Level with the hyperprior at trial 6 (0.4), ahead of best-first (0.8) on all ten seeds.
    _runs(results / "transfer-synthetic-cold-priors.jsonl", {"hartmann3/sim0.9": {"transfer-hyperprior:cold-priors": [3.0, 2, 1, 0.5, 0.4, 0.4]}}, "ablation", range(10))
    table = make_figures.ablation_values("full")["table_hyperprior_ablation"]
    rows = [line for line in table.splitlines() if line.startswith("| synthetic")]
    assert rows == ["| synthetic | transfer-hyperprior:cold-priors | transfer-hyperprior | 6 | 10 | 0/10/0 | +0.00 | 1 | 1 |",
                    "| synthetic | transfer-hyperprior:cold-priors | best-first | 6 | 10 | 10/0/0 | -0.30 | 0.00195 | 0.00391 * |"]
    assert "model-tuning" not in table
    assert make_figures.ablation_values("small")["table_hyperprior_ablation"].startswith("(the ablation has not run")


def test_the_matched_budget_table_sets_each_method_at_10_trials_against_cold_start_at_40():
    """Issue 13's goals at matched budgets: one row per (suite, band, budgets), the default's
    column first, each cell the method's win / tie / loss against cold start after 4x (or
    2x) the trials, with Holm's correction over every cell of the table."""
    cold = np.geomspace(1.0, 1e-4, 50)
    fast = cold[np.minimum(4 * np.arange(1, 51), 50) - 1] * 0.5  # trial t at cold's 4t, halved
    rows = []
    for s in range(6):
        for problem, methods in (("h/sim0.9", {"cold": cold, "transfer-icm": cold, "best-first": fast}), ("h/far", {"cold": cold, "transfer-icm": cold, "best-first": cold})):
            rows += [{"problem": problem, "seed": s, "method": m, "optimum": 0.0, "values": list(v)} for m, v in methods.items()]
    text = T.matched_budget_table({"synthetic": T.M.curves(rows)})
    lines = text.splitlines()
    assert lines[0] == "| suite | band | method's trials vs cold start's | pairs | best-first | transfer-icm |"
    cells = {tuple(c.strip() for c in line.split("|")[1:4]): [c.strip() for c in line.split("|")[5:7]] for line in lines[2:6]}
    related, adversarial = cells[("synthetic", "related (similarity >= 0.75)", "10 vs 40")], cells[("synthetic", "adversarial parents", "10 vs 40")]
    assert related[0].startswith("6/0/0, -0.30, ")  # half cold start's regret after 4x fewer trials
    assert related[1].startswith(f"0/0/6, {np.log10(cold[9] / cold[39]):+.2f}, ")
    assert adversarial[0].startswith("0/0/6, ") and cells[("synthetic", "related (similarity >= 0.75)", "25 vs 50")][0].startswith("6/0/0, ")
    # Eight cells, each p = 0.03125 (six pairs one way): Holm's first step multiplies by 8.
    assert all(c.endswith("0.25") for cs in cells.values() for c in cs)


def test_the_matched_budget_tables_read_the_held_out_icm_rgpe_files_each_on_its_own(tmp_path, monkeypatch):
    """``table_matched_budget_heldout`` reads each suite's held-out ICM / RGPE file alone
    (its methods against its own cold start) and only for the full configuration; without
    the files each table says what has not run."""
    from paper import make_figures

    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(make_figures, "RESULTS", results)
    assert all(v.startswith("(the suites have not run") for v in make_figures.matched_budget_values("full").values())
    cold = list(np.geomspace(1.0, 1e-4, 50))
    _runs(results / "transfer-synthetic-heldout-icm-rgpe.jsonl", {"hartmann3/sim0.9": {"cold": cold, "best-first": cold}}, "heldout-icm-rgpe", range(20, 26))
    values = make_figures.matched_budget_values("full")
    assert values["table_matched_budget"].startswith("(the suites have not run on today's engine")
    row = next(line for line in values["table_matched_budget_heldout"].splitlines() if "10 vs 40" in line)
    assert row.startswith("| synthetic | related (similarity >= 0.75) | 10 vs 40 | 6 | 0/0/6, ")
    assert make_figures.matched_budget_values("small")["table_matched_budget_heldout"].startswith("(the suites have not run")


def test_the_pace_tables_read_the_suites_with_icm_and_rgpe_beside_them(tmp_path, monkeypatch):
    """``table_pace`` gives each file's paced saving per band and ``table_endgame`` each
    method's trials from the parents' level on related parents, a suite's three files (the
    candidates, ICM / RGPE, the cold-start control) read together; a suite whose files have
    not all run is left out, and with none the tables say so."""
    from paper import make_figures

    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(make_figures, "RESULTS", results)
    assert all(v.startswith("(the transfer suites have not run") for v in make_figures.pace_values("full").values())
    cold = np.geomspace(1.0, 1e-4, 50)  # 0.0111 after 25 trials, first <= 0.1 at trial 14
    config = {"name": "x", "suite": "synthetic", "budget": 50, "n_parents": 2, "parent_trials": 4, "top_k": 2, "seeds": [0, 1]}
    header = {"config": config, "methods_run": [], "machine": {"cpu": "test CPU", "cores": 2}}

    def write(stem, methods):
        rows = [header]
        for seed, at_best in ((0, [0.5, 0.1]), (1, [1e-5, 0.9])):
            rows.append({"problem": "hartmann3/sim0.9", "seed": seed, "parents": {"trials": [4, 4], "target_at_best": at_best}})
            rows += [{"problem": "hartmann3/sim0.9", "seed": seed, "method": m, "optimum": 0.0, "values": list(v), "parent_trials": 8} for m, v in methods.items()]
        (results / f"{stem}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    write("transfer-synthetic-hyperprior", {"cold": cold, "best-first": cold})
    assert make_figures.pace_values("full")["table_pace"].startswith("(the transfer suites have not run")  # its ICM / RGPE file is missing
    write("transfer-synthetic-icm-rgpe", {"cold": cold, "transfer-icm": cold**2})
    assert make_figures.pace_values("full")["table_pace"].startswith("(the transfer suites have not run")  # nor its control
    write("transfer-synthetic-coldcontrol", {"cold": cold, "cold-reseeded": np.r_[cold[3:], [cold[-1]] * 3]})
    values = make_figures.pace_values("full")
    rows = [line for line in values["table_pace"].splitlines() if line.startswith("| synthetic")]
    # One band, so pooled. At 25 trials seed 0 takes both parents' points, then cold start's
    # 25 - 14 trials (25 / 13 = 1.92x), seed 1 its first point (25x); at 50, 50 / (2 + 50 - 14)
    # and 50x. The control, cold start three trials ahead, takes the same stretch at 25 trials.
    at_25 = "2 | 13.46x [7.69, 19.23] | 50% | 50%"
    assert rows == [f"| synthetic, seeds 0-19 | all | cold start's own | {at_25} | 25.66x [13.49, 37.83] | 50% | 50% | 0 / 0 |",
                    f"| synthetic, seeds 0-19 | all | the control's | {at_25} | - | - | - | 0 / 0 |"]
    endgame = {line.split(" | ")[1]: line.split(" | ")[2:] for line in values["table_endgame"].splitlines()[2:]}
    assert endgame["best-first"][:4] == ["1", "11.0 [11.0, 11.0]", "11.0 [11.0, 11.0]", "0 / 1 / 0"]
    assert endgame["transfer-icm"][:4] == ["1", "11.0 [11.0, 11.0]", "5.0 [5.0, 5.0]", "1 / 0 / 0"]
    # The control (cold start on another seed, here three trials ahead) is listed after the candidates.
    assert list(endgame)[-1] == "cold-reseeded" and endgame["cold-reseeded"][:4] == ["1", "11.0 [11.0, 11.0]", "11.0 [11.0, 11.0]", "0 / 1 / 0"]
    assert make_figures.pace_values("small")["table_endgame"].startswith("(the transfer suites have not run")
