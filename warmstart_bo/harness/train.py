"""ImageClassifier: one tuning trial = one training run of a Flax ResNet.

The estimator a tuner runs: ``set_hyperparameters(**static)`` for the fixed knobs,
``fit(hyperparameters, report=None) -> metrics`` for one trial. Hyperparameters follow a
built-in image-classification algorithm's names (see :data:`DEFAULTS`). Metrics
``validation:accuracy``, ``validation:top_k_accuracy``, ``train:accuracy`` and
``train:loss`` are reported after every epoch (so the median early-stopping rule can act)
and returned at the end.

An epoch is one jitted ``lax.scan`` over its mini-batches, with the data on the device:
the host sees only the epoch's metrics. Learning rate, momentum and weight decay live in
the optimizer state (``optax.inject_hyperparams``), so trials that share an architecture,
optimizer, batch size and augmentation reuse one compiled program.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from warmstart_bo.harness.augment import AUGMENTATION_TYPES, augment
from warmstart_bo.harness.data import Dataset, load_digits, parse_image_shape
from warmstart_bo.harness.models import ResNet, check_depth
from warmstart_bo.harness.population import FORMULATIONS

OPTIMIZERS = ("sgd", "nag", "adam", "rmsprop")
PRECISIONS = ("float32", "bfloat16")

DEFAULTS: dict[str, Any] = {
    "num_layers": 8,
    "image_shape": "1,8,8",
    "num_classes": 10,
    "mini_batch_size": 64,
    "epochs": 5,
    "optimizer": "sgd",
    "learning_rate": 0.05,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "augmentation_type": "none",
    "horizontal_flip": False,
    "precision_dtype": "float32",
    "top_k": 2,
    "seed": 0,
}


def _fail(name: str, rule: str) -> ValueError:
    return ValueError(f"hyperparameter {name!r}: {rule}")


def _boolean(name: str, v: Any) -> bool:
    """A switch given as a bool, 0/1 or "true"/"false" (tuners pass categorical values as strings)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise _fail(name, f"must be true or false, got {v!r}")


def check_hyperparameters(hp: Mapping[str, Any]) -> dict[str, Any]:
    """All hyperparameters, defaults filled in and checked; errors name the parameter."""
    unknown = sorted(set(hp) - set(DEFAULTS))
    if unknown:
        raise _fail(unknown[0], f"unknown; expected one of {sorted(DEFAULTS)}")
    out = {**DEFAULTS, **hp}
    for name in ("num_layers", "num_classes", "mini_batch_size", "epochs", "top_k", "seed"):
        v = out[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) and not (isinstance(v, float) and v.is_integer()):
            raise _fail(name, f"must be an integer, got {v!r}")
        out[name] = int(v)
    try:
        check_depth(out["num_layers"])
    except ValueError as e:
        raise _fail("num_layers", str(e)) from None
    if out["num_classes"] < 2:
        raise _fail("num_classes", f"must be at least 2, got {out['num_classes']}")
    for name in ("mini_batch_size", "epochs"):
        if out[name] < 1:
            raise _fail(name, f"must be at least 1, got {out[name]}")
    if not 1 <= out["top_k"] <= out["num_classes"]:
        raise _fail("top_k", f"must be between 1 and num_classes ({out['num_classes']}), got {out['top_k']}")
    try:
        parse_image_shape(out["image_shape"])
    except ValueError as e:
        raise _fail("image_shape", str(e)) from None
    out["horizontal_flip"] = _boolean("horizontal_flip", out["horizontal_flip"])
    for name, choices in (("optimizer", OPTIMIZERS), ("augmentation_type", AUGMENTATION_TYPES), ("precision_dtype", PRECISIONS)):
        if out[name] not in choices:
            raise _fail(name, f"must be one of {choices}, got {out[name]!r}")
    for name in ("learning_rate", "momentum", "weight_decay"):
        v = out[name]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not math.isfinite(v):
            raise _fail(name, f"must be a finite number, got {v!r}")
        out[name] = float(v)
    if out["learning_rate"] <= 0:
        raise _fail("learning_rate", f"must be positive, got {out['learning_rate']}")
    if not 0 <= out["momentum"] < 1:
        raise _fail("momentum", f"must be in [0, 1), got {out['momentum']}")
    if out["weight_decay"] < 0:
        raise _fail("weight_decay", f"must be non-negative, got {out['weight_decay']}")
    return out


