import json
import sys
import textwrap
from pathlib import Path

import pytest

from warmstart_bo import Store, cli

TRAIN = textwrap.dedent(
    """
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float)
    p.add_argument("--layers", type=int)
    p.add_argument("--optimizer")
    p.add_argument("--epochs", type=int)
    a = p.parse_args()
    loss = (a.lr - 0.02) ** 2 * 1e3 + 0.1 * (a.layers - 3) ** 2 + (0.0 if a.optimizer == "adam" else 0.5)
    for epoch in range(1, a.epochs + 1):
        print(f"epoch {epoch}: val_loss={loss + 1.0 / epoch:.6f}")
    print(f"final val_loss={loss:.6f}")
    """
)

CONFIG = textwrap.dedent(
    """
    command: {python} train.py
    metric_definitions:
      - Name: val_loss
        Regex: "val_loss=([-+0-9.eE]+)"
    objective_metric_name: val_loss
    objective_type: Minimize
    hyperparameter_ranges:
      lr: {{type: Continuous, min_value: 1e-3, max_value: 0.1, scaling_type: Logarithmic}}
      layers: {{type: Integer, min_value: 1, max_value: 5}}
      optimizer: {{type: Categorical, values: [sgd, adam]}}
    static_hyperparameters: {{epochs: 2}}
    max_jobs: 14
    max_parallel_jobs: 2
    random_seed: 0
    job_name: cli-job
    """
)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "tune.yaml").write_text(CONFIG.format(python=sys.executable))
    return tmp_path


def test_a_tune_files_store_is_where_the_job_goes_unless_store_names_another(project, tmp_path, monkeypatch):
    """A ``store:`` key was accepted and ignored: the job went to $WARMSTART_BO_STORE (or the
    user's default store)."""
    env_db = tmp_path / "env.db"
    monkeypatch.setenv("WARMSTART_BO_STORE", str(env_db))
    text = CONFIG.format(python=sys.executable).replace("max_jobs: 14", "max_jobs: 2").replace("random_seed: 0", "random_seed: 0\nstore: stores/cfg.db")
    (project / "tune.yaml").write_text(text)
    assert cli.main(["tune", str(project / "tune.yaml"), "--quiet"]) == 0
    assert not env_db.exists()
    assert len(Store(project / "stores" / "cfg.db").trials("cli-job")) == 2  # relative to the file's folder
    other = tmp_path / "other.db"
    assert cli.main(["--store", str(other), "tune", str(project / "tune.yaml"), "--quiet"]) == 0
    assert len(Store(other).trials("cli-job")) == 2 and not env_db.exists()


def test_jobs_stop_release_frees_a_job_whose_process_on_another_host_is_gone(tmp_path, capsys):
    import sqlite3

    db = tmp_path / "s.db"
    Store(db).create_job("remote", {})
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE jobs SET owner_host = 'node-a', owner_pid = 4242 WHERE name = 'remote'")
    assert cli.main(["--store", str(db), "jobs", "stop", "--release", "remote"]) == 0
    assert "job remote released: Stopped" in capsys.readouterr().out
    assert Store(db).claim_job("remote").status == "InProgress"


