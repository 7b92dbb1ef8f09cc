"""`pip install .` (not editable) gives a tinybench that works outside the checkout: the wheel
carries firmware/ and renode/, and `tinybench run` builds and runs one cell from it; all it
caches goes to the one cache folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def sh(*cmd, **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kwargs)
    assert out.returncode == 0, (cmd, out.stdout, out.stderr)
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the checkout (the checkout gets no build/ folder)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "tinybench", "firmware", "renode"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, src)
    (built,) = dist.glob("tinybench-*.whl")
    return built


def test_the_wheel_carries_the_firmware_and_the_renode_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for tree in ("firmware", "renode"):
        shipped = {f"tinybench/_data/{p.relative_to(ROOT)}" for p in (ROOT / tree).rglob("*") if p.is_file()}
        assert shipped and shipped <= names, sorted(shipped - names)[:5]
    assert not any("__pycache__" in n for n in names)


@pytest.mark.slow
def test_an_installed_wheel_runs_a_cell_outside_the_checkout(wheel, tmp_path):
    """A fresh virtual environment: tinybench from the wheel, its dependencies seen through
    this environment's site-packages (read-only: nothing is downloaded)."""
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    sh(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(TINYBENCH_CACHE_DIR=str(tmp_path / "cache"), TMPDIR=str(work))
    where = sh(python, "-c", "import tinybench; print(tinybench.__file__)", cwd=work, env=env).stdout
    assert where.startswith(str(venv)), where
    out = sh(venv / "bin" / "tinybench", "run", "--model", "mbv2-w0.35", "--scheme", "49kb", "--target",
             "stm32f746", "--emulator", "qemu", "--steps", "1", "--json", cwd=work, env=env).stdout
    result = json.loads(out)
    assert result["status"] == "ok", result["reason"]
    assert result["measured"]["param_checksum"] == result["measured"]["host_reference_checksum"]
    assert result["measured"]["instructions_exact"]  # the QEMU plugin, built from the wheel's sources
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["numba", "objects", "qemu-plugin"]
    assert list(work.iterdir()) == []  # the temporary work folder is gone
