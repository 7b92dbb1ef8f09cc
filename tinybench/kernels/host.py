"""Host-side (compile-time) helpers of the kernels: plain Python, floats allowed.

Everything a kernel needs that involves real numbers is folded here into integers once,
before the firmware runs: the softmax exponential table, the per-channel factors of the
input gradients, and the SGD (multiplier, shift) pairs. See docs/kernels.md.
"""

from __future__ import annotations

import math

import numpy as np

from tinybench.models.quant import quantize_multiplier

#: Fraction bits of the softmax exponential table (T[0] = 2**16).
EXP_TABLE_BITS = 16
#: Fraction bits of the input-gradient weight-scale factors.
W_FACTOR_BITS = 15
#: Largest number of classes the loss kernel takes (the sum of the table stays < 2**31).
MAX_CLASSES = 32767


def out_size(n: int, stride: int) -> int:
    """Output height or width of a k x k conv with padding k // 2: ceil(n / stride)."""
    return (n + stride - 1) // stride


def mask_bytes(n: int) -> int:
    """Bytes of the packed 1-bit mask of a tensor of ``n`` elements."""
    return (n + 7) // 8


def unpack_mask(mask: np.ndarray, n: int) -> np.ndarray:
    """The mask as a bool array of ``n`` elements (bit i&7 of byte i>>3)."""
    return np.unpackbits(np.asarray(mask, dtype=np.uint8), bitorder="little")[:n].astype(bool)


def split_weights(weight: np.ndarray, k_train: int, depthwise: bool = False):
    """Split OHWI weights into flat (w_train, w_frozen) as the kernels read them.

    Dense/pointwise: the first ``k_train`` input channels ``[:, :, :, :k]`` and the rest;
    depthwise ``[C, k, k, 1]``: the first ``k_train`` channels and the rest.
    """
    weight = np.asarray(weight, dtype=np.int8)
    if depthwise:
        train, frozen = weight[:k_train], weight[k_train:]
    else:
        train, frozen = weight[..., :k_train], weight[..., k_train:]
    return np.ascontiguousarray(train).ravel(), np.ascontiguousarray(frozen).ravel()


def softmax_exp_table(y_scale: float) -> np.ndarray:
    """``T[d] = round(2**16 * exp(-y_scale * d))`` for d = 0..255, int32 (T[0] = 65536)."""
    if not (math.isfinite(y_scale) and y_scale > 0):
        raise ValueError(f"logit scale must be finite and > 0, got {y_scale!r}")
    d = np.arange(256, dtype=np.float64)
    return np.round(np.exp(-y_scale * d) * (1 << EXP_TABLE_BITS)).astype(np.int32)


def softmax_ce_loss(logits: np.ndarray, y_scale: float, y_zero: int, label: int) -> float:
    """Cross-entropy of the softmax of the real logits ``y_scale * (y - y_zero)`` (float)."""
    z = y_scale * (np.asarray(logits, dtype=np.float64).ravel() - y_zero)
    z = z - z.max()
    return float(np.log(np.exp(z).sum()) - z[label])


def input_grad_factors(w_scales: np.ndarray) -> tuple[np.ndarray, int]:
    """Per-output-channel factors of the input gradient: ``(w_factor, w_exp)``.

    With E = the exponent such that max(w_scales) < 2**E (``math.frexp``), ``w_exp = E - 15``
    and ``w_factor[c] = round(w_scales[c] * 2**-w_exp)`` in [0, 2**15] (int32), so that
    ``w_scales[c] ~= w_factor[c] * 2**w_exp``.
    """
    s = np.asarray(w_scales, dtype=np.float64).ravel()
    if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("weight scales must be finite and >= 0")
    top = float(s.max())
    exp = math.frexp(top)[1] if top > 0 else 0
    w_exp = exp - W_FACTOR_BITS
    factor = np.round(np.ldexp(s, -w_exp)).astype(np.int64)
    return factor.astype(np.int32), int(w_exp)


def multipliers_any_shift(reals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(m, shift)`` (int32 arrays) with ``reals ~= m * 2**-shift``, m in [2**30, 2**31),
    any shift.

    The mantissa is rounded to 31 bits as :func:`tinybench.models.quant.quantize_multiplier`
    rounds it (half to even, a carry into 2**31 halves it); the shift is not limited to
    [1, 62] because the SGD kernels add the runtime gradient exponent to it (0 stays
    ``(0, 0)``). Vectorised: the estimator derives these for every channel of every
    configuration it sees.
    """
    r = np.asarray(reals, dtype=np.float64).ravel()
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ValueError(f"factors must be finite and >= 0, got {r[~(np.isfinite(r) & (r >= 0))][:3]!r}")
    mantissa, exponent = np.frexp(r)  # r = mantissa * 2**exponent, mantissa in [0.5, 1)
    m = np.round(np.ldexp(mantissa, 31))  # exact product: rounds as Python's round()
    carry = m == 2.0**31
    m[carry] = 2.0**30
    shift = np.where(carry, 30, 31) - exponent
    zero = r == 0.0
    return np.where(zero, 0, m).astype(np.int32), np.where(zero, 0, shift).astype(np.int32)


def sgd_multipliers(lr: float, x_scale: float, w_scales: np.ndarray, qas: bool = True):
    """Per-channel fixed-point SGD factors ``(w_mult, w_shift, b_mult, b_shift)`` (int32).

    With QAS:    weight ``lr * x_scale / w_scale[c]``, bias ``lr / (x_scale * w_scale[c])``;
    without QAS: weight ``lr * x_scale * w_scale[c]``, bias ``lr * x_scale * w_scale[c]``.
    The kernels multiply the int32 gradient sums by these and by the runtime 2**e_grad.
    """
    s = np.asarray(w_scales, dtype=np.float64).ravel()
    if qas:
        fw = lr * x_scale / s
        fb = lr / (x_scale * s)
    else:
        fw = lr * x_scale * s
        fb = lr * x_scale * s
    return (*multipliers_any_shift(fw), *multipliers_any_shift(fb))
