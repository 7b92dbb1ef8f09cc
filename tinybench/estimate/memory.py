"""What a build of a training step will occupy: static SRAM, stack, flash, and peak SRAM.

The parameter arrays come from the same call list the code generator prints
(:func:`tinybench.kernels.calls.op_calls`, placed by :func:`~tinybench.kernels.calls.is_trained`):
arrays the step writes are initialised SRAM (``.data``, or ``.bss`` when all zero), the rest
flash; every array starts on a 4-byte boundary. What the arrays do not decide comes from the
calibration: the code of each kernel (measured in its calibration firmware), its stack frame,
and the fitted costs of the harness and of the generated step (per op, per call, per argument).
"""

from __future__ import annotations

from dataclasses import dataclass

from tinybench.estimate.calibration import Calibration
from tinybench.kernels.calls import LayerParams, Param, is_trained, op_calls
from tinybench.plan.lifetimes import align
from tinybench.plan.memory import MemoryPlan

#: The softmax exponential table of the loss: 256 int32.
EXP_TABLE_BYTES = 1024


@dataclass
class MemoryEstimate:
    arena_bytes: int
    data_bytes: int
    bss_bytes: int
    stack_bytes: int
    flash_bytes: int

    @property
    def static_sram_bytes(self) -> int:
        return self.data_bytes + self.bss_bytes

    @property
    def peak_sram_bytes(self) -> int:
        """What a run measures at its peak: static data, the arena and the stack high-water."""
        return self.static_sram_bytes + self.arena_bytes + self.stack_bytes


@dataclass
class StepShape:
    """What the generated step is made of, as the memory model counts it."""

    sram_arrays: list[int]  # bytes of each non-zero array the step writes (.data)
    zero_arrays: list[int]  # ... and of each all-zero one (.bss)
    flash_arrays: list[int]  # bytes of each const array
    kernels: set[str]
    calls: int
    call_args: int
    op_name_bytes: int
    ops: int


def step_shape(plan: MemoryPlan, params: dict[str, LayerParams]) -> StepShape:
    graph = plan.graph
    arrays: dict[tuple[str, str], tuple[int, bool, bool]] = {}
    kernels: set[str] = set()
    calls = args = 0
    for op in graph.ops:
        for call in op_calls(graph, op, params):
            kernels.add(call.kernel)
            calls += 1
            args += len(call.args)
            for a in call.args:
                if isinstance(a, Param):
                    v = params[a.layer].array(a.field)
                    if v.size:
                        arrays[(a.layer, a.field)] = (v.nbytes, is_trained(graph, a), not v.any())
    image = graph.tensors[graph.model.input].nbytes
    return StepShape(
        sram_arrays=[n for n, trained, zero in arrays.values() if trained and not zero],
        zero_arrays=[n for n, trained, zero in arrays.values() if trained and zero],
        flash_arrays=[n for n, trained, _ in arrays.values() if not trained] + [image, EXP_TABLE_BYTES],
        kernels=kernels, calls=calls, call_args=args,
        op_name_bytes=sum(len(op.name.replace(" ", "_")) + 1 for op in graph.ops), ops=len(graph.ops))


def _aligned(sizes: list[int]) -> int:
    return sum(align(n) for n in sizes)


def estimate_memory(plan: MemoryPlan, params: dict[str, LayerParams], cal: Calibration) -> MemoryEstimate:
    shape = step_shape(plan, params)
    m = cal.memory
    data = _aligned(shape.sram_arrays) + m["data_base"]
    bss = _aligned(shape.zero_arrays) + m["bss_base"] + 4 * shape.ops  # the per-op cycle table
    code = sum(cal.kernel_code(k) for k in shape.kernels)
    flash = (m["flash_base"] + code + _aligned(shape.flash_arrays) + data + m["flash_per_call"] * shape.calls
             + m["flash_per_argument"] * shape.call_args + m["flash_per_op"] * shape.ops + shape.op_name_bytes
             + m["flash_per_trained_array"] * (len(shape.sram_arrays) + len(shape.zero_arrays)))
    stack = m["stack_base"] + max(cal.kernel_frame(k) for k in shape.kernels)
    return MemoryEstimate(plan.arena_bytes, int(data), int(bss), int(round(stack)), int(round(flash)))
