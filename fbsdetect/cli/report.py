"""`fbsdetect report --month YYYY-MM -o DIR`: the monthly figures for the
regulator (HTML with a chart, and CSV), see `fbsdetect.report.monthly`."""

from __future__ import annotations

import argparse
import sys

NAME = "report"
HELP = "the monthly report for the regulator (HTML + CSV): suspects by operator and area, handovers"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--month", required=True, metavar="YYYY-MM", help="the month to report (e.g. 2026-03)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder for report-YYYY-MM.html and the CSV files")
    p.add_argument("--profile", default="cn", metavar="PROFILE",
                   help="profile giving the time zone and operator names (default: cn)")
    p.add_argument("--timezone", metavar="TZ", help="time zone of the month (default: the profile's)")
    p.add_argument("--title", default="fbsdetect", help="title of the report")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fbsdetect.cli._common import db_url
    from fbsdetect.errors import BadUsage
    from fbsdetect.report.monthly import monthly_figures, write_report, zone
    from fbsdetect.scan.profile import load_profile
    from fbsdetect.store import open_store

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise BadUsage(f"-o {out} is a file: give a folder for the report")
    profile = load_profile(args.profile)
    tz = zone(args.timezone or profile.timezone)

    def operator_name(mcc: int | None, mnc: int | None) -> str:
        op = profile.operator(mcc, mnc)
        code = f"{mcc}-{mnc:02d}" if mcc is not None and mnc is not None else "?"
        return f"{op.name} ({code})" if op is not None else code

    with open_store(db_url(args)) as store:
        fig = monthly_figures(store, args.month, tz, operator_name)
    paths = write_report(fig, out, title=args.title)
    sys.stderr.write(f"report {args.month}: {len(fig.detections)} suspects ({len(fig.new_detections)} new), "
                     f"{fig.observations} observations, {len(fig.handovers)} handovers\n")
    for p in paths:
        sys.stdout.write(f"{p}\n")
    return 0
