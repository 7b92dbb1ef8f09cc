"""No emulator process and no temporary folder outlives a command: QEMU runs in its own
process group and is ended on every way out (a result, an exception after it started,
Ctrl-C, SIGTERM); ``tinybench run`` removes its work folder unless asked to keep it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tinybench.external import process_group

QEMU_COMM = "qemu-system-arm"[:15]  # /proc/<pid>/stat keeps 15 characters of the name


def processes() -> dict[int, tuple[str, int, int]]:
    """pid -> (name, parent pid, process group) of every process, from /proc."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1: stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z":  # a zombie has ended already
                out[int(entry.name)] = (name, int(fields[1]), int(fields[2]))
    return out


def children(parent: int, name: str = QEMU_COMM) -> list[int]:
    return [pid for pid, (comm, ppid, _) in processes().items() if ppid == parent and comm == name]


def alive(pid: int) -> bool:
    return pid in processes()


def test_a_group_is_ended_when_its_block_raises():
    with pytest.raises(RuntimeError):
        with process_group(["sleep", "600"]) as proc:
            assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)  # a group of its own
            raise RuntimeError("a failure after the program started")
    assert proc.returncode == -signal.SIGKILL and not alive(proc.pid)


def test_qemu_is_ended_by_a_failure_after_it_started(firmware, backend):
    """A wall-clock limit of nan makes communicate() raise once QEMU runs (it is refused by
    the command line; here it stands for any exception while QEMU runs)."""
    fw = firmware("hang", "stm32f746", "qemu")
    with pytest.raises(ValueError):
        backend("qemu").run(fw.elf, "stm32f746", timeout_s=float("nan"))
    assert children(os.getpid()) == []


DRIVER = textwrap.dedent("""
    # tinybench run, with the hang test program in place of the training step
    import signal
    import sys
    # Ctrl-C as from a terminal: a suite started in the background (`cmd &` in a script)
    # hands its children SIGINT ignored, and Python keeps an ignored SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from tinybench.bench import cell
    from tinybench.codegen.build import build_test_firmware

    def hanging_build(plan, image, label, target, board, out_dir, **kwargs):
        return None, build_test_firmware("hang", target, board, out_dir=out_dir)

    cell.build_training_firmware = hanging_build
    from tinybench.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("signum, code, message", [
    (signal.SIGINT, 130, "tinybench run: interrupted: stopped by Ctrl-C (SIGINT)"),
    (signal.SIGTERM, 143, "tinybench run: interrupted: stopped by SIGTERM"),
])
def test_a_signal_to_tinybench_run_ends_qemu_and_removes_the_work_folder(tmp_path, backend, signum, code, message):
    backend("qemu")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, str(driver), "run", "--model", "mbv2-w0.35", "--scheme", "bias-only", "--target",
         "stm32f746", "--emulator", "qemu", "--steps", "1", "--timeout", "600"],
        env=dict(os.environ, TMPDIR=str(tmp)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (qemu := children(proc.pid)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "QEMU did not start"
            time.sleep(0.2)
        assert any(p.name.startswith("tinybench-") for p in tmp.iterdir())  # the work folder exists now
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code
    assert err.strip() == message  # one line, no traceback
    assert not alive(qemu[0])
    assert list(tmp.iterdir()) == []
