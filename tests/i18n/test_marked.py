"""A source scan: every user-facing string of the covered files is marked for
translation (`_()`, `ngettext()`, `pgettext()`, `lazy()`, `N_()` from
`fbsdetect.i18n`), and every mark can be extracted.

What counts as user-facing (a string literal or f-string with at least one
word of two letters or more outside its placeholders, once the technical
tokens below are taken out):
- argparse texts: `help=`, `description=`, `epilog=` of `add_argument`,
  `add_parser`, `ArgumentParser`, and the title of `add_argument_group`;
- a CLI module's `HELP` (module level, so it must be `lazy()`);
- what the CLI writes for people: `sys.stdout.write`, `sys.stderr.write`,
  `print` in `fbsdetect/cli/` (JSON output is data and is not scanned: a call
  whose argument is a `json.dumps(...)` has no literal text of its own);
- error messages: the first argument of `BadUsage`, `BadInput`,
  `NotAvailable`, `FbsdetectError` (and every other class of
  `fbsdetect/errors.py`) and `argparse.ArgumentTypeError`;
- HTML text: the text between tags in string literals of the HTML writers
  (`<h2>Figures</h2>`, `>none<`);
- the rules' finding texts (`fbsdetect/detect/heuristics/`): an f-string
  with two words or more, or a literal with three, outside a mark (the rule's
  docstring and `title` are extracted from the module itself).
What is not: log messages (`log.debug/info/warning`, for developers; the
lead may decide otherwise), machine codes (rule ids, JSON keys, CSV machine
names, API error codes), and the allowlist below.

Every mark must be extractable: its argument is a plain string literal
(`_(f"...")` or `_("a" + b)` is a bug: that msgid is never in the catalog),
and no mark sits inside an f-string (Babel on Python 3.11 does not look into
f-strings: the text would stay English). `_(name)` of a variable is allowed:
it translates an `N_()`-marked or extracted text (rule titles).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The scope: every module of the package, except those listed here with the reason. A module with
# nothing user-facing (pure DSP, parsers, the store's models) needs no entry: it scans clean. An entry
# "not marked yet" is work left; `test_every_exclusion_is_still_needed` fails once such a module scans
# clean, so the list only shrinks.
EXCLUDED: dict[str, str] = {
    # runs under Debian's python3 with GNU Radio, without fbsdetect (no catalogs there); its --help is
    # for fbsdetect's own gr-gsm backend, which starts it, not for people
    "fbsdetect/grgsm/flowgraph.py": "runs without fbsdetect importable (Debian python3 + GNU Radio)",
    # a developer's training script for the SMS categoriser (python -m fbsdetect.sms.train)
    "fbsdetect/sms/train.py": "developer tool, not part of the product's interface",
    # not marked yet (error texts of options and input files: said once, exit 2); owner in /work/coord.md
    "fbsdetect/detect/registry_import.py": "not marked yet (registry file errors; registry helper's file)",
    # a GIS data file like the CSV exports: its folder names stay the same in every language
    "fbsdetect/export/kml.py": "GIS export (data, language-independent like the CSV files)",
}
COVERED = sorted(
    rel for rel in (str(p.relative_to(ROOT)) for p in (ROOT / "fbsdetect").rglob("*.py"))
    if rel not in EXCLUDED
)

MARKS = {"_", "gettext", "ngettext", "pgettext", "lazy", "N_"}
ERRORS = {"BadUsage", "BadInput", "NotAvailable", "FbsdetectError", "ArgumentTypeError", "RecordError"}
# the human `detail` of an API error (its second argument; the status code is the machine code)
HTTP_ERRORS = {"HTTPException"}
TEXT_KW = {"help", "description", "epilog"}
# technical tokens that stay as they are in every language (codes, units, names of programs and formats)
TOKENS = {
    "LAC",
    "CID",
    "ARFCN",
    "BSIC",
    "MCC",
    "MNC",
    "CGI",
    "UTC",
    "SMS",
    "LU",
    "dB",
    "dBm",
    "MB",
    "km",
    "ms",
    "fbsdetect",
    "evidence",
    "zip",
    "html",
    "csv",
    "pdf",
    "png",
    "id",
    "v",
    "ID",
    "TZ",
    "ISO",
    "SHA",
    # SI parameter names (3GPP TS 44.018), printed as the standard spells them
    "MS",
    "TXPWR",
    "MAX",
    "CCH",
    "CELL",
    "RESELECT",
    "HYSTERESIS",
    "RXLEV",
    "ACCESS",
    "MIN",
    "Leaflet",
    "OpenStreetMap",
    "json",
    "JSON",
    "br",
    "code",
    "px",
    "sans",
    "serif",
}
# (file, text) pairs that are not to be translated, with the reason
ALLOW = {
    # the --lang value itself is wrong: there is no language to say it in yet
    ("fbsdetect/cli/main.py", "fbsdetect: --lang:"),
    # a command line the reader types as it is
    ("fbsdetect/mapping/build.py", "fbsdetect export --format evidence --detection"),
    # style sheet and script text inside templates
    ("fbsdetect/report/monthly.py", "font:11px"),
    # a command line the reader types as it is
    ("fbsdetect/export/evidence.py", "fbsdetect verify PACKAGE.zip"),
    # the SVG's machine attributes
    ("fbsdetect/report/monthly.py", "xmlns"),
}

_WORD = re.compile(r"[A-Za-z][A-Za-z']+")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text) if w not in TOKENS]


def _literal_text(node: ast.AST) -> str | None:
    """The literal text of a str constant or an f-string (placeholders left out), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return " ".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    return None


