"""How every command ends: one JSON object with a status under --json on every exit, each
option checked by name before any work, user errors as one line (exit 2) while a bug keeps
its traceback, Ctrl-C as exit 130, a closed pipe quietly, and no work folder left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tinybench.bench import cell as cell_module
from tinybench.cli import main
from tinybench.codegen.build import build_test_firmware

RUN = ["run", "--model", "mbv2-w0.35", "--scheme", "bias-only", "--target", "stm32f746"]


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_success_says_ok(capsys):
    code, out, _ = cli(capsys, "schemes", "--json")
    assert code == 0 and json.loads(out)["status"] == "ok"


@pytest.mark.parametrize("argv, message", [
    (["estimate", "--model", "resnet", "--scheme", "full"], "unknown model 'resnet'"),
    (["estimate", "--model", "mcunet-5fps", "--scheme", "12kb"], "unknown scheme '12kb'"),
    (["estimate", "--model", "mcunet-5fps"], "the following arguments are required: --scheme"),
    (["estimat"], "invalid choice: 'estimat'"),
    (RUN + ["--timeout", "nan"], "argument --timeout: must be a finite number of seconds > 0, got 'nan'"),
])
def test_json_errors_are_one_json_object(capsys, argv, message):
    code, out, err = cli(capsys, *argv, "--json")
    d = json.loads(out)
    assert code == 2 and d["status"] == "error" and message in d["error"]
    assert len(err.strip().splitlines()) == 1 and message in err


@pytest.mark.parametrize("argv, message", [
    (RUN + ["--timeout", "nan"], "argument --timeout: must be a finite number of seconds > 0, got 'nan'"),
    (RUN + ["--timeout", "inf"], "argument --timeout: must be a finite number of seconds > 0, got 'inf'"),
    (RUN + ["--timeout", "0"], "argument --timeout: must be a finite number of seconds > 0, got '0'"),
    (RUN + ["--timeout", "-1"], "argument --timeout: must be a finite number of seconds > 0, got '-1'"),
    (RUN + ["--timeout", "soon"], "argument --timeout: expected a number, got 'soon'"),
    (RUN + ["--instruction-budget", "-5"], r"argument --instruction-budget: must be an integer in [1, "),
    (RUN + ["--instruction-budget", "0"], r"argument --instruction-budget: must be an integer in [1, "),
    (RUN + ["--steps", "0"], "argument --steps: must be an integer in [1, ...], got '0'"),
    (["train", "--model", "mbv2-w0.35", "--scheme", "full", "--lr", "-1"],
     "argument --lr: must be a learning rate > 0 and <= 100, got '-1'"),
    (["train", "--model", "mbv2-w0.35", "--scheme", "full", "--lr", "nan"], "argument --lr: must be a learning rate"),
    (["train", "--model", "mbv2-w0.35", "--scheme", "full", "--steps", "-1"], "argument --steps: must be an integer in [0,"),
    (["train", "--model", "mbv2-w0.35", "--scheme", "full", "--eval-samples", "0"], "argument --eval-samples"),
    (["train", "--model", "mbv2-w0.35", "--scheme", "full", "--seed", "-1"], "argument --seed"),
    (["estimate", "--model", "mbv2-w0.35", "--scheme", "full", "--classes", "1"], "argument --classes"),
])
def test_each_option_is_checked_by_name(capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"tinybench {argv[0]}: error: ") and message in err


@pytest.mark.parametrize("where, message", [
    ("a-file", "exists and is not a folder"),
    ("a-file/sub", "cannot write into"),
    ("/proc/tinybench-work", "cannot write into"),
])
def test_work_dir_is_checked_before_anything_else(capsys, tmp_path, where, message):
    (tmp_path / "a-file").write_text("")
    work = where if where.startswith("/") else str(tmp_path / where)
    # the model does not exist: the folder is checked first, before the model is loaded
    code, _, err = cli(capsys, "run", "--model", "no-such-model", "--scheme", "full", "--target", "stm32f746",
                       "--work-dir", work)
    assert code == 2 and "argument --work-dir: " in err and message in err


def test_a_bug_keeps_its_traceback(monkeypatch):
    """Only the project's own errors are user errors: a ValueError from a bug is not hidden."""
    from tinybench.cli import models

    def broken(args):
        raise ValueError("a bug")

    monkeypatch.setattr(models, "run", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["models"])


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_ctrl_c_is_one_line_and_exit_130(capsys, monkeypatch, json_flag):
    from tinybench.cli import models

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "run", interrupted)
    code, out, err = cli(capsys, "models", *json_flag)
    assert code == 130 and err == "tinybench models: interrupted: stopped by Ctrl-C (SIGINT)\n"
    if json_flag:
        assert json.loads(out)["status"] == "interrupted"


def test_a_closed_pipe_ends_quietly():
    """As `tinybench schemes | head -0`: the reader is gone before the first write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "tinybench", "schemes"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert proc.stderr == "" and proc.returncode == 141


def test_run_removes_its_temporary_work_folder(capsys, monkeypatch, tmp_path):
    """Without --work-dir the sources and ELF go to a temporary folder, removed at the end."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    built = []

    def faulty_build(plan, image, label, target, board, out_dir, **kwargs):
        built.append(out_dir)
        return None, build_test_firmware("fault", target, board, out_dir=out_dir)

    monkeypatch.setattr(cell_module, "build_training_firmware", faulty_build)
    code, out, _ = cli(capsys, *RUN, "--emulator", "qemu", "--json")
    assert code == 1 and json.loads(out)["status"] == "fault"
    assert built and built[0].parent == tmp_path and list(tmp_path.iterdir()) == []
    kept = tmp_path / "kept"
    code, _, _ = cli(capsys, *RUN, "--emulator", "qemu", "--work-dir", str(kept))
    assert code == 1 and (kept / "fault.elf").is_file()
