"""Placement of arena buffers: lifetimes in, offsets out.

The interface copies TFLM's MicroMemoryPlanner: ``add_buffer(size, first, last)`` in buffer
order, then ``offset(i)`` and ``arena_size()``. A buffer may also be a group of parts at fixed
offsets inside it with their own lifetimes (``add_group``): an in-place chain, where an op
writes its output over its dying input. Parts of one group never conflict with each other.

Four planners:
- ``search`` (the default): the smallest arena of several placements: greedy by size, and
  schedule order or longest-lived first with each buffer against one end of the free space it
  lands in, aimed at the live-bytes floor and 1%, 2%, 5% and 10% above it (see :class:`Search`);
  a group whose low bytes free first (the step input of a tiled prefix, consumed row band by
  row band) goes against the top of its range, so the rows it frees join the space below.
  Measured (``benchmarks/planners.py``): reaches the floor on the untiled reordered steps of
  mcunet-5fps and mbv2-w0.35 where greedy by size leaves 19% and 5%; within 2% of it on the
  tiled steps `tinybench paper` picks for all 15 published schemes.
- ``greedy-size``: largest buffer first, each at the lowest offset that does not overlap a
  placed buffer whose lifetime overlaps (TFLM's GreedyMemoryPlanner). Fast; not optimal: a
  large short-lived buffer can push small long-lived ones up.
- ``first-fit``: buffers in schedule order (by first use), each at the lowest free gap; this is
  how the paper's engine places its tensors (REFERENCE.md).
- ``linear``: no reuse at all, every buffer after the previous one; the upper bound.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tinybench.plan import placement
from tinybench.plan.placement import UNBOUNDED


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
        return _arena(self._groups, self._plan())

    def arena_below(self, beat: int) -> int | None:
        """The arena if it is below ``beat``, else None, found sooner where the planner can
        tell early that it will not get below (:meth:`place_below`)."""
        if self._offsets is None:
            offsets = self.place_below(self._groups, beat)
            if offsets is None:
                return None
            self._offsets = offsets
        arena = self.arena_size()
        return arena if arena < beat else None

    def live_floor(self) -> int:
        """Most bytes live at any one op: no placement of these buffers needs less."""
        return _live_floor(self._groups)

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

    def place_below(self, groups: list[Group], beat: int) -> list[int] | None:
        """``place(groups)`` if its arena is below ``beat``, else None: a caller holding a
        plan of ``beat`` bytes needs no other, and a planner may stop as soon as it knows."""
        offsets = self.place(groups)
        return offsets if _arena(groups, offsets) < beat else None


def _collide(off_a: int, size_a: int, off_b: int, size_b: int) -> bool:
    return off_a < off_b + size_b and off_b < off_a + size_a


def _arena(groups: list[Group], offsets: list[int]) -> int:
    return max((o + p.offset + p.size for o, g in zip(offsets, groups) for p in g), default=0)


def _peak_size(group: Group) -> int:
    return max(p.offset + p.size for p in group)


def _frees_low(group: Group) -> bool:
    """Whether the group's lowest bytes free before its highest: a step input consumed by
    row bands, whose first rows die with the first band."""
    low = min(group, key=lambda p: (p.offset, -p.last))
    high = max(group, key=lambda p: (p.offset + p.size, p.last))
    return low.last < high.last


def _first(group: Group) -> int:
    return min(p.first for p in group)


def covered(ranges: list[tuple[int, int]]) -> int:
    """Bytes covered by the ranges ``(offset, size)``, each byte once."""
    total, end = 0, 0
    for off, size in sorted(ranges):
        lo, hi = max(off, end), off + size
        if hi > lo:
            total += hi - lo
            end = hi
    return total


def live_extents(parts) -> tuple[int, list[int]]:
    """The first op of ``parts`` (anything with offset, size, first and last) and the bytes
    they cover at each op from it on (parts that overlap count once), in one sweep."""
    first = min(p.first for p in parts)
    live: list[list[tuple[int, int]]] = [[] for _ in range(max(p.last for p in parts) - first + 1)]
    for p in parts:
        if p.size:
            for t in range(p.first - first, p.last - first + 1):
                live[t].append((p.offset, p.size))
    return first, [covered(r) if len(r) > 1 else r[0][1] if r else 0 for r in live]


def _live_floor(groups: list[Group]) -> int:
    """Max over ops of the bytes live there (a group counts the bytes of its parts live there)."""
    if not groups:
        return 0
    n = max(p.last for g in groups for p in g) + 2
    delta = [0] * n
    live = [0] * (n - 1)
    for g in groups:
        if len(g) == 1:
            delta[g[0].first] += g[0].size
            delta[g[0].last + 1] -= g[0].size
            continue
        first, extents = live_extents(g)
        for t, n_bytes in enumerate(extents, start=first):
            live[t] += n_bytes
    run = 0
    for t in range(n - 1):
        run += delta[t]
        live[t] += run
    return max(live)


class _Conflicts:
    """Which offsets of a group collide with another group, computed once per problem.

    Group i at x and group j at y collide iff x lies in ``[y + lo, y + hi)`` for one of the
    entries ``(j, lo, hi, last)`` of i (rows ``start[i]`` to ``start[i + 1]`` of the flat
    arrays ``other``, ``lo``, ``hi``, ``last``): one per pair of their parts live together, the
    ranges of one pair that overlap or touch merged (a sliced tensor meets its neighbour in
    many parts, and every placement pays for each entry); ``last`` is the last op of j's part,
    used to judge how soon a neighbour frees its bytes. Built with numpy over all pairs of
    parts at once; each placement of a problem reads the same ones
    (:mod:`tinybench.plan.placement`).
    """

    def __init__(self, groups: list[Group]):
        self.peaks = np.array([_peak_size(g) for g in groups], np.int64)
        self.lows = np.array([min(p.offset for p in g) for g in groups], np.int64)
        self.frees_low = np.array([_frees_low(g) for g in groups], np.int64)
        self.start = np.zeros(len(groups) + 1, np.int64)
        self.other = self.lo = self.hi = self.last = np.zeros(0, np.int64)
        rows = [(k, p.offset, p.size, p.first, p.last) for k, g in enumerate(groups) for p in g if p.size]
        if not rows:
            return
        gid, off, size, first, last = np.array(rows, dtype=np.int64)[np.argsort([r[3] for r in rows],
                                                                                 kind="stable")].T
        # part k (by first op) meets the parts after it that start before it ends
        count = np.searchsorted(first, last, side="right") - np.arange(1, len(first) + 1)
        k = np.repeat(np.arange(len(first)), count)
        m = k + 1 + np.arange(len(k)) - np.repeat(np.cumsum(count) - count, count)
        other_group = gid[k] != gid[m]
        k, m = k[other_group], m[other_group]
        if not len(k):
            return
        p, q = np.concatenate([k, m]), np.concatenate([m, k])  # p of group i (placed at x), q of group j (at y)
        i, j = gid[p], gid[q]
        lo = off[q] - off[p] - size[p] + 1  # x + p.off < y + q.off + q.size and y + q.off < x + p.off + p.size
        hi = off[q] + size[q] - off[p]
        end = last[q]
        s = np.lexsort((end, hi, lo, j, i))
        i, j, lo, hi, end = i[s], j[s], lo[s], hi[s], end[s]
        pair = np.ones(len(i), dtype=bool)
        pair[1:] = (i[1:] != i[:-1]) | (j[1:] != j[:-1])
        # a range starts a new merged one where it begins above every range before it of its pair:
        # shifted by the pair's rank, one running maximum serves all pairs
        shift = np.cumsum(pair) * (int(hi.max() - lo.min()) + 1)
        reach = np.maximum.accumulate(hi + shift)
        start = pair.copy()
        start[1:] |= lo[1:] + shift[1:] > reach[:-1]
        at = np.flatnonzero(start)
        self.other, self.lo = j[at], lo[at]
        self.hi, self.last = np.maximum.reduceat(hi, at), np.maximum.reduceat(end, at)
        self.start = np.searchsorted(i[at], np.arange(len(groups) + 1))

    def entries(self, i: int) -> list[tuple[int, int, int, int]]:
        """Group i's entries ``(j, lo, hi, last)``."""
        a, b = self.start[i], self.start[i + 1]
        return list(zip(*(v[a:b].tolist() for v in (self.other, self.lo, self.hi, self.last))))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.start, self.other, self.lo, self.hi, self.last, self.peaks


