"""The harness's UART grammar (one parser for every backend) and the parameter checksum.

Grammar (firmware/harness/README.md has the full description). One record per line, lines
may end in CR LF, anything not starting with ``TB:`` is kept as other output::

    TB:BEGIN harness=1 target=<t> board=<b> steps=<K> ops=<n> cyccnt=<ok|absent>
    TB:CHECKSUM_INIT 0x<8 hex>
    TB:STEP <k> cycles=<n|na>
    TB:OP <k> <i> <name> cycles=<n|na>
    TB:STACK bytes=<n> init=<n> reserved=<n>[ overflow=1]
    TB:ARENA used=<n> size=<n>
    TB:CHECKSUM 0x<8 hex>
    TB:FAULT type=<t> cause=<c> pc=0x.. lr=0x.. addr=<0x..|none> cfsr=0x.. hfsr=0x.. mmfar=0x.. bfar=0x..
    TB:ERROR <text>
    TB:END status=<ok|fault|error>
"""

from __future__ import annotations

import re
import zlib
from dataclasses import asdict, dataclass, field
from typing import Iterable

import numpy as np

_KV = re.compile(r"(\w+)=(\S+)")
_STEP = re.compile(r"^TB:STEP (\d+) cycles=(\d+|na)$")
_OP = re.compile(r"^TB:OP (\d+) (\d+) (\S+) cycles=(\d+|na)$")
_CHECKSUM = re.compile(r"^TB:CHECKSUM(_INIT)? (0x[0-9a-fA-F]+)$")
_END = re.compile(r"^TB:END status=(\w+)")


def _num(text: str) -> int | None:
    if text in ("na", "none"):
        return None
    return int(text, 0)


@dataclass
class OpRecord:
    step: int
    index: int
    name: str
    cycles: int | None


@dataclass
class StepRecord:
    index: int
    cycles: int | None
    ops: list[OpRecord] = field(default_factory=list)


@dataclass
class HarnessReport:
    begin: dict[str, str] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    stack: dict[str, int] = field(default_factory=dict)
    arena: dict[str, int] = field(default_factory=dict)
    checksum: int | None = None
    checksum_init: int | None = None
    end_status: str | None = None
    fault: dict[str, object] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    other_lines: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)

    @property
    def cyccnt_available(self) -> bool:
        return self.begin.get("cyccnt") == "ok"

    @property
    def stack_bytes(self) -> int | None:
        return self.stack.get("bytes")

    @property
    def arena_used(self) -> int | None:
        return self.arena.get("used")

    def op_cycles(self, step: int = -1) -> dict[str, int | None]:
        """{op name: cycles} of one step (default: the last)."""
        if not self.steps:
            return {}
        return {op.name: op.cycles for op in self.steps[step].ops}

    def to_dict(self) -> dict:
        return asdict(self)


def parse_uart(text: str) -> HarnessReport:
    """Parse everything the harness printed. Unknown TB: records go to ``malformed``."""
    rep = HarnessReport()
    steps: dict[int, StepRecord] = {}
    for raw in text.splitlines():
        line = raw.strip("\r\n\0 ")
        pos = line.find("TB:")
        if pos < 0:
            if line:
                rep.other_lines.append(line)
            continue
        if pos > 0:  # a fault report may start in the middle of an interrupted line
            rep.other_lines.append(line[:pos])
            line = line[pos:]
        tag = line.split(" ", 1)[0]
        try:
            if tag == "TB:BEGIN":
                rep.begin = dict(_KV.findall(line))
            elif tag == "TB:STEP":
                m = _STEP.match(line)
                if not m:
                    raise ValueError(line)
                k = int(m.group(1))
                rec = steps.setdefault(k, StepRecord(k, None))
                rec.cycles = _num(m.group(2))
            elif tag == "TB:OP":
                m = _OP.match(line)
                if not m:
                    raise ValueError(line)
                k = int(m.group(1))
                rec = steps.setdefault(k, StepRecord(k, None))
                rec.ops.append(OpRecord(k, int(m.group(2)), m.group(3), _num(m.group(4))))
            elif tag == "TB:STACK":
                rep.stack = {k: int(v, 0) for k, v in _KV.findall(line)}
            elif tag == "TB:ARENA":
                rep.arena = {k: int(v, 0) for k, v in _KV.findall(line)}
            elif tag in ("TB:CHECKSUM", "TB:CHECKSUM_INIT"):
                m = _CHECKSUM.match(line)
                if not m:
                    raise ValueError(line)
                if m.group(1):
                    rep.checksum_init = int(m.group(2), 16)
                else:
                    rep.checksum = int(m.group(2), 16)
            elif tag == "TB:END":
                m = _END.match(line)
                if not m:
                    raise ValueError(line)
                rep.end_status = m.group(1)
            elif tag == "TB:FAULT":
                fault: dict[str, object] = {}
                for k, v in _KV.findall(line):
                    fault[k] = v if k in ("type", "cause") else _num(v)
                rep.fault = fault
            elif tag == "TB:ERROR":
                rep.errors.append(line[len("TB:ERROR"):].strip())
            else:
                raise ValueError(line)
        except ValueError:
            rep.malformed.append(line)
    rep.steps = [steps[k] for k in sorted(steps)]
    return rep


