"""ResNets in Flax (linen), with the depths a built-in image classifier offers.

- Small-image ResNets (He et al. 2016, section 4.2): depth 6n + 2 (8, 14, 20, 32, 44, 56,
  110), three stages of n basic blocks with 16, 32 and 64 channels, a 3x3 stem.
- ImageNet-style ResNet-18 and -34: four stages of basic blocks with 64 to 512 channels, a
  7x7 stride-2 stem and max pooling (the stem keeps full resolution below 64 pixels).

``dtype`` is the computation dtype (float32 or bfloat16); parameters stay float32.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

IMAGENET_STAGES = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


def check_depth(num_layers: int) -> None:
    if num_layers in IMAGENET_STAGES:
        return
    if not isinstance(num_layers, int) or num_layers < 8 or (num_layers - 2) % 6:
        raise ValueError(f"num_layers must be 6n + 2 (8, 14, 20, 32, ...) or one of {sorted(IMAGENET_STAGES)}, got {num_layers!r}")


class BasicBlock(nn.Module):
    features: int
    strides: int = 1
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        norm = lambda: nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype)
        y = nn.Conv(self.features, (3, 3), self.strides, use_bias=False, dtype=self.dtype)(x)
        y = nn.relu(norm()(y))
        y = nn.Conv(self.features, (3, 3), use_bias=False, dtype=self.dtype)(y)
        y = norm()(y)
        if x.shape[-1] != self.features or self.strides != 1:
            x = norm()(nn.Conv(self.features, (1, 1), self.strides, use_bias=False, dtype=self.dtype)(x))
        return nn.relu(x + y)


class ResNet(nn.Module):
    num_layers: int
    num_classes: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = True):
        check_depth(self.num_layers)
        x = x.astype(self.dtype)
        if self.num_layers in IMAGENET_STAGES:
            stages, widths = IMAGENET_STAGES[self.num_layers], (64, 128, 256, 512)
            large = x.shape[1] >= 64
            x = nn.Conv(64, (7, 7) if large else (3, 3), 2 if large else 1, use_bias=False, dtype=self.dtype)(x)
            x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype)(x))
            if large:
                x = nn.max_pool(x, (3, 3), (2, 2), padding="SAME")
        else:
            n = (self.num_layers - 2) // 6
            stages, widths = (n, n, n), (16, 32, 64)
            x = nn.Conv(16, (3, 3), use_bias=False, dtype=self.dtype)(x)
            x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype)(x))
        for i, (blocks, width) in enumerate(zip(stages, widths)):
            for j in range(blocks):
                stride = 2 if i > 0 and j == 0 and min(x.shape[1], x.shape[2]) > 1 else 1
                x = BasicBlock(width, stride, self.dtype)(x, train)
        x = jnp.mean(x, axis=(1, 2))
        return nn.Dense(self.num_classes, dtype=jnp.float32)(x.astype(jnp.float32))