def _name(f: ast.AST) -> str:
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f"{_name(f.value)}.{f.attr}"
    return ""


def _is_mark(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _name(node.func).split(".")[-1] in MARKS


def _unmarked_texts(node: ast.AST) -> list[str]:
    """Literal texts with words in expression `node`, outside marks (a mark's own argument is fine;
    `.format()` of a mark, concatenations and conditionals are looked into)."""
    if _is_mark(node):
        return []
    if isinstance(node, ast.Call):
        if _name(node.func).endswith("json.dumps") or _name(node.func) == "json.dumps":
            return []
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join", "upper", "strip"):
            out = _unmarked_texts(node.func.value)
            for a in node.args:
                out += _unmarked_texts(a)
            return out
        if _name(node.func) in ("str", "e", "html.escape", "escape"):
            return [t for a in node.args for t in _unmarked_texts(a)]
        return []
    if isinstance(node, ast.BinOp):
        return _unmarked_texts(node.left) + _unmarked_texts(node.right)
    if isinstance(node, ast.IfExp):
        return _unmarked_texts(node.body) + _unmarked_texts(node.orelse)
    if isinstance(node, ast.JoinedStr):
        out = []
        text = _literal_text(node) or ""
        if _words(text):
            out.append(text)
        return out
    text = _literal_text(node)
    return [text] if text is not None and _words(text) else []


def _html_texts(text: str) -> list[str]:
    """Text nodes of an HTML fragment with words in them."""
    return [t.strip() for t in re.findall(r">([^<>{}]+)<", text) if _words(t)]


def scan(path: Path, rel: str | None = None) -> list[str]:
    rel = rel or str(path.relative_to(ROOT))
    src = path.read_text(encoding="utf-8")
    tree = ast.parse(src)
    probs: list[str] = []
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }

    def bad(node: ast.AST, what: str, text: str) -> None:
        if any(r == rel and a in text for r, a in ALLOW):
            return
        probs.append(f"{rel}:{getattr(node, 'lineno', '?')}: {what} not marked: {text[:70]!r}")

    for node in ast.walk(tree):
        # marks must be extractable
        if _is_mark(node):
            assert isinstance(node, ast.Call)
            for a in node.args[:2]:
                if isinstance(a, ast.JoinedStr | ast.BinOp):
                    probs.append(
                        f"{rel}:{node.lineno}: {_name(node.func)}() of a computed text (never in the catalog)"
                    )
        if isinstance(node, ast.JoinedStr):
            for v in ast.walk(node):
                if (
                    v is not node
                    and _is_mark(v)
                    and isinstance(v, ast.Call)
                    and any(isinstance(a, ast.Constant) for a in v.args)
                ):
                    probs.append(f"{rel}:{v.lineno}: a mark inside an f-string (Babel cannot extract it)")
        if isinstance(node, ast.Assign) and node in tree.body and rel.startswith("fbsdetect/cli/"):
            if any(isinstance(t, ast.Name) and t.id == "HELP" for t in node.targets) and not _is_mark(
                node.value
            ):
                probs.append(f"{rel}:{node.lineno}: HELP must be lazy(...)")
        if not isinstance(node, ast.Call):
            continue
        fname = _name(node.func)
        last = fname.split(".")[-1]
        for kw in node.keywords:
            if kw.arg in TEXT_KW and last in ("add_argument", "add_parser", "ArgumentParser", "_Parser"):
                for t in _unmarked_texts(kw.value):
                    bad(node, f"{last}({kw.arg}=)", t)
        if last == "add_argument_group" and node.args:
            for t in _unmarked_texts(node.args[0]):
                bad(node, "argument group title", t)
        if last in ERRORS and node.args:
            for t in _unmarked_texts(node.args[0]):
                bad(node, f"{last} message", t)
        if last in HTTP_ERRORS:
            detail = node.args[1:2] + [kw.value for kw in node.keywords if kw.arg == "detail"]
            for a in detail:
                for t in _unmarked_texts(a):
                    bad(node, f"{last} detail", t)
        if rel.startswith("fbsdetect/cli/") and fname in ("sys.stdout.write", "sys.stderr.write", "print"):
            for a in node.args:
                for t in _unmarked_texts(a):
                    bad(node, fname, t)
    # finding texts of the rules: built sentences (f-strings with two words or more, literals with three)
    if rel.startswith("fbsdetect/detect/heuristics/"):
        skip = set(docstrings)
        for n in tree.body:  # `title` is extracted from the module itself (fbsdetect.i18n.extract)
            if isinstance(n, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "title" for t in n.targets
            ):
                skip.add(id(n.value))
        inside: set[int] = set()
        for node in ast.walk(tree):
            if _is_mark(node) or isinstance(node, ast.JoinedStr):
                inside.update(id(sub) for sub in ast.walk(node) if sub is not node)
        for node in ast.walk(tree):
            if id(node) in skip or id(node) in inside:
                continue
            if _is_mark(node):
                continue
            text = _literal_text(node)
            if text is None:
                continue
            # ids and keys ("arfcn-bsic-collision", "lu_reject_causes") have no spaces: not prose
            if " " in text.strip() and len(_words(text)) >= (2 if isinstance(node, ast.JoinedStr) else 3):
                bad(node, "finding text", text)
    # HTML text nodes in string literals outside marks
    marked: set[int] = set()
    for node in ast.walk(tree):
        if _is_mark(node):
            for sub in ast.walk(node):
                marked.add(id(sub))
    for node in ast.walk(tree):
        if id(node) in marked or id(node) in docstrings:
            continue
        text = _literal_text(node) if isinstance(node, ast.Constant) else None
        if text and _TAG.search(text):  # HTML (a tag), not SQL's or code's comparisons
            for t in _html_texts(text):
                bad(node, "HTML text", t)
    return probs


