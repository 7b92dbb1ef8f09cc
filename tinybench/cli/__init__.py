"""The ``tinybench`` command: one module per subcommand, each with ``add_parser`` and ``run``.

Every subcommand accepts ``--json`` and then prints exactly one JSON object on every exit,
with a ``status``: the command's own result (``ok``; for ``run`` also ``fault``, ``hang``,
...), or ``{"status": "error", "error": ...}`` for a user error, or ``"interrupted"``.

Exit status: 0 done; 1 the measured firmware failed (does not fit, faults, hangs, ...);
2 an error a user can fix (bad option, model file, scheme, unknown name: a TinybenchError,
printed as one line naming it); 130 Ctrl-C (SIGINT), 143 SIGTERM, both after ending the
emulators and removing the temporary files; 141 the reader of the output went away (a
closed pipe, as in ``tinybench schemes | head -1``), quietly, as Unix tools end. Any other
exception is a bug in tinybench and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from typing import Iterator, NoReturn

from tinybench.cli.output import print_json
from tinybench.errors import TinybenchError

#: Subcommand name -> module in this package.
COMMANDS = {
    "models": "models",
    "schemes": "schemes",
    "estimate": "estimate",
    "paper": "paper",
    "train": "train",
    "run": "run",
    "calibrate": "calibrate",
    "matrix": "matrix",
    "results": "results",
    "check": "check",
    "plot": "plot",
    "report": "report",
    "search": "search",
    "doctor": "doctor",
}

EXIT_FAILED, EXIT_USER_ERROR = 1, 2
EXIT_SIGINT, EXIT_SIGPIPE, EXIT_SIGTERM = 128 + signal.SIGINT, 128 + signal.SIGPIPE, 128 + signal.SIGTERM


class UsageError(TinybenchError):
    """A command line argparse cannot take: unknown command, missing or invalid option."""

    def __init__(self, prog: str, message: str):
        self.prog = prog
        super().__init__(message)


class Terminated(BaseException):
    """SIGTERM, raised where the program is, so that every ``finally`` (ending an emulator,
    removing a work folder) runs; a BaseException like KeyboardInterrupt, so that no
    ``except Exception`` swallows it."""


class _Parser(argparse.ArgumentParser):
    """Raises UsageError instead of printing usage and exiting, so that ``--json`` gets its
    JSON object for a bad option too."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`Terminated` (in the main thread only:
    that is where Python delivers signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> NoReturn:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop(prog: str, json_mode: bool, status: str, message: str) -> None:
    """Say why the command stopped: one line on stderr, and the JSON object if asked."""
    print(f"{prog}: {status}: {message}", file=sys.stderr)
    if json_mode:
        print_json({"status": status, "command": prog, "error": message})


def _discard_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null, so that the interpreter's final
    flush does not fail again with a second BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # stdout is not a file (a test's capture)
        pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in argv
    prog = "tinybench"
    try:
        with _sigterm_raises():
            try:
                args = build_parser().parse_args(argv)
                prog = f"tinybench {args.command}"
                code = int(args.handler(args) or 0)
            except UsageError as err:
                _stop(err.prog, json_mode, "error", str(err))
                code = EXIT_USER_ERROR
            except TinybenchError as err:
                _stop(prog, json_mode, "error", str(err))
                code = EXIT_USER_ERROR
            except KeyboardInterrupt:
                _stop(prog, json_mode, "interrupted", "stopped by Ctrl-C (SIGINT)")
                code = EXIT_SIGINT
            except Terminated:
                _stop(prog, json_mode, "interrupted", "stopped by SIGTERM")
                code = EXIT_SIGTERM
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_SIGPIPE
