"""Maximizing an acquisition function over the encoded unit box.

The recipe of BoTorch's ``optimize_acqf``, in JAX: score many quasi-random (and
incumbent-local) candidates, start gradient ascent from the best few, all restarts at once,
then project the results onto valid points of the space (integers rounded, categoricals
snapped to a value) and keep the best after projection. Categorical coordinates are never
moved by gradients; the candidates cover their values, and a final sweep tries every
single-coordinate change of categorical value at the winner.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.stats import qmc

from warmstart_bo import acquisition, gp, runtime


def acquisition_values(post, x: jax.Array, best: jax.Array, name: str, beta: jax.Array) -> jax.Array:
    """Acquisition ``name`` at points x (m, d) under a model: any pytree with a
    ``predict(x) -> (mean, var)`` method (a GP posterior, a transfer stack, an ensemble)."""
    mean, var = post.predict(x)
    return acquisition.evaluate(name, mean, var, best, beta)


def score(post: gp.Posterior, x: jax.Array, best: jax.Array, beta: jax.Array, name: str) -> jax.Array:
    """:func:`acquisition_values` with the arguments in the order the compiled scorer takes."""
    return acquisition_values(post, x, best, name, beta)


def gradient_ascent(
    post: gp.Posterior,
    best: jax.Array,
    beta: jax.Array,
    candidates: jax.Array,
    movable: jax.Array,
    name: str,
    num_restarts: int,
    num_steps: int,
    learning_rate: float = 0.05,
) -> tuple[jax.Array, jax.Array]:
    """Multi-start projected Adam ascent from the best ``num_restarts`` candidates.

    Args:
      candidates: (m, d) points to score; the best ``num_restarts`` are the starts.
      movable: (d,) bool, the coordinates gradients may change (not categorical ones).

    Returns:
      Points (2 * num_restarts, d), the starts and their ascended versions, and their
      acquisition values. The step size decays (cosine) to a hundredth of
      ``learning_rate`` so the last steps refine rather than oscillate.
    """
    values = acquisition_values(post, candidates, best, name, beta)
    _, top = jax.lax.top_k(values, num_restarts)
    starts = candidates[top]

    def total(x):
        # Restarts are independent, so the gradient of the sum is each one's gradient.
        v = acquisition_values(post, x, best, name, beta)
        return jnp.sum(jnp.where(jnp.isfinite(v), v, 0.0))

    opt = optax.adam(optax.cosine_decay_schedule(learning_rate, num_steps, alpha=0.01))

    def step(carry, _):
        x, state = carry
        g = jnp.where(movable, jax.grad(total)(x), 0.0)
        updates, state = opt.update(-g, state)
        return (jnp.clip(x + updates, 0.0, 1.0), state), None

    (final, _), _ = jax.lax.scan(step, (starts, opt.init(starts)), None, length=num_steps)
    points = jnp.concatenate([starts, final])
    return points, acquisition_values(post, points, best, name, beta)


def low_precision(model):
    """``model`` (a posterior or a pytree of posteriors, arrays or ``jax.ShapeDtypeStruct``)
    with every ``L^-1`` in float32, for the ascent only: the variance's matrix product is
    memory-bound at large n, and float32 halves it (0.91 s against 1.38 s for the ascent
    at 2,048 rows on a loaded 2-core CPU). The points it reaches are scored again with the
    exact model, which picks the proposal: its exact score is the float64 ascent's to 1e-6
    (tested)."""

    def cast(path, leaf):
        if not (path and getattr(path[-1], "name", None) == "linv"):
            return leaf
        if isinstance(leaf, jax.ShapeDtypeStruct):
            return jax.ShapeDtypeStruct(leaf.shape, jnp.float32)
        return leaf.astype(jnp.float32)

    return jax.tree_util.tree_map_with_path(cast, model)


_score = runtime.Program(score, static_argnames=("name",))
_gradient_ascent = runtime.Program(gradient_ascent, static_argnames=("name", "num_restarts", "num_steps"))


def candidate_set(
    rng: np.random.Generator,
    dim: int,
    num_sobol: int,
    incumbents: np.ndarray,
    num_local: int,
    local_scale: float = 0.05,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Scrambled Sobol points plus Gaussian perturbations of incumbent points, in the unit
    box or in ``bounds`` (lower, upper) within it."""
    lo, hi = (np.zeros(dim), np.ones(dim)) if bounds is None else bounds
    sobol = lo + (hi - lo) * qmc.Sobol(dim, scramble=True, seed=rng).random(num_sobol)
    if len(incumbents) == 0 or num_local == 0:
        return sobol
    centers = incumbents[rng.integers(len(incumbents), size=num_local)]
    # A spread of scales: some candidates refine, some look a little further out.
    scales = local_scale * np.exp(rng.uniform(np.log(0.02), np.log(2.0), size=(num_local, 1)))
    local = np.clip(centers + scales * rng.standard_normal((num_local, dim)), lo, hi)
    return np.concatenate([sobol, local])


