"""The scheme search: candidates, their predicted cost, and the search for the best one.

A candidate is a bias window (one of the windows the contribution analysis measured) and a
ratio for each candidate weight layer inside it (0 = bias only). Its score is the sum of the
measured contributions; its cost is what the estimator predicts a build of its step occupies
and takes: peak SRAM (static data + arena + stack: the memory plan of the step as ``run``
builds it) and the latency of one step on the target.

Search: exhaustive when the space is small (it is exact), else an evolutionary search as in the
paper. Why evolutionary and not a knapsack: the score is additive, but the peak SRAM is not (it
is the peak over the schedule of a planned arena, after the tiling choice), so there is no
per-layer cost to sum; the search needs only a black-box feasibility test, which the memory
plan answers in milliseconds, and it keeps the best feasible candidates of each generation, so
a budget at the edge of the space is explored from both sides.

Cost of a candidate (the screen): compiling its step with the tiling chosen for its bias
window's bias-only step (cached per window: the tiling only cuts the frozen prefix before the
window, which the weights inside it do not change) and a lower bound of its peak SRAM, the
live-bytes floor of that step (no arena goes below it) plus its trained parameters and the
calibration's fixed static data and stack; with a latency budget, the estimator's latency too.
Every candidate is screened once (cached by its genes). The best screened candidates are then
predicted exactly as ``tinybench estimate`` and ``run`` build them (tiling chosen for the
candidate itself, the planned arena), and the best that fits there is the answer.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np

from tinybench.errors import TinybenchError
from tinybench.estimate.batch import Configuration, _calibration, _model, choose_step, estimate_plan, profile_of
from tinybench.estimate.profile import count_graph
from tinybench.estimate.step import cost_step
from tinybench.graph.schemes import Scheme, resolve
from tinybench.graph.tiling import tile_prefix
from tinybench.graph.training import compile_training
from tinybench.plan.lifetimes import buffers, live_bytes

#: Below this many candidates the space is searched exhaustively.
EXHAUSTIVE_LIMIT = 4000


class BudgetError(TinybenchError):
    """A budget no candidate meets; the message gives the smallest feasible budget."""


@dataclass(frozen=True)
class Candidate:
    n_bias: int
    ratios: tuple[float, ...]  # per candidate layer, 0 = bias only

    def scheme(self, layers: tuple[int, ...], name: str = "search") -> Scheme:
        idx = [(j, r) for j, r in zip(layers, self.ratios) if r > 0]
        return Scheme(name, self.n_bias, tuple(j for j, _ in idx), tuple(r for _, r in idx))


@dataclass
class Space:
    """What the contribution table allows: windows, layers, ratios and their contributions."""

    n: int  # convolutions before the classifier
    layers: tuple[int, ...]
    ratios: tuple[float, ...]  # the non-zero ratios measured
    bias: dict[int, float]  # n_bias -> contribution
    weight: dict[tuple[int, float], float]  # (layer, ratio) -> contribution

    @classmethod
    def from_table(cls, table) -> "Space":
        n = int(table.attrs["provenance"]["convs_before_classifier"])
        b = table[table.kind == "bias"]
        w = table[table.kind == "weight"]
        return cls(n, tuple(sorted(int(j) for j in set(w.layer))), tuple(sorted(float(r) for r in set(w.ratio))),
                   {int(r.n_bias): float(r.contribution) for r in b.itertuples()},
                   {(int(r.layer), float(r.ratio)): float(r.contribution) for r in w.itertuples()})

    def allowed(self, n_bias: int) -> list[bool]:
        return [j >= self.n - n_bias for j in self.layers]

    def score(self, c: Candidate) -> float:
        return self.bias[c.n_bias] + sum(self.weight[(j, r)] for j, r in zip(self.layers, c.ratios) if r > 0)

    def candidates(self):
        """Every valid candidate (ratios only on layers inside the window)."""
        for nb in sorted(self.bias):
            options = [(0.0, *self.ratios) if ok else (0.0,) for ok in self.allowed(nb)]
            for ratios in product(*options):
                yield Candidate(nb, tuple(ratios))

    def size(self) -> int:
        return sum(math.prod(len(self.ratios) + 1 if ok else 1 for ok in self.allowed(nb)) for nb in self.bias)

    def largest(self) -> Candidate:
        nb = max(self.bias)
        return Candidate(nb, tuple(max(self.ratios) if ok else 0.0 for ok in self.allowed(nb)))


@dataclass
class Evaluator:
    """Predicted peak SRAM and latency of candidates, each computed once."""

    source: str  # model name or file, as the estimator loads it
    space: Space
    config: Configuration  # target, kernels, planner, ... (its scheme is not read)
    latency: bool = True  # screen latency too (for a latency budget; exact predictions always have it)
    seen: dict[Candidate, dict] = field(default_factory=dict)
    _tilings: dict[int, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def graph(self, c: Candidate):
        model = _model(self.source)
        return compile_training(model, resolve(c.scheme(self.space.layers), model), self.config.schedule)

    def tiling_for(self, n_bias: int):
        """The tiling of the bias-only step of this window (chosen once; its candidates share it)."""
        if n_bias not in self._tilings:
            g = self.graph(Candidate(n_bias, (0.0,) * len(self.space.layers)))
            t = self._choose(g).graph.tiling
            self._tilings[n_bias] = (t.ops, t.tiles) if t else None
        return self._tilings[n_bias]

    def _choose(self, graph):
        c = self.config
        return choose_step(graph, c.tiling, c.planner, c.target, c.kernels, c.sample, c.lr, c.qas, c.model)

    def _predict(self, plan) -> dict:
        row = estimate_plan(plan, self.config)
        return {"peak_sram_bytes": row["peak_sram_bytes"], "latency_ms": row["latency_ms"],
                "arena_bytes": row["arena_bytes"], "static_sram_bytes": row["static_sram_bytes"],
                "stack_bytes": row["stack_bytes"], "flash_bytes": row["flash_bytes"], "cycles": row["cycles"] // self.config.steps}

    def __call__(self, c: Candidate) -> dict:
        """The screen: a lower bound of the candidate's peak SRAM (the live-bytes floor of its
        step, which no arena goes below, plus its trained parameters and the calibration's fixed
        static data and stack), and, when a latency budget is set, its predicted latency."""
        if c not in self.seen:
            start = time.perf_counter()
            g = self.graph(c)
            tiling = self.tiling_for(c.n_bias)
            tiled = tile_prefix(g, *tiling) if tiling else g
            m = _calibration(self.config.target, self.config.kernels).memory
            floor = max(live_bytes(buffers(tiled), len(tiled.ops)))
            bound = floor + tiled.trainable_bytes + m["data_base"] + m["bss_base"] + 4 * len(tiled.ops) + m["stack_base"]
            seen = {"peak_sram_bytes": int(bound), "score": self.space.score(c), "latency_ms": math.nan}
            if self.latency:
                seen["latency_ms"] = self._latency(tiled)
            self.seen[c] = seen
            self.seconds += time.perf_counter() - start
        return self.seen[c]

    def _latency(self, graph) -> float:
        c = self.config
        cal = _calibration(c.target, c.kernels)
        step = cost_step(graph, count_graph(profile_of(c.model, c.sample, c.lr, c.qas), graph, c.lr, c.qas, c.kernels), cal)
        return step.cycles / cal.clock_hz * 1e3

    def exact(self, c: Candidate) -> dict:
        """As ``estimate``/``run`` build it: the tiling chosen for this candidate's own step."""
        return {**self._predict(self._choose(self.graph(c)).plan), "score": self.space.score(c)}