# --- checksum -------------------------------------------------------------------------------


def _le_bytes(a) -> bytes:
    arr = np.asarray(a)
    if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and not np.little_endian):
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return np.ascontiguousarray(arr).tobytes()


def param_checksum(arrays: Iterable, crc: int = 0) -> int:
    """CRC-32 (zlib) chained over the little-endian bytes of ``arrays`` in order: the value
    the firmware's ``tb_param_checksum()`` returns for the same parameters (tb_harness.h)."""
    for a in arrays:
        crc = zlib.crc32(_le_bytes(a), crc)
    return crc & 0xFFFFFFFF


def crc32(data: bytes, crc: int = 0) -> int:
    """zlib's CRC-32, the same function as the harness's ``tb_crc32``."""
    return zlib.crc32(data, crc) & 0xFFFFFFFF


# --- event markers --------------------------------------------------------------------------

#: Event ids of the harness's ``tb_mark`` (firmware/harness/tb_harness.h).
EVENT_STEP_BEGIN = 0
EVENT_STEP_END = 1


def event_op_begin(i: int) -> int:
    return 2 + 2 * i


def event_op_end(i: int) -> int:
    return 3 + 2 * i


@dataclass(frozen=True)
class Marker:
    """One ``tb_mark`` event: the instructions (and modelled cycles, where the backend has a
    cycle model) executed before the first instruction of ``tb_mark``."""

    event: int
    instructions: int
    cycles: int | None = None


@dataclass
class Span:
    """What ran between two events."""

    instructions: int
    cycles: int | None


@dataclass
class StepCounts:
    """One training step: the whole ``tb_train_step`` call and each op inside it, by op index."""

    total: Span
    ops: dict[int, Span] = field(default_factory=dict)


class MarkerError(ValueError):
    """A marker trace that does not follow the harness's event order."""


def _span(a: Marker, b: Marker) -> Span:
    cycles = b.cycles - a.cycles if a.cycles is not None and b.cycles is not None else None
    return Span(b.instructions - a.instructions, cycles)


def step_counts(markers: Iterable[Marker]) -> list[StepCounts]:
    """Per-step and per-op counts from the events of a run, checking their order: every step
    is ``STEP_BEGIN (OP_BEGIN(i) OP_END(i))* STEP_END``. Events outside steps are ignored."""
    steps: list[StepCounts] = []
    begin: Marker | None = None
    op_begin: Marker | None = None
    ops: dict[int, Span] = {}
    for m in markers:
        if m.event == EVENT_STEP_BEGIN:
            if begin is not None:
                raise MarkerError(f"step {len(steps)} began twice")
            begin, ops, op_begin = m, {}, None
        elif begin is None:
            continue
        elif m.event == EVENT_STEP_END:
            if op_begin is not None:
                raise MarkerError(f"step {len(steps)} ended inside op {(op_begin.event - 2) // 2}")
            steps.append(StepCounts(_span(begin, m), ops))
            begin = None
        elif m.event % 2 == 0:
            if op_begin is not None:
                raise MarkerError(f"op {(m.event - 2) // 2} began inside op {(op_begin.event - 2) // 2}")
            op_begin = m
        else:
            i = (m.event - 3) // 2
            if op_begin is None or op_begin.event != event_op_begin(i):
                raise MarkerError(f"op {i} ended without beginning")
            if i in ops:
                raise MarkerError(f"op {i} ran twice in step {len(steps)}")
            ops[i] = _span(op_begin, m)
            op_begin = None
    if begin is not None:
        raise MarkerError(f"step {len(steps)} did not end")
    return steps
