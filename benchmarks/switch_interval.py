"""The interpreter's thread switch interval during compile-ahead, paired run by run.

A 300-trial cold job with a trivial objective (``engine_scale.job_asks``) in fresh processes
sharing one compile cache: one run fills the cache, then each repeat runs every setting of
``WARMSTART_BO_SWITCH_INTERVAL`` in turn, so that the settings see the machine's load alike.
Per setting and padded size it prints the slowest ask over the median ask of that size in
each repeat, and the asks' total. ``--cold`` runs each setting with an empty cache instead
(every size compiles during the job): the slowest ask of each size, and a new process's
first ask at n = 20 (``engine_scale``'s ``fresh``), so that the setting's cost to
compilation shows.

    python benchmarks/switch_interval.py --repeats 5 --json experiments/results/switch-interval/run.json
    python benchmarks/switch_interval.py --cold --settings off,0.0005 --repeats 2 --json experiments/results/switch-interval/cold.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.engine_scale import FRESH, JOB, cpu_model  # noqa: E402


def _env(cache: str, setting: str) -> dict:
    return {**os.environ, "WARMSTART_BO_COMPILATION_CACHE": cache, "WARMSTART_BO_SWITCH_INTERVAL": setting, "PYTHONPATH": str(REPO)}


def run_job(cache: str, setting: str, trials: int) -> dict:
    res = subprocess.run([sys.executable, "-c", JOB, str(trials)], env=_env(cache, setting), capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(res.stdout.splitlines()[-1])


def cold(settings: list[str], repeats: int, trials: int) -> dict[str, list[dict]]:
    """Each setting with empty caches, in turn per repeat: a new process's first ask at
    n = 20, then the job."""
    runs: dict[str, list[dict]] = {s: [] for s in settings}
    for repeat in range(repeats):
        for setting in settings:
            with tempfile.TemporaryDirectory() as cache:
                out = subprocess.run([sys.executable, "-c", FRESH], env=_env(cache, setting), capture_output=True, text=True, check=True)
                first_ask = float(out.stdout.split()[1])
            with tempfile.TemporaryDirectory() as cache:
                res = run_job(cache, setting, trials)
            res["fresh_first_ask_s"] = first_ask
            runs[setting].append(res)
            cells = " ".join(f"{b['bucket']}:{b['max_s']:.1f}" for b in res["buckets"])
            print(f"repeat {repeat} {setting:>7s}: new process's first ask {first_ask:.2f} s | job's first ask {res['ask_s'][0]:.2f} s, slowest ask per size (s) {cells}, asks {sum(res['ask_s']):.1f} s", flush=True)
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--settings", default="off,0.001,0.0005,0.0002", help="values of WARMSTART_BO_SWITCH_INTERVAL ('off': the interpreter's 5 ms)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--cold", action="store_true", help="empty caches: compilation during the job")
    ap.add_argument("--json", help="write every run's asks here")
    args = ap.parse_args()
    settings = args.settings.split(",")
    if args.cold:
        write(args, settings, cold(settings, args.repeats, args.trials))
        return
    runs: dict[str, list[dict]] = {s: [] for s in settings}
    with tempfile.TemporaryDirectory() as cache:
        run_job(cache, settings[0], args.trials)  # fills the cache
        for repeat in range(args.repeats):
            for setting in settings:
                res = run_job(cache, setting, args.trials)
                runs[setting].append(res)
                cells = " ".join(f"{b['bucket']}:{b['max_over_median']:.1f}x" for b in res["buckets"])
                print(f"repeat {repeat} {setting:>7s}: {cells}  asks {sum(res['ask_s']):.1f} s", flush=True)
    sizes = [b["bucket"] for b in runs[settings[0]][0]["buckets"]]
    print("\nslowest ask / median ask of its padded size, one cell per repeat")
    print("setting | " + " | ".join(f"{s} rows" for s in sizes) + " | all asks (s)")
    for setting in settings:
        cols = []
        for i, size in enumerate(sizes):
            cols.append(" ".join(f"{r['buckets'][i]['max_over_median']:.1f}" for r in runs[setting] if r["buckets"][i]["bucket"] == size))
        total = " ".join(f"{sum(r['ask_s']):.1f}" for r in runs[setting])
        print(f"{setting} | " + " | ".join(cols) + f" | {total}")
    write(args, settings, runs)


def write(args, settings: list[str], runs: dict[str, list[dict]]) -> None:
    if not args.json:
        return
    import jax

    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    meta = {"machine": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(), "jax": jax.__version__, "commit": commit, "trials": args.trials, "cold": args.cold}
    Path(args.json).write_text(json.dumps({"meta": meta, "settings": settings, "runs": runs}) + "\n")


if __name__ == "__main__":
    main()
