"""The fast kernels built for the host (their DSP instructions as plain C statements of the
instruction set's definition, Internal/tb_nn_dsp.h) agree bit for bit with the Numba
reference on the cases of the reference suite: this checks their loop nests, tiles,
remainders and 32-bit shortcuts quickly, UBSan included. That the real instructions give
the same bytes is checked in the emulator (test_fast_firmware.py)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings

from tinybench.kernels import host_c

from fast_cases import edge_cases
from kernel_cases import CASES
from kernel_helpers import run_both
from test_firmware_build import ARM_GCC, LIBGCC, WARN

SETTINGS = settings(max_examples=300, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: The kernels that have a fast file (the others are their reference file in the fast set).
FAST = sorted(p.stem for p in host_c.sources("fast") if p.parts[-3] == "fast")


@pytest.fixture(scope="session")
def fast_ck():
    return host_c.load(kernel_set="fast")


def test_fast_files_mirror_reference_files():
    """Every fast file replaces a reference file of the same category and name."""
    fast_root = host_c.FIRMWARE_DIR / "fast"
    for p in fast_root.rglob("*.c"):
        assert (host_c.FIRMWARE_DIR / "src" / p.relative_to(fast_root)).is_file(), p
    assert FAST, "no fast kernel yet"


@pytest.mark.parametrize("name", FAST)
def test_fast_kernel_bitexact_on_host(fast_ck, name):
    @SETTINGS
    @given(args=CASES[name])
    def check(args):
        run_both(fast_ck, name, args)

    check()
    for args in edge_cases().get(name, []):
        run_both(fast_ck, name, args)


FAST_SOURCES = sorted((host_c.FIRMWARE_DIR / "fast").rglob("*.c"))

M4F = ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]
M7F = ["-mcpu=cortex-m7", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"]

#: Flag sets (as tuples) at which a fast file is known not to compile yet, by file stem: with the
#: targets' hard-float ABI gcc at -Os or with -funroll-loops finds no registers for the assembly
#: loops of tb_pwdw_fwd_s8 (firmware/kernels/README.md). Keep it explicit: remove an entry when
#: its file compiles there.
KNOWN_NOT_BUILDING = {
    "tb_pwdw_fwd_s8": {tuple(M4F + ["-Os"]), tuple(M7F + ["-Os"]),
                       tuple(M4F + ["-O2", "-funroll-loops"]), tuple(M7F + ["-O2", "-funroll-loops"])},
}


@pytest.mark.skipif(ARM_GCC is None, reason="arm-none-eabi-gcc is not installed: the Cortex-M build cannot be checked")
@pytest.mark.parametrize("cc,flags", [
    ("gcc", ["-O2"]), ("gcc", ["-O3", "-fsanitize=undefined", "-fno-sanitize-recover"]),
    ("arm", ["-mcpu=cortex-m4", "-O2"]), ("arm", ["-mcpu=cortex-m7", "-O3"]), ("arm", ["-mcpu=cortex-m4", "-Os"]),
    # the targets' own float ABI, at the levels the build uses and at -Os and -funroll-loops,
    # where assembly loops run short of registers (KNOWN_NOT_BUILDING)
    ("arm", [*M4F, "-O2"]), ("arm", [*M7F, "-O3"]), ("arm", [*M4F, "-Os"]), ("arm", [*M7F, "-Os"]),
    ("arm", [*M4F, "-O2", "-funroll-loops"]), ("arm", [*M7F, "-O2", "-funroll-loops"])])
def test_fast_kernels_build_warning_free_and_libc_free(tmp_path, cc, flags):
    """The reference kernels' rules (test_firmware_build.py) hold for the fast ones: warning-free
    with the strict flags, on the host (portable DSP statements) and Cortex-M, no libc, no float."""
    exe = ARM_GCC if cc == "arm" else "gcc"
    extra = ["-mthumb", "-ffreestanding", "-nostdlib"] if cc == "arm" else []
    for src in FAST_SOURCES:
        if tuple(flags) in KNOWN_NOT_BUILDING.get(src.stem, ()):
            continue
        text = src.read_text()
        assert "float" not in text and "double" not in text, f"{src.name} uses floating point"
        includes = set(re.findall(r'#include\s*[<"]([^>"]+)[>"]', text))
        assert includes <= {"tb_kernels.h", "Internal/tb_nn_fast.h"}, src
        obj = tmp_path / (src.stem + ".o")
        res = subprocess.run([exe, *WARN, *flags, *extra, "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        assert res.returncode == 0 and not res.stderr, f"{src.name} ({cc} {flags}):\n{res.stderr}"
        if cc == "arm" and shutil.which("arm-none-eabi-nm"):
            out = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout
            outside = [s for s in (line.split()[-1] for line in out.splitlines() if line.strip())
                       if not LIBGCC.match(s) and not s.startswith("tb_")]
            assert not outside, f"{src.name} calls outside libgcc: {outside}"
