"""Comparison figures from a results store (`tinybench plot`): see figures.py."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from tinybench.bench.plots.data import MissingData
from tinybench.bench.plots.figures import FIGURES, history
from tinybench.bench.store import Results

__all__ = ["FIGURES", "MissingData", "draw_all", "save_all"]


def draw_all(runs: list[Results]) -> dict[str, object]:
    """Every figure of the newest run (and the history of all): name -> Figure, or the
    MissingData message that says why it cannot be drawn."""
    out: dict[str, object] = {}
    for name, draw in [*FIGURES.items(), ("history", None)]:
        try:
            out[name] = history(runs) if draw is None else draw(runs[-1])
        except MissingData as why:
            out[name] = str(why)
    return out


def save_all(runs: list[Results], out: Path, fmt: str = "png") -> dict[str, str]:
    """Write each figure to ``out/<name>.<fmt>``: name -> path, or why it was not drawn."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, fig in draw_all(runs).items():
        if isinstance(fig, str):
            written[name] = fig
            continue
        path = out / f"{name}.{fmt}"
        fig.savefig(path)
        plt.close(fig)
        written[name] = str(path)
    return written
