"""A short service number (a bank's, the operator's) as the sender of an SMS
delivered by a cell outside its operator's registry.

Looks at: the SMS captured on this cell (`fbsdetect.traffic`) whose
originating address is a service number (3-8 digits such as 95588, 10086,
1069..., or an alphanumeric name), when the cell's CGI is not in the
registry (checked only where the registry holds the operator). Fraud SMS
from fake base stations spoof exactly these senders so that victims trust
them; a real bank's SMS reach phones through the operator's network, i.e.
through registered cells. Innocent causes: a new cell missing from the
registry delivering genuine service SMS (it would cipher them: then none
would be captured).
"""

from __future__ import annotations

import re

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.detect.heuristics._traffic import sms
from fbsdetect.i18n import _

id = "spoofed-sender"
title = "Service-number SMS from an unregistered cell"
version = 1
default_enabled = True
weight = 0.6
family = "traffic"

SERVICE = re.compile(r"^(?:\d{3,8}|106\d{2,17}|[A-Za-z][A-Za-z0-9 ._-]{1,10})$")


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    if not ctx.has_registry or ctx.registry_cgi:
        return None
    msgs = sms(cell, ctx)
    spoofed = sorted({str(m.get("sender")) for m in msgs if SERVICE.match(str(m.get("sender", "")))})
    if not spoofed:
        return None
    n = sum(1 for m in msgs if str(m.get("sender")) in spoofed)
    evidence = (
        _("{n} SMS from service numbers {senders} delivered by a cell that is not in the registry.").format(
            n=n, senders=", ".join(spoofed[:6])
        )
        + " "
        + innocent(
            _("a new, unregistered cell delivering genuine service SMS (it would normally cipher them)")
        )
    )
    return Finding(id, version, ramp(n, 0, 2), evidence, {"senders": spoofed[:20], "sms": n}, family)
