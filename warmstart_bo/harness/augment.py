"""Batch augmentations in JAX: images (B, H, W, C) in [0, 1] keep their shape and range.

The ``augmentation_type`` values of a built-in image-classification algorithm (default
``"none"``, as the built-in algorithm's):

- ``"crop"``: a random crop of the image padded by H/8 (reflect);
- ``"crop_color"``: the same, plus brightness, contrast and saturation jitter;
- ``"crop_color_transform"``: the same, plus a random affine map (rotation up to 15 degrees,
  shear up to 0.15, aspect-ratio change up to 15 %), bilinear, edges clamped.

Horizontal flips are a separate switch (``horizontal_flip``), off by default: they suit
photographs and are wrong for digits or text, where a mirrored image is another class or
none.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

AUGMENTATION_TYPES = ("none", "crop", "crop_color", "crop_color_transform")


def random_crop(key: jax.Array, x: jax.Array) -> jax.Array:
    b, h, w, _ = x.shape
    ph, pw = max(1, h // 8), max(1, w // 8)
    padded = jnp.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)), mode="reflect")
    k1, k2 = jax.random.split(key)
    dy = jax.random.randint(k1, (b,), 0, 2 * ph + 1)
    dx = jax.random.randint(k2, (b,), 0, 2 * pw + 1)
    return jax.vmap(lambda img, y0, x0: jax.lax.dynamic_slice(img, (y0, x0, 0), (h, w, img.shape[-1])))(padded, dy, dx)


def random_flip(key: jax.Array, x: jax.Array) -> jax.Array:
    """Mirrors each image left-right with probability 1/2."""
    flip = jax.random.bernoulli(key, 0.5, (x.shape[0], 1, 1, 1))
    return jnp.where(flip, x[:, :, ::-1, :], x)


def color_jitter(key: jax.Array, x: jax.Array, strength: float = 0.3) -> jax.Array:
    b = x.shape[0]
    k1, k2, k3 = jax.random.split(key, 3)
    bright = jax.random.uniform(k1, (b, 1, 1, 1), minval=-strength / 2, maxval=strength / 2)
    contrast = jax.random.uniform(k2, (b, 1, 1, 1), minval=1 - strength, maxval=1 + strength)
    sat = jax.random.uniform(k3, (b, 1, 1, 1), minval=1 - strength, maxval=1 + strength)
    mean = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
    x = (x - mean) * contrast + mean + bright
    grey = jnp.mean(x, axis=-1, keepdims=True)
    x = grey + (x - grey) * sat
    return jnp.clip(x, 0.0, 1.0)


def random_affine(key: jax.Array, x: jax.Array, max_rotation: float = 15.0, max_shear: float = 0.15, max_aspect: float = 0.15) -> jax.Array:
    b, h, w, c = x.shape
    k1, k2, k3 = jax.random.split(key, 3)
    angle = jnp.deg2rad(jax.random.uniform(k1, (b,), minval=-max_rotation, maxval=max_rotation))
    shear = jax.random.uniform(k2, (b,), minval=-max_shear, maxval=max_shear)
    aspect = jnp.exp(jax.random.uniform(k3, (b,), minval=-max_aspect, maxval=max_aspect))
    yy, xx = jnp.meshgrid(jnp.arange(h, dtype=x.dtype) - (h - 1) / 2, jnp.arange(w, dtype=x.dtype) - (w - 1) / 2, indexing="ij")

    def warp(img, a, s, r):
        cos, sin = jnp.cos(a), jnp.sin(a)
        # Inverse map: output pixel -> input coordinates.
        u = (cos * xx + sin * yy) / r + s * yy
        v = (-sin * xx + cos * yy) * r
        coords = [v + (h - 1) / 2, u + (w - 1) / 2]
        return jnp.stack([jax.scipy.ndimage.map_coordinates(img[..., ch], coords, order=1, mode="nearest") for ch in range(c)], axis=-1)

    return jnp.clip(jax.vmap(warp)(x, angle, shear, aspect), 0.0, 1.0)


def augment(key: jax.Array, x: jax.Array, augmentation_type: str, horizontal_flip: bool = False) -> jax.Array:
    """Applies ``augmentation_type`` (and flips, if ``horizontal_flip``) to a batch; both are
    static choices, one compiled program each."""
    if augmentation_type not in AUGMENTATION_TYPES:
        raise ValueError(f"augmentation_type must be one of {AUGMENTATION_TYPES}, got {augmentation_type!r}")
    k0, k1, k2, k3 = jax.random.split(key, 4)
    if horizontal_flip:
        x = random_flip(k0, x)
    if augmentation_type == "none":
        return x
    x = random_crop(k1, x)
    if augmentation_type in ("crop_color", "crop_color_transform"):
        x = color_jitter(k2, x)
    if augmentation_type == "crop_color_transform":
        x = random_affine(k3, x)
    return x
