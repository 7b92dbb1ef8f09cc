"""Compile and link tinybench firmware for one (target, board) pair with arm-none-eabi-gcc.

    result = build_firmware([Path("model.c")], "stm32f746", "qemu", out_dir=Path("out"),
                            include_dirs=[Path("gen")], harness_defines={"TB_STEPS": 3})
    result.elf, result.flash_bytes, result.sram_static_bytes

The board support package (``firmware/bsp``) and the harness (``firmware/harness``) are
added to the sources. The linker script is rendered from ``firmware/bsp/tinybench.ld.in``
with the *target's* flash and SRAM sizes at the *board's* origins, so a program that does not
fit the chip fails here with :class:`FirmwareTooLarge`, on every board.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from tinybench.codegen.objects import CompileError, compile_objects
from tinybench.codegen.targets import Board, Target, get_target, resolve_board
from tinybench.external import first_output_line
from tinybench.paths import data_dir

#: Reserved stack (bytes) unless the caller asks for another size.
DEFAULT_STACK_SIZE = 8 * 1024
DEFAULT_GCC = "arm-none-eabi-gcc"

BASE_CFLAGS = (
    "-std=c99",
    "-ffreestanding",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-common",
    "-g",
    "-Wall",
    "-Wextra",
)
BASE_LDFLAGS = ("-nostdlib", "-Wl,--gc-sections", "-Wl,--no-warn-rwx-segments")


def firmware_dir() -> Path:
    """The ``firmware/`` folder shipped with tinybench (see :mod:`tinybench.paths`)."""
    return data_dir("firmware")


def bsp_dir() -> Path:
    return firmware_dir() / "bsp"


def harness_dir() -> Path:
    return firmware_dir() / "harness"


def test_firmware_dir() -> Path:
    return firmware_dir() / "tests"


def bsp_sources(board: Board) -> list[Path]:
    d = bsp_dir()
    return [d / "startup.c", d / "tb_io.c", d / "tb_libc.c", d / f"uart_{board.uart_kind}.c"]


def harness_sources() -> list[Path]:
    return [harness_dir() / "tb_harness.c"]


def default_include_dirs() -> list[Path]:
    return [bsp_dir() / "include", harness_dir()]


# --- errors ---------------------------------------------------------------------------------


class BuildError(RuntimeError):
    """Compilation or linking failed; ``output`` has the compiler's messages."""

    def __init__(self, message: str, *, command: list[str] | None = None, output: str = ""):
        super().__init__(message)
        self.command = command or []
        self.output = output


class ToolchainMissing(BuildError):
    pass


class FirmwareTooLarge(BuildError):
    """The program does not fit a memory region of the target.

    ``needed``/``available`` are bytes of the region (``"RAM"`` or ``"FLASH"``);
    ``breakdown`` holds the section sizes measured by relinking without the limit
    (data, bss, arena, stack, flash), when that relink succeeded.
    """

    def __init__(self, *, region: str, needed: int, available: int, target: str,
                 board: str, breakdown: Mapping[str, int] | None = None,
                 command: list[str] | None = None, output: str = ""):
        self.region = region
        self.needed = needed
        self.available = available
        self.target = target
        self.board = board
        self.breakdown = dict(breakdown or {})
        what = "SRAM" if region == "RAM" else "flash"
        msg = (f"firmware does not fit {target}: it needs {needed} bytes of {what} "
               f"(region {region}) but the target has {available} bytes "
               f"({needed - available} bytes over)")
        if self.breakdown:
            parts = ", ".join(f"{k} {v}" for k, v in self.breakdown.items())
            msg += f"; sections: {parts}"
        super().__init__(msg, command=command, output=output)


# --- toolchain ------------------------------------------------------------------------------


def find_gcc(gcc: str | None = None) -> str | None:
    return shutil.which(gcc or os.environ.get("TINYBENCH_GCC", DEFAULT_GCC))


