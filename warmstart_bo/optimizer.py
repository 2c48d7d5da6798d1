"""Optimizer: the ask/tell interface over dicts of hyperparameters.

This is the one stateful object of the core: it keeps the told observations and the
pending (asked, not yet told) points, and on each ``ask`` drives the pure pieces: encode
(:mod:`space`), standardize, fit (:mod:`gp`), condition, and maximize the acquisition
(:mod:`optimize`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import qmc

from warmstart_bo import gp, optimize
from warmstart_bo.space import Parameter, SearchSpace

OBJECTIVE_TYPES = ("Minimize", "Maximize")

_fit = jax.jit(gp.fit, static_argnames=("max_iter",))
_condition = jax.jit(gp.condition)
_predict = jax.jit(gp.predict)


def default_initial_points(dim: int) -> int:
    """Size of the quasi-random initial design: 2 (d + 1), between 4 and 10."""
    return int(min(10, max(4, 2 * (dim + 1))))


def standardize(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(y - mean) / std``; a constant (or single) outcome gets std 1."""
    mu = float(np.mean(y))
    sd = float(np.std(y))
    if not sd > 1e-12 * max(1.0, abs(mu)):
        sd = 1.0
    return (y - mu) / sd, mu, sd


class Optimizer:
    """Gaussian-process Bayesian optimization with an ask/tell interface.

    Args:
      hyperparameter_ranges: name -> ``ContinuousParameter`` / ``IntegerParameter`` /
        ``CategoricalParameter``.
      objective_type: ``"Minimize"`` or ``"Maximize"``.
      random_seed: seeds the initial design, the fit starts and the candidate sets; the same
        seed and the same history give the same proposals.
      n_initial_points: quasi-random (scrambled Sobol) points before the GP takes over;
        default :func:`default_initial_points`.
      acquisition: ``"log_ei"`` (default) or ``"ucb"``.
      ucb_beta: exploration weight of UCB.
      dtype: ``"float64"`` (default) or ``"float32"`` for the GP linear algebra. float64 is
        enabled for this object's computations only (``jax.enable_x64``), never globally.
      num_fit_starts: L-BFGS starting points for a fresh hyperparameter fit. Later fits in
        the same padding bucket start from the previous optimum alone.

    Example::

        opt = Optimizer({"lr": ContinuousParameter(1e-4, 1e-1, "Logarithmic")})
        for _ in range(20):
            (params,) = opt.ask()
            opt.tell([params], [train(params)])
    """

    def __init__(
        self,
        hyperparameter_ranges: Mapping[str, Parameter] | SearchSpace,
        objective_type: str = "Minimize",
        random_seed: int = 0,
        n_initial_points: int | None = None,
        acquisition: str = "log_ei",
        ucb_beta: float = 4.0,
        dtype: str = "float64",
        num_fit_starts: int = 8,
    ):
        self.space = hyperparameter_ranges if isinstance(hyperparameter_ranges, SearchSpace) else SearchSpace(hyperparameter_ranges)
        if objective_type not in OBJECTIVE_TYPES:
            raise ValueError(f"objective_type must be one of {OBJECTIVE_TYPES}, got {objective_type!r}")
        if acquisition not in ("log_ei", "ucb"):
            raise ValueError(f"acquisition must be 'log_ei' or 'ucb', got {acquisition!r}")
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        if not isinstance(random_seed, (int, np.integer)) or random_seed < 0:
            raise ValueError(f"random_seed must be a non-negative integer, got {random_seed!r}")
        self.objective_type = objective_type
        self.random_seed = int(random_seed)
        self.n_initial_points = default_initial_points(self.space.dim) if n_initial_points is None else int(n_initial_points)
        if self.n_initial_points < 1:
            raise ValueError(f"n_initial_points must be at least 1, got {n_initial_points!r}")
        self.acquisition = acquisition
        self.ucb_beta = float(ucb_beta)
        self.dtype = dtype
        self.num_fit_starts = int(num_fit_starts)
        self.priors = gp.default_priors(self.space.dim)
        self._x: list[np.ndarray] = []
        self._y: list[float] = []
        self._pending: list[np.ndarray] = []
        self._failed: list[np.ndarray] = []
        self._last_fit: tuple[int, gp.GPParams] | None = None
        n_sobol = 1 << max(0, self.n_initial_points - 1).bit_length()
        sobol = qmc.Sobol(self.space.dim, scramble=True, seed=np.random.default_rng(self.random_seed)).random(n_sobol)
        self._initial_design = self.space.snap(sobol)

    @property
    def _sign(self) -> float:
        return 1.0 if self.objective_type == "Maximize" else -1.0

    @property
    def num_observations(self) -> int:
        return len(self._y)

    @property
    def pending(self) -> list[dict[str, Any]]:
        """Points asked for and not yet told (or cancelled)."""
        return self.space.decode_many(np.array(self._pending)) if self._pending else []

    def observations(self) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Told points (as dicts, decoded from their encodings) and their values."""
        return self.space.decode_many(np.array(self._x)) if self._x else [], np.array(self._y)

    def best(self) -> tuple[dict[str, Any], float]:
        """The best told point and its value."""
        if not self._y:
            raise ValueError("no observations yet: tell() some results first")
        i = int(np.argmax(self._sign * np.array(self._y)))
        return self.space.decode(self._x[i]), self._y[i]

    def tell(self, params_list: Sequence[Mapping[str, Any]], values: Sequence[float]) -> None:
        """Records finished evaluations; matching pending points stop being pending.

        Raises ``ValueError`` for a value that is NaN, infinite or not a number, for
        parameters outside the space, and for mismatched lengths; nothing is recorded then.
        """
        if isinstance(params_list, Mapping):
            raise ValueError("tell() takes a list of parameter dicts and a list of values; wrap a single point in lists")
        params_list, values = list(params_list), list(values)
        if len(params_list) != len(values):
            raise ValueError(f"tell() got {len(params_list)} parameter dicts but {len(values)} values")
        encoded = self.space.encode_many(params_list)
        ys = []
        for p, v in zip(params_list, values):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise ValueError(f"objective value for {dict(p)!r} must be a number, got {v!r}")
            if not math.isfinite(float(v)):
                raise ValueError(f"objective value for {dict(p)!r} is {v!r}; only finite values can be told (record failed trials instead)")
            ys.append(float(v))
        for x, y in zip(encoded, ys):
            self._x.append(x)
            self._y.append(y)
            self._drop_pending(x)

    def cancel(self, params_list: Sequence[Mapping[str, Any]]) -> None:
        """Forgets pending points that will never be told (for example failed trials)."""
        for x in self.space.encode_many(list(params_list)):
            self._drop_pending(x)

    def tell_failed(self, params_list: Sequence[Mapping[str, Any]]) -> None:
        """Records points whose evaluation failed: no value reaches the GP.

        They stop being pending and count as used slots of the initial design, so the next
        quasi-random point is a new one rather than the failed point again.
        """
        for x in self.space.encode_many(list(params_list)):
            self._failed.append(x)
            self._drop_pending(x)

    def mark_pending(self, params_list: Sequence[Mapping[str, Any]]) -> None:
        """Registers points being evaluated that this object did not propose (a resumed job's
        unfinished trials, say), so that proposals account for them."""
        self._pending.extend(self.space.encode_many(list(params_list)))

    def _drop_pending(self, x: np.ndarray) -> None:
        for i, p in enumerate(self._pending):
            if np.allclose(p, x, rtol=0.0, atol=1e-12):
                del self._pending[i]
                return

    def ask(self, n: int = 1) -> list[dict[str, Any]]:
        """Proposes ``n`` points to evaluate next, accounting for pending ones.

        Quasi-random until the initial design is done; then a GP is fitted to all told data
        and points are chosen one at a time by the acquisition, each earlier choice and
        each pending point entered as a fantasy observation at its posterior mean
        (the kriging believer), so a batch spreads out.
        """
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        with jax.enable_x64(self.dtype == "float64"):
            encoded = self._ask_encoded(int(n))
        self._pending.extend(encoded)
        return self.space.decode_many(np.array(encoded))

    def _rng(self, purpose: int) -> np.random.Generator:
        return np.random.default_rng([self.random_seed, purpose, len(self._y), len(self._pending), len(self._failed)])

    def _ask_encoded(self, n: int) -> list[np.ndarray]:
        chosen: list[np.ndarray] = []
        start = len(self._y) + len(self._pending) + len(self._failed)
        while len(chosen) < n and start + len(chosen) < self.n_initial_points:
            i = start + len(chosen)
            if i < len(self._initial_design):
                chosen.append(self._initial_design[i])
            else:
                chosen.append(self.space.snap(self._rng(0).random(self.space.dim)))
        if len(chosen) == n:
            return chosen
        if not self._y:
            # Everything so far is pending: nothing to fit, keep sampling quasi-randomly.
            rng = self._rng(1)
            return chosen + [self.space.snap(rng.random(self.space.dim)) for _ in range(n - len(chosen))]
        return chosen + self._ask_bayesian(n - len(chosen), chosen)

    def _ask_bayesian(self, n: int, already: list[np.ndarray]) -> list[np.ndarray]:
        dtype = jnp.float64 if self.dtype == "float64" else jnp.float32
        x_obs = np.array(self._x)
        y_std, _, _ = standardize(self._sign * np.array(self._y))
        fantasies = list(self._pending) + list(already)
        capacity = gp.bucket_size(len(y_std) + len(fantasies) + n - 1)
        cat = self.space.categorical_mask
        data = gp.pad_data(x_obs, y_std, cat, capacity, dtype)
        params = self._fit_hyperparameters(data, capacity, dtype)
        base = _condition(params, data)
        best = float(np.max(y_std))
        order = np.argsort(-y_std)
        incumbents = x_obs[order[: min(5, len(order))]]
        rng = self._rng(2)
        out: list[np.ndarray] = []
        for _ in range(n):
            post = base
            if fantasies:
                # Kriging believer: a fantasy's value is the posterior mean given real data.
                fx = np.array(fantasies)
                fy = np.asarray(_predict(base, jnp.asarray(fx, dtype))[0])
                fantasy_data = gp.pad_data(np.concatenate([x_obs, fx]), np.concatenate([y_std, fy]), cat, capacity, dtype)
                post = _condition(params, fantasy_data)
            x, _ = optimize.propose(
                post, best, rng, incumbents, snap=self.space.snap, n_choices=self.space.n_choices,
                name=self.acquisition, beta=self.ucb_beta,
            )
            out.append(x)
            fantasies.append(x)
        return out

    def _fit_hyperparameters(self, data: gp.GPData, capacity: int, dtype) -> gp.GPParams:
        """MAP hyperparameters, warm-started from the previous fit when there is one.

        Inside a bucket one more observation moves the optimum little, so the previous
        optimum alone is refined for three L-BFGS iterations (at n = 500, running 30
        instead changed the log posterior by under 0.01). A fresh fit (first one, or a new
        bucket) uses several starts: the previous optimum if any, the prior's centre and
        prior draws; fewer and shorter on large buckets, where one likelihood costs O(n^3).
        """
        key = jax.random.fold_in(jax.random.key(self.random_seed), len(self._y))
        d = self.space.dim
        previous = None if self._last_fit is None else jax.tree.map(lambda a: jnp.asarray(a, dtype), self._last_fit[1])
        if previous is not None and self._last_fit[0] == capacity:
            starts, max_iter = jax.tree.map(lambda a: a[None], previous), 3
        else:
            num = self.num_fit_starts if capacity <= 256 else max(2, self.num_fit_starts // 4)
            max_iter = 100 if capacity <= 256 else 40
            starts = gp.sample_prior(key, d, self.priors, num, dtype)
            fixed = [gp.prior_mode(d, self.priors, dtype)]
            if previous is not None:
                fixed.insert(0, previous)
            for i, p in enumerate(fixed[:num]):
                starts = jax.tree.map(lambda s, m, i=i: s.at[i].set(m), starts, p)
        params, _ = _fit(data, self.priors, starts, max_iter=max_iter)
        self._last_fit = (capacity, jax.tree.map(np.asarray, params))
        return params

    def fitted_params(self) -> gp.GPParams | None:
        """The hyperparameters of the last fit (standardized-outcome scale), if any."""
        return None if self._last_fit is None else self._last_fit[1]
