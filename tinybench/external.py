"""Asking external programs (compilers, emulators) who they are."""

from __future__ import annotations

import subprocess


def first_output_line(cmd: list[str], timeout_s: float = 30.0) -> str | None:
    """First line a command prints (stdout, else stderr), e.g. of ``tool --version``;
    None if it cannot be run, times out or prints nothing."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0].strip() if lines else None
