"""``renode``: Renode on tinybench's own self-contained platforms (``renode/platforms``).

Renode is not installable from the package registries these machines reach; when ``renode``
is not on PATH the backend reports itself unavailable (install it from
https://github.com/renode/renode/releases: the portable Linux package or the .deb).

How a run is driven, so that Renode's logging cannot corrupt a result: a per-run script sets
``$elf``, ``$platform``, ``$uart_out`` and ``$results``, routes Renode's log to a file and
includes ``renode/run.resc``. That script compiles ``renode/tinybench_probe.cs`` (a Renode
extension), loads the platform and the ELF, sends the UART to a file and attaches the probe,
which writes the measurements to the results file itself: the instructions executed before the
first instruction of ``tb_mark`` at every marker event and before ``tb_end``. Renode runs with
``--hide-log``, so its console carries only monitor answers, which are never parsed for numbers:
the console and the log are watched only for errors, so that a platform that does not load or
a command that fails ends the run at once with Renode's own message.

Renode has no cycle model (virtual time is instructions / PerformanceInMips) and its 1.15 DWT
does not count between nearby reads, so tinybench's platforms have no DWT: the harness reports
``cyccnt=absent`` and the result has no cycles. Reads of unmapped memory return 0 in Renode;
the platforms make the window 0x30000000-0x3FFFFFFF fault through an MPU region instead.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tinybench.codegen.targets import TARGETS, Board, Target, get_board, get_target
from tinybench.emulate.base import (
    DEFAULT_INSTRUCTION_BUDGET,
    DEFAULT_TIMEOUT_S,
    ExternalBackend,
    RunResult,
    fill_fault_location,
    register_backend,
    status_from_report,
)
from tinybench.emulate.elfinfo import ElfInfo
from tinybench.emulate.results import Marker, parse_uart
from tinybench.external import end_process_group, kill_process_group
from tinybench.paths import data_dir

RENODE_EXE = "renode"
INSTALL_HINT = ("install Renode from https://github.com/renode/renode/releases (portable "
                "Linux .tar.gz, or the .deb) and put `renode` on PATH; it is not on PyPI or "
                "in Debian")
PROBE_HEADER = "tinybench-probe 1"
CYCLES_MODEL = ("none: Renode has no cycle model (virtual time = instructions / "
                "PerformanceInMips) and tinybench's platforms have no DWT")

# How Renode 1.15 reports a failed command on its console (measured): "There was an error
# executing command '<command>'" and the message on the lines after it (e.g. "Error E15: ..."),
# or "Errors during compilation or loading:" and the compiler's messages, up to the next prompt.
# In its log an error is a line with "[ERROR]".
_CONSOLE_ERROR = re.compile(r"^(There was an error executing command|Errors during compilation "
                            r"or loading)")
_PROMPT = re.compile(r"^\([\w-]+\) ")
_LOG_ERROR = re.compile(r"\[ERROR\]")
_MAX_ERROR_LINES = 8


def renode_dir() -> Path:
    """The ``renode/`` folder shipped with tinybench (see :mod:`tinybench.paths`)."""
    return data_dir("renode")


def platform_path(board: Board) -> Path:
    return renode_dir() / board.renode_platform


def run_script(elf: Path, platform: Path, uart_out: Path, results: Path, log: Path) -> str:
    """The per-run script: the log to a file, the variables, then renode/run.resc."""
    return (f"logFile @{log}\n"
            f"$elf=@{elf}\n"
            f"$platform=@{platform}\n"
            f"$uart_out=@{uart_out}\n"
            f"$results=@{results}\n"
            f"include @{renode_dir() / 'run.resc'}\n")


@dataclass
class ProbeResults:
    """What renode/tinybench_probe.cs wrote: (event, instructions before tb_mark) per marker
    call, the tb_end status and count if the firmware got there, and where the CPU was."""

    marks: list[tuple[int, int]] = field(default_factory=list)
    end_status: int | None = None
    end_instructions: int | None = None
    state: str = "running"
    pc: int | None = None
    instructions: int | None = None

    @property
    def ended(self) -> bool:
        return self.state == "ended"


_MARK = re.compile(r"^mark (\d+) (\d+)$")
_END = re.compile(r"^end (\d+) (\d+)$")
_STATE = re.compile(r"^state (ended|running) pc=0x([0-9A-Fa-f]+) instructions=(\d+)$")


def parse_probe_results(text: str) -> ProbeResults:
    """Parse the probe's results file; ValueError names the first line that does not fit."""
    lines = text.splitlines()
    if not lines or lines[0] != PROBE_HEADER:
        raise ValueError(f"probe results do not start with {PROBE_HEADER!r}: "
                         f"{lines[0] if lines else '(empty)'!r}")
    res = ProbeResults()
    state_seen = False
    for n, line in enumerate(lines[1:], start=2):
        if m := _MARK.match(line):
            res.marks.append((int(m.group(1)), int(m.group(2))))
        elif m := _END.match(line):
            res.end_status, res.end_instructions = int(m.group(1)), int(m.group(2))
        elif m := _STATE.match(line):
            res.state, res.pc, res.instructions = m.group(1), int(m.group(2), 16), \
                int(m.group(3))
            state_seen = True
        else:
            raise ValueError(f"probe results line {n} not understood: {line!r}")
    if not state_seen:
        raise ValueError("probe results have no state line (file cut short)")
    return res


