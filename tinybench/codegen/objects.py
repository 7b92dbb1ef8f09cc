"""Compile C sources to object files through a cache, so identical firmware is compiled once.

A benchmark matrix builds one firmware per cell, and every one of them compiles the same 20-odd
kernel, board-support and harness files with the same flags: 2.6 s of the 4.4 s a cell's build
takes on stm32f746 (the generated model, 1.2 s, differs per cell but repeats across runs). An
object is stored under a key that names everything the compiler's output depends on:

- the compiler's version line and every flag of that source (defines, includes, optimisation,
  CPU; a program's own knobs, such as the harness's step count, go to the files that read them);
- the source's bytes;
- the bytes of every header it could include: all ``*.h`` under the ``-I`` folders and beside
  the source (a coarse over-approximation of its includes, so an edited header always misses).

The cache folder is :func:`tinybench.paths.cache_dir` ``("objects")``; a write goes to a
temporary file renamed into place, so workers of a matrix compiling the same object at once
never see a partial one. The compiler's warnings are kept beside the object and replayed on a
hit. When the folder grows past :data:`CACHE_LIMIT_BYTES` the least recently used objects go.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from tinybench.paths import cache_dir

#: Size of the object cache after which the least recently used objects are removed.
CACHE_LIMIT_BYTES = 1 << 30


@dataclass(frozen=True)
class CompiledObject:
    path: Path
    warnings: str
    cached: bool  # True: taken from the cache, not compiled by this call


class CompileError(RuntimeError):
    def __init__(self, message: str, command: list[str], output: str):
        super().__init__(message)
        self.command = command
        self.output = output


def _header_digest(folders: Iterable[Path], recursive: Iterable[Path]) -> str:
    h = hashlib.sha256()
    files = {p for d in recursive for p in d.rglob("*.h")} | {p for d in folders for p in d.glob("*.h")}
    for path in sorted(files):
        h.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def object_key(source: Path, flags: Sequence[str], toolchain: str, include_dirs: Sequence[Path]) -> str:
    """The cache key of ``source`` compiled with ``flags`` by ``toolchain`` (its version line)."""
    h = hashlib.sha256()
    for part in (toolchain, "\0".join(flags), source.name, _header_digest([source.parent], include_dirs)):
        h.update(part.encode() + b"\0")
    h.update(source.read_bytes())
    return h.hexdigest()


def compile_objects(units: Sequence[tuple[Path, Sequence[str]]], exe: str, toolchain: str,
                    include_dirs: Sequence[Path], out_dir: Path, timeout_s: float) -> list[CompiledObject]:
    """One object per (source, flags), from the cache where it holds one, else compiled (and stored)."""
    store = cache_dir("objects")
    objects = []
    for index, (source, flags) in enumerate(units):
        local = out_dir / f"{index:02d}-{source.stem}.o"
        key = object_key(source, flags, toolchain, include_dirs)
        cached = store / key[:2] / f"{key}.o"
        if cached.is_file():
            os.utime(cached)  # recently used: kept by the pruning
            objects.append(CompiledObject(cached, _read_warnings(cached), True))
            continue
        warnings = _compile(source, local, exe, flags, timeout_s)
        _store(local, cached, warnings)
        objects.append(CompiledObject(cached, warnings, False))
    if any(not o.cached for o in objects):
        prune(store)
    return objects


def _compile(source: Path, obj: Path, exe: str, flags: Sequence[str], timeout_s: float) -> str:
    cmd = [exe, *flags, "-c", str(source), "-o", str(obj)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise CompileError(f"compiler timed out after {timeout_s} s on {source}", cmd, "") from None
    output = ((proc.stdout or "") + (proc.stderr or "")).strip()
    if proc.returncode != 0:
        raise CompileError(f"{source.name} does not compile:\n{output}", cmd, output)
    return output


def _read_warnings(obj: Path) -> str:
    notes = obj.with_suffix(".txt")
    return notes.read_text() if notes.is_file() else ""


def _store(local: Path, cached: Path, warnings: str) -> None:
    """Copy ``local`` into the cache atomically (another worker may be storing the same key)."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    for data, dest in ((warnings.encode(), cached.with_suffix(".txt")), (local.read_bytes(), cached)):
        fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    local.unlink()


def prune(store: Path, limit: int = CACHE_LIMIT_BYTES) -> None:
    """Remove the least recently used objects until the cache holds at most ``limit`` bytes."""
    objects = []
    for obj in store.glob("*/*.o"):
        try:
            st = obj.stat()
        except FileNotFoundError:  # removed by another worker's pruning
            continue
        objects.append((st.st_mtime, st.st_size, obj))
    total = sum(size for _, size, _ in objects)
    for _, size, obj in sorted(objects):
        if total <= limit:
            break
        obj.unlink(missing_ok=True)
        obj.with_suffix(".txt").unlink(missing_ok=True)
        total -= size
