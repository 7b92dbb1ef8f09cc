"""Microcontroller targets and the emulator boards that run their firmware.

A :class:`Target` is the chip a benchmark is about: its core, its clock and, above all, its
real memory budgets (SRAM and flash). A :class:`Board` is a concrete memory map with a UART
and an end-of-run mechanism that firmware can be built for: the chip's own board (run by
Renode, by the in-process ISS, or on hardware) or a QEMU board with the same core.

One generated program is built once per ``(target, board)`` pair. The board support package
(``firmware/bsp``) differs between boards only in the UART driver, the end-of-run signal and
the memory origins; the *lengths* of the FLASH and RAM regions in the linker script always
come from the target, so the target's budget is enforced at link time even on an emulator
board with megabytes of RAM (see :func:`tinybench.codegen.build.render_linker_script`).
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * 1024

#: UART peripheral kinds the BSP has a driver for (``firmware/bsp/uart_<kind>.c``).
UART_KINDS = ("cmsdk", "stm32f7_usart", "nrf52_uart")

#: End-of-run mechanisms: semihosting SYS_EXIT (QEMU, ISS) or a sentinel line then WFI (Renode,
#: hardware). Every board prints the ``TB:END`` sentinel line in both cases.
EXIT_KINDS = ("semihosting", "sentinel")


@dataclass(frozen=True)
class MemRegion:
    """A block of address space that an emulator must provide (``kind``: ram, rom or mmio)."""

    name: str
    base: int
    size: int
    kind: str = "ram"

    @property
    def end(self) -> int:
        return self.base + self.size


@dataclass(frozen=True)
class Board:
    """A memory map the firmware can run on.

    ``flash_base``/``sram_base`` are the origins the linker script uses; ``flash_size`` and
    ``sram_size`` are what the board *models* (an emulator board can be larger than the
    target; the linker script still limits the program to the target's budgets).
    ``stub_regions`` lists the plain-memory peripheral pages the BSP touches on this board
    (clock and GPIO set-up on the real chips), which an instruction-set simulator must map.
    """

    name: str
    cpu: str
    description: str
    flash_base: int
    flash_size: int
    sram_base: int
    sram_size: int
    uart_kind: str
    uart_base: int
    exit_kind: str
    qemu_machine: str | None = None
    renode_platform: str | None = None  # path relative to the repository's renode/ directory
    renode_uart: str | None = None  # peripheral name in that platform
    stub_regions: tuple[MemRegion, ...] = ()

    def __post_init__(self) -> None:
        if self.uart_kind not in UART_KINDS:
            raise ValueError(f"board {self.name}: unknown uart kind {self.uart_kind!r}")
        if self.exit_kind not in EXIT_KINDS:
            raise ValueError(f"board {self.name}: unknown exit kind {self.exit_kind!r}")
        if self.cpu not in CPUS:
            raise ValueError(f"board {self.name}: unknown cpu {self.cpu!r}")

    @property
    def uses_semihosting(self) -> bool:
        return self.exit_kind == "semihosting"


@dataclass(frozen=True)
class CpuSpec:
    """Compiler flags of a core (hard-float ABI with the core's single-precision FPU)."""

    name: str
    gcc_flags: tuple[str, ...]
    unicorn_model: str  # attribute name in unicorn.arm_const
    dsp: bool = False  # has the DSP extension (SMLAD, SXTB16, ...): the fast kernels run here


CPUS: dict[str, CpuSpec] = {
    "cortex-m4": CpuSpec(
        name="cortex-m4",
        gcc_flags=("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
        unicorn_model="UC_CPU_ARM_CORTEX_M4",
        dsp=True,
    ),
    "cortex-m7": CpuSpec(
        name="cortex-m7",
        gcc_flags=("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"),
        unicorn_model="UC_CPU_ARM_CORTEX_M7",
        dsp=True,
    ),
}


@dataclass(frozen=True)
class Target:
    """A microcontroller whose budgets the benchmark is measured against."""

    name: str
    cpu: str
    description: str
    sram_bytes: int
    flash_bytes: int
    clock_hz: int
    native_board: str  # the chip's own memory map (Renode, ISS, hardware)
    qemu_board: str  # the QEMU board with the same core

    # The chip's memory map and console are those of its native board.
    @property
    def flash_base(self) -> int:
        return BOARDS[self.native_board].flash_base

    @property
    def sram_base(self) -> int:
        return BOARDS[self.native_board].sram_base

    @property
    def uart_kind(self) -> str:
        return BOARDS[self.native_board].uart_kind

    @property
    def uart_base(self) -> int:
        return BOARDS[self.native_board].uart_base

    @property
    def cpu_spec(self) -> CpuSpec:
        return CPUS[self.cpu]

    def gcc_cpu_flags(self) -> list[str]:
        return list(self.cpu_spec.gcc_flags)

    def boards(self) -> list[Board]:
        """Every board this target's firmware can be built for, native first."""
        return [BOARDS[self.native_board], BOARDS[self.qemu_board]]


BOARDS: dict[str, Board] = {}
TARGETS: dict[str, Target] = {}


def register_board(board: Board) -> Board:
    if board.name in BOARDS:
        raise ValueError(f"board {board.name!r} already registered")
    BOARDS[board.name] = board
    return board


def register_target(target: Target) -> Target:
    if target.name in TARGETS:
        raise ValueError(f"target {target.name!r} already registered")
    if target.cpu not in CPUS:
        raise ValueError(f"target {target.name}: unknown cpu {target.cpu!r}")
    for b in (target.native_board, target.qemu_board):
        if b not in BOARDS:
            raise ValueError(f"target {target.name}: unknown board {b!r}")
        if BOARDS[b].cpu != target.cpu:
            raise ValueError(f"target {target.name}: board {b} has a {BOARDS[b].cpu}")
    TARGETS[target.name] = target
    return target


def get_target(name: str | Target) -> Target:
    if isinstance(name, Target):
        return name
    try:
        return TARGETS[name]
    except KeyError:
        raise KeyError(f"unknown target {name!r}; known: {', '.join(sorted(TARGETS))}") from None


def get_board(name: str | Board) -> Board:
    if isinstance(name, Board):
        return name
    try:
        return BOARDS[name]
    except KeyError:
        raise KeyError(f"unknown board {name!r}; known: {', '.join(sorted(BOARDS))}") from None


def resolve_board(target: Target, board: str | Board | None) -> Board:
    """``board`` may be a Board, a board name, ``"native"``, ``"qemu"`` or None (native)."""
    if board is None or board == "native":
        return BOARDS[target.native_board]
    if board == "qemu":
        return BOARDS[target.qemu_board]
    b = get_board(board)
    if b.cpu != target.cpu:
        raise ValueError(f"board {b.name} has a {b.cpu}, target {target.name} a {target.cpu}")
    return b


def check_fits(target: Target, board: Board) -> None:
    """The board must be able to hold the target's budgets at the board's origins."""
    if target.flash_bytes > board.flash_size:
        raise ValueError(f"board {board.name} models {board.flash_size} B of flash, "
                         f"target {target.name} needs {target.flash_bytes}")
    if target.sram_bytes > board.sram_size:
        raise ValueError(f"board {board.name} models {board.sram_size} B of SRAM, "
                         f"target {target.name} needs {target.sram_bytes}")


# --- boards ---------------------------------------------------------------------------------

# QEMU's MPS2 FPGA images: 4 MB SSRAM at 0 (code and vectors), 4 MB at 0x20000000, CMSDK
# APB UART0 at 0x40004000. AN386 has a Cortex-M4 (with FPU), AN500 a Cortex-M7.
for _name, _cpu, _desc in (
    ("mps2-an386", "cortex-m4", "QEMU MPS2 AN386 (Cortex-M4)"),
    ("mps2-an500", "cortex-m7", "QEMU MPS2 AN500 (Cortex-M7)"),
):
    register_board(Board(
        name=_name, cpu=_cpu, description=_desc,
        flash_base=0x0000_0000, flash_size=4 * MIB,
        sram_base=0x2000_0000, sram_size=4 * MIB,
        uart_kind="cmsdk", uart_base=0x4000_4000,
        exit_kind="semihosting", qemu_machine=_name,
    ))

register_board(Board(
    name="stm32f746-disco", cpu="cortex-m7",
    description="STM32F746 Discovery: flash 0x08000000, SRAM 0x20000000, USART1 0x40011000",
    flash_base=0x0800_0000, flash_size=1 * MIB,
    sram_base=0x2000_0000, sram_size=320 * KIB,
    uart_kind="stm32f7_usart", uart_base=0x4001_1000,
    exit_kind="sentinel",
    renode_platform="platforms/stm32f746.repl", renode_uart="sysbus.uart",
    stub_regions=(
        MemRegion("RCC", 0x4002_3800, 0x400, "ram"),
        MemRegion("GPIOA", 0x4002_0000, 0x400, "ram"),
    ),
))

register_board(Board(
    name="nrf52840-dk", cpu="cortex-m4",
    description="nRF52840 DK: flash 0x0, RAM 0x20000000, UART0 0x40002000 (legacy UART)",
    flash_base=0x0000_0000, flash_size=1 * MIB,
    sram_base=0x2000_0000, sram_size=256 * KIB,
    uart_kind="nrf52_uart", uart_base=0x4000_2000,
    exit_kind="sentinel",
    renode_platform="platforms/nrf52840.repl", renode_uart="sysbus.uart",
))

# --- targets --------------------------------------------------------------------------------

register_target(Target(
    name="stm32f746", cpu="cortex-m7",
    description="STM32F746: Cortex-M7 at 216 MHz, 320 KB SRAM, 1 MB flash (the paper's board)",
    sram_bytes=320 * KIB, flash_bytes=1 * MIB, clock_hz=216_000_000,
    native_board="stm32f746-disco", qemu_board="mps2-an500",
))

register_target(Target(
    name="nrf52840", cpu="cortex-m4",
    description="nRF52840: Cortex-M4F at 64 MHz, 256 KB SRAM, 1 MB flash",
    sram_bytes=256 * KIB, flash_bytes=1 * MIB, clock_hz=64_000_000,
    native_board="nrf52840-dk", qemu_board="mps2-an386",
))

for _t in TARGETS.values():
    for _b in _t.boards():
        check_fits(_t, _b)
