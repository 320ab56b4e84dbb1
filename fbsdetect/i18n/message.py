"""Texts that remember how they were made: a finding's evidence stored as message ids and
parameters, rendered in the reader's language when shown.

A rule builds its evidence from `_()` pieces, `.format(name=...)`, `+` and the clause
separator (`clause_separator()`, "; " / "；"). Within `capturing()`, `gettext`, `ngettext`
and `pgettext` return a `Text`: the translated string (a `str`, so every rule works
unchanged) carrying `tree`, its recipe as JSON:

    {"m": msgid}  {"m": msgid, "x": context}  {"n": [singular, plural, n]}
    {"f": tree, "a": {name: tree | {"v": number/bool/null}}}   (.format of a message)
    {"c": [tree, ...]}    (concatenation)   {"j": separator tree, "p": [tree, ...]}   (join)
    {"s": "literal text"}  {"sep": "clause" | "list"}
    {"op": [mcc, mnc, english name]}  {"band": name}   (names: i18n.operator_name, band_name)

`render(tree)` makes the text again in the current language. What breaks the recipe (an
f-string, `%`, `str` methods other than `format`/`join`, positional format arguments) leaves a
plain `str` or an English literal in the tree; `localized()` therefore keeps a recipe only when
it renders to exactly what a run of the rule in each language wrote, and otherwise the texts
themselves (`{"text": {"en": ..., "zh": ...}}`). `evidence_text()` shows a stored finding in the
current language: its recipe, else its text in that language, else the stored text (rows
written before this existed, in the language of the run that made them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_capturing: ContextVar[bool] = ContextVar("fbsdetect_capture", default=False)


def is_capturing() -> bool:
    return _capturing.get()


@contextmanager
def capturing() -> Iterator[None]:
    """Within the block, translated texts are `Text`s with their recipe."""
    token = _capturing.set(True)
    try:
        yield
    finally:
        _capturing.reset(token)


def _node(v: Any) -> dict[str, Any]:
    if isinstance(v, Text):
        return v.tree
    if isinstance(v, str):
        return {"s": str(v)}
    if v is None or isinstance(v, bool | int | float):
        return {"v": v}
    return {"s": str(v)}  # anything else as it printed (a format spec on it fails the check)


class Text(str):
    """A translated string with its recipe (`tree`)."""

    tree: dict[str, Any]

    def __new__(cls, value: str, tree: dict[str, Any]) -> Text:
        obj = super().__new__(cls, value)
        obj.tree = tree
        return obj

    def format(self, *args: Any, **kwargs: Any) -> str:
        out = str.format(self, *args, **kwargs)
        if args:  # positional fields are not recorded: a plain text
            return out
        return Text(out, {"f": self.tree, "a": {k: _node(v) for k, v in kwargs.items()}})

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, str):
            return NotImplemented
        return Text(str.__add__(self, other), {"c": _parts(self) + _parts(other)})

    def __radd__(self, other: Any) -> Any:
        if not isinstance(other, str):
            return NotImplemented
        return Text(str.__add__(other, self), {"c": _parts(other) + _parts(self)})

    def join(self, parts: Any) -> str:
        items = list(parts)
        return Text(str.join(self, items), {"j": self.tree, "p": [_node(p) for p in items]})


def _parts(v: Any) -> list[dict[str, Any]]:
    """The pieces of a concatenation (nested ones flattened)."""
    n = _node(v)
    return list(n["c"]) if "c" in n else [n]


_SEPARATORS = {"clause": ("; ", "；"), "list": (", ", "，")}


def clause_separator() -> str:
    """The separator of clauses in a list ('; ', in Chinese '；'), a `Text` when capturing."""
    return _separator("clause")


def list_separator() -> str:
    """The separator of items in a list (', ', in Chinese '，'), a `Text` when capturing."""
    return _separator("list")


def _separator(kind: str) -> str:
    from fbsdetect.i18n import current

    en, zh = _SEPARATORS[kind]
    s = zh if current() == "zh" else en
    return Text(s, {"sep": kind}) if is_capturing() else s


def name_text(value: str, tree: dict[str, Any]) -> str:
    """A name shown in the current language that is not a message (an operator's, a band's:
    `fbsdetect.i18n.operator_name`, `band_name`), a `Text` with its recipe when capturing."""
    return Text(value, tree) if is_capturing() else value


def _value(node: Mapping[str, Any]) -> Any:
    return node["v"] if "v" in node else render(node)


def render(tree: Mapping[str, Any]) -> str:
    """The text of a recipe in the current language (KeyError/ValueError/TypeError when malformed)."""
    from fbsdetect import i18n

    if "m" in tree:
        msg = str(tree["m"])
        return i18n.pgettext(str(tree["x"]), msg) if tree.get("x") is not None else i18n.gettext(msg)
    if "n" in tree:
        sg, pl, n = tree["n"]
        return i18n.ngettext(str(sg), str(pl), int(n))
    if "f" in tree:
        return render(tree["f"]).format(**{str(k): _value(v) for k, v in dict(tree["a"]).items()})
    if "c" in tree:
        return "".join(str(_value(p)) for p in tree["c"])
    if "j" in tree:
        return render(tree["j"]).join(str(_value(p)) for p in tree["p"])
    if "s" in tree:
        return str(tree["s"])
    if "v" in tree:
        return str(tree["v"])
    if tree.get("sep") in _SEPARATORS:
        en, zh = _SEPARATORS[str(tree["sep"])]
        return zh if i18n.current() == "zh" else en
    if "op" in tree:
        mcc, mnc, english = tree["op"]
        return i18n.operator_name(mcc, mnc, english) or str(english)
    if "band" in tree:
        return i18n.band_name(str(tree["band"]))
    raise KeyError(f"not a message recipe: {sorted(tree)}")


def localized(make: Callable[[], str | None], first: str, first_lang: str) -> tuple[str, dict[str, Any]]:
    """The English text and the stored form of a text that `make()` builds in the current
    language (`first`, made in `first_lang` under `capturing()`): `make` is run again in every
    other language; a recipe is kept when it renders each language's text exactly, else the
    texts. `make` returning None (the text depends on more than the language) keeps `first`."""
    from fbsdetect import i18n

    texts: dict[str, str] = {first_lang: first}
    for lang in i18n.LANGUAGES:
        if lang == first_lang:
            continue
        with i18n.using(lang), capturing():
            t = make()
        if t is None:
            return str(first), {"text": {first_lang: str(first)}}
        texts[lang] = t
    trees = [getattr(t, "tree", None) for t in texts.values()]
    english = str(texts.get("en", first))
    if trees[0] is not None and all(tr == trees[0] for tr in trees):
        try:
            ok = True
            for lang, t in texts.items():
                with i18n.using(lang):
                    ok = ok and render(trees[0]) == str(t)
        except (KeyError, ValueError, TypeError, IndexError):
            ok = False
        if ok:
            return english, {"msg": trees[0]}
    return english, {"text": {lang: str(t) for lang, t in texts.items()}}


def evidence_text(evidence: Any, stored: Any = None) -> str:
    """A stored finding's evidence in the current language: its recipe (`stored["msg"]`), its
    text in this language (`stored["text"]`), else `evidence` as stored."""
    from fbsdetect import i18n

    if isinstance(stored, Mapping):
        tree = stored.get("msg")
        if isinstance(tree, Mapping):
            try:
                return render(tree)
            except (KeyError, ValueError, TypeError, IndexError):
                pass
        texts = stored.get("text")
        if isinstance(texts, Mapping) and isinstance(texts.get(i18n.current()), str):
            return str(texts[i18n.current()])
    return "" if evidence is None else str(evidence)


def entry_evidence(entry: Mapping[str, Any]) -> str:
    """`evidence_text` of a detection's rule entry (`evidence`, `evidence_i18n`) or of a finding
    row (`evidence`, `data.evidence_i18n`)."""
    stored = entry.get("evidence_i18n")
    if stored is None and isinstance(entry.get("data"), Mapping):
        stored = entry["data"].get("evidence_i18n")
    return evidence_text(entry.get("evidence"), stored)
