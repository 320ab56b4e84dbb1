"""Received power far above what the registered site can deliver.

Looks at: the receiver's position and the power in dBm, against the
registry position of this CGI (or, for a CID heard with another LAC, of the
registered cell with that CID) through an optimistic path-loss model (62 dBm
EIRP, free space to 100 m, exponent 2.8, 300 m + 20 % of the registry range
taken off the distance): an upper bound, calibrated on the operator's other
registered cells heard here (their median excess, lowered by at most 8 dB). A fake
base station cloning a distant cell is heard much stronger than that cell
could be. It stays silent for registry entries of few samples or not
updated for years (their position is no evidence). Innocent
causes: a registry position that is wrong, a new site with the same
identity, a gain calibration error (then every cell reads high, which the
peer calibration removes).
"""

from __future__ import annotations

from statistics import median

from fbsdetect.detect.context import RuleContext, Seen, distance_m
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent, predicted_max_dbm, reliability
from fbsdetect.i18n import _

id = "power-above-pathloss"
title = "Power far above the path-loss prediction"
version = 1
default_enabled = True
weight = 0.50
family = "power"

MARGIN_DB = 12.0


def _excess(s: Seen, recs: list[object]) -> tuple[float, float, float] | None:
    """(excess dB, distance, predicted) for the nearest record with a position."""
    pos, p = s.position, s.power_dbm
    if pos is None or p is None:
        return None
    best = None
    for c in recs:
        lat, lon = getattr(c, "lat", None), getattr(c, "lon", None)
        if lat is None or lon is None:
            continue
        d = distance_m(pos[0], pos[1], lat, lon)
        if reliability(c, s.t_s) < 0.6:
            return None
        d_eff = max(30.0, d - 300.0 - 0.2 * float(getattr(c, "range_m", None) or 0.0))
        pred = predicted_max_dbm(d_eff, s.obs.freq_hz)
        if best is None or d < best[1]:
            best = (p - pred, d, pred)
    return best


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    recs, via = ctx.registry_cgi, ""
    if not recs:
        recs = [c for c in ctx.registry_cid if getattr(c, "lac", None) != cell.obs.lac]
        via = _(" (the registered cell with this CID)")
    if not recs:
        return None
    e = _excess(cell, recs)
    if e is None:
        return None
    excess, d, pred = e
    # calibrate on the operator's other registered cells heard here
    cal = []
    if ctx.registry is not None:
        for s in ctx.peers[:20]:
            c = s.cgi
            if c is None:
                continue
            pe = _excess(s, list(ctx.registry.by_cgi(*c) or []))
            if pe is not None:
                cal.append(pe[0])
    # (downwards by at most 8 dB: stale registry positions make peers read low too)
    offset = max(-8.0, median(cal)) if len(cal) >= 2 else 0.0
    excess -= offset
    if excess <= MARGIN_DB:
        return None
    calibrated = (_(" (calibrated {offset:+.0f} dB on {n} other cells)").format(offset=offset, n=len(cal))
                  if offset else "")
    text = (
        _(
            "{power:.0f} dBm at {d:.0f} m from the registered position{via}; an optimistic path-loss model "
            "allows at most {max:.0f} dBm{calibrated}: {excess:.0f} dB too strong."
        ).format(
            power=cell.obs.power_dbm, d=d, via=via, max=pred + offset, calibrated=calibrated, excess=excess
        )
        + " "
        + innocent(
            _("a wrong registry position"), _("a new site reusing the identity"), _("gain miscalibration")
        )
    )
    return Finding(
        id,
        version,
        ramp(excess, MARGIN_DB, 25.0) * 0.6 + 0.4,
        text,
        {
            "power_dbm": cell.obs.power_dbm,
            "distance_m": round(d),
            "predicted_max_dbm": round(pred, 1),
            "calibration_db": round(offset, 1),
            "excess_db": round(excess, 1),
        },
        family,
    )
