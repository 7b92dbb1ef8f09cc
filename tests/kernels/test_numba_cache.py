"""The Numba cache never serves stale code: after an edit of a shared helper (inlined into a
kernel of another file) the kernel computes with the new helper, with nothing deleted by hand;
and the cache lives in tinybench's one cache folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import tinybench

CALL = ("import numpy as np; from tinybench.kernels import tb_avgpool_fwd_s8; y = np.zeros(1, np.int8); "
        "tb_avgpool_fwd_s8(np.array([10, 20], np.int8), 1, 2, 1, 0, y); print(int(y[0]))")


def test_an_edited_helper_is_recompiled(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(Path(tinybench.__file__).parent, src / "tinybench", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, PYTHONPATH=str(src), TINYBENCH_CACHE_DIR=str(tmp_path / "cache"))

    def avgpool() -> int:
        out = subprocess.run([sys.executable, "-c", CALL], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        return int(out.stdout)

    assert avgpool() == 15  # floor((2 * 30 + 2) / 4), compiled and cached
    assert avgpool() == 15  # from the cache
    support = src / "tinybench" / "kernels" / "support.py"
    text = support.read_text()
    assert "    return num // den" in text
    support.write_text(text.replace("    return num // den", "    return num // den + 1"))
    assert avgpool() == 16  # the edit of support.py reached the kernel in pooling.py
    assert (tmp_path / "cache" / "numba").is_dir()
    assert not list((src / "tinybench" / "kernels").glob("__pycache__/*.nbi"))
