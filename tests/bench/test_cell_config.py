"""A cell's limits mean the same on every backend: positive, checked by name when the
configuration is made (no "0 = unlimited" under one emulator and an instant hang under another)."""

import math

import pytest

from tinybench.bench.cell import CellConfig, CellConfigError, run_cell


@pytest.mark.parametrize("field, value", [
    ("timeout_s", 0), ("timeout_s", -1), ("timeout_s", math.nan), ("timeout_s", math.inf),
    ("instruction_budget", 0), ("instruction_budget", -5), ("instruction_budget", 1.5),
    ("steps", 0), ("lr", -1.0), ("sample", True),
])
def test_limits_that_are_not_positive_are_refused_by_name(field, value):
    with pytest.raises(CellConfigError, match=rf"^{field} must be"):
        CellConfig("mbv2-w0.35", "49kb", "stm32f746", "qemu", **{field: value})


def test_a_work_folder_that_cannot_be_made_is_named_before_any_work(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(CellConfigError, match=r"work folder .*file/sub"):
        run_cell(CellConfig("no-such-model", "49kb", "stm32f746"), tmp_path / "file" / "sub")


def test_a_cell_that_does_not_run_keeps_its_planned_and_predicted_ops(monkeypatch):
    """The matrix stores a failed cell's op rows too: what was planned live and predicted per op."""
    from tinybench.emulate import get_backend

    monkeypatch.setattr(type(get_backend("iss")), "available", lambda self: (False, "switched off by the test"))
    r = run_cell(CellConfig("mbv2-w0.35", "49kb", "nrf52840", "iss", steps=1, kernels="reference"))
    assert r.status == "unavailable" and "switched off" in r.reason and not r.measured
    assert len(r.profile) > 50 and all(op["instructions"] is None for op in r.profile)
    assert all(op["predicted_instructions"] > 0 and "live_activations_bytes" in op for op in r.profile)
    assert sum(op["predicted_instructions"] for op in r.profile) <= r.predicted["instructions"]