@functools.cache
def make_optimizer(name: str) -> optax.GradientTransformation:
    """An optimizer whose learning rate, momentum and weight decay sit in its state.

    Weight decay is L2 on the gradient (``add_decayed_weights`` before the update), as in
    classic SGD training. ``adam`` ignores momentum; ``rmsprop`` and the SGDs use it.
    """

    def build(learning_rate, momentum, weight_decay):
        if name in ("sgd", "nag"):
            opt = optax.sgd(learning_rate, momentum=momentum, nesterov=name == "nag")
        elif name == "adam":
            opt = optax.adam(learning_rate)
        else:
            opt = optax.rmsprop(learning_rate, momentum=momentum)
        return optax.chain(optax.add_decayed_weights(weight_decay), opt)

    return optax.inject_hyperparams(build)(learning_rate=0.1, momentum=0.9, weight_decay=0.0)


def _accuracy(logits, correct):
    """The mean of ``correct`` (..., batch) over the batch, or NaN where the batch's logits
    (..., batch, classes) are not all finite: a diverged network's argmax is class 0 for
    every image, and its accuracy, the share of class 0, would pass for a measurement (the
    tuner fails a trial whose objective is NaN)."""
    return jnp.where(jnp.all(jnp.isfinite(logits), axis=(-2, -1)), jnp.mean(correct, axis=-1), jnp.nan)


def _loss(params, batch_stats, model, x, y):
    logits, updates = model.apply({"params": params, "batch_stats": batch_stats}, x, train=True, mutable=["batch_stats"])
    loss = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), y))
    return loss, (updates["batch_stats"], _accuracy(logits, jnp.argmax(logits, -1) == y))


@functools.partial(jax.jit, static_argnames=("model", "tx", "batch_size", "augmentation_type", "horizontal_flip"))
def train_epoch(params, batch_stats, opt_state, key, x, y, *, model, tx, batch_size: int, augmentation_type: str, horizontal_flip: bool = False):
    """One epoch: a shuffle, then a scan over the full mini-batches. Returns the new state
    and the epoch's mean training loss and accuracy."""
    steps = max(1, x.shape[0] // batch_size)
    k_perm, k_aug = jax.random.split(key)
    order = jax.random.permutation(k_perm, x.shape[0])[: steps * batch_size].reshape(steps, batch_size)

    def step(carry, inputs):
        params, batch_stats, opt_state = carry
        idx, k = inputs
        xb = augment(k, x[idx], augmentation_type, horizontal_flip)
        (loss, (batch_stats, acc)), grads = jax.value_and_grad(_loss, has_aux=True)(params, batch_stats, model, xb, y[idx])
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), batch_stats, opt_state), (loss, acc)

    (params, batch_stats, opt_state), (losses, accs) = jax.lax.scan(step, (params, batch_stats, opt_state), (order, jax.random.split(k_aug, steps)))
    return params, batch_stats, opt_state, jnp.mean(losses), jnp.mean(accs)


@functools.partial(jax.jit, static_argnames=("model", "top_k"))
def evaluate(params, batch_stats, x, y, *, model, top_k: int):
    """Accuracy and top-k accuracy on (x, y)."""
    logits = model.apply({"params": params, "batch_stats": batch_stats}, x, train=False)
    top = jax.lax.top_k(logits, top_k)[1]
    return _accuracy(logits, top[:, 0] == y), _accuracy(logits, jnp.any(top == y[:, None], axis=-1))


