"""pytest-benchmark of iss vs qemu instructions/s (not collected by default: the file name
does not match test_*.py). Run explicitly:

    pytest tests/emulate/bench_throughput.py --benchmark-only

The plain script python -m tinybench.emulate.throughput prints the same comparison.
"""

from __future__ import annotations

import pytest

from tinybench.codegen.build import build_test_firmware, find_gcc
from tinybench.emulate import get_backend


@pytest.fixture(scope="module")
def work_elf(tmp_path_factory):
    if find_gcc() is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    return build_test_firmware("work", "stm32f746", "qemu", out_dir=tmp_path_factory.mktemp("w"),
                               defines={"TB_STEPS": 3}).elf


@pytest.mark.benchmark(group="emulator-throughput")
@pytest.mark.parametrize("name,options", [("qemu", {}), ("iss", {"dwt": "fast"}),
                                          ("iss", {"dwt": "exact"})])
def test_throughput(benchmark, work_elf, name, options):
    backend = get_backend(name, **options)
    ok, why = backend.available()
    if not ok:
        pytest.skip(why)
    backend.run(work_elf, "stm32f746")  # warm-up
    result = benchmark.pedantic(backend.run, args=(work_elf, "stm32f746"), rounds=3,
                                iterations=1)
    assert result.status == "ok" and result.instructions >= 100_000_000
    benchmark.extra_info["instructions"] = result.instructions
    benchmark.extra_info["minstr_per_s"] = result.instructions / result.wall_time_s / 1e6
