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
from tinybench.emulate.results import parse_uart

PLUGIN_DIR = Path(__file__).with_name("qemu_plugin")
PLUGIN_SOURCES = ("tb_insn_count.c", "qemu-plugin.h")
QEMU_EXE = "qemu-system-arm"


def cache_dir() -> Path:
    """TINYBENCH_CACHE_DIR, else $XDG_CACHE_HOME/tinybench, else ~/.cache/tinybench."""
    env = os.environ.get("TINYBENCH_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tinybench"


def plugin_path() -> Path:
    """Where the plugin for the current sources lives (content-addressed)."""
    h = hashlib.sha256()
    for name in PLUGIN_SOURCES:
        h.update((PLUGIN_DIR / name).read_bytes())
    return cache_dir() / "qemu-plugin" / h.hexdigest()[:16] / "libtb_insn_count.so"


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


def parse_plugin_output(text: str) -> tuple[int | None, list[tuple[int, int, int]]]:
    """(total instructions, [(block address, instructions, executions)])."""
    total = None
    blocks = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "insns":
            total = int(parts[1])
        elif len(parts) == 4 and parts[0] == "tb":
            blocks.append((int(parts[1], 16), int(parts[2]), int(parts[3])))
    return total, blocks


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
                counts_file: Path | None) -> list[str]:
        cmd = [self._exe() or self.program, "-M", board.qemu_machine, "-nographic",
               "-monitor", "none", "-serial", "stdio",
               "-semihosting-config", "enable=on,target=native", "-kernel", str(elf_path)]
        if plugin is not None:
            cmd += ["-plugin", f"{plugin},out={counts_file}", "-d", "plugin"]
        return cmd

    def run(self, elf_path: Path | str, target: Target | str, *,
            instruction_budget: int = DEFAULT_INSTRUCTION_BUDGET,
            timeout_s: float = DEFAULT_TIMEOUT_S) -> RunResult:
        """``instruction_budget`` is not enforced by QEMU (the plugin only counts); the
        wall-clock ``timeout_s`` bounds the run."""
        elf, target, board, early = self._prepare(elf_path, target)
        if early is not None:
            return early
        plugin, plugin_msg = (build_plugin() if self.use_plugin
                              else (None, "plugin disabled"))
        with tempfile.TemporaryDirectory(prefix="tb-qemu-") as tmp:
            counts_file = Path(tmp) / "counts.txt"
            res = self._run_once(elf, target, board, plugin, counts_file, timeout_s)
            if plugin is not None and res.extra.get("plugin_load_failed"):
                plugin_msg = "QEMU refused the plugin: " + res.extra.get("stderr", "")[-400:]
                res = self._run_once(elf, target, board, None, counts_file, timeout_s)
        if res.instructions is None:
            res.extra["instructions_unavailable"] = (
                f"instruction count unavailable: {plugin_msg}" if plugin is None
                or res.extra.get("plugin_load_failed") else
                "instruction count unavailable: the plugin wrote no count")
            if res.status == "ok":
                res.reason = res.extra["instructions_unavailable"]
        res.extra["plugin"] = str(plugin) if plugin else None
        res.extra["plugin_status"] = plugin_msg
        res.extra["instruction_budget_enforced"] = False
        return res

    def _run_once(self, elf: ElfInfo, target: Target, board: Board, plugin: Path | None,
                  counts_file: Path, timeout_s: float) -> RunResult:
        cmd = self.command(elf.path, board, plugin, counts_file)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        timed_out = False
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
                             "stderr": stderr[-4000:]})
        if plugin is not None and proc.returncode != 0 and not uart.strip() \
                and "plugin" in stderr.lower():
            result.extra["plugin_load_failed"] = True
            return result
        if plugin is not None and counts_file.exists():
            total, blocks = parse_plugin_output(counts_file.read_text())
            if total is not None:
                result.instructions = total
                result.instructions_exact = True
                prof: dict[str, int] = {}
                for addr, n, count in blocks:
                    fn = elf.function_at(addr) or f"0x{addr:08x}"
                    prof[fn] = prof.get(fn, 0) + n * count
                result.profile = dict(sorted(prof.items(), key=lambda kv: -kv[1]))

        implied = status_from_report(report)
        if implied is not None and implied[0] != "ok":
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

