"""`fbsdetect detections`: list suspected fake cells from the database."""

from __future__ import annotations

import argparse

from fbsdetect.cli._common import not_built

NAME = "detections"
HELP = "list suspected fake cells from the database"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON object per line (contracts.md section 5)")
    p.add_argument("--min-severity", choices=("low", "medium", "high"), default="low",
                   help="hide detections below this severity (default: low)")


def run(args: argparse.Namespace) -> int:
    raise not_built(NAME, "detection and storage")
