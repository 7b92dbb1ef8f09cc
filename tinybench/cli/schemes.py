"""List the update schemes: the 15 published ones and the built-in kinds."""

from __future__ import annotations

import argparse

from tinybench.cli.output import format_table, print_json
from tinybench.graph.schemes import published_schemes


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    rows = [{"scheme": s.label, "n_bias_update": s.n_bias_update, "manual_weight_idx": list(s.manual_weight_idx),
             "weight_update_ratio": list(s.weight_update_ratio)} for s in published_schemes()]
    builtin = ["full", "bias-only", "last-K", "PATH.toml"]
    if args.json:
        print_json({"published": rows, "builtin": builtin})
        return 0
    print(format_table(["scheme", "n_bias_update", "manual_weight_idx", "weight_update_ratio"],
                       [[r["scheme"], r["n_bias_update"], " ".join(map(str, r["manual_weight_idx"])),
                         " ".join(f"{x:g}" for x in r["weight_update_ratio"])] for r in rows]))
    print(f"\nbuilt-in: {', '.join(builtin)} (see docs/design.md)")
    return 0
