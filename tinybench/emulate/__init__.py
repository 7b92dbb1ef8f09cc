"""Emulator backends that run tinybench firmware: ``iss`` (in-process Unicorn/Capstone, the
default), ``qemu`` (qemu-system-arm with an instruction-counting TCG plugin) and ``renode``.

    from tinybench.emulate import get_backend
    result = get_backend("iss").run(build.elf, "stm32f746", instruction_budget=10**9)
    result.status, result.instructions, result.cycles, result.report.steps
"""

from tinybench.emulate.base import (
    BACKENDS,
    DEFAULT_INSTRUCTION_BUDGET,
    DEFAULT_TIMEOUT_S,
    STATUSES,
    Backend,
    RunResult,
    backend_names,
    get_backend,
    register_backend,
)
from tinybench.emulate.results import HarnessReport, param_checksum, parse_uart

# Importing the implementations registers them.
from tinybench.emulate import iss as _iss  # noqa: E402,F401
from tinybench.emulate import qemu as _qemu  # noqa: E402,F401
from tinybench.emulate import renode as _renode  # noqa: E402,F401

DEFAULT_BACKEND = "iss"

__all__ = [
    "BACKENDS", "DEFAULT_BACKEND", "DEFAULT_INSTRUCTION_BUDGET", "DEFAULT_TIMEOUT_S",
    "STATUSES", "Backend", "HarnessReport", "RunResult", "backend_names", "get_backend",
    "param_checksum", "parse_uart", "register_backend",
]
