"""LTE-band noise-floor rise coinciding with a new strong GSM cell.

Looks at: the noise floor of the LTE-band tunings within 5 minutes of the
observation, against the quietest floor seen at the same frequency before
(earlier in the run, or in a learn run), and whether this cell is new (not
in the registry or the baseline) and among the strongest of its sweep. The
Chinese SMS-blaster pattern jams LTE so that phones fall back to GSM, where
the fake cell waits. Reported from a 6 dB rise; a band never seen quiet (a
legitimate LTE carrier there from the start, or a jammer already on when
the scan began) is no evidence. Innocent causes: a newly lit LTE carrier in
the band, interference from other equipment, a new legitimate GSM site at
the same time.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.i18n import _, band_name

id = "lte-jamming-new-cell"
title = "LTE jamming with a new strong GSM cell"
version = 1
default_enabled = True
weight = 0.45
family = "spectrum"

MIN_RISE_DB = 6.0


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    samples = [x for x in ctx.lte_samples(300.0) if x.rise_db is not None]
    if not samples:
        return None
    top = max(samples, key=lambda x: x.rise_db or 0.0)
    rise = top.rise_db or 0.0
    if rise < MIN_RISE_DB:
        return None
    new = []
    if ctx.has_registry and not ctx.registry_cgi:
        new.append("registry")
    if ctx.baseline is not None and not ctx.baseline.empty and not ctx.baseline.knows(cell.cgi):
        new.append("baseline")
    if not new:
        return None
    p = cell.obs.power_dbm
    powers = sorted((s.obs.power_dbm for s in ctx.sweep if s.obs.power_dbm is not None
                     and s.obs.power_ref == cell.obs.power_ref), reverse=True)
    if p is None or (len(powers) >= 2 and p < powers[1]):
        return None  # not among the two strongest of its sweep
    names = {"registry": _("registry"), "baseline": _("baseline")}
    text = (
        _(
            "The {band} noise floor rose {rise:.0f} dB above its quiet level while this cell, unknown to the "
            "{refs}, is among the strongest heard ({power:.0f} {unit})."
        ).format(
            band=band_name(top.band),
            rise=rise,
            refs=_(" and ").join(names[r] for r in new),
            power=p,
            unit=cell.obs.power_ref,
        )
        + " "
        + innocent(
            _("a busy or newly lit LTE carrier in the band"),
            _("interference from other equipment"),
            _("a new legitimate GSM site"),
        )
    )
    return Finding(
        id,
        version,
        ramp(rise, MIN_RISE_DB, 15.0) * 0.6 + 0.4,
        text,
        {"band": top.band, "rise_db": round(rise, 1), "power": p},
        family,
    )
