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
    digest = None
    root = logging.getLogger()
    if args.debug:
        logging.basicConfig(
            level=logging.DEBUG, format="posture: %(levelname)s: %(message)s", stream=sys.stderr
        )
    else:
        digest = WarningDigest()
        root.addHandler(digest)
        root.setLevel(logging.WARNING)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return _run(args)
    finally:
        if digest is not None:
            root.removeHandler(digest)
            if getattr(args, "view", None) != "quiet":
                for line in digest.lines():
                    sys.stderr.write(line + "\n")


def _run(args: argparse.Namespace) -> int:
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


class WarningDigest(logging.Handler):
    """Warnings logged while a command runs, one line per cause with a count, printed when it
    ends. The cause is the record's format string: a library that logs the same problem for
    300 hosts (urllib3 puts the whole peer certificate in its hostname-mismatch warning) gives
    one short line, not 300 long ones. ``--debug`` prints every record as it happens."""

    MAX_ARGUMENT = 60
    MAX_LINE = 200

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.causes: dict[tuple[str, str], tuple[int, logging.LogRecord]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = (record.name, str(record.msg))
        count, first = self.causes.get(key, (0, record))
        self.causes[key] = (count + 1, first)

    def lines(self) -> list[str]:
        out = []
        for count, record in self.causes.values():
            text = _short(record, self.MAX_ARGUMENT)
            if len(text) > self.MAX_LINE:
                text = text[: self.MAX_LINE - 1] + "…"
            times = f" ({count} times; each with --debug)" if count > 1 else ""
            level = "error" if record.levelno >= logging.ERROR else "warning"
            out.append(f"posture: {level}: {text}{times}")
        return out


def _short(record: logging.LogRecord, longest: int) -> str:
    """The first sentence of the message, each argument cut to ``longest`` characters."""
    template = str(record.msg)
    args = record.args if isinstance(record.args, tuple) else ()
    shown = []
    for arg in args:
        value = str(arg).replace("\n", " ")
        shown.append(value if len(value) <= longest else value[: longest - 1] + "…")
    try:
        text = template % tuple(shown) if shown else record.getMessage()
    except (TypeError, ValueError):
        text = record.getMessage()
    first = text.split("\n", 1)[0]
    # "...hostname: shop.example. Certificate: {...}": the details come after the first sentence
    head, sep, _ = first.partition(". ")
    return head + ("." if sep else "")
