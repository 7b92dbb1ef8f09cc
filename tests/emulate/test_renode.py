"""Renode support: platform files, scripts, the probe's results, the Robot tests, the backend.

Where Renode is not installed (CI) the tests that need it skip with the reason; the backend's
process handling is then exercised against a stand-in executable (fake_renode.py), which is
clearly not Renode. With Renode on PATH every test here runs against it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinybench.emulate.renode as renode_module
from tinybench.codegen.targets import TARGETS, get_board, get_target
from tinybench.emulate import get_backend
from tinybench.emulate.doctor import doctor_report
from tinybench.emulate.renode import (
    INSTALL_HINT,
    RenodeBackend,
    RenodeProcess,
    check_platforms,
    console_errors,
    log_errors,
    parse_probe_results,
    renode_dir,
    run_script,
)

RENODE = shutil.which("renode")
needs_renode = pytest.mark.skipif(RENODE is None, reason=f"renode not on PATH: {INSTALL_HINT}")
needs_renode_test = pytest.mark.skipif(shutil.which("renode-test") is None,
                                       reason=f"renode-test not on PATH: {INSTALL_HINT}")
ALL_TARGETS = sorted(TARGETS)

# What Renode 1.15.3 printed on its console for the stm32f746.repl that tinybench shipped before
# (copied from a real run).
E15_CONSOLE = """Renode, version 1.15.3.11657 (03756cb5-202612020612)

(monitor) include @/tmp/run.resc
There was an error executing command 'machine LoadPlatformDescription $platform'
Error E15: Ambiguous choice of default interrupt.
There are the following properties of GPIO type available: [IRQ, ReceiveDmaRequest].
At /x/stm32f746.repl:30:5:
    -> nvic@37
    ^
