"""SMS delivered on a dedicated channel that was never ciphered.

Looks at: the SMS the receiver read on this cell's followed dedicated
channels (`fbsdetect.traffic`: an SMS-DELIVER in CP-DATA/RP-DATA that passed
its CRC, so it went out in clear). A licensed network authenticates the phone
and starts ciphering (Ciphering Mode Command) before it delivers anything; a
receive-only instrument can therefore never read a real network's SMS. A fake
base station holds no subscriber keys and cannot cipher: the spam it pushes
is readable, and reading it is the proof. Innocent causes: a network running
without ciphering (A5/0), which a few operators still do; a test network.
"""

from __future__ import annotations

from fbsdetect.detect.context import RuleContext, Seen
from fbsdetect.detect.finding import Finding, ramp
from fbsdetect.detect.heuristics._common import innocent
from fbsdetect.detect.heuristics._traffic import sms, total
from fbsdetect.i18n import _

id = "sms-unciphered"
title = "SMS delivered in clear"
version = 1
default_enabled = True
weight = 0.9
family = "traffic"


def check(cell: Seen, ctx: RuleContext) -> Finding | None:
    msgs = sms(cell, ctx)
    n_clear = total(cell, ctx, "sms_unciphered")
    if not msgs and not n_clear:
        return None
    n = max(len(msgs), n_clear)
    senders = sorted({str(m.get("sender")) for m in msgs})
    sample = ""
    if msgs:
        text = str(msgs[0].get("text", ""))
        sample = _(' e.g. from {sender}: "{text}"').format(
            sender=msgs[0].get("sender"), text=text[:60] + ("..." if len(text) > 60 else ""))
    evidence = (
        _("{n} SMS delivered in clear on dedicated channels never ciphered{senders};{sample}.").format(
            n=n,
            sample=sample,
            senders=_(" (senders {senders})").format(senders=", ".join(senders[:5])) if senders else "",
        )
        + " "
        + innocent(_("a network running without ciphering (A5/0)"), _("a test network"))
    )
    return Finding(id, version, ramp(n, 0, 3), evidence, {"sms": n, "senders": senders[:20]}, family)
