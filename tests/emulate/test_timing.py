"""The Cortex-M4 timing table (data) and the block cost model."""

from __future__ import annotations

import json
import subprocess

import pytest

from tinybench.codegen.build import find_gcc
from tinybench.emulate.timing import TIMING_FILE, block_cost, load_timing_table


def assemble(tmp_path, text: str) -> bytes:
    """Thumb-2 machine code for ``text`` (GNU as syntax)."""
    if find_gcc() is None:
        pytest.skip("arm-none-eabi toolchain not installed")
    src = tmp_path / "a.s"
    src.write_text(".syntax unified\n.thumb\n" + text + "\n")
    obj, binf = tmp_path / "a.o", tmp_path / "a.bin"
    subprocess.run(["arm-none-eabi-as", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mthumb", "-o", obj, src],
                   check=True)
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", obj, binf],
                   check=True)
    return binf.read_bytes()


def cost(tmp_path, text):
    return block_cost(assemble(tmp_path, text), 0x1000)


def test_table_is_data_with_its_source_and_the_m7_caveat():
    data = json.loads(TIMING_FILE.read_text())
    assert "DDI 0439" in data["source"]
    assert "APPROXIMATION" in data["cortex_m7_note"]
    t = load_timing_table()
    assert t.refill_p == 2
    assert "APPROXIMATION" in t.describe("cortex-m7")
    assert "APPROXIMATION" not in t.describe("cortex-m4")
    assert t.by_mnemonic["sdiv"] == "divide" and t.by_mnemonic["smlad"] == "multiply"


@pytest.mark.parametrize("text,base,extra,n", [
    ("adds r0, r1, r2\nmul r0, r0, r1\nsmlad r0, r1, r2, r3", 3, 0, 3),
    ("ldr r0, [r1]\nldr r2, [r3]", 2 + 1, 0, 2),          # pipelined second load
    ("ldr r0, [r1]\nldr r2, [r0]", 2 + 2, 0, 2),          # address depends on the first
    ("str r0, [r1, #4]\nstr r0, [r1, r2]", 1 + 2, 0, 2),  # immediate vs register offset
    ("ldrd r0, r1, [r2]\nstrd r0, r1, [r2]", 6, 0, 2),
    ("push {r4, r5, r6, r7, lr}", 6, 0, 1),
    ("pop {r4, pc}", 3, 2, 1),                            # 1+N, +P when it returns
    ("cmp r0, #0\nbne .+8", 2, 2, 2),                     # B<cond>: 1, taken 1+P
    ("bl .+100", 1, 2, 1),
    ("sdiv r0, r1, r2", 7, 0, 1),
    ("vldr s0, [r0]\nvmla.f32 s1, s0, s0\nvdiv.f32 s2, s1, s0", 2 + 3 + 14, 0, 3),
    ("ldr pc, [r0]", 2, 3, 1),                            # load into PC: 5
])
def test_block_costs(tmp_path, text, base, extra, n):
    c = cost(tmp_path, text)
    assert (c.base, c.taken_extra, c.n_insns) == (base, extra, n)
    assert sum(c.insn_costs) == c.base
    assert c.cost_before(0x1000) == 0 and c.cost_before(0x2000) == c.base


def test_load_sites_describe_the_effective_address(tmp_path):
    c = cost(tmp_path, "ldr r3, [r6, #4]\nldr.w r0, [r2, r1, lsl #2]\nldr r1, [sp, #8]")
    sites = [(s.base, s.index, s.disp, s.shift) for s in c.loads]
    assert sites == [("r6", None, 4, 0), ("r2", "r1", 0, 2), ("sp", None, 8, 0)]


@pytest.mark.parametrize("first, second, credit", [
    ("ldr r0, [r1]", "ldr r2, [r3]", 1),          # a load after a load: pipelined as in one block
    ("str r0, [r1, #4]", "ldrb r2, [r3, #1]", 1),  # a load after a store
    ("ldr r0, [r1]", "ldr r2, [r0]", 0),          # its address needs the first load's result
    ("adds r0, r1, r2", "ldr r2, [r3]", 0),       # not after a memory access
    ("ldr r0, [r1]", "adds r2, r3, r4", 0),       # not a load
])
def test_a_sequence_split_into_blocks_costs_what_it_costs_whole(tmp_path, first, second, credit):
    """The emulator may split a straight sequence where the core sees none (a guest page, a
    block size limit): falling through into the second part gives back what pipelining saves,
    so the cycles do not depend on where the code lies."""
    from tinybench.emulate.timing import fallthrough_credit

    a, b = cost(tmp_path, first), block_cost(assemble(tmp_path, second), 0x1000 + len(assemble(tmp_path, first)))
    whole = cost(tmp_path, first + "\n" + second)
    assert fallthrough_credit(a, b) == credit
    assert a.base + b.base - fallthrough_credit(a, b) == whole.base
