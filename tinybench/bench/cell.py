"""One benchmark cell: build a training step for a target, run it in an emulator, and put
what was measured next to what was predicted.

A cell never raises for a failure of the thing being measured: firmware that does not fit,
faults, hangs, or an emulator that is missing or crashes all give a result with a status
and a reason, so a matrix run records it and goes on. It raises a TinybenchError for a
configuration that cannot be measured (unknown model or scheme, a limit that is not
positive, a work folder it cannot write), before any work.
"""

from __future__ import annotations

import math
import tempfile
import time

import numpy as np
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tinybench.codegen.build import BuildError, FirmwareTooLarge
from tinybench.codegen.firmware import build_training_firmware, default_kernels
from tinybench.codegen.targets import get_target
from tinybench.emulate import DEFAULT_INSTRUCTION_BUDGET, DEFAULT_TIMEOUT_S, get_backend, param_checksum
from tinybench.emulate.results import MarkerError, StepCounts
from tinybench.errors import TinybenchError
from tinybench.estimate import CalibrationError, Prediction, load_calibration, predict
from tinybench.estimate.step import PHASES, CountedSteps
from tinybench.graph.cost import op_macs
from tinybench.graph.schemes import get_scheme, resolve
from tinybench.graph.training import TrainingGraph, compile_training
from tinybench.kernels.executor import DEFAULT_LR, TrainingStep
from tinybench.models.dataset import digits
from tinybench.models.zoo import DEFAULT_TRAIN_CLASSES, load_model
from tinybench.plan.memory import MemoryPlan, MemoryReport, memory_report
from tinybench.plan.planners import DEFAULT_PLANNER
from tinybench.estimate.batch import choose_step


#: Limits of a cell's run: three steps of the paper's largest model on the reference kernels
#: execute 2.2 G instructions, which the emulators' own default budget would call a hang.
CELL_INSTRUCTION_BUDGET = 4 * DEFAULT_INSTRUCTION_BUDGET
CELL_TIMEOUT_S = 5 * DEFAULT_TIMEOUT_S


