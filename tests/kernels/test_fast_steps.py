"""Whole training steps with the fast kernels: after 3 steps in ``iss`` the trained parameters
of every shipped model, on both targets, have exactly the host reference's checksum (the
reference is the Numba step; the run compares the two, tests/bench/test_run.py pattern)."""

from __future__ import annotations

import pytest

from tinybench.bench.cell import CellConfig, run_cell
from tinybench.models.zoo import model_names


@pytest.mark.slow
@pytest.mark.parametrize("target", ["stm32f746", "nrf52840"])
@pytest.mark.parametrize("model", model_names())
def test_fast_kernels_train_bit_exact_with_the_host(model, target, tmp_path):
    r = run_cell(CellConfig(model, "49kb", target, "iss", steps=3, kernels="fast"), tmp_path)
    assert r.config["kernels"] == "fast"
    assert r.status == "ok", r.reason + "\n" + r.uart_tail
    assert r.measured["param_checksum"] == r.measured["host_reference_checksum"]
