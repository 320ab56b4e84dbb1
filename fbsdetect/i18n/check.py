"""Checks of a translated catalog against the template (tests/i18n and `extract check`)."""

from __future__ import annotations

import re
import string
from typing import Any

from babel.messages.catalog import Catalog

# a conversion as Python's % operator reads it (the space flag left out: "50 % region" is prose)
_PERCENT = re.compile(r"%(?:\([A-Za-z_][A-Za-z0-9_]*\))?[-#0+]*\d*(?:\.\d+)?[sdifrxXeEgGc%]")


def placeholders(text: str) -> tuple[list[str], list[str]]:
    """(str.format fields, %-conversions) of `text`, sorted; '%%' and '{{' are literal.
    A text whose braces do not parse as a format string counts its raw braces."""
    try:
        fields = sorted(f"{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
                        for _lit, name, spec, conv in string.Formatter().parse(text) if name is not None)
    except ValueError:
        fields = sorted(re.findall(r"[{}]", text))
    perc = sorted(m for m in _PERCENT.findall(text) if m != "%%")
    return fields, perc


def _strings(x: Any) -> list[str]:
    if isinstance(x, list | tuple):
        return [str(s) for s in x]
    return [str(x)] if x else []


def catalog_problems(template: Catalog, cat: Catalog, locale: str) -> list[str]:
    """Every msgid of `template` missing in `cat`, untranslated or fuzzy there,
    or translated with other placeholders than the English."""
    out = []
    for msg in template:
        if not msg.id:
            continue
        key = msg.id if not isinstance(msg.id, list | tuple) else msg.id[0]
        tr = cat.get(key, context=msg.context)
        short = repr(key[:70] + ("..." if len(key) > 70 else ""))
        if tr is None:
            out.append(f"{locale}: msgid {short} is not in the catalog")
            continue
        strs = _strings(tr.string)
        if tr.fuzzy or not strs or any(not s.strip() for s in strs):
            out.append(f"{locale}: msgid {short} has no {'(non-fuzzy) ' if tr.fuzzy else ''}translation")
            continue
        en = _strings(msg.id)
        if "python-format" not in msg.flags:  # a literal "50 %" is no conversion: compare the fields only
            strs = [s.replace("%", "%%") for s in strs]
            en = [s.replace("%", "%%") for s in en]
        want = placeholders(en[-1])
        if len(en) > 1 and placeholders(en[0]) != want:
            want_sg = placeholders(en[0])
            # a singular may name the number ("one cell") where the plural has {n}: either set is fine
            ok = all(placeholders(s) in (want, want_sg) for s in strs)
        else:
            ok = all(placeholders(s) == want for s in strs)
        if not ok:
            got = [placeholders(s) for s in strs]
            out.append(f"{locale}: msgid {short}: placeholders {want} in English, {got} in the translation")
    return out
