"""The scheme search end to end on a small built model, on a real Dask cluster."""

from __future__ import annotations

import argparse
import json

import pytest

from tinybench.bench.search import find_scheme, predicted_peak
from tinybench.bench.search_contribution import AnalysisSetup, analysis_runs, read_table
from tinybench.bench.search_dask import dask_client
from tinybench.bench.search_space import Budget, BudgetError, Space, evolve
from tinybench.estimate.batch import Configuration, estimate_configurations
from tinybench.graph.schemes import load_scheme_file, resolve
from tinybench.models.zoo import load_model

MODEL = "build:16x16x3 conv:8:3:2 block:2:8:3:1 block:2:16:3:2 block:2:16:3:1 classifier:4"
TARGET, KERNELS = "stm32f746", "reference"
SETUP = AnalysisSetup(steps=5, eval_samples=10, layers=2, seed=3)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _clients(calls: list):
    """A one-worker local cluster (counted, so a test sees whether the cache was used)."""
    def factory():
        calls.append(1)
        return dask_client(None, 1)
    return factory


def test_search_end_to_end(cache, monkeypatch):
    calls: list = []
    budget = Budget(int(predicted_peak(MODEL, "last-3", TARGET, KERNELS)["peak_sram_bytes"]))
    found = find_scheme(MODEL, TARGET, KERNELS, budget, SETUP, _clients(calls), cache / "out", "found", quiet=True)
    assert calls == [1] and not found.table.cached.any()
    model = load_model(MODEL, num_classes=10, seed=SETUP.seed)
    assert len(found.table) == len(analysis_runs(model, SETUP))
    # the scheme file is a scheme like any other: the estimator predicts what the search did
    scheme = load_scheme_file(found.scheme_path)
    resolve(scheme, model)
    row = estimate_configurations([Configuration(MODEL, str(found.scheme_path), TARGET, KERNELS, steps=1)]).iloc[0]
    assert row.status == "ok" and row.peak_sram_bytes == found.result.predicted["peak_sram_bytes"] <= budget.sram_bytes
    # the table is stored with its provenance
    stored = read_table(found.table_path)
    assert stored.attrs["provenance"]["setup"]["seed"] == SETUP.seed
    assert list(stored.contribution) == pytest.approx(list(found.table.contribution))
    # a second search reads every run from the cache, and finds the same scheme
    again = find_scheme(MODEL, TARGET, KERNELS, budget, SETUP, _clients(calls), cache / "again", "found", quiet=True)
    assert calls == [1] and again.table.cached.all()
    assert again.scheme_path.read_text() == found.scheme_path.read_text()
    # a fresh cache measures the same table: the analysis is reproducible from its seed
    monkeypatch.setenv("TINYBENCH_CACHE_DIR", str(cache / "fresh"))
    fresh = find_scheme(MODEL, TARGET, KERNELS, budget, SETUP, _clients(calls), cache / "fresh-out", "found", quiet=True)
    assert len(calls) == 2 and not fresh.table.cached.any()
    assert list(fresh.table.accuracy) == list(found.table.accuracy)
    assert fresh.scheme_path.read_text() == found.scheme_path.read_text()
    # a budget that admits every candidate says so
    wide = find_scheme(MODEL, TARGET, KERNELS, Budget(10 ** 9), SETUP, _clients(calls), cache / "wide", "w", quiet=True)
    assert wide.result.admits_everything and not found.result.admits_everything


def test_impossible_budget_names_the_smallest(cache):
    with pytest.raises(BudgetError, match=r"smallest feasible --sram-budget is [\d,]+"):
        find_scheme(MODEL, TARGET, KERNELS, Budget(1000), SETUP, _clients([]), cache, "x", quiet=True)


def test_evolutionary_search_finds_the_exhaustive_optimum():
    """On a space small enough to enumerate, with a feasibility rule that is not additive."""
    layers = (4, 6, 8, 9)
    space = Space(10, layers, (0.125, 0.25, 0.5, 1.0), {0: 0.0, 1: 0.02, 2: 0.01, 4: 0.05, 6: 0.03},
                  {(j, r): 0.01 * (j % 3 + 1) * r ** 0.5 - 0.004 * j * r for j in layers for r in (0.125, 0.25, 0.5, 1.0)})
    feasible = lambda c: c.n_bias + 3 * max(c.ratios) + sum(c.ratios) <= 7  # noqa: E731
    best = max((c for c in space.candidates() if feasible(c)), key=space.score)
    found = evolve(space, feasible, seed=1)
    assert space.score(found[0]) == pytest.approx(space.score(best))
    assert evolve(space, feasible, seed=1) == found  # reproducible from the seed


def test_cli_refuses_an_impossible_budget_before_any_training(capsys, cache):
    from tinybench.cli import main

    code = main(["search", "--model", MODEL, "--target", TARGET, "--sram-budget", "1KB", "--out", str(cache), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 2 and out["status"] == "error" and "smallest feasible --sram-budget is" in out["error"]
    assert not (cache / "cache").exists()  # nothing was fine-tuned


def test_cli_size_option():
    from tinybench.cli.search import _size

    assert _size("128KB") == _size("128k") == 131072 and _size("1000") == 1000
    with pytest.raises(argparse.ArgumentTypeError, match="128 MB"):
        _size("128 MB")
