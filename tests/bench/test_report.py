"""Figures and the HTML report, from results stored by real matrix runs; the report in a real
headless Chromium (Debian's package: setup.sh installs it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from tinybench.bench.matrix import MatrixSpec, run_matrix
from tinybench.bench.plots import MissingData, draw_all
from tinybench.bench.plots.figures import accuracy, cycles, frontier, history, latency, memory, timeline
from tinybench.bench.reference import PAPER_FULL_KB, PAPER_REORDERED_KB
from tinybench.bench.report import render
from tinybench.bench.store import SCHEMA_VERSION, Results, read_results
from tinybench.cli import main

CHROMIUM = shutil.which("chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def predicted(tmp_path_factory) -> Results:
    """The estimator's answer for the memory bars: full and sparse, both schedules."""
    out = tmp_path_factory.mktemp("predicted")
    run_matrix(MatrixSpec({"models": ["mcunet-5fps"], "schemes": ["99kb", "full"], "targets": ["stm32f746"],
                           "schedules": ["reordered", "unfused"], "kernels": ["reference"],
                           "tilings": ["none"]}), out, predict_only=True)
    return read_results(out)


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> Path:
    """One step of mcunet's 99kb scheme in firmware under iss (calibrated reference kernels)."""
    out = tmp_path_factory.mktemp("measured")
    run_matrix(MatrixSpec({"models": ["mcunet-5fps"], "schemes": ["99kb"], "targets": ["stm32f746"],
                           "kernels": ["reference"], "steps": [1], "tilings": ["none"]}), out, workers=0)
    return out


def test_memory_bars_are_ours_beside_the_papers(predicted):
    fig = memory(predicted)
    heights = [round(b.get_height(), 1) for b in fig.axes[0].patches]
    assert len(heights) == 6  # three kinds, ours and the paper's, one model
    assert PAPER_FULL_KB["mcunet-5fps"] in heights and PAPER_REORDERED_KB["mcunet-5fps"] in heights
    ours = predicted.cells.set_index(["scheme", "schedule"])
    full = (ours.loc[("full", "unfused"), "predicted_peak_sram_bytes"]) / 1024
    assert round(full, 1) in heights
    assert fig.axes[0].get_yscale() == "log" and any(l.get_ydata()[0] == 320 for l in fig.axes[0].lines)


def test_accuracy_points_and_identity_line(measured):
    fig = accuracy(read_results(measured))
    points = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert len(points) == 1 and len(points[0].get_offsets()) == 1
    assert fig.axes[0].lines[0].get_label() == "identity"


def test_cycles_and_timeline_show_every_op(measured):
    results = read_results(measured)
    n_ops = len(results.ops)
    bars = sum(len(c.patches) for c in cycles(results).axes[0].containers)
    assert bars == n_ops
    total = timeline(results).axes[0].lines[-1]
    live = results.ops.filter(like="live_").sum(axis=1) / 1024
    assert list(total.get_ydata()) == pytest.approx(list(live))


def test_latency_frontier_and_history_read_the_measurement(measured):
    results = read_results(measured)
    ms = results.cells["measured_latency_ms"].iloc[0]
    assert any(b.get_height() == pytest.approx(ms) for b in latency(results).axes[0].patches)
    offsets = frontier(results).axes[0].collections[0].get_offsets()
    assert offsets[0][0] == pytest.approx(ms)
    line = history([results, results]).axes[0].lines[0]
    assert len(line.get_ydata()) == 2


def test_empty_failed_and_older_results_say_so(measured, tmp_path):
    empty = Results(pd.DataFrame(), pd.DataFrame(), {})
    assert all(isinstance(v, str) for v in draw_all([empty]).values())
    assert "no cells" in render([empty])
    results = read_results(measured)
    failed = Results(results.cells.assign(status="fault", reason="HardFault at tb_conv"), pd.DataFrame(), {})
    page = render([failed])
    assert "Every cell failed" in page and "HardFault at tb_conv" in page
    old = tmp_path / "old"
    shutil.copytree(measured, old)
    part = next((old / "cells").glob("*.parquet"))
    pd.read_parquet(part).assign(schema_version=SCHEMA_VERSION - 1).to_parquet(part, index=False)
    assert "results schema" in render([read_results(old)])
    with pytest.raises(MissingData, match="no cells"):
        memory(empty)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (setup.sh installs Debian's package)")
def test_report_in_a_real_browser(measured, predicted, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    report = tmp_path / "report.html"
    baseline = tmp_path / "baseline"
    assert main(["check", str(measured), "--baseline", str(baseline), "--update"]) == 0
    assert main(["report", "--results", str(measured), "--out", str(report), "--baseline", str(baseline)]) == 0
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                   else (errors.append(f"network: {route.request.url}"), route.abort()))
        page.goto(report.as_uri())
        for name in ("memory", "latency", "accuracy", "cycles", "timeline", "frontier", "history"):
            figure = page.locator(f"#figure-{name}")
            assert figure.is_visible()
            if name != "memory":  # memory needs full-update cells, which this run does not have
                assert figure.locator("svg").first.is_visible(), name
        header = page.locator("#cells th", has_text="scheme")
        header.click()
        assert header.get_attribute("aria-sort") == "ascending"
        assert "0 cells compared" not in page.content() and "no regression" in page.content()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert (tmp_path / "report.png").stat().st_size > 10_000
