"""The matrix on a real Dask cluster, the results store and the regression check, on real cells
(two paper-model cells of one training step: the smallest that build and run real firmware)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import pandas as pd
import pytest

from tinybench.bench.check import check
from tinybench.bench.cluster import local_cluster
from tinybench.bench.matrix import MatrixSpec, SpecError, expand, load_spec, run_matrix
from tinybench.bench.store import SCHEMA_VERSION, read_results
from tinybench.cli import main

SPEC = MatrixSpec({"models": ["mcunet-5fps"], "schemes": ["last-1"], "targets": ["stm32f746", "nrf52840"],
                   "steps": [1]})
#: What must be equal between two runs of the same cells (no wall times, no run id).
DETERMINISTIC = ["cell_key", "status", "checksum", "host_checksum", "measured_instructions", "measured_cycles",
                 "measured_peak_sram_bytes", "measured_flash_bytes", "predicted_arena_bytes"]


def _cells(out) -> pd.DataFrame:
    return read_results(out).cells.sort_values("cell_key")[DETERMINISTIC].reset_index(drop=True)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    run_matrix(SPEC, out, workers=0)
    return out


def test_spec_expands_published_schemes_per_model_and_groups(tmp_path):
    spec = tmp_path / "m.toml"
    spec.write_text('models = ["mcunet-5fps", "mbv2-w0.35"]\nschemes = ["published", "mcunet-5fps:49kb"]\n'
                    'targets = ["stm32f746"]\n[[group]]\nschemes = ["full"]\nemulators = ["qemu"]\n')
    cells = expand(load_spec(spec))
    assert sum(c.model == "mcunet-5fps" and c.emulator == "iss" for c in cells) == 5  # 49kb once
    assert sum(c.model == "mbv2-w0.35" and c.emulator == "iss" for c in cells) == 5  # no mcunet scheme
    assert {(c.scheme, c.emulator) for c in cells if c.emulator == "qemu"} == {("full", "qemu")}


@pytest.mark.parametrize("text, message", [
    ('models = ["m"]\ntargets = ["stm32f746"]\n', "no schemes given"),
    ('models = ["m"]\nschemes = ["full"]\ntargets = ["x"]\nboards = ["y"]\n', "unknown axis 'boards'"),
    ('models = ["m"]\nschemes = ["full"]\ntargets = ["stm32f746"]\nsteps = ["3"]\n', "steps takes int"),
    ('models = [\n', "cannot read the matrix spec"),
])
def test_bad_specs_are_named(tmp_path, text, message):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    with pytest.raises(SpecError, match=message) as err:
        expand(load_spec(spec))
    assert str(spec) in str(err.value)


def test_serial_run_stores_every_cell_with_provenance(serial):
    results = read_results(serial)
    assert len(results.cells) == 2 and set(results.cells["status"]) == {"ok"}
    assert (results.cells["checksum"] == results.cells["host_checksum"]).all()
    assert results.provenance["schema_version"] == SCHEMA_VERSION and results.provenance["compiler"]
    assert set(results.ops["cell_key"]) == set(results.cells["cell_key"])
    assert {"op", "kind", "measured_instructions", "measured_cycles", "live_activations_bytes"} <= set(results.ops)


def test_a_dask_cluster_gives_the_serial_results(serial, tmp_path):
    run_matrix(SPEC, tmp_path, workers=2)
    pd.testing.assert_frame_equal(_cells(tmp_path), _cells(serial))


def test_a_worker_killed_mid_cell_loses_no_other_cell(serial, tmp_path):
    from distributed import Client
    with local_cluster(2, dashboard_address=None) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        done = threading.Event()
        runner = threading.Thread(target=lambda: (run_matrix(SPEC, tmp_path, scheduler=cluster.scheduler_address),
                                                  done.set()))
        runner.start()
        deadline = time.monotonic() + 120
        while not any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        busy = next(w for w, keys in client.processing().items() if keys)
        os.kill(pids[busy], signal.SIGKILL)  # in the middle of building or running its cell
        runner.join(timeout=300)
    assert done.is_set()
    cells = read_results(tmp_path).cells
    assert len(cells) == 2  # retried on a live worker, or stored as a crash with its reason
    for row in cells.to_dict("records"):
        assert row["status"] == "ok" or (row["status"] == "crash" and "died" in row["reason"])
    ok = cells[cells["status"] == "ok"]
    assert not ok.empty and set(ok["checksum"]) <= set(_cells(serial)["checksum"])


def test_an_interrupted_run_resumes_with_the_missing_cells_only(serial, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(serial, out)
    lost = sorted((out / "cells").glob("*.parquet"))[0]
    lost.unlink()  # the cell that was running when the run was interrupted
    summary = run_matrix(SPEC, out, workers=0)
    assert (summary.ran, summary.skipped) == (1, 1)
    pd.testing.assert_frame_equal(_cells(out), _cells(serial))
    other = MatrixSpec({**SPEC.axes, "schemes": ["last-2"]})
    with pytest.raises(SpecError, match="holds results of another spec"):
        run_matrix(other, out, workers=0)


def test_a_damaged_part_is_reported_by_name_and_costs_only_its_cell(serial, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(serial, out)
    broken, other = sorted((out / "cells").glob("*.parquet"))
    broken.write_bytes(broken.read_bytes()[:100])
    old = pd.read_parquet(other).assign(schema_version=SCHEMA_VERSION + 1)
    old.to_parquet(other, index=False)
    results = read_results(out)
    assert str(broken) in results.problems and "unreadable Parquet" in results.problems[str(broken)]
    assert "results schema" in results.problems[str(other)]
    assert main(["results", str(out)]) == 1
    assert str(broken) in capsys.readouterr().err


def test_check_passes_unchanged_and_names_a_regression(serial, tmp_path, capsys):
    baseline = tmp_path / "baseline"
    assert main(["check", str(serial), "--baseline", str(baseline), "--update"]) == 0
    assert main(["check", str(serial), "--baseline", str(baseline)]) == 0
    assert "0 regressions" in capsys.readouterr().out
    part = baseline / "cells" / "baseline.parquet"
    rows = pd.read_parquet(part)
    rows.loc[0, "measured_instructions"] -= 1  # the tree now executes one instruction more than the baseline
    rows.to_parquet(part, index=False)
    row = rows.iloc[:1]
    assert main(["check", str(serial), "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    cell = f"mcunet-5fps last-1 {row['target'][0]} iss"
    assert "regression" in out and cell in out and "measured_instructions" in out
    report = check(read_results(serial), read_results(baseline))
    assert [(c.metric, c.kind) for c in report.changes] == [("measured_instructions", "regression")]


def test_predict_only_stores_the_estimators_rows(tmp_path):
    spec = MatrixSpec({"models": ["mcunet-5fps"], "schemes": ["49kb", "full"], "targets": ["stm32f746"],
                       "kernels": ["reference"]})
    summary = run_matrix(spec, tmp_path, predict_only=True)
    cells = read_results(tmp_path).cells.set_index("scheme")
    assert summary.ran == 2 and set(cells["status"]) == {"predicted"} and set(cells["emulator"]) == {"none"}
    sparse = cells.loc["mcunet-5fps:49kb"]  # a published short name is stored by its label
    assert cells.loc["full", "predicted_peak_sram_bytes"] > 256 * 1024 > sparse["predicted_peak_sram_bytes"]
    assert sparse["predicted_instructions"] > 0
