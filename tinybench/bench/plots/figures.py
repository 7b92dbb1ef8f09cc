"""The seven comparison figures, each drawn from a results store (never by rerunning anything).

Each function takes the results (history: several runs, oldest first) and returns a matplotlib
Figure, or raises MissingData saying which cells it needs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tinybench.bench.plots.data import MissingData, latency_ms, on_target, peak_kb, pick
from tinybench.bench.plots.style import color, figure
from tinybench.bench.reference import (PAPER_BAR_SCHEME, PAPER_ENGINE_MS, PAPER_FULL_KB, PAPER_REORDERED_KB,
                                       PAPER_SPARSE_KB, TFLM_SPARSE_MS)
from tinybench.bench.store import Results
from tinybench.codegen.targets import TARGETS

#: Tolerances of the estimator (issue 7): instructions, cycles, peak SRAM.
TOLERANCE = {"instructions": 0.02, "cycles": 0.03, "peak_sram_bytes": 0.01}


def _models(cells: pd.DataFrame) -> list[str]:
    return [m for m in PAPER_BAR_SCHEME if m in set(cells["model"])] or sorted(set(cells["model"]))


def _sram_line(ax, target: str, label: bool = True) -> None:
    kb = TARGETS[target].sram_bytes / 1024
    ax.axhline(kb, color="0.3", ls="--", lw=0.8)
    if label:
        ax.annotate(f"{target} SRAM {kb:.0f} KB", (0.01, kb), xycoords=("axes fraction", "data"),
                    va="bottom", fontsize=6, color="0.3")


def memory(results: Results):
    """Figure 1: peak memory per model, full / sparse / sparse + reordering, beside the paper."""
    name = "figure 1 (peak memory)"
    cells = on_target(results.cells, name)
    models = _models(cells)
    kinds = [("full update", "full", "unfused", PAPER_FULL_KB), ("sparse update", None, "unfused", PAPER_SPARSE_KB),
             ("sparse + reordering", None, "reordered", PAPER_REORDERED_KB)]
    fig, ax = figure(2.0, 2.6)
    width = 0.13
    for i, (label, scheme, schedule, paper) in enumerate(kinds):
        ours = [peak_kb(pick(cells, name, model=m, scheme=scheme or PAPER_BAR_SCHEME.get(m, ""),
                             schedule=schedule).iloc[0]) for m in models]
        x = np.arange(len(models)) + (2 * i - 2.5) * width
        ax.bar(x, ours, width, color=color(i), label=f"tinybench, {label}")
        ax.bar(x + width, [paper.get(m, np.nan) for m in models], width, color=color(i), alpha=0.45,
               hatch="///", edgecolor="white", label=f"paper, {label}")
    _sram_line(ax, cells["target"].iloc[0])
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(models)), models)
    ax.set_ylabel("peak SRAM of one training step (KB, log)")
    ax.legend(ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)  # above: bars span decades
    return fig


def latency(results: Results):
    """Figure 2: training-step latency at the board's clock, both kernel sets, beside the paper's
    engine and TF-Lite Micro as published."""
    name = "figure 2 (latency)"
    cells = on_target(results.cells, name)
    cells = cells[(cells["schedule"] == "reordered") & (cells["status"] == "ok")]
    if cells.empty:
        raise MissingData(f"{name}: no cell of the reordered schedule ran (status ok)")
    models = _models(cells)
    series = [(f"tinybench, {k} kernels", [
        latency_ms(pick(cells, name, model=m, scheme=PAPER_BAR_SCHEME.get(m, ""), kernels=k).iloc[0])
        for m in models]) for k in sorted(set(cells["kernels"]))]
    series += [("paper's engine", [PAPER_ENGINE_MS.get(m, np.nan) for m in models]),
               ("TF-Lite Micro", [TFLM_SPARSE_MS.get(m, np.nan) for m in models])]
    fig, ax = figure(2.0, 2.4)
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series):
        ax.bar(np.arange(len(models)) + (i - (len(series) - 1) / 2) * width, values, width, color=color(i),
               label=label)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(models)), models)
    ax.set_ylabel(f"ms per training step at {TARGETS[cells['target'].iloc[0]].clock_hz / 1e6:.0f} MHz (log)")
    ax.legend(frameon=False, fontsize=6)
    return fig


def accuracy(results: Results):
    """Figure 3: predicted against measured, one point per cell, identity line, tolerance band,
    the cells outside it labelled."""
    name = "figure 3 (predicted vs measured)"
    cells = results.cells
    fig, axes = figure(2.0, 2.2, ncols=3)
    drawn = 0
    for ax, (metric, tol) in zip(axes, TOLERANCE.items()):
        both = cells.dropna(subset=[f"measured_{metric}", f"predicted_{metric}"]) if f"predicted_{metric}" in cells \
            else cells.iloc[0:0]
        ax.set_title(metric.replace("_", " "))
        if both.empty:
            ax.text(0.5, 0.5, "no predicted\nand measured cells", ha="center", va="center", transform=ax.transAxes)
            continue
        m, p = both[f"measured_{metric}"].astype(float), both[f"predicted_{metric}"].astype(float)
        lo, hi = min(m.min(), p.min()) * 0.9, max(m.max(), p.max()) * 1.1
        line = np.array([lo, hi])
        ax.plot(line, line, color="0.2", lw=0.8, label="identity")
        ax.fill_between(line, line * (1 - tol), line * (1 + tol), color=color(1), alpha=0.3, label=f"±{tol:.0%}")
        ax.scatter(m, p, s=8, color=color(0), zorder=3, label="cell")
        for (_, row), mi, pi in zip(both.iterrows(), m, p):
            if abs(pi / mi - 1) > tol:
                ax.annotate(f"{row['model']} {row['scheme']}", (mi, pi), fontsize=5)
        ax.set_xlabel("measured")
        ax.set_ylabel("predicted")
        drawn += 1
    if not drawn:
        raise MissingData(f"{name}: no cell has both a prediction and a measurement (a calibrated kernel set, "
                          "an emulator run)")
    axes[0].legend(frameon=False, fontsize=6)
    return fig


def _profiled_cell(results: Results, name: str) -> pd.Series:
    """The cell whose step the per-op figures show: the paper board's sparse scheme, measured."""
    if results.ops.empty:
        raise MissingData(f"{name}: the results hold no per-op rows (cells measured in an emulator)")
    cells = on_target(results.cells, name)
    measured = results.ops.dropna(subset=["measured_instructions"])["cell_key"] \
        if "measured_instructions" in results.ops else pd.Series(dtype=str)
    cells = cells[cells["cell_key"].isin(measured)]
    if cells.empty:
        raise MissingData(f"{name}: no cell measured its ops (an emulator run that ended ok)")
    bar = cells[cells["scheme"].isin(PAPER_BAR_SCHEME.values()) & (cells["schedule"] == "reordered")]
    return (bar if not bar.empty else cells).iloc[0]