(tinybench) quit
Renode is quitting
"""
BROKEN_UART_IRQ = "    -> nvic@37\n"


def platform_text(target: str) -> str:
    return (renode_dir() / get_board(get_target(target).native_board).renode_platform).read_text()


def test_unavailable_without_renode_says_how_to_install():
    b = RenodeBackend(renode="renode-definitely-not-installed")
    ok, why = b.available()
    assert not ok and "github.com/renode/renode/releases" in why
    assert b.version() is None
    r = b.run("/nonexistent.elf", "stm32f746")
    assert r.status == "unavailable" and r.reason == why


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_platform_files_are_self_contained(target):
    board = get_board(get_target(target).native_board)
    text = platform_text(target)
    code = "\n".join(line.split("//")[0] for line in text.splitlines())
    assert "ApplySVD" not in code and "http" not in code and "using" not in code
    assert re.search(r"^cpu: CPU\.CortexM @ sysbus", text, re.M)
    cpu = "cortex-m7" if target == "stm32f746" else "cortex-m4"
    assert f'cpuType: "{cpu}"' in text
    assert re.search(r"^uart: UART\.\w+ @ sysbus 0x%08X\n(\s+\w+: \S+\n)*\s+IRQ -> nvic@\d+$"
                     % board.uart_base, text, re.M), "the UART interrupt must be named"
    t = get_target(target)
    assert re.search(r"flash: Memory\.MappedMemory @ sysbus 0x0*%X\n\s+size: 0x%X"
                     % (t.flash_base, t.flash_bytes), text)
    assert re.search(r"Memory\.MappedMemory @ sysbus 0x20000000\n\s+size: 0x%X" % t.sram_bytes,
                     text)
    assert f"PerformanceInMips: {t.clock_hz // 1_000_000}" in text
    assert "Miscellaneous.DWT" not in code  # see the platform's comment
    assert board.renode_uart == "sysbus.uart"


def _common_block(text: str) -> str:
    return text[text.index("// What every tinybench platform adds"):]


def test_platforms_share_the_dwt_tag_and_the_mpu_fault_window():
    blocks = {t: _common_block(platform_text(t)) for t in ALL_TARGETS}
    first = blocks[ALL_TARGETS[0]]
    for target, block in blocks.items():
        assert block.startswith(first), f"{target}: the shared block differs"
    assert 'Tag <0xE0001000, 0xE0001FFF> "DWT' in first
    # region 7: base 0x30000000, 256 MB (SIZE 27), AP no access, XN; MPU on with PRIVDEFENA
    for line in ("WriteDoubleWord 0xE000ED98 7", "WriteDoubleWord 0xE000ED9C 0x30000000",
                 "WriteDoubleWord 0xE000EDA0 0x10000037", "WriteDoubleWord 0xE000ED94 0x5"):
        assert line in first


def test_run_script_and_robot_tests():
    s = run_script(Path("/a/fw.elf"), Path("/b/p.repl"), Path("/c/u.txt"), Path("/d/r.txt"),
                   Path("/e/renode.log"))
    assert s.splitlines() == ["logFile @/e/renode.log", "$elf=@/a/fw.elf", "$platform=@/b/p.repl",
                              "$uart_out=@/c/u.txt", "$results=@/d/r.txt",
                              f"include @{renode_dir() / 'run.resc'}"]
    resc = (renode_dir() / "run.resc").read_text()
    for line in ("$uart_out?=$CWD/", "include $ORIGIN/tinybench_probe.cs",
                 "machine LoadPlatformDescription $platform", "sysbus LoadELF $elf",
                 "sysbus.uart CreateFileBackend $uart_out true",
                 "sysbus.cpu TinybenchProbe $results", "start"):
        assert line in resc
    probe = (renode_dir() / "tinybench_probe.cs").read_text()
    for needle in ('"tb_mark"', '"tb_end"', "ExecutedInstructions", "TinybenchSnapshot"):
        assert needle in probe
    robot = (renode_dir() / "tests" / "training_step.robot").read_text()
    for needle in ("Create Terminal Tester", "Start Emulation", "Wait For Line On Uart",
                   "^TB:(FAULT|ERROR|CHECKSUM|END) ", "TB:END status=ok", "${RENODEKEYWORDS}",
                   "platforms/${TARGET}.repl"):
        assert needle in robot


def _probe_file(marks, end, state, pc, instructions) -> str:
    """The format renode/tinybench_probe.cs writes."""
    lines = ["tinybench-probe 1"] + [f"mark {e} {n}" for e, n in marks]
    if end is not None:
        lines.append(f"end {end[0]} {end[1]}")
    lines.append(f"state {state} pc=0x{pc:X} instructions={instructions}")
    return "\n".join(lines) + "\n"


u64 = st.integers(0, 2**64 - 1)


@given(marks=st.lists(st.tuples(st.integers(0, 2**32 - 1), u64), max_size=50),
       end=st.none() | st.tuples(st.integers(0, 2), u64), pc=st.integers(0, 2**32 - 1),
       instructions=u64)
def test_probe_results_round_trip(marks, end, pc, instructions):
    state = "running" if end is None else "ended"
    r = parse_probe_results(_probe_file(marks, end, state, pc, instructions))
    assert r.marks == marks and r.ended == (end is not None)
    assert (r.end_status, r.end_instructions) == (end if end else (None, None))
    assert (r.pc, r.instructions) == (pc, instructions)


@pytest.mark.parametrize("text, message", [
    ("", "do not start with"),
    ("tinybench-probe 2\nstate ended pc=0x0 instructions=1\n", "do not start with"),
    ("tinybench-probe 1\nmark 1 2\n", "no state line"),
    ("tinybench-probe 1\nmark 1\nstate ended pc=0x0 instructions=1\n", "line 2"),
])
def test_probe_results_that_do_not_fit_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_probe_results(text)


def test_console_errors_keep_renodes_message_and_nothing_else():
    errors = console_errors(E15_CONSOLE)
    assert errors[0] == "There was an error executing command 'machine LoadPlatformDescription " \
                        "$platform'"
    assert "Error E15: Ambiguous choice of default interrupt." in errors
    assert "-> nvic@37" in errors and "(tinybench) quit" not in errors
    assert console_errors("(monitor) include @x\nStarting emulation...\n(tinybench) quit\n") == []
    compile_error = ("(monitor) include @x\nErrors during compilation or loading:\n"
                     "There were compilation errors:\nprobe.cs(45,20): error CS1061: ...\n")
    assert console_errors(compile_error)[0] == "Errors during compilation or loading:"


def test_log_errors():
    log = ("06:31:50.5520 [INFO] tinybench: Machine started.\n"
           "06:31:50.7225 [WARNING] nvic: Unhandled read from offset 0xDFC.\n"
           "06:31:51.0000 [ERROR] cpu: CPU abort [PC=0x0]: Trying to execute code outside RAM\n")
    assert log_errors(log) == ["06:31:51.0000 [ERROR] cpu: CPU abort [PC=0x0]: Trying to "
                               "execute code outside RAM"]


# --- the backend's plumbing, against a stand-in ---------------------------------------------


@pytest.fixture
def fake_renode(tmp_path):
    wrapper = tmp_path / "renode"
    fake = Path(__file__).with_name("fake_renode.py")
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {fake} \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.fixture
def broken_renode_dir(tmp_path, monkeypatch):
    """A copy of renode/ whose stm32f746 platform has the unnamed UART interrupt that Renode
    1.15 refuses (E15), marked for the stand-in to fail the same way."""
    copy = tmp_path / "renode-broken"
    shutil.copytree(renode_dir(), copy)
    repl = copy / "platforms" / "stm32f746.repl"
    repl.write_text(repl.read_text().replace("    IRQ -> nvic@37\n", BROKEN_UART_IRQ)
                    + "// fake-renode: fail\n")
    monkeypatch.setattr(renode_module, "renode_dir", lambda: copy)
    return copy


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_backend_plumbing_with_a_stand_in(firmware, fake_renode, target):
    """Process control, script, UART and results files, against fake_renode.py."""
    fw = firmware("det", target, "native", TB_STEPS=2)
    b = RenodeBackend(renode=fake_renode)
    assert b.available()[0] and "fake" in b.version()
    r = b.run(fw.elf, target, timeout_s=60)
    assert r.status == "ok", r.reason + r.extra.get("console", "")
    assert r.board == get_target(target).native_board
    assert r.report.checksum is not None and len(r.report.steps) == 2
    assert r.instructions is not None and r.instructions_exact and r.cycles is None
    assert len(r.counted_steps()) == 2  # the markers the stand-in wrote reach the result


def test_backend_hang_with_a_stand_in(firmware, fake_renode):
    fw = firmware("hang", "stm32f746", "native")
    r = RenodeBackend(renode=fake_renode).run(fw.elf, "stm32f746", timeout_s=3)
    assert r.status == "hang" and r.fault_function == "tb_hang_forever"


def test_backend_refuses_qemu_board_elf(firmware, fake_renode):
    fw = firmware("det", "stm32f746", "qemu", TB_STEPS=1)
    r = RenodeBackend(renode=fake_renode).run(fw.elf, "stm32f746")
    assert r.status == "unavailable" and "stm32f746-disco" in r.reason


def test_monitor_error_ends_the_run_at_once_with_a_stand_in(firmware, fake_renode,
                                                            broken_renode_dir):
    fw = firmware("det", "stm32f746", "native", TB_STEPS=1)
    r = RenodeBackend(renode=fake_renode).run(fw.elf, "stm32f746", timeout_s=60)
    assert r.status == "crash" and "Error E15: Ambiguous choice" in r.reason
    assert r.wall_time_s < 30


# --- with a real Renode ---------------------------------------------------------------------


@needs_renode
def test_real_renode_loads_every_platform_and_doctor_says_so():
    assert check_platforms(RENODE) == {t: None for t in ALL_TARGETS}
    by_name = {e["name"]: e for e in doctor_report(build_qemu_plugin=False)}
    assert by_name["renode"]["version"].startswith("Renode v1.")
    assert by_name["renode-platforms"]["present"]
    assert by_name["renode-platforms"]["detail"] == "; ".join(f"{t}: loads" for t in ALL_TARGETS)


@needs_renode
def test_real_renode_broken_platform_fails_at_once_with_renodes_message(firmware,
                                                                       broken_renode_dir):
    fw = firmware("det", "stm32f746", "native", TB_STEPS=1)
    r = get_backend("renode").run(fw.elf, "stm32f746", timeout_s=120)
    assert r.status == "crash" and "Error E15: Ambiguous choice" in r.reason
    assert r.wall_time_s < 30
    assert "stm32f746: does not load" in " ".join(
        e["detail"] for e in doctor_report(build_qemu_plugin=False)
        if e["name"] == "renode-platforms")


@needs_renode
@pytest.mark.parametrize("target", ALL_TARGETS)
def test_real_renode_runs_the_training_step(firmware, target):
    fw = firmware("det", target, "native", TB_STEPS=2)
    r = get_backend("renode").run(fw.elf, target, timeout_s=120)
    assert r.status == "ok", r.reason
    iss = get_backend("iss").run(fw.elf, target)
    assert r.report.checksum == iss.report.checksum
    assert not r.report.cyccnt_available  # no DWT: Renode has no cycle model
    assert r.cycles is None and r.cycles_model.startswith("none")
    assert r.instructions is not None and r.instructions_exact
    # per step and per op: the instructions between the same tb_mark events, to the instruction
    steps, ref = r.counted_steps(), iss.counted_steps()
    assert len(steps) == 2 and sorted(steps[0].ops) == [0, 1, 2]
    assert [(s.total.instructions, {i: o.instructions for i, o in s.ops.items()}) for s in steps] \
        == [(s.total.instructions, {i: o.instructions for i, o in s.ops.items()}) for s in ref]
    assert all(o.cycles is None for s in steps for o in s.ops.values())


@needs_renode
@pytest.mark.parametrize("target", ALL_TARGETS)
def test_real_renode_unmapped_read_is_a_fault_at_once(firmware, target):
    fw = firmware("fault", target, "native", TB_FAULT_KIND=1)
    r = get_backend("renode").run(fw.elf, target, timeout_s=120)
    assert r.status == "fault", r.reason
    assert r.fault_function == "tb_fault_bad_read" and r.fault_address == 0x3000_0000
    assert r.report.fault["type"] == "MemManage" and r.report.fault["cause"] == "daccviol"
    assert r.report.steps == [] and r.report.checksum is None
    assert r.wall_time_s < 30


@needs_renode
@pytest.mark.parametrize("target", ALL_TARGETS)
def test_real_renode_undefined_instruction_is_a_fault(firmware, target):
    fw = firmware("fault", target, "native", TB_FAULT_KIND=2)
    r = get_backend("renode").run(fw.elf, target, timeout_s=120)
    assert r.status == "fault", r.reason
    assert r.fault_function == "tb_fault_undefined" and r.fault_address is None
    assert r.report.fault["type"] == "UsageFault" and r.report.fault["cause"] == "undefinstr"


@needs_renode
def test_real_run_resc_defaults_to_the_working_folder(firmware, tmp_path):
    """Without variables, run.resc runs ./fw.elf on the stm32f746 platform and writes
    ./tinybench_uart.txt and ./tinybench_results.txt in the folder Renode was started in, not
    in Renode's own."""
    fw = firmware("det", "stm32f746", "native", TB_STEPS=1)
    shutil.copy(fw.elf, tmp_path / "fw.elf")
    script = tmp_path / "script.resc"
    script.write_text(f"include @{renode_dir() / 'run.resc'}\n")
    renode = RenodeProcess(RENODE, script, tmp_path / "renode.log")
    uart, results = tmp_path / "tinybench_uart.txt", tmp_path / "tinybench_results.txt"
    deadline = time.monotonic() + 120
    while not (uart.exists() and "TB:END status=ok" in uart.read_text()) and \
            not renode.errors() and time.monotonic() < deadline:
        time.sleep(0.1)
    renode.close()
    assert renode.errors() == []
    assert "TB:END status=ok" in uart.read_text()
    assert parse_probe_results(results.read_text()).ended


