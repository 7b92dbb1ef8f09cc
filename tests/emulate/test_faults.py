"""Faulting, hanging and non-ending firmware under iss and qemu."""

from __future__ import annotations

import pytest

TARGETS = ("stm32f746", "nrf52840")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", ["iss", "qemu"])
def test_unmapped_read_is_a_fault_with_address_and_function(firmware, backend, name, target):
    fw = firmware("fault", target, "qemu", TB_FAULT_KIND=1)
    r = backend(name).run(fw.elf, target, instruction_budget=50_000_000, timeout_s=60)
    assert r.status == "fault", r.reason + "\n" + r.uart
    assert r.fault_address == 0x3000_0000
    assert r.fault_function == "tb_fault_bad_read"
    assert "tb_fault_bad_read" in r.reason and "0x30000000" in r.reason
    # the fault happened in op 1 of step 0: no step was completed
    assert r.report.steps == [] and r.report.checksum is None
    if name == "qemu":  # reported by the firmware's own handler
        assert r.report.fault["type"] == "BusFault"
        assert r.report.fault["cause"] == "preciserr"
        assert r.report.end_status == "fault"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", ["iss", "qemu"])
def test_undefined_instruction_is_a_fault_naming_the_function(firmware, backend, name, target):
    fw = firmware("fault", target, "qemu", TB_FAULT_KIND=2)
    r = backend(name).run(fw.elf, target, instruction_budget=50_000_000, timeout_s=60)
    assert r.status == "fault", r.reason
    assert r.fault_function == "tb_fault_undefined"
    assert r.fault_pc is not None and r.fault_address is None
    if name == "qemu":
        assert r.report.fault["type"] == "UsageFault"
        assert r.report.fault["cause"] == "undefinstr"


def test_native_board_fault_handler_under_the_iss(firmware, backend):
    """The Renode build (no semihosting) faults the same way under the ISS."""
    fw = firmware("fault", "stm32f746", "native", TB_FAULT_KIND=1)
    r = backend("iss").run(fw.elf, "stm32f746", instruction_budget=50_000_000)
    assert r.status == "fault" and r.fault_function == "tb_fault_bad_read"


@pytest.mark.parametrize("target", TARGETS)
def test_iss_hang_stops_at_the_instruction_budget(firmware, backend, target):
    fw = firmware("hang", target, "qemu")
    budget = 3_000_000
    r = backend("iss").run(fw.elf, target, instruction_budget=budget, timeout_s=60)
    assert r.status == "hang", r.reason
    assert "budget" in r.reason and str(budget) in r.reason
    assert r.fault_function == "tb_hang_forever"
    assert budget <= r.instructions < budget + 100  # stopped within one block
    assert r.wall_time_s < 30


@pytest.mark.parametrize("target", TARGETS)
def test_qemu_hang_stops_at_the_instruction_budget(firmware, backend, target):
    """The counting plugin applies the budget (checked at every block) and names the block."""
    fw = firmware("hang", target, "qemu")
    budget = 3_000_000
    r = backend("qemu").run(fw.elf, target, instruction_budget=budget, timeout_s=60)
    assert r.status == "hang", r.reason
    assert "budget" in r.reason and str(budget) in r.reason
    assert r.fault_function == "tb_hang_forever"
    assert budget <= r.instructions < budget + 100
    assert r.wall_time_s < 30


@pytest.mark.parametrize("target", TARGETS)
def test_qemu_hang_times_out_and_still_counts(firmware, backend, target):
    fw = firmware("hang", target, "qemu")
    r = backend("qemu").run(fw.elf, target, instruction_budget=None, timeout_s=1.5)
    assert r.status == "hang", r.reason
    assert "timeout" in r.reason
    # QEMU is stopped with SIGTERM, so the plugin still reports the count and profile
    assert r.instructions is not None and r.instructions > 10_000_000
    assert r.fault_function == "tb_hang_forever"
    assert 1.5 <= r.wall_time_s < 15


def test_iss_wall_clock_timeout(firmware, backend):
    fw = firmware("hang", "stm32f746", "qemu")
    r = backend("iss").run(fw.elf, "stm32f746", instruction_budget=10**13, timeout_s=0.5)
    assert r.status == "hang" and "wall-clock" in r.reason
    assert r.fault_function == "tb_hang_forever"


def test_harness_error_is_reported(firmware, backend):
    """More ops than the profile table holds: the harness refuses to run."""
    fw = firmware("det", "nrf52840", "qemu", TB_MAX_OPS=2)
    for name in ("iss", "qemu"):
        r = backend(name).run(fw.elf, "nrf52840", timeout_s=60)
        assert r.status == "fault"
        assert "harness error" in r.reason and "TB_MAX_OPS" in r.reason


def test_qemu_without_plugin_refuses_a_budget_and_labels_counts_unavailable(firmware, backend, monkeypatch):
    import tinybench.emulate.qemu as q
    monkeypatch.setattr(q, "build_plugin", lambda force=False: (None, "no host C compiler"))
    fw = firmware("det", "stm32f746", "qemu", TB_STEPS=1)
    refused = backend("qemu").run(fw.elf, "stm32f746", timeout_s=60)
    assert refused.status == "unavailable" and "needs the counting plugin" in refused.reason
    r = backend("qemu").run(fw.elf, "stm32f746", instruction_budget=None, timeout_s=60)
    assert r.status == "ok"
    assert r.instructions is None and not r.instructions_exact and r.profile == {}
    assert "instruction count unavailable: no host C compiler" in r.reason
    assert r.extra["instructions_unavailable"] == r.reason


def test_qemu_that_fails_to_start_is_a_crash_with_its_stderr(firmware, backend):
    from tinybench.emulate.qemu import QemuBackend

    class BrokenQemu(QemuBackend):
        def command(self, *args, **kwargs):
            return super().command(*args, **kwargs) + ["-no-such-option"]

    if not backend("qemu").available()[0]:
        pytest.skip("qemu unavailable")
    fw = firmware("det", "stm32f746", "qemu", TB_STEPS=1)
    r = BrokenQemu(use_plugin=False).run(fw.elf, "stm32f746", instruction_budget=None, timeout_s=60)
    assert r.status == "crash"
    assert "no-such-option" in r.reason and r.extra["exit_code"] != 0


def test_iss_fault_count_stops_at_the_faulting_instruction(firmware, backend):
    fw = firmware("fault", "stm32f746", "qemu", TB_FAULT_KIND=1)
    r = backend("iss").run(fw.elf, "stm32f746")
    # tb_fault_bad_read is "mov.w r3, #0x30000000; ldr r0, [r3]; bx lr": two executed
    assert r.profile["tb_fault_bad_read"] == 2
    assert r.instructions == sum(r.profile.values()) and r.instructions_exact
    assert r.cycles == sum(r.profile_cycles.values())
