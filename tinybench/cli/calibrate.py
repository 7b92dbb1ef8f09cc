"""Calibrate the estimator for a target and kernel set: measure every kernel on designed calls under iss.

Builds firmware of designed calls of every kernel (not the paper's models: those are the
estimator's test set) and small synthetic training steps, runs them under the in-process ISS,
fits each kernel's cost per counted event and the memory model, and writes the calibration file
into the package (tinybench/estimate/calibrations/<target>-<kernels>.json) with its provenance
and the fit's residuals. Needs arm-none-eabi-gcc; takes minutes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinybench.bench.calibrate import DEFAULT_CASES, STEP_DESIGNS, calibrate
from tinybench.cli.options import integer_in
from tinybench.cli.output import format_table, print_json
from tinybench.codegen.firmware import KERNEL_SETS, default_kernels
from tinybench.codegen.targets import TARGETS
from tinybench.estimate.counts import COUNTS


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", required=True, choices=sorted(TARGETS))
    p.add_argument("--kernels", choices=KERNEL_SETS, default=None, help="kernel set (default: the target's)")
    p.add_argument("--cases", type=integer_in(8, 10_000), default=DEFAULT_CASES,
                   help="designed calls per kernel (default %(default)s)")
    p.add_argument("--seed", type=integer_in(0, 2**32 - 1), default=0, help="seed of the designed calls")
    p.add_argument("--out", type=Path, help="write the calibration here instead of into the package")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    kernels = args.kernels or default_kernels(args.target)
    with tqdm(total=len(COUNTS) + len(STEP_DESIGNS), desc=f"calibrating {args.target} {kernels}", unit="part",
              file=sys.stderr, disable=args.json) as bar:
        cal = calibrate(args.target, kernels, cases=args.cases, seed=args.seed, out=args.out,
                        progress=lambda what: (bar.set_postfix_str(what), bar.update(1)))
    rows = [{"kernel": k, **{f"{m}_{r}": v for m, res in c.residuals.items() for r, v in res.items()}}
            for k, c in sorted(cal.costs.items())]
    if args.json:
        print_json({"status": "ok", "calibration": str(cal.path), "target": cal.target, "kernels": cal.kernels,
                    "compiler": cal.compiler, "fingerprint": cal.fingerprint, "residuals": rows})
        return 0
    print(f"wrote {cal.path} ({cal.compiler}; {args.cases} calls per kernel, seed {args.seed})")
    print(format_table(["kernel", "instructions: held-out max", "median", "cycles: held-out max", "median"],
                       [[r["kernel"], f"{100 * r['instructions_held_out_max']:.2f}%",
                         f"{100 * r['instructions_held_out_median']:.3f}%", f"{100 * r['cycles_held_out_max']:.2f}%",
                         f"{100 * r['cycles_held_out_median']:.3f}%"] for r in rows]))
    return 0
