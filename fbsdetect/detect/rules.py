"""Rule registration: every module in `fbsdetect/detect/heuristics/` is a rule.

A rule module exposes `id` (kebab-case, stable), `title`, `version` (int,
bumped when what the rule finds changes), `default_enabled`, `weight` (0..1,
its share in the combined score), `family` (which independent kind of sign it
is, see `score.FAMILIES`), a docstring (the explanation the docs page shows:
what it looks at, why a fake cell does it, the innocent causes) and a pure
`check(cell, context) -> Finding | None`.

Adding a rule is one new file in heuristics/ plus its test, nothing else:
discovery walks the package (like datasette loading its built-ins through the
same hooks as plugins). Third-party rules register the same way through the
`fbsdetect.heuristics` entry-point group. Rules are enabled/disabled by id
and re-weighted from the profile's `[detect]` table (`weights = {id = w}`,
`disabled = [...]`, `enabled = [...]`) or a config mapping of the same shape.

The title and docstring are English message ids: `fbsdetect.i18n.extract`
takes them into the catalogs, `Rule.local_title`/`local_explanation` give them
in the user's language (a new rule needs its Chinese translation in
`fbsdetect/i18n/locale/zh_CN/LC_MESSAGES/fbsdetect.po`: tests/i18n says so).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from types import ModuleType
from typing import Any

from fbsdetect.detect.finding import Finding

REQUIRED = ("id", "title", "version", "default_enabled", "weight", "family", "check")


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    version: int
    default_enabled: bool
    weight: float
    family: str
    explanation: str
    check: Callable[..., Finding | None]
    module: str

    @property
    def local_title(self) -> str:
        """The title in the current language (`fbsdetect.i18n`); `title` stays the English message id."""
        from fbsdetect.i18n import gettext

        return gettext(self.title)

    @property
    def local_explanation(self) -> str:
        """The explanation in the current language; `explanation` (the docs page's) stays English."""
        from fbsdetect.i18n import gettext

        return gettext(self.explanation)

    def run(self, cell: Any, context: Any) -> Finding | None:
        """The rule's finding, its evidence in English with its recipe (message ids and
        parameters) or, where the rule's text has no faithful recipe, its text in every
        language (`fbsdetect.i18n.message.localized`: the rule runs once more per other language,
        only when it found something), so that a stored finding shows in the reader's language."""
        from fbsdetect.i18n import current
        from fbsdetect.i18n.message import capturing, localized

        lang = current()
        with capturing():
            f = self.check(cell, context)
        if f is None:
            return None
        if f.rule_id != self.id or f.version != self.version or f.family != self.family:
            f = replace(f, rule_id=self.id, version=self.version, family=self.family)
        if f.i18n is None:
            score = f.score

            def again() -> str | None:
                g = self.check(cell, context)
                return g.evidence if g is not None and g.score == score else None

            english, stored = localized(again, f.evidence, lang)
            f = replace(f, evidence=english, i18n=stored)
        return f


def rule_from_module(mod: ModuleType) -> Rule:
    missing = [a for a in REQUIRED if not hasattr(mod, a)]
    if missing:
        raise TypeError(f"rule module {mod.__name__} lacks {', '.join(missing)}")
    from fbsdetect.detect.score import FAMILIES

    if mod.family not in FAMILIES:
        raise TypeError(f"rule module {mod.__name__}: family {mod.family!r} not one of {sorted(FAMILIES)}")
    if not 0.0 <= float(mod.weight) <= 1.0:
        raise TypeError(f"rule module {mod.__name__}: weight {mod.weight} outside 0..1")
    return Rule(id=str(mod.id), title=str(mod.title), version=int(mod.version),
                default_enabled=bool(mod.default_enabled), weight=float(mod.weight),
                family=str(mod.family), explanation=inspect.cleandoc(mod.__doc__ or ""),
                check=mod.check, module=mod.__name__)


@lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    """Every registered rule, sorted by id (built-ins, then entry points)."""
    from fbsdetect.detect import heuristics

    mods: list[ModuleType] = []
    for info in sorted(pkgutil.iter_modules(heuristics.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{heuristics.__name__}.{info.name}"))
    mods.extend(_entry_point_modules())
    rules: dict[str, Rule] = {}
    for m in mods:
        r = rule_from_module(m)
        if r.id in rules:
            raise TypeError(f"rule id {r.id!r} registered twice ({rules[r.id].module}, {r.module})")
        rules[r.id] = r
    return tuple(sorted(rules.values(), key=lambda r: r.id))


def _entry_point_modules() -> Iterable[ModuleType]:
    from importlib.metadata import entry_points

    for ep in entry_points(group="fbsdetect.heuristics"):
        obj = ep.load()
        if isinstance(obj, ModuleType):
            yield obj


def rule_versions(rules: Iterable[Rule] | None = None) -> dict[str, int]:
    return {r.id: r.version for r in (all_rules() if rules is None else rules)}


def detect_table(profile: Any = None, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The `[detect]` settings: the profile's table, overridden by `config` keys."""
    table: dict[str, Any] = dict(getattr(profile, "detect", None) or {})
    for k, v in (config or {}).items():
        if k in ("weights",):
            table[k] = {**dict(table.get(k) or {}), **dict(v or {})}
        else:
            table[k] = v
    return table


def select_rules(profile: Any = None, config: Mapping[str, Any] | None = None) -> list[Rule]:
    """The enabled rules with their effective weights. Unknown ids in the
    table are an error the user must fix (ValueError naming them)."""
    table = detect_table(profile, config)
    known = {r.id for r in all_rules()}
    weights = dict(table.get("weights") or {})
    disabled = set(table.get("disabled") or [])
    enabled = set(table.get("enabled") or [])
    unknown = sorted((set(weights) | disabled | enabled) - known)
    if unknown:
        raise ValueError(f"[detect]: unknown rule id(s) {', '.join(unknown)}")
    out = []
    for r in all_rules():
        on = (r.default_enabled or r.id in enabled) and r.id not in disabled
        if not on:
            continue
        if r.id in weights:
            w = float(weights[r.id])
            if not 0.0 <= w <= 1.0:
                raise ValueError(f"[detect] weights.{r.id} = {w}: expected 0..1")
            r = replace(r, weight=w)
        out.append(r)
    return out