@dataclass
class Budget:
    sram_bytes: int
    latency_ms: float | None = None

    def admits(self, p: dict) -> bool:
        return p["peak_sram_bytes"] <= self.sram_bytes and (self.latency_ms is None or p["latency_ms"] <= self.latency_ms)


def evolve(space: Space, feasible, seed: int, population: int = 48, generations: int = 40,
           mutation: float = 0.3) -> list[Candidate]:
    """Evolutionary search (the paper's): keep the best feasible quarter, breed the rest by
    crossover of two parents (window from one, each ratio from either) and mutation (a
    neighbouring window, a ratio redrawn), repair ratios outside the window. Returns every
    feasible candidate met, best first."""
    rng = np.random.default_rng(seed)
    windows = sorted(space.bias)
    options = (0.0, *space.ratios)

    def repair(nb: int, ratios) -> Candidate:
        return Candidate(nb, tuple(r if ok else 0.0 for r, ok in zip(ratios, space.allowed(nb))))

    def random() -> Candidate:
        nb = windows[rng.integers(len(windows))]
        return repair(nb, [options[rng.integers(len(options))] if rng.random() < 0.5 else 0.0 for _ in space.layers])

    found: dict[Candidate, float] = {}

    def fitness(c: Candidate) -> float:
        if feasible(c):
            found[c] = space.score(c)
            return found[c]
        return -math.inf

    pop = [Candidate(nb, (0.0,) * len(space.layers)) for nb in windows] + [random() for _ in range(population)]
    for _ in range(generations):
        ranked = sorted(set(pop), key=lambda c: (-fitness(c), c.n_bias, c.ratios))
        elite = [c for c in ranked if fitness(c) > -math.inf][: max(2, population // 4)] or ranked[:2]
        children = []
        while len(children) < population - len(elite):
            a, b = (elite[i] for i in rng.integers(len(elite), size=2))
            nb = a.n_bias if rng.random() < 0.5 else b.n_bias
            ratios = [x if rng.random() < 0.5 else y for x, y in zip(a.ratios, b.ratios)]
            if rng.random() < mutation:
                k = windows.index(nb) + int(rng.choice([-1, 1]))
                nb = windows[min(max(k, 0), len(windows) - 1)]
            for i in range(len(ratios)):
                if rng.random() < mutation / max(1, len(ratios)) * 2:
                    ratios[i] = options[rng.integers(len(options))]
            children.append(repair(nb, ratios))
        pop = elite + children
    return sorted(found, key=lambda c: (-found[c], c.n_bias, c.ratios))


@dataclass
class SearchResult:
    best: Candidate
    predicted: dict  # exact prediction of the best
    method: str
    evaluated: int
    space_size: int
    seconds: float
    smallest: dict  # the cheapest candidate's prediction
    admits_everything: bool


def search(evaluator: Evaluator, budget: Budget, seed: int = 0, confirm: int = 8) -> SearchResult:
    """The candidate of highest summed contribution whose predicted cost fits ``budget``."""
    start = time.perf_counter()
    space = evaluator.space
    smallest = evaluator.exact(Candidate(0, (0.0,) * len(space.layers)))
    if not budget.admits(smallest):
        raise BudgetError(too_small(budget, smallest, evaluator.source))
    largest = evaluator.exact(space.largest())
    feasible = lambda c: budget.admits(evaluator(c))  # noqa: E731
    if space.size() <= EXHAUSTIVE_LIMIT:
        method = "exhaustive"
        ranked = [c for c in sorted(space.candidates(), key=lambda c: (-space.score(c), c.n_bias, c.ratios)) if feasible(c)]
    else:
        method = "evolutionary"
        ranked = evolve(space, feasible, seed)
    best, predicted = Candidate(0, (0.0,) * len(space.layers)), smallest
    for c in ranked[:confirm]:  # the screen is a lower bound: confirm with the step as run builds it
        p = evaluator.exact(c)
        if budget.admits(p) and p["score"] >= predicted["score"]:
            best, predicted = c, p
            break
    return SearchResult(best, predicted, method, len(evaluator.seen), space.size(), time.perf_counter() - start,
                        smallest, budget.admits(largest) and _admits_all(space, evaluator, budget))


def _admits_all(space: Space, evaluator: Evaluator, budget: Budget) -> bool:
    """Whether every candidate fits (checked on all when the space is small, else on the largest)."""
    if space.size() > EXHAUSTIVE_LIMIT:
        return True
    return all(budget.admits(evaluator(c)) for c in space.candidates())


def too_small(budget: Budget, smallest: dict, source: str) -> str:
    parts = []
    if smallest["peak_sram_bytes"] > budget.sram_bytes:
        parts.append(f"SRAM budget {budget.sram_bytes:,} B is below the smallest training step of {source} "
                     f"(the frozen forward with the classifier update): it needs {smallest['peak_sram_bytes']:,} B; "
                     f"the smallest feasible --sram-budget is {smallest['peak_sram_bytes']:,}")
    if budget.latency_ms is not None and smallest["latency_ms"] > budget.latency_ms:
        parts.append(f"latency budget {budget.latency_ms:g} ms is below the smallest training step of {source}: "
                     f"{smallest['latency_ms']:.1f} ms per step; the smallest feasible --latency-budget is "
                     f"{math.ceil(smallest['latency_ms'] * 10) / 10:g}")
    return "; ".join(parts)
