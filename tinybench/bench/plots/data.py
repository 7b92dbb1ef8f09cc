"""What the figures read from a results store, in one place: which cells stand for what."""

from __future__ import annotations

import pandas as pd

from tinybench.bench.reference import PAPER_TARGET
from tinybench.errors import TinybenchError


class MissingData(TinybenchError):
    """A figure that the results cannot draw; says which cells it needs."""


def peak_kb(row: pd.Series) -> float:
    """Peak SRAM of a cell in KB: measured; else predicted; else the plan's arena + trainable
    parameters (a cell without calibration, or one too large to build, has only that)."""
    for value in (row.get("measured_peak_sram_bytes"), row.get("predicted_peak_sram_bytes")):
        if pd.notna(value):
            return float(value) / 1024
    return float(row.get("predicted_arena_bytes", 0) + row.get("predicted_trainable_sram_bytes", 0)) / 1024


def latency_ms(row: pd.Series) -> float | None:
    for value in (row.get("measured_latency_ms"), row.get("predicted_latency_ms")):
        if pd.notna(value):
            return float(value)
    return None


def on_target(cells: pd.DataFrame, figure: str) -> pd.DataFrame:
    """The cells of the paper's board if the results have it, else of their first target."""
    if cells.empty:
        raise MissingData(f"{figure}: the results hold no cells")
    target = PAPER_TARGET if (cells["target"] == PAPER_TARGET).any() else cells["target"].iloc[0]
    return cells[cells["target"] == target]


def pick(cells: pd.DataFrame, figure: str, **where) -> pd.DataFrame:
    """The cells matching ``where`` (column = value); MissingData naming them if there are none."""
    mask = pd.Series(True, index=cells.index)
    for column, value in where.items():
        if column not in cells:
            mask &= False
        else:
            mask &= cells[column] == value
    found = cells[mask]
    if found.empty:
        wanted = ", ".join(f"{k}={v}" for k, v in where.items())
        raise MissingData(f"{figure}: no cells with {wanted} (run them in the matrix, e.g. results/paper.toml)")
    return found
