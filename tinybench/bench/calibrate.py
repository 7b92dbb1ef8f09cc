"""Calibrate the estimator: measure every kernel on designed calls, fit its cost per counted event.

For one target (core, compiler, flags) and one kernel set, ``calibrate`` builds case firmware
(:mod:`tinybench.codegen.kernel_firmware`, which also checks every output byte against the
Numba reference) holding the designed calls of :mod:`tinybench.bench.calibration_cases`, runs it
under ``iss``, takes each call's instructions and modelled cycles between the harness's op
markers, counts the same calls on the host with the twins (:mod:`tinybench.estimate.counts`),
and fits, per kernel, costs per counted event by least squares on relative error (small calls
weigh as much as large ones). The fit's in-sample and cross-validated (held-out) residuals go
into the calibration file with its provenance. The paper's models are never used here: they
are the estimator's test set.
"""

from __future__ import annotations

import datetime
import platform
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tinybench import __version__
from tinybench.bench.calibration_cases import designed_calls
from tinybench.codegen.build import BASE_CFLAGS, toolchain_version
from tinybench.codegen.kernel_firmware import KernelCase, build_kernel_cases, expected_case, parse_case_report, \
    write_kernel_cases
from tinybench.codegen.targets import Target, get_target
from tinybench.emulate import get_backend
from tinybench.emulate.elfinfo import ElfInfo
from tinybench.emulate.timing import load_timing_table
from tinybench.estimate.calibration import (CALIBRATION_SCHEMA, Calibration, CalibrationError, KernelCost,
                                            calibration_path, firmware_fingerprint)
from tinybench.estimate.counts import COUNTS, run_and_count, twins
from tinybench.kernels.executor import numba_kernels

#: Designed calls per kernel, and the flash one case firmware may hold (inputs + expected bytes).
DEFAULT_CASES = 100
#: A kernel gets at least this many designed calls per counted feature, so that each fold of the
#: held-out check still has several calls per cost it fits (the fast pointwise input gradient
#: counts 57 features: with 80 calls its held-out error was the noise of an underdetermined fit).
CALLS_PER_FEATURE = 3
FIRMWARE_BUDGET = 600_000
OPT = "-O2"
FOLDS = 5


@dataclass
class Measured:
    """The designed calls of one kernel: their counts (host) and costs (firmware, under iss),
    and the kernel's code size and stack frame in that firmware."""

    kernel: str
    counts: np.ndarray  # [calls, features]
    costs: np.ndarray  # [calls, 2]: instructions, cycles
    code_bytes: int
    frame_bytes: int


def _thumb(elf: ElfInfo, function: str):
    """Capstone's view of ``function``: its start, size and a Thumb (M-profile) disassembler."""
    import capstone

    start, size = next((f[0], f[1]) for f in elf.functions if f[2] == function)
    md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    md.detail = True
    return start, size, md


def stack_frame(elf: ElfInfo, function: str) -> int:
    """Bytes a function's prologue reserves: registers pushed, FP registers pushed, the stack
    pointer lowered; plus the largest frame its body lowers the stack pointer by past the prologue
    (an inline-assembly block's frame below sp, given back before the block ends)."""
    import capstone

    start, size, md = _thumb(elf, function)
    frame, body = 0, 0
    for i, insn in enumerate(md.disasm(elf.read(start, size), start)):
        regs = [op for op in insn.operands if op.type == capstone.arm.ARM_OP_REG]
        writes_sp = regs and insn.reg_name(regs[0].reg) == "sp"
        lowers_sp = insn.mnemonic.startswith("sub") and writes_sp
        if i >= 10:
            if lowers_sp:
                body = max(body, next(op.imm for op in insn.operands if op.type == capstone.arm.ARM_OP_IMM))
        elif insn.mnemonic in ("push", "push.w", "vpush"):
            frame += len(regs) * (8 if insn.mnemonic == "vpush" else 4)
        elif insn.mnemonic.startswith("stmdb") and writes_sp:
            frame += 4 * (len(regs) - 1)
        elif lowers_sp:
            frame += next(op.imm for op in insn.operands if op.type == capstone.arm.ARM_OP_IMM)
    return frame + body


def _callees(elf: ElfInfo, function: str, candidates: set[str]) -> tuple[set[str], set[str]]:
    """The functions of ``candidates`` that ``function`` calls (BL) and those it tail-calls (a
    branch to another function's start: its own frame is popped by then)."""
    import capstone

    start, size, md = _thumb(elf, function)
    by_address = {f[0]: f[2] for f in elf.functions if f[2] in candidates and f[2] != function}
    calls, tails = set(), set()
    for insn in md.disasm(elf.read(start, size), start):
        call = insn.group(capstone.CS_GRP_CALL)
        if call or insn.group(capstone.CS_GRP_JUMP):
            op = insn.operands[-1] if insn.operands else None
            if op is not None and op.type == capstone.arm.ARM_OP_IMM and op.imm in by_address:
                (calls if call else tails).add(by_address[op.imm])
    return calls, tails


