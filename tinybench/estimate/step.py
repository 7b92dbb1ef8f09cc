"""Count a training step on the host and cost it: instructions and cycles per op, per phase, per step.

``count_steps`` runs the compiled step with the Numba kernels through a counting kernel set: every
call goes through its probe and its twin (:func:`tinybench.estimate.counts.run_and_count`), so
the data-dependent paths follow the real data of each step, and the results (parameters,
checksum) are exactly the host reference's. ``cost_step`` applies a calibration to the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinybench.estimate.calibration import Calibration
from tinybench.estimate.counts import run_and_count
from tinybench.graph.training import TrainingGraph
from tinybench.kernels.executor import TrainingStep
from tinybench.graph.cost import op_macs
from tinybench.plan.memory import MemoryPlan

#: The phase of each op kind. A fused weight gradient + SGD step (operator reordering) is update.
PHASES = {
    "conv_fwd": "forward", "pwdw_fwd": "forward", "add_fwd": "forward", "avgpool_fwd": "forward",
    "tile_copy": "forward",
    "loss_grad": "loss",
    "conv_bwd_input": "backward", "add_bwd": "backward", "avgpool_bwd": "backward", "grad_add": "backward",
    "conv_bwd_params": "backward",
    "conv_bwd_update": "update", "sgd_update": "update",
}
PHASE_ORDER = ("forward", "loss", "backward", "update")


@dataclass(frozen=True)
class CallCounts:
    kernel: str
    counts: np.ndarray


class CountingKernels:
    """A kernel set for :class:`~tinybench.kernels.executor.TrainingStep` (addressable by C name)
    that runs the Numba kernels and keeps the counts of every call, in order, with the twins of
    the C kernel set ``kernel_set``."""

    def __init__(self, kernel_set: str = "reference") -> None:
        self.kernel_set = kernel_set
        self.calls: list[CallCounts] = []

    def __getattr__(self, kernel: str):
        if not kernel.startswith("tb_"):
            raise AttributeError(kernel)

        def call(*args):
            counted = run_and_count(kernel, list(args), kernel_set=self.kernel_set)
            self.calls.append(CallCounts(kernel, counted.counts))
            return counted.result

        return call


@dataclass
class CountedSteps:
    """The counts of every call of every op of ``steps`` host steps, and the step itself (its
    parameters after them are the host reference)."""

    step: TrainingStep
    per_step: list[list[list[CallCounts]]] = field(default_factory=list)  # step -> op -> calls


def count_steps(plan: MemoryPlan, image: np.ndarray, label: int, steps: int, *, lr: float, qas: bool,
                kernel_set: str = "reference") -> CountedSteps:
    kernels = CountingKernels(kernel_set)
    step = TrainingStep(plan, kernels, lr=lr, qas=qas)
    out = CountedSteps(step)
    for _ in range(steps):
        kernels.calls.clear()
        step.step(image, label)
        it = iter(kernels.calls)
        out.per_step.append([[next(it) for _ in calls] for calls in step.calls])
    return out


@dataclass
class OpEstimate:
    index: int
    op: str
    kind: str
    phase: str
    macs: int
    instructions: float
    cycles: float


@dataclass
class StepEstimate:
    """One step: its ops, and the step's totals with the code between the ops."""

    ops: list[OpEstimate]
    instructions: float
    cycles: float

    def phases(self) -> dict[str, dict[str, float]]:
        out = {p: {"instructions": 0.0, "cycles": 0.0} for p in PHASE_ORDER}
        for o in self.ops:
            out[o.phase]["instructions"] += o.instructions
            out[o.phase]["cycles"] += o.cycles
        return out


def call_cost(cal: Calibration, c: CallCounts) -> tuple[float, float]:
    """Instructions and cycles of one counted call."""
    cost = cal.cost(c.kernel)
    return tuple(float(np.dot(c.counts, [getattr(cost, m)[f] for f in cost.features])) for m in ("instructions", "cycles"))


def cost_step(graph: TrainingGraph, ops: list[list[CallCounts]], cal: Calibration) -> StepEstimate:
    estimates = []
    for i, (op, calls) in enumerate(zip(graph.ops, ops)):
        costs = [call_cost(cal, c) for c in calls]
        estimates.append(OpEstimate(i, op.name, op.kind, PHASES[op.kind], int(op_macs(graph, op)),
                                    sum(c[0] for c in costs), sum(c[1] for c in costs)))
    step = cal.step_overhead(graph.tensors[graph.model.input].nbytes, len(graph.ops))
    return StepEstimate(estimates, sum(o.instructions for o in estimates) + step[0],
                        sum(o.cycles for o in estimates) + step[1])

