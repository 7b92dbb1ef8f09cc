"""Build the firmware of one training step: generated model code + C kernels + harness + BSP."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinybench.codegen.build import BuildResult, build_firmware, firmware_dir
from tinybench.codegen.generate import GeneratedSource, generate
from tinybench.codegen.targets import Board, Target
from tinybench.plan.memory import MemoryPlan


def kernel_sources() -> list[Path]:
    return sorted((firmware_dir() / "kernels" / "src").rglob("*.c"))


def kernel_include_dirs() -> list[Path]:
    return [firmware_dir() / "kernels" / "include"]


def build_training_firmware(plan: MemoryPlan, image: np.ndarray, label: int, target: Target | str,
                            board: Board | str | None, out_dir: Path, *, steps: int, lr: float, qas: bool,
                            opt: str = "-O2") -> tuple[GeneratedSource, BuildResult]:
    """Generate and build; raises FirmwareTooLarge (needed vs available) if it does not fit."""
    source = generate(plan, image, label, out_dir, lr=lr, qas=qas)
    build = build_firmware([source.path, *kernel_sources()], target, board, out_dir=out_dir, name="train_step",
                           include_dirs=kernel_include_dirs(),
                           defines={"TB_STEPS": steps, "TB_MAX_OPS": max(len(source.op_names), 1)}, opt=opt)
    return source, build
