"""Renode support: platform files, scripts, the Robot test, and the backend.

Renode cannot be installed on these machines: the tests that need it skip with the reason.
The backend's process handling is exercised against a stand-in executable (fake_renode.py),
which is clearly not Renode."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinybench.codegen.targets import TARGETS, get_board, get_target
from tinybench.emulate import get_backend
from tinybench.emulate.renode import (
    INSTALL_HINT,
    RenodeBackend,
    parse_monitor_number,
    renode_dir,
    run_script,
)

RENODE = shutil.which("renode")
needs_renode = pytest.mark.skipif(RENODE is None,
                                  reason=f"renode not on PATH: {INSTALL_HINT}")


def test_unavailable_without_renode_says_how_to_install(monkeypatch):
    b = RenodeBackend(renode="renode-definitely-not-installed")
    ok, why = b.available()
    assert not ok and "github.com/renode/renode/releases" in why
    assert b.version() is None
    r = b.run("/nonexistent.elf", "stm32f746")
    assert r.status == "unavailable" and r.reason == why


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_platform_files_are_self_contained(target):
    board = get_board(get_target(target).native_board)
    text = (renode_dir() / board.renode_platform).read_text()
    code = "\n".join(line.split("//")[0] for line in text.splitlines())
    assert "ApplySVD" not in code and "http" not in code and "using" not in code
    assert re.search(r"^cpu: CPU\.CortexM @ sysbus", text, re.M)
    cpu = "cortex-m7" if target == "stm32f746" else "cortex-m4"
    assert f'cpuType: "{cpu}"' in text
    assert re.search(r"^dwt: Miscellaneous\.DWT @ sysbus 0xE0001000\n\s+frequency: %d"
                     % get_target(target).clock_hz, text, re.M)
    assert re.search(r"^uart: UART\.\w+ @ sysbus 0x%08X" % board.uart_base, text, re.M)
    t = get_target(target)
    assert re.search(r"flash: Memory\.MappedMemory @ sysbus 0x0*%X\n\s+size: 0x%X"
                     % (t.flash_base, t.flash_bytes), text)
    assert re.search(r"Memory\.MappedMemory @ sysbus 0x20000000\n\s+size: 0x%X" % t.sram_bytes,
                     text)
    assert f"PerformanceInMips: {t.clock_hz // 1_000_000}" in text
    assert board.renode_uart == "sysbus.uart"


def test_run_script_and_robot_test():
    s = run_script(Path("/a/fw.elf"), Path("/b/p.repl"), Path("/c/u.txt"))
    assert s.splitlines() == ["$elf=@/a/fw.elf", "$platform=@/b/p.repl", "$uart_out=@/c/u.txt",
                              f"include @{renode_dir() / 'run.resc'}"]
    resc = (renode_dir() / "run.resc").read_text()
    for line in ("machine LoadPlatformDescription $platform", "sysbus LoadELF $elf",
                 "sysbus.uart CreateFileBackend $uart_out true", "start"):
        assert line in resc
    robot = (renode_dir() / "tests" / "training_step.robot").read_text()
    for needle in ("Create Terminal Tester", "Start Emulation", "Wait For Line On Uart",
                   "TB:END status=", "status=ok", "${RENODEKEYWORDS}", "sysbus LoadELF @${elf}"):
        assert needle in robot


def test_parse_monitor_number():
    out = "(m) sysbus.cpu ExecutedInstructions\n123456\n(m) sysbus.cpu PC\n0x8000F12\n(m) quit\n"
    assert parse_monitor_number(out, "ExecutedInstructions") == 123456
    assert parse_monitor_number(out, "sysbus.cpu PC") == 0x8000F12
    assert parse_monitor_number("nothing", "ExecutedInstructions") is None


@pytest.fixture
def fake_renode(tmp_path):
    wrapper = tmp_path / "renode"
    fake = Path(__file__).with_name("fake_renode.py")
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {fake} \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_backend_plumbing_with_a_stand_in(firmware, fake_renode, target):
    """Process control, script, UART file and monitor parsing, against fake_renode.py."""
    fw = firmware("det", target, "native", TB_STEPS=2)
    b = RenodeBackend(renode=fake_renode)
    assert b.available()[0] and "fake" in b.version()
    r = b.run(fw.elf, target, timeout_s=60)
    assert r.status == "ok", r.reason + r.extra.get("monitor_output", "")
    assert r.board == get_target(target).native_board
    assert r.report.checksum is not None and len(r.report.steps) == 2
    iss = get_backend("iss").run(fw.elf, target)
    assert r.instructions == iss.instructions


def test_backend_hang_with_a_stand_in(firmware, fake_renode):
    fw = firmware("hang", "stm32f746", "native")
    r = RenodeBackend(renode=fake_renode).run(fw.elf, "stm32f746", timeout_s=3)
    assert r.status == "hang" and r.fault_function == "tb_hang_forever"


def test_backend_refuses_qemu_board_elf(firmware, fake_renode):
    fw = firmware("det", "stm32f746", "qemu", TB_STEPS=1)
    r = RenodeBackend(renode=fake_renode).run(fw.elf, "stm32f746")
    assert r.status == "unavailable" and "stm32f746-disco" in r.reason


# --- with a real Renode -----------------------------------------------------------------


@needs_renode
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_real_renode_runs_the_training_step(firmware, target):
    fw = firmware("det", target, "native", TB_STEPS=2)
    r = get_backend("renode").run(fw.elf, target, timeout_s=120)
    assert r.status == "ok", r.reason
    iss = get_backend("iss").run(fw.elf, target)
    assert r.report.checksum == iss.report.checksum
    assert r.report.cyccnt_available  # the platforms declare a DWT
    assert r.instructions is not None


@needs_renode
def test_real_renode_reports_a_fault(firmware):
    fw = firmware("fault", "stm32f746", "native", TB_FAULT_KIND=1)
    r = get_backend("renode").run(fw.elf, "stm32f746", timeout_s=120)
    assert r.status == "fault" and r.fault_function == "tb_fault_bad_read"


@pytest.mark.skipif(shutil.which("renode-test") is None,
                    reason=f"renode-test not on PATH: {INSTALL_HINT}")
def test_robot_suite(firmware, tmp_path):
    fw = firmware("det", "stm32f746", "native", TB_STEPS=1)
    bad = firmware("fault", "stm32f746", "native", TB_FAULT_KIND=1)
    cmd = ["renode-test", str(renode_dir() / "tests" / "training_step.robot"),
           "--variable", f"ELF:{fw.elf}", "--variable", f"FAULT_ELF:{bad.elf}",
           "--variable", f"PLATFORM:{renode_dir() / 'platforms' / 'stm32f746.repl'}",
           "--results-dir", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
