"""The C kernels build warning-free for the host and for Cortex-M4/M7, need no libc, and
mirror the Numba kernels one to one (same names, same parameter names and order)."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kernel_helpers import ALL_KERNELS
from tinybench.kernels import host_c

FW = host_c.FIRMWARE_DIR
SOURCES = sorted((FW / "src").rglob("*.c"))
WARN = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wshadow", "-Wconversion",
        "-Wno-sign-conversion", "-I", str(FW / "include")]
ARM_GCC = shutil.which("arm-none-eabi-gcc")
#: Undefined symbols an object may have: libgcc's run-time helpers only (no libc).
LIBGCC = re.compile(r"^__aeabi_\w+$|^__(ash|lsh|div|mod|udiv|umod)\w*$")


def test_one_kernel_per_file_named_after_it():
    names = {p.stem for p in SOURCES}
    assert names == set(host_c.parse_header()), "every prototype has its own src/<Category>/<name>.c"
    for p in SOURCES:
        text = p.read_text()
        assert re.search(rf"\b{p.stem}\s*\(", text)
        assert "float" not in text and "double" not in text, f"{p.name} uses floating point"
        includes = re.findall(r'#include\s*[<"]([^>"]+)[>"]', text)
        assert set(includes) <= {"tb_kernels.h", "Internal/tb_nn_support.h"}


def test_header_needs_only_stdint_and_stddef():
    for h in (FW / "include").rglob("*.h"):
        text = h.read_text()
        assert set(re.findall(r"#include\s*<([^>]+)>", text)) <= {"stdint.h", "stddef.h"}, h
        assert "float" not in re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL), h


def test_numba_and_c_signatures_mirror_each_other():
    protos = host_c.parse_header()
    assert set(protos) == set(ALL_KERNELS), "the same kernels in Numba and C"
    for name, proto in protos.items():
        py_params = list(inspect.signature(ALL_KERNELS[name].py_func).parameters)
        assert py_params == [p.name for p in proto.params], name
        assert name.startswith("tb_") and re.search(r"_(fwd|bwd|sgd|update)(_\w+)?_s(8|32)$", name), name


@pytest.mark.parametrize("flags", [["-O0"], ["-O2"], ["-O3", "-fsanitize=undefined", "-fno-sanitize-recover"]])
def test_host_gcc_build_is_warning_free(tmp_path, flags):
    for src in SOURCES:
        res = subprocess.run(["gcc", *WARN, *flags, "-c", str(src), "-o", str(tmp_path / (src.stem + ".o"))],
                             capture_output=True, text=True)
        assert res.returncode == 0 and not res.stderr, f"{src.name}:\n{res.stderr}"


@pytest.mark.skipif(ARM_GCC is None, reason="arm-none-eabi-gcc is not installed "
                    "(apt-get install gcc-arm-none-eabi): the Cortex-M build cannot be checked")
@pytest.mark.parametrize("cpu,opt", [("cortex-m4", "-O2"), ("cortex-m7", "-O2"), ("cortex-m4", "-Os"), ("cortex-m7", "-O3")])
def test_cortex_m_build_is_warning_free_and_libc_free(tmp_path, cpu, opt):
    objs = []
    for src in SOURCES:
        obj = tmp_path / (src.stem + ".o")
        res = subprocess.run([ARM_GCC, *WARN, f"-mcpu={cpu}", "-mthumb", opt, "-ffreestanding", "-nostdlib",
                              "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        assert res.returncode == 0 and not res.stderr, f"{src.name} ({cpu}):\n{res.stderr}"
        objs.append(obj)
    nm = shutil.which("arm-none-eabi-nm")
    if nm is None:
        return
    undefined = set()
    for obj in objs:
        out = subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True, check=True).stdout
        undefined |= {line.split()[-1] for line in out.splitlines() if line.strip()}
    outside = sorted(s for s in undefined if not LIBGCC.match(s) and not s.startswith("tb_"))
    assert not outside, f"the kernels call outside libgcc (libc?): {outside}"


def test_no_undefined_behaviour_under_ubsan():
    """The bit-exact and fused-update suites again, against a C library built with UBSan
    (abort on the first signed overflow, bad shift, ...): the C kernels stay inside int32
    wherever they compute in int32, on every generated case and at every range limit."""
    import os
    import sys

    here = Path(__file__).resolve().parent
    env = dict(os.environ, TINYBENCH_KERNELS_SANITIZE="1")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                          str(here / "test_bitexact.py"), str(here / "test_fused_update.py")],
                         capture_output=True, text=True, env=env, cwd=here.parents[1])
    assert res.returncode == 0, f"UBSan run failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    assert "runtime error" not in res.stdout + res.stderr
