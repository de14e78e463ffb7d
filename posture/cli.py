"""Command line: parse, call the engine, render, exit code. Nothing else lives here.

Each subcommand is a module in ``posture.commands`` with ``register(subparsers)`` and
``run(args) -> int``. Those modules import only argparse-level things at top level, so
``posture --help`` stays fast; the work is imported inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Sequence

from posture import __version__
from posture.errors import PostureError

# Shown in this order in --help; any other module in posture.commands is added after them.
FIRST_COMMANDS = ("scan", "checks", "explain", "init", "demo")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"posture: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def command_names() -> list[str]:
    import pkgutil

    import posture.commands

    found = {m.name for m in pkgutil.iter_modules(posture.commands.__path__)}
    found = {name for name in found if not name.startswith("_")}
    return [n for n in FIRST_COMMANDS if n in found] + sorted(found - set(FIRST_COMMANDS))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="posture",
        description="Security posture scanner for online storefronts, mapped to GDPR and CCPA.",
        epilog="Exit codes: 0 nothing failing at or above --fail-on; 1 something is; "
        "2 usage or configuration error; 3 some target could not be assessed and nothing failed.",
    )
    parser.add_argument("--version", action="version", version=f"posture {__version__}")
    parser.add_argument("--debug", action="store_true", help="log details and show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in command_names():
        module = importlib.import_module(f"posture.commands.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.debug:
        # Library deprecation notices (cryptography on the CA store, ...) are not for users.
        warnings.simplefilter("ignore")
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="posture: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except PostureError as exc:
        if args.debug:
            raise
        from posture.sanitize import clean_text

        # one line, whatever a file or server put in the message
        sys.stderr.write(f"posture: error: {clean_text(str(exc))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("posture: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
