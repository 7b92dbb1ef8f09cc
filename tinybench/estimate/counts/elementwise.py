"""Count twins of the residual add, the gradient sums and the channel copy
(``firmware/kernels/src/Elementwise/``)."""

from __future__ import annotations

import numpy as np

from tinybench.estimate.counts.geometry import STORE_FEATURES, mask_bits, record_count, store_features

ADD_FWD_FEATURES = ("calls", "elements") + STORE_FEATURES


def tb_add_fwd_s8(a, a_zero, b, b_zero, n, mult_a, mult_b, shift, y_zero, y, mask, *, probe):
    return [1, n] + store_features(n, mask.size > 0, *probe)


ADD_BWD_FEATURES = ("calls", "elements", "elements_masked", "passed")


def tb_add_bwd_s8(grad, e_grad, mask, n, grad_in, *, probe=None):
    return [1, n, n * (mask.size > 0), int(mask_bits(mask, n).sum())]


#: The runtime shift rule over n accumulators: pass 1 (tb_nn_range_add) takes a longer path at
#: each new maximum or minimum, the search for n_shift loops n_shift times, pass 2's store
#: takes another path when n_shift is 0.
SHIFT_RULE_FEATURES = ("new_max", "new_min", "shift_steps", "stores_unshifted")


def shift_rule_features(n: int, acc: np.ndarray | None, n_shift: int) -> list[int]:
    """``acc``: the pass-1 accumulators where the twin knows them without recomputing the
    kernel's sums; None where it does not (the new maxima and minima are then not counted:
    a handful per call)."""
    new_max, new_min = record_count(acc) if acc is not None else (0, 0)
    return [new_max, new_min, n_shift, n * (n_shift == 0)]


GRAD_SUM_FEATURES = ("calls", "elements", "a_unshifted", "b_unshifted") + SHIFT_RULE_FEATURES


def tb_grad_sum_bwd_s8(a, e_a, b, e_b, n, out, *, probe):
    """``probe`` = (the accumulators of pass 1, n_shift)."""
    acc, n_shift = probe
    e_big = max(e_a, e_b)
    return [1, n, 2 * n * (e_big == e_a), 2 * n * (e_big == e_b)] + shift_rule_features(n, acc, n_shift)


CHANNEL_COPY_FEATURES = ("calls", "positions", "positions_copying", "elements")


def tb_channel_copy_fwd_s8(x, positions, c, k, y, *, probe=None):
    return [1, positions, positions * (k > 0), positions * k]
