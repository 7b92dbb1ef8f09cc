"""``renode``: Renode on tinybench's own self-contained platforms (``renode/platforms``).

Renode is not installable from the package registries these machines reach; when ``renode``
is not on PATH the backend reports itself unavailable (install it from
https://github.com/renode/renode/releases: the portable Linux package or the .deb).

A run writes a small script that sets ``$elf``, ``$platform`` and ``$uart_out`` and includes
``renode/run.resc``, starts ``renode --console --disable-xwt --plain -e 'include @script'``,
waits until the UART file holds a ``TB:END status=`` line (the firmware then sleeps in WFI),
then types ``sysbus.cpu ExecutedInstructions``, ``sysbus.cpu PC`` and ``quit`` into the
monitor. Renode has no cycle model: its DWT counts instructions scaled by frequency / MIPS,
which tinybench's platforms set equal, so harness cycles are instruction counts there.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tinybench.codegen.targets import Board, Target, get_board, get_target
from tinybench.emulate.base import (
    DEFAULT_INSTRUCTION_BUDGET,
    DEFAULT_TIMEOUT_S,
    ExternalBackend,
    RunResult,
    fill_fault_location,
    register_backend,
    status_from_report,
)
from tinybench.emulate.results import parse_uart
from tinybench.paths import data_dir

RENODE_EXE = "renode"
INSTALL_HINT = ("install Renode from https://github.com/renode/renode/releases (portable "
                "Linux .tar.gz, or the .deb) and put `renode` on PATH; it is not on PyPI or "
                "in Debian")


def renode_dir() -> Path:
    """The ``renode/`` folder shipped with tinybench (see :mod:`tinybench.paths`)."""
    return data_dir("renode")


def run_script(elf: Path, platform: Path, uart_out: Path) -> str:
    """The per-run script: variables, then ``include`` of renode/run.resc."""
    return (f"$elf=@{elf}\n"
            f"$platform=@{platform}\n"
            f"$uart_out=@{uart_out}\n"
            f"include @{renode_dir() / 'run.resc'}\n")


def parse_monitor_number(output: str, command: str) -> int | None:
    """The first number printed after the last echo of ``command`` in the monitor output."""
    pos = output.rfind(command)
    if pos < 0:
        return None
    m = re.search(r"\b(0x[0-9a-fA-F]+|\d+)\b", output[pos + len(command):])
    return int(m.group(1), 0) if m else None


@register_backend
class RenodeBackend(ExternalBackend):
    """Renode (``renode`` on PATH), running the ELF built for the target's native board."""

    name = "renode"
    description = ("Renode on tinybench's self-contained platforms (STM32F746, nRF52840): "
                   "exact instruction counts, DWT counting instructions, no cycle model")

    install_hint = INSTALL_HINT
    version_timeout_s = 60.0

    def __init__(self, *, renode: str | None = None, poll_s: float = 0.05):
        super().__init__(renode or os.environ.get("TINYBENCH_RENODE", RENODE_EXE))
        self.poll_s = poll_s

    def supports_board(self, board: Board) -> bool:
        return board.renode_platform is not None

    def default_board(self, target: Target | str) -> Board:
        return get_board(get_target(target).native_board)

    def command(self, script: Path) -> list[str]:
        return [self._exe() or self.program, "--console", "--disable-xwt", "--plain",
                "-e", f"include @{script}"]

    def run(self, elf_path: Path | str, target: Target | str, *,
            instruction_budget: int = DEFAULT_INSTRUCTION_BUDGET,
            timeout_s: float = DEFAULT_TIMEOUT_S) -> RunResult:
        """``instruction_budget`` is not enforced (Renode runs on virtual time); the wall-clock
        ``timeout_s`` bounds the run."""
        elf, target, board, early = self._prepare(elf_path, target)
        if early is not None:
            return early
        platform = renode_dir() / board.renode_platform
        with tempfile.TemporaryDirectory(prefix="tb-renode-") as tmp:
            uart_out = Path(tmp) / "uart.txt"
            script = Path(tmp) / "run.resc"
            script.write_text(run_script(Path(elf_path).resolve(), platform, uart_out))
            cmd = self.command(script)
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, bufsize=1)
            lines: queue.Queue[str] = queue.Queue()
            reader = threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True)
            reader.start()
            ended = False
            while time.perf_counter() - t0 < timeout_s:
                if uart_out.exists() and "TB:END status=" in uart_out.read_text(errors="replace"):
                    ended = True
                    break
                if proc.poll() is not None:
                    break
                time.sleep(self.poll_s)
            wall = time.perf_counter() - t0
            monitor = ""
            if proc.poll() is None:
                try:
                    proc.stdin.write("pause\nsysbus.cpu ExecutedInstructions\n"
                                     "sysbus.cpu PC\nquit\n")
                    proc.stdin.flush()
                except (BrokenPipeError, OSError):
                    pass
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            reader.join(timeout=5)
            while not lines.empty():
                monitor += lines.get()
            uart = uart_out.read_text(errors="replace") if uart_out.exists() else ""

        report = parse_uart(uart)
        insns = parse_monitor_number(monitor, "ExecutedInstructions")
        pc = parse_monitor_number(monitor, "sysbus.cpu PC")
        result = RunResult(
            backend=self.name, status="crash", target=target.name, board=board.name,
            elf=str(elf_path), uart=uart, report=report, wall_time_s=wall,
            instructions=insns, instructions_exact=insns is not None, cycles=None,
            cycles_model=("none: Renode has no cycle model; its DWT counts instructions x "
                          "frequency / PerformanceInMips (= 1 per instruction on tinybench's "
                          "platforms)"),
        )
        result.extra.update({"command": cmd, "exit_code": proc.returncode,
                             "monitor_output": monitor[-4000:], "platform": str(platform),
                             "instruction_budget_enforced": False,
                             "note": "instruction count includes the final WFI halt loop"})
        implied = status_from_report(report)
        if implied is not None:
            result.status, result.reason = implied
        elif not ended and wall >= timeout_s:
            result.status = "hang"
            result.reason = f"wall-clock timeout of {timeout_s} s"
            if pc is not None:
                result.fault_pc = pc
                result.reason += f" at {elf.describe_address(pc)}"
        else:
            result.status = "crash"
            result.reason = (f"renode exited with {proc.returncode} without TB:END: "
                             + " | ".join(monitor.strip().splitlines()[-3:]))
        fill_fault_location(result, elf)
        if result.status == "hang" and result.fault_pc is not None:
            result.fault_function = elf.function_at(result.fault_pc)
        return result


def _pump(stream, out: "queue.Queue[str]") -> None:
    for line in iter(stream.readline, ""):
        out.put(line)
