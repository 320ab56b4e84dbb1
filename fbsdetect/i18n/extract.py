"""Extraction and compilation of the message catalogs (Babel), for developers:

    python -m fbsdetect.i18n.extract update    # sources -> template -> merged into every .po
    python -m fbsdetect.i18n.extract compile   # every .po -> its .mo (shipped in the package)
    python -m fbsdetect.i18n.extract check     # exit 1 when a .po lacks a msgid or a translation,
                                               # or a .mo is older than its .po's content

What is extracted is said in `babel.cfg` at the repository root (also usable
as `pybabel extract -F babel.cfg -k lazy -k pgettext:1c,2 .`): the `_()`,
`ngettext()`, `pgettext()`, `N_()` and `lazy()` calls of the Python sources,
and in rule modules (`extract_rule`) also the module docstring (the rule's
explanation, as `inspect.cleandoc` gives it, i.e. exactly `Rule.explanation`)
and the string assigned to `title`.
"""

from __future__ import annotations

import ast
import inspect
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_python
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from fbsdetect.i18n import CATALOG_LOCALE, DOMAIN, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "babel.cfg"
KEYWORDS: dict[str, Any] = {**DEFAULT_KEYWORDS, "lazy": None}


def extract_rule(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                 options: Any) -> Iterator[tuple[Any, ...]]:
    """Babel extraction method of a rule module: its docstring and `title`, then its gettext calls."""
    data = fileobj.read()
    tree = ast.parse(data)
    names = {t.id for n in tree.body if isinstance(n, ast.Assign)
             for t in n.targets if isinstance(t, ast.Name)}
    is_rule = {"id", "title"} <= names and any(isinstance(n, ast.FunctionDef) and n.name == "check"
                                                for n in tree.body)
    doc = ast.get_docstring(tree, clean=False)
    if doc and is_rule:  # helper modules (_common.py) are no rules: their docstring is for developers
        yield 1, None, inspect.cleandoc(doc), ["rule explanation (docs page: English)"]
    for node in tree.body if is_rule else ():
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "title" and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            yield node.lineno, None, node.value.value, ["rule title"]
    yield from extract_python(io.BytesIO(data), keywords, comment_tags, options)


def template() -> Catalog:
    """The catalog template (every msgid of the sources), sorted by msgid."""
    with MAPPING.open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    cat = Catalog(domain=DOMAIN, project="fbsdetect", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=("i18n:",),
            strip_comment_tags=True):
        cat.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return cat


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(locale: str) -> Catalog:
    with po_path(locale).open("rb") as f:
        return read_po(f, locale=locale, domain=DOMAIN)


def update() -> None:
    tmpl = template()
    for locale in CATALOG_LOCALE.values():
        p = po_path(locale)
        if p.exists():
            cat = read_catalog(locale)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            cat = Catalog(locale=locale, domain=DOMAIN, project="fbsdetect", charset="utf-8")
        cat.update(tmpl, no_fuzzy_matching=True)
        cat.obsolete.clear()
        with p.open("wb") as f:
            write_po(f, cat, width=110, sort_output=True, include_previous=False, no_location=True)


def mo_bytes(cat: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    return buf.getvalue()


def compile_all() -> list[Path]:
    out = []
    for locale in CATALOG_LOCALE.values():
        mo = po_path(locale).with_suffix(".mo")
        mo.write_bytes(mo_bytes(read_catalog(locale)))
        out.append(mo)
    return out


def problems() -> list[str]:
    """What is wrong with the catalogs against the sources (empty: all well)."""
    from fbsdetect.i18n.check import catalog_problems

    out: list[str] = []
    tmpl = template()
    for locale in CATALOG_LOCALE.values():
        cat = read_catalog(locale)
        out += catalog_problems(tmpl, cat, locale)
        mo = po_path(locale).with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != mo_bytes(cat):
            out.append(f"{locale}: {mo.name} does not match {po_path(locale).name} "
                       "(python -m fbsdetect.i18n.extract compile)")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    cmd = args[0] if args else ""
    if cmd == "update":
        update()
    elif cmd == "compile":
        for p in compile_all():
            print(p)
    elif cmd == "check":
        probs = problems()
        for line in probs:
            print(line)
        return 1 if probs else 0
    else:
        sys.stderr.write("usage: python -m fbsdetect.i18n.extract update|compile|check\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
