"""List the shipped models: convolutions, MACs, parameters, input shape."""

from __future__ import annotations

import argparse

from tinybench.cli.output import format_table, print_json
from tinybench.models.zoo import load_model, model_names


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    rows = []
    for name in model_names():
        m = load_model(name)
        rows.append({"model": name, "convs": len(m.convs), "macs": m.macs, "params": m.params,
                     "input_shape": list(m.input_shape), "classes": m.num_classes})
    if args.json:
        print_json({"models": rows})
    else:
        print(format_table(["model", "convs", "MACs", "params", "input (HWC)", "classes"],
                           [[r["model"], r["convs"], r["macs"], r["params"], "x".join(map(str, r["input_shape"])),
                             r["classes"]] for r in rows]))
    return 0