@pytest.mark.parametrize("rel", COVERED)
def test_user_facing_strings_are_marked(rel: str) -> None:
    probs = scan(ROOT / rel)
    assert not probs, "\n".join(probs)


def test_the_scan_finds_unmarked_strings(tmp_path: Path) -> None:
    """The scan fails on each kind it looks for (a scan that passes everything proves nothing)."""
    d = tmp_path / "_scan_probe.py"
    src = """
import argparse, sys, json
from fbsdetect.i18n import _, lazy
from fbsdetect.errors import BadUsage
HELP = "a plain help"
def configure(p):
    p.add_argument("--x", help="not marked help")
    p.add_argument("--y", help=_("translated help"))
    g = p.add_argument_group("Group title")
def run(args):
    sys.stderr.write(f"wrote {args.n} files\\n")
    sys.stdout.write(_("{n} done").format(n=1) + "\\n")
    sys.stdout.write(json.dumps({"key": "a value"}) + "\\n")
    sys.stdout.write(f"{args.path}\\n")
    raise BadUsage(f"bad value {args.x}")
def page():
    sql = "id >= %s AND id <= %s"
    return "<h2>Plain heading</h2>" + f"<p>{_('Inside an f-string')}</p>" + _(f"computed {1}") + sql
"""
    d.write_text(src)
    probs = "\n".join(scan(d, "fbsdetect/cli/_scan_probe.py"))
    assert len(scan(d, "fbsdetect/cli/_scan_probe.py")) >= 8
    for needle in (
        "HELP must be lazy",
        "not marked help",
        "Group title",
        "wrote",
        "bad value",
        "Plain heading",
        "inside an f-string",
        "computed text",
    ):
        assert needle in probs, (needle, probs)
    for fine in ("translated help", "done", "a value", "{args.path}", "AND id"):
        assert fine not in probs, (fine, probs)


