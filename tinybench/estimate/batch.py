"""Many predictions at once, for a matrix or a scheme search: configurations in, a table out.

Each configuration is costed from its model's data profile (:mod:`tinybench.estimate.profile`)
rather than from a host run of its own: its first step counts exactly as a host run would, and
later steps are taken to count like the first (an expectation; the ``data`` column says so).
Everything shared between configurations is done once: a model is loaded, profiled and upscaled
once, a (model, scheme, schedule, planner) is compiled and planned once for every target, a call
of the same op with the same integers is counted once per model, a calibration is read once.
A configuration that cannot be estimated (an unknown scheme, a missing calibration) gives a row
with ``status`` ``error`` and its ``reason``; the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable, Iterable

from tinybench.errors import TinybenchError
from tinybench.estimate.calibration import Calibration, CalibrationError, load_calibration
from tinybench.estimate.memory import estimate_memory
from tinybench.estimate.profile import DataProfile, count_from_profile, count_graph
from tinybench.estimate.step import PHASE_ORDER, call_cost, cost_step
from tinybench.graph.schemes import get_scheme, resolve
from tinybench.graph.training import TrainingGraph, TrainOp, compile_training
from tinybench.kernels.calls import layer_params
from tinybench.models.dataset import digits
from tinybench.models.zoo import DEFAULT_TRAIN_CLASSES, load_model
from tinybench.plan.memory import MemoryPlan
from tinybench.plan.planners import DEFAULT_PLANNER
from tinybench.plan.tiling import TilingChoice, choose_tiling

EXPECTED = "step 0 of the host run of the model's full update (later steps: an expectation)"


@dataclass(frozen=True)
class Configuration:
    """What one prediction is of (the estimator's part of a benchmark cell)."""

    model: str
    scheme: str
    target: str
    kernels: str
    schedule: str = "reordered"
    planner: str = DEFAULT_PLANNER
    tiling: str = "auto"  # see tinybench.plan.tiling
    steps: int = 3
    lr: float = 0.01
    qas: bool = True
    sample: int = 0


@lru_cache(maxsize=16)
def _model(source: str):
    return load_model(source, num_classes=DEFAULT_TRAIN_CLASSES)


@lru_cache(maxsize=16)
def _sample(size: int, index: int):
    split = digits(size=size)[0]
    if not 0 <= index < len(split.labels):
        raise TinybenchError(f"sample must be in [0, {len(split.labels) - 1}], got {index!r}")
    return split.images[index], int(split.labels[index])


@lru_cache(maxsize=16)
def profile_of(source: str, sample: int, lr: float, qas: bool) -> DataProfile:
    """The data profile of a model (shipped name or file) on one digits sample, once per process."""
    model = _model(source)
    image, label = _sample(model.input_shape[0], sample)
    return DataProfile.of(model, image, label, lr=lr, qas=qas)


def choose_step(graph: TrainingGraph, tiling, planner: str, target: str, kernels: str, sample: int, lr: float,
                qas: bool, source: str) -> TilingChoice:
    """The tiling and plan of a step as ``tinybench run`` builds it: the tiling choice weighs
    predicted cycles where the target has a calibration (MACs where it has none)."""
    try:
        cal = _calibration(target, kernels)
    except CalibrationError:
        return choose_tiling(graph, tiling, planner)
    return choose_tiling(graph, tiling, planner, cost=cycle_cost(profile_of(source, sample, lr, qas), cal),
                         cost_unit="cycles")


@lru_cache(maxsize=256)
def _plan(c: Configuration) -> MemoryPlan:
    model = _model(c.model)
    graph = compile_training(model, resolve(get_scheme(c.scheme, model), model), c.schedule)
    return choose_step(graph, c.tiling, c.planner, c.target, c.kernels, c.sample, c.lr, c.qas, c.model).plan


@lru_cache(maxsize=32)
def _calibration(target: str, kernels: str) -> Calibration:
    return load_calibration(target, kernels)


def cycle_cost(profile: DataProfile, cal: Calibration) -> Callable[[TrainingGraph, TrainOp], float]:
    """An op's predicted cycles, as the cost the tiling choice sums (tinybench.graph.cost.OpCost):
    with it, ``--tiling auto`` bounds the cycles a tiling adds, not its MACs."""
    graphs: dict[int, tuple] = {}

    def cost(graph: TrainingGraph, op: TrainOp) -> float:
        if id(graph) not in graphs:  # the graph is kept, so its id is not reused
            graphs[id(graph)] = (graph, layer_params(graph, profile.lr, profile.qas),
                                 {id(o): i for i, o in enumerate(graph.ops)})
        _, params, index = graphs[id(graph)]
        calls = count_from_profile(profile, graph, params, index[id(op)], cal.kernels)
        return sum(call_cost(cal, c)[1] for c in calls)

    return cost


def _row(c: Configuration) -> dict:
    return estimate_plan(_plan(replace(c, steps=1)), c)


def estimate_plan(plan: MemoryPlan, c: Configuration) -> dict:
    """The prediction of a planned step of ``c``'s model (``c.scheme`` is not read: a scheme
    search plans candidates that have no name)."""
    graph = plan.graph
    cal = _calibration(c.target, c.kernels)
    step = cost_step(graph, count_graph(profile_of(c.model, c.sample, c.lr, c.qas), graph, c.lr, c.qas, c.kernels), cal)
    mem = estimate_memory(plan, layer_params(graph, c.lr, c.qas), cal)
    row = {"status": "ok", "reason": "", "instructions": int(round(step.instructions * c.steps)),
           "cycles": int(round(step.cycles * c.steps)), "latency_ms": step.cycles / cal.clock_hz * 1e3,
           "arena_bytes": mem.arena_bytes, "trainable_sram_bytes": graph.trainable_bytes,
           "static_sram_bytes": mem.static_sram_bytes, "stack_bytes": mem.stack_bytes,
           "peak_sram_bytes": mem.peak_sram_bytes, "flash_bytes": mem.flash_bytes, "ops": len(graph.ops),
           "macs": sum(o.macs for o in step.ops), "data": EXPECTED}
    for phase, v in step.phases().items():
        row[f"{phase}_instructions"] = int(round(v["instructions"] * c.steps))
        row[f"{phase}_cycles"] = int(round(v["cycles"] * c.steps))
    return row


def estimate_configurations(configurations: Iterable[Configuration]):
    """One row per configuration (a pandas DataFrame): the configuration, then what the
    estimator predicts for all its steps (see :class:`~tinybench.estimate.Prediction`)."""
    import pandas as pd

    rows = []
    for c in configurations:
        try:
            row = _row(c)
        except TinybenchError as err:
            row = {"status": "error", "reason": str(err)}
        rows.append({**c.__dict__, **row})
    columns = list(dict.fromkeys([*Configuration.__dataclass_fields__, "status", "reason",
                                  *(k for r in rows for k in r)]))
    return pd.DataFrame(rows, columns=columns)


__all__ = ["Configuration", "EXPECTED", "PHASE_ORDER", "estimate_configurations", "estimate_plan"]