def kernel_code_and_frame(elf: ElfInfo, kernel: str) -> tuple[int, int]:
    """A kernel's code (its function and the static helpers gcc kept out of line in its file)
    and its stack (its frame plus the deepest chain of frames of the helpers it calls)."""
    helpers = set(elf.local_functions.get(f"{kernel}.c", ()))
    code = elf.sizes[kernel] + sum(elf.sizes[h] for h in helpers)

    def deepest(function: str, seen: frozenset) -> int:
        calls, tails = _callees(elf, function, helpers - seen)
        called = max((deepest(c, seen | {c}) for c in calls), default=0)
        tailed = max((deepest(c, seen | {c}) for c in tails), default=0)
        return max(stack_frame(elf, function) + called, tailed)

    return code, deepest(kernel, frozenset({kernel}))


def build_flags(target: Target) -> list[str]:
    """The flags every kernel is compiled with for ``target`` (codegen.build adds the rest)."""
    return [*target.gcc_cpu_flags(), OPT, *BASE_CFLAGS]


def _batches(cases: list[KernelCase]) -> list[list[KernelCase]]:
    out: list[list[KernelCase]] = [[]]
    size = 0
    for case in cases:
        n = sum(a.nbytes for a in case.args + case.expected if isinstance(a, np.ndarray))
        if out[-1] and size + n > FIRMWARE_BUDGET:
            out.append([])
            size = 0
        out[-1].append(case)
        size += n
    return out


def _measure_batch(cases: list[KernelCase], kernels: str, target: Target, work: Path) -> tuple[np.ndarray, ElfInfo]:
    work.mkdir(parents=True, exist_ok=True)
    source = write_kernel_cases(cases, work / "cases.c")
    build = build_kernel_cases(source, kernels, target, "qemu", work, n_cases=len(cases), opt=OPT)
    run = get_backend("iss").run(build.elf, target)
    report = parse_case_report(run.uart)
    if run.status != "ok" or report.mismatches or run.report.checksum != 0:
        shown = "; ".join(f"case {m.case} {m.what}[{m.index}] got {m.got} want {m.want}" for m in report.mismatches[:5])
        raise CalibrationError(f"calibration firmware of {cases[0].kernel} ({kernels} kernels, {target.name}) did not "
                               f"reproduce the reference: {run.status} {run.reason} {shown}")
    ops = run.counted_steps()[0].ops
    return np.array([[ops[i].instructions, ops[i].cycles] for i in range(len(cases))], np.float64), \
        ElfInfo.load(build.elf)


def measure_kernel(kernel: str, kernels: str, target: Target, cases: int, seed: int, work: Path,
                   pool: ThreadPoolExecutor) -> Measured:
    """Count the designed calls on the host and measure them in firmware (batches in parallel):
    ``cases`` of them, or ``CALLS_PER_FEATURE`` per feature of the kernel's twin if more."""
    reference = numba_kernels()
    calls = designed_calls(kernel, max(cases, CALLS_PER_FEATURE * len(twins(kernels)[kernel].features)), seed)
    counts = np.array([run_and_count(kernel, [a.copy() if isinstance(a, np.ndarray) else a for a in args],
                                     kernel_set=kernels).counts for args in calls])
    firmware_cases = [expected_case(kernel, args, reference) for args in calls]
    batches = _batches(firmware_cases)
    dirs = [work / f"{kernel}-{i}" for i in range(len(batches))]
    measured = list(pool.map(lambda b, d: _measure_batch(b, kernels, target, d), batches, dirs))
    code, frame = kernel_code_and_frame(measured[0][1], kernel)
    return Measured(kernel, counts, np.concatenate([m[0] for m in measured]), code, frame)


