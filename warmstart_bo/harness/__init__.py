"""A Flax image-classifier trainer: the real training job that tuning jobs tune.

- :mod:`.data`: data sets (scikit-learn's digits by default, an image folder, arrays/.npz);
- :mod:`.augment`: batch augmentations in JAX (crops and flips, colour jitter, affine);
- :mod:`.models`: ResNets for small images (8, 14, 20, 32, ...) and ImageNet-style (18, 34);
- :mod:`.train`: :class:`ImageClassifier`, an estimator with ``fit(hyperparameters)``.

Flax and scikit-learn (the default data) come with the ``harness`` extra,
``pip install "warmstart-bo[harness]"``; the core install leaves them out.
"""

try:
    from warmstart_bo.harness.data import (
        Dataset,
        load_digits,
        load_image_folder,
        load_npz,
    )
    from warmstart_bo.harness.train import ImageClassifier
except ModuleNotFoundError as e:
    if (e.name or "").partition(".")[0] != "flax":
        raise
    raise ModuleNotFoundError(
        "the image-classifier harness needs Flax, which the core install leaves out: "
        'pip install "warmstart-bo[harness]" (or pip install -e ".[harness]" in a clone)',
        name="flax",
    ) from e

__all__ = ["Dataset", "ImageClassifier", "load_digits", "load_image_folder", "load_npz"]
