"""The whole pipeline on the deterministic test firmware (firmware/tests/tb_test_det.c):
build -> run under iss and qemu on both targets -> parse -> compare with a numpy replay."""

from __future__ import annotations

import numpy as np
import pytest

from tinybench.emulate import param_checksum

TARGETS = ("stm32f746", "nrf52840")
STEPS = 3


def _lcg(seed: int):
    s = seed
    while True:
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        yield ((s >> 24) ^ 0x80) - 0x80  # (int8_t)(uint8_t)(s >> 24)


def det_reference(steps: int) -> tuple[int, int]:
    """(checksum after init, checksum after ``steps`` steps) of tb_test_det.c, in numpy."""
    g = _lcg(12345)
    W = np.array([next(g) for _ in range(16 * 32)], dtype=np.int64).reshape(16, 32)
    x = np.array([next(g) for _ in range(32)], dtype=np.int64)
    target = np.array([next(g) for _ in range(16)], dtype=np.int64)
    b = np.zeros(16, dtype=np.int64)
    init = param_checksum([W.astype(np.int8), b.astype(np.int32)])
    for _ in range(steps):
        y = b + W @ x
        e = np.clip((y >> 6) - target, -8, 8)
        W = np.clip(W - ((e[:, None] * x[None, :]) >> 5), -128, 127)
        b = b - e
    return init, param_checksum([W.astype(np.int8), b.astype(np.int32)])


def test_reference_changes_the_parameters():
    init, final = det_reference(STEPS)
    assert init != final


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", ["iss", "qemu"])
def test_deterministic_firmware_prints_the_expected_checksum(firmware, backend, name, target):
    fw = firmware("det", target, "qemu", TB_STEPS=STEPS)
    r = backend(name).run(fw.elf, target, instruction_budget=50_000_000, timeout_s=60)
    assert r.status == "ok", r.reason + "\n" + r.uart
    init, final = det_reference(STEPS)
    rep = r.report
    assert rep.checksum_init == init
    assert rep.checksum == final
    assert rep.begin["target"] == target and rep.begin["board"] == fw.board.name
    assert [s.index for s in rep.steps] == list(range(STEPS))
    for s in rep.steps:
        assert [op.name for op in s.ops] == ["fc_fwd", "loss_grad", "sgd_update"]
    # x, y and e occupy the first 112 bytes of the arena
    assert rep.arena == {"used": 112, "size": 256}
    assert 0 < rep.stack["bytes"] <= rep.stack["reserved"] == 8192
    assert "overflow" not in rep.stack
    assert r.instructions is not None and r.instructions_exact
    assert r.profile["fc_fwd"] > 0 and r.profile["sgd_update"] > 0
    if name == "qemu":
        assert not rep.cyccnt_available
        assert all(s.cycles is None for s in rep.steps)
        assert r.cycles is None
    else:
        assert rep.cyccnt_available
        for s in rep.steps:
            assert s.cycles > sum(op.cycles for op in s.ops) > 0
        assert r.cycles == sum(r.profile_cycles.values())


@pytest.mark.parametrize("target", TARGETS)
def test_iss_and_qemu_count_the_same_instructions(firmware, backend, target):
    """Same ELF, same path through the harness (the ISS without DWT, like QEMU): the
    instruction counts and the per-function profiles must be identical."""
    fw = firmware("det", target, "qemu", TB_STEPS=STEPS)
    q = backend("qemu").run(fw.elf, target, timeout_s=60)
    i = backend("iss", dwt="off").run(fw.elf, target, instruction_budget=50_000_000)
    assert q.status == i.status == "ok"
    assert q.instructions == i.instructions
    assert q.profile == i.profile
    assert q.uart.replace("\r", "") == i.uart.replace("\r", "")
    # with the DWT the harness prints numbers instead of "na": a few hundred instructions
    d = backend("iss").run(fw.elf, target, instruction_budget=50_000_000)
    assert d.checksum == q.checksum
    assert abs(d.instructions - q.instructions) <= 0.001 * q.instructions


@pytest.mark.parametrize("target", TARGETS)
def test_native_board_build_runs_under_the_iss(firmware, backend, target):
    """The ELF Renode runs (chip memory map, STM32 USART / nRF UART, END sentinel instead of
    semihosting) gives the same results under the ISS."""
    fw = firmware("det", target, "native", TB_STEPS=STEPS)
    r = backend("iss").run(fw.elf, target, instruction_budget=50_000_000)
    assert r.status == "ok", r.reason + "\n" + r.uart
    assert r.board == fw.board.name != "mps2-an500"
    assert r.checksum == det_reference(STEPS)[1]
    assert r.extra["exit_reason"] is None  # ended on the TB:END sentinel


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", ["iss", "qemu"])
def test_hard_float_code_runs(firmware, backend, name, target):
    """The FPU is enabled by the startup code and modelled by both emulators."""
    fw = firmware("float", target, "qemu", TB_STEPS=3)
    r = backend(name).run(fw.elf, target, timeout_s=60)
    assert r.status == "ok", r.reason
    w = np.float32(0.5) + np.arange(8, dtype=np.float32)
    d = (np.float32(0.25) / (np.float32(1.0) + np.arange(8, dtype=np.float32))).astype(np.float32)
    for _ in range(3):
        w = ((w * np.float32(1.0001)).astype(np.float32) + d).astype(np.float32)
    assert r.checksum == param_checksum([w])