@functools.lru_cache(maxsize=None)
def toolchain_version(gcc: str | None = None) -> str | None:
    """First line of ``arm-none-eabi-gcc --version``, or None if the compiler is missing (asked
    once per process: every build's object keys name it)."""
    exe = find_gcc(gcc)
    return first_output_line([exe, "--version"]) if exe else None


# --- linker script --------------------------------------------------------------------------


def render_linker_script(target: Target, board: Board, *, stack_size: int = DEFAULT_STACK_SIZE,
                         ram_length: int | None = None, flash_length: int | None = None) -> str:
    """The linker script for ``target`` on ``board``: origins from the board, lengths from
    the target (``ram_length``/``flash_length`` override them, used only to measure a program
    that does not fit)."""
    if stack_size <= 0 or stack_size % 8:
        raise ValueError(f"stack_size must be a positive multiple of 8, got {stack_size}")
    template = (bsp_dir() / "tinybench.ld.in").read_text()
    values = {
        "TARGET": target.name,
        "BOARD": board.name,
        "FLASH_ORIGIN": f"0x{board.flash_base:08X}",
        "FLASH_LENGTH": str(flash_length if flash_length is not None else target.flash_bytes),
        "RAM_ORIGIN": f"0x{board.sram_base:08X}",
        "RAM_LENGTH": str(ram_length if ram_length is not None else target.sram_bytes),
        "STACK_SIZE": str(stack_size),
    }
    out = template
    for key, val in values.items():
        out = out.replace(f"@{key}@", val)
    leftover = re.findall(r"@[A-Z_]+@", out)
    if leftover:
        raise ValueError(f"unrendered placeholders in linker script: {leftover}")
    return out


# --- results --------------------------------------------------------------------------------


@dataclass
class BuildResult:
    elf: Path
    map: Path
    linker_script: Path
    target: Target
    board: Board
    flash_bytes: int  # everything stored in flash: vectors, code, rodata, .data image
    data_bytes: int
    bss_bytes: int
    arena_bytes: int
    stack_bytes: int  # reserved stack
    sections: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (addr, size)
    command: list[str] = field(default_factory=list)
    warnings: str = ""
    objects_compiled: int = 0  # compiled by this build; the rest came from the object cache
    objects_cached: int = 0

    @property
    def sram_static_bytes(self) -> int:
        """.data + .bss (static variables; the arena and the stack are reported apart)."""
        return self.data_bytes + self.bss_bytes

    @property
    def sram_reserved_bytes(self) -> int:
        """Everything the linker placed in RAM: .data + .bss + arena + reserved stack."""
        return self.data_bytes + self.bss_bytes + self.arena_bytes + self.stack_bytes

    def summary(self) -> dict:
        return {
            "elf": str(self.elf),
            "target": self.target.name,
            "board": self.board.name,
            "flash_bytes": self.flash_bytes,
            "flash_available": self.target.flash_bytes,
            "data_bytes": self.data_bytes,
            "bss_bytes": self.bss_bytes,
            "arena_bytes": self.arena_bytes,
            "stack_bytes": self.stack_bytes,
            "sram_static_bytes": self.sram_static_bytes,
            "sram_reserved_bytes": self.sram_reserved_bytes,
            "sram_available": self.target.sram_bytes,
            "objects_compiled": self.objects_compiled,
            "objects_cached": self.objects_cached,
        }


