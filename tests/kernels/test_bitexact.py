"""Numba reference and host-built C kernels agree bit for bit, on every kernel.

Each kernel gets 200 Hypothesis examples (see cases.py for the edge cases drawn), then
a few hand-written worst cases at the documented range limits, where an int32 overflow
in C (Numba computes in int64) would show up as a mismatch.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from tinybench.kernels.host import input_grad_factors, out_size

from kernel_cases import CASES, EMPTY_U8
from kernel_helpers import ALL_KERNELS, run_both

SETTINGS = settings(max_examples=200, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_every_kernel_has_cases(ck):
    assert set(CASES) == set(ALL_KERNELS) == set(ck.prototypes)


def _make_test(name):
    @SETTINGS
    @given(args=CASES[name])
    def test(ck, args):
        run_both(ck, name, args)

    test.__name__ = f"test_bitexact_{name}"
    return test


for _name in CASES:
    globals()[f"test_bitexact_{_name}"] = _make_test(_name)


# ------------------------------------------------------------ worst cases at the limits

def test_pointwise_fwd_accumulator_limit(ck):
    """c_in = 65536 with |x - x_zero| = 255 and w = -128: the int32 accumulator's limit."""
    c_in = 65536
    x = np.full(c_in, 127, np.int8)
    w = np.full(c_in, -128, np.int8)
    for kt in (0, c_in // 8, c_in):
        args = [x, 1, 1, c_in, -128, w[:kt].copy(), w[kt:].copy(), kt, np.array([-(2**31)], np.int32), 1,
                np.array([2**30], np.int32), np.array([40], np.int32), 0, np.zeros(1, np.int8),
                np.zeros(1, np.uint8)]
        a, _ = run_both(ck, "tb_pointwise_fwd_s8", args)
        assert a[13][0] == -128 and a[14][0] == 0  # saturated bias sum: clamped, mask 0


def test_conv_bwd_input_no_overflow_cout_1024_k7(ck):
    """The documented worst case of the input gradient: C_out = 1024, k = 7, extreme values."""
    h = w = 7
    c_in, c_out, k = 2, 1024, 7
    grad = np.full(h * w * c_out, -128, np.int8)
    wt = np.full(c_out * k * k * 1, -128, np.int8)
    wf = np.full(c_out * k * k * 1, 127, np.int8)
    f = np.full(c_out, 2**15, np.int32)
    args = [grad, 0, EMPTY_U8, h, w, c_in, wt, wf, 1, c_out, k, 1, f, -15, np.zeros(h * w * c_in, np.int8)]
    a, e = run_both(ck, "tb_conv_bwd_input_s8", args)
    # centre: 49 taps * 1024 channels * 128 * 2**15 * 128 = 2**35.6 for channel 0
    centre = (3 * w + 3) * c_in
    exact = 49 * 1024 * 128 * 128 * 2**15 * 2.0**-15
    assert abs(a[14][centre] * 2.0**e - exact) <= 2.0**e


def test_depthwise_bwd_input_7x7_extreme(ck):
    h = w = 9
    c, k = 4, 7
    grad = np.full(out_size(h, 2) * out_size(w, 2) * c, 127, np.int8)
    wt = np.full(2 * k * k, -128, np.int8)
    wf = np.full(2 * k * k, 127, np.int8)
    f, w_exp = input_grad_factors(np.array([1.0, 0.5, 1e-3, 1.0]))
    run_both(ck, "tb_depthwise_bwd_input_s8",
             [grad, -3, EMPTY_U8, h, w, c, wt, wf, 2, k, 2, f, w_exp, np.zeros(h * w * c, np.int8)])


def test_bwd_weight_position_limit(ck):
    """h_out * w_out = 65536 positions of 128 * 255: the int32 limit of a weight gradient."""
    h = w = 256
    grad = np.full(h * w, -128, np.int8)
    x = np.full(h * w, 127, np.int8)
    a, _ = run_both(ck, "tb_pointwise_bwd_weight_s32",
                    [grad, EMPTY_U8, x, h, w, 1, -128, 1, np.zeros(1, np.int32), np.zeros(1, np.int32)])
    assert a[8][0] == -128 * 255 * 65536 and a[9][0] == -128 * 65536


def test_avgpool_large_window(ck):
    h = w = 128
    x = np.full(h * w * 2, -128, np.int8)
    x[1::2] = 127
    a, _ = run_both(ck, "tb_avgpool_fwd_s8", [x, h, w, 2, 127, np.zeros(2, np.int8)])
    assert list(a[5]) == [-128, 127]
    a, e = run_both(ck, "tb_avgpool_bwd_s8", [np.array([127, -127], np.int8), 0, h, w, 2,
                                               np.zeros(h * w * 2, np.int8)])
    assert a[5][0] * 2.0**e == pytest.approx(127 / (h * w), rel=1 / 100)


def test_softmax_thousand_classes(ck):
    rng = np.random.default_rng(1)
    from tinybench.kernels.host import softmax_exp_table
    logits = rng.integers(-128, 128, 1000).astype(np.int8)
    for scale in (1e-6, 0.05, 0.5, 30.0):
        run_both(ck, "tb_softmax_ce_bwd_s8",
                 [logits, 1000, 7, softmax_exp_table(scale), np.zeros(1000, np.int8)])
