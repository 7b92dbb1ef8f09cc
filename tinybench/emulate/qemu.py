"""``qemu``: qemu-system-arm on the MPS2 boards, with an exact instruction-counting plugin.

Command::

    qemu-system-arm -M mps2-an500|mps2-an386 -nographic -monitor none -serial stdio
        -semihosting-config enable=on,target=native -kernel fw.elf
        [-plugin libtb_insn_count.so,out=<file> -d plugin]

The plugin (``qemu_plugin/tb_insn_count.c``, TCG plugin API v1 as in QEMU 7.2, with a
hand-written minimal header) is compiled with the host's ``gcc`` into a cache directory on
first use (``python -m tinybench.emulate.doctor`` builds it ahead of time). If it cannot be built or loaded, the run still happens and the result says that
instruction counts are unavailable. QEMU models no DWT: CYCCNT reads 0, the harness prints
``cycles=na`` and ``cycles`` is None. On a timeout QEMU is stopped with SIGTERM, so the
plugin still writes how far the run got (status ``hang``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tinybench.codegen.targets import Board, Target
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
from tinybench.external import process_group
from tinybench.paths import cache_dir

PLUGIN_DIR = Path(__file__).with_name("qemu_plugin")
PLUGIN_SOURCES = ("tb_insn_count.c", "qemu-plugin.h")
QEMU_EXE = "qemu-system-arm"
#: Exit code of QEMU when the plugin stopped the run at the instruction budget.
BUDGET_EXIT_CODE = 3


def plugin_path() -> Path:
    """Where the plugin for the current sources lives (content-addressed)."""
    h = hashlib.sha256()
    for name in PLUGIN_SOURCES:
        h.update((PLUGIN_DIR / name).read_bytes())
    return cache_dir("qemu-plugin") / h.hexdigest()[:16] / "libtb_insn_count.so"


def build_plugin(force: bool = False) -> tuple[Path | None, str]:
    """Compile the plugin with the host gcc if needed: (path or None, message)."""
    out = plugin_path()
    if out.exists() and not force:
        return out, "cached"
    cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
    if cc is None:
        return None, "no host C compiler (gcc) to build the QEMU plugin; apt-get install gcc"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    cmd = [cc, "-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-o", str(tmp),
           str(PLUGIN_DIR / "tb_insn_count.c")]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"building the QEMU plugin failed: {exc}"
    if proc.returncode != 0:
        return None, f"building the QEMU plugin failed:\n{proc.stderr.strip()}"
    os.replace(tmp, out)
    return out, "built"


@dataclass
class PluginOutput:
    """What the counting plugin wrote (see qemu_plugin/tb_insn_count.c)."""

    total: int | None = None
    blocks: list[tuple[int, int, int]] = field(default_factory=list)  # (vaddr, insns, executions)
    markers: list[Marker] = field(default_factory=list)
    budget_at: int | None = None  # vaddr of the block the budget stopped before


def parse_plugin_output(text: str) -> PluginOutput:
    out = PluginOutput()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "insns":
            out.total = int(parts[1])
        elif len(parts) == 3 and parts[0] == "mark":
            out.markers.append(Marker(int(parts[1]), int(parts[2])))
        elif len(parts) == 3 and parts[0] == "budget":
            out.budget_at = int(parts[2], 16)
        elif len(parts) == 4 and parts[0] == "tb":
            out.blocks.append((int(parts[1], 16), int(parts[2]), int(parts[3])))
    return out


def plugin_options(elf: ElfInfo, counts_file: Path, instruction_budget: int | None) -> str:
    """The plugin's option string: output file, the harness's marker symbols, the budget."""
    opts = [f"out={counts_file}"] + ([f"budget={instruction_budget}"] if instruction_budget else [])
    events = elf.event_range()
    if events is not None:
        mark = elf.symbols["tb_mark"]
        opts += [f"mark=0x{mark & ~1:x}", f"mark_size={elf.sizes['tb_mark']}",
                 f"table=0x{events[0]:x}", f"table_size={events[1]}"]
    return ",".join(opts)


@register_backend
class QemuBackend(ExternalBackend):
    """qemu-system-arm (MPS2 AN386/AN500) with the instruction-counting TCG plugin."""

    name = "qemu"
    description = ("qemu-system-arm on MPS2 AN386 (Cortex-M4) / AN500 (Cortex-M7), exact "
                   "instruction counts from a TCG plugin, no cycle model, no DWT")

    install_hint = "install it with 'apt-get install qemu-system-arm'"

    def __init__(self, *, qemu: str | None = None, use_plugin: bool = True):
        super().__init__(qemu or os.environ.get("TINYBENCH_QEMU", QEMU_EXE))
        self.use_plugin = use_plugin

    def supports_board(self, board: Board) -> bool:
        return board.qemu_machine is not None

    def command(self, elf_path: Path | str, board: Board, plugin: Path | None,
                options: str = "") -> list[str]:
        cmd = [self._exe() or self.program, "-M", board.qemu_machine, "-nographic",
               "-monitor", "none", "-serial", "stdio",
               "-semihosting-config", "enable=on,target=native", "-kernel", str(elf_path)]
        if plugin is not None:
            cmd += ["-plugin", f"{plugin},{options}", "-d", "plugin"]
        return cmd

    def run(self, elf_path: Path | str, target: Target | str, *,
            instruction_budget: int | None = DEFAULT_INSTRUCTION_BUDGET,
            timeout_s: float = DEFAULT_TIMEOUT_S) -> RunResult:
        """The counting plugin enforces ``instruction_budget`` (status ``hang`` with the address
        of the block it stopped before). Without the plugin a budget cannot be applied, so such
        a run is refused (status ``unavailable``) rather than reported ``ok`` unbounded; with
        ``instruction_budget=None`` it runs with uncounted instructions. The wall-clock
        ``timeout_s`` bounds every run."""
        elf, target, board, early = self._prepare(elf_path, target)
        if early is not None:
            return early
        plugin, plugin_msg = (build_plugin() if self.use_plugin
                              else (None, "plugin disabled"))
        with tempfile.TemporaryDirectory(prefix="tb-qemu-") as tmp:
            counts_file = Path(tmp) / "counts.txt"
            res = None
            if plugin is not None:
                res = self._run_once(elf, target, board, plugin,
                                     plugin_options(elf, counts_file, instruction_budget), counts_file,
                                     timeout_s, instruction_budget)
                if res.extra.get("plugin_load_failed"):
                    plugin_msg = "QEMU refused the plugin: " + res.extra.get("stderr", "")[-400:]
                    res = None
            if res is None:
                if instruction_budget is not None:
                    return RunResult(self.name, "unavailable",
                                     f"an instruction budget of {instruction_budget} needs the counting "
                                     f"plugin, which is unavailable ({plugin_msg}); run with no budget "
                                     "to go without it",
                                     target=target.name, board=board.name, elf=str(elf_path))
                res = self._run_once(elf, target, board, None, "", counts_file, timeout_s, None)
        if res.instructions is None:
            res.extra["instructions_unavailable"] = (
                f"instruction count unavailable: {plugin_msg}" if res.extra["plugin"] is None
                else "instruction count unavailable: the plugin wrote no count")
            if res.status == "ok":
                res.reason = res.extra["instructions_unavailable"]
        res.extra["plugin_status"] = plugin_msg
        return res

    def _run_once(self, elf: ElfInfo, target: Target, board: Board, plugin: Path | None,
                  options: str, counts_file: Path, timeout_s: float, budget: int | None) -> RunResult:
        cmd = self.command(elf.path, board, plugin, options)
        t0 = time.perf_counter()
        timed_out = False
        with process_group(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE) as proc:  # ended on every way out
            try:
                out, err = proc.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                proc.send_signal(signal.SIGTERM)  # QEMU exits cleanly: the plugin writes counts
                try:
                    out, err = proc.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    out, err = proc.communicate()
        wall = time.perf_counter() - t0
        uart = out.decode("utf-8", "replace")
        stderr = err.decode("utf-8", "replace")
        report = parse_uart(uart)
        result = RunResult(backend=self.name, status="crash", target=target.name,
                           board=board.name, elf=str(elf.path), uart=uart, report=report,
                           wall_time_s=wall, cycles=None,
                           cycles_model="none: QEMU has no cycle model and no DWT "
                                        "(CYCCNT reads 0)")
        result.extra.update({"command": cmd, "exit_code": proc.returncode,
                             "stderr": stderr[-4000:], "plugin": str(plugin) if plugin else None})
        if plugin is not None and proc.returncode != 0 and not uart.strip() and "plugin" in stderr.lower():
            result.extra["plugin_load_failed"] = True
            return result
        counts = parse_plugin_output(counts_file.read_text()) if counts_file.exists() else PluginOutput()
        if counts.total is not None:
            result.instructions = counts.total
            result.instructions_exact = True
            result.markers = counts.markers
            prof: dict[str, int] = {}
            for addr, n, count in counts.blocks:
                fn = elf.function_at(addr) or f"0x{addr:08x}"
                prof[fn] = prof.get(fn, 0) + n * count
            result.profile = dict(sorted(prof.items(), key=lambda kv: -kv[1]))

        implied = status_from_report(report)
        if counts.budget_at is not None and proc.returncode == BUDGET_EXIT_CODE:
            result.status = "hang"
            result.fault_pc = counts.budget_at
            result.reason = (f"instruction budget of {budget} exhausted; next block at "
                             f"{elf.describe_address(counts.budget_at)}")
        elif implied is not None and implied[0] != "ok":
            result.status, result.reason = implied
        elif timed_out:
            result.status = "hang"
            result.reason = f"wall-clock timeout of {timeout_s} s"
            if result.profile:
                hot = next(iter(result.profile))
                result.fault_function = hot
                result.reason += f"; most executed function: {hot}"
        elif implied is not None:
            result.status, result.reason = implied
            if proc.returncode != 0:
                result.status = "crash"
                result.reason = f"qemu exited with {proc.returncode} after TB:END status=ok"
        else:
            result.status = "crash"
            tail = stderr.strip().splitlines()[-3:]
            result.reason = (f"qemu exited with code {proc.returncode} without TB:END: "
                             + " | ".join(tail))
        fill_fault_location(result, elf)
        return result

