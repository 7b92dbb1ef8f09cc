"""Typed command-line options, each checked once, by argparse, under its own name.

A bad value ends the command before any work with ``tinybench run: error: argument
--timeout: must be a finite number of seconds > 0, got 'nan'`` (exit status 2). Each option
has one meaning on every backend: a timeout or an instruction budget is always a positive
limit (there is no "0 = unlimited").
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import Callable


def _number(text: str, kind: type) -> int | float:
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                         f"got {text!r}") from None


def integer_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer option in [low, high] (no upper bound if ``high`` is None)."""
    def parse(text: str) -> int:
        value = _number(text, int)
        if value < low or (high is not None and value > high):
            upper = f"{high:,}" if high is not None else "..."
            raise argparse.ArgumentTypeError(f"must be an integer in [{low:,}, {upper}], got {text!r}")
        return value
    parse.__name__ = "integer"
    return parse


def positive_real(what: str, high: float = math.inf) -> Callable[[str], float]:
    """A finite real option in (0, high]: ``nan``, ``inf``, 0 and negatives are refused."""
    def parse(text: str) -> float:
        value = _number(text, float)
        if not (math.isfinite(value) and 0 < value <= high):
            bound = f" and <= {high:g}" if math.isfinite(high) else ""
            raise argparse.ArgumentTypeError(f"must be {what} > 0{bound}, got {text!r}")
        return value
    parse.__name__ = "number"
    return parse


def writable_dir(text: str) -> Path:
    """A folder tinybench may write into: created if missing, then probed with a file."""
    path = Path(text)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except FileExistsError:
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a folder") from None
    except OSError as err:
        raise argparse.ArgumentTypeError(f"cannot write into {text!r}: {err.strerror or err}") from None
    return path
