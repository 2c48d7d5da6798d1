"""Image-classification data sets as arrays: images (N, H, W, C) float32 in [0, 1], labels (N,).

- :func:`load_digits`: scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes),
  shipped with scikit-learn, with a fixed 80/20 train/validation split;
- :func:`load_image_folder`: one folder per class (the layout of Caltech-256 and ImageNet);
- :func:`load_npz` / :func:`from_arrays`: NumPy arrays, or an ``.npz`` with ``x`` and ``y``.

Every loader resizes to the requested ``image_shape`` ("C,H,W", C = 1 or 3).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class Dataset:
    """A train/validation split; images (N, H, W, C) float32 in [0, 1], labels int32."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    num_classes: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W), the convention of the hyperparameter ``image_shape``."""
        _, h, w, c = self.train_x.shape
        return (c, h, w)


def parse_image_shape(image_shape: str | tuple) -> tuple[int, int, int]:
    """"C,H,W" (or a tuple) to (C, H, W), with C in {1, 3} and H, W between 4 and 1024."""
    try:
        parts = [int(v) for v in image_shape.split(",")] if isinstance(image_shape, str) else [int(v) for v in image_shape]
    except (TypeError, ValueError):
        raise ValueError(f"image_shape must be 'C,H,W' with integers, got {image_shape!r}") from None
    if len(parts) != 3:
        raise ValueError(f"image_shape must be 'C,H,W', got {image_shape!r}")
    c, h, w = parts
    if c not in (1, 3):
        raise ValueError(f"image_shape {image_shape!r}: only 1 (grey) or 3 (RGB) channels can be produced, got {c}")
    if not (4 <= h <= 1024 and 4 <= w <= 1024):
        raise ValueError(f"image_shape {image_shape!r}: height and width must be between 4 and 1024")
    return c, h, w


def resize(images: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Resizes (N, H, W, C) images to (N, h, w, c): bilinear, channels replicated or averaged."""
    import jax
    import jax.numpy as jnp

    c, h, w = shape
    x = np.asarray(images, np.float32)
    if x.shape[-1] != c:
        x = np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x.mean(axis=-1, keepdims=True)
    if x.shape[1:3] != (h, w):
        x = np.asarray(jax.image.resize(jnp.asarray(x), (x.shape[0], h, w, c), "bilinear"))
    return np.clip(x, 0.0, 1.0).astype(np.float32)


def _split(x: np.ndarray, y: np.ndarray, num_classes: int, val_fraction: float, seed: int) -> Dataset:
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = max(1, round(val_fraction * len(y)))
    val, train = order[:n_val], order[n_val:]
    return Dataset(x[train], y[train].astype(np.int32), x[val], y[val].astype(np.int32), num_classes)


def _check_classes(y: np.ndarray, num_classes: int | None, source: str) -> int:
    # Labels index the logits: a negative, fractional or too large one would train on
    # another class's logit (or none), silently.
    try:
        values = y if y.dtype.kind in "uib" else y.astype(np.float64)  # an object array of numbers too
    except (TypeError, ValueError):
        raise ValueError(f"{source}: labels must be integers from 0 (class indices), got an array of {y.dtype}") from None
    bad = values < 0 if values.dtype.kind != "f" else (values < 0) | ~np.isfinite(values) | (np.mod(values, 1) != 0)
    if bad.any():
        raise ValueError(f"{source}: labels must be integers from 0 (class indices), got {np.asarray(y[np.argmax(bad)]).item()!r}")
    found = int(y.max()) + 1 if len(y) else 0
    if num_classes is not None and found > num_classes:
        raise ValueError(f"{source} has label {found - 1} but num_classes is {num_classes}: labels must be 0 to {num_classes - 1}")
    if num_classes is not None and num_classes != (distinct := len(np.unique(y))):
        raise ValueError(f"{source} has {distinct} classes but num_classes is {num_classes}")
    return num_classes or found


def load_digits(image_shape: str | tuple = "1,8,8", num_classes: int | None = 10, val_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's digits (8x8, values 0-16), scaled to [0, 1] and resized."""
    try:
        from sklearn.datasets import load_digits as sk_digits
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            "the default data set (scikit-learn's digits) needs scikit-learn: "
            'pip install "warmstart-bo[harness]", or pass your own data', name=e.name
        ) from e

    d = sk_digits()
    x = (d.images / 16.0)[..., None].astype(np.float32)
    y = d.target.astype(np.int32)
    k = _check_classes(y, num_classes, "the digits data set")
    return _split(resize(x, parse_image_shape(image_shape)), y, k, val_fraction, seed)


def from_arrays(x: np.ndarray, y: np.ndarray, image_shape: str | tuple | None = None, num_classes: int | None = None, val_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Images (N, H, W, C) or (N, C, H, W) (uint8 0-255 or floats 0-1) and integer labels."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or len(x) != len(y):
        raise ValueError(f"expected images (N, H, W, C) and N labels, got {x.shape} and {y.shape}")
    if x.shape[1] in (1, 3) and x.shape[-1] not in (1, 3):
        x = np.transpose(x, (0, 2, 3, 1))
    x = x.astype(np.float32) / (255.0 if np.issubdtype(x.dtype, np.integer) or x.max() > 1.0 else 1.0)
    k = _check_classes(y, num_classes, "the arrays")
    shape = parse_image_shape(image_shape) if image_shape is not None else (x.shape[-1], x.shape[1], x.shape[2])
    return _split(resize(x, shape), y.astype(np.int32), k, val_fraction, seed)


def load_npz(path: str | os.PathLike, **kwargs) -> Dataset:
    """An ``.npz`` with arrays ``x`` (images) and ``y`` (labels); see :func:`from_arrays`."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no .npz file at {str(path)!r}")
    with np.load(path) as f:
        if "x" not in f or "y" not in f:
            raise ValueError(f"{str(path)!r} must hold arrays 'x' and 'y', has {list(f.keys())}")
        return from_arrays(f["x"], f["y"], **kwargs)


def load_image_folder(root: str | os.PathLike, image_shape: str | tuple = "3,32,32", num_classes: int | None = None, val_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """A folder with one subfolder of images per class; classes in sorted order."""
    from PIL import Image, UnidentifiedImageError

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist")
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    if not classes:
        raise ValueError(f"image folder {str(root)!r} has no class subfolders")
    if num_classes is not None and num_classes != len(classes):
        raise ValueError(f"image folder {str(root)!r} has {len(classes)} classes but num_classes is {num_classes}")
    c, h, w = parse_image_shape(image_shape)
    xs, ys = [], []
    for label, folder in enumerate(classes):
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(f) as img:
                    img = img.convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
                    arr = np.asarray(img, np.float32) / 255.0
            except (UnidentifiedImageError, OSError) as e:
                raise ValueError(f"cannot read image {str(f)!r}: {e}") from None
            xs.append(arr.reshape(h, w, c))
            ys.append(label)
    if not xs:
        raise ValueError(f"image folder {str(root)!r} has no images")
    return _split(np.stack(xs), np.array(ys, np.int32), len(classes), val_fraction, seed)
