"""External programs (compilers, emulators): asking who they are, and running them so that
none outlives tinybench."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Any, Iterator


def first_output_line(cmd: list[str], timeout_s: float = 30.0) -> str | None:
    """First line a command prints (stdout, else stderr), e.g. of ``tool --version``;
    None if it cannot be run, times out or prints nothing."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0].strip() if lines else None


@contextlib.contextmanager
def process_group(cmd: list[str], **popen_kwargs: Any) -> Iterator[subprocess.Popen]:
    """Start ``cmd`` in a process group of its own, and end the group when the block is
    left, however it is left: a result, an exception, Ctrl-C or SIGTERM (raised as an
    exception by the command line), so no emulator outlives the command that started it.
    Its own group also keeps a terminal's Ctrl-C from reaching it behind our back."""
    proc = subprocess.Popen(cmd, process_group=0, **popen_kwargs)
    try:
        yield proc
    finally:
        end_process_group(proc)


def kill_process_group(proc: subprocess.Popen) -> None:
    """SIGKILL the group of ``proc`` if it still runs, and reap it. A group whose leader was
    already reaped is left alone: its id may belong to someone else now."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def end_process_group(proc: subprocess.Popen) -> None:
    """:func:`kill_process_group`, then close its pipes."""
    kill_process_group(proc)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
