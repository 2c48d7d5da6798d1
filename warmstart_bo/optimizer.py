"""Optimizer: the ask/tell interface over dicts of hyperparameters.

This is the one stateful object of the core: it keeps the told observations and the
pending (asked, not yet told) points, and on each ``ask`` drives the pure pieces: encode
(:mod:`space`), transform the outcomes, fit (:mod:`gp`), condition, and maximize the acquisition
(:mod:`optimize`).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import qmc

from warmstart_bo import gp, optimize, runtime, transfer, trust_region
from warmstart_bo.space import Parameter, SearchSpace, is_finite_number
from warmstart_bo.transfer import hyperprior, icm, rgpe, selection, shifted, stacked
from warmstart_bo.transfer.common import Task, is_constant, standardize
from warmstart_bo.transfer.histories import ParentHistory, encode_history
from warmstart_bo.warmstart import WarmStartTypes

OBJECTIVE_TYPES = ("Minimize", "Maximize")
# The priors whose design opens with the parents' best points and whose jobs are cold
# starts; best-first-local then searches a trust region while they prove good.
BEST_FIRST = ("best-first", "best-first-local")

_fit_posterior = runtime.Program(gp.fit_posterior, static_argnames=("max_iter", "tol"))
_refine = runtime.Program(gp.refine, static_argnames=("max_iter", "tol", "min_steps"))
_extend = runtime.Program(gp.extend)
_condition = runtime.Program(gp.condition)
_loo = runtime.Program(gp.loo_predictions)
_stacked_loo = runtime.Program(stacked.loo_predictions)
_rgpe_loo = runtime.Program(rgpe.loo_predictions)
_shifted_loo = runtime.Program(shifted.loo_predictions)
_icm_fit = runtime.Program(icm.fit_posterior, static_argnames=("target", "max_iter", "tol"))


def _seeded_prior_normals(seed, told, dim: int, num: int, dtype):
    """:func:`gp.prior_normals` for the fit after ``told`` observations of a seeded job."""
    return gp.prior_normals(jax.random.fold_in(jax.random.key(seed), told), dim, num, dtype)


# The prior draws of a multi-start fit as one compiled program (cached like the fit, and
# loaded ahead with it) rather than the dozen eager ops each of which compiles on a new
# process's first ask.
_prior_normals = runtime.Program(_seeded_prior_normals, static_argnames=("dim", "num", "dtype"))

# Rows an ICM model keeps (all tasks together, room for the batch included): its fit is
# cubic in them, and 512 keeps it in one padding bucket.
ICM_MAX_ROWS = 512

# Refits: the decrease in log posterior (nats) a refinement must promise before it runs
# (0.1 nats: far inside the hyperparameters' own posterior spread, and a drift that grows
# with every new point soon passes it), and its most BFGS steps. A fresh multi-start fit runs when the data have doubled since
# the last one while the padded size is at most MULTISTART_MAX_ROWS; beyond it every fit
# continues from the previous optimum, as Optuna's GPSampler always does (several starts
# there would cost many times a typical ask, and the optimum moves little). A first fit on
# more rows than SUBSET_ROWS multi-starts on a random subset of that size.
REFIT_TOL = 0.1
REFIT_MAX_STEPS = 20
MULTISTART_MAX_ROWS = 256
# From MULTISTART_EVERY_ASK rows on, a multi-start fit runs in a background thread beside the
# asks (one took 0.5 s at 128 rows and 2.5 s at 256, 10-30x a typical ask there), and the ask
# n / MULTISTART_LAG observations after the one that started it on n takes its optimum if
# that fits the data better then: the same check at a fixed point of the job, so results do
# not depend on timing.
MULTISTART_LAG = 4
# A guarded transfer job's first points alternate with cold start's design until this many
# design points are in: the guard's leave-one-out comparison then sees points that the
# parents did not choose (with only the parents' picks, misleading parents look consistent).
GUARD_EARLY_DESIGN = 2
# Sobol points drawn with the design (at least): those after it are its spare points.
SPARE_DESIGN = 64
# A job's first ask waits up to this many seconds for the programs its first Bayesian ask
# calls: loaded from a warm cache (0.25-0.3 s on 2 cores) the design's trials do not hide
# them when the objective is cheap, and the first Bayesian ask that waited for them instead
# took 7-13x the median ask of its size (a 300-trial job, benchmarks/engine_scale.py);
# compiled (a cold cache, about 3 s) the rest goes on beside the design's trials.
FIRST_ASK_WAIT = 1.0
# How many padded sizes past the current one a job of known size compiles ahead.
SIZES_AHEAD = 3
# Threads that compile (or load) padded sizes ahead, taking them in order: with one, a job
# with a cheap objective reached the second size while the first was still loading.
COMPILE_WORKERS = 2
SUBSET_ROWS = 256
# Up to SMALL_ROWS padded rows a likelihood costs milliseconds: every ask refines for at
# least SMALL_MIN_STEPS steps to SMALL_TOL, as a fresh fit would. (Skipping refits there
# cost quality: Hartmann-6 BO against random search and the warm-start statistical tests
# failed with refits gated at 0.1 nats and multi-starts only up to 64 rows.)
SMALL_ROWS = 256
# Up to this many points every ask fits afresh from several starts (a likelihood costs
# microseconds): with so few points the hyperparameters' posterior has several modes, and
# the warm-start statistical tests (transfer saving, unrelated parent) need the fresh fits.
MULTISTART_EVERY_ASK = 32
SMALL_TOL = 1e-3
SMALL_MIN_STEPS = 2
# Above SMALL_ROWS the gradient check itself (O(n^2 d): at n = 2000, a third of an ask
# without a refit) runs once the rows have grown by this fraction since the last check: one
# ask in 31 at n = 2000, every ask below 64 rows. Between checks the new rows join the
# factor at the same hyperparameters. At n = 2000 (d = 6) checked every ask, a third of the
# asks refitted (to gains of 0.1-0.5 nats, within one posterior standard deviation of the
# hyperparameters), each at one to five factorizations of 2,048 rows.
REFIT_CHECK_GROWTH = 1 / 64
# A check that finds a refit worth it takes at most this many BFGS steps in one ask; one
# that has not converged checks again at the next ask, so the refit is spread over asks
# (after 31 unchecked asks at n = 2000, d = 6, one refit took 20 steps, 25 s, in one ask).
LARGE_REFIT_STEPS = 2

# Free rows kept in each parent model for fantasies (pending trials and batch members), so
# that a batch of up to this size never moves a parent to a larger padded size.
PARENT_ROOM = 8


def acquisition_budget(model) -> dict[str, int | bool]:
    """Candidates, ascent steps and precision of :func:`optimize.propose` for ``model``.

    Each candidate's variance costs O(rows^2) per GP in the model: from an equivalent of
    1024 rows on (summed over a stack's or an ensemble's members), 512 candidates (the raw
    samples of BoTorch's tutorials) and 40 steps instead of 1280 and 60, and the ascent
    screens with a float32 ``L^-1`` (:func:`optimize.low_precision`), which keeps an ask
    under a second at n = 2000 on two cores."""
    squares = sum(a.shape[0] ** 2 for a in jax.tree.leaves(model) if a.ndim == 2 and a.shape[0] == a.shape[1])
    if squares / 2 >= 1024**2:  # each GP holds two square factors, L^-1 and K^-1
        return {"num_sobol": 256, "num_local": 256, "num_steps": 40, "screen_in_float32": True}
    return {}


class _Background:
    """``fn()`` in a thread, under the caller's ``jax_enable_x64`` (a thread-local setting);
    :meth:`result` waits for it. Not a daemon: interpreter shutdown waits for XLA work in
    flight rather than tearing XLA down under it."""

    def __init__(self, fn, name: str):
        self._value: Any = None
        self._error: BaseException | None = None
        x64 = bool(jax.config.jax_enable_x64)

        def run():
            try:
                with jax.enable_x64(x64):
                    self._value = fn()
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                self._error = e

        self._thread = threading.Thread(target=run, name=name)
        self._thread.start()

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


class _GPState(NamedTuple):
    """What a later ask reuses of a GP fit: the rows it was conditioned on, the posterior,
    BFGS's curvature, the data size at the last multi-start fit and at the last gradient
    check, and the loss there."""

    x: np.ndarray
    posterior: gp.Posterior
    hess_inv: jax.Array
    multistart_n: int
    checked_n: int
    loss: float


def _same_point(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two encoded points are the same trial (told, pending, failed or designed)."""
    return np.allclose(a, b, rtol=0.0, atol=1e-12)


def _among(point: np.ndarray, points: np.ndarray) -> bool:
    """Whether ``point`` is the same trial as a row of ``points`` (:func:`_same_point`)."""
    return bool(len(points)) and bool(np.any(np.all(np.abs(points - point) <= 1e-12, axis=1)))


def default_initial_points(dim: int) -> int:
    """Size of the quasi-random initial design: 2 (d + 1), between 4 and 10."""
    return int(min(10, max(4, 2 * (dim + 1))))


OUTPUT_TRANSFORMS = ("standardize", "yeo-johnson", "copula")


def yeo_johnson(y: np.ndarray) -> np.ndarray:
    """Standardized, Yeo-Johnson transformed (Yeo & Johnson 2000; as HEBO does), standardized
    again: the power lambda maximizes the Gaussian likelihood of the standardized outcomes,
    clipped to [-2, 4] so that a few points cannot ask for an extreme warp."""
    from scipy import stats

    y = np.asarray(y, dtype=np.float64)
    z = standardize(y)[0]
    if len(z) < 3 or is_constant(y):
        return z
    lam = float(np.clip(stats.yeojohnson_normmax(z), -2.0, 4.0))
    return standardize(stats.yeojohnson(z, lam))[0]


def transform_outputs(y: np.ndarray, how: str = "yeo-johnson") -> np.ndarray:
    """One task's outcomes (larger is better) as the GP sees them: ``"standardize"``
    (z-scores), ``"yeo-johnson"`` (:func:`yeo_johnson`) or ``"copula"`` (normal quantiles
    of the ranks). Monotone, so the best point stays the best."""
    if how == "standardize":
        return standardize(y)[0]
    if how == "yeo-johnson":
        return yeo_johnson(y)
    if how == "copula":
        return transfer.normalize(y, "copula")
    raise ValueError(f"output_transform must be one of {OUTPUT_TRANSFORMS}, got {how!r}")


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
      num_fit_starts: BFGS starting points of a multi-start hyperparameter fit (the first,
        and each time the data double while small); other fits refine the previous optimum.
      parents: :class:`~warmstart_bo.transfer.ParentHistory` of each parent task (values
        in this optimizer's orientation), for warm start.
      warm_start_type: ``WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM`` (parent trials join
        the data; the initial design shrinks by their number) or
        ``WarmStartTypes.TRANSFER_LEARNING`` (each parent is a related task under
        ``transfer_prior``).
      transfer_prior: ``"best-first"`` (the default, ``transfer.DEFAULT_PRIOR``),
        ``"best-first-local"``, ``"stacked"``, ``"icm"``, ``"rgpe"``, ``"shifted"``, ``"select"`` or ``"hyperprior"``. The
        stacked, ICM, RGPE and shifted priors model the parents' values and have no initial design:
        the first point is the parents' predicted best. ``"shifted"`` moves one parent's
        landscape onto the target by an inferred shift (:mod:`warmstart_bo.transfer.shifted`;
        ``last_transfer["shift"]``). ``"select"`` builds all three at
        every step and takes the one whose leave-one-out predictions rank the target's
        points best (:mod:`warmstart_bo.transfer.selection`; ``last_transfer["chosen"]``). ``"hyperprior"`` is a cold
        start whose hyperparameter priors are fitted to the parents and whose design opens
        with their best points (:mod:`warmstart_bo.transfer.hyperprior`); guarded, it checks
        the parents once after its opening and four design points and becomes a cold start
        if the target refutes them. ``"best-first"`` is a cold start whose design's first
        points are the parents' best (each parent's best in turn, then second best, ...);
        ``transfer_guard`` does not apply to it. ``"best-first-local"`` is best-first whose
        Bayesian asks search a trust region around the incumbent
        (:mod:`warmstart_bo.trust_region`) where the parents' points beat cold start's next
        two design points clearly (:func:`trust_region.gate`), the rest of the design dropped
        (``last_transfer["local_search"]``, ``["trust_region_side"]``).
      max_observations: the most points this optimizer will be told (a job's ``max_jobs``),
        if known: the padded sizes the job will reach are compiled ahead in background
        threads, from the first ask on, ``SIZES_AHEAD`` past the one it is at; unknown, the
        next size only, late in each bucket.
      priors: hyperparameter priors (default :func:`gp.default_priors` of the dimension).
      output_transform: how the job's outcomes are warped before the GP sees them, per task
        (:func:`transform_outputs`): ``"yeo-johnson"`` (default), ``"standardize"``,
        ``"copula"``.
      transfer_guard: hedge a transfer job against parents that mislead it
        (:mod:`warmstart_bo.transfer.guard`). The first points alternate between the
        transfer model's proposals and cold start's quasi-random design until
        ``GUARD_EARLY_DESIGN`` design points are in, so the guard judges on spread-out
        points; then, at every step, the leave-one-out ranking of the target's points by
        the transfer model is compared with a target-only GP's, and a step where transfer
        ranks worse is a cold start's step: the next design point, once those are used up
        the target-only GP. RGPE weighs its parents by the same kind of ranking; a step
        where it drops every parent is a cold start's step too. ``"ranking"``: the
        comparison alone, a rejected step using the target-only GP and no design (the guard
        before the design hedge, kept for comparison); False: no guard.

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
        parents: Sequence[ParentHistory] = (),
        warm_start_type: str | None = None,
        transfer_prior: str | None = None,
        transfer_guard: bool | str = True,
        parent_normalization: str = "standardize",
        max_observations: int | None = None,
        priors: gp.Priors | None = None,
        output_transform: str = "yeo-johnson",
    ):
        runtime.enable_compilation_cache()
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
        self.priors = gp.default_priors(self.space.dim) if priors is None else priors
        if output_transform not in OUTPUT_TRANSFORMS:
            raise ValueError(f"output_transform must be one of {OUTPUT_TRANSFORMS}, got {output_transform!r}")
        self.output_transform = output_transform
        self._x: list[np.ndarray] = []
        self._y: list[float] = []
        self._pending: list[np.ndarray] = []
        self._failed: list[np.ndarray] = []
        self._gp_states: dict[str, _GPState] = {}
        self._precompiled: set[int] = set()
        self._fallback_design = 0
        self.max_observations = None if max_observations is None else int(max_observations)
        self._compilers: dict[int, threading.Event] = {}
        self._needed: dict[int, threading.Event] = {}
        self._multistarts: dict[str, tuple[_Background, int]] = {}
        self.last_fit: dict[str, Any] = {}
        self.parent_normalization = parent_normalization
        if isinstance(parents, ParentHistory):
            raise TypeError("parents takes a list of ParentHistory objects: wrap a single parent in a list")
        self._setup_warm_start(list(parents), warm_start_type, transfer_prior, transfer_guard, n_initial_points is None)
        fallback = self._cold_design if self._hyperprior_check else self._fallback_design
        # The best-first opening takes the place of the design's first points; the others'
        # openings come before theirs.
        replaced = len(self._opening) if self.transfer_prior in BEST_FIRST else 0
        n_sobol = 1 << max(0, max(self.n_initial_points - len(self._opening) + replaced, fallback) - 1).bit_length()
        sobol = qmc.Sobol(self.space.dim, scramble=True, seed=np.random.default_rng(self.random_seed)).random(max(2 * n_sobol, SPARE_DESIGN))
        self._initial_design = np.concatenate([self._opening, self.space.snap(sobol[:n_sobol])[replaced:]])
        # The sequence's next points: they stand in for a design point the job has already
        # evaluated, and fill the space while the outcomes are constant (_spread_out).
        self._spare_design = self.space.snap(sobol[n_sobol:])

    def _setup_warm_start(self, parents: list[ParentHistory], kind: str | None, prior: str | None, guard: bool | str, default_design: bool) -> None:
        bad = next((p for p in parents if not isinstance(p, ParentHistory)), None)
        if bad is not None:
            raise TypeError(f"parents must be ParentHistory objects (warmstart_bo.transfer.ParentHistory), got {type(bad).__name__}: {bad!r:.200}")
        if parents and kind is None:
            raise ValueError("parents need a warm_start_type (WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM or TRANSFER_LEARNING)")
        if kind is not None and kind not in WarmStartTypes.ALL:
            raise ValueError(f"warm_start_type must be one of {WarmStartTypes.ALL}, got {kind!r}")
        if kind is not None and not parents:
            raise ValueError("warm start needs at least one parent history")
        prior = transfer.DEFAULT_PRIOR if prior is None else prior
        if prior not in transfer.PRIORS:
            raise ValueError(f"transfer_prior must be one of {transfer.PRIORS}, got {prior!r}")
        if guard not in (True, False, "ranking"):
            raise ValueError(f"transfer_guard must be True, False or 'ranking', got {guard!r}")
        self.warm_start_type, self.transfer_prior, self.transfer_guard = kind, prior, guard
        self.parent_names = [p.name for p in parents]
        self.dropped_parent_trials: dict[str, int] = {}
        encoded = []
        for p in parents:
            x, y, dropped = encode_history(self.space, p)
            self.dropped_parent_trials[p.name] = dropped
            if len(y):
                encoded.append((x, y))
        d = self.space.dim
        self._parent_x = np.concatenate([x for x, _ in encoded]) if encoded else np.zeros((0, d))
        self._parent_y = np.concatenate([y for _, y in encoded]) if encoded else np.zeros(0)
        # Transfer tasks: parent outcomes oriented (larger better), then copula-normalized.
        self._tasks = [Task(x, transfer.normalize(self._sign * y, self.parent_normalization)) for x, y in encoded]
        self._parent_gps: list[gp.Posterior] | None = None
        self._parent_stack: stacked.StackedPosterior | None = None
        self._icm_last: tuple[icm.ICMPosterior, jax.Array] | None = None
        self._icm_fit_info: dict[str, Any] = {}
        self.last_transfer: dict[str, Any] = {}
        self._opening = np.zeros((0, d))
        # The hyperprior's check of its parents (None: not guarded or decided), and what a
        # refuted job falls back to.
        self._hyperprior_check: bool | None = None
        self._cold_priors, self._cold_design = self.priors, self.n_initial_points if default_design else 0
        if kind == WarmStartTypes.TRANSFER_LEARNING and prior == "hyperprior" and encoded:
            # A cold start under hyperparameter priors learned from the parents, its design
            # opened by their best points; their outcomes warped as the target's will be.
            warped = [Task(x, transform_outputs(self._sign * y, self.output_transform)) for x, y in encoded]
            with jax.enable_x64(self.dtype == "float64"):
                self.priors = hyperprior.priors(warped, self.space.categorical_mask, self.priors, self.random_seed, self._dtype)
            self._opening = hyperprior.opening_points(warped)
            self.last_transfer = {"prior": prior, "used": True, "opening_points": len(self._opening)}
            self._hyperprior_check = bool(guard) and len(self._opening) > 0
        # best-first-local's gate (trust_region.gate): None until the points it compares are
        # in, or without its opening.
        self._local_gate: bool | None = None
        self._local_design = np.zeros((0, self.space.dim))  # its opening and design, once passed
        if kind == WarmStartTypes.TRANSFER_LEARNING and prior in BEST_FIRST and encoded:
            # Only the ranking of each parent's outcomes matters (larger better); ties in the
            # benchmark baseline's order, so that its stored runs are this option's.
            self._opening = hyperprior.opening_points([Task(x, self._sign * y) for x, y in encoded], stable=False)
            self.last_transfer = {"prior": prior, "used": True, "opening_points": len(self._opening)}
        if default_design and encoded:
            if kind == WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM:
                self.n_initial_points = max(0, self.n_initial_points - len(self._parent_y))
            elif prior == "hyperprior":
                design = hyperprior.CHECK_POINTS if self._hyperprior_check else hyperprior.DESIGN_POINTS
                self.n_initial_points = len(self._opening) + design
            elif prior in BEST_FIRST:
                pass  # cold start's design, opened by the parents' best points
            else:
                # The design becomes the guard's: interleaved early, and taken on rejected steps.
                self._fallback_design = self.n_initial_points if guard is True else 0
                self.n_initial_points = 0

    @property
    def _identical(self) -> bool:
        return self.warm_start_type == WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM and len(self._parent_y) > 0

    @property
    def _transfer(self) -> bool:
        """Whether asks go through a transfer model (the hyperprior's and best-first's jobs are
        cold starts)."""
        return self.warm_start_type == WarmStartTypes.TRANSFER_LEARNING and len(self._tasks) > 0 and self.transfer_prior not in ("hyperprior", *BEST_FIRST)

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
        if isinstance(values, (str, bytes, int, float, np.generic)) or getattr(values, "ndim", None) == 0:
            raise ValueError(f"tell() takes a list of values, one per parameter dict; got {values!r}: wrap a single value in a list")
        # 0-d NumPy and JAX arrays (an objective computed in JAX) are the numbers they hold.
        params_list, values = list(params_list), [v.item() if getattr(v, "ndim", None) == 0 and hasattr(v, "item") else v for v in values]
        if len(params_list) != len(values):
            raise ValueError(f"tell() got {len(params_list)} parameter dicts but {len(values)} values")
        encoded = self.space.encode_many(params_list)
        ys = []
        for p, v in zip(params_list, values):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise ValueError(f"objective value for {dict(p)!r} must be a number, got {v!r}")
            if not is_finite_number(v):
                raise ValueError(f"objective value for {dict(p)!r} is {v!r}; only finite values (within float64's range) can be told (record failed trials instead)")
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
            if _same_point(p, x):
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
        with jax.enable_x64(self.dtype == "float64"), runtime.blas_threads():
            encoded = self._ask_encoded(int(n))
        self._pending.extend(encoded)
        return self.space.decode_many(np.array(encoded))

    def _rng(self, purpose: int) -> np.random.Generator:
        return np.random.default_rng([self.random_seed, purpose, len(self._y), len(self._pending), len(self._failed)])

    def _check_hyperprior(self) -> None:
        """Once every opening and check point has an outcome or has failed: keep the
        hyperprior if the target confirms the parents (:func:`hyperprior.parents_confirmed`),
        else make the job a cold start (cold start's priors and the rest of its design)."""
        k = len(self._opening)
        design = self._design_after_opening(k + hyperprior.CHECK_POINTS if self._cold_design else self.n_initial_points)
        told = self._outcomes_at([*self._opening, *design])
        if told is None:
            return
        opening = [v for t in told[:k] for v in t]
        checked = [v for t in told[k:] for v in t]
        confirmed = hyperprior.parents_confirmed(np.array(opening), np.array(checked))
        self._hyperprior_check = None
        self.last_transfer.update(used=confirmed, confirmed=confirmed)
        if not confirmed:
            self.priors = self._cold_priors
            self._gp_states.clear()
            if self._cold_design:
                self.n_initial_points = k + self._cold_design

    def _ask_encoded(self, n: int) -> list[np.ndarray]:
        if self._hyperprior_check:
            self._check_hyperprior()
        if self._local_gate is None and self.transfer_prior == "best-first-local" and len(self._opening):
            self._decide_local_gate()
        chosen: list[np.ndarray] = []
        start = len(self._y) + len(self._pending) + len(self._failed)
        seen = self._seen() if start < self.n_initial_points else None
        while len(chosen) < n and start + len(chosen) < self.n_initial_points:
            chosen.append(self._design_point(start + len(chosen), np.concatenate([seen, np.array(chosen).reshape(-1, self.space.dim)])))
        if len(chosen) == n:
            if not self._transfer and (self.max_observations is None or self.max_observations > self.n_initial_points):
                # The first Bayesian ask's programs load (or compile) while the design runs.
                rows = len(self._parent_y) * self._identical + self.n_initial_points
                first = gp.bucket_size(rows)
                starting = first not in self._precompiled
                self._precompile([first] + (self._sizes_ahead(first) if self.max_observations is not None else []), self._dtype)
                if starting:
                    self._needed[first].wait(FIRST_ASK_WAIT)
            return chosen
        if not self._y and not (self._identical or self._transfer):
            # Everything so far is pending: nothing to fit, keep sampling quasi-randomly.
            rng = self._rng(1)
            return chosen + [self.space.snap(rng.random(self.space.dim)) for _ in range(n - len(chosen))]
        return chosen + self._ask_bayesian(n - len(chosen), chosen)

    def _design_after_opening(self, stop: int) -> list[np.ndarray]:
        """The design's points ``len(opening)`` to ``stop`` as the job asks them
        (:meth:`_design_point`)."""
        design: list[np.ndarray] = []
        for i in range(len(self._opening), stop):
            design.append(self._design_point(i, np.array([*self._opening, *design]).reshape(-1, self.space.dim)))
        return design

    def _outcomes_at(self, points: list[np.ndarray]) -> list[list[float]] | None:
        """Each point's told outcomes (larger better; none where it failed), or None while
        one of them is neither told nor failed."""
        told = [[self._sign * y for x, y in zip(self._x, self._y) if _same_point(x, p)] for p in points]
        failed = [any(_same_point(x, p) for x in self._failed) for p in points]
        return told if all(t or f for t, f in zip(told, failed)) else None

    def _decide_local_gate(self) -> None:
        """best-first-local's gate (:func:`trust_region.gate`), once the opening and the
        design points after it are told or failed: on a pass the rest of the design is
        dropped and the Bayesian asks search the trust region."""
        k = len(self._opening)
        design = self._design_after_opening(min(k + trust_region.GATE_POINTS, self.n_initial_points))
        told = self._outcomes_at([*self._opening, *design])
        if told is None:
            return
        self._local_gate = trust_region.gate([v for t in told[:k] for v in t], [v for t in told[k:] for v in t])
        self.last_transfer["local_search"] = self._local_gate
        if self._local_gate:
            self.n_initial_points = k + len(design)
            self._local_design = np.array([*self._opening, *design])

    def _local_bounds(self, x_obs: np.ndarray, y_obs: np.ndarray, model: gp.Posterior) -> tuple[np.ndarray, np.ndarray] | None:
        """best-first-local's trust region for this ask, around the incumbent, or None
        (gate not passed, or the region spent): the region's state replays the outcomes
        told so far, the asks after the design being its own."""
        if not self._local_gate:
            return None
        local = [not _among(x, self._local_design) for x in x_obs]
        region = trust_region.replay(y_obs, local, self.space.dim)
        self.last_transfer["trust_region_side"] = region.side if region.alive else None
        if not region.alive:
            return None
        lengthscales = np.exp(np.asarray(model.params.log_lengthscales, dtype=float))
        return trust_region.box(x_obs[int(np.argmax(y_obs))], lengthscales, region.side, free=self.space.categorical_mask)

    def _seen(self) -> np.ndarray:
        """The encoded points this job has asked (told, pending or failed), and for identical
        data its parents' points too: a design point among them would be a repeat."""
        points = [*self._x, *self._pending, *self._failed]
        if self._identical:
            points += list(self._parent_x)
        return np.array(points).reshape(-1, self.space.dim)

    def _design_point(self, i: int, seen: np.ndarray) -> np.ndarray:
        """Trial ``i``'s design point: the design's ``i``-th, or where that is a point in
        ``seen`` (a parent's best point of the opening met again in the design, a parent of
        identical data run with the same seed), the first spare point that is not; the
        repeat itself only when every spare point is taken too."""
        p = self._initial_design[i] if i < len(self._initial_design) else self.space.snap(self._rng(0).random(self.space.dim))
        if not _among(p, seen):
            return p
        spare = self._unused_spare(seen)
        return p if spare is None else spare

    def _unused_spare(self, seen: np.ndarray) -> np.ndarray | None:
        """The first spare design point not in ``seen``; None once every one is."""
        return next((q for q in self._spare_design if not _among(q, seen)), None)

    def _spread_out(self, n: int, already: list[np.ndarray]) -> list[np.ndarray]:
        """``n`` points where the outcomes are constant: a GP fitted to them is flat, and its
        acquisition would send every ask to the box's corners, over and over. The spare
        points of the design not yet asked, then random ones."""
        seen = np.concatenate([self._seen(), np.array(already).reshape(-1, self.space.dim)])
        rng, out = self._rng(3), []
        for _ in range(n):
            q = self._unused_spare(seen)
            for _ in range(100 if q is None else 0):  # a new random point (a small discrete space may have none)
                q = self.space.snap(rng.random(self.space.dim))
                if not _among(q, seen):
                    break
            out.append(q)
            seen = np.concatenate([seen, q[None]])
        self.last_fit = {"fallback": "constant outcomes: spare design points (quasi-random)"}
        return out

    def _ask_bayesian(self, n: int, already: list[np.ndarray]) -> list[np.ndarray]:
        dtype = self._dtype
        x_obs = np.array(self._x).reshape(-1, self.space.dim)
        y_obs = self._sign * np.array(self._y)
        if self._identical:
            # Same task: parent trials are observations like the job's own.
            x_obs = np.concatenate([self._parent_x, x_obs])
            y_obs = np.concatenate([self._sign * self._parent_y, y_obs])
        if not self._transfer and len(y_obs) > 1 and is_constant(y_obs):
            return self._spread_out(n, already)
        y_std = transform_outputs(y_obs, self.output_transform) if len(y_obs) else y_obs
        fantasies = list(self._pending) + list(already)
        capacity = gp.bucket_size(len(y_std) + len(fantasies) + n - 1)
        name, beta = self.acquisition, self.ucb_beta
        no_target_data = self._transfer and not len(y_std)
        design: list[np.ndarray] = []
        bounds = None
        if self._transfer:
            model = self._transfer_model(x_obs, y_std, capacity, dtype)
            design = self._guard_design(n, already)
            if design:
                self.last_transfer.update(design_points=len(design))
                if len(design) == n:
                    return design
                already = list(already) + design
                fantasies += design
                n -= len(design)
        else:
            model = self._gp_posterior("target", x_obs, y_std, capacity, dtype)
            bounds = self._local_bounds(x_obs, y_obs, model)
            # Larger padded sizes compile beside the asks. When the job's size is known, every
            # size it will reach, in order, from its first Bayesian ask (loading one size from
            # a warm cache takes about half a second of CPU, more than a small bucket's worth
            # of cheap asks); otherwise the next size, in the second half of this bucket.
            following = gp.bucket_size(capacity + 1)
            if self.max_observations is None:
                if len(y_std) + len(fantasies) + n >= capacity - (following - capacity) // 4:
                    self._precompile([following], dtype)
            else:
                self._precompile(self._sizes_ahead(capacity), dtype)
        best = float(np.max(y_std)) if len(y_std) else 0.0
        order = np.argsort(-y_std)
        incumbents = list(x_obs[order[:5]])
        if self._transfer:
            incumbents += [np.clip(t.x[np.argmax(t.y)], 0.0, 1.0) for t in self._tasks]
        incumbents = np.array(incumbents)
        rng = self._rng(2)
        out: list[np.ndarray] = []
        post = model
        for f in fantasies:
            # One row at a time: one compiled shape, however many are pending. The incumbent
            # rises to each fantasy's believed value, as the kriging believer's data would.
            best = max(best, transfer.believed_value(post, f))
            post = transfer.fantasize(post, f[None])
        for _ in range(n):
            if no_target_data:
                # Nothing observed on the target yet: the first point is the parents'
                # predicted best; later ones in a batch improve on the fantasies' values.
                if fantasies:
                    name, beta = self.acquisition, self.ucb_beta
                    best = float(np.max(np.asarray(model.predict(jnp.asarray(np.array(fantasies), dtype))[0])))
                else:
                    name, beta = "ucb", 0.0
            x, value = optimize.propose(
                post, best, rng, incumbents, snap=self.space.snap, n_choices=self.space.n_choices,
                name=name, beta=beta, exclude=np.array(fantasies).reshape(-1, self.space.dim), bounds=bounds, **acquisition_budget(model),
            )
            if not np.isfinite(value):
                warnings.warn("the acquisition is not finite at any point not already pending or in this batch: proposing a quasi-random point", RuntimeWarning, stacklevel=3)
                self.last_fit["fallback"] = "acquisition not finite away from pending and batch points: quasi-random point"
                x = self.space.snap(rng.random(self.space.dim))
            out.append(x)
            fantasies.append(x)
            if len(out) < n:
                best = max(best, transfer.believed_value(post, x))
                post = transfer.fantasize(post, x[None])
        return design + out

    def _guard_design(self, n: int, already: list[np.ndarray]) -> list[np.ndarray]:
        """The points of cold start's design this transfer step takes (see ``transfer_guard``):
        every other point until ``GUARD_EARLY_DESIGN`` design points are in, and every point
        while the guard rejects transfer. Points told, pending, failed or in ``already`` are
        not repeated, so a resumed job picks up where it was."""
        if not self._fallback_design:
            return []
        seen = np.concatenate([self._seen(), np.array(already).reshape(-1, self.space.dim)])
        unused = [p for p in self._initial_design[: self._fallback_design] if not _among(p, seen)]
        if not self.last_transfer.get("used", True):
            return unused[:n]
        taken = self._fallback_design - len(unused)
        position = len(seen)
        out = []
        for i in range(n):
            if unused and taken < GUARD_EARLY_DESIGN and (position + i) % 2 == 1:
                out.append(unused.pop(0))
                taken += 1
        return out

    @property
    def _dtype(self):
        return jnp.float64 if self.dtype == "float64" else jnp.float32

    def _sizes_ahead(self, capacity: int) -> list[int]:
        """The padded sizes above ``capacity`` that this job (of known size) will reach, the
        next ``SIZES_AHEAD`` of them: a later ask schedules the ones after (a job of 10**30
        trials listed sizes for ever, one of 5000 compiled 4 GB of programs it never ran
        and kept its process from exiting for minutes)."""
        rows, sizes = len(self._parent_y) * self._identical + self.max_observations, [capacity]
        while rows > sizes[-1] and len(sizes) <= SIZES_AHEAD:
            sizes.append(gp.bucket_size(sizes[-1] + 1))
        return sizes[1:]

    def _precompile(self, capacities: list[int], dtype) -> None:
        """Compiles (or loads) the GP path's programs for each padded size in ``capacities``
        in ``COMPILE_WORKERS`` background threads, program by program: first, sizes in
        order, the programs the asks at each size call, in the order they call them (a
        job's first Bayesian ask, and every ask up to ``MULTISTART_EVERY_ASK`` rows, starts
        with the multi-start fit's draws and the fit); then the fantasies' programs. Each
        also runs once on a dummy data set (:meth:`runtime.Program.prepare`), so that the ask
        that first needs a size neither stalls for seconds nor pays an executable's first-run
        cost. With a trivial objective a 300-trial job's first asks beat the threads to the
        later sizes when every size's programs came before the next size's: the asks that
        cross into 64 and 128 rows waited for them.
        An ask waits only for the programs it calls that a worker is making
        (:class:`runtime.Program`); each size's ``_needed`` event is set when the programs its
        asks call are settled, its ``_compilers`` event when all are. Compilation only:
        results are unchanged."""
        todo = [c for c in capacities if c not in self._precompiled]
        if not todo:
            return
        runtime.freeze_heap()
        self._precompiled.update(todo)
        done = {c: threading.Event() for c in todo}
        needed = {c: threading.Event() for c in todo}
        self._compilers.update(done)
        self._needed.update(needed)
        x64 = self.dtype == "float64"
        d, cat = self.space.dim, self.space.categorical_mask
        n_choices, name, fit_starts = self.space.n_choices, self.acquisition, self.num_fit_starts
        params = gp.prior_mode(d, self.priors, dtype)
        state = self._gp_states.get("target")
        hess = np.eye(sum(a.size for a in jax.tree.leaves(params)), dtype=dtype) if state is None else state.hess_inv
        priors, seed = self.priors, self.random_seed
        first = state is None

        def order(capacity) -> tuple[list[str], list[str]]:
            """A size's programs that the asks there call, in the order they call them, then
            those that only some jobs call there (fantasies: pending points). Past
            ``MULTISTART_EVERY_ASK`` rows the doubling multi-start fit loads its own programs
            in its background thread."""
            if capacity <= MULTISTART_EVERY_ASK:  # every fit a multi-start
                return ["normals", "multistart", "ascent", "scores"], ["fantasize"]
            if first and capacity == todo[0]:  # a multi-start fit, then refits
                return ["normals", "multistart", "ascent", "scores", "extend", "refine"], ["condition", "fantasize"]
            return ["condition", "refine", "ascent", "scores", "extend"], ["fantasize"]

        def programs(capacity) -> dict[str, Callable[[], None]]:
            # Each program is compiled (or loaded) and then run once (Program.prepare) on a
            # one-point data set at the prior's centre, where fits end in a few steps: the
            # first size's too up to SMALL_ROWS, since a job's first ask waits for them
            # (FIRST_ASK_WAIT), and its first Bayesian ask took 0.10 s instead of 0.06 s when
            # they were not run. A larger first size (an identical warm start's pool) is only
            # compiled: a dummy fit there costs full-size factorizations beside the ask that
            # is about to run the real one.
            prepare = capacity != todo[0] or capacity <= SMALL_ROWS
            data = gp.pad_data(np.zeros((1, d)), np.zeros(1), cat, capacity, dtype)
            posts: list[gp.Posterior] = []

            def post() -> gp.Posterior:
                """The dummy posterior: arrays to run on, or shapes to compile for."""
                with locks[capacity]:
                    if not posts:
                        posts.append(_condition(params, data) if prepare else jax.eval_shape(_condition, params, data))
                return posts[0]

            def ascent_and_scores():
                return optimize.precompile_parts(post(), d, n_choices, name, prepare=prepare, **acquisition_budget(post()))

            def make(program: runtime.Program) -> Callable:
                return program.prepare if prepare else program.precompile

            if capacity <= SMALL_ROWS:
                budget = dict(max_iter=REFIT_MAX_STEPS, tol=SMALL_TOL, min_steps=SMALL_MIN_STEPS)
            else:
                budget = dict(max_iter=LARGE_REFIT_STEPS, tol=REFIT_TOL)
            starts = jax.tree.map(lambda a: np.repeat(a[None], fit_starts, axis=0), params)
            return {
                "condition": lambda: make(_condition)(params, data),
                "refine": lambda: make(_refine)(post(), priors, hess, **budget),
                "ascent": lambda: ascent_and_scores()[0](),
                "scores": lambda: ascent_and_scores()[1](),
                "extend": lambda: make(_extend)(post(), data, 0),
                "fantasize": lambda: transfer.precompile_fantasize(post(), d, prepare=prepare),
                "multistart": lambda: make(_fit_posterior)(data, priors, starts, max_iter=100, tol=1e-4),
                "normals": lambda: make(_prior_normals)(seed, 0, dim=d, num=fit_starts, dtype=dtype),
            }

        orders = {c: order(c) for c in todo}
        left = {(c, tier): len(orders[c][tier]) for c in todo for tier in (0, 1)}
        made: dict[int, dict] = {}
        locks = {c: threading.Lock() for c in todo}
        # The asks beside the workers wait less for the GIL while they run.
        release_switch = runtime.shorten_switch_interval()
        unsettled, unsettled_lock = [sum(left.values())], threading.Lock()

        def settle(capacity, program, tier):
            try:
                with jax.enable_x64(x64):
                    with locks[capacity]:
                        if capacity not in made:
                            made[capacity] = programs(capacity)
                    made[capacity][program]()
            except Exception:  # noqa: BLE001 - the ask that needs this program compiles it as usual
                pass
            finally:
                with locks[capacity]:
                    left[capacity, tier] -= 1
                    if not left[capacity, 0]:
                        needed[capacity].set()
                        if not left[capacity, 1]:
                            done[capacity].set()
                with unsettled_lock:
                    unsettled[0] -= 1
                    if not unsettled[0]:
                        release_switch()

        # Workers take the programs in order: every size's first-needed ones, then the rest;
        # shutdown(wait=False) lets them finish on their own.
        pool = ThreadPoolExecutor(COMPILE_WORKERS, thread_name_prefix=f"warmstart-bo-compile-{'-'.join(map(str, todo))}")
        try:
            for tier in (0, 1):
                for capacity in todo:
                    for program in orders[capacity][tier]:
                        pool.submit(settle, capacity, program, tier)
        except RuntimeError:  # the interpreter is shutting down: what was submitted runs
            release_switch()
            raise
        pool.shutdown(wait=False)

    # Transfer learning.

    def _fit_parent_gps(self, dtype) -> list[gp.Posterior]:
        if self._parent_gps is None:
            cat = self.space.categorical_mask
            self._parent_gps = [
                transfer.fit_posterior(t.x, t.y, cat, self.priors, self.random_seed + 7919 * (i + 1), dtype, gp.bucket_size(len(t.y) + PARENT_ROOM))
                for i, t in enumerate(self._tasks)
            ]
        return self._parent_gps

    def _fit_parent_stack(self, dtype) -> stacked.StackedPosterior:
        if self._parent_stack is None:
            self._parent_stack = stacked.fit(self._tasks, self.space.categorical_mask, self.priors, self.random_seed, dtype, PARENT_ROOM)
        return self._parent_stack

    def _transfer_model(self, x_obs: np.ndarray, y_std: np.ndarray, capacity: int, dtype):
        """The transfer prior's model of the target, or the target-only GP where the guard
        finds that transfer ranks the target's points worse."""
        kind = self.transfer_prior
        if not len(y_std):
            self.last_transfer = {"prior": kind, "used": True, "reason": "no target data"}
            if kind == "stacked":
                return self._fit_parent_stack(dtype)
            parents = self._fit_parent_gps(dtype)
            return rgpe.EnsemblePosterior(tuple(parents), jnp.full(len(parents), 1.0 / len(parents), dtype))
        target = self._gp_posterior("target", x_obs, y_std, capacity, dtype)
        if kind == "rgpe":
            model = rgpe.ensemble(self._fit_parent_gps(dtype), target, self._rng(3))
            weights = np.asarray(model.weights)
            self.last_transfer = {"prior": kind, "used": True, "weights": weights.tolist()}
            if self.transfer_guard and not np.any(weights[:-1] > 0):
                self.last_transfer.update(used=False, reason="RGPE dropped every parent")
            return model
        if kind == "select":
            candidates = {k: self._prior_model(k, x_obs, y_std, capacity, dtype, target) for k in selection.CANDIDATES}
            if not np.any(np.asarray(candidates["rgpe"][0].weights)[:-1] > 0):
                del candidates["rgpe"]  # every parent dropped: the target-only GP, which the guard weighs
            chosen = transfer.select({k: c[1:] for k, c in candidates.items()}, y_std)
            model, loo_mean, _ = candidates[chosen.choice]
            for other, *_ in candidates.values():
                self._compile_proposals(other)
            self.last_transfer = {"prior": kind, "used": True, "chosen": chosen.choice, "losses": chosen.losses, "log_densities": chosen.log_densities}
            kind = chosen.choice
        else:
            model, loo_mean, _ = self._prior_model(kind, x_obs, y_std, capacity, dtype, target)
            self.last_transfer = {"prior": kind, "used": True}
        if kind == "icm":
            self.last_transfer["fit"] = self._icm_fit_info
        if kind == "shifted":
            self.last_transfer["shift"] = self._shift_info
        if self.transfer_guard:
            decision = transfer.guard(loo_mean, np.asarray(_loo(target)[0])[: len(y_std)], y_std)
            if decision.transfer_loss is not None:
                self.last_transfer.update(loo_ranking_loss=decision.transfer_loss, target_only_loss=decision.target_loss)
                # The guard may switch between the two within a bucket: both propose without compiling.
                self._compile_proposals(target if decision.use_transfer else model)
            if not decision.use_transfer:
                self.last_transfer.update(used=False, reason="target-only GP ranks the target's points better")
                return target
        return model

    def _compile_proposals(self, model) -> None:
        """Compiles what proposing from ``model`` runs (acquisition, one-row fantasies) for
        its shapes, unless already compiled (then a cache lookup): a selecting job may
        switch models within a bucket, and the switch should not compile."""
        for part in optimize.precompile_parts(model, self.space.dim, self.space.n_choices, self.acquisition, **acquisition_budget(model)):
            part()
        transfer.precompile_fantasize(model, self.space.dim)

    def _prior_model(self, kind: str, x_obs: np.ndarray, y_std: np.ndarray, capacity: int, dtype, target: gp.Posterior):
        """One prior's model of the target and its leave-one-out means and variances at the
        target's points (n,), the evidence the guard and the per-step selection weigh."""
        n = len(y_std)
        if kind == "rgpe":
            model = rgpe.ensemble(self._fit_parent_gps(dtype), target, self._rng(3))
            mean, var = _rgpe_loo(model)
            return model, np.asarray(mean)[:n], np.asarray(var)[:n]
        if kind == "stacked":
            below = self._fit_parent_stack(dtype)
            residual = y_std - stacked.stack_mean(below, x_obs, dtype)
            top = self._gp_posterior("stacked", x_obs, residual, capacity, dtype)
            model = stacked.add_level(below, top)
            mean, var = _stacked_loo(model)
            return model, np.asarray(mean)[:n], np.asarray(var)[:n]
        if kind == "shifted":
            parents = self._fit_parent_gps(dtype)
            best_points = np.array([t.x[np.argmax(t.y)] for t in self._tasks])
            scale = shifted.shift_scale(best_points, ~self.space.categorical_mask)
            # Scored first under the target-only GP's covariance, then again under the residual
            # GP's: the residual's is smaller where the move explains the target, so the
            # second pass tells shifts apart that the first cannot.
            fit = shifted.fit_shift(parents, best_points, target, ~self.space.categorical_mask, scale, self._rng(7))
            top = self._gp_posterior("shifted", x_obs, shifted.residual_targets(parents[fit.parent], fit, x_obs, y_std), capacity, dtype)
            if shifted.EVIDENCE_SIGNAL != 1.0:
                top = _condition(top.params._replace(log_signal_variance=top.params.log_signal_variance + np.log(shifted.EVIDENCE_SIGNAL)), top.data)
            fit = shifted.fit_shift(parents, best_points, target, ~self.space.categorical_mask, scale, self._rng(8), covariance=top, sample=shifted.SAMPLE_SHIFT)
            parent = parents[fit.parent]
            top = self._gp_posterior("shifted", x_obs, shifted.residual_targets(parent, fit, x_obs, y_std), capacity, dtype)
            model = shifted.model(parent, fit, top)
            self._shift_info = {"parent": fit.parent, "shift": fit.shift.tolist(), "coef": fit.coef.tolist(), "scale": scale}
            var = np.asarray(_shifted_loo(model)[1])[:n]
            return model, shifted.held_out_means(parents, fit, target, top, scale, ~self.space.categorical_mask), var
        model = self._icm_model(x_obs, y_std, dtype, capacity - n)
        # The joint model is a GP on (x, task): its leave-one-out moments are gp's.
        rows = icm.task_rows(model.data, int(model.target))
        mean, var = _loo(model.posterior)
        return model, np.asarray(mean)[rows], np.asarray(var)[rows]

    def _icm_model(self, x_obs: np.ndarray, y_std: np.ndarray, dtype, spare: int) -> icm.ICMPosterior:
        """The ICM model of the parents (subsampled to ``ICM_MAX_ROWS`` rows in all, room for
        ``spare`` fantasies included) and the target.

        The joint model is a GP on (x, task), so later asks take the cold GP's path: rows
        appended since the last fit join its factor incrementally (:func:`gp.extend`), or a
        new padding bucket re-conditions at the last optimum, and :func:`gp.refine`
        continues from there with the last curvature (no factorization when the gradient
        promises less than ``REFIT_TOL``). Only the first ask fits from the prior's centre.
        """
        rng = np.random.default_rng([self.random_seed, 4])
        per_parent = max(16, (ICM_MAX_ROWS - len(y_std) - spare) // len(self._tasks))
        tasks = [transfer.subsample(t, per_parent, rng) for t in self._tasks] + [Task(x_obs, y_std)]
        total = sum(len(t.y) for t in tasks)
        capacity = gp.bucket_size(total + spare)
        data = icm.pad([(t.x, t.y) for t in tasks], self.space.categorical_mask, capacity, dtype)
        target = len(tasks) - 1
        if self._icm_last is None:
            start = icm.initial_params(self.space.dim, len(tasks), self.priors, dtype)
            model, _, hess = _icm_fit(data, self.priors, start, None, target=target, max_iter=100 if capacity <= 256 else 40, tol=1e-4)
            self._icm_fit_info = {"kind": "first fit"}
        else:
            last, hess = self._icm_last
            rows = int(np.sum(np.asarray(last.data.mask)))
            same_rows = (
                last.data.x.shape[0] == capacity and rows <= total
                and np.array_equal(np.asarray(last.data.x)[:rows], np.asarray(data.x)[:rows])
            )
            post = _extend(last.posterior, data, rows) if same_rows else _condition(last.params, data)
            fit = _refine(post, self.priors, hess, max_iter=REFIT_MAX_STEPS, tol=REFIT_TOL)
            model, hess = icm.ICMPosterior(fit.posterior, jnp.asarray(target)), fit.hess_inv
            self._icm_fit_info = {"kind": "incremental" if same_rows else "re-conditioned", "steps": int(fit.steps)}
        self._icm_last = (model, hess)
        return model

    def _gp_posterior(self, role: str, x: np.ndarray, y: np.ndarray, capacity: int, dtype) -> gp.Posterior:
        """The MAP-fitted GP on (x, y), reusing the last fit of the same ``role``.

        Rows appended since that fit join its factor incrementally (:func:`gp.extend`, O(n^2)
        each) and the hyperparameters are refined from there (:func:`gp.refine`), which
        costs no factorization when the gradient promises less than ``REFIT_TOL``. A new
        padding bucket re-conditions once at the previous optimum and refines likewise. A
        multi-start fit (the previous optimum, the prior's centre and prior draws) runs at
        every ask up to ``MULTISTART_EVERY_ASK`` rows, and later whenever the data have
        doubled, on padded sizes up to ``MULTISTART_MAX_ROWS``, in a background thread that a
        later ask joins (``MULTISTART_LAG``); a first fit on more than ``SUBSET_ROWS`` rows
        multi-starts on a random subset of that size and refines on all. A posterior that cannot be factorized falls back to the prior's centre, with a warning.
        """
        cat = self.space.categorical_mask
        data = gp.pad_data(x, y, cat, capacity, dtype)
        state = self._gp_states.get(role)
        n = len(y)
        info: dict[str, Any] = {"role": role, "rows": n, "capacity": capacity}
        if state is None and capacity > SUBSET_ROWS:
            # Many rows at once (a warm start's pool, a resumed job): multi-start on a random
            # subset, then refine on everything from there. The curvature scales with the
            # rows, so the subset's inverse Hessian is shrunk by their ratio.
            keep = np.sort(self._rng(5).choice(n, SUBSET_ROWS, replace=False))
            sub = gp.pad_data(x[keep], y[keep], cat, SUBSET_ROWS, dtype)
            first = _fit_posterior(sub, self.priors, self._fit_starts(None, dtype, self.num_fit_starts), max_iter=100, tol=1e-3)
            post = _condition(first.posterior.params, data)
            fit = _refine(post, self.priors, first.hess_inv * (SUBSET_ROWS / n), max_iter=LARGE_REFIT_STEPS, tol=REFIT_TOL)
            # Refining on all rows costs a factorization of them a step: two steps now, the
            # rest at the next asks (checked_n 0: the next ask checks) if not converged.
            checked_n = n if int(fit.steps) < LARGE_REFIT_STEPS else 0
            multistart_n, info["kind"] = n, "subset multi-start, refined"
        elif state is None or n <= MULTISTART_EVERY_ASK:
            fit = _fit_posterior(data, self.priors, self._fit_starts(state, dtype, self.num_fit_starts), max_iter=100, tol=1e-4)
            multistart_n, checked_n, info["kind"] = n, n, "multi-start"
        else:
            background = self._multistarts.get(role)
            adopt = background is not None and n >= background[1] + background[1] // MULTISTART_LAG
            same_rows = state.posterior.data.x.shape[0] == capacity and len(state.x) <= n and np.array_equal(state.x, x[: len(state.x)])
            if same_rows:
                post, info["kind"] = _extend(state.posterior, data, len(state.x)), "incremental"
            else:
                post, info["kind"] = _condition(state.posterior.params, data), "re-conditioned"
            checked_n = n
            if same_rows and capacity > SMALL_ROWS and n < state.checked_n * (1 + REFIT_CHECK_GROWTH) and not adopt:
                fit, checked_n = gp.Fit(post, jnp.asarray(state.loss), state.hess_inv, jnp.asarray(0)), state.checked_n
                info["kind"] += ", no gradient check"
            else:
                fit = self._refine(post, state.hess_inv, capacity)
                if capacity > SMALL_ROWS and int(fit.steps) >= LARGE_REFIT_STEPS:
                    checked_n = state.checked_n  # not converged yet: check again next ask
            multistart_n = state.multistart_n
            if adopt:
                fit, info["multi-start"] = self._adopt_multistart(role, fit, data, capacity)
            elif background is None and capacity <= MULTISTART_MAX_ROWS and n >= 2 * multistart_n and self._will_tell(n + n // MULTISTART_LAG):
                # A fresh multi-start fit on today's data runs beside the next asks; the ask
                # n / MULTISTART_LAG points later takes its optimum if it fits better then.
                starts = self._fit_starts(state, dtype, self.num_fit_starts)
                priors = self.priors
                self._multistarts[role] = (_Background(lambda: _fit_posterior(data, priors, starts, max_iter=100, tol=1e-4), f"warmstart-bo-fit-{role}-{n}"), n)
                multistart_n, info["multi-start"] = n, "started"
        post = fit.posterior
        info.update(steps=int(fit.steps), loss=float(fit.loss))
        if not bool(post.ok):
            post = _condition(gp.prior_mode(self.space.dim, self.priors, dtype), data)
            info["fallback"] = "covariance not positive definite: prior-centre hyperparameters"
            warnings.warn(f"the GP fit failed on {n} points; using the prior's centre hyperparameters", RuntimeWarning, stacklevel=4)
            fit = fit._replace(posterior=post, hess_inv=jnp.eye(fit.hess_inv.shape[0], dtype=fit.hess_inv.dtype))
        self._gp_states[role] = _GPState(np.array(x), post, fit.hess_inv, multistart_n, checked_n, float(fit.loss))
        self.last_fit = info
        return post

    def _refine(self, post: gp.Posterior, hess_inv: jax.Array, capacity: int) -> gp.Fit:
        """:func:`gp.refine` with the budget of the padded size: up to ``SMALL_ROWS`` rows to
        ``SMALL_TOL`` as a fresh fit would, above it ``LARGE_REFIT_STEPS`` steps an ask."""
        if capacity <= SMALL_ROWS:
            return _refine(post, self.priors, hess_inv, max_iter=REFIT_MAX_STEPS, tol=SMALL_TOL, min_steps=SMALL_MIN_STEPS)
        return _refine(post, self.priors, hess_inv, max_iter=LARGE_REFIT_STEPS, tol=REFIT_TOL)

    def _adopt_multistart(self, role: str, fit: gp.Fit, data: gp.Data, capacity: int) -> tuple[gp.Fit, str]:
        """The better of ``fit`` and the background multi-start fit of ``role`` (waited
        for), that one conditioned on ``data`` and refined there as ``fit`` was."""
        background, _ = self._multistarts.pop(role)
        other = background.result()
        if not bool(other.posterior.ok):
            return fit, "kept (multi-start failed)"
        other = self._refine(_condition(other.posterior.params, data), other.hess_inv, capacity)
        if bool(other.posterior.ok) and float(other.loss) < float(fit.loss):
            return other, "adopted"
        return fit, "kept"

    def _will_tell(self, n: int) -> bool:
        """Whether the job may still reach ``n`` observations (always, its size unknown)."""
        return self.max_observations is None or len(self._parent_y) * self._identical + self.max_observations >= n

    def _fit_starts(self, state: _GPState | None, dtype, num: int) -> gp.GPParams:
        """``num`` starting points of a multi-start fit (:func:`gp.fit_starts`), drawn from
        the seed and the number of observations."""
        normals = _prior_normals(self.random_seed, len(self._y), dim=self.space.dim, num=num, dtype=dtype)
        return gp.fit_starts(normals, self.priors, None if state is None else state.posterior.params)

    def fitted_params(self) -> gp.GPParams | None:
        """The hyperparameters of the last fit of the target GP (standardized-outcome
        scale), if any."""
        state = self._gp_states.get("target")
        return None if state is None else jax.tree.map(np.asarray, state.posterior.params)
