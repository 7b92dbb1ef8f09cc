"""Count twins of the global average pool (``firmware/kernels/src/Pooling/``)."""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.elementwise import SHIFT_RULE_FEATURES, shift_rule_features

AVGPOOL_FWD_FEATURES = ("calls", "channels", "elements", "floor_inexact", "floor_corrected")


def tb_avgpool_fwd_s8(x, h, w, c, zero, y, *, probe=None):
    """``tb_nn_floor_div`` takes a longer path when the division is inexact, and corrects the
    quotient when the numerator is also negative."""
    hw = h * w
    num = 2 * (x.reshape(hw, c).astype(np.int64) - zero).sum(axis=0) + hw
    inexact = num % (2 * hw) != 0
    return [1, c, c * hw, int(inexact.sum()), int((inexact & (num < 0)).sum())]


AVGPOOL_BWD_FEATURES = ("calls", "channels", "elements") + SHIFT_RULE_FEATURES


def tb_avgpool_bwd_s8(grad, e_grad, h, w, c, grad_in, *, probe):
    """``probe`` = (the accumulators grad[c] * reciprocal, n_shift)."""
    acc, n_shift = probe
    return [1, c, c * h * w] + shift_rule_features(c, acc, n_shift)
