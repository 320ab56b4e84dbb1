"""Issue 17: `fbsdetect --version`, `fbsdetect completion bash|zsh` and the
examples at the end of each main subcommand's `--help`.

The completion script is run by the shells themselves (bash always; zsh when
installed): the completions offered for a few typed lines are checked. Every
example of the `--help` texts is parsed by the real parser, so an example
naming an option that does not exist fails here."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fbsdetect import __version__
from fbsdetect.cli import SUBCOMMANDS
from fbsdetect.cli.main import EXAMPLES, build_parser, command_name, main

MAIN_COMMANDS = ("scan", "decode", "registry", "detections", "map", "export", "verify", "report", "hunt",
                 "calibrate", "doctor", "simulate", "node", "serve", "analyze", "completion")


def _fb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fbsdetect", *args], capture_output=True, text=True,
                          timeout=120)


def test_version() -> None:
    r = _fb("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"fbsdetect {__version__}", r


def test_bad_shell_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["completion", "fish"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "fish" in err


def _script(shell: str, tmp_path: Path) -> Path:
    r = _fb("completion", shell)
    assert r.returncode == 0, r.stderr
    p = tmp_path / f"fbsdetect.{shell}"
    p.write_text(r.stdout, encoding="utf-8")
    return p


# (what is typed so far, the last word being completed) -> words that must be offered, words that must not
CASES = [
    (["sc"], {"scan"}, {"decode"}),
    (["scan", "--pro"], {"--profile"}, {"--format"}),
    (["scan", "--profile", ""], {"cn", "eu"}, {"demo"}),  # demo.toml is a scene, not a profile
    (["--db", "x.db", "registry", "i"], {"import"}, {"stats"}),
    (["registry", "import", "--for"], {"--format"}, set()),
    (["export", "--format", ""], {"geojson", "kml", "csv", "gpx", "pcap", "evidence"}, set()),
    (["db", ""], {"upgrade", "current"}, {"--help"}),
    (["completion", ""], {"bash", "zsh"}, set()),
    (["detections", "--min-severity", "m"], {"medium"}, {"low"}),
]


def _complete(shell: str, script: Path, words: list[str]) -> set[str]:
    line = " ".join(shlex.quote(w) for w in ["fbsdetect", *words])
    body = (f"COMP_WORDS=({line}); COMP_CWORD={len(words)}; COMPREPLY=(); _fbsdetect; "
            'printf "%s\\n" "${COMPREPLY[@]}"')
    if shell == "bash":
        cmd = ["bash", "--norc", "--noprofile", "-c", f"source {shlex.quote(str(script))}; {body}"]
    else:  # zsh runs bash completion functions with 0-based arrays (bashcompinit's _bash_complete)
        cmd = ["zsh", "-f", "-c", f"source {shlex.quote(str(script))}; setopt ksharrays; {body}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=script.parent)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script_completes(shell: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    script = _script(shell, tmp_path)
    for words, must, must_not in CASES:
        got = _complete(shell, script, words)
        if shell == "zsh":  # zsh's compgen emulation leaves prefix matching to zsh itself
            got = {w for w in got if w.startswith(words[-1])}
        assert must <= got, (words, got)
        assert not must_not & got, (words, got)


def test_zsh_script_registers_with_compdef(tmp_path: Path) -> None:
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    script = _script("zsh", tmp_path)
    assert script.read_text(encoding="utf-8").startswith("#compdef fbsdetect\n")
    cmd = f"source {shlex.quote(str(script))}; print -r -- $_comps[fbsdetect]"
    r = subprocess.run(["zsh", "-f", "-c", cmd], capture_output=True, text=True, timeout=60,
                       env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0 and "_fbsdetect" in r.stdout, (r.stdout, r.stderr)


def test_the_script_knows_every_subcommand_and_its_options(tmp_path: Path) -> None:
    text = _script("bash", tmp_path).read_text(encoding="utf-8")
    for mod in SUBCOMMANDS:
        name = command_name(mod)
        m = re.search(rf'^\s+"{re.escape(name)}"\) words="([^"]*)"', text, re.M)
        assert m, name
        sub = build_parser(mod)._subparsers._group_actions[0].choices[name]  # type: ignore[union-attr]
        longs = {o for a in sub._actions for o in a.option_strings if o.startswith("--")}
        assert longs <= set(m.group(1).split()), (name, longs - set(m.group(1).split()))


@pytest.mark.parametrize("name", MAIN_COMMANDS)
def test_help_ends_with_examples_that_parse(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    mod = name.replace("-", "_")
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "\nexamples:\n" in out, out[-500:]
    tail = out.split("\nexamples:\n", 1)[1]
    for _comment, command in EXAMPLES[name]:
        assert command in tail  # kept as typed (raw formatting, not re-wrapped)
        for part in re.split(r"\s*(?:\||&&)\s*", command.replace('eval "$(', "").replace(')"', "")):
            argv = shlex.split(part)
            if not argv or argv[0] != "fbsdetect":
                continue
            parser = build_parser(mod if argv[1] == name else None)
            parser.parse_args(argv[1:])  # an unknown option or a bad value exits 2 here


def test_main_help_points_to_examples_and_completion(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "completion" in out and "--version" in out
