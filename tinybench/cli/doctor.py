"""Say which toolchains and emulator backends are present, with versions, and how to install the rest."""

from __future__ import annotations

import argparse

from tinybench.cli.output import print_json
from tinybench.emulate.doctor import doctor_report, format_report


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    report = doctor_report()
    if args.json:
        print_json({"components": report})
    else:
        print(format_report(report))
    return 0
