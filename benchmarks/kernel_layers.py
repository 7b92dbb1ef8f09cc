"""Benchmark: modelled cycles of single kernels on the real calls of a training step.

Records every call of the chosen kernels during one host training step of a model (49kb
scheme, digits sample 0; the arguments as they are at that call: activations, weights,
gradients, masks), runs them as a case firmware (tinybench.codegen.kernel_firmware) under
``iss`` with each kernel set side by side, checks every byte against the reference, and
prints per call the cycles, MACs and cycles per MAC of each set.

Usage: .venv/bin/python benchmarks/kernel_layers.py MODEL KERNEL[,KERNEL...] [--target T]
       [--kernels reference,fast] [--limit N]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from tinybench.codegen.kernel_firmware import (KernelCase, build_kernel_cases, parse_case_report,
                                               write_kernel_cases)
from tinybench.emulate import get_backend
from tinybench.graph.schemes import get_scheme, resolve
from tinybench.graph.training import compile_training
from tinybench.kernels import KERNELS
from tinybench.kernels.executor import TrainingStep
from tinybench.kernels.host_c import parse_header
from tinybench.models.dataset import digits
from tinybench.models.zoo import load_model
from tinybench.plan.memory import plan_memory


def _copy(a):
    return a.copy() if isinstance(a, np.ndarray) else a


def record_calls(model: str, names: set[str]) -> list[KernelCase]:
    """The calls of ``names`` in one host step, with their reference results."""
    cases: list[KernelCase] = []
    protos = parse_header()

    def recording(name):
        def call(*args):
            before = [_copy(a) for a in args]
            ret = KERNELS[name](*args)
            # In the step an output may overlay its input (in place); here each has its own
            # buffer, so a const input is expected unchanged.
            after = [b if p.pointer and p.const else _copy(a) for a, b, p in zip(args, before, protos[name].params)]
            cases.append(KernelCase(name, before, after, None if ret is None else int(ret)))
            return ret
        return call

    kernels = SimpleNamespace(**{n: (recording(n) if n in names else f) for n, f in KERNELS.items()})
    m = load_model(model, num_classes=10)
    step = TrainingStep(plan_memory(compile_training(m, resolve(get_scheme("49kb", m), m))), kernels)
    data = digits(size=m.input_shape[0])[0]
    step.step(data.images[0], int(data.labels[0]))
    return cases


def macs(case: KernelCase) -> int:
    """Multiply-accumulates of a convolution call (0 for the other kernels)."""
    a, n = case.args, case.kernel
    if n == "tb_pointwise_fwd_s8":
        return a[1] * a[2] * a[3] * a[9]
    if n == "tb_pointwise_bwd_input_s8":
        return a[3] * a[4] * a[5] * a[9]
    if n == "tb_pwdw_fwd_s8":
        h, w, k, s = a[1], a[2], a[14], a[15]
        ho, wo = (h + s - 1) // s, (w + s - 1) // s
        return h * w * a[3] * a[10] + ho * wo * a[10] * k * k
    if n in ("tb_depthwise_fwd_s8", "tb_conv_fwd_s8"):
        h, w, c = a[1], a[2], a[3]
        k, s, cout = (a[9], a[10], c) if n == "tb_depthwise_fwd_s8" else (a[10], a[11], a[9] * c)
        return ((h + s - 1) // s) * ((w + s - 1) // s) * cout * k * k
    if n == "tb_depthwise_bwd_input_s8":
        h, w, c, k, s = a[3], a[4], a[5], a[9], a[10]
        return ((h + s - 1) // s) * ((w + s - 1) // s) * c * k * k
    if n == "tb_conv_bwd_input_s8":
        h, w, cin, cout, k, s = a[3], a[4], a[5], a[9], a[10], a[11]
        return ((h + s - 1) // s) * ((w + s - 1) // s) * cin * cout * k * k
    if n == "tb_pointwise_bwd_weight_sgd_s8":
        return a[3] * a[4] * a[5] * a[7]
    if n == "tb_depthwise_bwd_weight_sgd_s8":
        h, w, kt, k, s = a[3], a[4], a[6], a[8], a[9]
        return ((h + s - 1) // s) * ((w + s - 1) // s) * kt * k * k
    return 0


def chunks(cases: list[KernelCase], flash_bytes: int = 700_000) -> list[list[KernelCase]]:
    """Consecutive groups of cases whose images (in and out) fit one firmware's flash."""
    out, cur, size = [], [], 0
    for c in cases:
        n = 2 * sum(a.nbytes for a in c.args if isinstance(a, np.ndarray))
        if cur and size + n > flash_bytes:
            out.append(cur)
            cur, size = [], 0
        cur.append(c)
        size += n
    return out + [cur] if cur else out


def run(cases: list[KernelCase], kernels: str, target: str) -> list[int]:
    return [c for group in chunks(cases) for c in run_group(group, kernels, target)]


def run_group(cases: list[KernelCase], kernels: str, target: str) -> list[int]:
    backend = get_backend("iss")
    with tempfile.TemporaryDirectory(prefix="tb-klayers-") as tmp:
        out = Path(tmp)
        src = write_kernel_cases(cases, out / "cases.c")
        build = build_kernel_cases(src, kernels, target, backend.default_board(target), out, n_cases=len(cases))
        res = backend.run(build.elf, target, instruction_budget=10**10, timeout_s=1800)
    report = parse_case_report(res.uart)
    if res.status != "ok" or report.mismatches or len(report.done) != len(cases):
        raise SystemExit(f"{kernels}: {res.status} {res.reason}: {report.mismatches[:10]}")
    return [o.cycles for o in res.report.steps[0].ops]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("kernels_to_run")
    ap.add_argument("--target", default="stm32f746")
    ap.add_argument("--kernels", default="reference,fast")
    ap.add_argument("--limit", type=int, default=0, help="only the first N calls")
    args = ap.parse_args()
    cases = record_calls(args.model, set(args.kernels_to_run.split(",")))
    if args.limit:
        cases = cases[:args.limit]
    sets = args.kernels.split(",")
    cycles = {s: run(cases, s, args.target) for s in sets}
    print(f"{'call':4} {'kernel':32} {'shape':28} {'MACs':>9} " + " ".join(f"{s + ' cyc/MAC':>16}" for s in sets))
    totals = {s: 0 for s in sets}
    total_macs = 0
    for i, case in enumerate(cases):
        n = macs(case)
        total_macs += n
        shape = ",".join(str(a) for a in case.args if isinstance(a, int))[:28]
        cols = []
        for s in sets:
            totals[s] += cycles[s][i]
            cols.append(f"{cycles[s][i] / n:16.2f}" if n else f"{cycles[s][i]:16d}")
        print(f"{i:4} {case.kernel:32} {shape:28} {n:9d} " + " ".join(cols))
    print(f"{'all':4} {'':32} {'':28} {total_macs:9d} "
          + " ".join(f"{totals[s] / max(total_macs, 1):16.2f}" for s in sets)
          + "   (M cycles: " + ", ".join(f"{s} {totals[s] / 1e6:.2f}" for s in sets) + ")")


if __name__ == "__main__":
    main()