def _ordered_lowest_fit(order: list[int], conflicts: _Conflicts, beat: int = UNBOUNDED) -> list[int] | None:
    """Each group at its lowest free offset; None as soon as one reaches ``beat``."""
    offsets, done = placement.lowest_fit(np.array(order, np.int64), *conflicts.arrays(), beat)
    return offsets.tolist() if done else None


def _against_an_end(order: list[int], conflicts: _Conflicts, arena: int, beat: int = UNBOUNDED) -> list[int] | None:
    """Each group at the bottom or the top of a free range below ``arena``, next to the
    neighbour that stays longest (the arena's ends stay forever), so the bytes that free up
    soon form one range instead of slivers on both sides; lowest fit if nothing fits.

    None as soon as a group reaches ``beat``: the caller has a placement of that arena, and
    an arena never shrinks as groups are added, so this one could not be smaller.
    """
    offsets, done = placement.against_an_end(np.array(order, np.int64), *conflicts.arrays(), conflicts.lows,
                                             conflicts.frees_low, arena, beat)
    return offsets.tolist() if done else None


class _OrderedFit(Planner):
    """Place groups in some order, each at the lowest offset that fits."""

    @abstractmethod
    def order(self, groups: list[Group]) -> list[int]: ...

    def place(self, groups: list[Group]) -> list[int]:
        offsets = _ordered_lowest_fit(self.order(groups), _Conflicts(groups))
        assert offsets is not None  # nothing to beat
        return offsets


