"""Covariance functions on encoded inputs.

Each kernel is written for one pair of points, ``k(x1, x2) -> scalar``; :func:`gram` vmaps
it into a matrix (the tinygp pattern). Inputs are rows of the encoded unit box from
:mod:`warmstart_bo.space`; a boolean ``categorical`` vector of shape (d,) says which
coordinates hold categorical bins rather than ordered values.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

SQRT5 = 5.0**0.5

# Two encoded categorical coordinates are the same value when they are closer than this;
# encodings are bin midpoints (index + 0.5) / k, so distinct values differ by >= 1 / k.
_CATEGORY_TOL = 1e-6


def matern52_from_sq_dist(r2: jax.Array) -> jax.Array:
    """Matern-5/2 correlation ``(1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)`` of a squared distance.

    The double ``where`` keeps the gradient finite at ``r = 0``: ``sqrt`` is never
    differentiated at zero (the kernel is twice differentiable there, with zero slope).
    """
    positive = r2 > 0
    r = jnp.where(positive, jnp.sqrt(jnp.where(positive, r2, 1.0)), 0.0)
    return (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * jnp.exp(-SQRT5 * r)


def matern52(x1: jax.Array, x2: jax.Array, lengthscales: jax.Array) -> jax.Array:
    """Matern-5/2 with ARD lengthscales: ``r^2 = sum_j ((x1_j - x2_j) / l_j)^2``."""
    return matern52_from_sq_dist(jnp.sum(((x1 - x2) / lengthscales) ** 2))


def categorical_overlap(x1: jax.Array, x2: jax.Array, lengthscales: jax.Array) -> jax.Array:
    """Exponentiated weighted Hamming kernel ``exp(-sum_j [x1_j != x2_j] / l_j)``.

    A positive-definite kernel on unordered values: equal values correlate fully, and each
    differing coordinate divides the correlation by ``e^(1 / l_j)``.
    """
    mismatch = (jnp.abs(x1 - x2) > _CATEGORY_TOL).astype(x1.dtype)
    return jnp.exp(-jnp.sum(mismatch / lengthscales))


def mixed(
    x1: jax.Array,
    x2: jax.Array,
    lengthscales: jax.Array,
    signal_variance: jax.Array,
    categorical: jax.Array,
) -> jax.Array:
    """``s^2 * matern52(ordered coordinates) * categorical_overlap(categorical coordinates)``.

    Masks rather than slices keep every shape static: a categorical coordinate contributes
    nothing to the Matern distance, an ordered one nothing to the Hamming distance.
    """
    diff = jnp.where(categorical, 0.0, (x1 - x2) / lengthscales)
    mismatch = jnp.where(categorical, (jnp.abs(x1 - x2) > _CATEGORY_TOL).astype(x1.dtype), 0.0)
    return signal_variance * matern52_from_sq_dist(jnp.sum(diff**2)) * jnp.exp(-jnp.sum(mismatch / lengthscales))


def gram(kernel, x1: jax.Array, x2: jax.Array, *args) -> jax.Array:
    """Matrix ``K[i, j] = kernel(x1[i], x2[j], *args)`` for x1 (n, d) and x2 (m, d)."""
    row = jax.vmap(kernel, in_axes=(None, 0) + (None,) * len(args))
    return jax.vmap(row, in_axes=(0, None) + (None,) * len(args))(x1, x2, *args)


def static_mask(categorical) -> np.ndarray | None:
    """The categorical mask as a NumPy array when it is known at trace time, else None.

    A mask that is concrete (a NumPy array, or a :class:`CategoricalMask` inside a pytree)
    lets :func:`mixed_gram` leave out the Hamming term, and the ``(n, m, d)`` comparison it
    needs, for spaces without categorical coordinates.
    """
    if isinstance(categorical, CategoricalMask):
        return categorical.array
    if isinstance(categorical, jax.core.Tracer):
        return None
    return np.asarray(categorical, bool)


@jax.tree_util.register_static
class CategoricalMask:
    """Which encoded coordinates are categorical, as static (hashable) pytree data.

    Carried in :class:`~warmstart_bo.gp.GPData` so that ``jax.jit`` specializes the
    kernel on the space's structure instead of tracing the mask.
    """

    def __init__(self, values):
        self.values = tuple(bool(v) for v in np.asarray(values, bool).ravel())

    @property
    def array(self) -> np.ndarray:
        return np.array(self.values, bool)

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)

    def __len__(self) -> int:
        return len(self.values)

    def __hash__(self) -> int:
        return hash(self.values)

    def __eq__(self, other) -> bool:
        return isinstance(other, CategoricalMask) and other.values == self.values

    def __repr__(self) -> str:
        return f"CategoricalMask({list(self.values)})"

    @staticmethod
    def serialize_aux(mask: CategoricalMask) -> bytes:
        """The mask as bytes, for programs exported with it (``runtime.Program``)."""
        return bytes(mask.values)

    @staticmethod
    def deserialize_aux(data: bytes) -> CategoricalMask:
        return CategoricalMask(list(data))


def mixed_gram(
    x1: jax.Array,
    x2: jax.Array,
    lengthscales: jax.Array,
    signal_variance: jax.Array,
    categorical,
) -> jax.Array:
    """``gram(mixed, x1, x2, ...)`` computed with matrix products, for speed.

    Squared distances use ``|a|^2 + |b|^2 - 2 a.b`` (a GEMM, clipped at zero), whose
    gradient costs far less than the pairwise form's; the rounding it adds (about eps times
    the scaled norms) is far below the noise floor of any fit. With a mask known at trace
    time (:func:`static_mask`), the categorical term is built only for the coordinates
    that are categorical, and not at all when none is.
    """
    mask = static_mask(categorical)
    if mask is None:
        ordered, cat = ~jnp.asarray(categorical, bool), jnp.asarray(categorical, bool)
    elif not mask.any():
        ordered, cat = None, None
    else:
        ordered, cat = ~mask, mask
    z1 = x1 / lengthscales
    z2 = x2 / lengthscales
    if ordered is not None:
        z1, z2 = jnp.where(ordered, z1, 0.0), jnp.where(ordered, z2, 0.0)
    r2 = jnp.sum(z1**2, -1)[:, None] + jnp.sum(z2**2, -1)[None, :] - 2.0 * z1 @ z2.T
    k = signal_variance * matern52_from_sq_dist(jnp.maximum(r2, 0.0))
    if cat is None:
        return k
    if mask is not None:
        idx = np.flatnonzero(mask)
        mismatch = jnp.abs(x1[:, None, idx] - x2[None, :, idx]) > _CATEGORY_TOL
        hamming = jnp.einsum("ijd,d->ij", mismatch.astype(x1.dtype), 1.0 / lengthscales[idx])
    else:
        mismatch = (jnp.abs(x1[:, None, :] - x2[None, :, :]) > _CATEGORY_TOL) & cat
        hamming = jnp.einsum("ijd,d->ij", mismatch.astype(x1.dtype), 1.0 / lengthscales)
    return k * jnp.exp(-hamming)