def categorical_neighbours(x: np.ndarray, n_choices: np.ndarray) -> np.ndarray:
    """All points that differ from x (d,) in the value of exactly one categorical coordinate."""
    out = []
    for j, k in enumerate(n_choices):
        for c in range(int(k)):
            y = x.copy()
            y[j] = (c + 0.5) / k
            out.append(y)
    return np.array(out).reshape(-1, len(x))


def precompile_parts(
    post,
    dim: int,
    n_choices: np.ndarray | None = None,
    name: str = "log_ei",
    num_sobol: int = 1024,
    num_local: int = 256,
    num_restarts: int = 8,
    num_steps: int = 60,
    screen_in_float32: bool = False,
    prepare: bool = False,
) -> tuple[Callable[[], None], Callable[[], None]]:
    """Two calls that together compile what :func:`propose` will run for a model of
    ``post``'s shapes (a pytree of arrays or ``jax.ShapeDtypeStruct``), without running it:
    the gradient ascent, and the final scoring. Separate so that two threads can share them.
    With ``prepare`` each also runs once on zeros (:meth:`runtime.Program.prepare`)."""
    n_choices = np.zeros(dim, np.int64) if n_choices is None else np.asarray(n_choices)
    dtype = next(leaf.dtype for leaf in jax.tree.leaves(post) if jnp.issubdtype(leaf.dtype, jnp.floating))
    scalar = jax.ShapeDtypeStruct((), dtype)
    cands = jax.ShapeDtypeStruct((num_sobol + num_local, dim), dtype)
    movable = jax.ShapeDtypeStruct((dim,), jnp.bool_)
    ascent_post = low_precision(post) if screen_in_float32 else post

    ascent_prog, score_prog = (_gradient_ascent.prepare, _score.prepare) if prepare else (_gradient_ascent.precompile, _score.precompile)

    def ascent():
        ascent_prog(ascent_post, scalar, scalar, cands, movable, name=name, num_restarts=num_restarts, num_steps=num_steps)

    def scores():
        score_prog(post, jax.ShapeDtypeStruct((2 * num_restarts, dim), dtype), scalar, scalar, name=name)
        if np.any(n_choices > 0):
            score_prog(post, jax.ShapeDtypeStruct((int(n_choices.sum()) + 1, dim), dtype), scalar, scalar, name=name)

    return ascent, scores


