"""What the emulator backends need from a firmware ELF: loadable segments, function symbols
(to name a PC) and the build's ``tb_meta`` string (target and board)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection


@dataclass
class Segment:
    paddr: int  # load address (LMA): where the emulator writes the bytes
    vaddr: int
    data: bytes
    memsz: int


@dataclass
class ElfInfo:
    path: Path
    entry: int
    segments: list[Segment]
    functions: list[tuple[int, int, str]]  # (start, size, name), sorted, Thumb bit cleared
    symbols: dict[str, int] = field(default_factory=dict)  # every named symbol -> value
    sizes: dict[str, int] = field(default_factory=dict)  # every named symbol -> st_size
    #: source file -> its local (static) functions, by the symbol table's STT_FILE entries: the
    #: out-of-line helpers of one translation unit (gcc keeps a static helper of a kernel apart
    #: where it is too large to inline)
    local_functions: dict[str, list[str]] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    _starts: list[int] = field(default_factory=list, repr=False)

    @classmethod
    def load(cls, path: Path | str) -> "ElfInfo":
        path = Path(path)
        with open(path, "rb") as f:
            elf = ELFFile(f)
            if elf["e_machine"] != "EM_ARM":
                raise ValueError(f"{path} is not an ARM ELF ({elf['e_machine']})")
            segments = [
                Segment(seg["p_paddr"], seg["p_vaddr"], seg.data(), seg["p_memsz"])
                for seg in elf.iter_segments()
                if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > 0
            ]
            functions: list[tuple[int, int, str]] = []
            symbols: dict[str, int] = {}
            sizes: dict[str, int] = {}
            local: dict[str, list[str]] = {}
            for sec in elf.iter_sections():
                if not isinstance(sec, SymbolTableSection):
                    continue
                source = None
                for sym in sec.iter_symbols():
                    kind = sym["st_info"]["type"]
                    if kind == "STT_FILE":
                        source = sym.name
                    if not sym.name or sym.name.startswith("$") or kind == "STT_FILE":
                        continue
                    symbols[sym.name] = sym["st_value"]
                    sizes[sym.name] = sym["st_size"]
                    if kind == "STT_FUNC":
                        functions.append((sym["st_value"] & ~1, sym["st_size"], sym.name))
                        if sym["st_info"]["bind"] == "STB_LOCAL" and source:
                            local.setdefault(source, []).append(sym.name)
            functions.sort()
            info = cls(path=path, entry=elf["e_entry"], segments=segments,
                       functions=functions, symbols=symbols, sizes=sizes, local_functions=local)
            info.meta = info._read_meta()
        return info

    def _read_meta(self) -> dict[str, str]:
        addr = self.symbols.get("tb_meta")
        if addr is None:
            return {}
        size = self.sizes.get("tb_meta", 0)
        raw = self.read(addr, size) if size else b""
        text = raw.split(b"\0", 1)[0].decode("ascii", "replace")
        out = {}
        for part in text.split():
            if "=" in part:
                k, v = part.split("=", 1)
                out[k] = v
        return out

    # --- queries --------------------------------------------------------------------------

    def read(self, address: int, size: int) -> bytes:
        """Bytes at a *load* address (flash image), or b'' if not inside one segment."""
        for seg in self.segments:
            if seg.paddr <= address and address + size <= seg.paddr + len(seg.data):
                off = address - seg.paddr
                return seg.data[off:off + size]
        return b""

    def event_range(self) -> tuple[int, int] | None:
        """(base address, number of events) of the harness's ``tb_mark`` loads, or None for
        firmware without the harness (tb_harness.h: the load reads __tb_ram_start + event)."""
        base, count = self.symbols.get("__tb_ram_start"), self.symbols.get("tb_event_count")
        if base is None or count is None or "tb_mark" not in self.symbols:
            return None
        return base, int.from_bytes(self.read(count, 4), "little")

    def function_at(self, address: int) -> str | None:
        """Name of the function containing ``address`` (the nearest preceding function when
        sizes are unknown), or None."""
        address &= ~1
        if len(self._starts) != len(self.functions):
            self._starts = [f[0] for f in self.functions]
        i = bisect.bisect_right(self._starts, address) - 1
        if i < 0:
            return None
        start, size, name = self.functions[i]
        if size and address >= start + size:
            return None
        return name

    def describe_address(self, address: int) -> str:
        fn = self.function_at(address)
        if fn is None:
            return f"0x{address:08x}"
        start = next(f[0] for f in self.functions if f[2] == fn)
        return f"0x{address:08x} ({fn}+0x{(address & ~1) - start:x})"

    @property
    def board_name(self) -> str | None:
        return self.meta.get("board")

    @property
    def target_name(self) -> str | None:
        return self.meta.get("target")
