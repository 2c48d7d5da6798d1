"""Warm start on real training: three tuning jobs of the Flax image classifier.

1. cold: 10 trials, 2 at a time, over learning_rate in [1e-4, 0.05] (log), momentum and
   weight_decay in [0, 0.99];
2. identical: the same task, warm-started from (1) with IDENTICAL_DATA_AND_ALGORITHM;
3. transfer: augmentation_type changed to crop_color_transform, warm-started from (1) and
   (2) with TRANSFER_LEARNING.

Writes ``table.md`` (best validation accuracy per job, and after 1, 3 and 10 trials) and
``objective_over_time.png`` (validation accuracy of every trial against the time it
finished, one colour per job) to ``--out``.

    python experiments/image_classifier_warm_start.py                 # small CPU configuration (digits, ResNet-8)
    python experiments/image_classifier_warm_start.py --num-layers 20 --image-shape 3,32,32 --data-folder PATH --epochs 20
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from warmstart_bo import (
    ContinuousParameter,
    HyperparameterTuner,
    Store,
    WarmStartConfig,
    WarmStartTypes,
)
from warmstart_bo.harness import ImageClassifier, load_digits, load_image_folder

RANGES = {
    "learning_rate": ContinuousParameter(1e-4, 0.05, "Logarithmic"),
    "momentum": ContinuousParameter(0.0, 0.99, "Linear"),
    "weight_decay": ContinuousParameter(0.0, 0.99, "Linear"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="experiments/results/image_classifier")
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--num-layers", type=int, default=8)
    ap.add_argument("--image-shape", default="1,8,8")
    ap.add_argument("--mini-batch-size", type=int, default=64)
    ap.add_argument("--data-folder", default=None, help="one folder per class; default: scikit-learn's digits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--executor", default="population", choices=("population", "threads"), help="population: parallel trials train as one network")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "store.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(db)
    if args.data_folder:
        data = load_image_folder(args.data_folder, args.image_shape)
    else:
        data = load_digits(args.image_shape)
    static = dict(num_layers=args.num_layers, image_shape=args.image_shape, num_classes=data.num_classes, mini_batch_size=args.mini_batch_size, epochs=args.epochs, optimizer="sgd")
    common = dict(objective_type="Maximize", max_jobs=args.trials, max_parallel_jobs=args.parallel, store=store, executor=args.executor, progress=False)
    jobs = [
        ("cold", "crop", None),
        ("identical", "crop", WarmStartConfig(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, ["cold"])),
        ("transfer", "crop_color_transform", WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, ["cold", "identical"])),
    ]
    start = time.time()
    for i, (name, augmentation, warm) in enumerate(jobs):
        estimator = ImageClassifier(data, augmentation_type=augmentation, **static)
        HyperparameterTuner(estimator, "validation:accuracy", RANGES, random_seed=args.seed + i, warm_start_config=warm, **common).fit(job_name=name)
        print(f"{name}: done at {time.time() - start:.0f} s", flush=True)
    rows = ["| job | warm start | augmentation | best validation accuracy | best after 1 / 3 / all trials |", "|---|---|---|---|---|"]
    for name, augmentation, warm in jobs:
        acc = [t.objective if t.objective is not None else np.nan for t in store.trials(name)]
        running = np.fmax.accumulate(np.nan_to_num(acc, nan=0.0))
        kind = "none" if warm is None else f"{warm.warm_start_type} from {', '.join(warm.parents)}"
        rows.append(f"| {name} | {kind} | {augmentation} | {np.nanmax(acc):.4f} | {running[0]:.4f} / {running[min(2, len(running) - 1)]:.4f} / {running[-1]:.4f} |")
    device = __import__("jax").devices()[0]
    header = f"{len(jobs)} jobs x {args.trials} trials ({args.parallel} in parallel, executor {args.executor}), ResNet-{args.num_layers}, {args.epochs} epochs, image shape {args.image_shape}, on {device.device_kind} ({platform.machine()}, {os.cpu_count()} cores); {time.time() - start:.0f} s in all\n\n"
    (out / "table.md").write_text(header + "\n".join(rows) + "\n")
    print(header + "\n".join(rows))
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2), dpi=120)
    ax = fig.add_subplot()
    for name, _, _ in jobs:
        trials = [t for t in store.trials(name) if t.objective is not None]
        ax.plot([t.end_time - start for t in trials], [t.objective for t in trials], "o", label=name)
    ax.set_xlabel("seconds since the first job started")
    ax.set_ylabel("validation:accuracy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "objective_over_time.png")
    print(f"wrote {out / 'table.md'} and {out / 'objective_over_time.png'}")


if __name__ == "__main__":
    main()
