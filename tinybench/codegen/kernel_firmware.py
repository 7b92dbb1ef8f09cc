"""Firmware that runs single kernel calls on embedded arguments and checks every byte.

    cases = [KernelCase("tb_pointwise_fwd_s8", args, expected_args, expected_return), ...]
    source = write_kernel_cases(cases, out_dir / "cases.c")
    build = build_kernel_cases(source, "fast", "stm32f746", "native", out_dir)
    ... run build.elf in an emulator; parse_case_report(uart) -> mismatches

Each case is one harness op (firmware/harness/tb_harness.h): before it, every array argument
is copied from its flash image into the arena (at the offset ``KernelCase.misalign`` bytes past a
4-byte boundary for int8/uint8 arrays, so unaligned rows get exercised), surrounded by guard
bytes; the op times the kernel call alone (DWT cycles in its ``TB:OP`` line); after it, every
array argument (outputs, in-place parameters and inputs alike), the guard bytes and the return
value are compared with the expected images, and each difference is printed as one line

    CASE:MISMATCH <case> <kernel> <argument|guard|return> index=<i> got=<v> want=<v>

(at most :data:`MAX_REPORTED` per case), then ``CASE:DONE <case> mismatches=<n>``. The harness
checksum is the total number of mismatches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybench.codegen.build import BuildResult, build_firmware
from tinybench.codegen.firmware import kernel_include_dirs, kernel_sources
from tinybench.codegen.generate import _c_array, _c_int
from tinybench.codegen.targets import Board, Target
from tinybench.kernels.host_c import Prototype, parse_header

MAX_REPORTED = 20
GUARD_BYTES = 8
GUARD_VALUE = 0xA5
_CTYPE_DTYPE = {"int8_t": np.int8, "uint8_t": np.uint8, "int32_t": np.int32}


@dataclass
class KernelCase:
    """One call: the arguments before it, the array arguments and the return value after it
    (from the reference), and where int8 arrays start relative to a word boundary."""

    kernel: str
    args: list
    expected: list
    returns: int | None
    misalign: int = 0


@dataclass(frozen=True)
class CaseMismatch:
    case: int
    kernel: str
    what: str
    index: int
    got: int
    want: int


@dataclass
class CaseReport:
    mismatches: list[CaseMismatch]
    done: dict[int, int]  # case -> number of mismatches it counted


def _arena_layout(case: KernelCase, proto: Prototype) -> tuple[dict[int, int], list[tuple[int, int]], int]:
    """Arena offset of each non-empty array argument, the guard gaps around them, the size."""
    offsets, gaps, end = {}, [], 0
    for j, (a, p) in enumerate(zip(case.args, proto.params)):
        if not p.pointer or a is None or a.size == 0:
            continue
        start = (end + GUARD_BYTES + 3) // 4 * 4
        if p.ctype != "int32_t":
            start += case.misalign % 4
        offsets[j] = start
        gaps.append((end, start))
        end = start + a.nbytes
    size = (end + GUARD_BYTES + 3) // 4 * 4
    gaps.append((end, size))
    return offsets, gaps, size


def write_kernel_cases(cases: list[KernelCase], path: Path) -> Path:
    """Write the C file that runs and checks ``cases``; returns its path."""
    protos = parse_header()
    decls: list[str] = []
    bodies: list[str] = []
    arena = 4
    for k, case in enumerate(cases):
        proto = protos[case.kernel]
        offsets, gaps, size = _arena_layout(case, proto)
        arena = max(arena, size)
        setup, call_args, checks = [f"    memset(tb_arena, {GUARD_VALUE}, {size});"], [], []
        for j, (a, p) in enumerate(zip(case.args, proto.params)):
            if not p.pointer:
                call_args.append(_c_int(int(a)))
                continue
            if j not in offsets:
                call_args.append("0")
                continue
            name = f"c{k}_a{j}"
            decls.append(_c_array(f"{name}_in", np.ascontiguousarray(a).ravel(), const=True))
            setup.append(f"    memcpy(tb_arena + {offsets[j]}, {name}_in, sizeof {name}_in);")
            call_args.append(f"({'const ' if p.const else ''}{p.ctype} *)(tb_arena + {offsets[j]})")
            want = np.ascontiguousarray(case.expected[j]).ravel()
            if np.array_equal(want, np.ascontiguousarray(a).ravel()):
                want_name = f"{name}_in"
            else:
                want_name = f"{name}_out"
                decls.append(_c_array(want_name, want, const=True))
            checks.append(f'    bad += tb_case_check_{p.ctype[:-2]}({k}, "{p.name}", '
                          f"(const {p.ctype} *)(tb_arena + {offsets[j]}), {want_name}, {want.size});")
        call = f"{case.kernel}({', '.join(call_args)})"
        ret = (f"    got = {call};\n" if proto.returns == "int32_t" else f"    {call};\n")
        ret_check = (f'    bad += tb_case_check_int32({k}, "return", &got, &want_ret, 1);\n'
                     if proto.returns == "int32_t" else "")
        bodies.append(
            f"/* case {k}: {case.kernel} */\nstatic void tb_case_{k}(void)\n{{\n"
            f"    int32_t got = 0, want_ret = {_c_int(case.returns or 0)};\n    uint32_t bad = 0;\n"
            f"    (void)got;\n    (void)want_ret;\n" + "\n".join(setup) + "\n"
            f"    TB_OP_BEGIN({k});\n{ret}    TB_OP_END({k});\n" + ret_check + "\n".join(checks) + "\n"
            + "".join(f"    bad += tb_case_check_guards({k}, {a}, {b});\n" for a, b in gaps)
            + f"    tb_case_done({k}, bad);\n}}\n")
    names = ",\n".join(f'    "{c.kernel}"' for c in cases)
    prelude = (_PRELUDE.replace("@ARENA@", str(arena)).replace("@MAX@", str(MAX_REPORTED))
               .replace("@GUARD@", str(GUARD_VALUE)))
    text = (prelude + "\n".join(decls)
            + f"\nconst char *const tb_op_names[] = {{\n{names}\n}};\nconst uint32_t tb_op_count = {len(cases)};\n"
            + "\n" + "\n".join(bodies)
            + "\nvoid tb_train_step(tb_profile_t *prof)\n{\n    (void)prof;\n"
            + "".join(f"    tb_case_{k}();\n" for k in range(len(cases))) + "}\n")
    path.write_text(text)
    return path


def build_kernel_cases(source: Path, kernels: str, target: Target | str, board: Board | str | None,
                       out_dir: Path, *, n_cases: int, opt: str = "-O2") -> BuildResult:
    """Build the case file with the kernel set ``kernels`` for one (target, board)."""
    return build_firmware([source, *kernel_sources(kernels)], target, board, out_dir=out_dir, name="kernel_cases",
                          include_dirs=kernel_include_dirs(), harness_defines={"TB_STEPS": 1, "TB_MAX_OPS": max(n_cases, 1)},
                          opt=opt)


_LINE = re.compile(r"CASE:MISMATCH (\d+) (\S+) (\S+) index=(\d+) got=(-?\d+) want=(-?\d+)")
_DONE = re.compile(r"CASE:DONE (\d+) mismatches=(\d+)")


def parse_case_report(uart: str) -> CaseReport:
    mismatches = [CaseMismatch(int(m[1]), m[2], m[3], int(m[4]), int(m[5]), int(m[6])) for m in _LINE.finditer(uart)]
    return CaseReport(mismatches, {int(m[1]): int(m[2]) for m in _DONE.finditer(uart)})


def expected_case(kernel: str, args: list, reference) -> KernelCase:
    """Run ``reference`` (a kernel set addressable by C name) on copies of ``args``."""
    after = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    ret = getattr(reference, kernel)(*after)
    return KernelCase(kernel, [a.copy() if isinstance(a, np.ndarray) else a for a in args], after,
                      None if ret is None else int(ret))


_PRELUDE = r"""/* Generated by tinybench.codegen.kernel_firmware: kernel cases checked byte by byte. */
/* Only the kernels' speed matters (they are built apart, with the build's flags): -O1 keeps
 * this long file of arrays and calls quick to compile. */
