"""Regression check of a run against a baseline, cell by cell, as asv compares runs and TFLM
gates binary size.

Everything the emulators and the build measure is deterministic (instructions, cycles, memory,
flash, the parameter checksum, the status): those are compared exactly, or within the stated
relative tolerance of :data:`TOLERANCES`. Predictions are floats computed from the same inputs
and compared to 1e-9. Host wall times are noise: without repeated runs of a cell there is no
test that separates a regression from noise, so they are shown, never gated.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tinybench.bench.store import Results, write_part, write_provenance

#: Metric -> relative tolerance (0: exact). A larger value of any of them is worse.
TOLERANCES = {
    "measured_instructions": 0.0, "measured_cycles": 0.0, "measured_peak_sram_bytes": 0.0,
    "measured_arena_used_bytes": 0.0, "measured_stack_bytes": 0.0, "measured_static_sram_bytes": 0.0,
    "measured_flash_bytes": 0.0,
    "predicted_instructions": 1e-9, "predicted_cycles": 1e-9, "predicted_peak_sram_bytes": 1e-9,
    "predicted_flash_bytes": 1e-9, "predicted_arena_bytes": 0.0,
}
LABEL = ("model", "scheme", "target", "emulator", "kernels", "schedule", "steps")


@dataclass
class Change:
    cell: str
    metric: str
    baseline: object
    value: object
    kind: str  # regression | improvement | changed

    def row(self) -> list:
        rel = ""
        if isinstance(self.baseline, (int, float)) and isinstance(self.value, (int, float)) and self.baseline:
            rel = f"{100 * (self.value / self.baseline - 1):+.3f}%"
        return [self.kind, self.cell, self.metric, self.baseline, self.value, rel]


@dataclass
class CheckReport:
    changes: list[Change] = field(default_factory=list)
    appeared: list[str] = field(default_factory=list)
    disappeared: list[str] = field(default_factory=list)
    compared: int = 0

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.kind != "improvement"]

    @property
    def failed(self) -> bool:
        """A worse or changed figure, or a baseline cell the run no longer has."""
        return bool(self.regressions or self.disappeared)


def _label(row: pd.Series) -> str:
    return " ".join(str(row[c]) for c in LABEL if c in row and pd.notna(row[c]))


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _compare(cell: str, metric: str, base, value, tol: float) -> Change | None:
    if _missing(base) and _missing(value):
        return None
    if _missing(base) or _missing(value):
        return Change(cell, metric, base, value, "changed")
    if abs(value - base) <= tol * abs(base):
        return None
    return Change(cell, metric, base, value, "regression" if value > base else "improvement")


def check(results: Results, baseline: Results) -> CheckReport:
    report = CheckReport()
    new = results.cells.set_index("cell_key") if not results.cells.empty else pd.DataFrame()
    old = baseline.cells.set_index("cell_key") if not baseline.cells.empty else pd.DataFrame()
    report.appeared = [_label(new.loc[k]) for k in new.index.difference(old.index)]
    report.disappeared = [_label(old.loc[k]) for k in old.index.difference(new.index)]
    for key in old.index.intersection(new.index):
        b, r = old.loc[key], new.loc[key]
        cell = _label(b)
        report.compared += 1
        if b["status"] != r["status"]:
            report.changes.append(Change(cell, "status", b["status"], r["status"],
                                         "improvement" if r["status"] == "ok" else "regression"))
        if b.get("checksum") != r.get("checksum") and not (_missing(b.get("checksum")) and _missing(r.get("checksum"))):
            report.changes.append(Change(cell, "checksum", b.get("checksum"), r.get("checksum"), "changed"))
        for metric, tol in TOLERANCES.items():
            change = _compare(cell, metric, b.get(metric), r.get(metric), tol)
            if change:
                report.changes.append(change)
    return report


def update_baseline(results: Results, baseline_dir: Path) -> None:
    """Rewrite the baseline with the run's cells (the tidy table only: no ops, no ELFs)."""
    if baseline_dir.exists():
        shutil.rmtree(baseline_dir / "cells", ignore_errors=True)
    write_provenance(baseline_dir, results.provenance)
    write_part(baseline_dir / "cells" / "baseline.parquet", results.cells.to_dict("records"))