@dataclass
class CellConfig:
    model: str
    scheme: str
    target: str
    emulator: str = "iss"
    steps: int = 3
    lr: float = DEFAULT_LR
    qas: bool = True
    schedule: str = "reordered"
    planner: str = DEFAULT_PLANNER
    tiling: str | tuple[int, int] = "auto"  # see tinybench.plan.tiling
    sample: int = 0  # index into the digits training split
    kernels: str | None = None  # C kernel set (reference | fast); None: the target's default
    instruction_budget: int = CELL_INSTRUCTION_BUDGET
    timeout_s: float = CELL_TIMEOUT_S

    def __post_init__(self) -> None:
        """The limits mean the same on every backend: positive, never "0 = unlimited"."""
        if isinstance(self.sample, bool) or not isinstance(self.sample, int):
            raise CellConfigError(f"sample must be an integer, got {self.sample!r}")
        for name in ("steps", "instruction_budget"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CellConfigError(f"{name} must be an integer >= 1, got {value!r}")
        for name in ("timeout_s", "lr"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
                raise CellConfigError(f"{name} must be a finite number > 0, got {value!r}")


class CellConfigError(TinybenchError):
    """A cell configuration that cannot be measured; names the field or the folder."""


@dataclass
class CellResult:
    status: str  # ok | too-large | build-error | fault | hang | crash | unavailable | mismatch
    reason: str
    emulator: str
    target: str
    config: dict
    measured: dict = field(default_factory=dict)
    predicted: dict = field(default_factory=dict)
    profile: list[dict] = field(default_factory=list)  # per op of the last step: instructions, cycles
    function_instructions: dict[str, int] = field(default_factory=dict)  # per ELF function, whole run
    build: dict = field(default_factory=dict)
    error: dict = field(default_factory=dict)  # metric -> (predicted - measured) / measured
    uart_tail: str = ""
    #: Host wall seconds per stage (prepare, predict, build, emulate): where a matrix's time goes.
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict:
        return asdict(self)


#: Figures that ``predicted`` and ``measured`` hold for the same quantity.
COMPARED = ("instructions", "cycles", "peak_sram_bytes", "static_sram_bytes", "stack_bytes", "flash_bytes")


def parameters_checksum(step: TrainingStep) -> int:
    """CRC-32 of a step's trainable parameters, as the firmware's tb_param_checksum."""
    return param_checksum([a for pair in step.parameters().values() for a in pair if a.size])


def host_reference_checksum(step: TrainingStep, image, label: int, steps: int) -> int:
    """CRC-32 of the trainable parameters after ``steps`` host steps on one sample."""
    for _ in range(steps):
        step.step(image, label)
    return parameters_checksum(step)


def relative_errors(predicted: dict, measured: dict, keys: tuple[str, ...] = COMPARED) -> dict[str, float]:
    """(predicted - measured) / measured of each figure both have (and measured is not 0)."""
    return {k: (predicted[k] - measured[k]) / measured[k] for k in keys
            if predicted.get(k) is not None and measured.get(k)}


def predict_cell(cell: PreparedCell) -> tuple[Prediction, CountedSteps]:
    """The estimator's prediction of a cell, from the host run of the same steps (which is also
    the host reference); raises CalibrationError without a usable calibration."""
    cfg = cell.cfg
    cal = load_calibration(cfg.target, cfg.kernels)
    return predict(cell.plan, cell.image, cell.label, cfg.steps, lr=cfg.lr, qas=cfg.qas, cal=cal)


def _predict(cell: PreparedCell) -> tuple[Prediction | None, int, dict]:
    """The prediction and the host reference checksum, or, without a usable calibration, the
    host reference alone and why there is no prediction."""
    cfg, plan, image, label = cell.cfg, cell.plan, cell.image, cell.label
    try:
        prediction, host = predict_cell(cell)
    except CalibrationError as err:
        checksum = host_reference_checksum(TrainingStep(plan, lr=cfg.lr, qas=cfg.qas), image, label, cfg.steps)
        return None, checksum, {"arena_bytes": plan.arena_bytes, "unavailable": str(err)}
    return prediction, parameters_checksum(host.step), prediction.summary()


def run_cell(cfg: CellConfig, work_dir: Path | str | None = None) -> CellResult:
    """Measure one cell. The generated sources and the ELF are kept in ``work_dir`` if given
    (created first, before any compiling); otherwise they go to a temporary folder that is
    removed at the end, however the cell ends (a result, an exception, Ctrl-C)."""
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="tinybench-") as tmp:
            result = _measure(cfg, Path(tmp))
        if "elf" in result.build:
            result.build["elf"] = None  # removed with its folder
        return result
    try:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CellConfigError(f"work folder {str(work_dir)!r}: {err.strerror or err}") from None
    return _measure(cfg, Path(work_dir))


@dataclass
class PreparedCell:
    """What a cell measures: its configuration (kernel set resolved), the compiled and planned
    step, and the training sample."""

    cfg: CellConfig
    plan: MemoryPlan
    report: MemoryReport
    image: np.ndarray
    label: int

    @property
    def graph(self) -> TrainingGraph:
        return self.plan.graph


def prepare_cell(cfg: CellConfig) -> PreparedCell:
    target = get_target(cfg.target)
    if cfg.kernels is None:
        cfg = replace(cfg, kernels=default_kernels(target))
    model = load_model(cfg.model, num_classes=DEFAULT_TRAIN_CLASSES)
    split = digits(size=model.input_shape[0])[0]
    if not 0 <= cfg.sample < len(split.labels):
        raise CellConfigError(f"sample must be in [0, {len(split.labels) - 1}], got {cfg.sample!r}")
    graph = compile_training(model, resolve(get_scheme(cfg.scheme, model), model), cfg.schedule)
    choice = choose_step(graph, cfg.tiling, cfg.planner, cfg.target, cfg.kernels, cfg.sample, cfg.lr, cfg.qas, cfg.model)
    return PreparedCell(cfg, choice.plan, memory_report(choice.plan, choice.to_json()), split.images[cfg.sample],
                        int(split.labels[cfg.sample]))


def _measure(cfg: CellConfig, out_dir: Path) -> CellResult:
    timings: dict[str, float] = {}
    lap = _laps(timings)
    cell = prepare_cell(cfg)
    lap("prepare")
    cfg, plan, report, image, label, graph = cell.cfg, cell.plan, cell.report, cell.image, cell.label, cell.graph
    target = get_target(cfg.target)
    backend = get_backend(cfg.emulator)
    prediction, expected, predicted = _predict(cell)
    lap("predict")
    predicted["trainable_sram_bytes"] = report.trainable_sram_bytes
    predicted["tiling"] = report.tiling
    result = CellResult("unavailable", "", backend.name, target.name, asdict(cfg), predicted=predicted,
                        profile=op_profile(plan, prediction, {}, []), timings=timings)
    available, why = backend.available()
    if not available:
        result.reason = f"emulator {backend.name} is not available: {why}"
        return result

    if plan.arena_bytes > target.sram_bytes:  # gcc would take its time to say the same
        result.status = "too-large"
        result.reason = (f"not built: the planned arena alone needs {plan.arena_bytes} bytes of SRAM but "
                         f"{target.name} has {target.sram_bytes} bytes ({plan.arena_bytes - target.sram_bytes} bytes over)")
        return result
    try:
        _, build = build_training_firmware(plan, image, label, target, backend.default_board(target), out_dir,
                                           steps=cfg.steps, lr=cfg.lr, qas=cfg.qas, kernels=cfg.kernels)
    except FirmwareTooLarge as err:
        result.status, result.reason = "too-large", str(err)
        return result
    except BuildError as err:
        result.status, result.reason = "build-error", str(err)
        return result
    finally:
        lap("build")
    result.build = build.summary()

    run = backend.run(build.elf, target, instruction_budget=cfg.instruction_budget, timeout_s=cfg.timeout_s)
    lap("emulate")
    result.uart_tail = "\n".join(run.uart.splitlines()[-12:])
    result.status, result.reason = run.status, run.reason
    stack, arena_used = run.stack_bytes, run.arena_used
    try:
        counted = run.counted_steps()
    except MarkerError as err:
        counted = []
        if run.ok:
            result.status, result.reason = "crash", f"firmware event markers out of order: {err}"
    dwt = run.report.steps
    result.measured = {
        "peak_sram_bytes": (build.sram_static_bytes + arena_used + stack) if None not in (stack, arena_used) else None,
        "static_sram_bytes": build.sram_static_bytes,
        "arena_used_bytes": arena_used,
        "stack_bytes": stack,
        "flash_bytes": build.flash_bytes,
        **_step_totals(counted, target.clock_hz),
        "cycles_model": run.cycles_model if run.cycles is not None else "no cycle model on this emulator",
        "run_instructions": run.instructions,  # the whole run: boot, paint, K steps, checksum
        "instructions_exact": run.instructions_exact,
        "dwt_cycles_last_step": dwt[-1].cycles if dwt else None,  # the firmware's own DWT reading
        "param_checksum": f"0x{run.checksum:08x}" if run.checksum is not None else None,
        "host_reference_checksum": f"0x{expected:08x}",
        "wall_time_s": run.wall_time_s,
        "instructions_per_second": run.instructions_per_second,
    }
    result.profile = op_profile(plan, prediction, counted[-1].ops if counted else {}, dwt[-1].ops if dwt else [])
    result.error = relative_errors(result.predicted, result.measured)
    result.function_instructions = dict(sorted(run.profile.items(), key=lambda kv: -kv[1]))
    if run.ok and run.checksum != expected:
        result.status = "mismatch"
        result.reason = (f"parameter checksum 0x{run.checksum:08x} after {cfg.steps} steps differs from the host "
                         f"reference 0x{expected:08x}")
    if run.ok and result.measured["peak_sram_bytes"] and result.measured["peak_sram_bytes"] > target.sram_bytes:
        result.status = "too-large"
        result.reason = f"measured peak SRAM {result.measured['peak_sram_bytes']} B exceeds {target.sram_bytes} B"
    return result


def _laps(timings: dict[str, float]):
    """A function that records, under a stage's name, the seconds since the previous call."""
    last = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        timings[stage] = now - last[0]
        last[0] = now
    return lap


def op_profile(plan: MemoryPlan, prediction: Prediction | None, measured: dict, dwt_ops: list) -> list[dict]:
    """One row per op of the last step: what was measured of it (None where nothing was: a cell
    that did not build or run still has its plan and prediction), the bytes live in the arena
    by category while it runs, and the estimator's prediction of it."""
    rows = [{"op": op.name, "kind": op.kind, "phase": PHASES[op.kind], "macs": int(op_macs(plan.graph, op)),
             "instructions": measured[i].instructions if i in measured else None,
             "cycles": measured[i].cycles if i in measured else None,
             "dwt_cycles": dwt_ops[i].cycles if i < len(dwt_ops) else None}
            for i, op in enumerate(plan.graph.ops)]
    for row, live in zip(rows, plan.live_by_category()):
        row.update({f"live_{c.replace(' ', '_')}_bytes": b for c, b in live.items()})
    if prediction is not None:
        for row, est in zip(rows, prediction.op_costs()):
            row.update(predicted_instructions=est["instructions"], predicted_cycles=est["cycles"])
    return rows


def _step_totals(counted: list[StepCounts], clock_hz: int) -> dict:
    """Instructions and cycles of the training steps, between the firmware's step markers: the
    same quantity on every backend (cycles only where the backend has a cycle model)."""
    if not counted:
        return {"steps_measured": 0, "instructions": None, "cycles": None, "instructions_per_step": [],
                "cycles_per_step": [], "latency_ms": None}
    insns = [s.total.instructions for s in counted]
    cycles = [s.total.cycles for s in counted]
    has_cycles = all(c is not None for c in cycles)
    return {
        "steps_measured": len(counted),
        "instructions": sum(insns),
        "cycles": sum(cycles) if has_cycles else None,
        "instructions_per_step": insns,
        "cycles_per_step": cycles if has_cycles else [],
        "latency_ms": cycles[-1] / clock_hz * 1e3 if has_cycles else None,  # the last step
    }
