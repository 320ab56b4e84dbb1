"""`fbsdetect completion bash|zsh`: prints a shell completion script.

`eval "$(fbsdetect completion bash)"` in ~/.bashrc (zsh: the same with `zsh`
in ~/.zshrc) completes subcommands, their actions (`registry import`, `db
upgrade`, ...), options, and the values of options and positionals that have
a fixed set (`--format`, `--profile`, `--min-severity`, ...); anything else
completes as a file name.

The script is generated from the argparse parser itself (`main.build_parser`),
walked here, so that it cannot drift from the options the commands take.
Written by hand rather than with shtab (a good library for this): it needs
no dependency in the package or in `scripts/setup`'s install, and what it
generates is small enough to read. zsh runs the same function through its
bash-compatible completion (`bashcompinit`), shipped with zsh.
"""

from __future__ import annotations

import argparse
import re
import sys

from fbsdetect.i18n import _, lazy

NAME = "completion"
HELP = lazy("print a shell completion script (bash or zsh) to source in the shell's startup file")

PROG = "fbsdetect"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=("bash", "zsh"), help=_("the shell the script is for"))


def run(args: argparse.Namespace) -> int:
    from fbsdetect.cli.main import build_parser

    sys.stdout.write(script(build_parser(), args.shell))
    return 0


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            return dict(a.choices)
    return {}


def _options(p: argparse.ArgumentParser) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """(every option string, {option taking a value with a fixed set: its values},
    the values of the positionals with a fixed set)."""
    opts: list[str] = []
    values: dict[str, list[str]] = {}
    positional: list[str] = []
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            continue
        choices = [str(c) for c in a.choices] if a.choices is not None else None
        if a.option_strings:
            opts += [o for o in a.option_strings if o.startswith("--") or len(a.option_strings) == 1]
            if choices:
                for o in a.option_strings:
                    values[o] = choices
        elif choices:
            positional += choices
    return opts, values, positional


def _profiles() -> list[str]:
    """The scan profiles found by name (values of --profile): the .toml files of
    the profile directories that are not scenes."""
    from fbsdetect.scan.profile import scanners_dirs

    names = []
    for d in scanners_dirs():
        for f in sorted(d.glob("*.toml")) if d.is_dir() else []:
            try:
                head = f.read_text(encoding="utf-8", errors="replace")[:8192]
            except OSError:
                continue
            if not re.search(r"(?m)^\[scene\]", head):
                names.append(f.stem)
    return names


_SAFE = re.compile(r"^[A-Za-z0-9_.:,+/=-]+$")


def _words(ws: list[str]) -> str:
    out = [w for w in ws if _SAFE.match(w)]
    return " ".join(dict.fromkeys(out))


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for `shell` ("bash" or "zsh") of `parser`'s commands."""
    profiles = _profiles()
    cases: list[str] = []
    value_cases: list[str] = []

    def walk(p: argparse.ArgumentParser, path: str) -> None:
        subs = _subparsers(p)
        opts, values, positional = _options(p)
        if profiles and "--profile" in opts:
            values.setdefault("--profile", profiles)
        plain = _words([*subs, *positional])
        cases.append(f'        "{path}") words="{_words([*subs, *positional, *opts])}" plain="{plain}" ;;')
        for o, vs in values.items():
            reply = f'COMPREPLY=($(compgen -W "{_words(vs)}" -- "$cur")); return'
            value_cases.append(f'        "{path}|{o}") {reply} ;;')
        for name, sp in subs.items():
            walk(sp, f"{path} {name}".strip())

    walk(parser, "")
    flags = (argparse._HelpAction, argparse._VersionAction)
    takes_value = sorted({o for a in _all_actions(parser) for o in a.option_strings
                          if a.nargs != 0 and not isinstance(a, flags)})
    nl = "\n"
    func = f"""_{PROG}() {{
    local cur prev path="" i w words="" plain=""
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    # the command path so far (subcommand, then its action), skipping options and their values
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        case "$w" in
            {"|".join(takes_value) or "--"}) ((i++)) ;;
            -*) ;;
            *) case " $(_{PROG}_sub "$path") " in *" $w "*) path="${{path:+$path }}$w" ;; esac ;;
        esac
    done
    case "$path|$prev" in
{nl.join(value_cases)}
    esac
    case "$path" in
{nl.join(cases)}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    elif [ -n "$(_{PROG}_sub "$path")" ]; then  # a subcommand or action to choose
        COMPREPLY=($(compgen -W "$plain" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$plain" -- "$cur") $(compgen -f -- "$cur"))
    fi
}}
_{PROG}_sub() {{
    case "$1" in
{nl.join(_sub_cases(parser, ""))}
    esac
}}
complete -o default -F _{PROG} {PROG}
"""
    head = f"# {shell} completion for {PROG}, generated by `{PROG} completion {shell}` from its parser.\n" \
           f"# Install: eval \"$({PROG} completion {shell})\" in ~/.{shell}rc\n"
    if shell == "zsh":  # zsh's own bash-compatible completion runs the same function
        head = (f"#compdef {PROG}\n" + head
                + "(( $+functions[compdef] )) || { autoload -U +X compinit && compinit; }\n"
                "autoload -U +X bashcompinit && bashcompinit\n")
    return head + func


def _all_actions(p: argparse.ArgumentParser) -> list[argparse.Action]:
    out = list(p._actions)
    for sp in _subparsers(p).values():
        out += _all_actions(sp)
    return out


def _sub_cases(p: argparse.ArgumentParser, path: str) -> list[str]:
    subs = _subparsers(p)
    if not subs:
        return []
    out = [f'        "{path}") echo "{_words(list(subs))}" ;;']
    for name, sp in subs.items():
        out += _sub_cases(sp, f"{path} {name}".strip())
    return out
