"""Building firmware: budgets from the target in every linker script, sizes, clear errors."""

from __future__ import annotations

import re

import pytest

from tinybench.codegen.build import (
    BuildError,
    FirmwareTooLarge,
    build_firmware,
    find_gcc,
    parse_overflows,
    render_linker_script,
    toolchain_version,
)
from tinybench.codegen.targets import BOARDS, TARGETS, get_target, resolve_board
from tinybench.emulate.elfinfo import ElfInfo

PAIRS = [(t, b) for t in TARGETS for b in ("native", "qemu")]


def test_registry_has_the_two_targets_and_their_boards():
    f7 = get_target("stm32f746")
    assert (f7.cpu, f7.sram_bytes, f7.flash_bytes, f7.clock_hz) == \
        ("cortex-m7", 320 * 1024, 1024 * 1024, 216_000_000)
    assert (f7.flash_base, f7.sram_base, f7.uart_base) == (0x0800_0000, 0x2000_0000, 0x4001_1000)
    nrf = get_target("nrf52840")
    assert (nrf.cpu, nrf.sram_bytes, nrf.flash_bytes, nrf.clock_hz) == \
        ("cortex-m4", 256 * 1024, 1024 * 1024, 64_000_000)
    assert (nrf.flash_base, nrf.uart_base) == (0x0, 0x4000_2000)
    assert resolve_board(f7, "qemu").qemu_machine == "mps2-an500"
    assert resolve_board(nrf, "qemu").qemu_machine == "mps2-an386"
    for b in ("mps2-an500", "mps2-an386"):
        assert (BOARDS[b].flash_base, BOARDS[b].sram_base, BOARDS[b].uart_base) == \
            (0x0, 0x2000_0000, 0x4000_4000)
    with pytest.raises(ValueError):
        resolve_board(f7, "mps2-an386")  # a Cortex-M4 board for a Cortex-M7 target


@pytest.mark.parametrize("target,board", PAIRS)
def test_linker_script_lengths_are_the_target_budgets(target, board):
    t = get_target(target)
    b = resolve_board(t, board)
    ld = render_linker_script(t, b, stack_size=4096)
    flash = re.search(r"FLASH \(rx\)\s*: ORIGIN = (\w+), LENGTH = (\d+)", ld)
    ram = re.search(r"RAM   \(rwx\) : ORIGIN = (\w+), LENGTH = (\d+)", ld)
    assert int(flash.group(1), 16) == b.flash_base and int(flash.group(2)) == t.flash_bytes
    assert int(ram.group(1), 16) == b.sram_base and int(ram.group(2)) == t.sram_bytes
    assert "__tb_stack_size = 4096;" in ld
    with pytest.raises(ValueError):
        render_linker_script(t, b, stack_size=1001)


def test_toolchain_version():
    if find_gcc() is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    assert "arm-none-eabi-gcc" in toolchain_version()


@pytest.mark.parametrize("target,board", PAIRS)
def test_build_reports_sizes_and_embeds_the_build_identity(firmware, target, board):
    r = firmware("det", target, board, TB_STEPS=3)
    assert r.elf.is_file() and r.map.is_file() and r.linker_script.is_file()
    assert r.board.name == resolve_board(get_target(target), board).name
    secs = r.sections
    assert r.arena_bytes == 256  # TB_ARENA_DEFINE(256)
    assert r.stack_bytes == 8192
    assert r.bss_bytes == secs[".bss"][1]
    assert r.sram_static_bytes == r.data_bytes + r.bss_bytes
    assert r.sram_reserved_bytes == r.sram_static_bytes + r.arena_bytes + r.stack_bytes
    assert 1000 < r.flash_bytes < 64 * 1024
    # the stack ends at the end of the TARGET's SRAM on every board
    info = ElfInfo.load(r.elf)
    t = get_target(target)
    assert info.symbols["__tb_stack_top"] == r.board.sram_base + t.sram_bytes
    assert info.symbols["__tb_stack_size"] == 8192
    assert info.meta == {"target": target, "board": r.board.name,
                         "semihosting": "1" if r.board.uses_semihosting else "0"}
    assert secs[".isr_vector"][0] == r.board.flash_base


