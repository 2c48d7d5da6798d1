"""Throughput of the image-classifier harness: one trial at a time against populations of
2, 4, 8 and 16 trials, on whatever device JAX finds.

Each population size runs in three formulations: ``vmap`` (plain ``jax.vmap`` of the
one-trial epoch, the baseline), ``grouped`` (the members' convolutions as one grouped
convolution) and ``matmul`` (convolutions as one batched matrix product over members);
see :mod:`warmstart_bo.harness.population`. Prints images per second (summed over the
population), trials per hour (for ``--epochs`` epochs per trial) and the speed-up over one
trial at a time, after one warm-up epoch that compiles.

    python benchmarks/population_throughput.py                           # digits 8x8, ResNet-8 (CPU-sized)
    python benchmarks/population_throughput.py --num-layers 20 --image-shape 3,32,32 --batch 128
"""

from __future__ import annotations

import argparse
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from warmstart_bo.harness import ImageClassifier
from warmstart_bo.harness.data import Dataset
from warmstart_bo.harness.population import FORMULATIONS
from warmstart_bo.harness.train import (
    check_hyperparameters,
    population_programs,
    train_epoch,
)


def dataset(image_shape: str, n: int):
    """The digits at ``image_shape`` (resized), repeated to ``n`` training images."""
    from warmstart_bo.harness import load_digits

    d = load_digits(image_shape)
    reps = -(-n // len(d.train_y))
    return Dataset(np.concatenate([d.train_x] * reps)[:n], np.concatenate([d.train_y] * reps)[:n], d.val_x, d.val_y, d.num_classes)


def timed(run, repeats: int) -> float:
    run()  # compile
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--num-layers", type=int, default=8)
    ap.add_argument("--image-shape", default="1,8,8")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--train-images", type=int, default=1280, help="images per epoch (the digits, repeated)")
    ap.add_argument("--epochs", type=int, default=10, help="epochs per trial, for trials per hour")
    ap.add_argument("--populations", default="1,2,4,8,16", help="population sizes; 1 shows each formulation's cost for a single trial")
    ap.add_argument("--modes", default="vmap," + ",".join(FORMULATIONS))
    ap.add_argument("--precision", default="float32", choices=("float32", "bfloat16"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    data = dataset(args.image_shape, args.train_images)
    device = jax.devices()[0]
    print(f"device: {device.device_kind} ({device.platform}), {jax.device_count()} device(s); jax {jax.__version__}")
    measure(data, args.num_layers, args.image_shape, args.batch, args.precision, args.epochs,
            [int(v) for v in args.populations.split(",")], args.modes.split(","), args.repeats)


def measure(data: Dataset, num_layers: int, image_shape: str, batch: int, precision: str, epochs: int,
            populations: list[int], modes: list[str], repeats: int) -> list[tuple[int, str, float]]:
    """Prints (and returns) seconds per epoch of one trial and of each population size in
    each formulation."""
    clf = ImageClassifier(data, num_layers=num_layers, image_shape=image_shape, mini_batch_size=batch, precision_dtype=precision)
    hp = check_hyperparameters({**clf.static})
    _, model, tx = clf._setup(hp)
    x, y = jnp.asarray(data.train_x), jnp.asarray(data.train_y)
    images = (len(data.train_y) // batch) * batch
    kw = {"model": model, "tx": tx, "batch_size": batch, "augmentation_type": hp["augmentation_type"], "horizontal_flip": hp["horizontal_flip"]}
    print(f"ResNet-{num_layers}, images {image_shape}, batch {batch}, {precision}, {images} images per epoch, {epochs} epochs per trial")
    print(f"{'trials':>7} {'mode':>10} {'s/epoch':>9} {'images/s':>10} {'trials/hour':>12} {'speed-up':>9}")
    rows = []

    def row(p: int, mode: str, per_epoch: float, base: float | None) -> float:
        trials_per_hour = 3600.0 * p / (per_epoch * epochs)
        print(f"{p:>7} {mode:>10} {per_epoch:>9.3f} {images * p / per_epoch:>10.0f} {trials_per_hour:>12.0f} {trials_per_hour / (base or trials_per_hour):>8.2f}x", flush=True)
        rows.append((p, mode, per_epoch))
        return trials_per_hour

    params, stats, opt, key = clf._init(hp, model, tx, x[:1])
    base = row(1, "one trial", timed(lambda: jax.block_until_ready(train_epoch(params, stats, opt, key, x, y, **kw)), repeats), None)
    vmapped = jax.jit(jax.vmap(functools.partial(train_epoch.__wrapped__, **kw), in_axes=(0, 0, 0, 0, None, None)))
    for p in populations:
        members = [clf._init({**hp, "seed": i}, model, tx, x[:1]) for i in range(p)]
        state = jax.tree.map(lambda *a: jnp.stack(a), *members)
        for mode in modes:
            if mode == "vmap":
                fn = vmapped
            else:
                fn, _ = population_programs(model.clone(population=mode), tx, batch, hp["augmentation_type"], hp["top_k"], horizontal_flip=hp["horizontal_flip"])
            try:
                per_epoch = timed(lambda fn=fn, state=state: jax.block_until_ready(fn(*state, x, y)), repeats)
            except jax.errors.JaxRuntimeError as e:  # out of memory at a large population: say so, go on
                print(f"{p:>7} {mode:>10}  failed: {type(e).__name__}: {str(e).splitlines()[0][:80]}")
                continue
            row(p, mode, per_epoch, base)
    return rows

if __name__ == "__main__":
    main()
