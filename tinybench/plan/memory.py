"""The memory plan of one training step and the report built from it.

SRAM of a training step = the arena (every activation, saved activation, mask, gradient and
scratch buffer, placed by a planner) + the trainable parameters (copied to SRAM because they
change) + the firmware's static data (known once firmware is built). Frozen parameters stay
in flash.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tinybench.graph.training import Category, TrainingGraph
from tinybench.plan.lifetimes import Buffer, Lifetimes, buffers, live_bytes, needed_inplace_ops
from tinybench.plan.planners import DEFAULT_PLANNER, GOOD_ENOUGH, UNBOUNDED, get_planner


@dataclass
class MemoryPlan:
    """Offsets of every arena tensor; in-place tensors share their buffer's offset."""

    graph: TrainingGraph
    planner: str
    buffers: list[Buffer]
    buffer_offsets: list[int]
    arena_bytes: int
    floor_bytes: int  # most bytes live at one op with every in-place write taken: no plan needs less
    planning_s: float  # wall time of lifetime analysis and placement

    @property
    def offsets(self) -> dict[str, int]:
        return {t: off + rel for buf, off in zip(self.buffers, self.buffer_offsets)
                for t, rel in buf.tensors.items()}

    def live_bytes(self, op: int) -> int:
        return sum(b.extent_at(op) for b in self.buffers)

    def live_by_category(self) -> list[dict[str, int]]:
        """Arena bytes live at each op, by category (a buffer counts for its newest tensor's):
        the memory timeline of the step."""
        out = []
        for op in range(len(self.graph.ops)):
            row = {c.value: 0 for c in Category}
            for b in self.buffers:
                size = b.extent_at(op)
                if size:
                    row[b.category_at(op).value] += size
            out.append(row)
        return out

    def peak_op_index(self) -> int:
        """The op at which the most arena bytes are live (the first, on ties)."""
        live = live_bytes(self.buffers, len(self.graph.ops))
        return max(range(len(live)), key=lambda i: (live[i], -i)) if live else 0


def plan_memory(graph: TrainingGraph, planner: str = DEFAULT_PLANNER, inplace: bool | str = "auto") -> MemoryPlan:
    """Place every tensor of ``graph`` with ``planner``.

    ``inplace``: ``True``, every op that may write its output over its dying input does;
    ``False``, none does; ``"auto"``, the smaller arena of ``True`` and of only the in-place
    writes the live-bytes floor needs (:func:`needed_inplace_ops`): an in-place write pins
    its output to its input's offset, which can leave a hole the next op's tensors cannot use.
    """
    plan = plan_memory_below(graph, UNBOUNDED, planner, inplace)
    assert plan is not None  # every arena is below the unbounded one
    return plan


def plan_memory_below(graph: TrainingGraph, beat: int, planner: str = DEFAULT_PLANNER,
                      inplace: bool | str = "auto") -> MemoryPlan | None:
    """``plan_memory``'s plan if its arena is below ``beat``, else None: a caller that holds
    a plan of ``beat`` bytes needs no worse one, and the planner gives up a placement as
    soon as it reaches ``beat`` (:meth:`~tinybench.plan.planners.Planner.arena_below`).
    Each in-place choice but the last is placed exactly up to ``GOOD_ENOUGH`` of the floor,
    which decides whether the next is tried, so the plan is the same as without ``beat``."""
    start = time.perf_counter()
    lifetimes = Lifetimes.of(graph)
    chained = buffers(graph, lifetimes=lifetimes)
    floor = max(live_bytes(chained, len(graph.ops)), default=0)
    if inplace == "auto":
        choices: list[bool | set[int]] = [needed_inplace_ops(graph, floor, lifetimes), True]
    elif isinstance(inplace, bool):
        choices = [inplace]
    else:
        raise ValueError(f"inplace must be True, False or 'auto', not {inplace!r}")
    best = None
    for k, choice in enumerate(choices):
        p = get_planner(planner)
        bufs = chained if choice is True else buffers(graph, inplace=choice, lifetimes=lifetimes)
        for b in bufs:
            p.add_group([(part.offset, part.size, part.first, part.last) for part in b.parts])
        bound = beat if best is None else min(beat, best[2])
        if k < len(choices) - 1:
            bound = max(bound, int(floor * GOOD_ENOUGH) + 1)
        arena = p.arena_below(bound)
        if arena is not None and (best is None or arena < best[2]):
            best = (p, bufs, arena)
        if best is not None and best[2] <= floor * GOOD_ENOUGH:
            break
    if best is None or best[2] >= beat:
        return None
    p, bufs, arena = best
    return MemoryPlan(graph, p.name, bufs, [p.offset(i) for i in range(len(bufs))], arena, floor,
                      time.perf_counter() - start)


@dataclass
class LiveTensor:
    name: str
    bytes: int
    category: str


@dataclass
class MemoryReport:
    """What `tinybench estimate` prints: the memory of one training step."""

    model: str
    scheme: str
    schedule: str
    planner: str
    precision: str
    arena_bytes: int
    trainable_sram_bytes: int
    peak_sram_bytes: int
    flash_bytes: int
    breakdown: dict[str, int]
    peak_op: str
    peak_live_bytes: int
    peak_live: list[LiveTensor]
    floor_bytes: int
    planning_s: float
    ops: int
    tensors: int
    tiling: dict | None = None  # the tiling of the frozen prefix, if any (TilingChoice.to_json)

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["peak_live"] = [t.__dict__ for t in self.peak_live]
        d["units"] = "bytes"
        d["notes"] = ("peak_sram_bytes = arena_bytes + trainable_sram_bytes (firmware static data "
                      "not included); flash_bytes = frozen parameters and requantization "
                      "constants (code not included); floor_bytes = most bytes live at one op "
                      "with every in-place write taken, the least arena this schedule can have; "
                      "peak_live_bytes = bytes live at peak_op in this plan")
        return d


def memory_report(plan: MemoryPlan, tiling: dict | None = None) -> MemoryReport:
    g = plan.graph
    peak = plan.peak_op_index()
    breakdown = {c.value: 0 for c in Category}
    live = []
    for buf in plan.buffers:
        if buf.live_at(peak):
            cat = buf.category_at(peak)
            size = buf.extent_at(peak)
            breakdown[cat.value] += size
            names = list(dict.fromkeys(part.tensor for part in buf.live_parts(peak)))
            live.append(LiveTensor(" = ".join(names), size, cat.value))
    live.sort(key=lambda t: -t.bytes)
    return MemoryReport(
        model=g.model.name,
        scheme=g.scheme.scheme.label,
        schedule=g.schedule.value,
        planner=plan.planner,
        precision=g.precision.value,
        arena_bytes=plan.arena_bytes,
        trainable_sram_bytes=g.trainable_bytes,
        peak_sram_bytes=plan.arena_bytes + g.trainable_bytes,
        flash_bytes=g.frozen_bytes,
        breakdown=breakdown,
        peak_op=g.ops[peak].name if g.ops else "",
        peak_live_bytes=sum(t.bytes for t in live),
        peak_live=live,
        floor_bytes=plan.floor_bytes,
        planning_s=plan.planning_s,
        ops=len(g.ops),
        tensors=len(g.tensors),
        tiling=tiling,
    )
