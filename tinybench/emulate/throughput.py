"""Instructions per second of the iss and qemu backends, side by side, on one workload.

    python -m tinybench.emulate.throughput [--target stm32f746] [--steps 3] [--repeat 3]
    python -m tinybench.emulate.throughput --elf work/train_step.elf --target stm32f746

The workload is firmware/tests/tb_test_work.c (an int8 matrix-vector loop, about 44 M
instructions per step), built once for the target's QEMU board so that both emulators run
the same ELF (``--elf`` measures any ELF built for the QEMU board instead, e.g. the
firmware ``tinybench run --emulator qemu`` leaves in its work directory). For each backend the best of ``repeat`` runs is reported, twice: emulation time
only (``wall_time_s`` of the result: QEMU's process lifetime, the ISS's emu_start) and the
whole ``run()`` call (ELF loading, plugin/hook set-up, parsing). This is a measurement, not a
test; numbers vary by about 15% from run to run on a shared machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tinybench.codegen.build import build_test_firmware
from tinybench.emulate.base import get_backend

CONFIGS = (
    ("qemu", {}),
    ("iss", {"dwt": "fast"}),
    ("iss", {"dwt": "exact"}),
    ("iss", {"dwt": "off"}),
)


def measure_throughput(target: str = "stm32f746", steps: int = 3, repeat: int = 3,
                       configs=CONFIGS, elf: Path | None = None) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="tb-throughput-") as tmp:
        if elf is None:
            elf = build_test_firmware("work", target, "qemu", out_dir=Path(tmp),
                                      harness_defines={"TB_STEPS": steps}).elf
        rows = []
        for name, options in configs:
            backend = get_backend(name, **options)
            ok, why = backend.available()
            label = name + "".join(f" {k}={v}" for k, v in options.items())
            if not ok:
                rows.append({"backend": label, "available": False, "reason": why})
                continue
            backend.run(elf, target)  # warm-up: plugin build, Numba compilation
            best_emu = best_total = float("inf")
            result = None
            for _ in range(repeat):
                t0 = time.perf_counter()
                result = backend.run(elf, target, instruction_budget=10**11,
                                     timeout_s=600)
                best_total = min(best_total, time.perf_counter() - t0)
                best_emu = min(best_emu, result.wall_time_s)
            n = result.instructions
            rows.append({
                "backend": label, "available": True, "status": result.status,
                "instructions": n, "exact": result.instructions_exact,
                "emulation_s": best_emu, "total_s": best_total,
                "mips_emulation": n / best_emu / 1e6 if n else None,
                "mips_total": n / best_total / 1e6 if n else None,
                "version": backend.version(),
            })
        return rows


def format_rows(rows: list[dict]) -> str:
    out = [f"{'backend':<16} {'instructions':>13} {'emul. s':>8} {'M insn/s':>9} "
           f"{'total s':>8} {'M insn/s':>9}"]
    for r in rows:
        if not r["available"]:
            out.append(f"{r['backend']:<16} unavailable: {r['reason']}")
            continue
        out.append(f"{r['backend']:<16} {r['instructions']:>13,} {r['emulation_s']:>8.3f} "
                   f"{r['mips_emulation']:>9.1f} {r['total_s']:>8.3f} {r['mips_total']:>9.1f}"
                   + ("" if r["status"] == "ok" else f"  status={r['status']}"))
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="stm32f746")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--elf", type=Path, help="measure this ELF instead of tb_test_work.c")
    args = ap.parse_args(argv)
    rows = measure_throughput(args.target, args.steps, args.repeat, elf=args.elf)
    what = args.elf or f"tb_test_work.c, {args.steps} steps"
    print(f"workload: {what}, target {args.target}")
    print(format_rows(rows))
    counts = {r["instructions"] for r in rows
              if r.get("available") and r["backend"] in ("qemu", "iss dwt=off")}
    if len(counts) == 1:
        print("qemu and iss (dwt=off) counted the same number of instructions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
