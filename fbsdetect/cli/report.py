"""`fbsdetect report --month YYYY-MM -o DIR`: the monthly figures for the
regulator (HTML with a chart, and CSV), see `fbsdetect.report.monthly`."""

from __future__ import annotations

import argparse
import sys

from fbsdetect.i18n import _, lazy

NAME = "report"
HELP = lazy("the monthly report for the regulator (HTML + CSV, PDF with --pdf): suspects by operator and "
            "area, handovers")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--month", required=True, metavar="YYYY-MM", help=_("the month to report (e.g. 2026-03)"))
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help=_("folder for report-YYYY-MM.html and the CSV files"))
    p.add_argument("--profile", default="cn", metavar="PROFILE",
                   help=_("profile giving the time zone and operator names (default: cn)"))
    p.add_argument("--timezone", metavar="TZ", help=_("time zone of the month (default: the profile's)"))
    p.add_argument("--title", default="fbsdetect", help=_("title of the report"))
    p.add_argument("--pdf", action="store_true",
                   help=_("also print the page to report-YYYY-MM.pdf (needs Chromium)"))


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fbsdetect.cli._common import db_url
    from fbsdetect.errors import BadUsage, NotAvailable
    from fbsdetect.i18n import operator_name as local_operator
    from fbsdetect.report.monthly import monthly_figures, write_pdf, write_report, zone
    from fbsdetect.scan.profile import load_profile
    from fbsdetect.store import open_store

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise BadUsage(_("-o {path} is a file: give a folder for the report").format(path=out))
    profile = load_profile(args.profile)
    tz = zone(args.timezone or profile.timezone)  # the cn profile: Asia/Shanghai

    def operator_name(mcc: int | None, mnc: int | None) -> str:
        op = profile.operator(mcc, mnc)
        code = f"{mcc}-{mnc:02d}" if mcc is not None and mnc is not None else "?"
        name = local_operator(mcc, mnc, op.name if op is not None else None)
        return f"{name} ({code})" if name else code

    with open_store(db_url(args)) as store:
        fig = monthly_figures(store, args.month, tz, operator_name)
    paths = write_report(fig, out, title=args.title)
    if args.pdf:
        try:
            pdf = write_pdf(paths[0])
        except (RuntimeError, OSError) as exc:
            raise NotAvailable(_("cannot print the report to PDF: {error}").format(error=exc)) from None
        if pdf is None:
            raise NotAvailable(_("--pdf needs Chromium (Debian: apt-get install chromium); the HTML and CSV "
                                 "files are written"))
        paths.insert(1, pdf)
    sys.stderr.write(_("report {month}: {suspects} suspects ({new} new), {obs} observations, {handovers} "
                       "handovers").format(month=args.month, suspects=len(fig.detections),
                                           new=len(fig.new_detections), obs=fig.observations,
                                           handovers=len(fig.handovers)) + "\n")
    for p in paths:
        sys.stdout.write(f"{p}\n")
    return 0