def cycles(results: Results):
    """Figure 4: where the cycles of one step go, per op coloured by phase, and per kernel kind
    stacked by phase."""
    name = "figure 4 (cycles per op)"
    cell = _profiled_cell(results, name)
    ops = results.ops[results.ops["cell_key"] == cell["cell_key"]].sort_values("op_index")
    value = "measured_cycles" if ops["measured_cycles"].notna().any() else "measured_instructions"
    ops = ops.assign(phase=ops.get("phase", pd.Series("step", index=ops.index)).fillna("step"),
                     **{value: pd.to_numeric(ops[value])})  # a column with gaps can be stored as objects
    phases = sorted(set(ops["phase"]))
    fig, (per_op, per_kind) = figure(2.0, 3.2, nrows=2)
    for i, phase in enumerate(phases):
        sel = ops[ops["phase"] == phase]
        per_op.bar(sel["op_index"], sel[value] / 1e6, 1.0, color=color(i), label=phase)
    per_op.set_xlabel("op of the training step")
    per_op.set_ylabel(f"M {value.split('_')[1]}")
    per_op.set_title(f"{cell['model']} {cell['scheme']} on {cell['target']}, {cell['kernels']} kernels")
    per_op.legend(frameon=False, ncols=len(phases))
    table = ops.pivot_table(index="kind", columns="phase", values=value, aggfunc="sum", fill_value=0) / 1e6
    table = table.loc[table.sum(axis=1).sort_values().index]
    left = np.zeros(len(table))
    for i, phase in enumerate(phases):
        if phase in table:
            per_kind.barh(table.index, table[phase], left=left, color=color(i), label=phase)
            left += table[phase].to_numpy()
    per_kind.set_xlabel(f"M {value.split('_')[1]} per kernel kind")
    return fig


