"""DWT->CYCCNT under the ISS: reads return the modelled cycle count, exactly."""

from __future__ import annotations

import pytest

TARGETS = ("stm32f746", "nrf52840")
STEPS = 2


def run(firmware, backend, target, **options):
    fw = firmware("dwt", target, "qemu", TB_STEPS=STEPS)
    r = backend("iss", **options).run(fw.elf, target, instruction_budget=50_000_000)
    assert r.status == "ok", r.reason
    return r


@pytest.mark.parametrize("target", TARGETS)
def test_reads_are_monotonic_and_consistent(firmware, backend, target):
    r = run(firmware, backend, target)
    assert r.report.cyccnt_available
    assert r.extra["dwt_unlocated_reads"] == 0
    assert r.extra["dwt_reads"] >= 6 * STEPS
    for step in r.report.steps:
        ops = {op.name: op.cycles for op in step.ops}
        assert 0 < ops["spin10"] < ops["spin20"] < ops["spin1000"]
        assert step.cycles > sum(ops.values())
    # deterministic model: every step costs the same
    assert len({s.cycles for s in r.report.steps}) == 1
    # the whole run's cycles are the sum of the per-function cycles, and exceed the steps
    assert r.cycles == sum(r.profile_cycles.values()) > sum(s.cycles for s in r.report.steps)


@pytest.mark.parametrize("target", TARGETS)
def test_op_cycles_agree_with_the_cycle_profile(firmware, backend, target):
    """Each op calls its own spin function once per step: the op's DWT cycles are that
    function's cycles from the profile plus a small call/measurement overhead. The overhead
    differs by one cycle between ops: op 0's first DWT read follows a load and pipelines (the
    load rule of the M4 table), the others' follow the return from tb_mark."""
    r = run(firmware, backend, target)
    ops = r.report.op_cycles()
    overheads = {
        name: ops[name] - r.profile_cycles[fn] // STEPS
        for name, fn in (("spin10", "tb_spin_a"), ("spin20", "tb_spin_b"),
                         ("spin1000", "tb_spin_c"))
    }
    assert max(overheads.values()) - min(overheads.values()) <= 1, overheads
    assert 0 < min(overheads.values()) and max(overheads.values()) <= 16
    # and the loop is linear in its trip count
    fn = {name: r.profile_cycles[f] // STEPS for name, f in (("spin10", "tb_spin_a"), ("spin20", "tb_spin_b"),
                                                              ("spin1000", "tb_spin_c"))}
    per_iter = (fn["spin20"] - fn["spin10"]) / 10
    assert per_iter == (fn["spin1000"] - fn["spin20"]) / 980
    assert per_iter == int(per_iter) >= 3


@pytest.mark.parametrize("target", TARGETS)
def test_fast_and_exact_modes_agree(firmware, backend, target):
    """'fast' identifies the reading load from register values; 'exact' makes Unicorn track
    the PC at every load. Both must give the same readings."""
    fast = run(firmware, backend, target, dwt="fast")
    exact = run(firmware, backend, target, dwt="exact")
    assert fast.uart == exact.uart
    assert fast.cycles == exact.cycles and fast.instructions == exact.instructions


def test_dwt_off_behaves_like_qemu(firmware, backend):
    r = run(firmware, backend, "stm32f746", dwt="off")
    assert not r.report.cyccnt_available
    assert all(s.cycles is None for s in r.report.steps)
    assert r.cycles is not None  # the model still counts, only the firmware cannot see it


def test_m7_cycles_are_labelled_as_an_approximation(firmware, backend):
    m7 = run(firmware, backend, "stm32f746")
    m4 = run(firmware, backend, "nrf52840")
    assert "APPROXIMATION" in m7.cycles_model and m7.extra["cortex_m7_note"]
    assert "APPROXIMATION" not in m4.cycles_model


def test_qemu_has_no_dwt(firmware, backend):
    fw = firmware("dwt", "nrf52840", "qemu", TB_STEPS=STEPS)
    r = backend("qemu").run(fw.elf, "nrf52840", timeout_s=60)
    assert r.status == "ok"
    assert not r.report.cyccnt_available and r.cycles is None
    assert all(op.cycles is None for s in r.report.steps for op in s.ops)


def test_invalid_mode():
    from tinybench.emulate import get_backend
    with pytest.raises(ValueError):
        get_backend("iss", dwt="sometimes")
