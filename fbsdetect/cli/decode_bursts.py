"""`fbsdetect decode-bursts FILE`: decode timeslot bursts given as JSON lines
into L2 frames (JSON lines)."""

from __future__ import annotations

import argparse

from fbsdetect.cli._common import not_built, require_file

NAME = "decode-bursts"
HELP = "decode bursts given as JSON lines (fn, ts, bits|soft) into L2 frames"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE",
                   help='JSON lines: {"fn": int, "ts": int, "bits": "0101..."} (148 hard bits)'
                   ' or {"fn", "ts", "soft": [...]}; "-" for stdin')


def run(args: argparse.Namespace) -> int:
    if args.file != "-":
        require_file(args.file, "burst file")
    raise not_built(NAME, "GSM layer 1")
