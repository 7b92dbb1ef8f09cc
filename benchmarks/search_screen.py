"""Speed of the scheme search's candidate screen against the exact prediction, side by side.

    python benchmarks/search_screen.py [--model mcunet-5fps] [--candidates 200]

The screen (tinybench.bench.search_space.Evaluator.__call__: compile, the window's cached
tiling, the live-bytes floor) and the exact prediction (Evaluator.exact: the tiling chosen for
the candidate, the planned arena, the estimator's memory and latency) on the same seeded sample
of candidates of a synthetic table (contributions do not change the cost). Prints ms per
candidate of each and their ratio, and how often the screen's lower bound was below the exact
peak (it must always be)."""

from __future__ import annotations

import argparse
import time

import numpy as np

from tinybench.bench.search_contribution import AnalysisSetup, RATIOS, analysis_runs
from tinybench.bench.search_space import Evaluator, Space
from tinybench.estimate.batch import Configuration
from tinybench.models.zoo import load_model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mcunet-5fps")
    ap.add_argument("--target", default="stm32f746")
    ap.add_argument("--candidates", type=int, default=200)
    args = ap.parse_args()
    model = load_model(args.model, num_classes=10)
    runs = analysis_runs(model, AnalysisSetup())
    space = Space(len(model.convs) - 1, tuple(sorted({r.layer for r in runs if r.layer is not None})), RATIOS,
                  {r.n_bias: 0.0 for r in runs if r.layer is None},
                  {(r.layer, r.ratio): 0.0 for r in runs if r.layer is not None})
    ev = Evaluator(args.model, space, Configuration(args.model, "", args.target, "reference", steps=1), latency=False)
    pool = list(space.candidates())
    sample = [pool[i] for i in np.random.default_rng(0).choice(len(pool), min(args.candidates, len(pool)), replace=False)]
    ev.exact(sample[0])  # the data profile
    for window in space.bias:
        ev.tiling_for(window)  # one tiling choice per window, shared by its candidates
    ev.seen.clear()
    start = time.perf_counter()
    screened = [ev(c) for c in sample]
    screen_s = (time.perf_counter() - start) / len(sample)
    start = time.perf_counter()
    exact = [ev.exact(c) for c in sample]
    exact_s = (time.perf_counter() - start) / len(sample)
    below = sum(s["peak_sram_bytes"] <= e["peak_sram_bytes"] for s, e in zip(screened, exact))
    gap = np.median([(e["peak_sram_bytes"] - s["peak_sram_bytes"]) / e["peak_sram_bytes"] for s, e in zip(screened, exact)])
    print(f"{args.model}, {len(sample)} candidates: screen {1000 * screen_s:.1f} ms, exact {1000 * exact_s:.1f} ms "
          f"per candidate (exact/screen {exact_s / screen_s:.1f}x); lower bound held for {below}/{len(sample)}, "
          f"median gap {100 * gap:.1f}% of the exact peak")


if __name__ == "__main__":
    main()
