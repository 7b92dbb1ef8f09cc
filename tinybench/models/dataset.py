"""An offline image-classification task for training on the host and in firmware.

scikit-learn ships the UCI handwritten digits (1,797 8x8 images, 10 classes, 17 grey levels)
inside the package, so nothing is downloaded at run time. Images are upscaled (bilinear) to
the model's input size, repeated over the 3 channels and quantized like the paper's inputs
(x_scale 1/127.5, x_zero 0: real pixel values in [-1, 1]).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # int8 [N, H, W, 3]
    labels: np.ndarray  # int64 [N]


def _resize_bilinear(img: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a 2-D float image to ``size`` x ``size`` (pixel centres aligned)."""
    h, w = img.shape
    ys = (np.arange(size) + 0.5) * h / size - 0.5
    xs = (np.arange(size) + 0.5) * w / size - 0.5
    y0 = np.clip(np.floor(ys).astype(int), 0, h - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, w - 1)
    y1, x1 = np.clip(y0 + 1, 0, h - 1), np.clip(x0 + 1, 0, w - 1)
    fy, fx = np.clip(ys - y0, 0, 1)[:, None], np.clip(xs - x0, 0, 1)[None, :]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


@functools.lru_cache(maxsize=4)
def digits(size: int = 128, test_fraction: float = 0.25, seed: int = 0) -> tuple[Split, Split]:
    """Train and test splits of the digits task at ``size`` x ``size`` x 3, int8.

    Cached per process (upscaling all 1,797 images takes about a second); the arrays are
    read-only because every caller shares them."""
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.default_rng(seed).permutation(len(d.target))
    images = np.empty((len(order), size, size, 3), np.int8)
    for n, i in enumerate(order):
        real = _resize_bilinear(d.images[i] / 16.0, size) * 2.0 - 1.0
        q = np.clip(np.round(real * 127.5), -128, 127).astype(np.int8)
        images[n] = q[:, :, None]
    labels = d.target[order].astype(np.int64)
    n_test = int(round(len(order) * test_fraction))
    images.flags.writeable = False  # shared by every caller of the cache
    labels.flags.writeable = False
    return Split(images[n_test:], labels[n_test:]), Split(images[:n_test], labels[:n_test])
