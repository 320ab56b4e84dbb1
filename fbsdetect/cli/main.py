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


# `fbsdetect COMMAND --help` ends with these examples (comment, command line); the comments are
# translated, the command lines are typed as they are
EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "scan": (
        (i18n.N_("a drive with one dongle and gpsd, the Chinese profile"),
         "fbsdetect scan --source rtlsdr --profile cn --gps gpsd"),
        (i18n.N_("two dongles at once (by serial), the summary as JSON"),
         "fbsdetect scan --source rtlsdr:00000001 --source rtlsdr:00000002 --profile cn "
         "--summary-json s.json"),
        (i18n.N_("the bundled demo scene through the virtual dongle"),
         "fbsdetect scan --source sim:scanners/demo.toml --profile cn"),
        (i18n.N_("learn a known-clean area first (the baseline)"),
         "fbsdetect scan --source rtlsdr --profile cn --learn --duration-s 600"),
    ),
    "decode": (
        (i18n.N_("a recording from rtl_sdr"), "fbsdetect decode capture.cu8 --rate 2.4e6 --freq 954e6"),
        (i18n.N_("live from a dongle, 10 s"),
         "rtl_sdr -f 954e6 -s 2.4e6 - | fbsdetect decode - --rate 2.4e6 --freq 954e6"),
        (i18n.N_("every frame as JSON and into Wireshark's pcapng (identities pseudonymised)"),
         "fbsdetect decode capture.sigmf-meta --frames --pcap frames.pcapng"),
    ),
    "registry": (
        (i18n.N_("import an OpenCellID export (compressed is fine)"),
         "fbsdetect registry import cell_towers.csv.gz --mcc 460"),
        (i18n.N_("what is in the registry"), "fbsdetect registry stats"),
    ),
    "detections": (
        (i18n.N_("the suspects with every finding"), "fbsdetect detections"),
        (i18n.N_("medium and high only, as JSON lines"), "fbsdetect detections --min-severity medium --json"),
    ),
    "analyze": ((i18n.N_("re-run the current rules over everything stored"),
                 "fbsdetect analyze --profile cn"),),
    "map": (
        (i18n.N_("a map that needs no network"), "fbsdetect map -o map.html --offline"),
        (i18n.N_("one run's high suspects"), "fbsdetect map -o run3.html --run 3 --min-severity high"),
    ),
    "export": (
        (i18n.N_("the signed evidence package of detection 1, then check it"),
         "fbsdetect export --format evidence --detection 1 -o evidence-1.zip "
         "&& fbsdetect verify evidence-1.zip"),
        (i18n.N_("observations of a day as GeoJSON"),
         "fbsdetect export --format geojson --since 2026-03-01 --until 2026-03-02 -o day.geojson"),
        (i18n.N_("decoded frames for Wireshark"), "fbsdetect export --format pcap -o frames.pcapng"),
    ),
    "verify": (
        (i18n.N_("an evidence package"), "fbsdetect verify evidence-1.zip"),
        (i18n.N_("the database's audit log"), "fbsdetect verify --db sqlite:///fbsdetect.db"),
    ),
    "report": ((i18n.N_("the regulator's monthly report, with a PDF"),
                "fbsdetect report --month 2026-03 -o report/ --pdf"),),
    "hunt": ((i18n.N_("walk towards a suspect on ARFCN 90"),
              "fbsdetect hunt --source rtlsdr --arfcn 90 --gps gpsd"),),
    "calibrate": ((i18n.N_("measure the dongle's ppm on strong cells"),
                   "fbsdetect calibrate --source rtlsdr --profile cn"),),
    "doctor": ((i18n.N_("check the field setup before a drive"), "fbsdetect doctor --gps gpsd"),),
    "simulate": ((i18n.N_("render the demo scene into a SigMF recording"),
                  "fbsdetect simulate scanners/demo.toml -o out/sim"),),
    "node": ((i18n.N_("a fixed sensor node"), "fbsdetect node --config /etc/fbsdetect/node.toml"),),
    "serve": ((i18n.N_("the central server"), "fbsdetect serve --host 0.0.0.0 --port 8443 --workers 2"),),
    "completion": ((i18n.N_("complete fbsdetect's commands in bash (zsh: the same with zsh)"),
                    'eval "$(fbsdetect completion bash)"'),),
}


def examples(name: str) -> str | None:
    """The `--help` epilog of subcommand `name`: its examples, or None."""
    ex = EXAMPLES.get(name)
    if not ex:
        return None
    lines = [_("examples:")]
    for comment, command in ex:
        lines += [f"  # {_(comment)}", f"  {command}"]
    return "\n".join(lines)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only` (a module name of SUBCOMMANDS), that subcommand
    alone (the others are not imported)."""
    parser = _Parser(
        prog="fbsdetect",
        description=_("Find fake GSM base stations (IMSI catchers) with RTL-SDR dongles."),
        epilog=_("`fbsdetect COMMAND --help` shows a command's options with examples; "
                 "`fbsdetect completion bash` prints a shell completion script."),
        parents=[_common_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"fbsdetect {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for modname in SUBCOMMANDS if only is None else (only,):
        mod = _load(modname)
        sp = sub.add_parser(mod.NAME, help=str(mod.HELP), description=str(mod.HELP),
                            epilog=examples(mod.NAME), formatter_class=argparse.RawDescriptionHelpFormatter,
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
