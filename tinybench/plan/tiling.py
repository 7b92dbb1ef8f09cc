"""Choosing how to tile the frozen prefix of a training step (see tinybench.graph.tiling).

A tiling (the first n ops on T row bands) changes only the ops before the cut: after it the
step is the same, with the one assembled tensor whole. So the live-bytes floor of a tiled
step is the larger of the floor of its band ops (the step input and the assembled tensor
count with the bytes live at each band op) and the untiled floor from the cut on; the band
floors depend only on the model's prefix, not on the scheme, and are cached. The floor ranks
the tilings; since the planner does not reach every floor equally well, the best few are
planned (and the untiled step with them) and the smallest arena wins, ties to the cheaper.

Requests: ``none``; ``N:TILES``; ``min-memory`` (the smallest arena at any cost);
``auto`` (the default): the same among tilings whose recomputation costs at most
``AUTO_BUDGET`` of the untiled step. The cost is pluggable (``tinybench.graph.cost.OpCost``,
summed over ops); until the estimator predicts cycles it is the convolution MACs, a proxy for
cycles.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from tinybench.graph.cost import OpCost, op_macs
from tinybench.graph.tiling import TilingError, tile_prefix, tiled_prefix, tiling_cuts
from tinybench.graph.training import TrainingGraph
from tinybench.plan.lifetimes import buffers, live_bytes
from tinybench.plan.memory import MemoryPlan, plan_memory, plan_memory_below
from tinybench.plan.planners import DEFAULT_PLANNER, EXACT_ABOVE, GOOD_ENOUGH, Exact, Search

#: ``auto`` never picks a tiling whose extra cost exceeds this fraction of the untiled step.
AUTO_BUDGET = 0.10
#: At most this many tilings (the smallest floors first) are planned; planning stops early at
#: an arena within ``GOOD_ENOUGH`` of the smallest floor, or below the next floor.
PLANNED = 3
#: Most tiles the automatic choices try (a forced ``N:TILES`` may use up to the tensor's rows).
MAX_AUTO_TILES = 16
REQUESTS = ("auto", "none", "min-memory", "N:TILES")


@dataclass
class TilingChoice:
    """The chosen graph and why: its floor and cost next to the untiled step's."""

    graph: TrainingGraph  # tiled, or the untiled graph itself
    plan: MemoryPlan
    request: str
    floor_bytes: int
    untiled_floor_bytes: int
    step_cost: float  # of the untiled step
    extra_cost: float  # what the tiling adds (recomputed halo rows)
    cost_unit: str
    candidates: int  # tilings compared

    @property
    def extra_fraction(self) -> float:
        return self.extra_cost / self.step_cost if self.step_cost else 0.0

    def to_json(self) -> dict:
        t = self.graph.tiling
        return {"request": self.request, "ops": t.ops if t else 0, "tiles": t.tiles if t else 0,
                "output": t.output if t else None, "floor_bytes": self.floor_bytes,
                "untiled_floor_bytes": self.untiled_floor_bytes, "extra_cost": self.extra_cost,
                "step_cost": self.step_cost, "extra_fraction": self.extra_fraction, "cost_unit": self.cost_unit,
                "candidates": self.candidates}


def parse_tiling(text: str) -> str | tuple[int, int]:
    """``auto``, ``none``, ``min-memory`` or ``N:TILES`` (two integers)."""
    if text in ("auto", "none", "min-memory"):
        return text
    try:
        ops, tiles = (int(x) for x in text.split(":"))
    except ValueError:
        raise TilingError(f"'{text}' is not one of {', '.join(REQUESTS)}") from None
    return ops, tiles