def console_errors(console: str) -> list[str]:
    """Renode's own words for every failed monitor command on its console: the error line
    and the message lines after it, up to the next prompt."""
    found: list[str] = []
    taking = 0
    for line in console.splitlines():
        if _CONSOLE_ERROR.match(line):
            taking = _MAX_ERROR_LINES
        elif _PROMPT.match(line):
            taking = 0
        if taking and line.strip():
            found.append(line.strip())
            taking -= 1
    return found


def log_errors(log: str) -> list[str]:
    """The ``[ERROR]`` lines of Renode's log."""
    return [line.strip() for line in log.splitlines() if _LOG_ERROR.search(line)]


class RenodeProcess:
    """One ``renode`` process running a monitor script headless, its console collected by a
    thread, its log in a file; ``errors()`` is what either says went wrong so far.

    Renode (mono and whatever it starts) runs in a process group of its own; used as a
    context manager, the group is ended however the block is left (an exception, Ctrl-C,
    SIGTERM), so no emulator outlives the command."""

    def __init__(self, exe: str, script: Path, log: Path):
        self.log = log
        self.command = [exe, "--console", "--disable-xwt", "--plain", "--hide-log",
                        "-e", f"include @{script}"]
        # Renode deletes unknown $TMPDIR/renode-* folders at start: give it a TMPDIR of its own
        env = dict(os.environ, TMPDIR=str(script.parent))
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1, env=env,
                                     cwd=script.parent, process_group=0)
        self._lines: queue.Queue[str] = queue.Queue()
        self._console: list[str] = []
        self._reader = threading.Thread(target=_pump, args=(self.proc.stdout, self._lines),
                                        daemon=True)
        self._reader.start()

    def __enter__(self) -> RenodeProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        kill_process_group(self.proc)
        self._reader.join(timeout=5)  # the console to its end before its pipe is closed
        end_process_group(self.proc)

    @property
    def console(self) -> str:
        while not self._lines.empty():
            self._console.append(self._lines.get())
        return "".join(self._console)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def errors(self) -> list[str]:
        return console_errors(self.console) + log_errors(self.log_text())

    def send(self, *commands: str) -> None:
        try:
            self.proc.stdin.write("".join(c + "\n" for c in commands))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def close(self, commands: tuple[str, ...] = ("quit",), timeout_s: float = 30.0) -> int:
        """Type ``commands`` (by default ``quit``), wait for the exit, kill if it hangs."""
        if self.proc.poll() is None:
            self.send(*commands)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                kill_process_group(self.proc)
        self._reader.join(timeout=5)
        return self.proc.returncode


