"""Start-up of the command line: only the named subcommand's module is
imported; no CLI module imports numpy (or other heavy packages) at module
level; `fbsdetect --help` stays fast."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from fbsdetect.cli import SUBCOMMANDS
from fbsdetect.cli.main import build_parser, command_name, requested_command


def test_every_subcommand_name_follows_its_module() -> None:
    for m in SUBCOMMANDS:
        assert importlib.import_module(f"fbsdetect.cli.{m}").NAME == command_name(m), m


@pytest.mark.parametrize(("argv", "want"), [
    (["decode", "x.cu8"], "decode"),
    (["-v", "--db", "sqlite:///decode.db", "decode-bursts", "-"], "decode_bursts"),
    (["--db=sqlite:///x", "-q", "decode", "-h"], "decode"),
    (["--help"], None),
    (["--version"], None),
    ([], None),
    (["no-such-command"], None),
])
def test_requested_command(argv: list[str], want: str | None) -> None:
    assert requested_command(argv) == want


def test_one_subcommand_parser_and_the_full_one() -> None:
    p = build_parser("decode")
    args = p.parse_args(["decode", "x.cu8", "--rate", "1e6"])
    assert args.command == "decode" and args.rate == 1e6
    full = build_parser()
    assert full.parse_args(["decode-bursts", "-"]).command == "decode-bursts"


def test_cli_modules_import_nothing_heavy() -> None:
    code = ("import sys, importlib\n"
            "from fbsdetect.cli import SUBCOMMANDS\n"
            "from fbsdetect.cli.main import main\n"
            "for m in SUBCOMMANDS: importlib.import_module('fbsdetect.cli.' + m)\n"
            "heavy = [k for k in ('numpy', 'sqlalchemy', 'scipy', 'pycrate_core', 'sigmf', 'alembic')"
            " if k in sys.modules]\n"
            "print(','.join(heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "", f"imported at start-up: {out.strip()}"


def test_decode_help_imports_only_decode() -> None:
    code = ("import sys\n"
            "from fbsdetect.cli.main import main\n"
            "try:\n    main(['decode', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('fbsdetect.cli.')), file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "RECORDING" in r.stdout
    assert r.stderr.strip() == "['fbsdetect.cli._common', 'fbsdetect.cli.decode', 'fbsdetect.cli.main']" \
        or r.stderr.strip() == "['fbsdetect.cli.decode', 'fbsdetect.cli.main']"
