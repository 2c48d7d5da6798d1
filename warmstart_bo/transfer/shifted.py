"""A parent's landscape moved onto the target: ``f(x) = a m_j(x - delta) + b + r(x)``.

``m_j`` is parent j's posterior mean, ``delta`` a shift of the continuous coordinates and
``r`` a GP on what the moved parent does not explain. Stacked and multi-task priors tie the
target to the parents at the same point, so an optimum that has moved (a regularization
strength that shifts with the data set's size) is learned point by point; here the move is
one parameter, inferred from a few of the target's points.

- ``delta``'s prior is a Gaussian whose scale is the spread of the parents' best points
  (the parents are draws from the same family of tasks as the target, so the target's
  optimum differs from a parent's by about as much as two parents' optima differ:
  :func:`shift_scale`), mixed with a broad one (``BROAD_WEIGHT``, ``BROAD_SCALE``) so that
  parents who agree with each other but not with the target can still be moved.
- ``a ~ N(1, 1)`` and ``b ~ N(0, 1)`` (outcomes are normalized per task) are integrated out
  in closed form under the target GP's covariance ``K``:
  ``y ~ N(m, K + H B H^T)`` with ``H = [m_j(x - delta), 1]``. Each candidate's evidence
  costs a 2x2 solve given ``K^-1`` (Woodbury), so thousands of shifts are scored at once.
- The (parent, ``delta``) of highest posterior density is taken (:func:`fit_shift`), from
  draws of the prior, shifts that carry the parent's best point onto the target's best
  points, and two rounds of draws around the best so far.

With ``delta = 0`` and one parent this is a stack of two levels (:mod:`.stacked`); predictions
blend the levels' standard deviations as the stack does. The guard judges the model on
leave-one-out means with the shift refitted without each point (:func:`held_out_means`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from warmstart_bo import gp, runtime
from warmstart_bo.transfer.stacked import ALPHA

# Prior of the moved parent's coefficients (a, b): mean and standard deviation of each.
COEF_MEAN = (1.0, 0.0)
COEF_STD = (1.0, 1.0)
# Bounds of the shift prior's scale (unit-cube lengths), and its value with one parent.
MIN_SCALE, MAX_SCALE, ONE_PARENT_SCALE = 0.02, 0.5, 0.15
# The broad component of the shift prior: its weight and scale.
BROAD_WEIGHT, BROAD_SCALE = 0.2, 0.25
# Candidates per parent and round: draws of the prior, then around the best at 1/4 and
# 1/16 of the prior's scale.
NUM_CANDIDATES = 256
REFINE = (0.25, 0.0625)
# Whether a job's model takes a posterior draw of the move rather than its mode (fit_shift's
# ``sample``); off: measured as the benchmark's ``transfer-shifted:sampled-shift``.
SAMPLE_SHIFT = False
# The factor on the residual GP's signal variance under which a job's second pass scores
# moves (1: the residual GP's own covariance). Smaller makes the evidence punish misfits at
# the target's points that the residual GP would otherwise absorb; measured as the
# benchmark's ``transfer-shifted:sharp-evidence``.
EVIDENCE_SIGNAL = 1.0


class ShiftedPosterior(NamedTuple):
    """The parent's posterior, the shift, the coefficients (a, b), the residual GP on top
    and the blend weight of the parent's standard deviation."""

    parent: gp.Posterior
    shift: jax.Array  # (d,)
    coef: jax.Array  # (2,)
    top: gp.Posterior
    beta: jax.Array  # ()

    def predict(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        return predict(self, x)


def moved_mean(parent: gp.Posterior, shift: jax.Array, coef: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``a m_j(x - shift) + b`` and its standard deviation ``|a| s_j(x - shift)`` at x (m, d)."""
    mean, var = gp.predict(parent, x - shift)
    return coef[0] * mean + coef[1], jnp.abs(coef[0]) * jnp.sqrt(jnp.maximum(var, 1e-30))


def _blend(below: tuple[jax.Array, jax.Array], mean: jax.Array, var: jax.Array, beta: jax.Array) -> tuple[jax.Array, jax.Array]:
    std = jnp.maximum(below[1], 1e-15) ** beta * jnp.sqrt(jnp.maximum(var, 1e-30)) ** (1.0 - beta)
    return below[0] + mean, std**2


def predict(model: ShiftedPosterior, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean and variance at x (m, d): the moved parent's mean plus the residual GP's, the
    standard deviations blended as :mod:`.stacked` blends levels."""
    return _blend(moved_mean(model.parent, model.shift, model.coef, x), *gp.predict(model.top, x), model.beta)


def loo_predictions(model: ShiftedPosterior) -> tuple[jax.Array, jax.Array]:
    """Leave-one-out moments at the residual GP's rows (the target's), the shift and
    coefficients held at their values. Padded rows get NaN."""
    below = moved_mean(model.parent, model.shift, model.coef, model.top.data.x)
    return _blend(below, *gp.loo_predictions(model.top), model.beta)


def shift_scale(best_points: np.ndarray, continuous: np.ndarray) -> float:
    """The shift prior's standard deviation per coordinate: the root mean square of the
    differences between the parents' best points (P, d) over pairs and continuous
    coordinates, within [MIN_SCALE, MAX_SCALE]; ONE_PARENT_SCALE with one parent."""
    pts = np.asarray(best_points, dtype=float)[:, np.asarray(continuous, bool)]
    if len(pts) < 2 or pts.shape[1] == 0:
        return ONE_PARENT_SCALE
    diffs = pts[:, None, :] - pts[None, :, :]
    pairs = len(pts) * (len(pts) - 1)
    return float(np.clip(np.sqrt(np.sum(diffs**2) / (pairs * pts.shape[1])), MIN_SCALE, MAX_SCALE))


def _coef_prior(dtype) -> tuple[jax.Array, jax.Array]:
    """The coefficients' prior mean ``c0`` and inverse covariance ``B^-1``."""
    return jnp.asarray(COEF_MEAN, dtype), jnp.diag(1.0 / jnp.asarray(COEF_STD, dtype) ** 2)


def _design(parent: gp.Posterior, shift: jax.Array, x: jax.Array, y: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The design ``H = [m_j(x - shift), 1]`` (n, 2) over x's padded rows and the residual
    ``y - H c0`` (n,) of the coefficients' prior mean, both zero on padded rows."""
    m = jnp.where(mask, gp.predict(parent, x - shift)[0], 0.0)
    h = jnp.stack([m, mask.astype(y.dtype)], axis=1)
    return h, jnp.where(mask, y - h @ _coef_prior(y.dtype)[0], 0.0)


def log_evidence(parent: gp.Posterior, shifts: jax.Array, x: jax.Array, y: jax.Array, mask: jax.Array, kinv: jax.Array, scale, moved) -> jax.Array:
    """Log posterior density (up to a constant) of each shift (K, d): ``log N(y; H c0, K + H
    B H^T)`` plus the shift prior's (:func:`log_shift_prior`; ``moved`` coordinates may be
    nonzero), with ``K^-1`` the target GP's inverse training covariance over x's padded
    rows (padded rows masked out)."""
    b_inv = _coef_prior(y.dtype)[1]

    def one(shift):
        h, r = _design(parent, shift, x, y, mask)
        kh, kr = kinv @ h, kinv @ r
        inner = b_inv + h.T @ kh
        u = h.T @ kr
        quad = r @ kr - u @ jnp.linalg.solve(inner, u)
        return -0.5 * (quad + jnp.linalg.slogdet(inner)[1]) + log_shift_prior(shift, scale, moved)

    return jax.vmap(one)(shifts)


def log_shift_prior(shift: jax.Array, scale, moved) -> jax.Array:
    """Log density of the shift prior (a mixture of two centred Gaussians) over the
    ``moved`` coordinates (the others are zero in every candidate)."""
    sq = jnp.sum(shift**2)

    def component(weight, s):
        return jnp.log(weight) - 0.5 * sq / s**2 - moved * jnp.log(s)

    return jnp.logaddexp(component(1.0 - BROAD_WEIGHT, scale), component(BROAD_WEIGHT, BROAD_SCALE))


def coefficients(parent: gp.Posterior, shift: jax.Array, x: jax.Array, y: jax.Array, mask: jax.Array, kinv: jax.Array) -> jax.Array:
    """The posterior mean of (a, b) at ``shift``: ``(B^-1 + H^T K^-1 H)^-1 (B^-1 c0 + H^T K^-1 y)``."""
    c0, b_inv = _coef_prior(y.dtype)
    h = _design(parent, shift, x, y, mask)[0]
    return jnp.linalg.solve(b_inv + h.T @ kinv @ h, b_inv @ c0 + h.T @ kinv @ jnp.where(mask, y, 0.0))


def held_out(parent: gp.Posterior, shifts: jax.Array, x: jax.Array, y: jax.Array, mask: jax.Array, kinv: jax.Array, scale, moved, prior_mean) -> tuple[jax.Array, jax.Array]:
    """For each shift (K, d) and each row i held out: the log posterior density of the shift
    given the other rows (as :func:`log_evidence`), and the leave-one-out mean at row i of
    the model fitted without it: coefficients from the other rows, then the GP's held-out
    prediction ``y_i - [K^-1 (y - mu)]_i / [K^-1]_ii`` under that mean (plus the residual
    GP's constant ``prior_mean``). Both (K, n); rows are removed from ``K^-1`` by the
    block-inverse identity, so each costs O(1) given the shift's O(n^2) products."""
    b_inv = _coef_prior(y.dtype)[1]
    diag = jnp.where(mask, jnp.diag(kinv), 1.0)
    a_one = kinv @ mask.astype(y.dtype)

    def one(shift):
        h, r = _design(parent, shift, x, y, mask)
        ar, ah = kinv @ r, kinv @ h
        g = ar - diag * r  # (n,): A_iS r_S
        big_g = ah - diag[:, None] * h  # (n, 2): A_iS H_S
        rar = r @ ar - 2 * r * ar + diag * r**2 - g**2 / diag
        hah = (h.T @ ah)[None] - (h[:, :, None] * ah[:, None, :] + ah[:, :, None] * h[:, None, :]) + diag[:, None, None] * h[:, :, None] * h[:, None, :] - big_g[:, :, None] * big_g[:, None, :] / diag[:, None, None]
        har = (h.T @ ar)[None] - h * ar[:, None] - ah * r[:, None] + diag[:, None] * h * r[:, None] - big_g * (g / diag)[:, None]
        inner = b_inv[None] + hah  # (n, 2, 2)
        d = jnp.linalg.solve(inner, har[..., None])[..., 0]  # (n, 2): c_-i - c0
        density = -0.5 * (rar - jnp.sum(har * d, axis=1) + jnp.linalg.slogdet(inner)[1]) + log_shift_prior(shift, scale, moved)
        loo = y - (ar - jnp.sum(ah * d, axis=1) - prior_mean * a_one) / diag
        return density, loo

    return jax.vmap(one)(shifts)


_log_evidence = runtime.Program(log_evidence)
_coefficients = runtime.Program(coefficients)
_held_out = runtime.Program(held_out)
_log_shift_prior = runtime.Program(jax.vmap(log_shift_prior, in_axes=(0, None, None)))


class ShiftFit(NamedTuple):
    """The chosen parent and shift, the coefficients' posterior mean, the log density, and
    every candidate scored (per parent), which :func:`held_out_means` searches again."""

    parent: int
    shift: np.ndarray
    coef: np.ndarray
    log_density: float
    candidates: tuple = ()


def held_out_means(parents: list[gp.Posterior], fit: ShiftFit, target: gp.Posterior, top: gp.Posterior, scale: float, continuous: np.ndarray) -> np.ndarray:
    """Leave-one-out means (n,) at the target's rows (``target``'s data, the outcomes the
    shift was fitted to) with the shift refitted without each row: for row i, the (parent,
    shift) among ``fit.candidates`` of highest density given the other rows, its
    coefficients from them, under the residual GP's (``top``, on the same rows) covariance
    and constant mean. The guard judges the shifted model on these; holding the shift
    fitted to every row, the held-out row included, would flatter it."""
    data = target.data
    n = int(np.sum(np.asarray(data.mask)))
    dtype = data.x.dtype
    moved = float(np.sum(np.asarray(continuous, bool)))
    best_density, best_mean = np.full(n, -np.inf), np.full(n, np.nan)
    for parent, cands in zip(parents, fit.candidates):
        density, loo = (np.asarray(a)[:, :n] for a in _held_out(parent, jnp.asarray(cands, dtype), data.x, data.y, data.mask, top.kinv,
                                                                jnp.asarray(scale, dtype), jnp.asarray(moved, dtype), top.params.mean))
        density = np.where(np.isfinite(density), density, -np.inf)
        k = np.argmax(density, axis=0)
        better = density[k, np.arange(n)] > best_density
        best_density = np.where(better, density[k, np.arange(n)], best_density)
        best_mean = np.where(better, loo[k, np.arange(n)], best_mean)
    return best_mean


def fit_shift(
    parents: list[gp.Posterior], parent_best: np.ndarray, target: gp.Posterior, continuous: np.ndarray, scale: float, rng: np.random.Generator,
    covariance: gp.Posterior | None = None, sample: bool = False,
) -> ShiftFit:
    """The (parent, shift) of highest posterior density given the target's data (``target``'s
    rows) under the covariance of ``covariance`` (a GP on the same rows; default
    ``target``), and the coefficients' posterior mean there.

    Candidates per parent: zero, ``NUM_CANDIDATES - 1`` draws of the prior and the shifts
    that carry the parent's best point (``parent_best`` (P, d)) onto each of the target's
    three best points; then draws around the best at each of ``REFINE``'s fractions of
    ``scale``. Only continuous coordinates move.

    ``sample``: the climb starts from a draw of the posterior instead, so that successive
    asks spread over the moves the target's trials leave open rather than sit on the mode:
    one (parent, prior draw) resampled from all parents' prior draws by likelihood
    (sampling-importance-resampling with the prior as proposal), then refined around it as
    above (its nearest mode)."""
    data = target.data
    kinv = (target if covariance is None else covariance).kinv
    mask = np.asarray(data.mask)
    n = int(mask.sum())
    x_obs, y_obs = np.asarray(data.x)[:n], np.asarray(data.y)[:n]
    move = np.asarray(continuous, bool).astype(float)
    dtype = data.x.dtype
    args = (data.x, data.y, data.mask, kinv, jnp.asarray(scale, dtype), jnp.asarray(move.sum(), dtype))
    scored: list = []

    def first_round(j: int) -> tuple[np.ndarray, int]:
        """Zero, the shifts onto the target's best points, then prior draws (from the returned index on)."""
        toward = x_obs[np.argsort(-y_obs)[:3]] - parent_best[j]
        cands = np.zeros((NUM_CANDIDATES, len(move)))
        broad = rng.random(NUM_CANDIDATES - 1) < BROAD_WEIGHT
        cands[1:] = rng.normal(0.0, 1.0, (NUM_CANDIDATES - 1, len(move))) * np.where(broad, BROAD_SCALE, scale)[:, None]
        cands[1 : 1 + len(toward)] = toward
        return cands * move, 1 + len(toward)

    def score(j: int, cands: np.ndarray) -> np.ndarray:
        scored.append((j, cands))
        scores = np.asarray(_log_evidence(parents[j], jnp.asarray(cands, dtype), *args))
        return np.where(np.isfinite(scores), scores, -np.inf)

    def climb(j: int, cands: np.ndarray | None, centre: np.ndarray | None, spreads: tuple) -> tuple[np.ndarray, float]:
        best_score = -np.inf
        for spread in spreads:
            if spread is not None:
                cands = centre + rng.normal(0.0, spread * scale, (NUM_CANDIDATES, len(move)))
                cands[0] = centre
                cands = cands * move
            scores = score(j, cands)
            k = int(np.argmax(scores))
            centre, best_score = cands[k].copy(), float(scores[k])
        return centre, best_score

    if sample:
        rounds = [first_round(j) for j in range(len(parents))]
        likelihood = []
        for j, (cands, draws) in enumerate(rounds):
            prior = np.asarray(_log_shift_prior(jnp.asarray(cands[draws:], dtype), jnp.asarray(scale, dtype), args[-1]))
            likelihood.append(score(j, cands)[draws:] - prior)
        likelihood = np.concatenate(likelihood)
        top = np.max(likelihood)
        weights = np.exp(likelihood - top) if np.isfinite(top) else np.ones_like(likelihood)  # no finite score: the prior's draw
        pick = int(rng.choice(len(weights), p=weights / weights.sum()))
        j, i = divmod(pick, NUM_CANDIDATES - rounds[0][1])
        centre, best_score = climb(j, None, rounds[j][0][rounds[j][1] + i], REFINE)
        best = ShiftFit(j, centre, np.zeros(2), best_score)
    else:
        best = None
        for j in range(len(parents)):
            centre, best_score = climb(j, first_round(j)[0], None, (None,) + REFINE)
            if best is None or best_score > best.log_density:
                best = ShiftFit(j, centre, np.zeros(2), best_score)
    coef = np.asarray(_coefficients(parents[best.parent], jnp.asarray(best.shift, dtype), data.x, data.y, data.mask, kinv))
    candidates = tuple(np.concatenate([c for i, c in scored if i == j]) for j in range(len(parents)))
    return best._replace(coef=coef, candidates=candidates)


def model(parent: gp.Posterior, fit: ShiftFit, top: gp.Posterior) -> ShiftedPosterior:
    """The shifted model from a fit and the residual GP fitted on top of it."""
    dtype = top.data.y.dtype
    n_below = int(jnp.sum(parent.data.mask))
    n = int(jnp.sum(top.data.mask))
    beta = ALPHA * n_below / (ALPHA * n_below + n)
    return ShiftedPosterior(parent, jnp.asarray(fit.shift, dtype), jnp.asarray(fit.coef, dtype), top, jnp.asarray(beta, dtype))


_moved_mean = runtime.Program(moved_mean)


def residual_targets(parent: gp.Posterior, fit: ShiftFit, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The target's outcomes y (n,) less the moved parent's mean at x (n, d): what the
    residual GP fits. Rows are padded to a bucket, so growing n does not recompile."""
    dtype = parent.data.x.dtype
    mean = np.asarray(_moved_mean(parent, jnp.asarray(fit.shift, dtype), jnp.asarray(fit.coef, dtype), gp.pad_rows(x, dtype))[0])
    return y - mean[: len(x)]