@register_backend
class RenodeBackend(ExternalBackend):
    """Renode (``renode`` on PATH), running the ELF built for the target's native board."""

    name = "renode"
    description = ("Renode on tinybench's self-contained platforms (STM32F746, nRF52840): "
                   "exact instruction counts and per-marker counts from a probe, no cycle "
                   "model")

    install_hint = INSTALL_HINT
    version_timeout_s = 60.0

    def __init__(self, *, renode: str | None = None, poll_s: float = 0.05):
        super().__init__(renode or os.environ.get("TINYBENCH_RENODE", RENODE_EXE))
        self.poll_s = poll_s

    def supports_board(self, board: Board) -> bool:
        return board.renode_platform is not None

    def default_board(self, target: Target | str) -> Board:
        return get_board(get_target(target).native_board)

    def version(self) -> str | None:
        """``Renode v1.15.3.11657 (build: 03756cb5-..., /path/to/renode)``: Renode prints its
        commit on the line after the version."""
        exe = self._exe()
        if exe is None:
            return None
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 timeout=self.version_timeout_s).stdout
        except (OSError, subprocess.TimeoutExpired):
            return None
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        if not lines:
            return None
        build = [line for line in lines[1:] if line.startswith("build:")]
        return f"{lines[0]} ({', '.join(build + [exe])})"

    def run(self, elf_path: Path | str, target: Target | str, *,
            instruction_budget: int = DEFAULT_INSTRUCTION_BUDGET,
            timeout_s: float = DEFAULT_TIMEOUT_S) -> RunResult:
        """``instruction_budget`` is not enforced (Renode runs on virtual time); the wall-clock
        ``timeout_s`` bounds the run."""
        elf, target, board, early = self._prepare(elf_path, target)
        if early is not None:
            return early
        platform = platform_path(board)
        with tempfile.TemporaryDirectory(prefix="tb-renode-") as tmp:
            tmpdir = Path(tmp)
            uart_out, results_file = tmpdir / "uart.txt", tmpdir / "results.txt"
            script, log = tmpdir / "run.resc", tmpdir / "renode.log"
            script.write_text(run_script(Path(elf_path).resolve(), platform, uart_out,
                                         results_file, log))
            t0 = time.perf_counter()
            with RenodeProcess(self._exe() or self.program, script, log) as renode:
                outcome, errors = self._wait(renode, uart_out, results_file, t0, timeout_s)
                wall = time.perf_counter() - t0
                if outcome == "timeout":
                    renode.close(("pause", "sysbus.cpu TinybenchSnapshot", "quit"))
                else:
                    renode.close()
            uart = uart_out.read_text(errors="replace") if uart_out.exists() else ""
            results_text = results_file.read_text() if results_file.exists() else ""
            console, log_text = renode.console, renode.log_text()

        report = parse_uart(uart)
        result = RunResult(backend=self.name, status="crash", target=target.name,
                           board=board.name, elf=str(elf_path), uart=uart, report=report,
                           wall_time_s=wall, cycles=None, cycles_model=CYCLES_MODEL)
        result.extra.update({"command": renode.command, "exit_code": renode.proc.returncode,
                             "console": console[-4000:], "log": log_text[-4000:],
                             "platform": str(platform), "instruction_budget_enforced": False,
                             "instructions_counted_to": "the first instruction of tb_end"})
        probe = None
        if results_text:
            try:
                probe = parse_probe_results(results_text)
            except ValueError as e:
                outcome, errors = "error", errors + [f"unreadable probe results: {e}"]
        if probe is not None:
            result.markers = [Marker(event, n) for event, n in probe.marks]
            if probe.end_instructions is not None:
                result.instructions = probe.end_instructions
                result.instructions_exact = True
        self._set_status(result, outcome, errors, probe, timeout_s, elf)
        return result

    def _wait(self, renode: RenodeProcess, uart_out: Path, results_file: Path, t0: float,
              timeout_s: float) -> tuple[str, list[str]]:
        """Poll until the firmware ended (``ended``), Renode reported an error or exited
        (``error``), or the wall-clock limit (``timeout``)."""
        while True:
            if renode.errors():
                time.sleep(0.2)  # the rest of a message that was being written
                return "error", renode.errors()
            if _has_end(uart_out) and _probe_ended(results_file):
                return "ended", []
            if renode.proc.poll() is not None:
                return "error", [f"renode exited with code {renode.proc.returncode} before "
                                 "the firmware ended"]
            if time.perf_counter() - t0 >= timeout_s:
                return "timeout", []
            time.sleep(self.poll_s)

    @staticmethod
    def _set_status(result: RunResult, outcome: str, errors: list[str],
                    probe: ProbeResults | None, timeout_s: float, elf: ElfInfo) -> None:
        implied = status_from_report(result.report)
        if outcome == "error":
            result.status = "crash"
            result.reason = "renode: " + " | ".join(errors[:6])
        elif implied is not None:
            result.status, result.reason = implied
        elif outcome == "timeout":
            result.status = "hang"
            result.reason = f"wall-clock timeout of {timeout_s} s"
            if probe is not None:
                result.fault_pc = probe.pc
                result.fault_function = elf.function_at(probe.pc)
                result.reason += f" at {elf.describe_address(probe.pc)}"
            else:
                result.reason += " before Renode had started the firmware"
        else:  # _wait saw "TB:END status=" but the parser did not understand the record
            result.reason = "the UART's TB:END line was not understood: " + \
                " | ".join(result.report.malformed[-3:])
        fill_fault_location(result, elf)


def _has_end(uart_out: Path) -> bool:
    return uart_out.exists() and "TB:END status=" in uart_out.read_text(errors="replace")


def _probe_ended(results_file: Path) -> bool:
    if not results_file.exists():
        return False
    try:
        return "\nstate ended " in results_file.read_text()
    except OSError:  # replaced while being read
        return False


def _pump(stream, out: "queue.Queue[str]") -> None:
    for line in iter(stream.readline, ""):
        out.put(line)


def load_platform(exe: str, platform: Path, timeout_s: float = 120.0) -> str | None:
    """Load one platform description in a fresh Renode: None if it loaded, else Renode's
    error. It loaded only if the monitor went on to the script's final ``quit``: Renode stops
    a script at its first failed command."""
    with tempfile.TemporaryDirectory(prefix="tb-renode-check-") as tmp:
        script, log = Path(tmp) / "check.resc", Path(tmp) / "renode.log"
        script.write_text(f"logFile @{log}\nmach create \"check\"\n"
                          f"machine LoadPlatformDescription @{platform}\nquit\n")
        with RenodeProcess(exe, script, log) as renode:
            t0 = time.perf_counter()
            while renode.proc.poll() is None and not renode.errors() and \
                    time.perf_counter() - t0 < timeout_s:
                time.sleep(0.05)
            time.sleep(0.2)  # the rest of a message that was being written
            errors = renode.errors()
            code = renode.close()
    if errors:
        return " | ".join(errors)
    if code != 0:
        return f"renode exited with code {code} before loading it"
    return None


def check_platforms(exe: str) -> dict[str, str | None]:
    """{target: None if its platform loads on this Renode, else Renode's error}."""
    return {name: load_platform(exe, platform_path(get_board(get_target(name).native_board)))
            for name in sorted(TARGETS)}
