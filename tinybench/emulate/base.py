"""The emulator backend interface, its result type and the backend registry.

Every backend runs one firmware ELF built by :mod:`tinybench.codegen.build` and returns a
:class:`RunResult`. The board an ELF was built for is read from the ELF itself (the
``tb_meta`` string the BSP embeds); a backend that cannot run that board answers with status
``unavailable`` and says which board to build for.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar

from tinybench.codegen.targets import Board, Target, get_board, get_target
from tinybench.emulate.elfinfo import ElfInfo
from tinybench.emulate.results import HarnessReport, Marker, StepCounts, step_counts
from tinybench.external import first_output_line

STATUSES = ("ok", "fault", "hang", "crash", "unavailable")

DEFAULT_INSTRUCTION_BUDGET = 2_000_000_000
DEFAULT_TIMEOUT_S = 120.0


@dataclass
class RunResult:
    """Outcome of one emulated run.

    ``status``: ``ok`` (the harness printed TB:END status=ok), ``fault`` (CPU fault, reported
    by the firmware's handler or caught by the emulator; or a harness error), ``hang``
    (instruction budget or wall-clock timeout exhausted), ``crash`` (the emulator itself
    failed, or the run ended without a TB:END line), ``unavailable`` (backend or board not
    usable here; ``reason`` says why).

    ``instructions`` is None when the backend cannot count; ``instructions_exact`` says
    whether the count is exact. ``markers`` are the firmware's ``tb_mark`` events with the
    instructions (and modelled cycles) before each, where the backend can observe them; they
    give per-step and per-op counts that are the same quantity on every backend
    (:meth:`counted_steps`). ``cycles`` is the backend's modelled cycle count (None if it
    has none) and ``cycles_model`` says what model produced it. ``profile`` maps function
    name -> executed instructions (``profile_cycles`` -> modelled cycles) when available.
    """

    backend: str
    status: str
    reason: str = ""
    target: str = ""
    board: str = ""
    elf: str = ""
    uart: str = ""
    report: HarnessReport = field(default_factory=HarnessReport)
    instructions: int | None = None
    instructions_exact: bool = False
    cycles: int | None = None
    cycles_model: str = ""
    profile: dict[str, int] = field(default_factory=dict)
    profile_cycles: dict[str, int] = field(default_factory=dict)
    markers: list[Marker] = field(default_factory=list)
    wall_time_s: float = 0.0
    fault_pc: int | None = None
    fault_address: int | None = None
    fault_function: str | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def checksum(self) -> int | None:
        return self.report.checksum

    @property
    def steps(self):
        return self.report.steps

    def counted_steps(self) -> list[StepCounts]:
        """Instructions (and cycles) of each training step and of each op in it, from the
        markers (empty if the backend observed none; MarkerError if they are out of order)."""
        return step_counts(self.markers)

    @property
    def stack_bytes(self) -> int | None:
        return self.report.stack_bytes

    @property
    def arena_used(self) -> int | None:
        return self.report.arena_used

    @property
    def instructions_per_second(self) -> float | None:
        if self.instructions is None or self.wall_time_s <= 0:
            return None
        return self.instructions / self.wall_time_s

    def to_dict(self) -> dict:
        d = asdict(self)
        d["report"] = self.report.to_dict()
        return d

    def describe(self) -> str:
        parts = [f"{self.backend}: {self.status}"]
        if self.reason:
            parts.append(self.reason)
        if self.instructions is not None:
            parts.append(f"{self.instructions} instructions"
                         + ("" if self.instructions_exact else " (approximate)"))
        if self.cycles is not None:
            parts.append(f"{self.cycles} cycles [{self.cycles_model}]")
        return "; ".join(parts)


class Backend(ABC):
    """One way of running firmware. Subclasses set ``name`` and register themselves."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @abstractmethod
    def available(self) -> tuple[bool, str]:
        """(usable here?, reason or version text)."""

    @abstractmethod
    def version(self) -> str | None:
        """Version string of the emulator, None if absent."""

    @abstractmethod
    def run(self, elf_path: Path | str, target: Target | str, *,
            instruction_budget: int | None = DEFAULT_INSTRUCTION_BUDGET,
            timeout_s: float = DEFAULT_TIMEOUT_S) -> RunResult:
        """Run ``elf_path`` (built for ``target``) to its end, a fault, or a limit: status
        ``hang`` after ``instruction_budget`` instructions (None: no budget, only the
        wall-clock ``timeout_s``). A backend that cannot apply a budget it is given refuses
        the run (status ``unavailable``) rather than run unbounded."""

    @abstractmethod
    def supports_board(self, board: Board) -> bool:
        """Whether this backend can run firmware built for ``board``."""

    def default_board(self, target: Target | str) -> Board:
        """The board to build for when running on this backend."""
        target = get_target(target)
        return get_board(target.qemu_board)

    # --- helpers shared by the implementations ------------------------------------------------

    def _prepare(self, elf_path: Path | str, target: Target | str
                 ) -> tuple[ElfInfo | None, Target, Board | None, RunResult | None]:
        """Load the ELF, find its board, and return an early result if it cannot run."""
        target = get_target(target)
        ok, why = self.available()
        if not ok:
            return None, target, None, RunResult(self.name, "unavailable", why,
                                                 target=target.name, elf=str(elf_path))
        elf = ElfInfo.load(elf_path)
        if elf.target_name and elf.target_name != target.name:
            return elf, target, None, RunResult(
                self.name, "unavailable",
                f"{elf_path} was built for target {elf.target_name}, not {target.name}",
                target=target.name, elf=str(elf_path))
        board_name = elf.board_name or self.default_board(target).name
        board = get_board(board_name)
        if not self.supports_board(board):
            return elf, target, board, RunResult(
                self.name, "unavailable",
                f"backend {self.name} cannot run firmware built for board {board.name}; "
                f"build for {self.default_board(target).name}",
                target=target.name, board=board.name, elf=str(elf_path))
        return elf, target, board, None


