"""Placement of arena buffers: lifetimes in, offsets out.

The interface copies TFLM's MicroMemoryPlanner: ``add_buffer(size, first, last)`` in buffer
order, then ``offset(i)`` and ``arena_size()``. A buffer may also be a group of parts at fixed
offsets inside it with their own lifetimes (``add_group``): an in-place chain, where an op
writes its output over its dying input. Parts of one group never conflict with each other.

Three planners:
- ``greedy-size``: largest buffer first, each at the lowest offset that does not overlap a
  placed buffer whose lifetime overlaps (TFLM's GreedyMemoryPlanner). Not optimal: a large
  short-lived buffer can push small long-lived ones up.
- ``first-fit``: buffers in schedule order (by first use), each at the lowest free gap; this is
  how the paper's engine places its tensors (REFERENCE.md).
- ``linear``: no reuse at all, every buffer after the previous one; the upper bound.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Part:
    offset: int  # inside its group
    size: int
    first: int
    last: int

    def meets(self, other: "Part") -> bool:
        return self.size > 0 and other.size > 0 and self.first <= other.last and other.first <= self.last


Group = tuple[Part, ...]


class Planner(ABC):
    """Places buffers in one arena; subclasses choose the order and the rule."""

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self) -> None:
        self._groups: list[Group] = []
        self._offsets: list[int] | None = None

    def add_buffer(self, size: int, first: int, last: int) -> int:
        """Register a buffer live from op ``first`` to op ``last`` (inclusive); returns its id."""
        return self.add_group([(0, size, first, last)])

    def add_group(self, parts: list[tuple[int, int, int, int]]) -> int:
        """Register parts ``(offset, size, first, last)`` that move together; returns the id."""
        group = tuple(Part(*p) for p in parts)
        if not group or any(p.size < 0 or p.offset < 0 or p.first > p.last for p in group):
            raise ValueError(f"bad buffer parts: {parts}")
        self._groups.append(group)
        self._offsets = None
        return len(self._groups) - 1

    @property
    def buffer_count(self) -> int:
        return len(self._groups)

    def offset(self, buffer_id: int) -> int:
        return self._plan()[buffer_id]

    def arena_size(self) -> int:
        offsets = self._plan()
        return max((o + p.offset + p.size for o, g in zip(offsets, self._groups) for p in g), default=0)

    def overlapping_pairs(self) -> list[tuple[int, int]]:
        """Pairs of buffers with parts live together that share bytes (must be empty)."""
        offsets = self._plan()
        bad = []
        for i, gi in enumerate(self._groups):
            for j in range(i + 1, len(self._groups)):
                if any(a.meets(b) and _collide(offsets[i] + a.offset, a.size, offsets[j] + b.offset, b.size)
                       for a in gi for b in self._groups[j]):
                    bad.append((i, j))
        return bad

    def _plan(self) -> list[int]:
        if self._offsets is None:
            self._offsets = self.place(self._groups)
        return self._offsets

    @abstractmethod
    def place(self, groups: list[Group]) -> list[int]:
        """Return one offset per group."""


def _collide(off_a: int, size_a: int, off_b: int, size_b: int) -> bool:
    return off_a < off_b + size_b and off_b < off_a + size_a


def _lowest_fit(group: Group, placed: list[tuple[int, Part]]) -> int:
    """Lowest group offset at which no part collides with a placed part live at the same time.

    ``placed`` holds (absolute offset, part). Only placed parts whose lifetime meets a part of
    ``group`` constrain it; the answer is 0 or the end of one of them minus a part's offset.
    """
    conflicts = [(off, q, p) for off, q in placed for p in group if p.meets(q)]
    candidates = sorted({0} | {off + q.size - p.offset for off, q, p in conflicts if off + q.size >= p.offset})
    for x in candidates:
        if not any(_collide(x + p.offset, p.size, off, q.size) for off, q, p in conflicts):
            return x
    raise AssertionError("unreachable: the highest candidate is above every conflict")


class _OrderedFit(Planner):
    """Place groups in some order, each at the lowest offset that fits."""

    @abstractmethod
    def order(self, groups: list[Group]) -> list[int]: ...

    def place(self, groups: list[Group]) -> list[int]:
        offsets = [0] * len(groups)
        placed: list[tuple[int, Part]] = []
        for i in self.order(groups):
            offsets[i] = _lowest_fit(groups[i], placed)
            placed.extend((offsets[i] + p.offset, p) for p in groups[i])
        return offsets


def _peak_size(group: Group) -> int:
    return max(p.offset + p.size for p in group)


class GreedyBySize(_OrderedFit):
    name = "greedy-size"
    description = "largest first, lowest non-overlapping offset (TFLM greedy)"

    def order(self, groups: list[Group]) -> list[int]:
        return sorted(range(len(groups)), key=lambda i: (-_peak_size(groups[i]), groups[i][0].first, i))


class FirstFitInSchedule(_OrderedFit):
    name = "first-fit"
    description = "schedule order, lowest free gap (the paper's engine)"

    def order(self, groups: list[Group]) -> list[int]:
        return sorted(range(len(groups)), key=lambda i: (min(p.first for p in groups[i]), i))


class Linear(Planner):
    name = "linear"
    description = "no reuse: each buffer after the previous (upper bound)"

    def place(self, groups: list[Group]) -> list[int]:
        offsets, end = [], 0
        for g in groups:
            offsets.append(end)
            end += _peak_size(g)
        return offsets


PLANNERS: dict[str, type[Planner]] = {p.name: p for p in (GreedyBySize, FirstFitInSchedule, Linear)}
DEFAULT_PLANNER = GreedyBySize.name


def get_planner(name: str) -> Planner:
    try:
        return PLANNERS[name]()
    except KeyError:
        raise ValueError(f"unknown planner '{name}'; available: {', '.join(PLANNERS)}") from None