# Hyperparameters that may differ between the members of one population (the rest fix the
# compiled program and must agree).
POPULATION_VARYING = ("learning_rate", "momentum", "weight_decay", "seed")


def _population_loss(params, batch_stats, model, x, y):
    """Summed member losses: each member's gradient is that of its own mean loss."""
    logits, updates = model.apply({"params": params, "batch_stats": batch_stats}, x, train=True, mutable=["batch_stats"])
    losses = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), y), axis=1)
    return jnp.sum(losses), (updates["batch_stats"], losses, _accuracy(logits, jnp.argmax(logits, -1) == y))


def _epoch_plan(key, n: int, steps: int, batch_size: int):
    """A member's shuffle and augmentation keys, drawn exactly as :func:`train_epoch` draws them."""
    k_perm, k_aug = jax.random.split(key)
    return jax.random.permutation(k_perm, n)[: steps * batch_size].reshape(steps, batch_size), jax.random.split(k_aug, steps)


def _train_epoch_population(params, batch_stats, opt_state, keys, x, y, *, model, tx, batch_size: int, augmentation_type: str, horizontal_flip: bool):
    steps = max(1, x.shape[0] // batch_size)
    orders, step_keys = jax.vmap(lambda k: _epoch_plan(k, x.shape[0], steps, batch_size))(keys)
    member_augment = jax.vmap(lambda k, idx: augment(k, x[idx], augmentation_type, horizontal_flip))

    def step(carry, inputs):
        params, batch_stats, opt_state = carry
        idx, k = inputs  # (P, batch), (P,)
        grad_fn = jax.value_and_grad(_population_loss, has_aux=True)
        (_, (batch_stats, loss, acc)), grads = grad_fn(params, batch_stats, model, member_augment(k, idx), y[idx])
        updates, opt_state = jax.vmap(tx.update)(grads, opt_state, params)
        return (optax.apply_updates(params, updates), batch_stats, opt_state), (loss, acc)

    carry, (losses, accs) = jax.lax.scan(step, (params, batch_stats, opt_state), (orders.swapaxes(0, 1), step_keys.swapaxes(0, 1)))
    return *carry, jnp.mean(losses, axis=0), jnp.mean(accs, axis=0)


def _evaluate_population(params, batch_stats, x, y, *, model, top_k: int):
    xs = jnp.broadcast_to(x, (jax.tree.leaves(params)[0].shape[0], *x.shape))
    logits = model.apply({"params": params, "batch_stats": batch_stats}, xs, train=False)
    top = jax.lax.top_k(logits, top_k)[1]
    return _accuracy(logits, top[..., 0] == y), _accuracy(logits, jnp.any(top == y[:, None], axis=-1))


def _over_devices(fn, devices: tuple | None, n_member_args: int):
    """``fn`` jitted, and with its member axis sharded over ``devices`` when there are several."""
    if devices is None or len(devices) < 2:
        return jax.jit(fn)
    mesh = jax.sharding.Mesh(np.asarray(devices), ("population",))
    members, shared = jax.sharding.PartitionSpec("population"), jax.sharding.PartitionSpec()
    in_specs = (members,) * n_member_args + (shared, shared)
    return jax.jit(jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=members))


@functools.cache
def population_programs(model, tx, batch_size: int, augmentation_type: str, top_k: int, devices: tuple | None = None, horizontal_flip: bool = False):
    """The compiled epoch and evaluation of a population (members on the leading axis of
    every array but the data), for a population-layout ``model``, sharded over ``devices``.

    ``train(params, batch_stats, opt_state, keys, x, y)`` and ``evaluate(params,
    batch_stats, x, y)`` mirror :func:`train_epoch` and :func:`evaluate` member by member.
    With several devices the population size must be a multiple of their number.
    """
    train = functools.partial(
        _train_epoch_population, model=model, tx=tx, batch_size=batch_size, augmentation_type=augmentation_type, horizontal_flip=horizontal_flip
    )
    evaluate_ = functools.partial(_evaluate_population, model=model, top_k=top_k)
    return _over_devices(train, devices, 4), _over_devices(evaluate_, devices, 2)


