"""The Flax image-classifier harness on CPU: tiny epochs, learning, augmentations, data errors."""

import functools
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from warmstart_bo import ContinuousParameter, HyperparameterTuner, Store
from warmstart_bo.harness import (
    ImageClassifier,
    load_digits,
    load_image_folder,
    load_npz,
)
from warmstart_bo.harness.augment import AUGMENTATION_TYPES, augment
from warmstart_bo.harness.data import Dataset, from_arrays
from warmstart_bo.harness.models import ResNet
from warmstart_bo.harness.population import FORMULATIONS
from warmstart_bo.harness.train import check_hyperparameters


@pytest.fixture(scope="module")
def small():
    d = load_digits("1,8,8")
    return Dataset(d.train_x[:256], d.train_y[:256], d.val_x[:128], d.val_y[:128], 10)


TINY = {"num_layers": 8, "mini_batch_size": 64, "epochs": 1}
# The default formulation (matmul) runs in the default suite, grouped convolutions in the
# slow one (each of their tests compiles for a minute or more on 2 cores).
SLOW_FORMULATIONS = [f if f == "matmul" else pytest.param(f, marks=pytest.mark.slow) for f in FORMULATIONS]


# Each case compiles its own epoch: three in the default suite cover two optimizers, three
# augmentations and both precisions; the other combinations run in the slow suite.
@pytest.mark.parametrize(
    "optimizer, augmentation, precision",
    [("sgd", "none", "float32"), ("adam", "crop", "float32"), ("sgd", "crop_color_transform", "bfloat16")]
    + [pytest.param(o, a, p, marks=pytest.mark.slow)
       for o, a, p in [("nag", "crop", "float32"), ("rmsprop", "crop", "float32"), ("sgd", "crop_color", "float32"), ("sgd", "crop", "bfloat16")]],
)
def test_one_tiny_epoch_runs(small, optimizer, augmentation, precision):
    reports = []
    clf = ImageClassifier(small, **TINY)
    metrics = clf.fit({"optimizer": optimizer, "augmentation_type": augmentation, "precision_dtype": precision, "learning_rate": 0.01}, report=lambda e, m: reports.append((e, m)))
    assert set(metrics) == {"validation:accuracy", "validation:top_k_accuracy", "train:accuracy", "train:loss"}
    assert all(np.isfinite(v) for v in metrics.values())
    assert 0 <= metrics["validation:accuracy"] <= metrics["validation:top_k_accuracy"] <= 1
    assert reports == [(1, metrics)]


def test_loss_falls_and_accuracy_beats_chance_on_the_digits():
    curve = []
    metrics = ImageClassifier().fit({"epochs": 5, "optimizer": "adam", "learning_rate": 0.003, "mini_batch_size": 64}, report=lambda e, m: curve.append(m))
    assert curve[-1]["train:loss"] < 0.5 * curve[0]["train:loss"]
    assert metrics["validation:accuracy"] > 0.6  # chance is 0.1
    assert metrics["validation:top_k_accuracy"] >= metrics["validation:accuracy"]


@pytest.mark.parametrize("kind", AUGMENTATION_TYPES)
def test_augmentations_keep_shapes_and_value_ranges(kind):
    x = jax.random.uniform(jax.random.key(0), (6, 12, 10, 3))
    y = augment(jax.random.key(1), x, kind)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert float(jnp.min(y)) >= 0.0 and float(jnp.max(y)) <= 1.0
    if kind != "none":
        assert not np.allclose(y, x)  # something changed
    grey = jnp.full((2, 8, 8, 1), 0.5)
    assert np.allclose(augment(jax.random.key(2), grey, "crop"), 0.5)  # crops and flips of a flat image


@pytest.mark.parametrize("kind", AUGMENTATION_TYPES)
def test_flips_only_when_asked(kind):
    # Left half dark, right half bright: a crop shifts by at most W/8 and keeps that order;
    # a flip reverses it.
    x = jnp.broadcast_to(jnp.where(jnp.arange(16) < 8, 0.2, 0.8)[None, None, :, None], (64, 16, 16, 1))
    left_darker = lambda y: np.asarray(jnp.mean(y[:, :, :8], axis=(1, 2, 3)) < jnp.mean(y[:, :, 8:], axis=(1, 2, 3)))
    assert left_darker(augment(jax.random.key(3), x, kind)).all()
    flipped = ~left_darker(augment(jax.random.key(3), x, kind, horizontal_flip=True))
    assert 16 < flipped.sum() < 48  # about half of the batch