def test_tune_a_command_line_end_to_end(project, capsys):
    db = str(project / "s.db")
    assert cli.main(["--store", db, "tune", str(project / "tune.yaml"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "job cli-job: Completed" in out and "best trial of job cli-job: cli-job-" in out
    store = Store(db)
    trials = store.trials("cli-job")
    assert len(trials) == 14 and all(t.status == "Completed" for t in trials)
    for t in trials:  # the objective is the script's last printed val_loss
        hp = t.hyperparameters
        expected = (hp["lr"] - 0.02) ** 2 * 1e3 + 0.1 * (hp["layers"] - 3) ** 2 + (0.0 if hp["optimizer"] == "adam" else 0.5)
        assert t.objective == pytest.approx(expected, abs=1e-6)
        assert len(t.intermediate) == 3
    assert min(t.objective for t in trials) < 0.5

    # Running the same file again names a finished job: a clear error, nothing changed.
    assert cli.main(["--store", db, "tune", str(project / "tune.yaml"), "--quiet"]) == 2
    assert "already exists and is Completed" in capsys.readouterr().err
    assert store.trials("cli-job") == trials

    assert cli.main(["--store", db, "jobs", "list"]) == 0
    listing = capsys.readouterr().out
    assert "cli-job" in listing and "Completed" in listing and "14/14" in listing and "14 completed" in listing
    assert cli.main(["--store", db, "jobs", "describe", "cli-job"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["TrainingJobStatusCounters"]["Completed"] == 14
    csv, png = project / "t.csv", project / "t.png"
    assert cli.main(["--store", db, "analytics", "cli-job", "--csv", str(csv), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "cli-job-013" in out and csv.exists() and png.read_bytes()[:4] == b"\x89PNG"
    # The table imports back as the job it was: its metric and ranges from the export's sidecar.
    assert cli.main(["--store", db, "import", "cli-job-copy", "--csv", str(csv)]) == 0
    copy, original = store.job("cli-job-copy").config, store.job("cli-job").config
    assert copy["objective_metric_name"] == "val_loss" and copy["hyperparameter_ranges"] == original["hyperparameter_ranges"]
    assert cli.main(["--store", db, "import", "cli-job-max", "--csv", str(csv), "--objective-type", "Maximize"]) == 0
    assert store.job("cli-job-max").config["objective_type"] == "Maximize"  # an option given wins


def test_cli_errors_are_one_line(project, capsys, tmp_path):
    db = str(tmp_path / "s.db")
    typo = tmp_path / "s.bd"
    for command in (["jobs", "list"], ["jobs", "describe", "x"], ["analytics", "x"]):
        assert cli.main(["--store", str(typo), *command]) == 2
        assert f"no store at {str(typo)!r}: '{command[0]}' reads an existing store" in capsys.readouterr().err
    assert not typo.exists()  # a mistyped --store creates nothing
    Store(db)
    assert cli.main(["--store", db, "jobs", "describe", "missing"]) == 2
    assert "no tuning job named 'missing'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONFIG.format(python=sys.executable).replace("max_value: 5", "max_value: 0"))
    assert cli.main(["--store", db, "tune", str(bad)]) == 2
    assert "hyperparameter 'layers': min_value must be less than max_value" in capsys.readouterr().err
    (tmp_path / "typo.json").write_text(json.dumps({"comand": "x"}))
    assert cli.main(["--store", db, "tune", str(tmp_path / "typo.json")]) == 2
    assert "unknown setting 'comand'" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text('{"command": "x",')
    assert cli.main(["--store", db, "tune", str(tmp_path / "broken.json")]) == 2
    assert f"{tmp_path / 'broken.json'}: not valid JSON" in capsys.readouterr().err
    assert cli.main(["--store", db, "analytics", "cli-job", "--compare", "other"]) == 2
    assert "--compare puts other jobs beside this one in the plot: give --plot PATH too" in capsys.readouterr().err
    not_a_store = tmp_path / "notes.txt"
    not_a_store.write_text("hello " * 100)
    assert cli.main(["--store", str(not_a_store), "jobs", "list"]) == 2
    assert "not a warmstart-bo store" in capsys.readouterr().err
    assert not_a_store.read_text() == "hello " * 100


def test_demo_runs_a_warm_start_and_prints_tables_and_plot(tmp_path, capsys):
    db = tmp_path / "demo.db"
    assert cli.main(["--store", str(db), "demo", "--trials", "6", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    plot = out.split("written to ")[1].split()[0]
    assert Path(plot).read_bytes()[:4] == b"\x89PNG"
    store = Store(db)
    jobs = {j.name.split("-")[1]: j for j in store.jobs()}
    assert set(jobs) == {"parent", "warm", "cold"} and all(j.status == "Completed" for j in jobs.values())
    assert jobs["warm"].parents == (jobs["parent"].name,)
    assert len(store.trials(jobs["parent"].name)) == 12 and len(store.trials(jobs["warm"].name)) == 6
    progress, table = out.split("Trials of the warm job and of its parent")
    # Progress as it runs: each job announced, then one line per trial.
    assert progress.index(f"1/3 parent job {jobs['parent'].name}") < progress.index("parent trial 12/12") < progress.index(f"2/3 warm job {jobs['warm'].name}")
    assert progress.index("warm trial  6/6") < progress.index(f"3/3 cold job {jobs['cold'].name}") < progress.index("cold trial  6/6")
    table = table.split("Best loss of each job")[0]
    assert table.count(jobs["parent"].name + "-") == 12 and table.count(jobs["warm"].name + "-") == 6  # table with parents
    first = {k: store.trials(j.name)[0].objective for k, j in jobs.items()}
    assert first["warm"] < first["cold"]  # the parent's knowledge shows from the first trial
    assert "warm start (related task)" in out and "cold start (related task)" in out
    assert f"best trial of job {jobs['warm'].name}: {jobs['warm'].name}-" in out


def test_jobs_list_counts_trials_by_status(tmp_path, capsys):
    """A job whose trials were partly stopped early reads as finished: 20/20, 15 completed, 5 stopped."""
    store = Store(tmp_path / "s.db")
    config = {"objective_type": "Minimize", "max_jobs": 20}
    store.create_job("early", config)
    for i in range(20):
        store.add_trial("early", i, {"x": i})
        store.finish_trial("early", i, "Stopped" if i % 4 == 3 else "Completed", float(i), {})
    store.finish_job("early", "Completed", "20 trials done")
    store.create_job("running", dict(config, max_jobs=8))
    store.add_trial("running", 0, {"x": 0})
    assert cli.main(["--store", str(tmp_path / "s.db"), "jobs", "list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "BY STATUS" in rows["NAME"]
    assert rows["early"].split()[1:6] == ["Completed", "20/20", "15", "completed,", "5"] and "5 stopped" in rows["early"]
    assert "1/8" in rows["running"] and "1 running" in rows["running"]


def test_analytics_prints_both_bests_and_plots_a_compared_job(tmp_path, capsys):
    store = Store(tmp_path / "s.db")
    config = {"objective_type": "Minimize", "objective_metric_name": "loss", "max_jobs": 2, "hyperparameter_ranges": {}}
    for name, values, parents in (("parent", [1.0, 0.5], []), ("warm", [2.0, 0.9], ["parent"]), ("cold", [5.0, 3.0], [])):
        ws = {"warm_start_type": "TransferLearning", "parents": parents} if parents else None
        store.create_job(name, dict(config, warm_start_config=ws), parents=parents)
        for i, v in enumerate(values):
            store.add_trial(name, i, {})
            store.finish_trial(name, i, "Completed", v, {"loss": v})
        store.finish_job(name, "Completed", "done")
    png = tmp_path / "warm.png"
    assert cli.main(["--store", str(tmp_path / "s.db"), "analytics", "warm", "--include-parents", "--plot", str(png), "--compare", "cold"]) == 0
    out = capsys.readouterr().out
    assert "best trial of job warm: warm-001, loss = 0.9" in out
    assert "best over the job and its parents (OverallBestTrainingJob), from parent job parent: parent-001, loss = 0.5" in out
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["--store", str(tmp_path / "s.db"), "analytics", "warm", "--plot", str(png), "--compare", "nope"]) == 2
    assert "no tuning job named 'nope'" in capsys.readouterr().err


def test_a_stopped_command_line_job_resumes_from_the_store_alone(project):
    import time

    from warmstart_bo import HyperparameterTuner

    store = Store(project / "s.db")
    tuner = cli.tuner_from_config(cli.load_config(project / "tune.yaml"), project, store)
    tuner.progress = False
    tuner.fit(job_name="resumable", wait=False)
    while sum(t.status == "Completed" for t in store.trials("resumable")) < 4:
        time.sleep(0.05)
    tuner.stop()
    tuner.wait()
    assert store.job("resumable").status == "Stopped"
    kept = [t for t in store.trials("resumable") if t.status == "Completed"]
    HyperparameterTuner.attach("resumable", store=store, progress=False).resume()  # no estimator given
    after = store.trials("resumable")
    assert store.job("resumable").status == "Completed" and len(after) == 14
    assert all(after[t.index] == t for t in kept)


def test_config_and_input_errors_are_one_line(project, capsys, tmp_path):
    """Each of these printed a traceback; each is now one line naming the problem."""
    import sqlite3

    db = str(tmp_path / "s.db")

    def error(*argv):
        assert cli.main(["--store", db, *argv]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        return err

    (tmp_path / "syntax.yaml").write_text("command: [python\nmax_jobs: 3\n")
    assert "syntax.yaml: not valid YAML" in error("tune", str(tmp_path / "syntax.yaml"))
    (tmp_path / "tag.yaml").write_text("command: !!python/object/apply:os.system ['echo owned']\n")
    assert "tag.yaml: not valid YAML" in error("tune", str(tmp_path / "tag.yaml"))
    ray = CONFIG.format(python=sys.executable) + "executor: {kind: ray, num_cpu: 2}\n"
    (tmp_path / "ray.yaml").write_text(ray)
    assert "unknown RayExecutor setting 'num_cpu'" in error("tune", str(tmp_path / "ray.yaml"))
    (tmp_path / "header.csv").write_text("x,FinalObjectiveValue\n")
    assert "has no rows" in error("import", "h", "--csv", str(tmp_path / "header.csv"))
    (tmp_path / "one.csv").write_text("x,y,FinalObjectiveValue\n0.5,3,1.0\n")
    assert "cannot infer a range for any hyperparameter" in error("import", "one", "--csv", str(tmp_path / "one.csv"))
    (tmp_path / "empty.csv").write_text("")
    assert "empty.csv" in error("import", "e", "--csv", str(tmp_path / "empty.csv"))
    # A table corrupted behind the store's back, after it was opened (no quick_check then).
    store = Store(db)
    store.create_job("j", {"objective_type": "Minimize", "objective_metric_name": "loss"})
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = 'CREATE TABLE trials (broken' WHERE name = 'trials'")
    conn.commit()
    conn.close()
    assert "store" in error("jobs", "list")


def test_a_store_damaged_after_opening_is_one_line(tmp_path, capsys, monkeypatch):
    import sqlite3

    def malformed(self):
        raise sqlite3.DatabaseError("database disk image is malformed")

    Store(tmp_path / "s.db")
    monkeypatch.setattr(Store, "jobs", malformed)
    assert cli.main(["--store", str(tmp_path / "s.db"), "jobs", "list"]) == 2
    err = capsys.readouterr().err
    assert err == "warmstart-bo: error: the store cannot be read, it may be damaged: database disk image is malformed\n"