def _by_size(groups: list[Group]) -> list[int]:
    return sorted(range(len(groups)), key=lambda i: (-_peak_size(groups[i]), _first(groups[i]), i))


def _by_first_use(groups: list[Group]) -> list[int]:
    return sorted(range(len(groups)), key=lambda i: (_first(groups[i]), i))


class GreedyBySize(_OrderedFit):
    name = "greedy-size"
    description = "largest first, lowest non-overlapping offset (TFLM greedy)"

    def order(self, groups: list[Group]) -> list[int]:
        return _by_size(groups)


class FirstFitInSchedule(_OrderedFit):
    name = "first-fit"
    description = "schedule order, lowest free gap (the paper's engine)"

    def order(self, groups: list[Group]) -> list[int]:
        return _by_first_use(groups)


#: Arenas the search's placements aim at after the live-bytes floor itself, in % above it (rounded
#: down to 16 bytes), tightest first: a placement aimed too low falls back to lowest fit and
#: fragments (20-24% over the floor on mbv2-w0.35's prefix on 4 or 6 bands), so looser aims follow.
TARGETS_ABOVE_FLOOR_PCT = (1, 2, 5, 10)
#: Planning stops trying placements once the arena is within this factor of the live-bytes floor.
GOOD_ENOUGH = 1.01


def _aligned(n: int, to: int = 16) -> int:
    """``n`` rounded down to a multiple of ``to``, so that buffers placed against it stay aligned."""
    return n // to * to


def _by_lifetime(groups: list[Group]) -> list[int]:
    """Longest-lived first: the tensors the short-lived ones must fit around."""
    return sorted(range(len(groups)), key=lambda i: (_first(groups[i]) - max(p.last for p in groups[i]),
                                                     -_peak_size(groups[i]), i))


