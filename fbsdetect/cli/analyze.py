"""`fbsdetect analyze`: re-runs the current rules over the stored
observations (style.md 3: version what you store, re-analyse what you
stored) and records the rule versions used (`analysis_run`)."""

from __future__ import annotations

import argparse
import json
import sys

from fbsdetect.cli._common import db_id
from fbsdetect.i18n import _, lazy

NAME = "analyze"
HELP = lazy("re-run the current detection rules over stored observations; records the rule versions used")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="cn", metavar="PROFILE",
                   help=_("scan profile whose operators, weights and enabled rules apply (default: cn)"))
    p.add_argument("--run", type=db_id, metavar="ID", help=_("only the observations of this scan run"))
    p.add_argument("--json", action="store_true", help=_("print the summary as one JSON object"))


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict, is_dataclass

    from fbsdetect.cli._common import db_url
    from fbsdetect.detect.engine import analyze
    from fbsdetect.scan.profile import load_profile
    from fbsdetect.store import open_store

    profile = load_profile(args.profile)
    with open_store(db_url(args)) as store:
        summary = analyze(store, profile, run_id=args.run)
    data = asdict(summary) if is_dataclass(summary) and not isinstance(summary, type) else dict(summary)
    if args.json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    else:
        flat = (f"{k}={v}" for k, v in data.items() if not isinstance(v, dict | list))
        sys.stdout.write(" ".join(flat) + "\n")
    return 0
