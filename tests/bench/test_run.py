"""`tinybench run` end to end: generated firmware trains on Cortex-M targets in the emulators,
bit-exact with the host reference; what fails is reported with its reason and a non-zero exit."""

import json

import pytest

from tinybench.bench import cell as cell_module
from tinybench.bench.cell import CellConfig, run_cell
from tinybench.cli import main
from tinybench.codegen.build import build_test_firmware
from tinybench.codegen.targets import get_target


@pytest.fixture(scope="module")
def iss_and_qemu(tmp_path_factory):
    out = {}
    for emulator in ("iss", "qemu"):
        cfg = CellConfig("mbv2-w0.35", "49kb", "stm32f746", emulator, steps=3, kernels="reference")
        out[emulator] = run_cell(cfg, tmp_path_factory.mktemp(emulator))
    return out


@pytest.mark.parametrize("emulator", ["iss", "qemu"])
def test_firmware_trains_bit_exact_with_the_host(iss_and_qemu, emulator):
    r = iss_and_qemu[emulator]
    assert r.status == "ok", r.reason + "\n" + r.uart_tail
    m = r.measured
    assert m["param_checksum"] == m["host_reference_checksum"]
    assert m["instructions_exact"] and m["instructions"] > 10**8 and m["steps_measured"] == 3
    assert m["run_instructions"] > m["instructions"] == sum(m["instructions_per_step"])


def test_measured_peak_sram_matches_the_plan(iss_and_qemu):
    r = iss_and_qemu["iss"]
    m, p = r.measured, r.predicted
    assert m["arena_used_bytes"] <= p["arena_bytes"]
    assert abs(m["peak_sram_bytes"] - p["peak_sram_bytes"]) <= 0.02 * p["peak_sram_bytes"]
    assert m["peak_sram_bytes"] <= get_target("stm32f746").sram_bytes
    assert m["cycles"] == sum(m["cycles_per_step"]) and m["latency_ms"] == pytest.approx(m["cycles_per_step"][-1] / 216e3)
    assert len(r.profile) == len([op for op in r.profile if op["op"]]) > 50
    # the firmware's own DWT reading of the last step sits within its marker overhead of the model
    assert abs(m["dwt_cycles_last_step"] - m["cycles_per_step"][-1]) < 0.001 * m["cycles_per_step"][-1]


def test_iss_and_qemu_count_the_same_instructions(iss_and_qemu):
    """Between the firmware's step and op markers both backends count exactly the same."""
    a, b = iss_and_qemu["iss"], iss_and_qemu["qemu"]
    assert a.measured["instructions_per_step"] == b.measured["instructions_per_step"]
    assert [op["instructions"] for op in a.profile] == [op["instructions"] for op in b.profile]
    assert sum(op["instructions"] for op in a.profile) < a.measured["instructions_per_step"][-1]


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_too_large_for_the_target_is_reported(capsys, tmp_path):
    code, out, err = cli(capsys, "run", "--model", "mcunet-5fps", "--scheme", "full", "--target", "nrf52840",
                         "--work-dir", str(tmp_path), "--json")
    d = json.loads(out)
    assert code == 1 and d["status"] == "too-large"
    assert "SRAM" in d["reason"] and "262144" in d["reason"].replace(",", "")
    assert "too-large" in err
    # Its planned arena alone is over the SRAM: the cell says so without calling the compiler.
    assert "not built" in d["reason"] and not list(tmp_path.glob("*.elf"))


def test_hang_is_reported(capsys, tmp_path):
    code, out, err = cli(capsys, "run", "--model", "proxyless-w0.3", "--scheme", "49kb", "--target", "stm32f746",
                         "--instruction-budget", "2000000", "--work-dir", str(tmp_path), "--json")
    d = json.loads(out)
    assert code == 1 and d["status"] == "hang" and "2000000" in d["reason"].replace(",", "")


def test_fault_is_reported(capsys, tmp_path, monkeypatch):
    """Firmware that faults (the BSP's fault test program in place of the model) fails the run."""
    def faulty_build(plan, image, label, target, board, out_dir, **kwargs):
        return None, build_test_firmware("fault", target, board, out_dir=out_dir)

    monkeypatch.setattr(cell_module, "build_training_firmware", faulty_build)
    code, out, err = cli(capsys, "run", "--model", "proxyless-w0.3", "--scheme", "49kb", "--target", "stm32f746",
                         "--json")
    d = json.loads(out)
    assert code == 1 and d["status"] == "fault"
    assert "fault" in err
