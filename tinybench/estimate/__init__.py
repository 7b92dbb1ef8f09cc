"""The estimator: what a training step will cost on a target, predicted on the host in milliseconds.

For a compiled, planned step and a calibration (target, compiler, flags, kernel set), it predicts
per op, per phase and per step the executed instructions and the cycles of the ``iss`` cycle
model, the latency at the target's clock, and the memory a build will measure (arena, static
data, stack, flash, peak SRAM). The kernels' costs come from their count twins
(:mod:`tinybench.estimate.counts`) applied to the data of a host run of the same step, and from
the calibration (:mod:`tinybench.estimate.calibration`), fitted on designed calls, never on the
step it predicts.

    cal = load_calibration("stm32f746", "reference")
    prediction, host = predict(plan, image, label, steps=3, lr=0.01, qas=True, cal=cal)
    prediction.instructions, prediction.cycles, prediction.memory.peak_sram_bytes
    host.step.parameters()   # the host reference after the same steps
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinybench.estimate.calibration import Calibration, CalibrationError, load_calibration
from tinybench.estimate.memory import MemoryEstimate, estimate_memory
from tinybench.estimate.step import PHASE_ORDER, CountedSteps, OpEstimate, StepEstimate, cost_step, count_steps
from tinybench.kernels.calls import layer_params
from tinybench.plan.memory import MemoryPlan

__all__ = ["Calibration", "CalibrationError", "MemoryEstimate", "OpEstimate", "Prediction", "StepEstimate",
           "load_calibration", "predict"]


@dataclass
class Prediction:
    """What ``steps`` training steps will cost, from the data of the host run of the same steps."""

    target: str
    kernels: str
    clock_hz: int
    steps: list[StepEstimate]
    memory: MemoryEstimate
    calibration: Calibration

    @property
    def instructions(self) -> int:
        return int(round(sum(s.instructions for s in self.steps)))

    @property
    def cycles(self) -> int:
        return int(round(sum(s.cycles for s in self.steps)))

    @property
    def latency_ms(self) -> float:
        """Milliseconds of the last step at the target's clock."""
        return self.steps[-1].cycles / self.clock_hz * 1e3

    def phases(self) -> dict[str, dict[str, int]]:
        """Instructions and cycles per phase, over all steps."""
        out = {p: {"instructions": 0.0, "cycles": 0.0} for p in PHASE_ORDER}
        for s in self.steps:
            for p, v in s.phases().items():
                for m in v:
                    out[p][m] += v[m]
        return {p: {m: int(round(x)) for m, x in v.items()} for p, v in out.items()}

    def summary(self) -> dict:
        m = self.memory
        return {
            "instructions": self.instructions, "cycles": self.cycles,
            "instructions_per_step": [int(round(s.instructions)) for s in self.steps],
            "cycles_per_step": [int(round(s.cycles)) for s in self.steps],
            "latency_ms": self.latency_ms, "phases": self.phases(),
            "arena_bytes": m.arena_bytes, "static_sram_bytes": m.static_sram_bytes, "stack_bytes": m.stack_bytes,
            "peak_sram_bytes": m.peak_sram_bytes, "flash_bytes": m.flash_bytes,
            "calibration": str(self.calibration.path), "cycle_model": self.calibration.cycle_model,
            "data": "the host run of the same steps",
        }

    def op_costs(self, step: int = -1) -> list[dict]:
        return [{"op": o.op, "kind": o.kind, "phase": o.phase, "macs": o.macs,
                 "instructions": int(round(o.instructions)), "cycles": int(round(o.cycles))}
                for o in self.steps[step].ops]


def predict(plan: MemoryPlan, image: np.ndarray, label: int, steps: int, *, lr: float, qas: bool,
            cal: Calibration) -> tuple[Prediction, CountedSteps]:
    """Run ``steps`` host steps counting every call, and cost them with ``cal``."""
    counted = count_steps(plan, image, label, steps, lr=lr, qas=qas, kernel_set=cal.kernels)
    estimates = [cost_step(plan.graph, ops, cal) for ops in counted.per_step]
    memory = estimate_memory(plan, layer_params(plan.graph, lr, qas), cal)
    return Prediction(cal.target, cal.kernels, cal.clock_hz, estimates, memory, cal), counted
