"""Helpers shared by rule modules (not a rule: modules starting with _ are skipped)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fbsdetect.detect.context import RuleContext
from fbsdetect.i18n import _


@dataclass(frozen=True)
class Reference:
    """What is typical for one SI parameter of the cell's operator here."""

    lo: float | None
    hi: float | None
    values: tuple[Any, ...]  # the operator's other cells' values (heard + baseline)
    profile_range: tuple[float, float] | None

    @property
    def known(self) -> bool:
        return self.lo is not None and self.hi is not None

    def text(self, unit: str = "") -> str:
        parts = []
        if self.values:
            c = Counter(self.values)
            parts.append(_("the operator's other cells here use {values}").format(
                values=", ".join(f"{v}{unit}" + (f" ({n}x)" if n > 1 else "") for v, n in
                                 sorted(c.items(), key=lambda kv: -kv[1])[:5])))
        if self.profile_range is not None:
            lo, hi = self.profile_range
            parts.append(
                _("the profile's typical range is {lo}-{hi}{unit}").format(
                    lo=f"{lo:g}", hi=f"{hi:g}", unit=unit
                )
            )
        return sep().join(parts) if parts else _("nothing is known about the operator's cells")


def reference(ctx: RuleContext, name: str, min_values: int = 2) -> Reference:
    """The accepted range of parameter `name`: the union of the profile's
    `<name>_range` and the span of the operator's other cells' values (at
    least `min_values` of them), so that an operator-typical unusual value
    (one the operator's own cells use) is never an outlier."""
    vals = tuple(
        v for v in ctx.operator_values(name) if isinstance(v, int | float) and not isinstance(v, bool)
    )
    pr = ctx.op_attr(f"{name}_range")
    prange = (float(pr[0]), float(pr[1])) if isinstance(pr, Sequence) and len(pr) == 2 else None
    los, his = [], []
    if prange is not None:
        los.append(prange[0])
        his.append(prange[1])
    if len(vals) >= min_values:
        los.append(float(min(vals)))
        his.append(float(max(vals)))
    return Reference(min(los) if los else None, max(his) if his else None, vals, prange)


@dataclass(frozen=True)
class Share:
    n: int
    true: int
    expected: bool | None  # the profile's `<name>_expected`

    @property
    def share(self) -> float | None:
        return self.true / self.n if self.n else None


def bool_share(ctx: RuleContext, name: str, expected_attr: str) -> Share:
    vals = [v for v in ctx.operator_values(name) if isinstance(v, bool)]
    exp = ctx.op_attr(expected_attr)
    return Share(len(vals), sum(1 for v in vals if v), None if exp is None else bool(exp))


def registry_updated(ctx: RuleContext) -> str:
    """'registry last updated YYYY-MM-DD' in the current language, or '' when the registry has no date."""
    date = ctx.registry_updated
    return _("registry last updated {date}").format(date=date) if date else ""


def sep() -> str:
    """The separator of clauses in a list ('; ', in Chinese '；'; kept as such in a stored recipe)."""
    from fbsdetect.i18n.message import clause_separator

    return clause_separator()


def innocent(*causes: str) -> str:
    """The sentence naming a finding's usual innocent causes (each already translated)."""
    return _("Innocent causes: {causes}.").format(causes=sep().join(causes))


@lru_cache(maxsize=4096)
def parse_si3(hexframe: str) -> Any:
    """The parsed SI3 of a hex frame, or None."""
    from fbsdetect.sysinfo import si3

    try:
        m = si3.parse(bytes.fromhex(hexframe))
    except ValueError:
        return None
    return m if isinstance(m, si3.SI3) else None


def db(v: float) -> str:
    return f"{v:.0f} dB"


def feature_absent(
    cell: Any,
    ctx: RuleContext,
    name: str,
    expected_attr: str,
    *,
    min_cells: int = 2,
    min_share: float = 0.75,
    use_profile: bool = True,
) -> tuple[float, str, dict[str, Any]] | None:
    """(score, reason, data) when the cell lacks boolean feature `name` that
    its operator's cells here have; None otherwise. The operator's heard
    cells decide when there are at least `min_cells` of them (a 2G-only
    operator's cells all lack it, so nobody is an outlier); the profile's
    `expected_attr` only when no cell of the operator is known."""
    if cell.param(name) is not False:
        return None
    sh = bool_share(ctx, name, expected_attr)
    if sh.n >= min_cells:
        share = sh.share or 0.0
        if share < min_share:
            return None
        return (
            1.0,
            _("{n} of the operator's {total} other cells here have it").format(n=sh.true, total=sh.n),
            {"cells": sh.n, "with": sh.true},
        )
    if sh.n == 0 and use_profile and sh.expected:
        return (
            0.6,
            _("the profile says the operator's cells have it (no other cell of it heard)"),
            {"cells": 0, "profile_expected": True},
        )
    return None


# ---------------------------------------------------------------- radio model

EIRP_MAX_DBM = 62.0  # a generous macro-cell EIRP: predictions are upper bounds
PATHLOSS_EXPONENT = 2.8  # optimistic (suburban is 3-3.5): again an upper bound on the power


def fspl_db(d_m: float, freq_hz: float) -> float:
    import math

    return 20 * math.log10(max(d_m, 1.0)) + 20 * math.log10(freq_hz) - 147.55


def predicted_max_dbm(
    d_m: float, freq_hz: float | None, eirp_dbm: float = EIRP_MAX_DBM, exponent: float = PATHLOSS_EXPONENT
) -> float:
    """Upper bound of the received power from a site `d_m` away: free space to
    100 m, then `exponent` (log-distance model)."""
    import math

    f = freq_hz or 947e6
    d = max(d_m, 10.0)
    if d <= 100.0:
        return eirp_dbm - fspl_db(d, f)
    return eirp_dbm - fspl_db(100.0, f) - 10 * exponent * math.log10(d / 100.0)


def paging_of(seen_list: Any) -> tuple[int, int, int, float]:
    """(requests, imsi, tmsi, seconds) summed over observations with paging stats."""
    r = i = t = 0
    d = 0.0
    for s in seen_list:
        p = s.paging
        if p is None or p.duration_s <= 0:
            continue
        r, i, t, d = r + p.requests, i + p.imsi, t + p.tmsi, d + p.duration_s
    return r, i, t, d


def reliability(rec: Any, t_s: float | None = None) -> float:
    """How far a registry record's position can be trusted, 0.3..1: licensed
    lists fully; crowd-sourced entries by their number of samples (20 and more:
    full) and age (not updated for three years before the observation: x 0.6)."""
    from datetime import datetime

    if getattr(rec, "kind", None) == "licensed":
        return 1.0
    n = getattr(rec, "samples", None)
    r = 0.7 if n is None else max(0.3, min(1.0, float(n) / 20.0))
    upd = getattr(rec, "updated", None)
    if isinstance(upd, datetime):
        upd = upd.timestamp()
    if isinstance(upd, int | float) and t_s is not None and t_s - float(upd) > 3 * 365.25 * 86400:
        r *= 0.6
    return max(0.3, r)
