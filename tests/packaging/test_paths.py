"""One way to find the shipped data, one cache folder with one name."""

from __future__ import annotations

import re
from pathlib import Path

from tinybench.codegen.build import firmware_dir
from tinybench.emulate.qemu import plugin_path
from tinybench.emulate.renode import renode_dir
from tinybench.kernels import host_c
from tinybench.kernels.numba_cache import kernel_cache
from tinybench.paths import cache_dir, data_dir

ROOT = Path(__file__).resolve().parents[2]


def test_every_stage_finds_the_data_in_the_package():
    package = ROOT / "tinybench" / "_data"
    assert firmware_dir() == data_dir("firmware") == package / "firmware"
    assert host_c.FIRMWARE_DIR == package / "firmware" / "kernels"
    assert renode_dir() == package / "renode"
    assert (firmware_dir() / "bsp" / "tinybench.ld.in").is_file() and (renode_dir() / "run.resc").is_file()


def test_one_cache_folder_under_one_name(monkeypatch, tmp_path):
    names = set()
    for path in [*(ROOT / "tinybench").rglob("*.py"), ROOT / "README.md", ROOT / "setup.sh"]:
        names |= set(re.findall(r"TINYBENCH_CACHE\w*", path.read_text()))
    assert names == {"TINYBENCH_CACHE_DIR"}
    monkeypatch.setenv("TINYBENCH_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    assert plugin_path().is_relative_to(tmp_path / "qemu-plugin")
    with kernel_cache() as numba_folder:
        assert numba_folder.is_relative_to(tmp_path / "numba")
    monkeypatch.delenv("TINYBENCH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir("kernels") == tmp_path / "xdg" / "tinybench" / "kernels"


def test_the_readme_says_how_to_clear_the_cache():
    readme = (ROOT / "README.md").read_text()
    assert "TINYBENCH_CACHE_DIR" in readme and "rm -rf ~/.cache/tinybench" in readme