def choose_tiling(graph: TrainingGraph, request: str | tuple[int, int] = "auto", planner: str = DEFAULT_PLANNER,
                  cost: OpCost = op_macs, cost_unit: str = "MACs", budget: float = AUTO_BUDGET) -> TilingChoice:
    """The graph for ``request`` and its memory plan (see the module docstring); the plan's
    ``planning_s`` includes the time of the choice."""
    start = time.perf_counter()
    if isinstance(request, str) and request not in ("auto", "none", "min-memory"):
        request = parse_tiling(request)
    n_ops = len(graph.ops)
    untiled = live_bytes(buffers(graph), n_ops)
    from_cut = untiled + [0]
    for i in range(n_ops - 1, -1, -1):
        from_cut[i] = max(untiled[i], from_cut[i + 1])  # floor of the ops from i on
    upto = [0.0]  # upto[n]: cost of the first n ops
    for op in graph.ops:
        upto.append(upto[-1] + cost(graph, op))
    total = upto[-1]
    label = request if isinstance(request, str) else f"{request[0]}:{request[1]}"

    def choice(g: TrainingGraph, plan: MemoryPlan, extra: float, candidates: int) -> TilingChoice:
        plan.planning_s = time.perf_counter() - start
        return TilingChoice(g, plan, label, plan.floor_bytes, from_cut[0], total, extra, cost_unit, candidates)

    def evaluate(ops: int, tiles: int) -> tuple[int, float]:
        band_floor, band_cost = _prefix(graph, ops, tiles, cost)
        return max(band_floor, from_cut[ops]), band_cost - upto[ops]

    if request == "none":
        return choice(graph, plan_memory(graph, planner), 0.0, 0)
    if isinstance(request, tuple):
        tiled = tile_prefix(graph, *request)
        return choice(tiled, plan_memory(tiled, planner), evaluate(*request)[1], 1)
    best = [(from_cut[0], 0.0, 0, 0)]
    for ops in tiling_cuts(graph):
        if from_cut[ops] >= min(b[0] for b in best):
            continue  # the untiled rest alone needs as much as the best so far
        height = graph.tensors[graph.ops[ops - 1].outputs[0]].shape[0]
        for tiles in range(2, min(height, MAX_AUTO_TILES) + 1):
            floor, extra = evaluate(ops, tiles)
            if request == "auto" and extra > budget * total:
                break  # more tiles only recompute more
            best.append((floor, extra, ops, tiles))
    best.sort(key=lambda b: (b[0], b[1]))
    screen = SCREEN.get(planner, planner)
    planned: list[_Planned] = []

    def plan(g: TrainingGraph, extra: float) -> MemoryPlan | None:
        """``g``'s plan; with no slower planner to refine the screened plans, None where it
        could not be chosen over the best so far (an arena no smaller, or the same at no
        less cost), which the planner finds sooner than the plan."""
        top = _smallest(planned)
        if top is None or screen != planner:
            return plan_memory(g, screen)
        return plan_memory_below(g, top[0].arena_bytes + (extra < top[1]), screen)

    for floor, extra, ops, tiles in best:
        if planned and (len(planned) == PLANNED or floor >= _smallest(planned)[0].arena_bytes
                        or _smallest(planned)[0].arena_bytes <= best[0][0] * GOOD_ENOUGH):
            break  # a floor is a lower bound of its arena: what is left cannot do better
        g = tile_prefix(graph, ops, tiles) if ops else graph
        planned.append((plan(g, extra), extra, g))
    if all(p[2] is not graph for p in planned) and _smallest(planned)[0].arena_bytes > from_cut[0]:
        planned.append((plan(graph, 0.0), 0.0, graph))  # auto is never worse than none
    if screen != planner:
        planned = _refined(planned, planner)
    plan, extra, g = _smallest(planned)
    return choice(g, plan, extra, len(best) - 1)


_Planned = tuple[MemoryPlan | None, float, TrainingGraph]  # a tiling's plan (None: it could not win), extra cost


def _smallest(planned: list[_Planned]) -> _Planned | None:
    """The plan of the smallest arena, the cheapest of those (the first of equals)."""
    return min((p for p in planned if p[0] is not None), key=lambda p: (p[0].arena_bytes, p[1]), default=None)


#: A slow planner is screened by a fast one: every tiling is planned by the fast one, and the
#: slow one replans the best few (``REFINED``) of them.
SCREEN = {Exact.name: Search.name}
REFINED = 3


def _refined(planned: list[_Planned], planner: str) -> list[_Planned]:
    """Replan with ``planner`` the screened plans, smallest arena first, until one is within
    ``EXACT_ABOVE`` of its floor or no floor left is below the best arena: the solver reaches
    floors the screen misses (proxyless-w0.3:98kb, 3 ops on 7 bands: 73,728 B screened,
    66,560 B = its floor exact), so the screen's order is only a guess."""
    out: list[_Planned] = []
    for plan, extra, g in sorted(planned, key=lambda p: (p[0].arena_bytes, p[1])):
        best = min((p[0].arena_bytes for p in out), default=None)
        if len(out) == REFINED or (best is not None and (plan.floor_bytes >= best or any(
                p[0].arena_bytes <= p[0].floor_bytes * EXACT_ABOVE for p in out))):
            break
        out.append((plan_memory(g, planner), extra, g))
    return out


_PREFIX_CACHE: dict[tuple, tuple[TrainingGraph, int]] = {}


def _prefix(graph: TrainingGraph, ops: int, tiles: int, cost: OpCost) -> tuple[int, float]:
    """Floor and cost of the band ops replacing ``graph.ops[:ops]`` on ``tiles`` bands."""
    key = (graph.model.name, tiles, tuple((op.name, op.kind, tuple(graph.tensors[t].shape for t in op.outputs))
                                          for op in graph.ops[:ops]))
    if key not in _PREFIX_CACHE:
        prefix = tiled_prefix(graph, ops, tiles)
        bands = replace(graph, ops=prefix.ops, tensors=prefix.tensors, tiling=prefix.tiling)
        bufs = buffers(bands)
        end = len(prefix.ops) - 1
        for b in bufs:  # the assembled tensor lives on after the band ops
            for p in b.parts:
                if p.tensor == prefix.tiling.output:
                    p.last = end
        if len(_PREFIX_CACHE) > 4096:
            _PREFIX_CACHE.clear()
        _PREFIX_CACHE[key] = (bands, max(live_bytes(bufs, len(prefix.ops))))
    bands, floor = _PREFIX_CACHE[key]
    return floor, sum(cost(bands, op) for op in bands.ops)


__all__ = ["AUTO_BUDGET", "MAX_AUTO_TILES", "REQUESTS", "TilingChoice", "TilingError", "choose_tiling",
           "parse_tiling"]
