"""The cold-start suite's runner resumes without repeating work, and its tables measure the
incumbent a user would pick."""

import json

import numpy as np

from benchmarks import coldstart_table as T
from experiments import coldstart


def test_runner_writes_json_lines_and_resumes(tmp_path):
    config = {"name": "tiny", "functions": ["branin", "mixed-training"], "seeds": [0, 1], "budget": 3,
              "methods": ["random", "ours", "ours:d1"], "variants": {"d1": {"n_initial_points": "d+1", "priors": {"lengthscale": "lognormal"}}}}
    path, out = tmp_path / "tiny.json", tmp_path / "tiny.jsonl"
    path.write_text(json.dumps(config))
    coldstart.main([str(path), "--out", str(out), "--no-progress", "--seeds", "0"])
    first = out.read_text().splitlines()
    assert json.loads(first[0])["config"] == config
    assert len(first) == 1 + 3 * 2
    coldstart.main([str(path), "--out", str(out), "--no-progress"])
    lines = out.read_text().splitlines()
    assert lines[: len(first)] == first
    runs = [json.loads(line) for line in lines[1:]]
    assert sorted((r["method"], r["function"], r["seed"]) for r in runs) == sorted(
        (m, f, s) for m in config["methods"] for f in config["functions"] for s in config["seeds"])
    assert all(len(r["values"]) == 3 and r["values"] == r["true_values"] for r in runs)


def test_variant_arguments():
    kw = coldstart.optimizer_kwargs({"priors": {"lengthscale": "lognormal", "noise_scale": 1.0}, "output_transform": "yeo-johnson",
                                     "n_initial_points": "d+1"}, 4)
    assert kw["n_initial_points"] == 5 and kw["output_transform"] == "yeo-johnson"
    assert kw["priors"].noise_scale == 1.0 and kw["priors"].lengthscale_loc < 0.0
    assert coldstart.optimizer_kwargs({}, 4) == {}


def test_regret_is_the_true_value_of_the_observed_incumbent():
    run = {"values": [5.0, 1.0, 2.0, 0.5], "true_values": [5.0, 3.0, 0.1, 0.7], "optimum": 0.0}
    np.testing.assert_allclose(T.regret_curve(run), [5.0, 3.0, 3.0, 0.7])


def test_ranks_share_ties_and_compare_is_paired():
    final = {"a": np.array([1.0, 2.0]), "b": np.array([1.0, 3.0]), "c": np.array([0.5, 4.0])}
    assert T.ranks(final) == {"a": 1.75, "b": 2.25, "c": 2.0}
    runs = [{"method": m, "function": "f", "seed": s, "values": [v], "true_values": [v], "optimum": 0.0}
            for m, vs in {"a": [1.0, 2.0, 0.1], "b": [2.0, 3.0]}.items() for s, v in enumerate(vs)]
    text = T.compare(runs, "a", "b")
    assert "| f | 2 | 1.5 | 2.5 | 2 | 0 |" in text


def test_baseline_file_compares_a_method_with_its_earlier_run(tmp_path, capsys):
    header = json.dumps({"config": {"functions": ["f", "g"]}})

    def write(name, values, first_seed=0):
        runs = [{"method": "ours", "function": f, "seed": s, "values": [v], "true_values": [v], "optimum": 0.0}
                for f, vs in values.items() for s, v in enumerate(vs, first_seed)]
        path = tmp_path / name
        path.write_text("\n".join([header, *map(json.dumps, runs)]))
        return path

    after = write("after.jsonl", {"f": [1.0, 2.0, 0.5], "g": [1.0, 1.0, 1.0]})
    before = write("before.jsonl", {"f": [2.0, 3.0, 0.5], "g": [1.0, 1.0]})
    T.main([str(after), "--baseline", str(before), "--compare", "ours", "ours (baseline)"])
    out = capsys.readouterr().out
    assert "| f | 3 | 1 | 2 | 2 | 0 |" in out
    assert "| g | 2 | 1 | 1 | 0 | 0 | - |" in out  # only the seeds both runs finished
    more_after, more_before = write("more-after.jsonl", {"g": [0.5]}, 2), write("more-before.jsonl", {"g": [2.0]}, 2)
    T.main([str(after), str(more_after), "--baseline", str(before), str(more_before), "--compare", "ours", "ours (baseline)"])
    assert "| g | 3 | 1 | 1 | 1 | 0 |" in capsys.readouterr().out  # seed 2 pooled from the second files
