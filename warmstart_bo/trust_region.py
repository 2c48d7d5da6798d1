"""A trust region for local Bayesian optimization, with TuRBO's side-length rule
(Eriksson et al., 2019, "Scalable Global Optimization via Local Bayesian Optimization").

The ``best-first-local`` warm start (:mod:`warmstart_bo.transfer`) searches a box around
the incumbent once the parents' best points have beaten cold start's first design points
clearly (:func:`gate`):
the acquisition is maximized over the box only, whose side is ``side`` times each
coordinate's lengthscale over their geometric mean. The side doubles after
``SUCCESS_TOL`` improvements in a row and halves after ``max(4, d)`` asks in a row without
one; once it falls below ``MIN_SIDE`` the region is spent and the job's asks are global
again. The state is a pure function of the outcomes told (:func:`replay`), so a resumed
job's region is the one it had.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

START_SIDE = 0.4  # of the unit box; TuRBO starts at 0.8 with a design inside the region
MIN_SIDE, MAX_SIDE = 2.0**-7, 1.6
SUCCESS_TOL = 3
IMPROVEMENT = 1e-3  # an improvement beats the incumbent by this fraction of its magnitude
GATE_POINTS = 2  # cold start's design points the parents' best must beat
# "gap": the median of the parents' points' outcomes, less their range, beats every design
# point; "beat": their best does (the first rule, kept for comparison: it let openings that
# all lay in one flat, poor region through).
GATE = "gap"


class Region(NamedTuple):
    """A trust region's side and its runs of successes and failures."""

    side: float
    successes: int = 0
    failures: int = 0

    @property
    def alive(self) -> bool:
        return self.side >= MIN_SIDE

    def update(self, improved: bool, dim: int) -> Region:
        """The region after one of its asks did (or did not) improve on the incumbent."""
        successes, failures = (self.successes + 1, 0) if improved else (0, self.failures + 1)
        if successes >= SUCCESS_TOL:
            return Region(min(2 * self.side, MAX_SIDE))
        if failures >= max(4, dim):
            return Region(self.side / 2)
        return Region(self.side, successes, failures)


def replay(values: Iterable[float], local: Iterable[bool], dim: int, side: float = START_SIDE) -> Region:
    """The region after outcomes ``values`` (larger better, in the order told), of which
    those marked ``local`` were the region's asks; the others (design points) only move the
    incumbent. Asks told after the region is spent do not change it."""
    region, best = Region(side), -np.inf
    for v, is_local in zip(values, local):
        if is_local and region.alive:
            region = region.update(bool(v > best + IMPROVEMENT * abs(best)), dim)
        best = max(best, v)
    return region


def box(centre: np.ndarray, lengthscales: np.ndarray, side: float, free: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The region's bounds in the unit box: ``centre`` +- ``side / 2`` times each
    lengthscale over their geometric mean, clipped to the box. Coordinates marked ``free``
    (categorical ones) span the whole box."""
    lengthscales = np.asarray(lengthscales, dtype=float)
    half = 0.5 * side * lengthscales / np.exp(np.mean(np.log(lengthscales)))
    lo, hi = np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
    if free is not None:
        lo, hi = np.where(free, 0.0, lo), np.where(free, 1.0, hi)
    return lo, hi


def gate(opening: Iterable[float], design: Iterable[float], rule: str | None = None) -> bool:
    """Whether the parents' best points earn a local search: the median of their outcomes
    (larger better) less their range beats every one of cold start's first design points
    (``rule`` "gap", the default :data:`GATE`), or the best of them does ("beat": openings
    that all lie in one flat, poor region pass it by a hair). Failed points are left out;
    without an outcome on either side, no."""
    opening, design = list(opening), list(design)
    if not (opening and design):
        return False
    if (rule or GATE) == "gap":
        return bool(np.median(opening) - (max(opening) - min(opening)) > max(design))
    return bool(max(opening) > max(design))
