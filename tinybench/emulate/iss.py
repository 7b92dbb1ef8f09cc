"""``iss``: the in-process instruction-set simulator (Unicorn + Capstone), the default backend.

Counting. A native block hook (a Numba ``@cfunc`` with Unicorn's block-callback signature
``void(void *uc, uint64 addr, uint32 size, void *user)``, registered through the low-level
``uc_hook_add`` with a numpy ``int64`` array as user data) runs at the start of every executed
translation block. It looks the block up in an open-addressing table keyed by (address, size),
counts its executions, adds its instruction count (Thumb-2 length rule on the flash image) and
its cycle cost, and records whether the previous block's successor was its fall-through (for
taken-branch costs). Each distinct block is decoded once with Capstone (tinybench.emulate.
timing) to get its cost; until then its cost is pending and is added, exactly, the next time
Python looks (a DWT read or the end of the run). The instruction count is exact; cycles are
the Cortex-M4 table model (an approximation on the Cortex-M7).

DWT->CYCCNT. A UC_HOOK_MEM_READ restricted to the DWT page makes Unicorn keep the PC exact at
loads; a read of CYCCNT returns the modelled cycles of every instruction executed before the
load. Writes to CTRL/CYCCNT take effect from the start of the block that contains them.

Peripherals: flash and SRAM of the board, the board's UART (captured), SCS/SysTick/DWT pages,
stub pages for the BSP's clock and GPIO writes. Semihosting: BKPT 0xAB (interrupt 7) for
SYS_EXIT, SYS_WRITEC, SYS_WRITE0, SYS_WRITE. Faults (unmapped access, undefined instruction)
stop the run with status ``fault``; the instruction budget gives status ``hang``.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybench.codegen.targets import Board, Target
from tinybench.emulate.base import (
    DEFAULT_INSTRUCTION_BUDGET,
    DEFAULT_TIMEOUT_S,
    Backend,
    RunResult,
    fill_fault_location,
    register_backend,
    status_from_report,
)
from tinybench.emulate.elfinfo import ElfInfo
from tinybench.emulate.results import Marker, parse_uart
from tinybench.emulate.timing import BlockCost, block_cost, fallthrough_credit, load_timing_table

PAGE = 0x1000
DWT_BASE = 0xE000_1000
PPB_BASE = 0xE000_0000
PPB_END = 0xE010_0000

# Layout of the shared int64 state array: header slots, a direct map (one slot per halfword
# of the flash image: block id + 1 of the last block starting there), an open-addressing
# table keyed by (address, size) for everything else, one 8-slot record per block, and the
# flash image as halfwords (for the Thumb-2 length rule).
H_LEN, H_INSNS, H_CYCLES, H_BUDGET, H_NBLOCKS, H_PREV, H_PREV_END, H_STOP = range(8)
H_HMASK, H_CODE_BASE, H_CODE_HW, H_MAXB, H_EXECS, H_OUTSIDE, H_FELL = range(8, 15)
O_KEYS, O_VALS, O_REC, O_CODE, O_DMAP = range(16, 21)
HDR = 32
R_ADDR, R_SIZE, R_NINSN, R_COUNT, R_TAKEN, R_BASE, R_EXTRA, R_FALLIN, R_CREDIT = range(9)
REC = 10
STOP_BUDGET = 1
STOP_TABLE_FULL = 2
KEY_FLAG = 1 << 62

SEMIHOST_EXIT_SUCCESS = 0x20026

_hook_cache: dict = {}


def _native_block_hook():
    """Compile (once per process) the Numba block hook; returns (cfunc, keepalive)."""
    if "hook" in _hook_cache:
        return _hook_cache["hook"]
    from numba import carray, cfunc, types
    from unicorn.unicorn_py3.unicorn import uclib

    stop_addr = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value
    uc_emu_stop = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)(stop_addr)

    sig = types.void(types.voidptr, types.uint64, types.uint32, types.voidptr)

    @cfunc(sig, nopython=True)
    def block_hook(uc, address, size, user_data):
        hdr = carray(user_data, (HDR,), dtype=np.int64)
        S = carray(user_data, (hdr[H_LEN],), dtype=np.int64)
        addr = np.int64(address)
        sz = np.int64(size)
        code_base = S[H_CODE_BASE]
        nhw = S[H_CODE_HW]
        orec = S[O_REC]
        slot = (addr - code_base) >> 1
        in_code = slot >= 0 and slot < nhw
        bid = np.int64(-1)
        if in_code:
            v = S[S[O_DMAP] + slot]
            if v > 0 and S[orec + (v - 1) * REC + R_SIZE] == sz:
                bid = v - 1
        if bid < 0:
            key = (addr << 16) | (sz & 0xFFFF) | KEY_FLAG
            mask = S[H_HMASK]
            okeys = S[O_KEYS]
            ovals = S[O_VALS]
            h = ((addr >> 1) + sz * 7) & mask
            while True:
                k = S[okeys + h]
                if k == key:
                    bid = S[ovals + h]
                    break
                if k == 0:
                    bid = S[H_NBLOCKS]
                    if bid >= S[H_MAXB]:
                        S[H_STOP] = STOP_TABLE_FULL
                        uc_emu_stop(uc)
                        return
                    S[H_NBLOCKS] = bid + 1
                    S[okeys + h] = key
                    S[ovals + h] = bid
                    r = orec + bid * REC
                    S[r + R_ADDR] = addr
                    S[r + R_SIZE] = sz
                    # Thumb-2: a halfword whose top five bits are 0b11101, 0b11110 or
                    # 0b11111 starts a 32-bit instruction.
                    n = np.int64(0)
                    if in_code and slot + (sz >> 1) <= nhw:
                        a = slot
                        end = slot + (sz >> 1)
                        ocode = S[O_CODE]
                        while a < end:
                            n += 1
                            if (S[ocode + a] & 0xF800) >= 0xE800:
                                a += 2
                            else:
                                a += 1
                    else:
                        n = sz >> 1
                        S[H_OUTSIDE] += 1
                    S[r + R_NINSN] = n
                    S[r + R_BASE] = -1
                    break
                h = (h + 1) & mask
            if in_code:
                S[S[O_DMAP] + slot] = bid + 1
        prev = S[H_PREV]
        r = orec + bid * REC
        S[H_FELL] = 0
        if prev >= 0 and addr != S[H_PREV_END]:
            p = orec + prev * REC
            S[p + R_TAKEN] += 1
            if S[p + R_BASE] >= 0:
                S[H_CYCLES] += S[p + R_EXTRA]
        elif prev >= 0:  # entered by falling through (a translation block split mid-sequence)
            S[H_FELL] = 1
            S[r + R_FALLIN] += 1
            if S[r + R_BASE] >= 0:
                S[H_CYCLES] -= S[r + R_CREDIT]
        S[r + R_COUNT] += 1
        S[H_INSNS] += S[r + R_NINSN]
        b = S[r + R_BASE]
        if b >= 0:
            S[H_CYCLES] += b
        S[H_PREV] = bid
        S[H_PREV_END] = addr + sz
        S[H_EXECS] += 1
        if S[H_INSNS] >= S[H_BUDGET] and S[H_STOP] == 0:
            S[H_STOP] = STOP_BUDGET
            uc_emu_stop(uc)

    _hook_cache["hook"] = (block_hook, uc_emu_stop)
    return _hook_cache["hook"]


@dataclass
class _UartModel:
    data_offset: int
    status: dict[int, int]  # register offset -> value returned on read


_UART_MODELS = {
    "cmsdk": _UartModel(data_offset=0x000, status={0x004: 0x0}),
    "stm32f7_usart": _UartModel(data_offset=0x028, status={0x01C: 0xC0}),
    "nrf52_uart": _UartModel(data_offset=0x51C, status={0x11C: 0x1}),
}


class _Run:
    """State of one ISS run (hooks close over this object)."""

    def __init__(self, elf: ElfInfo, target: Target, board: Board, budget: int,
                 max_blocks: int, table, dwt: str = "fast"):
        from unicorn import Uc, UC_ARCH_ARM, UC_MODE_MCLASS, UC_MODE_THUMB
        from unicorn import arm_const

        self.elf = elf
        self.board = board
        self.table = table
        self.uart_bytes = bytearray()
        self.semihost_out = bytearray()
        self.line = bytearray()
        self.exit_reason: int | None = None
        self.end_seen = False
        self.fault: dict | None = None
        self.dwt_ctrl = 0
        self.dwt_base_val = 0
        self.dwt_base_cyc = 0
        self.dwt_value = 0
        self.dwt_reads = 0
        self.dwt_mode = dwt
        self.dwt_enabled = dwt != "off"
        self.dwt_unlocated = 0  # fast mode: reads whose load could not be identified
        self._dwt_exec = -1
        self._dwt_last_site = -1
        self.costs: dict[int, BlockCost] = {}
        self.markers: list[Marker] = []

        uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        uc.ctl_set_cpu_model(getattr(arm_const, target.cpu_spec.unicorn_model))
        self.uc = uc
        self.A = arm_const

        # --- state array -------------------------------------------------------------------
        code = self._code_image()
        hsize = 1 << max(12, (2 * max_blocks - 1).bit_length())
        n = HDR + 2 * hsize + REC * max_blocks + 2 * len(code)
        S = np.zeros(n, dtype=np.int64)
        S[H_LEN] = n
        S[H_BUDGET] = budget
        S[H_PREV] = -1
        S[H_HMASK] = hsize - 1
        S[H_CODE_BASE] = board.flash_base
        S[H_CODE_HW] = len(code)
        S[H_MAXB] = max_blocks
        off = HDR
        for slot, length in ((O_KEYS, hsize), (O_VALS, hsize), (O_REC, REC * max_blocks),
                             (O_CODE, len(code)), (O_DMAP, len(code))):
            S[slot] = off
            off += length
        S[S[O_CODE]:S[O_CODE] + len(code)] = code
        self.S = S

        self._map_memory()
        self._install_hooks()

    # --- memory -------------------------------------------------------------------------------

    def _code_image(self) -> np.ndarray:
        """Halfwords of the flash image from the board's flash base (for the length rule)."""
        base = self.board.flash_base
        end = base
        for seg in self.elf.segments:
            if base <= seg.paddr < base + self.board.flash_size:
                end = max(end, seg.paddr + len(seg.data))
        img = bytearray(end - base + (end - base) % 2)
        for seg in self.elf.segments:
            if base <= seg.paddr < base + self.board.flash_size:
                off = seg.paddr - base
                img[off:off + len(seg.data)] = seg.data
        return np.frombuffer(bytes(img), dtype="<u2").astype(np.int64)

    def _map_memory(self) -> None:
        uc, b = self.uc, self.board
        uc.mem_map(b.flash_base, _page_up(b.flash_size))
        uc.mem_map(b.sram_base, _page_up(b.sram_size))
        for seg in self.elf.segments:
            uc.mem_write(seg.paddr, seg.data)
        # System space: plain memory except the DWT page.
        uc.mem_map(PPB_BASE, DWT_BASE - PPB_BASE)
        uc.mmio_map(DWT_BASE, PAGE, self._dwt_mmio_read, None, self._dwt_mmio_write, None)
        uc.mem_map(DWT_BASE + PAGE, PPB_END - DWT_BASE - PAGE)
        uart_page = b.uart_base & ~(PAGE - 1)
        uc.mmio_map(uart_page, PAGE, self._uart_read, None, self._uart_write, None)
        self.uart_off = b.uart_base - uart_page
        self.uart_model = _UART_MODELS[b.uart_kind]
        self.uart_regs: dict[int, int] = {}
        pages = set()
        for region in b.stub_regions:
            start = region.base & ~(PAGE - 1)
            for p in range(start, region.end, PAGE):
                if p != uart_page:
                    pages.add(p)
        for p in sorted(pages):
            uc.mem_map(p, PAGE)

    # --- hooks --------------------------------------------------------------------------------

    def _install_hooks(self) -> None:
        from unicorn import (UC_HOOK_BLOCK, UC_HOOK_CODE, UC_HOOK_INTR, UC_HOOK_MEM_READ,
                             UC_HOOK_MEM_UNMAPPED)
        from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib

        hook, _ = _native_block_hook()
        self._hook_handle = uc_hook_h()
        err = uclib.uc_hook_add(self.uc._uch, ctypes.byref(self._hook_handle), UC_HOOK_BLOCK,
                                ctypes.c_void_p(hook.address),
                                ctypes.c_void_p(self.S.ctypes.data),
                                ctypes.c_uint64(1), ctypes.c_uint64(0))
        if err != 0:
            raise RuntimeError(f"uc_hook_add(UC_HOOK_BLOCK) failed with error {err}")
        self.uc.hook_add(UC_HOOK_INTR, self._on_interrupt)
        self.uc.hook_add(UC_HOOK_MEM_UNMAPPED, self._on_unmapped)
        mark = self.elf.symbols.get("tb_mark")
        if mark is not None:
            # A code hook bounded to one address instruments only that instruction.
            self.uc.hook_add(UC_HOOK_CODE, self._on_mark, None, mark & ~1, mark & ~1)
        if self.dwt_mode == "exact":
            # A read hook, even restricted to the DWT page, makes Unicorn keep the PC exact
            # at every load (about 2x slower overall).
            self.uc.hook_add(UC_HOOK_MEM_READ, self._on_dwt_read, None, DWT_BASE,
                             DWT_BASE + PAGE - 1)

    def _on_mark(self, uc, address, size, user_data) -> None:
        """Entry of ``tb_mark``: the block hook has just counted the block that starts here, so
        the instructions before it are the total minus that block's own."""
        S = self.S
        cur = int(S[H_PREV])
        rec = self.records()[cur]
        if int(rec[R_ADDR]) != address:
            raise RuntimeError(f"tb_mark at 0x{address:08x} is not the start of a block")
        self.markers.append(Marker(int(uc.reg_read(self.A.UC_ARM_REG_R0)),
                                   int(S[H_INSNS]) - int(rec[R_NINSN]), self.cycles_now()))

    def _on_interrupt(self, uc, intno, user_data) -> None:
        A = self.A
        pc = uc.reg_read(A.UC_ARM_REG_PC)
        if intno == 7:  # EXCP_BKPT
            insn = bytes(uc.mem_read(pc & ~1, 2))
            if insn == b"\xab\xbe":  # BKPT 0xAB: semihosting
                self._semihost(uc, pc)
                return
            self.fault = {"kind": "breakpoint", "pc": pc & ~1, "address": None,
                          "text": f"BKPT 0x{insn[0]:02x}"}
        else:
            self.fault = {"kind": "exception", "pc": pc & ~1, "address": None,
                          "text": f"unhandled CPU exception {intno}"}
        uc.emu_stop()

    def _semihost(self, uc, pc: int) -> None:
        A = self.A
        op = uc.reg_read(A.UC_ARM_REG_R0)
        arg = uc.reg_read(A.UC_ARM_REG_R1)
        ret = 0
        if op == 0x18:  # SYS_EXIT
            self.exit_reason = arg
            uc.emu_stop()
            return
        if op == 0x03:  # SYS_WRITEC
            self.semihost_out += bytes(uc.mem_read(arg, 1))
        elif op == 0x04:  # SYS_WRITE0
            s = bytearray()
            while len(s) < 1 << 16:
                ch = bytes(uc.mem_read(arg + len(s), 1))
                if ch == b"\0":
                    break
                s += ch
            self.semihost_out += s
        elif op == 0x05:  # SYS_WRITE: [handle, buf, len]
            _h, buf, n = np.frombuffer(bytes(uc.mem_read(arg, 12)), dtype="<u4")
            self.semihost_out += bytes(uc.mem_read(int(buf), int(n)))
        else:
            ret = 0xFFFFFFFF
        uc.reg_write(A.UC_ARM_REG_R0, ret)
        uc.reg_write(A.UC_ARM_REG_PC, (pc + 2) | 1)

    def _on_unmapped(self, uc, access, address, size, value, user_data) -> bool:
        from unicorn import UC_MEM_FETCH_UNMAPPED, UC_MEM_WRITE_UNMAPPED
        pc = uc.reg_read(self.A.UC_ARM_REG_PC)
        kind = {UC_MEM_WRITE_UNMAPPED: "write", UC_MEM_FETCH_UNMAPPED: "fetch"}.get(access,
                                                                                   "read")
        self.fault = {"kind": f"unmapped {kind}", "pc": pc & ~1, "address": address,
                      "text": f"{size}-byte {kind} of unmapped address 0x{address:08x}"}
        return False

    # --- UART -----------------------------------------------------------------------------

    def _uart_read(self, uc, offset, size, user_data) -> int:
        reg = offset - self.uart_off
        if reg in self.uart_model.status:
            return self.uart_model.status[reg]
        return self.uart_regs.get(reg, 0)

    def _uart_write(self, uc, offset, size, value, user_data) -> None:
        reg = offset - self.uart_off
        if reg != self.uart_model.data_offset:
            self.uart_regs[reg] = value
            return
        ch = value & 0xFF
        self.uart_bytes.append(ch)
        if ch == 0x0A:
            line = bytes(self.line).strip(b"\r")
            self.line.clear()
            if line.startswith(b"TB:END") and not self.board.uses_semihosting:
                self.end_seen = True
                uc.emu_stop()
        else:
            self.line.append(ch)

    # --- DWT ------------------------------------------------------------------------------

    def cycles_now(self, pc: int | None = None) -> int:
        """Modelled cycles of everything executed before ``pc`` (default: before the current
        block)."""
        self.fixup()
        S = self.S
        cur = int(S[H_PREV])
        total = int(S[H_CYCLES])
        if cur < 0:
            return total
        cost = self.costs[cur]
        credit = int(S[H_FELL]) * int(self.records()[cur][R_CREDIT])
        before = total - cost.base + credit
        if pc is None:
            return before
        return before + cost.cost_before(pc) - (credit if pc > cost.insn_addrs[0] else 0)

    def _dwt_counter(self, cycles: int) -> int:
        if self.dwt_ctrl & 1:
            return (self.dwt_base_val + cycles - self.dwt_base_cyc) & 0xFFFFFFFF
        return self.dwt_base_val & 0xFFFFFFFF

    def _on_dwt_read(self, uc, access, address, size, value, user_data) -> None:
        off = address - DWT_BASE
        if off == 0x004 and self.dwt_enabled:
            pc = uc.reg_read(self.A.UC_ARM_REG_PC) & ~1
            self.dwt_value = self._dwt_counter(self.cycles_now(pc))
            self.dwt_reads += 1

    _REG_NAMES = {"sb": "R9", "sl": "R10", "fp": "R11", "ip": "R12", "sp": "SP", "lr": "LR",
                  "pc": "PC"}

    def _reg(self, uc, name: str) -> int:
        uc_name = self._REG_NAMES.get(name, name.upper())
        return uc.reg_read(getattr(self.A, f"UC_ARM_REG_{uc_name}"))

    def _locate_dwt_load(self, uc, address: int) -> int | None:
        """Fast mode: Unicorn's PC is the block start during an MMIO read, so find the load
        in the current block that reads ``address``: registers hold their values just
        before the load, so the candidates are the loads whose effective address is
        ``address``; take the first one after the one matched by the previous read in the
        same block execution."""
        S = self.S
        cur = int(S[H_PREV])
        execs = int(S[H_EXECS])
        if execs != self._dwt_exec:
            self._dwt_exec = execs
            self._dwt_last_site = -1
        cost = self.costs.get(cur)
        if cost is None:
            return None
        for site in cost.loads:
            if site.address <= self._dwt_last_site or site.base == "pc":
                continue
            ea = self._reg(uc, site.base) + site.disp
            if site.index is not None:
                off = self._reg(uc, site.index) << site.shift
                ea += -off if site.negative else off
            if ea & 0xFFFFFFFF == address:
                self._dwt_last_site = site.address
                return site.address
        return None

    def _dwt_mmio_read(self, uc, offset, size, user_data) -> int:
        if offset == 0x004:
            if not self.dwt_enabled:
                return 0
            if self.dwt_mode == "fast":
                self.fixup()
                pc = self._locate_dwt_load(uc, DWT_BASE + offset)
                if pc is None:
                    self.dwt_unlocated += 1
                self.dwt_reads += 1
                self.dwt_value = self._dwt_counter(self.cycles_now(pc))
            return self.dwt_value
        if offset == 0x000:
            return self.dwt_ctrl
        return 0

    def _dwt_mmio_write(self, uc, offset, size, value, user_data) -> None:
        if not self.dwt_enabled:
            return
        now = self.cycles_now()
        if offset == 0x000:
            was = self.dwt_ctrl & 1
            if (value & 1) and not was:
                self.dwt_base_cyc = now
            elif was and not (value & 1):
                self.dwt_base_val = self._dwt_counter(now)
            self.dwt_ctrl = value & 0xFFFFFFFF
        elif offset == 0x004:
            self.dwt_base_val = value & 0xFFFFFFFF
            self.dwt_base_cyc = now

    # --- cycle costs ----------------------------------------------------------------------

    def records(self) -> np.ndarray:
        """View of the block records, shape (n_blocks, REC)."""
        S = self.S
        n = int(S[H_NBLOCKS])
        o = int(S[O_REC])
        return S[o:o + n * REC].reshape(n, REC)

    def _cost(self, bid: int) -> BlockCost:
        if bid not in self.costs:
            rec = self.records()[bid]
            addr, size = int(rec[R_ADDR]), int(rec[R_SIZE])
            self.costs[bid] = block_cost(bytes(self.uc.mem_read(addr, size)), addr, self.table)
        return self.costs[bid]

    def fixup(self) -> None:
        """Decode blocks whose cost is still pending and add their cycles so far (less the load
        pipelining credit of the executions that fell through into them)."""
        recs = self.records()
        pending = np.flatnonzero(recs[:, R_BASE] < 0)
        if not pending.size:
            return
        ends = {int(a + n): i for i, (a, n) in enumerate(zip(recs[:, R_ADDR], recs[:, R_SIZE]))}
        for bid in (int(b) for b in pending):
            rec = recs[bid]
            cost = self._cost(bid)
            before = ends.get(int(rec[R_ADDR]))
            credit = fallthrough_credit(self._cost(before), cost, self.table) if before is not None else 0
            rec[R_EXTRA] = cost.taken_extra
            rec[R_CREDIT] = credit
            rec[R_BASE] = cost.base
            self.S[H_CYCLES] += int(rec[R_COUNT]) * cost.base + int(rec[R_TAKEN]) * cost.taken_extra \
                - int(rec[R_FALLIN]) * credit

    def block_table(self) -> dict[str, np.ndarray]:
        recs = self.records()
        return {name: recs[:, col].copy() for name, col in (
            ("addr", R_ADDR), ("size", R_SIZE), ("ninsn", R_NINSN), ("count", R_COUNT),
            ("taken", R_TAKEN), ("base", R_BASE), ("extra", R_EXTRA), ("fallin", R_FALLIN),
            ("credit", R_CREDIT))}