def propose(
    post: gp.Posterior,
    best: float,
    rng: np.random.Generator,
    incumbents: np.ndarray,
    snap: Callable[[np.ndarray], np.ndarray] = lambda x: np.clip(x, 0.0, 1.0),
    n_choices: np.ndarray | None = None,
    name: str = "log_ei",
    beta: float = 4.0,
    num_sobol: int = 1024,
    num_local: int = 256,
    num_restarts: int = 8,
    num_steps: int = 60,
    screen_in_float32: bool = False,
    exclude: np.ndarray | None = None,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, float]:
    """One point maximizing the acquisition among valid points of the space (within
    ``bounds``, a trust region, when given).

    Args:
      post: the model: a GP posterior or any pytree with ``predict(x) -> (mean, var)``
        (outcomes oriented so that larger is better).
      best: the incumbent value for improvement-based acquisitions.
      rng: host random generator for the candidates.
      incumbents: (k, d), k >= 1, good observed points around which local candidates are
        drawn; their width gives the dimension.
      snap: projects encoded points (m, d) onto valid ones (``SearchSpace.snap``).
      n_choices: (d,) number of values of each categorical coordinate, 0 for ordered ones.
      screen_in_float32: score the candidates and ascend with :func:`low_precision`'s
        model; the final scores, which choose the point, are exact.
      exclude: (k, d) encoded points not to propose (a batch's earlier members, pending
        trials): the best point found elsewhere is taken instead; when every point the
        ascent reached is one of them, the best of as many quasi-random valid points.
      bounds: (lower, upper), each (d,), a box within the unit box: the candidates are
        drawn in it, and every point scored is clipped to it before ``snap`` (the ascent's
        steps are not, so an ascended point leaving the box lands on its boundary).

    Returns:
      The encoded point (d,) and its acquisition value.
    """
    incumbents = np.asarray(incumbents)
    dim = incumbents.shape[1]
    n_choices = np.zeros(dim, np.int64) if n_choices is None else np.asarray(n_choices)
    dtype = next(leaf.dtype for leaf in jax.tree.leaves(post) if jnp.issubdtype(leaf.dtype, jnp.floating))
    if bounds is not None:
        lo, hi, unboxed = np.asarray(bounds[0]), np.asarray(bounds[1]), snap

        def snap(u: np.ndarray) -> np.ndarray:
            return unboxed(np.clip(u, lo, hi))

    # Host arrays: in a new process each eager jnp conversion's first call loads a program.
    cands = snap(candidate_set(rng, dim, num_sobol, incumbents, num_local, bounds=bounds))
    points, _ = _gradient_ascent(
        low_precision(post) if screen_in_float32 else post, np.asarray(best, dtype), np.asarray(beta, dtype), np.asarray(cands, dtype),
        np.asarray(n_choices == 0), name=name, num_restarts=num_restarts, num_steps=num_steps,
    )
    points = snap(np.asarray(points))
    values = np.asarray(_score(post, np.asarray(points, dtype), np.asarray(best, dtype), np.asarray(beta, dtype), name=name))
    if np.all(_among(points, exclude)):
        # Every ascent converged onto an excluded point: as many fresh points as the ascent
        # had ends (one compiled shape), scored.
        points = snap(rng.random((2 * num_restarts, dim)))
        values = np.asarray(_score(post, np.asarray(points, dtype), np.asarray(best, dtype), np.asarray(beta, dtype), name=name))
    values = np.where(np.isfinite(values) & ~_among(points, exclude), values, -np.inf)
    winner = points[int(np.argmax(values))]
    if np.any(n_choices > 0):
        sweep = categorical_neighbours(winner, n_choices)
        # Pad to a fixed count so the jitted scorer sees one shape per space.
        padded = np.concatenate([sweep, np.repeat(winner[None], int(n_choices.sum()) + 1 - len(sweep), 0)])
        sweep_values = np.asarray(_score(post, np.asarray(padded, dtype), np.asarray(best, dtype), np.asarray(beta, dtype), name=name))
        points, values = np.concatenate([points, padded]), np.concatenate([values, sweep_values])
    values = np.where(np.isfinite(values) & ~_among(points, exclude), values, -np.inf)
    i = int(np.argmax(values))
    return points[i], float(values[i])


def _among(points: np.ndarray, exclude: np.ndarray | None) -> np.ndarray:
    """Which rows of points (m, d) equal a row of exclude (k, d), to 1e-12."""
    if exclude is None or not len(exclude):
        return np.zeros(len(points), bool)
    return np.any(np.all(np.abs(points[:, None, :] - np.asarray(exclude)[None, :, :]) <= 1e-12, axis=-1), axis=1)
