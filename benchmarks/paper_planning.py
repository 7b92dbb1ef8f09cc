"""Benchmark: the planning of `tinybench paper` (15 published schemes x both schedules and the
3 full updates, tiling auto), its time cold (first pass in the process) and warm (a second
pass), and the arena of every step.

``--save FILE`` writes the arenas as JSON; ``--compare FILE`` fails (exit 1) if any step's
arena is larger than in FILE, so a faster planner can be checked never to plan worse.
Usage: .venv/bin/python benchmarks/paper_planning.py [--planner search] [--save F | --compare F]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

from tinybench.graph.schemes import get_scheme, published_schemes, resolve
from tinybench.graph.training import Schedule, TrainingGraph, compile_training
from tinybench.models.zoo import DEFAULT_TRAIN_CLASSES, load_model
from tinybench.plan.tiling import choose_tiling


def steps() -> dict[str, TrainingGraph]:
    """The 33 steps `tinybench paper` plans, compiled once (compiling is not planning)."""
    models: dict = {}
    out = {}
    for s in published_schemes():
        m = models.setdefault(s.model, load_model(s.model, num_classes=DEFAULT_TRAIN_CLASSES))
        for sched in Schedule:
            out[f"{s.label} {sched.value}"] = compile_training(m, resolve(get_scheme(s.label, m), m), sched)
    for name, m in models.items():
        out[f"{name}:full reordered"] = compile_training(m, resolve(get_scheme("full", m), m), Schedule.REORDERED)
    return out


def plan_all(graphs: dict[str, TrainingGraph], planner: str) -> tuple[dict[str, dict], float, float]:
    """Arena, floor and tiling of every step; wall and CPU seconds of the whole pass."""
    wall, cpu = time.perf_counter(), time.process_time()
    rows = {}
    for name, g in graphs.items():
        c = choose_tiling(g, "auto", planner)
        t = g.tiling if c.graph is g else c.graph.tiling
        rows[name] = {"arena_bytes": c.plan.arena_bytes, "floor_bytes": c.plan.floor_bytes,
                      "tiling": f"{t.ops}:{t.tiles}" if t else "none",
                      "offsets": hashlib.sha256(str(c.plan.buffer_offsets).encode()).hexdigest()[:12]}
    return rows, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--planner", default="search")
    ap.add_argument("--save")
    ap.add_argument("--compare")
    args = ap.parse_args()
    graphs = steps()
    rows, cold_wall, cold_cpu = plan_all(graphs, args.planner)
    _, warm_wall, warm_cpu = plan_all(graphs, args.planner)
    print(f"planning {len(graphs)} steps ({args.planner}): cold {cold_wall:.2f} s wall / {cold_cpu:.2f} s cpu, "
          f"warm {warm_wall:.2f} s wall / {warm_cpu:.2f} s cpu")
    if args.save:
        with open(args.save, "w") as f:
            json.dump(rows, f, indent=1)
    if not args.compare:
        return 0
    with open(args.compare) as f:
        before = json.load(f)
    worse = 0
    print(f"{'step':34} {'before':>8} {'after':>8} {'floor':>8}  tiling before -> after")
    for name, r in rows.items():
        b = before[name]
        worse += r["arena_bytes"] > b["arena_bytes"]
        mark = "  WORSE" if r["arena_bytes"] > b["arena_bytes"] else ""
        print(f"{name:34} {b['arena_bytes']:8} {r['arena_bytes']:8} {r['floor_bytes']:8}  "
              f"{b['tiling']} -> {r['tiling']}{mark}")
    same = sum(r["offsets"] == before[name]["offsets"] for name, r in rows.items())
    print(f"{worse} step(s) worse, {same} of {len(rows)} with the same offsets")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
