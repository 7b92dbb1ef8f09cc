"""Kernel cases for the emulator: Hypothesis-drawn argument lists of the reference suite
(kernel_cases.CASES), their reference results, and the run of a case firmware in ``iss``."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, seed as hypothesis_seed, settings

from tinybench.codegen.kernel_firmware import (CaseReport, KernelCase, build_kernel_cases, expected_case,
                                               parse_case_report, write_kernel_cases)
from tinybench.emulate import get_backend
from tinybench.kernels.executor import numba_kernels

import numpy as np

from tinybench.kernels.host import out_size

from kernel_cases import CASES, EMPTY_U8


def draw_cases(name: str, n: int, seed: int) -> list[KernelCase]:
    """``n`` argument lists of kernel ``name`` drawn by Hypothesis, with their Numba results;
    int8 arrays misaligned by 0-3 bytes at random."""
    drawn: list[list] = []

    @hypothesis_seed(seed)
    @settings(max_examples=n, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(args=CASES[name])
    def collect(args):
        drawn.append(args)

    collect()
    rng = random.Random(seed)
    ref = numba_kernels()
    cases = []
    for args in drawn[:n] + edge_cases().get(name, []):
        case = expected_case(name, args, ref)
        case.misalign = rng.randrange(4)
        cases.append(case)
    return cases


def run_cases(cases: list[KernelCase], kernels: str, target: str, work_dir: Path | None = None):
    """Build and run the cases in ``iss``; returns (CaseReport, RunResult)."""
    with tempfile.TemporaryDirectory(prefix="tb-cases-") as tmp:
        out = Path(work_dir or tmp)
        source = write_kernel_cases(cases, out / "kernel_cases.c")
        backend = get_backend("iss")
        build = build_kernel_cases(source, kernels, target, backend.default_board(target), out, n_cases=len(cases))
        run = backend.run(build.elf, target, instruction_budget=4 * 10**9)
    return parse_case_report(run.uart), run


def edge_cases() -> dict[str, list[list]]:
    """Hand-made argument lists for paths that random cases reach seldom, by kernel name."""
    rng = np.random.default_rng(7)
    # tb_pointwise_bwd_input_s8: the position written last (position 0) holds the largest
    # accumulators but not the largest sum of products, so the shift grows by one after every
    # other position is written and those outputs are shifted on, the odd ones (ties) recomputed.
    h, w, c_in, c_out = 2, 4, 16, 16
    grad = rng.choice(np.array([-10, 10], np.int8), (h * w, c_out))
    grad[0] = 0
    grad[0, 0] = 127
    wts = rng.integers(-128, 128, (c_out, c_in)).astype(np.int8)
    wts[0] = 127
    f = np.full(c_out, 2**14, np.int32)
    late = [grad.ravel().copy(), -10, EMPTY_U8, h, w, c_in, np.empty(0, np.int8), wts.ravel().copy(), 0, c_out,
            f, -20, np.zeros(h * w * c_in, np.int8)]
    # the same with both weight parts (5 + 11 input channels: the ties' blocks of 4, 1 and 3)
    late_split = [grad.ravel().copy(), -10, EMPTY_U8, h, w, c_in, np.ascontiguousarray(wts[:, :5]).ravel(),
                  np.ascontiguousarray(wts[:, 5:]).ravel(), 5, c_out, f, -20, np.zeros(h * w * c_in, np.int8)]
    return {"tb_pointwise_bwd_input_s8": [late, late_split] + pointwise_input_room_cases(rng)
            + pointwise_input_nonzero_cases(rng), "tb_conv_fwd_s8": stem_cases(rng) + stem_path_cases(rng),
            "tb_depthwise_fwd_s8": depthwise_fwd_cases(rng), "tb_depthwise_bwd_input_s8": depthwise_bwd_input_cases(rng),
            "tb_pointwise_bwd_weight_sgd_s8": pointwise_sgd_cases(rng), "tb_pwdw_fwd_s8": pwdw_cases(rng),
            "tb_pointwise_fwd_s8": pointwise_fwd_cases(rng)}


def depthwise_bwd_input_cases(rng) -> list[list]:
    """tb_depthwise_bwd_input_s8: a late growth of the shift (the largest accumulator in the last
    group, whose sum of |gradient| is the smallest, so that it is not among the groups taken
    first: every step before it is written again), whole windows of stride 2 on odd sizes
    (kernels 3 and 7, every parity), taps from the plane (kernel 5, stride 2), planes too large
    for the stack with a mask whose 4 bits straddle bytes (5 channels), shifts below 18 (the 64-bit
    requantization) and the largest factors."""

    def case(h, w, c, k, s, grad, mask, f, wts=None):
        wts = rng.integers(-128, 128, c * k * k).astype(np.int8) if wts is None else wts
        kt = c // 3
        return [grad, -10, mask, h, w, c, wts[:kt * k * k].copy(), wts[kt * k * k:].copy(), kt, k, s, f, -20,
                rng.integers(-128, 128, h * w * c).astype(np.int8)]

    def grads(n, top):
        return rng.integers(-top, top + 1, n).astype(np.int8)

    def bits(n, p=0.7):
        return np.packbits(rng.random(n) < p, bitorder="little")

    h = w = 8
    c, k = 40, 3
    g = rng.choice(np.array([-10, 10], np.int8), (h * w, c))
    g[:, 36:] = 0
    g[h * w // 2, 37] = 127
    wts = rng.integers(-60, 61, (c, k * k)).astype(np.int8)
    wts[37] = 127
    late = case(h, w, c, k, 1, g.ravel().copy(), EMPTY_U8, np.full(c, 2**15, np.int32), wts.ravel().copy())
    out = [late]
    for (h, w, c, k, s) in ((7, 9, 8, 3, 2), (9, 7, 12, 7, 2), (5, 7, 6, 5, 2), (14, 13, 5, 3, 1), (13, 14, 9, 5, 1)):
        n = out_size(h, s) * out_size(w, s) * c
        out.append(case(h, w, c, k, s, grads(n, 127), bits(n), rng.integers(0, 2**15 + 1, c).astype(np.int32)))
        out.append(case(h, w, c, k, s, grads(n, 1), bits(n, 0.3), rng.integers(0, 64, c).astype(np.int32)))
    return out


def pointwise_sgd_cases(rng) -> list[list]:
    """tb_pointwise_bwd_weight_sgd_s8 beyond the random cases' sizes: more positions than one
    packed block (63 = 32 + 31, odd) and trained input channels beyond one chunk (67 = 32 + 32
    + 3, odd), an odd channel count (mask bit pairs opening the next byte, a last single
    channel), 16 channels (a pair's mask bits at one offset), extreme inputs and zero points,
    effective SGD shifts on both sides of 32 and of [1, 62] (bias steps of shift 1 and 2
    saturating); with a mask and without; bias sums only (k_train = 0) over more than 256
    positions of gradient -128 (the halfword lanes' limit), 6 channels (4 mask bits opening the
    next byte)."""
    cases = []
    for h, w, k_train, c_out, x_zero, mask in ((7, 9, 67, 5, -128, True), (9, 9, 6, 7, 127, False),
                                               (1, 33, 33, 3, 0, True), (17, 17, 0, 6, 0, True),
                                               (16, 17, 0, 8, 0, False), (5, 7, 5, 16, -7, True)):
        n = h * w * c_out
        grad = rng.choice(np.array([-128, 127, -1, 0, 3], np.int8), n)
        if k_train == 0:
            grad[:] = -128 if mask else 127
        x = rng.choice(np.array([-128, 127, 0, 5], np.int8), h * w * k_train)
        bits = np.packbits(rng.random(n) < 0.7, bitorder="little") if mask else EMPTY_U8
        e = -20
        w_shift = (e + np.array([31, 32, 33, 62, 63, 0, -3, 45][:c_out] * 2, np.int32)[:c_out]).astype(np.int32)
        w_mult = rng.integers(2**30, 2**31, c_out).astype(np.int32)
        w_mult[-1] = 2**31 - 1
        b_shift = (e + rng.choice(np.array([1, 2, 20, 31, 32, 40]), c_out)).astype(np.int32)
        cases.append([grad, bits, x, h, w, k_train, x_zero, c_out, e,
                      rng.integers(-128, 128, c_out * k_train).astype(np.int8), w_mult, w_shift,
                      rng.integers(-2**31, 2**31, c_out).astype(np.int32),
                      rng.integers(2**30, 2**31, c_out).astype(np.int32), b_shift])
    return cases


def pointwise_input_room_cases(rng) -> list[list]:
    """tb_pointwise_bwd_input_s8 where no position has room for its products (many output
    channels, few input channels): dense products (the 32-channel windows with every mask bit
    set, without and with a mask, 70 = 32 + 32 + 6 channels), then a sparse mask whose windows
    straddle mask bytes; input channels 7 and a part of 3 (blocks of 4 and the C path)."""
    h, w, c_in, c_out = 3, 1, 7, 70
    n = h * w * c_out
    grad = (rng.integers(1, 128, n) * rng.choice([-1, 1], n)).astype(np.int8)
    wts = rng.integers(-128, 128, (c_out, c_in)).astype(np.int8)
    f = rng.integers(1, 2**15 + 1, c_out).astype(np.int32)
    cases = []
    for mask, k_train in ((EMPTY_U8, 4), (np.packbits(np.ones(n, bool), bitorder="little"), 7),
                          (np.packbits(rng.random(n) < 0.3, bitorder="little"), 3)):
        cases.append([grad.copy(), -12, mask, h, w, c_in, np.ascontiguousarray(wts[:, :k_train]).ravel(),
                      np.ascontiguousarray(wts[:, k_train:]).ravel(), k_train, c_out, f.copy(), -20,
                      np.zeros(h * w * c_in, np.int8)])
    return cases


def pointwise_input_nonzero_cases(rng) -> list[list]:
    """tb_pointwise_bwd_input_s8 where positions have no room for their products but room for
    their windows of non-zero masked gradients (positions 3 and up of 7, 5 input channels, 70 =
    32 + 32 + 6 output channels): dense products with a few zero gradients (windows all set, and
    windows searched), a sparse mask with zero gradients, a position with every gradient 0 and
    one whose first window's mask bits are all cleared; without a mask, with k_train = 2 (blocks
    of 2 and 3 input channels: the C path), and with both parts of 4 and 1."""
    h, w, c_in, c_out = 7, 1, 5, 70
    n = h * w * c_out
    wts = rng.integers(-128, 128, (c_out, c_in)).astype(np.int8)
    f = rng.integers(1, 2**15 + 1, c_out).astype(np.int32)
    dense = (rng.integers(1, 128, n) * rng.choice([-1, 1], n)).astype(np.int8)
    dense[rng.random(n) < 0.05] = 0
    dense[5 * c_out:5 * c_out + 32] = np.where(np.arange(32) == 7, 0, dense[5 * c_out:5 * c_out + 32])
    dense[6 * c_out:6 * c_out + 32] = np.abs(dense[6 * c_out:6 * c_out + 32]) | 1  # a window all set
    sparse = np.where(rng.random(n) < 0.3, 0, rng.integers(-127, 128, n)).astype(np.int8)
    sparse[4 * c_out:5 * c_out] = 0
    bits = rng.random(n) < 0.4
    bits[3 * c_out:3 * c_out + 32] = False
    cases = []
    for grad, mask, k_train in ((dense, np.packbits(np.ones(n, bool), bitorder="little"), 4),
                                (sparse, np.packbits(bits, bitorder="little"), 4),
                                (sparse, EMPTY_U8, 2)):
        cases.append([grad.copy(), -12, mask, h, w, c_in, np.ascontiguousarray(wts[:, :k_train]).ravel(),
                      np.ascontiguousarray(wts[:, k_train:]).ravel(), k_train, c_out, f.copy(), -20,
                      np.zeros(h * w * c_in, np.int8)])
    return cases


def stem_cases(rng) -> list[list]:
    """The models' stem (3 channels, 3x3, stride 2) on an odd 9 x 11 input, 5 output channels:
    input zero point -128 with extreme inputs and a large multiplier (saturation both ways),
    once frozen, once split (k_train = 1: two column segments, rows of 9 and 18 weights)."""
    h, w, c_out = 9, 11, 5
    n_out = 5 * 6 * c_out
    cases = []
    for k_train in (0, 1):
        wts = rng.integers(-128, 128, (c_out, 3, 3, 3)).astype(np.int8)
        wt, wf = (np.ascontiguousarray(wts[..., :k_train]).ravel(), np.ascontiguousarray(wts[..., k_train:]).ravel())
        cases.append([rng.choice(np.array([-128, 127], np.int8), h * w * 3), h, w, 3, -128, wt, wf, k_train,
                      rng.integers(-20000, 20001, c_out).astype(np.int32), c_out, 3, 2,
                      np.full(c_out, 2**31 - 1, np.int32), np.array([33, 34, 40, 46, 62], np.int32), 127,
                      rng.integers(-128, 128, n_out).astype(np.int8), np.zeros((n_out + 7) // 8, np.uint8)])
    return cases


def stem_path_cases(rng) -> list[list]:
    """The fast stem path (one weight part, at most 16 output channels, shifts in (32, 63]): 16
    channels frozen without a mask on an even 10 x 12 input, shifts 33 and 63 at the bounds; all
    trained (k_train = 3) with a mask on an odd 7 x 6 input; inputs of 1 x 1 and 2 x 3 (no window
    inside: every tap gathered). The general path: 17 channels, a shift of 32 or less."""
    cases = []
    for h, w, c_out, k_train, masked, lo, hi in ((10, 12, 16, 0, False, 33, 64), (7, 6, 9, 3, True, 33, 45),
                                                 (1, 1, 16, 0, True, 36, 44), (2, 3, 3, 3, True, 36, 44),
                                                 (5, 5, 17, 0, True, 36, 44), (7, 6, 9, 3, True, 30, 45),
                                                 (5, 6, 4, 0, False, 32, 40)):
        wts = rng.integers(-128, 128, (c_out, 3, 3, 3)).astype(np.int8)
        wt, wf = (np.ascontiguousarray(wts[..., :k_train]).ravel(), np.ascontiguousarray(wts[..., k_train:]).ravel())
        n_out = (h + 1) // 2 * ((w + 1) // 2) * c_out
        shift = rng.integers(lo, hi, c_out).astype(np.int32)
        shift[:2] = lo, hi - 1
        mult = rng.integers(2**30, 2**31 - 1, c_out).astype(np.int32)
        mult[1] = 2**31 - 1 if hi > 50 else mult[1]
        cases.append([rng.integers(-128, 128, h * w * 3).astype(np.int8), h, w, 3, int(rng.integers(-128, 128)),
                      wt, wf, k_train, rng.integers(-20000, 20001, c_out).astype(np.int32), c_out, 3, 2,
                      mult, shift, int(rng.integers(-128, 128)), rng.integers(-128, 128, n_out).astype(np.int8),
                      np.zeros((n_out + 7) // 8, np.uint8) if masked else EMPTY_U8])
    return cases


def depthwise_fwd_cases(rng) -> list[list]:
    """Depthwise layers with interior windows for every kernel size and stride (12 x 13 inputs),
    18 channels (4 groups of 4 and 2 channels one by one), the trained filters ending inside a
    group (k_train = 6); input zero point -128 with extreme inputs and a large multiplier
    (saturation both ways) at stride 2, where the output count leaves the mask's last byte partial."""
    h, w, c = 12, 13, 18
    cases = []
    for kernel, stride in ((3, 1), (3, 2), (5, 1), (5, 2), (7, 1), (7, 2)):
        n_out = ((h + stride - 1) // stride) * ((w + stride - 1) // stride) * c
        wts = rng.integers(-128, 128, (c, kernel, kernel)).astype(np.int8)
        x = rng.integers(-128, 128, h * w * c).astype(np.int8) if stride == 1 else \
            rng.choice(np.array([-128, 127], np.int8), h * w * c)
        cases.append([x, h, w, c, -128 if stride == 2 else 5, wts[:6].ravel().copy(), wts[6:].ravel().copy(), 6,
                      rng.integers(-20000, 20001, c).astype(np.int32), kernel, stride,
                      rng.integers(2**30, 2**31, c).astype(np.int32), rng.integers(36, 44, c).astype(np.int32),
                      int(rng.integers(-128, 128)), rng.integers(-128, 128, n_out).astype(np.int8),
                      np.zeros((n_out + 7) // 8, np.uint8) if kernel != 5 else EMPTY_U8])
    # without a mask (the assembly run of whole interior windows) for kernels 3 and 7 too: 18
    # channels (unaligned output words), biases at both int32 ends (the sum saturates; folded as
    # the outputs all clamp, except for a zero multiplier, whose group takes the C loop), output
    # zero points at both ends, an odd width at stride 2
    for kernel, stride, w_odd, y_zero in ((3, 1, 13, 127), (7, 1, 12, -128), (3, 2, 11, -128), (7, 2, 15, 127)):
        n_out = ((h + stride - 1) // stride) * ((w_odd + stride - 1) // stride) * c
        bias = rng.integers(-20000, 20001, c).astype(np.int32)
        bias[[1, 6, 9]] = [2**31 - 1, -(2**31), 2**31 - 2]
        mult = rng.integers(2**30, 2**31, c).astype(np.int32)
        mult[9] = 0 if stride == 2 else mult[9]
        cases.append([rng.integers(-128, 128, h * w_odd * c).astype(np.int8), h, w_odd, c, 127, np.empty(0, np.int8),
                      rng.integers(-128, 128, c * kernel * kernel).astype(np.int8), 0, bias, kernel, stride,
                      mult, rng.integers(33, 48, c).astype(np.int32),
                      y_zero, rng.integers(-128, 128, n_out).astype(np.int8), EMPTY_U8])
    return cases


def pwdw_cases(rng) -> list[list]:
    """tb_pwdw_fwd_s8 on planes large enough for runs of inner windows of the 7x7 and 5x5 kernels
    (random cases draw planes up to 9 x 9), with a mask or none, c_in a multiple of 8 (the assembly
    pointwise loop) and not, channels of every requantization path side by side: fast, a bias
    that could saturate, a shift of 32 and of 60 (general), zero points at the ends. Planes whose
    bordered copy fits the fast kernel's buffer (up to 488 bytes: the first six, one of 2 rows
    under a 7 x 7 kernel) and larger ones (the runs over the plane itself: odd and even counts of
    inner columns, both strides, every kernel)."""
    cases = []
    for h, w, c_in, k, s, zeros, masked in (
            (12, 11, 16, 7, 1, (-128, 127, -128), True), (9, 13, 12, 5, 2, (127, -128, 127), True),
            (14, 10, 8, 3, 1, (0, -128, 5), True), (11, 10, 12, 3, 2, (-128, 0, 127), False),
            (7, 9, 8, 5, 2, (5, 127, -128), False), (2, 30, 8, 7, 1, (127, 127, -128), False),
            (23, 25, 8, 3, 2, (-128, 127, 5), False), (22, 24, 16, 3, 1, (127, -128, 0), False),
            (21, 26, 8, 3, 1, (-128, -128, 127), True), (26, 21, 12, 5, 1, (3, -128, -128), False),
            (30, 20, 8, 7, 2, (127, 5, -128), False)):
        c_mid = 5
        n = out_size(h, s) * out_size(w, s) * c_mid
        bias = np.array([100, 2**31 - 1, -3000, 20000, -(2**31)], np.int32)
        shift = np.array([38, 40, 32, 60, 44], np.int32)
        cases.append([rng.integers(-128, 128, h * w * c_in).astype(np.int8), h, w, c_in, zeros[0],
                      rng.integers(-128, 128, c_mid * c_in).astype(np.int8), bias,
                      np.full(c_mid, 2**30 + 12345, np.int32),
                      shift, zeros[1], c_mid, rng.integers(-128, 128, h * w).astype(np.int8),
                      rng.integers(-128, 128, c_mid * k * k).astype(np.int8), bias[::-1].copy(), k, s,
                      np.full(c_mid, 2**31 - 1, np.int32), shift[::-1].copy(), zeros[2],
                      rng.integers(-128, 128, n).astype(np.int8),
                      np.zeros((n + 7) // 8, np.uint8) if masked else EMPTY_U8])
    return cases


def pointwise_fwd_cases(rng) -> list[list]:
    """The usual path of the fast pointwise forward (c_out a multiple of 8, c_in <= 240 or one
    weight part and an even width, shifts in [33, 62]), which random cases (c_in <= 32, c_out <= 12) reach only with 8 output
    channels: weight parts with remainders of 3 channels, an odd last position, every tail of
    the 16-channel main loop (c_in 236 = 14 * 16 + 8 + 4), zero points at both ends, extreme
    inputs, biases at both ends of int32 (acc + bias saturates), outputs saturating both ways."""
    cases = []
    shapes = [  # h, w, c_in, k_train, c_out, x_zero, y_zero, mask
        (3, 3, 70, 7, 16, -128, 127, True), (2, 3, 236, 0, 8, 127, -128, False),
        (1, 5, 64, 64, 24, 3, -5, True), (2, 2, 240, 120, 8, -1, 0, True), (1, 1, 96, 0, 16, 0, 0, True),
        # wide layers: the channels beyond the buffer as int8 (strided steps of 8 and a rest), and
        # an odd width (the general path)
        (2, 2, 300, 0, 16, -128, 5, True), (3, 2, 251, 251, 8, 7, -3, False), (1, 3, 260, 0, 8, 1, 1, True),
        # the assembly path (parts of multiples of 4 channels): its loop entered at each step, mask
        # bytes of 5 channel octets, odd last positions with and without a mask
        (3, 1, 4, 0, 40, -128, 127, True), (1, 3, 8, 8, 8, 127, -128, True), (2, 1, 12, 0, 24, 0, 0, False),
        (5, 1, 20, 20, 16, -7, 3, True), (1, 1, 240, 240, 8, 127, 127, False), (3, 3, 48, 0, 32, -128, -128, True),
        # and two weight parts, each entering the loop at its own step
        (3, 1, 24, 8, 16, 5, -9, False), (1, 3, 8, 4, 24, -128, 127, True), (2, 2, 60, 44, 8, 0, 1, True),
        # one part of a multiple of 16 channels without a mask over several pairs (no TBB into the dot)
        (1, 7, 32, 0, 16, 3, -2, False),
        # padded parts (two parts, not both multiples of 4): mbv2's 7 + 49 channels, remainders of
        # 1, 2 and 3 in either part, 8 outputs (the C loops), 16 and 24 (the assembly then the last
        # 8 in C), odd last positions, padded lengths filling the buffer (112 + 128 = 240)
        (3, 1, 56, 7, 24, -128, 127, True), (1, 2, 56, 7, 16, 5, -3, False), (3, 3, 13, 5, 16, 127, -128, True),
        (1, 1, 10, 1, 24, 0, 0, False), (5, 1, 22, 2, 16, -1, 1, True), (1, 3, 41, 20, 8, 3, 3, True),
        (2, 1, 237, 109, 16, 9, -9, True), (1, 3, 6, 3, 32, -128, -128, False)]
    for h, w, c_in, k_train, c_out, xz, yz, with_mask in shapes:
        n_out = h * w * c_out
        wts = rng.integers(-128, 128, (c_out, c_in)).astype(np.int8)
        wt, wf = np.ascontiguousarray(wts[:, :k_train]).ravel(), np.ascontiguousarray(wts[:, k_train:]).ravel()
        bias = rng.integers(-20000, 20001, c_out).astype(np.int32)
        bias[:3] = 2**31 - 1, -2**31, 2**31 - 1 - 32640 * c_in
        mult = rng.integers(2**30, 2**31, c_out).astype(np.int32)
        mult[-1] = 2**31 - 1
        shift = rng.integers(33, 63, c_out).astype(np.int32)
        shift[:2] = 33, 62
        x = rng.choice(np.array([-128, 127, 0, 5], np.int8), h * w * c_in)
        mask = np.full((n_out + 7) // 8, 0xA5, np.uint8) if with_mask else EMPTY_U8
        cases.append([x, h, w, c_in, xz, wt, wf, k_train, bias, c_out, mult, shift, yz,
                      rng.integers(-128, 128, n_out).astype(np.int8), mask])
    return cases