class Search(Planner):
    """The smallest arena of several placements.

    Greedy by size is good where many buffers live long (the unfused schedule's gradients),
    and bad on a chain of short-lived activations: a large buffer placed first at offset 0
    leaves the next op's output a gap in the middle, and the fragments add up (19% over the
    floor on mcunet-5fps). Placing buffers in schedule order, each against the end of its free
    range whose neighbour stays longest, makes a chain ping-pong between the two ends of an
    arena of the live-bytes floor, as a hand-made double buffer would; longest-lived first
    suits a tiled prefix, where the step input and the assembled tensor outlive every band.
    Each placement is one pass over the conflicts; the search stops once within
    ``GOOD_ENOUGH`` of the floor.
    """

    name = "search"
    description = "best of greedy by size and placements against the live-bytes floor (default)"

    def place(self, groups: list[Group]) -> list[int]:
        offsets = self.place_below(groups, UNBOUNDED)
        assert offsets is not None  # every arena is below the unbounded one
        return offsets

    def place_below(self, groups: list[Group], beat: int) -> list[int] | None:
        """The search's placement if below ``beat``, else None; the same placements are
        tried as without ``beat``, each given up once it reaches ``beat`` and no stopping
        rule (the targets, ``GOOD_ENOUGH``) could see its arena: then its arena changes
        nothing, and the result is the same as ``place``'s, found sooner."""
        conflicts = _Conflicts(groups)
        floor = _live_floor(groups)
        targets = (floor, *(_aligned(floor * (100 + pct) // 100) for pct in TARGETS_ABOVE_FLOOR_PCT))
        stop = max(beat, int(floor * GOOD_ENOUGH) + 1, max(targets) + 1)
        best = _ordered_lowest_fit(_by_size(groups), conflicts, beat=stop)
        arena = stop if best is None else _arena(groups, best)  # a placement given up: at least stop
        by_time = sorted(range(len(groups)), key=lambda i: (_first(groups[i]), -_peak_size(groups[i]), i))
        for order in (by_time, _by_lifetime(groups)):
            for target in targets:
                if arena <= floor * GOOD_ENOUGH:
                    return best if arena < beat else None
                offsets = _against_an_end(order, conflicts, target, beat=min(arena, stop))
                if offsets is not None:  # smaller than the best so far
                    best, arena = offsets, _arena(groups, offsets)
                if arena <= target:
                    break  # a larger target only loosens the fit
        return best if arena < beat else None


#: Work limit of the exact planner's solver, in CP-SAT's deterministic seconds (a count of its
#: work, not the clock), so that a plan is the same on every machine and every run.
EXACT_WORK_LIMIT = 0.3
#: The exact planner calls the solver only where the search leaves more than this over the floor.
EXACT_ABOVE = 1.02


class Exact(Planner):
    """The search's placement, improved by a constraint solver where it leaves more than 2%.

    Every pair of groups with parts live together forbids the difference of their offsets
    from a union of ranges (one per pair of parts); the model is one integer offset per group
    (in units of the largest power of two up to 4 dividing every size and part offset), one
    difference variable per conflicting pair whose domain is the complement of those ranges,
    and the arena as the objective, with the search's offsets as the hint and the live-bytes
    floor as its lower bound. OR-Tools CP-SAT, one worker, a fixed seed and a deterministic
    work limit (``EXACT_WORK_LIMIT``): the same plan every run. Where the solver proves its
    arena optimal the gap left to the floor is not the planner's: no placement of these
    buffers does better (measured, ``benchmarks/planners.py``). Without OR-Tools, or when the
    solver finds nothing better, the search's placement stands.
    """

    name = "exact"
    description = "the search's placement, then CP-SAT (deterministic work limit) where it leaves >2% over the floor"

    def __init__(self) -> None:
        super().__init__()
        self.proved_optimal = False

    def place(self, groups: list[Group]) -> list[int]:
        best = Search().place(groups)
        floor = _live_floor(groups)
        if _arena(groups, best) <= floor * EXACT_ABOVE:
            return best
        try:
            from ortools.sat.python import cp_model
        except ImportError:  # the search's placement stands (pyproject installs OR-Tools)
            return best
        return self._solve(cp_model, groups, best, floor)

    def _solve(self, cp_model, groups: list[Group], hint: list[int], floor: int) -> list[int]:
        unit = 4
        for g in groups:
            for p in g:
                while unit > 1 and (p.size % unit or p.offset % unit):
                    unit //= 2
        upper = _arena(groups, hint)
        top = -(-upper // unit)
        model = cp_model.CpModel()
        sizes = [-(-_peak_size(g) // unit) for g in groups]
        y = [model.new_int_var(0, max(0, top - sizes[i]), f"y{i}") for i in range(len(groups))]
        arena = model.new_int_var(-(-floor // unit), top, "arena")
        for i, v in enumerate(y):
            model.add(unit * v + _peak_size(groups[i]) <= unit * arena)
            model.add_hint(v, hint[i] // unit)
        below: list[dict[int, list[list[int]]]] = [{} for _ in groups]  # below[j][i], i < j: ranges of x_i - x_j
        conflicts = _Conflicts(groups)
        for i in range(len(groups)):
            for j, a, b, _ in conflicts.entries(i):
                if i < j:  # x_i - x_j may not lie in [a, b): in units, in [ceil(a/u), ceil(b/u) - 1]
                    lo, hi = -(-a // unit), -(-b // unit) - 1
                    if lo <= hi:
                        below[j].setdefault(i, []).append([lo, hi])
        firsts = [_first(g) for g in groups]
        for j, pairs in enumerate(below):
            for i in sorted(pairs, key=lambda k: (firsts[k], k)):  # the solver's variables in schedule order
                ranges = pairs[i]
                allowed = cp_model.Domain.from_intervals(ranges).complement().intersection_with(
                    cp_model.Domain(-top, top))
                d = model.new_int_var_from_domain(allowed, f"d{i}_{j}")
                model.add(d == y[i] - y[j])
        model.minimize(arena)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = 0
        solver.parameters.max_deterministic_time = EXACT_WORK_LIMIT
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return hint
        self.proved_optimal = status == cp_model.OPTIMAL
        offsets = [unit * solver.value(v) for v in y]
        return offsets if _arena(groups, offsets) < upper else hint


class Linear(Planner):
    name = "linear"
    description = "no reuse: each buffer after the previous (upper bound)"

    def place(self, groups: list[Group]) -> list[int]:
        offsets, end = [], 0
        for g in groups:
            offsets.append(end)
            end += _peak_size(g)
        return offsets


PLANNERS: dict[str, type[Planner]] = {p.name: p for p in (Search, Exact, GreedyBySize, FirstFitInSchedule, Linear)}
DEFAULT_PLANNER = Search.name


def get_planner(name: str) -> Planner:
    try:
        return PLANNERS[name]()
    except KeyError:
        raise ValueError(f"unknown planner '{name}'; available: {', '.join(PLANNERS)}") from None
