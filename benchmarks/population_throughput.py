"""Throughput of the image-classifier harness: one trial at a time against vmapped
populations of 2, 4, 8 and 16 trials, on whatever device JAX finds.

Prints images per second (summed over the population) and trials per hour (for
``--epochs`` epochs per trial), after one warm-up epoch that compiles.

    python benchmarks/population_throughput.py                           # digits 8x8, ResNet-8 (CPU-sized)
    python benchmarks/population_throughput.py --num-layers 20 --image-shape 3,32,32 --batch 128
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

from warmstart_bo.harness import ImageClassifier, load_digits
from warmstart_bo.harness.train import (
    check_hyperparameters,
    train_epoch,
    train_epoch_population,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--num-layers", type=int, default=8)
    ap.add_argument("--image-shape", default="1,8,8")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=10, help="epochs per trial, for trials per hour")
    ap.add_argument("--populations", default="1,2,4,8,16")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    data = load_digits(args.image_shape)
    clf = ImageClassifier(data, num_layers=args.num_layers, image_shape=args.image_shape, mini_batch_size=args.batch)
    hp = check_hyperparameters({**clf.static})
    _, model, tx = clf._setup(hp)
    x, y = jnp.asarray(data.train_x), jnp.asarray(data.train_y)
    steps = len(data.train_y) // args.batch
    images = steps * args.batch
    device = jax.devices()[0]
    print(f"device: {device.device_kind} ({device.platform}); ResNet-{args.num_layers}, images {args.image_shape}, batch {args.batch}, {images} images per epoch")
    print(f"{'trials':>7} {'mode':>12} {'s/epoch':>9} {'images/s':>10} {'trials/hour':>12} {'speed-up':>9}")
    base = None
    for p in [int(v) for v in args.populations.split(",")]:
        members = [clf._init({**hp, "seed": i}, model, tx, x[:1]) for i in range(p)]
        kw = dict(model=model, tx=tx, batch_size=args.batch, augmentation_type=hp["augmentation_type"])
        if p == 1:
            params, stats, opt, key = members[0]
            run = lambda: jax.block_until_ready(train_epoch(params, stats, opt, key, x, y, **kw))
            mode = "one trial"
        else:
            params, stats, opt, keys = jax.tree.map(lambda *a: jnp.stack(a), *members)
            run = lambda: jax.block_until_ready(train_epoch_population(params, stats, opt, keys, x, y, **kw))
            mode = "vmap"
        run()  # compile
        start = time.perf_counter()
        for _ in range(args.repeats):
            run()
        per_epoch = (time.perf_counter() - start) / args.repeats
        trials_per_hour = 3600.0 * p / (per_epoch * args.epochs)
        base = base or trials_per_hour
        print(f"{p:>7} {mode:>12} {per_epoch:>9.3f} {images * p / per_epoch:>10.0f} {trials_per_hour:>12.0f} {trials_per_hour / base:>8.2f}x")


if __name__ == "__main__":
    main()
