"""Generate the C sources of one training step from its memory plan.

The output implements the harness contract (firmware/harness/tb_harness.h):
- frozen weights, biases and every requantization constant as ``const`` arrays (flash);
- trainable parameters (the trained weight channels, the updated biases) as initialised
  non-const arrays, so they sit in SRAM (.data) and the step updates them;
- one static arena of exactly the planned size;
- the schedule as straight-line kernel calls at the planned offsets, printed from the same
  call list the host executor runs (:mod:`tinybench.kernels.calls`), each op bracketed by
  TB_OP_BEGIN/TB_OP_END;
- the training sample and its label, and the CRC-32 of the trainable parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybench import __version__
from tinybench.kernels.calls import (Arg, Exponent, Global, KernelCall, LayerParams, Null, Param, Tensor,
                                     TRAINED_FIELDS, is_trained, layer_params, op_calls)
from tinybench.kernels.host import softmax_exp_table
from tinybench.plan.memory import MemoryPlan

_C_TYPES = {np.dtype(np.int8): "int8_t", np.dtype(np.int32): "int32_t", np.dtype(np.uint8): "uint8_t"}
_TENSOR_TYPES = {"int8": "int8_t", "int32": "int32_t", "bit": "uint8_t"}


@dataclass
class GeneratedSource:
    path: Path
    arena_bytes: int
    op_names: list[str]
    trainable: list[str]  # C names of the trained arrays, in checksum order


def _c_array(name: str, values: np.ndarray, const: bool) -> str:
    ctype = _C_TYPES[values.dtype]
    items = [_c_int(int(v)) for v in values.ravel()]
    lines = [", ".join(items[i:i + 16]) + "," for i in range(0, len(items), 16)]
    qualifier = "static const" if const else "static"
    return f"{qualifier} {ctype} {name}[{values.size}] = {{\n" + "\n".join(lines) + "\n};\n"


def _c_int(v: int) -> str:
    """A C literal of an int32 value (INT32_MIN has no literal of type int)."""
    return "(-2147483647 - 1)" if v == -(2**31) else str(v)


class _Writer:
    """Turns symbolic kernel arguments into C expressions."""

    def __init__(self, plan: MemoryPlan, params: dict[str, LayerParams]):
        self.plan = plan
        self.graph = plan.graph
        self.offsets = plan.offsets
        self.params = params
        self.index = {c.name: c.index for c in self.graph.model.convs}
        self.used: dict[str, tuple[np.ndarray, bool]] = {}  # C name -> (array, const)
        self.exponents: dict[str, str] = {}
        self.updated = {c.name for c in self.graph.model.convs if c.index in self.graph.scheme.updates}

    def param_name(self, layer: str, field: str) -> str:
        return f"L{self.index[layer]}_{field}"

    def arg(self, a: Arg) -> str:
        if isinstance(a, Tensor):
            t = self.graph.tensors[a.name]
            return f"({_TENSOR_TYPES[t.dtype]} *)(tb_arena + {self.offsets[a.name] + a.offset})"
        if isinstance(a, Param):
            values = self.params[a.layer].array(a.field)
            if values.size == 0:
                return "0"
            name = self.param_name(a.layer, a.field)
            self.used[name] = (values, not is_trained(self.graph, a))
            return name
        if isinstance(a, Exponent):
            return self.exponent(a.tensor)
        if isinstance(a, Global):
            return {"label": "tb_label", "exp_table": "tb_exp_table"}[a.name]
        if isinstance(a, Null):
            return "0"
        return _c_int(int(a))

    def exponent(self, tensor: str) -> str:
        if tensor not in self.exponents:
            self.exponents[tensor] = f"e{len(self.exponents)}"
        return self.exponents[tensor]

    def call(self, c: KernelCall) -> str:
        args = ", ".join(self.arg(a) for a in c.args)
        lhs = f"{self.exponent(c.returns_exponent_of)} = " if c.returns_exponent_of else "(void)"
        return f"{lhs}{c.kernel}({args});"


def generate(plan: MemoryPlan, image: np.ndarray, label: int, out_dir: Path, *, lr: float, qas: bool,
             name: str = "tb_model") -> GeneratedSource:
    """Write ``out_dir/<name>.c`` for ``plan``'s training step on one sample."""
    graph = plan.graph
    params = layer_params(graph, lr, qas)
    w = _Writer(plan, params)
    body: list[str] = []
    op_names = []
    for i, op in enumerate(graph.ops):
        op_names.append(op.name.replace(" ", "_"))
        body.append(f"    TB_OP_BEGIN({i});")
        body += [f"    {w.call(c)}" for c in op_calls(graph, op, params)]
        body.append(f"    TB_OP_END({i});")
    trainable = [w.param_name(layer, f) for layer in params if layer in w.updated for f in TRAINED_FIELDS
                 if params[layer].array(f).size]
    input_t = graph.model.input
    image = np.ascontiguousarray(image, dtype=np.int8).reshape(-1)
    if image.size != graph.tensors[input_t].nbytes:
        raise ValueError(f"sample has {image.size} values, the model input needs {graph.tensors[input_t].nbytes}")

    out = [
        f"/* Generated by tinybench {__version__}: {graph.model.name}, scheme {graph.scheme.scheme.label}, "
        f"schedule {graph.schedule.value}, planner {plan.planner}, lr {lr}, {'QAS' if qas else 'no QAS'}.",
        " * Do not edit: regenerate with `tinybench run`. */",
        "#include <stdint.h>",
        '#include "tb_harness.h"',
        '#include "tb_kernels.h"',
        "",
        f"TB_ARENA_DEFINE({plan.arena_bytes});",
        "",
    ]
    for cname, (values, const) in sorted(w.used.items(), key=lambda kv: (not kv[1][1], kv[0])):
        out.append(_c_array(cname, values, const))
    out.append(_c_array("tb_sample", image, True))
    out.append(_c_array("tb_exp_table", softmax_exp_table(graph.model.classifier.y.scale), True))
    out.append(f"static const int32_t tb_label = {int(label)};\n")
    out.append("const char *const tb_op_names[] = {\n" + ",\n".join(f'    "{n}"' for n in op_names) + "\n};")
    out.append(f"const uint32_t tb_op_count = {len(op_names)};\n")
    out.append("void tb_model_init(void)\n{\n}\n")
    exps = "".join(f"    int32_t {e} = 0;\n" for e in w.exponents.values())
    off = plan.offsets[input_t]
    out.append("void tb_train_step(tb_profile_t *prof)\n{\n" + exps +
               "    uint32_t i;\n    (void)prof;\n"
               f"    for (i = 0; i < {image.size}u; i++) {{\n"
               f"        tb_arena[{off} + i] = (uint8_t)tb_sample[i];\n    }}\n" +
               "\n".join(body) + "\n" +
               "".join(f"    (void){e};\n" for e in w.exponents.values()) + "}\n")
    crc = "".join(f"    c = tb_crc32(c, {n}, sizeof {n});\n" for n in trainable)
    out.append("uint32_t tb_param_checksum(void)\n{\n    uint32_t c = 0;\n" + crc + "    return c;\n}\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.c"
    path.write_text("\n".join(out))
    return GeneratedSource(path, plan.arena_bytes, op_names, trainable)