class ExternalBackend(Backend):
    """A backend that drives an emulator program found on PATH (QEMU, Renode)."""

    install_hint: ClassVar[str] = ""
    version_timeout_s: ClassVar[float] = 30.0

    def __init__(self, program: str):
        self.program = program

    def _exe(self) -> str | None:
        return shutil.which(self.program)

    def available(self) -> tuple[bool, str]:
        if self._exe() is None:
            return False, f"`{self.program}` not found on PATH; {self.install_hint}"
        return True, self.version() or ""

    def version(self) -> str | None:
        exe = self._exe()
        return first_output_line([exe, "--version"], self.version_timeout_s) if exe else None


def status_from_report(report: HarnessReport) -> tuple[str, str] | None:
    """Status and reason implied by the harness output alone, or None if it did not end."""
    if report.end_status == "ok":
        if report.malformed:
            return "ok", f"{len(report.malformed)} malformed TB: lines"
        return "ok", ""
    if report.end_status == "fault" or report.fault:
        f = report.fault
        if f:
            addr = f.get("addr")
            where = f"pc=0x{f['pc']:08x}" if isinstance(f.get("pc"), int) else ""
            at = f" addr=0x{addr:08x}" if isinstance(addr, int) else ""
            return "fault", f"{f.get('type', 'fault')} ({f.get('cause', '?')}) {where}{at}"
        return "fault", "firmware reported a fault"
    if report.end_status == "error":
        return "fault", "harness error: " + ("; ".join(report.errors) or "unknown")
    if report.end_status is not None:
        return "crash", f"unknown end status {report.end_status!r}"
    return None


def fill_fault_location(result: RunResult, elf: ElfInfo | None) -> None:
    """Name the faulting function from the PC the firmware's handler reported."""
    f = result.report.fault
    if f and result.fault_pc is None and isinstance(f.get("pc"), int):
        result.fault_pc = int(f["pc"])
    if f and result.fault_address is None and isinstance(f.get("addr"), int):
        result.fault_address = int(f["addr"])
    if elf is not None and result.fault_pc is not None and result.fault_function is None:
        result.fault_function = elf.function_at(result.fault_pc)
    if result.fault_function and result.status == "fault" and \
            result.fault_function not in result.reason:
        result.reason += f" in {result.fault_function}"


# --- registry -------------------------------------------------------------------------------

BACKENDS: dict[str, type[Backend]] = {}


def register_backend(cls: type[Backend]) -> type[Backend]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in BACKENDS and BACKENDS[cls.name] is not cls:
        raise ValueError(f"backend {cls.name!r} already registered")
    BACKENDS[cls.name] = cls
    return cls


def get_backend(name: str, **kwargs) -> Backend:
    try:
        cls = BACKENDS[name]
    except KeyError:
        raise KeyError(f"unknown backend {name!r}; known: {', '.join(sorted(BACKENDS))}") \
            from None
    return cls(**kwargs)


def backend_names() -> list[str]:
    return sorted(BACKENDS)

