"""Cycle cost of Thumb-2 basic blocks from the Cortex-M4 timing table (data, not code).

The table lives in ``timing_cortex_m4.json`` beside this module (source: ARM DDI 0439, as
summarised in REFERENCE.md). :func:`block_cost` decodes a block with Capstone and returns

* ``base``: cycles of one execution when the final instruction is not taken (falls through),
* ``taken_extra``: cycles added when the execution's successor is not the fall-through block
  (taken branch, call, return, load into PC),
* ``insn_costs``: the cost of each instruction (for reads of DWT->CYCCNT in mid-block).

Applied to Cortex-M7 code the same table is an approximation (stated in the data and in the
``cycles_model`` text of every result).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import capstone
from capstone import arm_const as A

TIMING_FILE = Path(__file__).with_name("timing_cortex_m4.json")


@dataclass(frozen=True)
class TimingTable:
    name: str
    version: int
    default: int
    refill_p: int
    by_mnemonic: dict  # capstone insn_name -> class name
    classes: dict  # class name -> dict
    cortex_m7_note: str
    source: str

    def describe(self, cpu: str) -> str:
        text = (f"{self.name} v{self.version}: Cortex-M4 cycle table (ARM DDI 0439, zero wait "
                f"states, taken-branch refill P={self.refill_p}), summed per executed block")
        if cpu != "cortex-m4":
            text += f"; {cpu}: APPROXIMATION using the Cortex-M4 table"
        return text


@lru_cache(maxsize=4)
def load_timing_table(path: str | None = None) -> TimingTable:
    data = json.loads(Path(path or TIMING_FILE).read_text())
    by_mnemonic = {}
    for cls, spec in data["classes"].items():
        for m in spec.get("mnemonics", ()):
            by_mnemonic[m] = cls
    return TimingTable(
        name=data["name"], version=int(data["version"]), default=int(data["default_cycles"]),
        refill_p=int(data["pipeline_refill_P"]), by_mnemonic=by_mnemonic,
        classes=data["classes"], cortex_m7_note=data["cortex_m7_note"], source=data["source"],
    )


@lru_cache(maxsize=1)
def _disassembler() -> capstone.Cs:
    md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    md.detail = True
    return md


_LOAD_CLASSES = {"load"}
_SINGLE_MEM_CLASSES = {"load", "store", "store_reg_offset"}


def _mem_operand(insn):
    for op in insn.operands:
        if op.type == A.ARM_OP_MEM:
            return op.mem
    return None


def classify(insn, table: TimingTable) -> tuple[str, int, int]:
    """(class, cycles, taken_extra) of one Capstone instruction, before pipelining."""
    name = insn.insn_name()
    cls = table.by_mnemonic.get(name)
    spec = table.classes.get(cls, {}) if cls else {}
    writes = insn.regs_access()[1]
    writes_pc = A.ARM_REG_PC in writes
    if cls == "load" and insn.operands and insn.operands[0].type == A.ARM_OP_REG \
            and insn.operands[0].reg == A.ARM_REG_PC:
        s = table.classes["load_pc"]
        return "load_pc", int(s["cycles"]), int(s["taken_extra"])
    if cls == "store":
        mem = _mem_operand(insn)
        if mem is not None and mem.index != 0:
            return "store_reg_offset", int(table.classes["store_reg_offset"]["cycles"]), 0
    if cls in ("load_multiple", "store_multiple", "fp_load_multiple", "fp_store_multiple"):
        regs = [op for op in insn.operands if op.type == A.ARM_OP_REG]
        n = len(regs) if name in ("push", "pop", "vpush", "vpop") else max(len(regs) - 1, 0)
        cycles = int(spec["cycles"]) + int(spec.get("per_register", 0)) * n
        extra = table.refill_p if (cls == "load_multiple" and writes_pc) else 0
        return cls, cycles, extra
    if name == "vmov":
        core_regs = [op for op in insn.operands
                     if op.type == A.ARM_OP_REG and A.ARM_REG_R0 <= op.reg <= A.ARM_REG_R12]
        if len(core_regs) == 2:
            return "fp_move_pair", int(table.classes["fp_move_pair"]["cycles"]), 0
    if cls is not None:
        return cls, int(spec["cycles"]), int(spec.get("taken_extra", 0))
    if writes_pc:
        s = table.classes["write_pc"]
        return "write_pc", int(s["cycles"]), int(s["taken_extra"])
    return "default", table.default, 0


@dataclass(frozen=True)
class LoadSite:
    """A single-register load in a block: its address and how to form its effective address
    (register names as Capstone prints them)."""

    address: int
    base: str
    index: str | None
    disp: int
    shift: int
    negative: bool


@dataclass(frozen=True)
class BlockCost:
    base: int
    taken_extra: int
    n_insns: int
    insn_addrs: tuple[int, ...]
    insn_costs: tuple[int, ...]
    last_mnemonic: str
    loads: tuple[LoadSite, ...] = ()
    first_load_regs: frozenset | None = None  # address registers of a single load opening the block
    tail_mem: bool = False  # the block ends with a single load or store ...
    tail_dest: int | None = None  # ... which loads this register (None: a store)

    def cost_before(self, pc: int) -> int:
        """Cycles of the instructions of this block that precede address ``pc``."""
        total = 0
        for a, c in zip(self.insn_addrs, self.insn_costs):
            if a >= pc:
                break
            total += c
        return total


def block_cost(code: bytes, address: int, table: TimingTable | None = None) -> BlockCost:
    """Cost of one execution of the Thumb block ``code`` starting at ``address``."""
    table = table or load_timing_table()
    md = _disassembler()
    insns = list(md.disasm(code, address))
    costs: list[int] = []
    prev_cls = None
    prev_dest = None
    taken_extra = 0
    loads: list[LoadSite] = []
    for insn in insns:
        cls, cycles, extra = classify(insn, table)
        if cls in _LOAD_CLASSES:
            site = _load_site(insn)
            if site is not None:
                loads.append(site)
        if cls in _LOAD_CLASSES and prev_cls in _SINGLE_MEM_CLASSES:
            mem = _mem_operand(insn)
            addr_regs = {mem.base, mem.index} if mem is not None else set()
            if prev_dest is None or prev_dest not in addr_regs:
                cycles = int(table.classes["load"]["pipelined"])
        costs.append(cycles)
        taken_extra = extra
        prev_cls = cls
        prev_dest = (insn.operands[0].reg if cls in _LOAD_CLASSES and insn.operands
                     and insn.operands[0].type == A.ARM_OP_REG else None)
    first_load_regs = None
    if insns and classify(insns[0], table)[0] in _LOAD_CLASSES:
        mem = _mem_operand(insns[0])
        first_load_regs = frozenset({mem.base, mem.index} if mem is not None else ())
    decoded = sum(i.size for i in insns)
    if decoded != len(code):
        # Capstone stopped early (undefined encoding): cost the rest at the default rate.
        rest = (len(code) - decoded) // 2
        costs.extend([table.default] * rest)
    return BlockCost(
        base=sum(costs), taken_extra=taken_extra, n_insns=len(insns),
        insn_addrs=tuple(i.address for i in insns), insn_costs=tuple(costs),
        last_mnemonic=insns[-1].mnemonic if insns else "",
        loads=tuple(loads), first_load_regs=first_load_regs,
        tail_mem=prev_cls in _SINGLE_MEM_CLASSES, tail_dest=prev_dest,
    )


def fallthrough_credit(before: BlockCost, block: BlockCost, table: TimingTable | None = None) -> int:
    """Cycles the load pipelining rule saves when ``block`` is entered by falling through from
    ``before``: the emulator splits a straight instruction sequence into blocks (at a guest page
    boundary, or at its block size limit) where the core sees none, so a load opening a block
    pipelines with the load or store that closed the block before it, as within one block."""
    table = table or load_timing_table()
    if block.first_load_regs is None or not before.tail_mem or before.tail_dest in block.first_load_regs:
        return 0
    spec = table.classes["load"]
    return int(spec["cycles"]) - int(spec["pipelined"])


def _load_site(insn) -> LoadSite | None:
    for op in insn.operands:
        if op.type == A.ARM_OP_MEM:
            mem = op.mem
            shift = op.shift.value if op.shift.type == A.ARM_SFT_LSL else 0
            return LoadSite(
                address=insn.address, base=insn.reg_name(mem.base),
                index=insn.reg_name(mem.index) if mem.index else None,
                disp=mem.disp, shift=shift, negative=bool(op.subtracted),
            )
    return None
