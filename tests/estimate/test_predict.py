"""The estimator's interfaces: `tinybench estimate --target`, the batch API, and their agreement."""

from __future__ import annotations

import json

import pytest

from tinybench.bench.cell import CellConfig, predict_cell, prepare_cell
from tinybench.bench.predict import predict_cells
from tinybench.cli import main


def test_estimate_with_a_target_predicts_the_firmware(capsys):
    code = main(["estimate", "--model", "mbv2-w0.35", "--scheme", "49kb", "--target", "nrf52840", "--kernels",
                 "reference", "--ops", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    p = out["prediction"]
    assert p["instructions"] > 10**8 and p["cycles"] > p["instructions"] // 2
    assert p["latency_ms"] == pytest.approx(p["cycles_per_step"][-1] / 64e3)
    assert list(p["phases"]) == ["forward", "loss", "backward", "update"]
    assert sum(v["instructions"] for v in p["phases"].values()) <= p["instructions"]
    assert p["peak_sram_bytes"] == p["static_sram_bytes"] + out["arena_bytes"] + p["stack_bytes"]
    assert p["flash_total_bytes"] > out["flash_bytes"]  # code and constants on top of the parameters
    assert len(p["op_costs"]) == out["ops"] and all({"op", "macs", "instructions", "cycles"} <= set(o)
                                                    for o in p["op_costs"])


def test_batch_first_step_equals_the_host_run():
    """The batch API counts the first step from the model's data profile; that must be exactly
    what counting the host run of the same step gives."""
    cells = [CellConfig("proxyless-w0.3", scheme, "stm32f746", steps=1, kernels="reference", schedule=schedule)
             for scheme, schedule in (("49kb", "reordered"), ("last-4", "unfused"), ("bias-only", "reordered"))]
    table = predict_cells(cells + [CellConfig("proxyless-w0.3", "no-such-scheme", "stm32f746", kernels="reference")])
    assert list(table["status"]) == ["ok", "ok", "ok", "error"] and "no-such-scheme" in table["reason"].iloc[3]
    for cfg, (_, row) in zip(cells, table.iloc[:3].iterrows()):
        prediction, _ = predict_cell(prepare_cell(cfg))
        assert row["instructions"] == prediction.instructions and row["cycles"] == prediction.cycles
        assert row["peak_sram_bytes"] == prediction.memory.peak_sram_bytes
        assert row["flash_bytes"] == prediction.memory.flash_bytes


def test_a_cell_without_calibration_still_measures_and_says_why(tmp_path, monkeypatch):
    """No calibration for the kernel set: the cell runs and is measured; `predicted` says why
    it holds no prediction instead of taking any figure from the measurement."""
    from tinybench.bench.cell import run_cell

    monkeypatch.setenv("TINYBENCH_CALIBRATIONS", str(tmp_path))  # an empty folder
    r = run_cell(CellConfig("proxyless-w0.3", "bias-only", "nrf52840", steps=1, kernels="reference"))
    assert r.status == "ok" and r.measured["instructions"] > 0
    assert "no calibration" in r.predicted["unavailable"] and "tinybench calibrate" in r.predicted["unavailable"]
    assert "instructions" not in r.predicted and r.error == {}
