"""One self-contained HTML report of a results store: provenance, a summary of the cells, the
figures inline as SVG, sortable tables of measured / predicted / error, and the regression check
against a baseline when one is given. It opens offline: no script, style or font is fetched.
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from tinybench.bench.check import CheckReport, check
from tinybench.bench.plots import draw_all
from tinybench.bench.store import Results

COLUMNS = ["model", "scheme", "target", "emulator", "kernels", "schedule", "status", "measured_instructions",
           "predicted_instructions", "error_instructions", "measured_cycles", "predicted_cycles", "error_cycles",
           "measured_peak_sram_bytes", "predicted_peak_sram_bytes", "error_peak_sram_bytes", "measured_flash_bytes",
           "reason"]

STYLE = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px}
th{background:#eee;cursor:pointer;user-select:none}th[aria-sort]::after{content:" \\2195"}
td.num{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#D55E00}.figure svg{max-width:100%;height:auto}
.missing{color:#666;font-style:italic}"""

#: Click a header to sort by it (numbers as numbers), again to reverse.
SORT_JS = """document.querySelectorAll("table.sortable th").forEach((th, col) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], rows = Array.from(body.rows);
  const up = th.getAttribute("aria-sort") !== "ascending";
  th.closest("tr").querySelectorAll("th").forEach(h => h.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", up ? "ascending" : "descending");
  const key = r => { const t = r.cells[col].dataset.v ?? r.cells[col].textContent; const n = parseFloat(t);
                     return isNaN(n) ? t : n; };
  rows.sort((a, b) => { const x = key(a), y = key(b); return (x > y ? 1 : x < y ? -1 : 0) * (up ? 1 : -1); });
  rows.forEach(r => body.appendChild(r));
}));"""


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _cell(column: str, value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "<td></td>"
    if column.startswith("error_"):
        return f'<td class="num" data-v="{value}">{100 * value:+.3f}%</td>'
    if isinstance(value, (int, float)):
        return f'<td class="num" data-v="{value}">{value:,.0f}</td>'
    return f"<td>{html.escape(str(value))[:300]}</td>"


def _table(frame: pd.DataFrame, columns: list[str], table_id: str) -> str:
    columns = [c for c in columns if c in frame]
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(c, row[c]) for c in columns) + "</tr>"
                   for _, row in frame[columns].iterrows())
    return f'<table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _summary(results: Results) -> str:
    return _cells_summary(results.cells) + "".join(
        f'<p class="bad">Unreadable: {html.escape(path)}: {html.escape(why)}</p>'
        for path, why in results.problems.items())


def _cells_summary(cells: pd.DataFrame) -> str:
    if cells.empty:
        return '<p class="missing">The results hold no cells: nothing was run or stored yet.</p>'
    counts = cells["status"].value_counts()
    text = ", ".join(f"{n} {html.escape(s)}" for s, n in counts.items())
    failed = cells[~cells["status"].isin(["ok", "predicted"])]
    out = f"<p>{len(cells)} cells: {text}.</p>"
    if len(failed) == len(cells):
        out += '<p class="bad">Every cell failed: the figures that need measurements are missing.</p>'
    if not failed.empty:
        out += "<h3>Failed cells and why</h3>" + _table(failed, ["model", "scheme", "target", "emulator", "kernels",
                                                                 "schedule", "status", "reason"], "failed")
    return out


def _check(report: CheckReport, baseline: Path) -> str:
    verdict = "regressions found" if report.failed else "no regression"
    out = (f"<h2>Regression check against {html.escape(str(baseline))}</h2><p>{report.compared} cells compared: "
           f"{verdict}; {len(report.appeared)} new, {len(report.disappeared)} missing.</p>")
    if report.changes:
        frame = pd.DataFrame([c.__dict__ for c in report.changes])
        out += _table(frame, list(frame.columns), "check")
    return out


def render(runs: list[Results], baseline: Results | None = None, baseline_path: Path | None = None) -> str:
    """The report of the newest of ``runs`` (all of them feed the history figure)."""
    results = runs[-1]
    figures = []
    for name, fig in draw_all(runs).items():
        body = f'<p class="missing">{html.escape(fig)}</p>' if isinstance(fig, str) else _svg(fig)
        figures.append(f'<div class="figure" id="figure-{name}"><h3>{html.escape(name)}</h3>{body}</div>')
    prov = html.escape(json.dumps(results.provenance, indent=1, default=str))
    parts = [f"<h1>tinybench results {html.escape(str(results.provenance.get('run_id', '')))}</h1>",
             "<h2>Summary</h2>", _summary(results),
             "<h2>Figures</h2>", *figures,
             "<h2>Cells</h2>", _table(results.cells, COLUMNS, "cells") if not results.cells.empty else "",
             _check(check(results, baseline), baseline_path) if baseline is not None else "",
             f"<h2>Provenance</h2><pre>{prov}</pre>"]
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>tinybench report</title>'
            f"<style>{STYLE}</style></head><body>{''.join(parts)}<script>{SORT_JS}</script></body></html>")


def write_report(runs: list[Results], out: Path, baseline: Results | None = None,
                 baseline_path: Path | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(runs, baseline, baseline_path), encoding="utf-8")
    return out