class ImageClassifier:
    """Trains a ResNet on an image-classification data set; one ``fit`` is one trial.

    Args:
      data: a :class:`~warmstart_bo.harness.data.Dataset`; None loads scikit-learn's digits
        at the trial's ``image_shape``.
      population: how :meth:`fit_population` lays out a population, ``"matmul"`` or
        ``"grouped"`` (see :mod:`warmstart_bo.harness.population`;
        ``benchmarks/population_throughput.py`` compares them).
      devices: the devices a population is sharded over (default: all of JAX's default
        backend; one device trains the whole population).
      **static: fixed hyperparameters (as ``set_hyperparameters``).
    """

    def __init__(self, data: Dataset | None = None, *, population: str = "matmul", devices=None, **static: Any):
        if population not in FORMULATIONS:
            raise ValueError(f"population must be one of {FORMULATIONS}, got {population!r}")
        self.data = data
        self.population = population
        self.devices = tuple(jax.devices() if devices is None else devices)
        self.static: dict[str, Any] = {}
        self.set_hyperparameters(**static)
        self._digits: dict[tuple, Dataset] = {}

    def set_hyperparameters(self, **static: Any) -> None:
        """Fixes hyperparameters for every trial (tuned values override them)."""
        check_hyperparameters({**self.static, **static})
        self.static.update(static)

    def _dataset(self, hp: dict[str, Any]) -> Dataset:
        shape = parse_image_shape(hp["image_shape"])
        if self.data is None:
            key = (shape, hp["num_classes"])
            if key not in self._digits:
                self._digits[key] = load_digits(shape, hp["num_classes"])
            return self._digits[key]
        if self.data.num_classes != hp["num_classes"]:
            raise _fail("num_classes", f"is {hp['num_classes']} but the data set has {self.data.num_classes} classes")
        if self.data.image_shape != shape:
            raise _fail("image_shape", f"is {hp['image_shape']!r} but the data set's images are {','.join(map(str, self.data.image_shape))}")
        return self.data

    def _setup(self, hp: dict[str, Any]):
        data = self._dataset(hp)
        if hp["mini_batch_size"] > len(data.train_y):
            raise _fail("mini_batch_size", f"{hp['mini_batch_size']} is larger than the {len(data.train_y)} training images")
        dtype = jnp.bfloat16 if hp["precision_dtype"] == "bfloat16" else jnp.float32
        return data, ResNet(hp["num_layers"], hp["num_classes"], dtype), make_optimizer(hp["optimizer"])

    def _init(self, hp: dict[str, Any], model, tx, x0):
        """Initial (params, batch_stats, opt_state, key) of one trial, from its seed."""
        key = jax.random.key(hp["seed"])
        k_init, key = jax.random.split(key)
        variables = model.init(k_init, x0, train=False)
        opt_state = tx.init(variables["params"])
        for name in ("learning_rate", "momentum", "weight_decay"):
            opt_state.hyperparams[name] = jnp.asarray(hp[name], jnp.float32)
        return variables["params"], variables["batch_stats"], opt_state, key

    def population_key(self, hyperparameters: Mapping[str, Any]) -> tuple:
        """What trials must share to train together: everything but POPULATION_VARYING."""
        hp = check_hyperparameters({**self.static, **hyperparameters})
        return tuple(sorted((k, str(v)) for k, v in hp.items() if k not in POPULATION_VARYING))

    def fit_population(self, hyperparameters_list, report: Callable[[int, int, dict], None] | None = None) -> list[dict[str, float]]:
        """Trains several configurations together as one population.

        They may differ only in learning rate, momentum, weight decay and seed (the rest
        fixes the compiled program). Each member follows exactly the computation of its own
        :meth:`fit`, so results agree with one-by-one training up to floating point; the
        population runs as one network of grouped convolutions or batched matrix products
        (:attr:`population`), its members split over :attr:`devices`.
        ``report(member, epoch, metrics)`` is called per member and epoch.
        """
        hps = [check_hyperparameters({**self.static, **hp}) for hp in hyperparameters_list]
        if not hps:
            raise ValueError("fit_population needs at least one configuration")
        fixed = {k: v for k, v in hps[0].items() if k not in POPULATION_VARYING}
        for i, hp in enumerate(hps[1:], start=1):
            differ = sorted(k for k in fixed if hp[k] != fixed[k])
            if differ:
                raise _fail(differ[0], f"member {i} has {hp[differ[0]]!r} but member 0 has {fixed[differ[0]]!r}; a population shares everything but {POPULATION_VARYING}")
        data, model, tx = self._setup(hps[0])
        devices = self.devices[: len(hps)]
        padded = hps + [hps[0]] * (-len(hps) % len(devices))  # a whole number of members per device
        train, evaluate_ = population_programs(
            model.clone(population=self.population), tx, hps[0]["mini_batch_size"], hps[0]["augmentation_type"],
            hps[0]["top_k"], devices if len(devices) > 1 else None, hps[0]["horizontal_flip"],
        )
        train_x, train_y = jnp.asarray(data.train_x), jnp.asarray(data.train_y)
        val_x, val_y = jnp.asarray(data.val_x), jnp.asarray(data.val_y)
        members = [self._init(hp, model, tx, train_x[:1]) for hp in padded]
        params, batch_stats, opt_state, keys = jax.tree.map(lambda *a: jnp.stack(a), *members)
        results: list[dict[str, float]] = [{} for _ in hps]
        for epoch in range(1, hps[0]["epochs"] + 1):
            split = jax.vmap(jax.random.split)(keys)
            keys, k = split[:, 0], split[:, 1]
            params, batch_stats, opt_state, loss, acc = train(params, batch_stats, opt_state, k, train_x, train_y)
            val_acc, val_topk = evaluate_(params, batch_stats, val_x, val_y)
            loss, acc, val_acc, val_topk = (np.asarray(a) for a in (loss, acc, val_acc, val_topk))
            for i in range(len(hps)):
                results[i] = {
                    "validation:accuracy": float(val_acc[i]),
                    "validation:top_k_accuracy": float(val_topk[i]),
                    "train:accuracy": float(acc[i]),
                    "train:loss": float(loss[i]),
                }
                if report is not None:
                    report(i, epoch, results[i])
        return results

    def fit(self, hyperparameters: Mapping[str, Any], report: Callable[[int, dict], None] | None = None) -> dict[str, float]:
        """Trains one configuration; returns the last epoch's metrics."""
        hp = check_hyperparameters({**self.static, **hyperparameters})
        data, model, tx = self._setup(hp)
        train_x, train_y = jnp.asarray(data.train_x), jnp.asarray(data.train_y)
        val_x, val_y = jnp.asarray(data.val_x), jnp.asarray(data.val_y)
        params, batch_stats, opt_state, key = self._init(hp, model, tx, train_x[:1])
        metrics: dict[str, float] = {}
        for epoch in range(1, hp["epochs"] + 1):
            key, k = jax.random.split(key)
            params, batch_stats, opt_state, loss, acc = train_epoch(
                params, batch_stats, opt_state, k, train_x, train_y,
                model=model, tx=tx, batch_size=hp["mini_batch_size"], augmentation_type=hp["augmentation_type"],
                horizontal_flip=hp["horizontal_flip"],
            )
            val_acc, val_topk = evaluate(params, batch_stats, val_x, val_y, model=model, top_k=hp["top_k"])
            metrics = {
                "validation:accuracy": float(val_acc),
                "validation:top_k_accuracy": float(val_topk),
                "train:accuracy": float(acc),
                "train:loss": float(loss),
            }
            if report is not None:
                report(epoch, metrics)
        return metrics