def test_the_default_is_no_augmentation_and_flip_is_a_switch():
    assert check_hyperparameters({})["augmentation_type"] == "none"
    assert check_hyperparameters({})["horizontal_flip"] is False
    assert check_hyperparameters({"horizontal_flip": "True"})["horizontal_flip"] is True
    with pytest.raises(ValueError, match="'horizontal_flip'"):
        check_hyperparameters({"horizontal_flip": "sometimes"})


def test_augment_rejects_an_unknown_type():
    with pytest.raises(ValueError, match="augmentation_type must be one of"):
        augment(jax.random.key(0), jnp.zeros((1, 4, 4, 1)), "mixup")


def test_image_folder_loader_and_its_errors(tmp_path):
    rng = np.random.default_rng(0)
    for c, name in enumerate(["cat", "dog"]):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for i in range(5):
            Image.fromarray((rng.random((20, 14, 3)) * 255).astype(np.uint8)).save(tmp_path / "imgs" / name / f"{i}.png")
    d = load_image_folder(tmp_path / "imgs", "3,16,16", num_classes=2)
    assert d.train_x.shape[1:] == (16, 16, 3) and len(d.train_y) + len(d.val_y) == 10 and d.num_classes == 2
    assert set(np.concatenate([d.train_y, d.val_y])) == {0, 1}
    assert d.train_x.min() >= 0 and d.train_x.max() <= 1
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="has 2 classes but num_classes is 10"):
        load_image_folder(tmp_path / "imgs", num_classes=10)
    (tmp_path / "imgs" / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read image .*broken.png"):
        load_image_folder(tmp_path / "imgs")
    with pytest.raises(ValueError, match="only 1 \\(grey\\) or 3 \\(RGB\\) channels"):
        load_image_folder(tmp_path / "imgs", "4,16,16")


def test_arrays_and_npz(tmp_path):
    x = (np.random.default_rng(0).random((30, 3, 10, 10)) * 255).astype(np.uint8)  # N, C, H, W bytes
    y = np.arange(30) % 3
    d = from_arrays(x, y, "1,8,8")
    assert d.train_x.shape[1:] == (8, 8, 1) and d.num_classes == 3 and d.train_x.max() <= 1.0
    np.savez(tmp_path / "data.npz", x=x, y=y)
    assert load_npz(tmp_path / "data.npz", image_shape="3,10,10").train_x.shape[1:] == (10, 10, 3)
    np.savez(tmp_path / "bad.npz", images=x)
    with pytest.raises(ValueError, match="must hold arrays 'x' and 'y'"):
        load_npz(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "none.npz")
    with pytest.raises(ValueError, match="has 3 classes but num_classes is 5"):
        from_arrays(x, y, num_classes=5)


@pytest.mark.parametrize(
    "labels, num_classes, match",
    [
        ([-1, 0, 1], None, "labels must be integers from 0 \\(class indices\\), got -1"),
        ([0, 1.5, 1], None, "labels must be integers from 0 \\(class indices\\), got 1.5"),
        ([0, 2, 2], 2, "has label 2 but num_classes is 2"),
    ],
)
def test_labels_that_index_no_logit_are_refused(labels, num_classes, match):
    """A label of -1 made num_classes 2 for three classes, and [0, 2] passed as two classes:
    both trained on the wrong logits without a word."""
    x = np.random.default_rng(0).random((6, 8, 8, 1))
    with pytest.raises(ValueError, match=match):
        from_arrays(x, np.array(labels * 2), num_classes=num_classes)


class _Logits:
    """A stand-in model whose logits are its parameters (hashable, so a static argument)."""

    def apply(self, variables, x, train):
        return variables["params"]


def test_a_diverged_network_has_no_accuracy():
    """NaN logits have argmax 0 for every image: the accuracy of a diverged network (a
    learning rate of 1e6) was the share of class 0, 1.0 on a validation set of class 0, and
    such a trial could be the job's best. Now it is NaN, and the tuner fails the trial."""
    from warmstart_bo.harness.train import _evaluate_population, evaluate

    y = jnp.array([0, 0, 1])
    finite = jnp.array([[2.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    diverged = jnp.full((3, 2), jnp.nan)
    assert [float(a) for a in evaluate(finite, {}, jnp.zeros((3, 1)), y, model=_Logits(), top_k=1)] == pytest.approx([2 / 3, 2 / 3])
    assert all(np.isnan(evaluate(diverged, {}, jnp.zeros((3, 1)), y, model=_Logits(), top_k=1)))
    acc, top_k = _evaluate_population(jnp.stack([finite, diverged]), {}, jnp.zeros((3, 1)), y, model=_Logits(), top_k=1)
    assert acc[0] == top_k[0] == pytest.approx(2 / 3) and np.isnan(acc[1]) and np.isnan(top_k[1])


@pytest.mark.parametrize(
    "hp, match",
    [
        ({"num_layers": 10}, "hyperparameter 'num_layers'"),
        ({"optimizer": "lbfgs"}, "hyperparameter 'optimizer': must be one of"),
        ({"learning_rate": 0.0}, "hyperparameter 'learning_rate': must be positive"),
        ({"momentum": 1.0}, "hyperparameter 'momentum': must be in \\[0, 1\\)"),
        ({"weight_decay": -1e-3}, "hyperparameter 'weight_decay': must be non-negative"),
        ({"precision_dtype": "float16"}, "hyperparameter 'precision_dtype'"),
        ({"top_k": 11}, "hyperparameter 'top_k': must be between 1 and num_classes"),
        ({"image_shape": "2,8,8"}, "hyperparameter 'image_shape'"),
        ({"image_shape": "8x8"}, "hyperparameter 'image_shape'"),
        ({"dropout": 0.1}, "hyperparameter 'dropout': unknown"),
        ({"num_classes": 5}, "hyperparameter 'num_classes': is 5 but the data set has 10 classes"),
        ({"image_shape": "1,16,16"}, "hyperparameter 'image_shape': is '1,16,16' but the data set's images are 1,8,8"),
        ({"mini_batch_size": 1000}, "hyperparameter 'mini_batch_size': 1000 is larger than the 256 training images"),
    ],
)
def test_bad_hyperparameters_are_named(small, hp, match):
    with pytest.raises(ValueError, match=match):
        ImageClassifier(small, **TINY).fit(hp)


def test_the_tuner_runs_the_harness_with_early_stopping(small, tmp_path):
    tuner = HyperparameterTuner(
        ImageClassifier(small, num_layers=8, mini_batch_size=64, epochs=2), "validation:accuracy",
        {"learning_rate": ContinuousParameter(1e-3, 0.1, "Logarithmic"), "momentum": ContinuousParameter(0.0, 0.99)},
        objective_type="Maximize", max_jobs=3, max_parallel_jobs=1, random_seed=0, store=Store(tmp_path / "s.db"),
        early_stopping_type="Auto", progress=False,
    )
    tuner.fit(job_name="harness")
    trials = tuner.store.trials("harness")
    assert len(trials) == 3 and all(t.status == "Completed" for t in trials)
    assert all(len(t.intermediate) == 2 for t in trials)  # per-epoch reports reached the store
    assert all(0 <= t.objective <= 1 for t in trials)


POPULATION = [
    {"learning_rate": 0.05, "momentum": 0.9, "weight_decay": 1e-4, "seed": 0},
    {"learning_rate": 0.01, "momentum": 0.5, "weight_decay": 0.0, "seed": 1},
    {"learning_rate": 0.002, "momentum": 0.0, "weight_decay": 1e-3, "seed": 2},
]


@pytest.mark.parametrize("formulation", SLOW_FORMULATIONS)
def test_a_population_matches_one_by_one_training(small, formulation):
    clf = ImageClassifier(small, population=formulation, num_layers=8, mini_batch_size=64, epochs=2, augmentation_type="crop")
    together = clf.fit_population(POPULATION)
    for config, pop in zip(POPULATION, together):
        alone = clf.fit(config)
        for k in alone:
            assert pop[k] == pytest.approx(alone[k], abs=2e-3), k
    assert together[0] != together[1]
    with pytest.raises(ValueError, match="hyperparameter 'optimizer': member 1 has 'adam'"):
        clf.fit_population([{"optimizer": "sgd"}, {"optimizer": "adam"}])
    with pytest.raises(ValueError, match="population must be one of"):
        ImageClassifier(small, population="vmap")


# The ImageNet-style ResNet-18 case costs a minute of compilation on 2 cores: slow suite.
@pytest.mark.parametrize("depth, shape", [(8, "1,8,8"), pytest.param(18, "3,64,64", marks=pytest.mark.slow)])
@pytest.mark.parametrize("formulation", SLOW_FORMULATIONS)
def test_population_networks_are_their_members_stacked(formulation, depth, shape):
    """Same parameter tree, same logits and batch statistics as each member alone (the
    ImageNet-style stem, strides and max pooling included)."""
    c, h, w = (int(v) for v in shape.split(","))
    x = jax.random.uniform(jax.random.key(0), (3, 4, h, w, c))
    single, together = ResNet(depth, 10), ResNet(depth, 10, population=formulation)
    # Compiled, as training runs them (op-by-op dispatch took four times as long here).
    init_one = jax.jit(functools.partial(single.init, train=False))
    members = [init_one(jax.random.key(i), x[i]) for i in range(3)]
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *members)
    together_shapes = jax.eval_shape(functools.partial(together.init, train=False), jax.random.key(0), x)
    assert jax.tree.map(jnp.shape, together_shapes) == jax.tree.map(jnp.shape, stacked)
    logits, stats = jax.jit(functools.partial(together.apply, train=True, mutable=["batch_stats"]))(stacked, x)
    apply_one = jax.jit(functools.partial(single.apply, train=True, mutable=["batch_stats"]))
    for i, variables in enumerate(members):
        alone, alone_stats = apply_one(variables, x[i])
        np.testing.assert_allclose(logits[i], alone, atol=1e-4)
        jax.tree.map(lambda a, b, i=i: np.testing.assert_allclose(a, b[i], atol=1e-5), alone_stats, stats)


@pytest.mark.slow  # a subprocess that compiles the population program over two devices: a minute
def test_a_population_shards_over_devices_and_still_matches(tmp_path):
    """Two (forced) CPU devices, three members: one padded member, the same results as each
    member trained alone, up to rounding. XLA compiles the sharded and the single-device
    programs with different fusions, so losses agree to about 1e-3 and, after two epochs at
    learning rate 0.05 and momentum 0.9, one or two of the 128 validation predictions may
    flip (seen: 0.6641 against 0.6797). A member trained on another's hyperparameters or
    data differs by far more (these members' accuracies are 0.66, 0.13 and 0.09)."""
    script = tmp_path / "shard.py"
    script.write_text(
        "import json, jax\n"
        "from warmstart_bo.harness import ImageClassifier, load_digits\n"
        "from warmstart_bo.harness.data import Dataset\n"
        "d = load_digits('1,8,8')\n"
        "small = Dataset(d.train_x[:256], d.train_y[:256], d.val_x[:128], d.val_y[:128], 10)\n"
        f"configs = {POPULATION!r}\n"
        "clf = ImageClassifier(small, num_layers=8, mini_batch_size=64, epochs=2)\n"
        "print(json.dumps({'devices': len(clf.devices), 'together': clf.fit_population(configs), 'alone': [clf.fit(c) for c in configs]}))\n"
    )
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["devices"] == 2
    for pop, alone in zip(result["together"], result["alone"], strict=True):
        assert pop.keys() == alone.keys()
        assert pop["train:loss"] == pytest.approx(alone["train:loss"], rel=1e-2)
        for k in (k for k in alone if k.endswith("accuracy")):
            assert pop[k] == pytest.approx(alone[k], abs=2.5 / 128), k


def test_population_executor_trains_parallel_trials_together(small, tmp_path):
    clf = ImageClassifier(small, num_layers=8, mini_batch_size=64, epochs=2)
    ranges = {"learning_rate": ContinuousParameter(1e-3, 0.1, "Logarithmic"), "momentum": ContinuousParameter(0.0, 0.99)}
    store = Store(tmp_path / "s.db")
    tuner = HyperparameterTuner(
        clf, "validation:accuracy", ranges, objective_type="Maximize", max_jobs=4, max_parallel_jobs=2,
        strategy="Random", random_seed=3, store=store, executor="population", progress=False,
    )
    tuner.fit(job_name="pop")
    trials = store.trials("pop")
    assert [t.status for t in trials] == ["Completed"] * 4
    for t in trials:  # the same result as training the trial alone
        assert t.objective == pytest.approx(clf.fit(t.hyperparameters)["validation:accuracy"], abs=2e-3)
        assert len(t.intermediate) == 2
    assert abs(trials[0].start_time - trials[1].start_time) < 1.0  # started as one population
    with pytest.raises(ValueError, match="executor='population' needs an estimator with fit_population"):
        HyperparameterTuner(lambda hp: 0.0, "loss", ranges, store=store, executor="population")
