"""Build the firmware of one training step: generated model code + C kernels + harness + BSP."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinybench.codegen.build import BuildResult, build_firmware, firmware_dir
from tinybench.codegen.generate import GeneratedSource, generate
from tinybench.codegen.targets import Board, Target, get_target
from tinybench.kernels import host_c
from tinybench.kernels.host_c import KERNEL_SETS
from tinybench.plan.memory import MemoryPlan

__all__ = ["KERNEL_SETS", "build_training_firmware", "default_kernels", "kernel_include_dirs", "kernel_sources"]


def default_kernels(target: Target | str) -> str:
    """``fast`` where the target's core has the DSP extension, else ``reference``."""
    return "fast" if get_target(target).cpu_spec.dsp else "reference"


def kernel_sources(kernels: str = "reference") -> list[Path]:
    """One C file per kernel of the set ``kernels`` (``reference``: firmware/kernels/src, the
    readable definition; ``fast``: firmware/kernels/fast, the same names and results for cores
    with the DSP extension, falling back to the reference file of a kernel it lacks)."""
    return host_c.sources(kernels, firmware_dir() / "kernels")


def kernel_include_dirs() -> list[Path]:
    return [firmware_dir() / "kernels" / "include"]


def build_training_firmware(plan: MemoryPlan, image: np.ndarray, label: int, target: Target | str,
                            board: Board | str | None, out_dir: Path, *, steps: int, lr: float, qas: bool,
                            opt: str = "-O2", kernels: str = "reference") -> tuple[GeneratedSource, BuildResult]:
    """Generate and build with the kernel set ``kernels``; raises FirmwareTooLarge (needed vs
    available) if it does not fit."""
    target = get_target(target)
    if kernels == "fast" and not target.cpu_spec.dsp:
        raise ValueError(f"the fast kernels need the DSP extension, which the {target.cpu} of {target.name} lacks")
    source = generate(plan, image, label, out_dir, lr=lr, qas=qas)
    build = build_firmware([source.path, *kernel_sources(kernels)], target, board, out_dir=out_dir, name="train_step",
                           include_dirs=kernel_include_dirs(),
                           harness_defines={"TB_STEPS": steps, "TB_MAX_OPS": max(len(source.op_names), 1)}, opt=opt)
    return source, build