def timeline(results: Results):
    """Figure 5: bytes live at each op by category, the arena and the peak, one line per schedule."""
    name = "figure 5 (memory timeline)"
    cell = _profiled_cell(results, name)
    cells = results.cells
    same = cells[(cells["model"] == cell["model"]) & (cells["scheme"] == cell["scheme"])
                 & (cells["target"] == cell["target"]) & (cells["kernels"] == cell["kernels"])
                 & cells["cell_key"].isin(results.ops["cell_key"])]
    fig, ax = figure(2.0, 2.6)
    for j, (_, row) in enumerate(same.sort_values("schedule").iterrows()):
        ops = results.ops[results.ops["cell_key"] == row["cell_key"]].sort_values("op_index")
        live = ops.filter(like="live_").fillna(0)
        total = live.sum(axis=1) / 1024
        if row["schedule"] == cell["schedule"]:
            ax.stackplot(ops["op_index"], (live / 1024).T.to_numpy(), alpha=0.7, colors=[color(i + 2) for i in
                         range(live.shape[1])], labels=[c[5:-6].replace("_", " ") for c in live.columns])
            ax.axhline(row["predicted_arena_bytes"] / 1024, color="0.3", ls=":", lw=0.8, label="arena")
            peak = int(np.argmax(total.to_numpy()))
            ax.annotate(f"peak {total.iloc[peak]:.1f} KB", (ops["op_index"].iloc[peak], total.iloc[peak]),
                        fontsize=6, xytext=(5, 5), textcoords="offset points")
        ax.plot(ops["op_index"], total, color=color(j), lw=1.0, label=f"live, {row['schedule']}")
    ax.set_xlabel("op of the training step")
    ax.set_ylabel("bytes live in the arena (KB)")
    ax.set_title(f"{cell['model']} {cell['scheme']} on {cell['target']}")
    ax.legend(frameon=False, fontsize=5, ncols=2)
    return fig


def frontier(results: Results):
    """Figure 6: every scheme of a model, peak SRAM against latency, with each target's SRAM."""
    name = "figure 6 (scheme frontier)"
    cells = results.cells
    cells = cells[cells["schedule"] == "reordered"] if "schedule" in cells else cells
    rows = [(r["model"], r["target"], r["scheme"], peak_kb(r), latency_ms(r)) for _, r in cells.iterrows()]
    rows = [r for r in rows if r[4] is not None]
    if not rows:
        raise MissingData(f"{name}: no cell has a latency (measured under iss or predicted)")
    frame = pd.DataFrame(rows, columns=["model", "target", "scheme", "peak_kb", "latency_ms"])
    fig, ax = figure(2.0, 2.6)
    markers = dict(zip(sorted(set(frame["target"])), "os^"))
    for i, model in enumerate(sorted(set(frame["model"]))):
        for target, marker in markers.items():
            sel = frame[(frame["model"] == model) & (frame["target"] == target)]
            ax.scatter(sel["latency_ms"], sel["peak_kb"], color=color(i), marker=marker, s=12,
                       label=f"{model}, {target}")
    for target in markers:
        _sram_line(ax, target)
    ax.set_xscale("log")
    ax.set_xlabel("ms per training step (log)")
    ax.set_ylabel("peak SRAM (KB)")
    ax.legend(frameon=False, fontsize=5)
    return fig


def history(runs: list[Results], metric: str = "measured_cycles"):
    """Figure 7: a metric of each cell over the stored runs (by date), labelled by commit."""
    name = "figure 7 (history)"
    frames = [r.cells.assign(date=r.provenance.get("date", ""), commit=(r.provenance.get("git_commit") or "?")[:8])
              for r in runs if not r.cells.empty and metric in r.cells]
    if not frames:
        raise MissingData(f"{name}: no run holds {metric}")
    cells = pd.concat(frames, ignore_index=True).dropna(subset=[metric]).sort_values("date")
    fig, ax = figure(2.0, 2.4)
    keys = list(dict.fromkeys(cells["cell_key"]))[:10]  # a legible legend: the first ten cells
    for i, (_, cell) in enumerate(cells[cells["cell_key"].isin(keys)].groupby("cell_key", sort=False)):
        first = cell.iloc[0]
        ax.plot(cell["date"] + "\n" + cell["commit"], cell[metric] / 1e6, marker="o", ms=3, color=color(i),
                label=f"{first['model']} {first['scheme']} {first['target']} {first['kernels']}")
    ax.set_ylabel(f"{metric.replace('_', ' ')} (M)")
    ax.set_xlabel("run (date, commit)")
    ax.tick_params(axis="x", labelsize=5)
    ax.legend(frameon=False, fontsize=5)
    return fig


#: Name -> the figure of the newest run (history, which takes every run, is apart).
FIGURES = {"memory": memory, "latency": latency, "accuracy": accuracy, "cycles": cycles, "timeline": timeline,
           "frontier": frontier}
