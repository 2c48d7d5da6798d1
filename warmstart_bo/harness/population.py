"""Layers for a population of networks that share an architecture but not their weights.

Activations carry a leading member axis, ``(P, batch, ..., features)``, and every
parameter a leading ``P`` axis. The classes are named like Flax's layers on purpose: Flax
names a submodule after its class (``Conv_0``, ``Dense_0``), so a population model's
parameter tree is exactly its members' trees stacked, and one-by-one training and
population training start from, and end in, the same pytrees.

Plain ``jax.vmap`` of a training step leaves a GPU mostly idle (a ResNet-20 population
of 16 ran no faster than 16 steps in a row on an H200). Two formulations that give the
device one large operation per layer instead:

- ``"grouped"``: the members' channels side by side, ``(batch, H, W, P * C)``, and the
  convolution as one grouped convolution with ``feature_group_count = P``.
- ``"matmul"``: each convolution as image patches times a kernel matrix, one batched
  matrix product over the members, ``(P, batch * H * W, kh * kw * C) @ (P, kh * kw * C, C')``:
  the strided-batched GEMM that accelerators run at full speed, at the price of
  ``kh * kw`` times the activation memory.

Both compute, member by member, what ``flax.linen.Conv`` computes.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

FORMULATIONS = ("grouped", "matmul")

_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def grouped_conv(x, kernel, strides: tuple[int, int]):
    """Per-member 'SAME' convolution as one grouped convolution.

    x: (P, B, H, W, C); kernel: (P, kh, kw, C, C'). Returns (P, B, H', W', C').
    """
    p, b, h, w, c = x.shape
    _, kh, kw, _, c_out = kernel.shape
    xs = x.transpose(1, 2, 3, 0, 4).reshape(b, h, w, p * c)
    ks = kernel.transpose(1, 2, 3, 0, 4).reshape(kh, kw, c, p * c_out)
    y = lax.conv_general_dilated(xs, ks, strides, "SAME", dimension_numbers=_DIMENSIONS, feature_group_count=p)
    return y.reshape(b, y.shape[1], y.shape[2], p, c_out).transpose(3, 0, 1, 2, 4)


def matmul_conv(x, kernel, strides: tuple[int, int]):
    """Per-member 'SAME' convolution as image patches times a batched kernel matrix.

    x: (P, B, H, W, C); kernel: (P, kh, kw, C, C'). Returns (P, B, H', W', C').
    """
    p, b, h, w, c = x.shape
    _, kh, kw, _, c_out = kernel.shape
    patches = lax.conv_general_dilated_patches(x.reshape(p * b, h, w, c), (kh, kw), strides, "SAME", dimension_numbers=_DIMENSIONS)
    _, ho, wo, f = patches.shape  # f = C * kh * kw, channel-major
    km = kernel.transpose(0, 3, 1, 2, 4).reshape(p, f, c_out)
    y = jnp.einsum("pnf,pfo->pno", patches.reshape(p, b * ho * wo, f), km)
    return y.reshape(p, b, ho, wo, c_out)


_CONVOLUTIONS = {"grouped": grouped_conv, "matmul": matmul_conv}


class Conv(nn.Module):
    """A bias-free 'SAME' convolution per member; kernel ``(P, kh, kw, C, C')``."""

    features: int
    kernel_size: tuple[int, int]
    strides: int = 1
    dtype: Any = jnp.float32
    formulation: str = "grouped"

    @nn.compact
    def __call__(self, x):
        p, c = x.shape[0], x.shape[-1]
        init = nn.initializers.lecun_normal(batch_axis=(0,))
        kernel = self.param("kernel", init, (p, *self.kernel_size, c, self.features), jnp.float32)
        conv = _CONVOLUTIONS[self.formulation]
        return conv(x.astype(self.dtype), kernel.astype(self.dtype), (self.strides, self.strides))


class Dense(nn.Module):
    """A dense layer per member on ``(P, B, C)``; kernel ``(P, C, K)``, bias ``(P, K)``."""

    features: int

    @nn.compact
    def __call__(self, x):
        p, c = x.shape[0], x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(batch_axis=(0,)), (p, c, self.features), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros, (p, self.features), jnp.float32)
        return jnp.einsum("pbc,pck->pbk", x, kernel) + bias[:, None, :]
