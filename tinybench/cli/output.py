"""Printing results: aligned text tables for people, one JSON object for programs."""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence


def print_json(obj: dict[str, Any]) -> None:
    """Print ``obj`` as the command's one JSON object; it says ``"status": "ok"`` unless it
    carries its own status (a run that failed, an error)."""
    json.dump({"status": "ok", **obj}, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def kb(n: int) -> str:
    return f"{n / 1024:,.1f} KB"
