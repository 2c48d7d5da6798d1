"""Warm start on real training, with matched-budget controls: tuning the Flax image classifier.

Per seed, six tuning jobs in one store (kept, so every trial can be audited):

1. ``cold``: ``trials`` trials on task A (no augmentation, the built-in default) over
   learning rate, momentum and weight decay;
2. ``identical``: task A again, warm-started from (1) with IDENTICAL_DATA_AND_ALGORITHM;
3. ``transfer``: task B (random crops, and a changed search space: another learning-rate
   range), warm-started from (1) and (2) with TRANSFER_LEARNING;
4. ``cold-20`` and ``cold-30``: cold jobs on task A with the budget that (1)+(2) and
   (1)+(2)+(3) spent, the controls a skeptic asks for: does a warm start beat simply
   running the first job longer?
5. ``cold-b``: a cold job of ``trials`` trials on task B, the like-for-like control of (3).

The task (data, network, epochs) is set in the config so that a 10-trial cold job does not
saturate: one or two epochs on half of scikit-learn's digits, where the learning rate and
momentum decide between ~0.1 and ~0.95 validation accuracy. Every trial trains for real.

Writes ``experiments/results/image_classifier/<name>/seed-<s>.db`` (the stores) and
``image_classifier-<name>.jsonl`` (a header, then one line per seed and job: each trial's
validation accuracy in order and the job's wall-clock). A seed whose six jobs are stored is
skipped, so an interrupted run resumes. ``paper/make_figures.py`` reads the JSON lines.

    python experiments/image_classifier_warm_start.py experiments/configs/image_classifier.json
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.results_file import RESULTS, append, arguments, machine, resume
from warmstart_bo import (
    ContinuousParameter,
    HyperparameterTuner,
    Store,
    WarmStartConfig,
    WarmStartTypes,
)

OBJECTIVE = "validation:accuracy"


def space(task: str) -> dict:
    """Task A's search space, and task B's (the learning-rate range moved up a decade)."""
    lr = (1e-4, 0.3) if task == "A" else (1e-3, 1.0)
    return {
        "learning_rate": ContinuousParameter(*lr, "Logarithmic"),
        "momentum": ContinuousParameter(0.0, 0.99, "Linear"),
        "weight_decay": ContinuousParameter(1e-6, 1e-1, "Logarithmic"),
    }


def jobs(trials: int) -> list[tuple[str, str, int, tuple[str, ...], str | None]]:
    """(name, task, max_jobs, parents, warm start type) in the order they run."""
    return [
        ("cold", "A", trials, (), None),
        ("identical", "A", trials, ("cold",), WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM),
        ("transfer", "B", trials, ("cold", "identical"), WarmStartTypes.TRANSFER_LEARNING),
        ("cold-20", "A", 2 * trials, (), None),
        ("cold-30", "A", 3 * trials, (), None),
        ("cold-b", "B", trials, (), None),
    ]


def run_seed(config: dict, seed: int, db: Path) -> list[dict]:
    from warmstart_bo.harness import ImageClassifier, load_digits

    data = load_digits(config["image_shape"], val_fraction=config["val_fraction"], seed=seed)
    static = {"num_layers": config["num_layers"], "image_shape": config["image_shape"], "num_classes": data.num_classes,
                  "mini_batch_size": config["mini_batch_size"], "epochs": config["epochs"], "optimizer": "sgd", "seed": seed}
    store = Store(db)
    rows = []
    for k, (name, task, max_jobs, parents, kind) in enumerate(jobs(config["trials"])):
        estimator = ImageClassifier(data, augmentation_type="none" if task == "A" else "crop", **static)
        warm = WarmStartConfig(kind, list(parents)) if kind else None
        start = time.perf_counter()
        if name not in {j.name for j in store.jobs()} or store.job(name).status != "Completed":
            HyperparameterTuner(
                estimator, OBJECTIVE, space(task), objective_type="Maximize", max_jobs=max_jobs,
                max_parallel_jobs=config["parallel"], store=store, executor="population", progress=False,
                random_seed=1000 * seed + k, warm_start_config=warm,
            ).fit(job_name=name)
        trials = store.trials(name)
        rows.append({
            "seed": seed, "job": name, "task": task, "parents": list(parents), "warm_start_type": kind,
            "values": [t.objective for t in trials], "statuses": [t.status for t in trials],
            "seconds": time.perf_counter() - start,
        })
    return rows


def main(argv=None) -> None:
    args = arguments(__doc__).parse_args(argv)
    config = json.loads(Path(args.config).read_text())
    stores = RESULTS / "image_classifier" / config["name"]
    out = RESULTS / f"image_classifier-{config['name']}.jsonl"
    stores.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        for p in stores.glob("seed-*.db*"):
            p.unlink()

    def header() -> dict:
        import jax

        import warmstart_bo

        return {"config": config, "warmstart_bo": warmstart_bo.__version__, "jax": jax.__version__,
                "device": jax.devices()[0].device_kind, "machine": machine(),
                "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}

    _, rows = resume(out, config, args.fresh, header)
    done = {r["seed"] for r in rows}
    from tqdm import tqdm

    for seed in tqdm([s for s in config["seeds"] if s not in done], disable=args.no_progress, desc=f"image_classifier-{config['name']}", unit="seed"):
        append(out, run_seed(config, seed, stores / f"seed-{seed}.db"))
    print(f"results in {out}, stores in {stores}")


if __name__ == "__main__":
    main()