@needs_renode
def test_real_renode_hang_times_out_where_it_hangs(firmware):
    fw = firmware("hang", "nrf52840", "native")
    r = get_backend("renode").run(fw.elf, "nrf52840", timeout_s=20)
    assert r.status == "hang" and "timeout" in r.reason
    assert r.fault_function == "tb_hang_forever"


@needs_renode_test
@pytest.mark.parametrize("target", ALL_TARGETS)
def test_robot_suites(firmware, tmp_path, target):
    fw = firmware("det", target, "native", TB_STEPS=1)
    bad = firmware("fault", target, "native", TB_FAULT_KIND=1)
    iss = get_backend("iss").run(fw.elf, target)
    suites = sorted(str(p) for p in (renode_dir() / "tests").glob("*.robot"))
    cmd = ["renode-test", *suites, "--variable", f"TARGET:{target}",
           "--variable", f"ELF:{fw.elf}", "--variable", f"FAULT_ELF:{bad.elf}",
           "--variable", f"CHECKSUM:0x{iss.report.checksum:08x}",
           "--results-dir", str(tmp_path)]
    # renode-test's Renode leaves its $TMPDIR/renode-<pid> folder behind: keep it in tmp_path
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    fault_test = re.search(r"Finished test '[\w.]*Faulting Firmware Should Fail Fast' in "
                           r"([\d.]+) seconds with status \S*OK", proc.stdout)
    assert fault_test and float(fault_test.group(1)) < 10, proc.stdout[-3000:]


def test_a_failure_while_renode_runs_ends_its_whole_group(firmware, fake_renode, monkeypatch):
    """Renode runs in a process group of its own (mono and what it starts): an exception
    while it runs (Ctrl-C stands for any) ends every process of the group."""
    fw = firmware("hang", "stm32f746", "native")
    started: list[int] = []

    def interrupted(self, renode, *args):
        started.append(renode.proc.pid)
        assert os.getpgid(renode.proc.pid) == renode.proc.pid != os.getpgid(0)
        raise KeyboardInterrupt

    monkeypatch.setattr(RenodeBackend, "_wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        RenodeBackend(renode=fake_renode).run(fw.elf, "stm32f746", timeout_s=60)
    with pytest.raises(ProcessLookupError):
        os.killpg(started[0], 0)  # no process of the group is left
