"""pytest fixtures shared by the firmware and emulator test suites (imported by their
conftest.py files; needs pytest)."""

from __future__ import annotations

import pytest

from tinybench.codegen.build import build_test_firmware, find_gcc
from tinybench.emulate.base import get_backend


@pytest.fixture(scope="session")
def firmware(tmp_path_factory):
    """firmware(name, target, board="qemu", **defines) -> BuildResult of
    firmware/tests/tb_test_<name>.c, built once per session. Skips the test when the cross
    compiler is missing."""
    cache = {}

    def get(name, target, board="qemu", **defines):
        if find_gcc() is None:
            pytest.skip("arm-none-eabi-gcc not installed (apt-get install gcc-arm-none-eabi "
                        "libnewlib-arm-none-eabi)")
        key = (name, target, str(board), tuple(sorted(defines.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp(f"{name}-{target}-{board}")
            cache[key] = build_test_firmware(name, target, board, out_dir=out,
                                             defines=defines or None)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def backend():
    """backend(name, **options) -> Backend; skips the test when it is unavailable here."""

    def get(name, **options):
        b = get_backend(name, **options)
        ok, why = b.available()
        if not ok:
            pytest.skip(f"backend {name} unavailable: {why}")
        return b

    return get
