"""ResNets in Flax (linen), with the depths a built-in image classifier offers.

- Small-image ResNets (He et al. 2016, section 4.2): depth 6n + 2 (8, 14, 20, 32, 44, 56,
  110), three stages of n basic blocks with 16, 32 and 64 channels, a 3x3 stem.
- ImageNet-style ResNet-18 and -34: four stages of basic blocks with 64 to 512 channels, a
  7x7 stride-2 stem and max pooling (the stem keeps full resolution below 64 pixels).

``dtype`` is the computation dtype (float32 or bfloat16); parameters stay float32.

``population`` (None, ``"grouped"`` or ``"matmul"``) builds the same network for a whole
population at once: inputs ``(P, B, H, W, C)``, logits ``(P, B, K)``, every parameter
with a leading member axis (see :mod:`warmstart_bo.harness.population`).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from warmstart_bo.harness import population as pop

IMAGENET_STAGES = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


def check_depth(num_layers: int) -> None:
    if num_layers in IMAGENET_STAGES:
        return
    if not isinstance(num_layers, int) or num_layers < 8 or (num_layers - 2) % 6:
        raise ValueError(f"num_layers must be 6n + 2 (8, 14, 20, 32, ...) or one of {sorted(IMAGENET_STAGES)}, got {num_layers!r}")


def conv(features: int, size: int, strides: int, dtype, population: str | None):
    """A bias-free 'SAME' convolution, for one network or a population."""
    if population is None:
        return nn.Conv(features, (size, size), strides, use_bias=False, dtype=dtype)
    return pop.Conv(features, (size, size), strides, dtype, population)


def norm(train: bool, dtype, population: str | None):
    """Batch normalization; a population normalizes each member's channels on their own."""
    axis = -1 if population is None else (0, -1)
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=dtype, axis=axis)


class BasicBlock(nn.Module):
    features: int
    strides: int = 1
    dtype: Any = jnp.float32
    population: str | None = None

    @nn.compact
    def __call__(self, x, train: bool):
        dtype, population = self.dtype, self.population
        y = conv(self.features, 3, self.strides, dtype, population)(x)
        y = nn.relu(norm(train, dtype, population)(y))
        y = conv(self.features, 3, 1, dtype, population)(y)
        y = norm(train, dtype, population)(y)
        if x.shape[-1] != self.features or self.strides != 1:
            x = norm(train, dtype, population)(conv(self.features, 1, self.strides, dtype, population)(x))
        return nn.relu(x + y)


class ResNet(nn.Module):
    num_layers: int
    num_classes: int
    dtype: Any = jnp.float32
    population: str | None = None

    @nn.compact
    def __call__(self, x, train: bool = True):
        check_depth(self.num_layers)
        dtype, population = self.dtype, self.population
        if population is not None and population not in pop.FORMULATIONS:
            raise ValueError(f"population must be None or one of {pop.FORMULATIONS}, got {population!r}")
        x = x.astype(dtype)
        if self.num_layers in IMAGENET_STAGES:
            stages, widths = IMAGENET_STAGES[self.num_layers], (64, 128, 256, 512)
            large = x.shape[-3] >= 64
            x = conv(64, 7 if large else 3, 2 if large else 1, dtype, population)(x)
            x = nn.relu(norm(train, dtype, population)(x))
            if large:
                x = nn.max_pool(x, (3, 3), (2, 2), padding="SAME")
        else:
            n = (self.num_layers - 2) // 6
            stages, widths = (n, n, n), (16, 32, 64)
            x = conv(16, 3, 1, dtype, population)(x)
            x = nn.relu(norm(train, dtype, population)(x))
        for i, (blocks, features) in enumerate(zip(stages, widths)):
            for j in range(blocks):
                stride = 2 if i > 0 and j == 0 and min(x.shape[-3], x.shape[-2]) > 1 else 1
                x = BasicBlock(features, stride, dtype, population)(x, train)
        x = jnp.mean(x, axis=(-3, -2)).astype(jnp.float32)
        if population is None:
            return nn.Dense(self.num_classes, dtype=jnp.float32)(x)
        return pop.Dense(self.num_classes)(x)
