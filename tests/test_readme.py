"""Every Python block of the README runs as written, and so do its command-line examples.

The Python blocks run in order in one namespace (the README says so: a later block may use
an earlier one's names and jobs), in a temporary folder with ``$WARMSTART_BO_STORE`` set to
a temporary store. The ``bash`` block of the command-line section runs on the README's
``tune.yaml`` with a small ``train.py`` written here.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import warmstart_bo

ROOT = Path(warmstart_bo.__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```$", README, flags=re.MULTILINE | re.DOTALL)

# Prints val_loss=... the way the README's tune.yaml expects (its regex), from the
# hyperparameters it passes as --name value arguments.
TRAIN = textwrap.dedent(
    """
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float)
    p.add_argument("--layers", type=int)
    p.add_argument("--optimizer")
    a = p.parse_args()
    print(f"val_loss={(a.lr - 0.01) ** 2 * 1e3 + 0.1 * a.layers + (a.optimizer == 'sgd'):.6f}")
    """
)


def _blocks(language: str) -> list[str]:
    return [code for lang, code in BLOCKS if lang == language]


def _cli_block() -> list[str]:
    """The command lines of the block that starts with ``warmstart-bo tune``."""
    block = next(b for b in _blocks("bash") if b.startswith("warmstart-bo tune"))
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_has_the_blocks_this_test_runs():
    assert len(_blocks("python")) >= 4 and len(_blocks("yaml")) == 1
    assert [shlex.split(c)[:2] for c in _cli_block()] == [
        ["warmstart-bo", "tune"], ["warmstart-bo", "jobs"], ["warmstart-bo", "jobs"], ["warmstart-bo", "analytics"]
    ]


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WARMSTART_BO_STORE", str(tmp_path / "store.db"))
    return tmp_path


def test_every_python_block_runs_in_order(sandbox, capsys):
    namespace = {"__name__": "__readme__"}
    for i, code in enumerate(_blocks("python")):
        exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)
    out = capsys.readouterr().out
    store = warmstart_bo.Store(sandbox / "store.db")
    jobs = {j.name: j for j in store.jobs()}
    assert set(jobs) == {"resnet-lr", "resnet-lr-cifar100", "digits-lr"}
    assert all(j.status == "Completed" for j in jobs.values())
    assert jobs["resnet-lr-cifar100"].parents == ("resnet-lr",)
    d = namespace["d"]
    assert d["BestTrainingJob"]["TuningJobName"] == "resnet-lr-cifar100"
    assert d["OverallBestTrainingJob"]["TuningJobName"] in ("resnet-lr", "resnet-lr-cifar100")
    for png in ("resnet-lr.png", "resnet-lr-cifar100.png"):
        assert (sandbox / png).read_bytes()[:4] == b"\x89PNG"
    assert "validation:accuracy" in out
    best_params, best_value = namespace["opt"].best()
    assert best_value < 3.0 and set(best_params) == {"learning_rate", "momentum", "num_layers", "optimizer"}


def test_the_command_line_examples_run_on_the_readme_yaml(sandbox):
    (sandbox / "tune.yaml").write_text(_blocks("yaml")[0])
    (sandbox / "train.py").write_text(TRAIN)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    # The yaml's `command: python train.py` runs whichever python is first on PATH: this one.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    outputs = []
    for line in _cli_block():
        args = shlex.split(line)
        assert args[0] == "warmstart-bo"
        run = subprocess.run([sys.executable, "-m", "warmstart_bo.cli", *args[1:]], cwd=sandbox, env=env,
                             capture_output=True, text=True, timeout=600, check=False)
        assert run.returncode == 0, f"{line}\n{run.stderr}"
        outputs.append(run.stdout)
    tuned, listing, described, analytics = outputs
    assert "job my-job: Completed" in tuned and "best trial of job my-job: my-job-" in tuned
    assert re.search(r"^my-job\s+Completed\s+12/12\s+12 completed", listing, flags=re.MULTILINE)
    assert json.loads(described)["TrainingJobStatusCounters"]["Completed"] == 12
    assert "my-job-011" in analytics and (sandbox / "t.csv").exists() and (sandbox / "t.png").read_bytes()[:4] == b"\x89PNG"
