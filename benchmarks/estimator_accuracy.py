"""The estimator against the ISS on the paper's models: every published scheme, full, bias-only and
last-4, on both targets. A measurement, not a test (tests/estimate has the CI sample).

    python benchmarks/estimator_accuracy.py [--kernels reference] [--models ...] [--out results.json]

For each cell it runs `tinybench run` (iss, 3 steps) and compares predicted with measured:
instructions and cycles of the steps, per-op instructions and cycles of the last step, peak SRAM,
flash. Prints the max and median error per model and target, and the share of ops within 5%.
None of these models or schemes is used by the calibration (tinybench/bench/calibration_cases.py
and the builder models of tinybench/bench/calibrate.py are).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from tinybench.bench.cell import CellConfig, run_cell
from tinybench.graph.schemes import published_schemes
from tinybench.models.zoo import model_names

TARGETS = ("stm32f746", "nrf52840")
EXTRA = ("full", "bias-only", "last-4")


def cells(models: list[str], kernels: str) -> list[CellConfig]:
    out = []
    for model in models:
        schemes = [s.label for s in published_schemes() if s.model == model] + list(EXTRA)
        out += [CellConfig(model, scheme, target, kernels=kernels) for target in TARGETS for scheme in schemes]
    return out


def row(cfg: CellConfig) -> dict:
    t0 = time.perf_counter()
    r = run_cell(cfg)
    ops = [(o["predicted_instructions"] / o["instructions"] - 1, o["predicted_cycles"] / o["cycles"] - 1)
           for o in r.profile if o.get("predicted_instructions") is not None and o["instructions"]]
    return {"model": cfg.model, "scheme": cfg.scheme, "target": cfg.target, "status": r.status, "reason": r.reason[:200],
            "error": r.error, "ops": len(ops),
            "ops_instructions_within_5": sum(abs(a) <= 0.05 for a, _ in ops),
            "ops_cycles_within_5": sum(abs(b) <= 0.05 for _, b in ops),
            "ops_instructions_max": max((abs(a) for a, _ in ops), default=None),
            "ops_cycles_max": max((abs(b) for _, b in ops), default=None),
            "wall_s": time.perf_counter() - t0}


def summary(rows: list[dict]) -> list[dict]:
    out = []
    for model in dict.fromkeys(r["model"] for r in rows):
        for target in TARGETS:
            ok = [r for r in rows if r["model"] == model and r["target"] == target and r["status"] == "ok"]
            if not ok:
                continue
            line = {"model": model, "target": target, "cells": len(ok)}
            for metric in ("instructions", "cycles", "peak_sram_bytes", "flash_bytes"):
                errs = [abs(r["error"][metric]) for r in ok if metric in r["error"]]
                line[f"{metric}_max"] = max(errs)
                line[f"{metric}_median"] = statistics.median(errs)
            n = sum(r["ops"] for r in ok)
            line["ops_instructions_within_5"] = sum(r["ops_instructions_within_5"] for r in ok) / n
            line["ops_cycles_within_5"] = sum(r["ops_cycles_within_5"] for r in ok) / n
            out.append(line)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernels", default="reference")
    ap.add_argument("--models", nargs="*", default=model_names())
    ap.add_argument("--out", help="write every cell's row as JSON")
    args = ap.parse_args()
    rows = []
    for cfg in cells(args.models, args.kernels):
        rows.append(row(cfg))
        r = rows[-1]
        e = r["error"]
        print(f"{r['model']:15s} {r['scheme']:22s} {r['target']:10s} {r['status']:10s} "
              + " ".join(f"{k[:5]} {100 * v:+.2f}%" for k, v in e.items()) + f"  ops<5%: {r['ops_instructions_within_5']}/{r['ops']}"
              f" {r['wall_s']:.0f}s", file=sys.stderr, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"rows": rows, "summary": summary(rows)}, f, indent=1)
    for line in summary(rows):
        print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
