"""`fbsdetect handover ID --to police|regulator|operator|other`: records that
a detection was handed over (the monthly report counts these, with dates)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from fbsdetect.cli._common import db_id
from fbsdetect.i18n import _, lazy

NAME = "handover"
HELP = lazy("record that a detection was handed to the police or a radio regulator")


def _time(s: str) -> datetime:
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value!r} is not an ISO-8601 time").format(value=s)) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("detection", type=db_id, metavar="ID",
                   help=_("detection id (from `fbsdetect detections`)"))
    p.add_argument("--to", required=True, choices=("police", "regulator", "operator", "other"),
                   help=_("who received it"))
    p.add_argument("--ref", metavar="TEXT", help=_("their case or file number"))
    p.add_argument("--at", type=_time, metavar="TIME", help=_("when (ISO-8601; default: now)"))
    p.add_argument("--note", metavar="TEXT", help=_("a free note"))


def run(args: argparse.Namespace) -> int:
    from fbsdetect.cli._common import db_url
    from fbsdetect.errors import BadUsage
    from fbsdetect.report.monthly import add_handover, recipient_word
    from fbsdetect.store import open_store

    if args.ref is not None and len(args.ref) > 256:  # the handover.reference column's size
        raise BadUsage(_("--ref is {n} characters long: at most 256 (put the rest in --note)").format(
            n=len(args.ref)))
    with open_store(db_url(args)) as store:
        hid = add_handover(store, args.detection, args.to, reference=args.ref, handed_at=args.at,
                           note=args.note)
    sys.stdout.write(_("handover {id}: detection {detection} to {recipient}").format(
        id=hid, detection=args.detection, recipient=recipient_word(args.to)) + "\n")
    return 0
