"""Fixed-point representation of real scale factors.

Every real factor the integer path needs (a convolution's x_scale * w_scale / y_scale,
a learning rate folded with quantization-aware scaling, ...) is stored as an int32
multiplier ``m`` and a right shift ``s`` with ``real ~= m / 2**s``. ``m`` is normalised
into [2**30, 2**31) so that it keeps 31 significant bits, and the product with an int32
accumulator fits an int64 (|acc * m| < 2**62). The rounding rule that turns
``acc * m / 2**s`` back into an integer is defined once, in docs/kernels.md, and
implemented identically by the Numba and the C kernels; ``requantize`` below is the
plain-Python statement of it that tests use as the specification.
"""

from __future__ import annotations

import math

import numpy as np


class QuantizationError(ValueError):
    """A real factor that has no fixed-point form (negative, not finite, or >= 2**30).

    Not a user error by itself: the model loader turns it into one that names the file and
    the field; raised anywhere else it is a bug and keeps its traceback."""


#: Smallest and largest total right shift a multiplier may carry. A factor below
#: 2**-32 is represented as zero, one at or above 2**30 is rejected.
MIN_SHIFT = 1
MAX_SHIFT = 62


def quantize_multiplier(real: float) -> tuple[int, int]:
    """Return ``(m, s)`` with ``m`` in [2**30, 2**31) and ``real ~= m / 2**s``.

    A factor too small to be represented (``s > MAX_SHIFT``) becomes ``(0, MIN_SHIFT)``,
    which multiplies everything to zero; that is the honest fixed-point value of it.
    """
    if not math.isfinite(real) or real < 0:
        raise QuantizationError(f"scale factor must be finite and >= 0, got {real!r}")
    if real == 0.0:
        return 0, MIN_SHIFT
    mantissa, exponent = math.frexp(real)  # real = mantissa * 2**exponent, mantissa in [0.5, 1)
    m = round(mantissa * (1 << 31))
    if m == 1 << 31:  # rounding carried into the next power of two
        m //= 2
        exponent += 1
    s = 31 - exponent
    if s > MAX_SHIFT:
        return 0, MIN_SHIFT
    if s < MIN_SHIFT:
        raise QuantizationError(f"scale factor {real!r} is too large for a Q31 multiplier (>= 2**30)")
    return int(m), int(s)


def quantize_multipliers(reals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vector form of :func:`quantize_multiplier`: int32 multipliers and int32 shifts."""
    pairs = [quantize_multiplier(float(r)) for r in np.asarray(reals, dtype=np.float64).ravel()]
    m = np.array([p[0] for p in pairs], dtype=np.int32)
    s = np.array([p[1] for p in pairs], dtype=np.int32)
    return m, s


def requantize(acc: int, m: int, s: int) -> int:
    """Reference rounding: ``floor((acc * m + 2**(s-1)) / 2**s)`` (round half up)."""
    return (acc * m + (1 << (s - 1))) >> s
