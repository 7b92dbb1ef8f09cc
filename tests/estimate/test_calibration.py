"""The shipped calibrations: present, fresh (fitted on the firmware sources in this tree), well
fitted on calls they were not fitted to; and every way of being unusable is a named error."""

from __future__ import annotations

import json
import shutil

import pytest

from tinybench.cli import main
from tinybench.estimate.calibration import (CalibrationError, calibration_path, firmware_fingerprint,
                                            load_calibration, read_calibration)
from tinybench.estimate.counts import COUNTS

SHIPPED = [("stm32f746", "reference"), ("nrf52840", "reference"), ("stm32f746", "fast"), ("nrf52840", "fast")]


@pytest.mark.parametrize("target, kernels", SHIPPED)
def test_shipped_calibration_matches_the_firmware_sources(target, kernels):
    """Fails when a kernel, a kernel header or the harness changes without `tinybench
    calibrate` being rerun: the estimator would predict from the wrong table."""
    cal = read_calibration(calibration_path(target, kernels))
    assert cal.fingerprint == firmware_fingerprint(kernels), \
        f"stale calibration: run `tinybench calibrate --target {target} --kernels {kernels}`"
    assert load_calibration(target, kernels).target == target


@pytest.mark.parametrize("target, kernels", SHIPPED)
def test_shipped_calibration_predicts_held_out_calls(target, kernels):
    """Every kernel calibrated; its cost, refitted without a call, predicts that call (5-fold)."""
    cal = load_calibration(target, kernels)
    assert set(cal.costs) == set(COUNTS)
    for name, cost in cal.costs.items():
        assert cost.calls >= 60
        assert cost.residuals["instructions"]["held_out_median"] < 0.005, name
        assert cost.residuals["cycles"]["held_out_median"] < 0.005, name
        assert cal.kernel_code(name) > 0 and cal.kernel_frame(name) >= 0
    assert cal.provenance["tinybench"] and cal.compiler.startswith("arm-none-eabi-gcc")


@pytest.fixture
def calibrations(tmp_path, monkeypatch):
    """A private copy of the shipped calibrations, used through $TINYBENCH_CALIBRATIONS."""
    for target, kernels in SHIPPED:
        shutil.copy(calibration_path(target, kernels), tmp_path / calibration_path(target, kernels).name)
    monkeypatch.setenv("TINYBENCH_CALIBRATIONS", str(tmp_path))
    return tmp_path


def _edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("breakage, message", [
    (lambda p: p.unlink(), "no calibration for target stm32f746"),
    (lambda p: p.write_text('{"schema": 1, "costs": {'), "corrupt calibration file"),
    (lambda p: _edit(p, lambda d: d.update(fingerprint="0" * 64)), "stale"),
    (lambda p: _edit(p, lambda d: d.update(schema=99)), "schema 99"),
    (lambda p: _edit(p, lambda d: d.pop("target")), "corrupt calibration file"),
    (lambda p: _edit(p, lambda d: d.update(target="nrf52840")), "a calibration of nrf52840"),
])
def test_unusable_calibration_is_a_named_error(calibrations, breakage, message):
    path = calibrations / "stm32f746-reference.json"
    breakage(path)
    with pytest.raises(CalibrationError, match=message) as err:
        load_calibration("stm32f746", "reference")
    assert str(path) in str(err.value) and ("tinybench calibrate" in str(err.value) or "schema" in message
                                            or "corrupt" in message or "of nrf" in message)


def test_a_kernel_without_calibration_is_named(calibrations):
    _edit(calibrations / "stm32f746-reference.json", lambda d: d["costs"].pop("tb_softmax_ce_bwd_s8"))
    cal = load_calibration("stm32f746", "reference")
    with pytest.raises(CalibrationError, match="tb_softmax_ce_bwd_s8 has no calibration.*tinybench calibrate"):
        cal.cost("tb_softmax_ce_bwd_s8")


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_estimate_with_a_stale_calibration_exits_2_naming_it(calibrations, capsys):
    _edit(calibrations / "stm32f746-reference.json", lambda d: d.update(fingerprint="0" * 64))
    code, out, err = _cli(capsys, "estimate", "--model", "mbv2-w0.35", "--scheme", "49kb", "--target", "stm32f746",
                          "--kernels", "reference", "--json")
    assert code == 2 and "Traceback" not in err
    d = json.loads(out)
    assert d["status"] == "error" and "stale" in d["error"] and "stm32f746-reference.json" in d["error"]


def test_estimate_for_an_unknown_target_exits_2(capsys):
    code, out, err = _cli(capsys, "estimate", "--model", "mbv2-w0.35", "--scheme", "49kb", "--target", "esp32")
    assert code == 2 and "esp32" in err and "Traceback" not in err


def test_a_kernels_code_and_stack_count_its_out_of_line_helpers(tmp_path):
    """The fast pointwise forward keeps its usual path (with the 960 B widening buffer) in
    static functions of its file: its code and stack in the calibration include them, found by
    the symbol table's file entries and the calls in the code; a reference kernel without
    helpers is its function alone."""
    import numpy as np

    from tinybench.bench.calibrate import kernel_code_and_frame, stack_frame
    from tinybench.codegen.kernel_firmware import build_kernel_cases, expected_case, write_kernel_cases
    from tinybench.emulate.elfinfo import ElfInfo
    from tinybench.kernels.executor import numba_kernels

    rng = np.random.default_rng(0)
    h, w, c_in, c_out = 2, 2, 16, 8
    args = [rng.integers(-128, 128, h * w * c_in).astype(np.int8), h, w, c_in, 0, np.zeros(0, np.int8),
            rng.integers(-128, 128, c_out * c_in).astype(np.int8), 0, np.zeros(c_out, np.int32), c_out,
            np.full(c_out, 2**30, np.int32), np.full(c_out, 38, np.int32), 0, np.zeros(h * w * c_out, np.int8),
            np.zeros(h * w * c_out // 8, np.uint8)]
    for kernels in ("fast", "reference"):
        out = tmp_path / kernels
        out.mkdir()
        source = write_kernel_cases([expected_case("tb_pointwise_fwd_s8", args, numba_kernels())], out / "cases.c")
        elf = ElfInfo.load(build_kernel_cases(source, kernels, "stm32f746", "qemu", out, n_cases=1).elf)
        helpers = elf.local_functions.get("tb_pointwise_fwd_s8.c", [])
        code, frame = kernel_code_and_frame(elf, "tb_pointwise_fwd_s8")
        assert code == elf.sizes["tb_pointwise_fwd_s8"] + sum(elf.sizes[f] for f in helpers)
        if kernels == "fast":
            assert helpers and frame >= stack_frame(elf, "tb_pointwise_fwd_s8") + 960
        else:
            assert frame == stack_frame(elf, "tb_pointwise_fwd_s8")
