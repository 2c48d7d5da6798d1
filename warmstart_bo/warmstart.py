"""Warm-start configuration: which earlier jobs a new job starts from, and how."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

MAX_PARENTS = 5
# The transfer prior of a stored job that did not record one: every such job ran under the
# default of its time, the stacked prior (the default changed to "best-first" on 2026-12-06).
UNRECORDED_PRIOR = "stacked"


class WarmStartTypes:
    """How parents relate to the new job.

    - ``IDENTICAL_DATA_AND_ALGORITHM``: the same task (data and algorithm); the search space
      may change slightly. Parent trials join the job's data as observations of the same
      function.
    - ``TRANSFER_LEARNING``: a related task (data, algorithm or space changed). Each parent
      is a task of its own, and a transfer prior models how it relates to the new one.
    """

    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"
    ALL = (IDENTICAL_DATA_AND_ALGORITHM, TRANSFER_LEARNING)


@dataclass(frozen=True)
class WarmStartConfig:
    """Parents (1 to 5 stored job names) and the warm-start type.

    Args:
      warm_start_type: a :class:`WarmStartTypes` value.
      parents: names of finished jobs in the same store.
      include_ancestors: also use the parents' own warm-start parents, recursively (the
        service this mirrors uses direct parents only).
      transfer_prior: for TRANSFER_LEARNING, ``"stacked"``, ``"icm"``, ``"rgpe"``, ``"shifted"``, ``"select"``,
        ``"hyperprior"``, ``"best-first"`` or ``"best-first-local"``; None takes the default chosen by benchmark
        (``transfer.DEFAULT_PRIOR``), which a tuning job stores as its own
        (:meth:`resolved`), so it keeps its prior when the default changes.
    """

    warm_start_type: str
    parents: Sequence[str]
    include_ancestors: bool = False
    transfer_prior: str | None = None

    def __post_init__(self):
        from warmstart_bo.transfer import PRIORS

        if self.warm_start_type not in WarmStartTypes.ALL:
            raise ValueError(f"warm_start_type must be one of {WarmStartTypes.ALL}, got {self.warm_start_type!r}")
        if isinstance(self.parents, str):
            raise ValueError("parents must be a list of job names, not one string")
        object.__setattr__(self, "parents", tuple(self.parents))
        if not 1 <= len(self.parents) <= MAX_PARENTS:
            raise ValueError(f"warm start takes 1 to {MAX_PARENTS} parents, got {len(self.parents)}")
        for p in self.parents:
            if not isinstance(p, str) or not p:
                raise ValueError(f"parent names must be non-empty strings, got {p!r}")
        dupes = sorted({p for p in self.parents if self.parents.count(p) > 1})
        if dupes:
            raise ValueError(f"parent {dupes[0]!r} is listed twice")
        if self.transfer_prior is not None and self.transfer_prior not in PRIORS:
            raise ValueError(f"transfer_prior must be one of {PRIORS}, got {self.transfer_prior!r}")

    def resolved(self) -> WarmStartConfig:
        """This config with the prior it runs under filled in (TRANSFER_LEARNING only)."""
        if self.warm_start_type != WarmStartTypes.TRANSFER_LEARNING or self.transfer_prior is not None:
            return self
        from warmstart_bo.transfer import DEFAULT_PRIOR

        return replace(self, transfer_prior=DEFAULT_PRIOR)

    @classmethod
    def from_stored(cls, d: Any) -> WarmStartConfig | None:
        """A stored job's config. Jobs stored before the prior was recorded hold None there
        and ran the default of their time, ``"stacked"``, which they keep."""
        config = cls.from_json(d)
        if config is not None and config.warm_start_type == WarmStartTypes.TRANSFER_LEARNING and config.transfer_prior is None:
            return replace(config, transfer_prior=UNRECORDED_PRIOR)
        return config

    def to_json(self) -> dict[str, Any]:
        return {
            "warm_start_type": self.warm_start_type,
            "parents": list(self.parents),
            "include_ancestors": self.include_ancestors,
            "transfer_prior": self.transfer_prior,
        }

    @classmethod
    def from_json(cls, d: Any) -> WarmStartConfig | None:
        if d is None or isinstance(d, cls):
            return d
        if not isinstance(d, dict):
            raise ValueError(f"warm_start_config must be a WarmStartConfig or a dict, got {d!r}")
        d = dict(d)
        kind = d.pop("warm_start_type", d.pop("type", None))
        parents = d.pop("parents", None)
        if parents is None:
            raise ValueError("warm_start_config needs 'parents'")
        config = cls(kind, parents, bool(d.pop("include_ancestors", False)), d.pop("transfer_prior", None))
        if d:
            raise ValueError(f"unknown warm_start_config key {sorted(d)[0]!r}")
        return config
