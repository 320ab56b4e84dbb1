"""The error contract: bad input is one line on stderr and exit 2; every
subcommand has --help; unbuilt subcommands say so and exit 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fbsdetect.cli import SUBCOMMANDS
from fbsdetect.cli.main import build_parser, main

NAMES = [s.replace("_", "-") for s in SUBCOMMANDS]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors and --help
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", NAMES)
def test_every_subcommand_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, name, "--help")
    assert code == 0
    assert "usage:" in out


def test_every_option_has_help_text() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, sp in sub.choices.items():  # type: ignore[union-attr]
        for action in sp._actions:
            if action.dest in ("help",):
                continue
            assert action.help, f"{name}: option {action.option_strings or action.dest} has no help"


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    p = tmp_path / "some.txt"
    p.write_text("this is not a recording\n")
    return p


# Subcommands that read a file, with the argv that names it.
FILE_COMMANDS = {
    "decode": ["decode", "{}"],
    "simulate": ["simulate", "{}", "-o", "OUT"],
    "decode-bursts": ["decode-bursts", "{}"],
    "registry": ["registry", "import", "{}"],
    "node": ["node", "--config", "{}"],
}


@pytest.mark.parametrize("name", sorted(FILE_COMMANDS))
def test_missing_file_is_exit_2_one_line(name: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nonexistent.cu8")
    argv = [a.replace("{}", missing).replace("OUT", str(tmp_path / "o")) for a in FILE_COMMANDS[name]]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and missing in err and "Traceback" not in err


def test_decode_text_file_is_exit_2(text_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "decode", str(text_file))
    assert code == 2
    assert err.count("\n") == 1 and "some.txt" in err


def test_decode_odd_byte_count_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "x.cu8"
    p.write_bytes(b"\x80" * 1001)
    code, _, err = run_cli(capsys, "decode", str(p), "--rate", "1e6", "--freq", "940e6")
    assert code == 2 and "not a whole number" in err and err.count("\n") == 1


def test_raw_without_rate_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "x.cu8"
    p.write_bytes(b"\x80" * 1000)
    code, _, err = run_cli(capsys, "decode", str(p))
    assert code == 2 and "--rate" in err


def test_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "decode")
    assert code == 2 and err.strip().count("\n") == 0


def test_console_entry_point_and_module_agree(text_file: Path) -> None:
    """`python -m fbsdetect` runs the same CLI, in a real subprocess, with no traceback."""
    r = subprocess.run([sys.executable, "-m", "fbsdetect", "decode", str(text_file)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.parametrize("argv", [
    ("export", "--format", "evidence", "--detection", "99999999999999999999", "-o", "x.zip"),
    ("export", "--format", "csv", "--run", "0", "-o", "x.csv"),
    ("handover", "99999999999999999999", "--to", "police"),
    ("map", "--run", "-3", "-o", "m.html"),
    ("analyze", "--run", "x"),
])
def test_an_id_out_of_range_is_a_usage_error(argv: tuple[str, ...], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Review (session 4) #6: an id beyond 64 bits reached the database driver and came back as an
    internal error (exit 1); it is a usage error, said in one line, before anything is opened."""
    monkeypatch.chdir(tmp_path)
    code, _out, err = run_cli(capsys, "--db", f"sqlite:///{tmp_path / 'x.db'}", *argv)
    assert code == 2 and "is not an id" in err and "Traceback" not in err
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("extra, said", [
    (("--duration-s", "nan"), "--duration-s"),
    (("--duration-s", "inf"), "--duration-s"),
    (("--summary-json", "/nonexistent-folder/x.json"), "does not exist"),
])
def test_scan_checks_its_arguments_before_scanning(extra: tuple[str, ...], said: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Review (session 4) #9: a --summary-json in a missing folder was found after the whole scan (and the
    summary lost, as an internal error); --duration-s nan was taken and ignored."""
    scene = Path(__file__).resolve().parents[1] / "corpus" / "sweep" / "small.toml"
    code, _out, err = run_cli(capsys, "scan", "--source", f"sim:{scene}", "--no-store", *extra)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1
