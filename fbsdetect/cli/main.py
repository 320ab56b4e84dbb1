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

from fbsdetect import __version__, i18n
from fbsdetect.cli import SUBCOMMANDS
from fbsdetect.errors import FbsdetectError
from fbsdetect.i18n import _

log = logging.getLogger("fbsdetect")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(_("{prog}: error: {message} (see --help)").format(prog=self.prog, message=message)
                         + "\n")
        raise SystemExit(2)


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted both before and after the subcommand name."""
    default = argparse.SUPPRESS if suppress else None
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group(_("common options"))
    g.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS if suppress else 0,
                   help=_("more log output on stderr (repeat for debug messages)"))
    g.add_argument("-q", "--quiet", action="store_true",
                   default=argparse.SUPPRESS if suppress else False,
                   help=_("only errors on stderr"))
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS if suppress else False,
                   help=_("show a traceback for unexpected errors"))
    g.add_argument("--db", metavar="URL", default=default,
                   help=_("SQLAlchemy database URL (default: $FBSDETECT_DB or sqlite:///fbsdetect.db)"))
    g.add_argument("--lang", metavar="zh|en", default=default,
                   help=_("language of messages, maps and reports (default: $FBSDETECT_LANG, the config "
                          "file's lang, the locale, else English)"))
    return p


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"fbsdetect.cli.{name}")


def command_name(modname: str) -> str:
    """The subcommand a module of SUBCOMMANDS provides (its NAME, by convention)."""
    return modname.replace("_", "-")


_VALUE_OPTIONS = ("--db", "--lang")  # common options that take a value


def requested_language(argv: Sequence[str]) -> str | None:
    """The value of `--lang` anywhere on the command line (the last one), before parsing:
    the parser's own help texts are written in that language."""
    lang = None
    for i, tok in enumerate(argv):
        if tok == "--":
            break
        if tok == "--lang" and i + 1 < len(argv):
            lang = argv[i + 1]
        elif tok.startswith("--lang="):
            lang = tok.split("=", 1)[1]
    return lang


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
        description=_("Find fake GSM base stations (IMSI catchers) with RTL-SDR dongles."),
        parents=[_common_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"fbsdetect {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for modname in SUBCOMMANDS if only is None else (only,):
        mod = _load(modname)
        sp = sub.add_parser(mod.NAME, help=str(mod.HELP), description=str(mod.HELP),
                            parents=[_common_options(suppress=True)])  # type: ignore[list-item]
        mod.configure(sp)
        sp.set_defaults(_run=mod.run)
    return parser


# argparse's own texts (usage, section titles, its error messages) come from its gettext domain,
# which has no Chinese catalog: they are in ours, and argparse looks them up there
_ARGPARSE_TEXTS = (
    i18n.N_("usage: "), i18n.N_("positional arguments"), i18n.N_("options"),
    i18n.N_("show this help message and exit"), i18n.N_("show program's version number and exit"),
    i18n.N_("the following arguments are required: %s"), i18n.N_("unrecognized arguments: %s"),
    i18n.N_("invalid choice: %(value)r (choose from %(choices)s)"), i18n.N_("expected one argument"),
    i18n.N_("argument %(argument_name)s: %(message)s"), i18n.N_("invalid %(type)s value: %(value)r"),
    i18n.N_("not allowed with argument %s"), i18n.N_("ambiguous option: %(option)s could match %(matches)s"),
    i18n.N_("one of the arguments %s is required"), i18n.N_("expected at least one argument"),
)


def _translate_argparse() -> None:
    argparse._ = i18n.gettext  # type: ignore[attr-defined]
    argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else list(argv)
    try:
        lang = i18n.resolve_language(requested_language(args_in))
    except i18n.LanguageError as exc:
        sys.stderr.write(f"fbsdetect: --lang: {exc}\n")
        return 2
    _translate_argparse()
    # the process's language (the scan's threads see it too), restored after: main() is also called
    # in-process (tests, scripts)
    before = i18n.current()
    i18n.set_language(lang)
    try:
        return _main(args_in)
    finally:
        i18n.set_language(before)


def _main(args_in: list[str]) -> int:
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
        sys.stderr.write(_("fbsdetect: interrupted") + "\n")
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. `| head`): not an error of ours.
        sys.stderr.close()
        return 0
    except Exception as exc:  # a bug or an unexpected I/O failure: one line, exit 1
        if args.debug:
            raise
        sys.stderr.write(_("fbsdetect {command}: internal error: {kind}: {error} (run with --debug for a "
                           "traceback)").format(command=args.command, kind=type(exc).__name__, error=exc)
                         + "\n")
        return 1
