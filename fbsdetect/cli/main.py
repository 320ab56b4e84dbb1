"""Entry point of `fbsdetect`: builds the parser from the registered
subcommands, sets up logging, and turns errors into one line and an exit code
(0 success, 2 bad usage or input, 1 anything else; a traceback only with
`--debug`).

Start-up is kept short (a one-shot `decode` of a 10 s file takes well under a
second, of which Python's own start is a good part): when the command line
names a subcommand, only that subcommand's module is imported and configured
(its NAME is its module name with "-" for "_"); `fbsdetect --help`, no
subcommand or an unknown one builds the whole parser. CLI modules import
nothing heavy (numpy, SQLAlchemy, ...) at module level: that happens in
`run()`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from fbsdetect import __version__
from fbsdetect.cli import SUBCOMMANDS
from fbsdetect.errors import FbsdetectError

log = logging.getLogger("fbsdetect")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand name."""
    default = argparse.SUPPRESS if suppress else None
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("common options")
    g.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS if suppress else 0,
                   help="more log output on stderr (repeat for debug messages)")
    g.add_argument("-q", "--quiet", action="store_true",
                   default=argparse.SUPPRESS if suppress else False,
                   help="only errors on stderr")
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS if suppress else False,
                   help="show a traceback for unexpected errors")
    g.add_argument("--db", metavar="URL", default=default,
                   help="SQLAlchemy database URL (default: $FBSDETECT_DB or sqlite:///fbsdetect.db)")
    return p


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"fbsdetect.cli.{name}")


def command_name(modname: str) -> str:
    """The subcommand a module of SUBCOMMANDS provides (its NAME, by convention)."""
    return modname.replace("_", "-")


_VALUE_OPTIONS = ("--db",)  # common options that take a value


def requested_command(argv: Sequence[str]) -> str | None:
    """The module name of the subcommand `argv` names (its first positional
    token, skipping the common options), or None (none, unknown, or a help or
    version request before it)."""
    skip = False
    for tok in argv:
        if skip:
            skip = False
            continue
        if tok in _VALUE_OPTIONS:
            skip = True
            continue
        if tok in ("-h", "--help", "--version"):
            return None
        if tok.startswith("-"):
            continue
        return next((m for m in SUBCOMMANDS if command_name(m) == tok), None)
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only` (a module name of SUBCOMMANDS), that subcommand
    alone (the others are not imported)."""
    parser = _Parser(
        prog="fbsdetect",
        description="Find fake GSM base stations (IMSI catchers) with RTL-SDR dongles.",
        parents=[_common_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"fbsdetect {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for modname in SUBCOMMANDS if only is None else (only,):
        mod = _load(modname)
        sp = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP,
                            parents=[_common_options(suppress=True)])  # type: ignore[list-item]
        mod.configure(sp)
        sp.set_defaults(_run=mod.run)
    return parser


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(requested_command(args_in))
    args = parser.parse_args(args_in)
    _setup_logging(args.verbose, args.quiet)
    try:
        code = args._run(args)
        return int(code or 0)
    except FbsdetectError as exc:
        if args.debug:
            log.exception("error")
        sys.stderr.write(f"fbsdetect {args.command}: {exc.one_line()}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("fbsdetect: interrupted\n")
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. `| head`): not an error of ours.
        sys.stderr.close()
        return 0
    except Exception as exc:  # a bug or an unexpected I/O failure: one line, exit 1
        if args.debug:
            raise
        sys.stderr.write(f"fbsdetect {args.command}: internal error: {type(exc).__name__}: {exc}"
                         " (run with --debug for a traceback)\n")
        return 1