def elf_section_sizes(elf_path: Path) -> dict[str, tuple[int, int, bool]]:
    """name -> (address, size, occupies_file) for every allocated section."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.constants import SH_FLAGS

    out: dict[str, tuple[int, int, bool]] = {}
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        for sec in elf.iter_sections():
            if sec["sh_flags"] & SH_FLAGS.SHF_ALLOC and sec["sh_size"] > 0:
                out[sec.name] = (sec["sh_addr"], sec["sh_size"], sec["sh_type"] != "SHT_NOBITS")
    return out


def _sizes(sections: Mapping[str, tuple[int, int, bool]]) -> dict[str, int]:
    def size(name: str) -> int:
        return sections.get(name, (0, 0, False))[1]

    flash = sum(sz for name, (_, sz, in_file) in sections.items()
                if in_file and name not in (".bss", ".tb_arena", ".stack"))
    return {
        "flash": flash,
        "data": size(".data"),
        "bss": size(".bss"),
        "arena": size(".tb_arena"),
        "stack": size(".stack"),
    }


_OVERFLOW_RE = re.compile(r"region [`'\"]?(\w+)['\"]? overflowed by (\d+) bytes")


def parse_overflows(output: str) -> dict[str, int]:
    """{region: bytes over} from GNU ld's "region `RAM' overflowed by N bytes" lines."""
    found: dict[str, int] = {}
    for region, over in _OVERFLOW_RE.findall(output):
        found[region] = max(found.get(region, 0), int(over))
    return found


# --- build ----------------------------------------------------------------------------------


def _define_flags(defines: Mapping[str, object]) -> list[str]:
    flags = []
    for key, val in defines.items():
        if val is None or val is True:
            flags.append(f"-D{key}")
        else:
            flags.append(f"-D{key}={val}")
    return flags


def board_defines(target: Target, board: Board) -> dict[str, object]:
    return {
        "TB_TARGET_NAME": f'"{target.name}"',
        "TB_BOARD_NAME": f'"{board.name}"',
        "TB_UART_BASE": f"0x{board.uart_base:08X}u",
        "TB_SEMIHOSTING": 1 if board.uses_semihosting else 0,
        "TB_CPU_HZ": f"{target.clock_hz}u",
        "TB_SRAM_BYTES": f"{target.sram_bytes}u",
    }


