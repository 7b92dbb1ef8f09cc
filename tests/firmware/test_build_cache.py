"""The firmware build cache: an object is compiled once per source, flags, headers and compiler,
and a build from cached objects links the same program as a build from scratch."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tinybench.codegen.build import BuildError, build_firmware, find_gcc
from tinybench.codegen.objects import prune
from tinybench.paths import cache_dir

pytestmark = pytest.mark.skipif(find_gcc() is None, reason="arm-none-eabi-gcc not installed")

PROGRAM = """#include "local.h"
volatile int value;
int main(void) { value = (int)(VALUE); return 0; }
"""


def code_bytes(elf: Path) -> dict[str, bytes]:
    from elftools.elf.elffile import ELFFile
    with open(elf, "rb") as f:
        return {s.name: s.data() for s in ELFFile(f).iter_sections()
                if s["sh_flags"] & 0x2 and s["sh_type"] != "SHT_NOBITS"}


@pytest.fixture
def program(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TINYBENCH_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "src"
    src.mkdir()
    (src / "local.h").write_text("#define VALUE 1\n")
    (src / "main.c").write_text(PROGRAM)
    return src / "main.c"


def build(program: Path, out: Path, **kw):
    return build_firmware([program], "stm32f746", "qemu", out_dir=out, with_harness=False, **kw)


def test_a_second_build_compiles_nothing_and_links_the_same_program(program, tmp_path):
    cold = build(program, tmp_path / "a")
    warm = build(program, tmp_path / "b")
    assert cold.objects_compiled == 5 and cold.objects_cached == 0  # 4 of the board support, the program
    assert warm.objects_compiled == 0 and warm.objects_cached == cold.objects_compiled
    assert code_bytes(cold.elf) == code_bytes(warm.elf)
    shutil.rmtree(cache_dir())  # a build from scratch, in another folder: the same bytes again
    assert code_bytes(build(program, tmp_path / "c").elf) == code_bytes(cold.elf)


def test_a_changed_header_flag_or_source_compiles_again(program, tmp_path):
    first = build(program, tmp_path / "a")
    (program.parent / "local.h").write_text("#define VALUE 2\n")  # included by main.c only
    second = build(program, tmp_path / "b")
    assert second.objects_compiled == 1 and code_bytes(second.elf) != code_bytes(first.elf)
    assert build(program, tmp_path / "c", opt="-O3").objects_compiled == first.objects_compiled
    assert build(program, tmp_path / "d", defines={"TB_EXTRA": 1}).objects_compiled == first.objects_compiled
    program.write_text(PROGRAM.replace("(int)(VALUE)", "(int)(VALUE) + 1"))
    assert build(program, tmp_path / "e").objects_compiled == 1


def test_warnings_come_back_from_the_cache_and_errors_are_never_cached(program, tmp_path):
    program.write_text(PROGRAM.replace("int main(void) {", "int main(void) { int unused;"))
    assert "unused" in build(program, tmp_path / "a").warnings
    assert "unused" in build(program, tmp_path / "b").warnings
    program.write_text("int main(void) { return missing; }\n")
    for out in ("c", "d"):
        with pytest.raises(BuildError, match="missing"):
            build(program, tmp_path / out)


def test_pruning_keeps_the_most_recently_used_objects(tmp_path):
    store = tmp_path / "objects"
    for i in range(5):
        obj = store / f"{i:02x}" / f"{i:02x}key.o"
        obj.parent.mkdir(parents=True)
        obj.write_bytes(b"x" * 100)
        obj.with_suffix(".txt").write_text("")
        os.utime(obj, (1000 + i, 1000 + i))
    prune(store, limit=250)
    assert sorted(p.name for p in store.glob("*/*.o")) == ["03key.o", "04key.o"]
    assert sorted(p.name for p in store.glob("*/*.txt")) == ["03key.txt", "04key.txt"]


def test_the_harness_knobs_recompile_the_harness_alone(tmp_path, monkeypatch):
    """Cells of a matrix differ in TB_STEPS and TB_MAX_OPS; the kernels' objects are reused."""
    from tinybench.codegen.build import build_test_firmware
    monkeypatch.setenv("TINYBENCH_CACHE_DIR", str(tmp_path / "cache"))
    one = build_test_firmware("det", "nrf52840", "qemu", out_dir=tmp_path / "a", harness_defines={"TB_STEPS": 1})
    two = build_test_firmware("det", "nrf52840", "qemu", out_dir=tmp_path / "b", harness_defines={"TB_STEPS": 2})
    assert one.objects_compiled == 6 and (two.objects_compiled, two.objects_cached) == (1, 5)
    assert code_bytes(one.elf) != code_bytes(two.elf)
