"""Bursts of dedicated-channel assignments without paging.

Looks at: the Immediate Assignments this cell sent on its CCCH and the
conversations they opened (`fbsdetect.traffic`), against the paging it sent:
at least 10 assignments, of which hardly any answered a page (Paging
Response), while the cell paged little. Phones come to a cell on their own
for location updates; a fake cell lures many at once (a new LAC, strong
power) and calls none of them: a burst of location updates and no
mobile-terminated traffic. Innocent causes: a busy cell at a LAC border
(many updates), a stadium or a station at rush hour; a short observation.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.detect.heuristics._traffic import observations
from fbsdetect.i18n import _

id = "assignments-without-paging"
title = "Assignments without paging"
version = 1
default_enabled = True
weight = 0.4
family = "traffic"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    assign = responses = paging = 0
    for s in observations(cell, ctx):
        t = s.traffic or {}
        assign += int(t.get("assignments", 0))
        responses += int(t.get("paging_responses", 0))
        paging += int(t.get("paging_requests", 0))
    if assign < 10:
        return None
    share = responses / assign
    if share > 0.1 or paging > assign:
        return None
    evidence = (
        _(
            "{assignments} dedicated channels assigned, {responses} of them answering a page, while the "
            "cell sent {paging} paging requests."
        ).format(assignments=assign, responses=responses, paging=paging)
        + " "
        + innocent(
            _("a busy cell at a location-area border"),
            _("a crowd (station, stadium)"),
            _("a short observation"),
        )
    )
    return Finding(
        id,
        version,
        ramp(assign, 5, 40) * (1 - share),
        evidence,
        {"assignments": assign, "paging_responses": responses, "paging_requests": paging},
        family,
    )