def _page_up(n: int) -> int:
    return (n + PAGE - 1) & ~(PAGE - 1)


@register_backend
class IssBackend(Backend):
    """In-process Unicorn/Capstone ISS with exact instruction counts and a cycle model."""

    name = "iss"
    description = ("in-process Unicorn + Capstone ISS: exact instruction counts (native block "
                   "hook), Cortex-M4 table cycle model, emulated DWT->CYCCNT")

    DWT_MODES = ("fast", "exact", "off")

    def __init__(self, *, max_blocks: int = 1 << 16, timing_file: str | None = None,
                 dwt: str = "fast"):
        """``dwt``: how reads of DWT->CYCCNT are served.

        ``fast`` (default): an MMIO callback; the reading load is identified in the current
        block from the register values (exact for the harness's reads; a read that cannot
        be placed returns the cycles before its block and is counted in
        ``extra['dwt_unlocated_reads']``). ``exact``: a read hook that makes Unicorn track
        the PC at every load (exact always, about half the speed). ``off``: no DWT, CYCCNT
        reads 0 as under QEMU, so the harness takes the same path as there.
        """
        if dwt not in self.DWT_MODES:
            raise ValueError(f"dwt must be one of {self.DWT_MODES}, got {dwt!r}")
        self.max_blocks = max_blocks
        self.timing_file = timing_file
        self.dwt = dwt

    def available(self) -> tuple[bool, str]:
        try:
            import capstone  # noqa: F401
            import numba  # noqa: F401
            import unicorn  # noqa: F401
        except ImportError as exc:
            return False, f"missing Python package: {exc.name} (pip install unicorn capstone numba)"
        return True, self.version() or ""

    def version(self) -> str | None:
        try:
            import capstone
            import numba
            import unicorn
        except ImportError:
            return None
        return (f"unicorn {unicorn.__version__}, capstone {capstone.__version__}, "
                f"numba {numba.__version__}")

    def supports_board(self, board: Board) -> bool:
        return board.uart_kind in _UART_MODELS

    def run(self, elf_path: Path | str, target: Target | str, *,
            instruction_budget: int | None = DEFAULT_INSTRUCTION_BUDGET,
            timeout_s: float = DEFAULT_TIMEOUT_S) -> RunResult:
        elf, target, board, early = self._prepare(elf_path, target)
        if early is not None:
            return early
        from unicorn import UcError
        from unicorn.unicorn_const import UC_ERR_INSN_INVALID

        table = load_timing_table(self.timing_file)
        _native_block_hook()  # compile outside the timed region
        budget = instruction_budget if instruction_budget is not None else 2**62
        run = _Run(elf, target, board, budget, self.max_blocks, table, self.dwt)
        uc, A = run.uc, run.A
        vec = bytes(uc.mem_read(board.flash_base, 8))
        sp = int.from_bytes(vec[:4], "little")
        pc = int.from_bytes(vec[4:], "little")
        uc.reg_write(A.UC_ARM_REG_SP, sp)
        error = None
        t0 = time.perf_counter()
        try:
            uc.emu_start(pc | 1, 0xFFFF_FFFE, timeout=int(timeout_s * 1e6))
        except UcError as exc:
            error = exc
        wall = time.perf_counter() - t0
        run.fixup()

        S = run.S
        uart = run.uart_bytes.decode("utf-8", "replace")
        report = parse_uart(uart)
        result = RunResult(
            backend=self.name, status="crash", target=target.name, board=board.name,
            elf=str(elf_path), uart=uart, report=report, wall_time_s=wall,
            instructions=int(S[H_INSNS]), instructions_exact=int(S[H_OUTSIDE]) == 0,
            cycles=int(S[H_CYCLES]), cycles_model=table.describe(target.cpu),
            markers=run.markers,
        )
        result.extra.update({
            "semihosting_output": run.semihost_out.decode("utf-8", "replace"),
            "blocks": int(S[H_NBLOCKS]),
            "block_executions": int(S[H_EXECS]),
            "dwt_mode": self.dwt,
            "dwt_reads": run.dwt_reads,
            "dwt_unlocated_reads": run.dwt_unlocated,
            "exit_reason": run.exit_reason,
            "cortex_m7_note": table.cortex_m7_note if target.cpu == "cortex-m7" else "",
        })
        self._profile(run, elf, result)

        stop = int(S[H_STOP])
        implied = status_from_report(report)
        if run.fault is not None:
            f = run.fault
            result.status = "fault"
            result.fault_pc = f["pc"]
            result.fault_address = f["address"]
            result.reason = f"{f['text']} at {elf.describe_address(f['pc'])}"
        elif error is not None and error.errno == UC_ERR_INSN_INVALID:
            pc = uc.reg_read(A.UC_ARM_REG_PC) & ~1
            result.status = "fault"
            result.fault_pc = pc
            result.reason = f"undefined instruction at {elf.describe_address(pc)}"
        elif error is not None:
            pc = uc.reg_read(A.UC_ARM_REG_PC) & ~1
            result.status = "crash"
            result.fault_pc = pc
            result.reason = f"unicorn error {error} at {elf.describe_address(pc)}"
        elif stop == STOP_BUDGET:
            pc = int(run.records()[int(S[H_PREV]), R_ADDR])
            result.status = "hang"
            result.fault_pc = pc
            result.reason = (f"instruction budget of {instruction_budget} exhausted; last block "
                             f"at {elf.describe_address(pc)}")
        elif stop == STOP_TABLE_FULL:
            result.status = "crash"
            result.reason = (f"more than {self.max_blocks} distinct blocks; raise max_blocks")
        elif run.exit_reason is not None or run.end_seen:
            if implied is not None:
                result.status, result.reason = implied
            else:
                result.status = "crash"
                result.reason = "firmware exited without a TB:END line"
            if run.exit_reason is not None and run.exit_reason != SEMIHOST_EXIT_SUCCESS \
                    and result.status == "ok":
                result.status = "crash"
                result.reason = f"semihosting exit reason 0x{run.exit_reason:x} after END ok"
        elif wall >= timeout_s * 0.99:
            pc = uc.reg_read(A.UC_ARM_REG_PC) & ~1
            result.status = "hang"
            result.fault_pc = pc
            result.reason = f"wall-clock timeout of {timeout_s} s at {elf.describe_address(pc)}"
        else:
            result.status = "crash"
            result.reason = "emulation stopped without an end signal"
        if result.status in ("fault", "hang") and result.fault_pc is not None:
            result.fault_function = elf.function_at(result.fault_pc)
        if result.status in ("fault", "crash") and result.fault_pc is not None:
            self._stop_at(run, elf, result, result.fault_pc)
        fill_fault_location(result, elf)
        return result

    @staticmethod
    def _stop_at(run: _Run, elf: ElfInfo, result: RunResult, pc: int) -> None:
        """The block hook counted the whole block that faulted: remove the instructions after
        the faulting one (which itself is counted, as QEMU's plugin counts it)."""
        cur = int(run.S[H_PREV])
        cost = run.costs.get(cur)
        if cost is None or pc not in cost.insn_addrs:
            result.instructions_exact = False
            result.extra["count_note"] = "counted to the end of the faulting block"
            return
        k = cost.insn_addrs.index(pc) + 1
        n_after = len(cost.insn_addrs) - k
        c_after = sum(cost.insn_costs[k:])
        result.instructions -= n_after
        result.cycles -= c_after
        fn = elf.function_at(cost.insn_addrs[0]) or f"0x{cost.insn_addrs[0]:08x}"
        if fn in result.profile:
            result.profile[fn] -= n_after
            result.profile_cycles[fn] -= c_after
        result.extra["count_note"] = "counted up to and including the faulting instruction"

    @staticmethod
    def _profile(run: _Run, elf: ElfInfo, result: RunResult) -> None:
        t = run.block_table()
        insns: dict[str, int] = {}
        cycles: dict[str, int] = {}
        for i in range(len(t["addr"])):
            fn = elf.function_at(int(t["addr"][i])) or f"0x{int(t['addr'][i]):08x}"
            insns[fn] = insns.get(fn, 0) + int(t["count"][i] * t["ninsn"][i])
            cycles[fn] = cycles.get(fn, 0) + int(t["count"][i] * t["base"][i]
                                                 + t["taken"][i] * t["extra"][i]
                                                 - t["fallin"][i] * t["credit"][i])
        result.profile = dict(sorted(insns.items(), key=lambda kv: -kv[1]))
        result.profile_cycles = dict(sorted(cycles.items(), key=lambda kv: -kv[1]))
