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
    return {"tb_pointwise_bwd_input_s8": [late], "tb_conv_fwd_s8": stem_cases(rng),
            "tb_pointwise_fwd_s8": pointwise_fwd_cases(rng)}


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
        (2, 2, 300, 0, 16, -128, 5, True), (3, 2, 251, 251, 8, 7, -3, False), (1, 3, 260, 0, 8, 1, 1, True)]
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