def build_firmware(
    sources: Iterable[Path | str],
    target: Target | str,
    board: Board | str | None = None,
    *,
    out_dir: Path | str,
    name: str = "fw",
    include_dirs: Iterable[Path | str] = (),
    defines: Mapping[str, object] | None = None,
    harness_defines: Mapping[str, object] | None = None,
    opt: str = "-O2",
    stack_size: int = DEFAULT_STACK_SIZE,
    with_harness: bool = True,
    extra_cflags: Iterable[str] = (),
    extra_ldflags: Iterable[str] = (),
    gcc: str | None = None,
    timeout_s: float = 300.0,
) -> BuildResult:
    """Compile and link ``sources`` (plus the BSP and, by default, the harness) into
    ``out_dir/name.elf`` with ``name.map`` and ``name.ld`` beside it.

    ``board`` is a Board, a board name, ``"native"`` (default) or ``"qemu"``. ``opt`` is the
    optimisation flags, space-separated (``"-O2 -funroll-loops"``). ``defines`` go to
    every source; ``harness_defines`` (the harness's knobs, ``TB_STEPS``, ``TB_MAX_OPS``) to the
    harness alone, so the kernels' objects do not depend on them and the build cache reuses
    them across programs (:mod:`tinybench.codegen.objects`).
    Raises :class:`ToolchainMissing`, :class:`FirmwareTooLarge` or :class:`BuildError`.
    """
    target = get_target(target)
    board = resolve_board(target, board)
    exe = find_gcc(gcc)
    if exe is None:
        raise ToolchainMissing(
            f"{gcc or DEFAULT_GCC} not found on PATH; install it with "
            "'apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi'")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    srcs = [Path(s) for s in sources]
    for s in srcs:
        if not s.is_file():
            raise BuildError(f"source file not found: {s}")
    harness = harness_sources() if with_harness else []
    all_sources = bsp_sources(board) + harness + srcs

    elf = out_dir / f"{name}.elf"
    map_path = out_dir / f"{name}.map"
    ld_path = out_dir / f"{name}.ld"
    ld_path.write_text(render_linker_script(target, board, stack_size=stack_size))

    all_defines = board_defines(target, board)
    all_defines.update(defines or {})
    inc_dirs = [Path(p) for p in include_dirs] + default_include_dirs()
    compile_flags = (target.gcc_cpu_flags() + opt.split() + list(BASE_CFLAGS)
                     + _define_flags(all_defines) + [f"-I{p}" for p in inc_dirs] + list(extra_cflags))
    try:
        harness_flags = compile_flags + _define_flags(harness_defines or {})
        units = [(src, harness_flags if src in harness else compile_flags) for src in all_sources]
        objects = compile_objects(units, exe, toolchain_version(exe) or exe, inc_dirs, out_dir, timeout_s)
    except CompileError as err:
        raise BuildError(f"build failed for {target.name} on {board.name}: {err}", command=err.command,
                         output=err.output) from None
    link_flags = target.gcc_cpu_flags() + opt.split()

    def link_cmd(script: Path, out_elf: Path, out_map: Path) -> list[str]:
        return ([exe] + link_flags + [str(o.path) for o in objects]
                + ["-T", str(script), f"-Wl,-Map={out_map}", "-o", str(out_elf)]
                + list(BASE_LDFLAGS) + list(extra_ldflags) + ["-lgcc"])

    cmd = link_cmd(ld_path, elf, map_path)
    if elf.exists():
        elf.unlink()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"linker timed out after {timeout_s} s", command=cmd) from exc
    output = "\n".join(o.warnings for o in objects if o.warnings) + (proc.stdout or "") + (proc.stderr or "")
    if proc.returncode != 0:
        overflows = parse_overflows(output)
        if overflows:
            region = "RAM" if "RAM" in overflows else next(iter(overflows))
            available = target.sram_bytes if region == "RAM" else target.flash_bytes
            breakdown = _measure_unbounded(link_cmd, target, board, stack_size, timeout_s)
            raise FirmwareTooLarge(region=region, needed=available + overflows[region],
                                   available=available, target=target.name, board=board.name,
                                   breakdown=breakdown, command=cmd, output=output)
        raise BuildError(f"build failed for {target.name} on {board.name}:\n{output.strip()}",
                         command=cmd, output=output)

    sections = elf_section_sizes(elf)
    sz = _sizes(sections)
    return BuildResult(
        elf=elf, map=map_path, linker_script=ld_path, target=target, board=board,
        flash_bytes=sz["flash"], data_bytes=sz["data"], bss_bytes=sz["bss"],
        arena_bytes=sz["arena"], stack_bytes=sz["stack"],
        sections={k: (a, s) for k, (a, s, _) in sections.items()},
        command=cmd, warnings=output.strip(),
        objects_compiled=sum(not o.cached for o in objects), objects_cached=sum(o.cached for o in objects),
    )


def build_test_firmware(name: str, target: Target | str, board: Board | str | None = None, *,
                        out_dir: Path | str, defines: Mapping[str, object] | None = None,
                        **kwargs) -> BuildResult:
    """Build one of the hand-written test programs ``firmware/tests/tb_test_<name>.c``."""
    src = test_firmware_dir() / f"tb_test_{name}.c"
    return build_firmware([src], target, board, out_dir=out_dir, name=name,
                          defines=defines, **kwargs)


def _measure_unbounded(link_cmd, target: Target, board: Board, stack_size: int,
                       timeout_s: float) -> dict[str, int]:
    """Relink with 256 MiB regions (never run) to report what the program would need."""
    with tempfile.TemporaryDirectory(prefix="tb-measure-") as tmp:
        tmpd = Path(tmp)
        script = tmpd / "measure.ld"
        script.write_text(render_linker_script(target, board, stack_size=stack_size,
                                               ram_length=256 << 20, flash_length=256 << 20))
        cmd = link_cmd(script, tmpd / "measure.elf", tmpd / "measure.map")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {}
        if proc.returncode != 0:
            return {}
        sz = _sizes(elf_section_sizes(tmpd / "measure.elf"))
        return {"data": sz["data"], "bss": sz["bss"], "arena": sz["arena"],
                "stack": sz["stack"], "flash": sz["flash"]}
