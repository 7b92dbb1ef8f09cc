"""The ``tinybench`` command: one module per subcommand, each with ``add_parser`` and ``run``.

Every subcommand that reports numbers accepts ``--json`` and then prints one JSON object.
Errors a user can fix (bad model file, invalid scheme, unknown name) print one clear line on
stderr and exit with status 2; a failed run of firmware exits with status 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Subcommand name -> module in this package.
COMMANDS = {
    "models": "models",
    "schemes": "schemes",
    "estimate": "estimate",
    "paper": "paper",
    "train": "train",
    "run": "run",
    "doctor": "doctor",
}


class UserError(Exception):
    """An error caused by the user's input; printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinybench",
        description="Benchmark on-device training of int8 CNNs on microcontrollers: "
        "compile a training step, plan its memory, run it in emulators.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        mod = importlib.import_module(f"tinybench.cli.{module}")
        p = sub.add_parser(name, help=mod.__doc__.strip().splitlines()[0], description=mod.__doc__)
        mod.add_parser(p)
        p.set_defaults(handler=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from tinybench.graph.schemes import SchemeError
    from tinybench.models.builder import ModelSpecError
    from tinybench.models.container import ModelFormatError
    from tinybench.models.zoo import UnknownModelError

    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (UserError, SchemeError, ModelFormatError, UnknownModelError, ModelSpecError, ValueError) as err:
        print(f"tinybench {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