def test_the_scan_finds_unmarked_api_and_record_errors(tmp_path: Path) -> None:
    d = tmp_path / "_probe_api.py"
    d.write_text(
        "from fastapi import HTTPException\n"
        "from fbsdetect.i18n import _\n"
        "def f(p, n):\n"
        '    raise HTTPException(403, f"role {p.role}: admin only")\n'
        "def g(n):\n"
        '    raise HTTPException(status_code=413, detail="body too large")\n'
        "def h(n):\n"
        '    raise HTTPException(404, _("no such detection"))\n'
        "def i(k):\n"
        '    raise RecordError(f"data.{k}: not a finite number")\n'
    )
    probs = "\n".join(scan(d, "fbsdetect/server/_probe_api.py"))
    for needle in ("admin only", "body too large", "not a finite number"):
        assert needle in probs, (needle, probs)
    assert "no such detection" not in probs, probs


def test_every_exclusion_is_still_needed() -> None:
    """An excluded module exists and still has unmarked texts (else it belongs in the scan)."""
    stale = [rel for rel in EXCLUDED if not (ROOT / rel).exists() or not scan(ROOT / rel)]
    assert not stale, f"scan these now (remove them from EXCLUDED): {stale}"


def test_the_scope_is_the_whole_package() -> None:
    assert "fbsdetect/server/app.py" in COVERED and "fbsdetect/cli/serve.py" in COVERED
    assert len(COVERED) + len(EXCLUDED) == len(list((ROOT / "fbsdetect").rglob("*.py")))


def test_the_scan_finds_unmarked_finding_texts(tmp_path: Path) -> None:
    d = tmp_path / "probe_rule.py"
    d.write_text(
        '"""A docstring is extracted, not scanned here."""\n'
        "from fbsdetect.i18n import _\n"
        'id = "probe-rule"\ntitle = "A title of several words"\n'
        "def check(cell, ctx):\n"
        '    a = f"ARFCN {cell.arfcn} is heard twice"\n'
        '    b = _("ARFCN {arfcn} is heard once").format(arfcn=1)\n'
        '    c = "a plain sentence here"\n'
        '    return {"lu_reject_causes": a + b + c}\n'
    )
    probs = "\n".join(scan(d, "fbsdetect/detect/heuristics/probe_rule.py"))
    assert "is heard twice" in probs and "a plain sentence here" in probs
    for fine in ("docstring", "A title", "heard once", "lu_reject_causes", "probe-rule"):
        assert fine not in probs, (fine, probs)