@pytest.mark.parametrize("target,board", PAIRS)
def test_static_data_larger_than_sram_is_a_clear_error(tmp_path, target, board):
    if find_gcc() is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    t = get_target(target)
    from tinybench.codegen.build import build_test_firmware
    with pytest.raises(FirmwareTooLarge) as exc:
        build_test_firmware("big", t, board, out_dir=tmp_path)
    e = exc.value
    assert e.region == "RAM"
    assert e.available == t.sram_bytes
    # needed = .data + .bss + arena + stack (+ alignment padding), the sections measured by
    # relinking without the limit
    assert e.breakdown["bss"] >= 400 * 1024
    parts = e.breakdown["data"] + e.breakdown["bss"] + e.breakdown["arena"] + e.breakdown["stack"]
    assert 0 <= e.needed - parts < 32
    assert e.needed > e.available
    msg = str(e)
    assert str(e.needed) in msg and str(e.available) in msg and target in msg


def test_flash_overflow_names_the_flash_region(tmp_path):
    if find_gcc() is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    from tinybench.codegen.build import build_test_firmware
    with pytest.raises(FirmwareTooLarge) as exc:
        build_test_firmware("big", "nrf52840", "qemu", out_dir=tmp_path,
                            defines={"TB_BIG_BYTES": 16, "TB_BIG_FLASH": 1100 * 1024})
    assert exc.value.region == "FLASH"
    assert exc.value.available == 1024 * 1024
    assert exc.value.needed > 1100 * 1024
    assert "flash" in str(exc.value)


def test_fits_on_the_emulator_board_but_not_on_the_chip(tmp_path):
    """320 KB + 1 byte of .bss: the QEMU board has 4 MB of RAM, the build must still fail."""
    if find_gcc() is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    from tinybench.codegen.build import build_test_firmware
    with pytest.raises(FirmwareTooLarge) as exc:
        build_test_firmware("big", "stm32f746", "qemu", out_dir=tmp_path,
                            defines={"TB_BIG_BYTES": 320 * 1024 + 1})
    assert exc.value.board == "mps2-an500"
    assert exc.value.available == 320 * 1024


def test_compile_error_is_a_build_error_with_the_compiler_output(tmp_path):
    if find_gcc() is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    src = tmp_path / "broken.c"
    src.write_text("int this is not C;\n")
    with pytest.raises(BuildError) as exc:
        build_firmware([src], "stm32f746", "qemu", out_dir=tmp_path / "out")
    assert not isinstance(exc.value, FirmwareTooLarge)
    assert "broken.c" in exc.value.output and "error" in str(exc.value)
    with pytest.raises(BuildError, match="not found"):
        build_firmware([tmp_path / "missing.c"], "stm32f746", out_dir=tmp_path / "out")


def test_parse_overflows():
    out = ("/usr/bin/arm-none-eabi-ld: fw.elf section `.bss' will not fit in region `RAM'\n"
           "/usr/bin/arm-none-eabi-ld: region `RAM' overflowed by 92192 bytes\n"
           "/usr/bin/arm-none-eabi-ld: region `FLASH' overflowed by 12 bytes\n")
    assert parse_overflows(out) == {"RAM": 92192, "FLASH": 12}
    assert parse_overflows("collect2: error: ld returned 1 exit status") == {}


def test_stack_size_is_configurable(firmware):
    r = firmware("det", "nrf52840", "qemu")
    assert r.stack_bytes == 8192
    from tinybench.codegen.build import build_test_firmware
    r2 = build_test_firmware("det", "nrf52840", "qemu", out_dir=r.elf.parent / "s16",
                             stack_size=16384)
    assert r2.stack_bytes == 16384
    assert ElfInfo.load(r2.elf).symbols["__tb_stack_bottom"] == 0x2000_0000 + 256 * 1024 - 16384