def fit(counts: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Costs per counted event minimising the relative error of every call."""
    weight = 1.0 / costs
    theta, *_ = np.linalg.lstsq(counts * weight[:, None], costs * weight, rcond=None)
    return theta


def _residuals(counts: np.ndarray, costs: np.ndarray, seed: int) -> dict:
    """In-sample and cross-validated (each call predicted by a fit without it) relative errors."""
    theta = fit(counts, costs)
    inside = np.abs(counts @ theta - costs) / costs
    folds = np.random.default_rng(seed).permutation(len(costs)) % FOLDS
    held = np.empty_like(costs)
    for k in range(FOLDS):
        test = folds == k
        held[test] = np.abs(counts[test] @ fit(counts[~test], costs[~test]) - costs[test]) / costs[test]
    return {"in_sample_max": float(inside.max()), "in_sample_median": float(np.median(inside)),
            "held_out_max": float(held.max()), "held_out_median": float(np.median(held))}


def kernel_cost(m: Measured, kernels: str, seed: int) -> KernelCost:
    features = twins(kernels)[m.kernel].features
    per_metric = {}
    residuals = {}
    for j, metric in enumerate(("instructions", "cycles")):
        per_metric[metric] = dict(zip(features, (float(v) for v in fit(m.counts, m.costs[:, j]))))
        residuals[metric] = _residuals(m.counts, m.costs[:, j], seed)
    return KernelCost(m.kernel, features, per_metric["instructions"], per_metric["cycles"], len(m.costs), residuals)


def calibrate(target: str | Target, kernels: str = "reference", *, cases: int = DEFAULT_CASES, seed: int = 0,
              out: Path | None = None, progress: Callable[[str], None] | None = None,
              work_dir: Path | None = None) -> Calibration:
    """Calibrate every kernel of the set for ``target`` and write the file (default: the
    package's own, :func:`~tinybench.estimate.calibration.calibration_path`)."""
    target = get_target(target)
    compiler = toolchain_version()
    if compiler is None:
        raise CalibrationError("arm-none-eabi-gcc not found: calibration builds firmware "
                               "(apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    costs, code, frames = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="tb-calibrate-", dir=work_dir) as tmp, \
            ThreadPoolExecutor(max_workers=2) as pool:
        for kernel in sorted(COUNTS):
            measured = measure_kernel(kernel, kernels, target, cases, seed, Path(tmp), pool)
            costs[kernel] = kernel_cost(measured, kernels, seed)
            code[kernel], frames[kernel] = measured.code_bytes, measured.frame_bytes
            if progress:
                progress(kernel)
    cal = Calibration(
        schema=CALIBRATION_SCHEMA, target=target.name, core=target.cpu, clock_hz=target.clock_hz, kernels=kernels,
        compiler=compiler, flags=build_flags(target), fingerprint=firmware_fingerprint(kernels),
        cycle_model=load_timing_table().describe(target.cpu), seed=seed, cases_per_kernel=cases,
        provenance={"tinybench": __version__, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    "machine": platform.node(), "python": platform.python_version()},
        costs=costs, code=code, frames=frames)
    with tempfile.TemporaryDirectory(prefix="tb-calibrate-steps-", dir=work_dir) as tmp:
        calibrate_steps(cal, target, Path(tmp), progress)
    cal.write(out or calibration_path(target.name, kernels))
    return cal


#: Small training steps (builder models, not the paper's) on which the glue of a generated step
#: and the memory model are fitted: inputs of several sizes, every scheme kind, both schedules.
STEP_DESIGNS = (
    ("conv:8:3:2 block:1:8:3:1 block:3:12:3:2 classifier:5", 16, "last-3", "reordered"),
    ("conv:8:3:2 block:2:8:3:1 block:2:16:5:2 block:2:16:3:1 classifier:6", 24, "last-4", "unfused"),
    ("conv:6:3:2 block:3:10:3:2 block:3:10:3:1 classifier:4", 32, "bias-only", "reordered"),
    ("conv:4:3:2 dw:3:1 pw:8 block:2:8:3:1 classifier:3", 20, "full", "reordered"),
    ("conv:8:3:2 block:4:12:5:2 block:4:12:3:1 block:4:16:3:1 classifier:10", 40, "last-6", "reordered"),
    ("conv:8:3:2 block:2:8:3:2 block:2:8:3:1 classifier:7", 48, "last-2", "unfused"),
    ("conv:8:3:2 block:3:8:7:1 block:3:16:3:2 classifier:5", 28, "full", "unfused"),
    ("conv:12:3:2 block:2:12:3:1 block:2:20:3:2 classifier:10", 36, "last-5", "reordered"),
)
STEP_STEPS = 2


@dataclass
class MeasuredStep:
    """One synthetic training step: what the firmware measured and what the kernels' costs
    predict for its ops."""

    input_bytes: int
    ops: int
    calls: int
    glue: np.ndarray  # [2]: step total minus its ops, instructions and cycles (last step)
    shape: object  # tinybench.estimate.memory.StepShape
    data: int
    bss: int
    flash: int
    stack: int


def _measure_step(i: int, design: tuple, cal: Calibration, target: Target, work: Path) -> MeasuredStep:
    from tinybench.codegen.firmware import build_training_firmware
    from tinybench.emulate.results import param_checksum
    from tinybench.estimate.memory import step_shape
    from tinybench.estimate.step import count_steps
    from tinybench.graph.schemes import get_scheme, resolve
    from tinybench.graph.training import compile_training
    from tinybench.kernels.calls import layer_params
    from tinybench.kernels.executor import DEFAULT_LR
    from tinybench.models.builder import build_model
    from tinybench.plan.memory import plan_memory

    spec, size, scheme, schedule = design
    model = build_model(spec, (size, size, 3), seed=i)
    graph = compile_training(model, resolve(get_scheme(scheme, model), model), schedule)
    plan = plan_memory(graph)
    rng = np.random.default_rng(i)
    image = rng.integers(-128, 128, (size, size, 3)).astype(np.int8)
    label = int(rng.integers(0, model.num_classes))
    counted = count_steps(plan, image, label, STEP_STEPS, lr=DEFAULT_LR, qas=True, kernel_set=cal.kernels)
    _, build = build_training_firmware(plan, image, label, target, "qemu", work / f"step{i}", steps=STEP_STEPS,
                                       lr=DEFAULT_LR, qas=True, kernels=cal.kernels)
    run = get_backend("iss").run(build.elf, target)
    expected = param_checksum(a for pair in counted.step.parameters().values() for a in pair if a.size)
    if run.status != "ok" or run.checksum != expected:
        raise CalibrationError(f"synthetic training step {i} ({spec}) failed in firmware: {run.status} {run.reason}")
    last = run.counted_steps()[-1]

    measured_ops = np.array([[last.ops[j].instructions, last.ops[j].cycles] for j in range(len(graph.ops))])
    return MeasuredStep(
        input_bytes=image.size, ops=len(graph.ops), calls=sum(len(c) for c in counted.per_step[-1]),
        glue=np.array([last.total.instructions, last.total.cycles]) - measured_ops.sum(axis=0),
        shape=step_shape(plan, layer_params(graph, DEFAULT_LR, True)), data=build.data_bytes, bss=build.bss_bytes,
        flash=build.flash_bytes, stack=run.stack_bytes)


def calibrate_steps(cal: Calibration, target: Target, work: Path,
                    progress: Callable[[str], None] | None = None) -> None:
    """Fit the glue of a generated step (what runs between its step markers outside its ops:
    the sample copy, the op markers) and the memory model's constants on
    :data:`STEP_DESIGNS`; store them in ``cal``. (A kernel call costs the same inside an op of
    a generated step as in the calibration firmware: measured, within a few instructions.)"""
    from tinybench.plan.lifetimes import align

    steps = []
    for i, design in enumerate(STEP_DESIGNS):
        steps.append(_measure_step(i, design, cal, target, work))
        if progress:
            progress(f"step {i}")
    glue_x = np.array([[1, s.input_bytes, s.ops] for s in steps], np.float64)
    cal.step = {}
    for j, metric in enumerate(("instructions", "cycles")):
        coef, *_ = np.linalg.lstsq(glue_x, np.array([s.glue[j] for s in steps]), rcond=None)
        cal.step[metric] = {"step": float(coef[0]), "input_bytes": float(coef[1]), "ops": float(coef[2])}
    sram = [sum(align(n) for n in s.shape.sram_arrays) for s in steps]
    zero = [sum(align(n) for n in s.shape.zero_arrays) for s in steps]
    rest = []
    for s, d in zip(steps, sram):
        code = sum(cal.kernel_code(k) for k in s.shape.kernels)
        rest.append(s.flash - code - sum(align(n) for n in s.shape.flash_arrays) - s.data - s.shape.op_name_bytes)
    flash_x = np.array([[1, s.shape.calls, s.shape.call_args, s.ops,
                         len(s.shape.sram_arrays) + len(s.shape.zero_arrays)] for s in steps], np.float64)
    coef, *_ = np.linalg.lstsq(flash_x, np.array(rest, np.float64), rcond=None)
    cal.memory = {
        "data_base": float(np.median([s.data - d for s, d in zip(steps, sram)])),
        "bss_base": float(np.median([s.bss - z - 4 * s.ops for s, z in zip(steps, zero)])),
        "flash_base": float(coef[0]), "flash_per_call": float(coef[1]), "flash_per_argument": float(coef[2]),
        "flash_per_op": float(coef[3]), "flash_per_trained_array": float(coef[4]),
        "stack_base": float(np.median([s.stack - max(cal.kernel_frame(k) for k in s.shape.kernels) for s in steps])),
    }