#pragma GCC optimize("O1")
#include <stdint.h>
#include "tb_harness.h"
#include "tb_kernels.h"

TB_ARENA_DEFINE(@ARENA@);

static uint32_t tb_case_total;

static void tb_case_report(int32_t k, const char *what, int32_t i, int32_t got, int32_t want)
{
    tb_puts("CASE:MISMATCH ");
    tb_put_i32(k);
    tb_puts(" ");
    tb_puts(tb_op_names[k]);
    tb_puts(" ");
    tb_puts(what);
    tb_puts(" index=");
    tb_put_i32(i);
    tb_puts(" got=");
    tb_put_i32(got);
    tb_puts(" want=");
    tb_put_i32(want);
    tb_newline();
}

#define TB_CASE_CHECK(suffix, type)                                                          \
    static uint32_t tb_case_check_##suffix(int32_t k, const char *what, const type *got,     \
                                           const type *want, int32_t n)                      \
    {                                                                                        \
        uint32_t bad = 0;                                                                    \
        int32_t i;                                                                           \
        for (i = 0; i < n; i++) {                                                            \
            if (got[i] != want[i]) {                                                         \
                if (bad < @MAX@u) {                                                          \
                    tb_case_report(k, what, i, (int32_t)got[i], (int32_t)want[i]);           \
                }                                                                            \
                bad++;                                                                       \
            }                                                                                \
        }                                                                                    \
        return bad;                                                                          \
    }
TB_CASE_CHECK(int8, int8_t)
TB_CASE_CHECK(uint8, uint8_t)
TB_CASE_CHECK(int32, int32_t)

/* Guard bytes [start, end) between the arguments, set by the memset before the copies: a
 * kernel writing outside its arrays changes one. */
static uint32_t tb_case_check_guards(int32_t k, int32_t start, int32_t end)
{
    uint32_t bad = 0;
    int32_t i;
    for (i = start; i < end; i++) {
        if (tb_arena[i] != @GUARD@u) {
            if (bad < @MAX@u) {
                tb_case_report(k, "guard", i, tb_arena[i], @GUARD@);
            }
            bad++;
        }
    }
    return bad;
}

static void tb_case_done(int32_t k, uint32_t bad)
{
    tb_puts("CASE:DONE ");
    tb_put_i32(k);
    tb_puts(" mismatches=");
    tb_put_u32(bad);
    tb_newline();
    tb_case_total += bad;
}

void tb_model_init(void) { tb_case_total = 0; }

uint32_t tb_param_checksum(void) { return tb_case_total; }

"""
