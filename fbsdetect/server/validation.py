"""The server's answer to a request that FastAPI's own checks refuse (HTTP 422), in the reader's language.

Pydantic's messages ("Input should be greater than or equal to 1") come in English only and name
pydantic's types; the API's clients are investigators' browsers and scripts that asked for a language
(`Accept-Language`, `fbsdetect.i18n.web`). `message(error)` turns one entry of
`RequestValidationError.errors()` into "where: what is wrong" from its `type` and `ctx`, in the
request's language; a type not listed here keeps pydantic's own text. Written here because pydantic
has no translation catalogue of its own (pydantic-i18n would be a dependency for a dozen strings).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fbsdetect.i18n import _


def _ctx(err: Mapping[str, Any], key: str) -> str:
    ctx = err.get("ctx")
    return str(ctx.get(key, "?")) if isinstance(ctx, Mapping) else "?"


_WHAT: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda e: _("a value is required"),
    "int_parsing": lambda e: _("must be a whole number"),
    "int_type": lambda e: _("must be a whole number"),
    "int_from_float": lambda e: _("must be a whole number"),
    "float_parsing": lambda e: _("must be a number"),
    "float_type": lambda e: _("must be a number"),
    "finite_number": lambda e: _("must be a finite number"),
    "bool_parsing": lambda e: _("must be true or false"),
    "bool_type": lambda e: _("must be true or false"),
    "greater_than_equal": lambda e: _("must be at least {limit}").format(limit=_ctx(e, "ge")),
    "greater_than": lambda e: _("must be more than {limit}").format(limit=_ctx(e, "gt")),
    "less_than_equal": lambda e: _("must be at most {limit}").format(limit=_ctx(e, "le")),
    "less_than": lambda e: _("must be less than {limit}").format(limit=_ctx(e, "lt")),
    "string_too_long": lambda e: _("must be at most {n} characters long").format(n=_ctx(e, "max_length")),
    "string_too_short": lambda e: _("must be at least {n} characters long").format(n=_ctx(e, "min_length")),
    "string_type": lambda e: _("must be text"),
    "literal_error": lambda e: _("must be one of {choices}").format(choices=_ctx(e, "expected")),
    "enum": lambda e: _("must be one of {choices}").format(choices=_ctx(e, "expected")),
    "json_invalid": lambda e: _("is not valid JSON"),
    "dict_type": lambda e: _("must be a JSON object"),
    "list_type": lambda e: _("must be a list"),
    "model_attributes_type": lambda e: _("must be a JSON object"),
}


def message(err: Mapping[str, Any]) -> str:
    """One validation error as "where: what is wrong" (where: the parameter's place, e.g. `query.limit`)."""
    where = ".".join(str(x) for x in err.get("loc", ()) or ()) or _("request")
    what = _WHAT.get(str(err.get("type", "")))
    text = what(err) if what is not None else str(err.get("msg") or _("invalid"))
    return _("{where}: {what}").format(where=where, what=text)
