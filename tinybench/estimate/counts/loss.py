"""Count twin of the softmax cross-entropy gradient (``firmware/kernels/src/Loss/``)."""

from __future__ import annotations

import numpy as np

SOFTMAX_FEATURES = ("calls", "classes", "new_max")


def tb_softmax_ce_bwd_s8(logits, n, label, exp_table, grad, *, probe=None):
    """Three loops over the classes; the first takes a longer path at each new maximum. (The
    clamp of the label's gradient at -127 is rare and not counted.)"""
    v = logits.astype(np.int64)
    running = np.maximum.accumulate(np.concatenate(([-128], v)))
    return [1, n, int(np.count_nonzero(v > running[:-1]))]
