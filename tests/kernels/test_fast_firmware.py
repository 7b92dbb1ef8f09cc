"""The fast kernels, built for Cortex-M and run in ``iss``, give the reference's bytes.

One firmware per target holds :data:`CASES_PER_KERNEL` Hypothesis-drawn cases of every fast
kernel (the reference suite's strategies, kernel_cases.py: saturation, zero points at
-128/127, all-zero gradients, odd sizes with stride 2, 7x7, channel counts that are not a
multiple of 4, NULL masks), int8 arrays misaligned by 0-3 bytes; each case compares every
output byte, mask, returned exponent and updated parameter, the unchanged inputs and the
guard bytes around them with the Numba reference, and prints each mismatch index.
The draw is seeded from ``random``: a failure names its seed (``TB_FAST_SEED=<seed>`` replays it).
"""

from __future__ import annotations

import os
import random

import pytest

from tinybench.codegen.kernel_firmware import GUARD_VALUE, expected_case
from tinybench.kernels.executor import numba_kernels

from fast_cases import draw_cases, run_cases
from test_fast_host import FAST

CASES_PER_KERNEL = 40
SEED = int(os.environ.get("TB_FAST_SEED", random.randrange(2**32)))


def _describe(report, cases) -> str:
    lines = [f"seed {SEED} (TB_FAST_SEED={SEED} replays it)"]
    for m in report.mismatches[:40]:
        lines.append(f"case {m.case} {m.kernel} {m.what}[{m.index}]: got {m.got}, want {m.want}")
    return "\n".join(lines)


@pytest.fixture(scope="module", params=["stm32f746", "nrf52840"])
def fast_run(request):
    cases = [c for i, name in enumerate(FAST) for c in draw_cases(name, CASES_PER_KERNEL, SEED + i)]
    report, run = run_cases(cases, "fast", request.param)
    return cases, report, run


def test_fast_kernels_give_the_reference_bytes_in_iss(fast_run):
    cases, report, run = fast_run
    assert run.status == "ok", f"{run.status}: {run.reason}\n{run.uart[-2000:]}"
    assert len(cases) >= CASES_PER_KERNEL * len(FAST) * 0.9
    assert sorted(report.done) == list(range(len(cases))), "every case ran to its end"
    assert not report.mismatches and not any(report.done.values()), _describe(report, cases)
    assert run.report.checksum == 0


def test_a_wrong_byte_is_reported_with_its_index():
    """The case firmware is a test that can fail: a corrupted expected byte, a corrupted return
    value and a write past an output's end are each reported where they are."""
    import numpy as np

    ref = numba_kernels()
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, 12).astype(np.int8)
    args = [x, 2, 2, 3, 0, np.empty(0, np.int8), rng.integers(-128, 128, 6).astype(np.int8), 0,
            np.zeros(2, np.int32), 2, np.full(2, 2**30, np.int32), np.full(2, 36, np.int32), 0,
            np.zeros(8, np.int8), np.zeros(1, np.uint8)]
    good = expected_case("tb_pointwise_fwd_s8", args, ref)
    bad_byte = expected_case("tb_pointwise_fwd_s8", args, ref)
    bad_byte.expected[13][5] ^= 1
    loss = expected_case("tb_softmax_ce_bwd_s8", [x[:4].copy(), 4, 1, np.arange(256, dtype=np.int32)[::-1].copy(),
                                                  np.zeros(4, np.int8)], ref)
    loss.returns = 3
    overrun = expected_case("tb_pointwise_fwd_s8", args, ref)  # y one byte short: the last lands in a guard
    overrun.args[13], overrun.expected[13] = overrun.args[13][:7].copy(), overrun.expected[13][:7].copy()
    report, run = run_cases([good, bad_byte, loss, overrun], "reference", "stm32f746")
    assert run.status == "ok"
    assert report.done == {0: 0, 1: 1, 2: 1, 3: 1}
    (m1, m2, m3) = report.mismatches
    assert (m1.case, m1.what, m1.index, m1.want) == (1, "y", 5, int(bad_byte.expected[13][5]))
    assert (m2.case, m2.what, m2.got, m2.want) == (2, "return", -7, 3)
    assert (m3.case, m3.what, m3.got, m3.want) == (3, "guard", int(good.expected[13][7]) & 0xFF, GUARD_VALUE)
