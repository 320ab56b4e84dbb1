"""`fbsdetect handover ID --to police|regulator|operator|other`: records that
a detection was handed over (the monthly report counts these, with dates)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

NAME = "handover"
HELP = "record that a detection was handed to the police or a radio regulator"


def _time(s: str) -> datetime:
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not an ISO-8601 time") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("detection", type=int, metavar="ID", help="detection id (from `fbsdetect detections`)")
    p.add_argument("--to", required=True, choices=("police", "regulator", "operator", "other"),
                   help="who received it")
    p.add_argument("--ref", metavar="TEXT", help="their case or file number")
    p.add_argument("--at", type=_time, metavar="TIME", help="when (ISO-8601; default: now)")
    p.add_argument("--note", metavar="TEXT", help="a free note")


def run(args: argparse.Namespace) -> int:
    from fbsdetect.cli._common import db_url
    from fbsdetect.errors import BadUsage
    from fbsdetect.report.monthly import add_handover
    from fbsdetect.store import open_store

    if args.ref is not None and len(args.ref) > 256:  # the handover.reference column's size
        raise BadUsage(f"--ref is {len(args.ref)} characters long: at most 256 (put the rest in --note)")
    with open_store(db_url(args)) as store:
        hid = add_handover(store, args.detection, args.to, reference=args.ref, handed_at=args.at,
                           note=args.note)
    sys.stdout.write(f"handover {hid}: detection {args.detection} to {args.to}\n")
    return 0
