"""`fbsdetect export --format ... -o PATH`: GIS, spreadsheet, GPS-track,
Wireshark and evidence exports of the database, streamed (contracts.md
sections 1 and 8)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from fbsdetect.cli._common import db_id
from fbsdetect.errors import BadUsage
from fbsdetect.i18n import _, lazy

NAME = "export"
HELP = lazy("export observations and detections (geojson, kml, csv, gpx, pcap, evidence)")
FORMATS = ("geojson", "kml", "csv", "gpx", "pcap", "evidence")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", required=True, choices=FORMATS, help=_("output format"))
    p.add_argument("-o", "--output", required=True, metavar="PATH",
                   help=_("output file ('-' for stdout with csv, geojson, kml, gpx)"))
    p.add_argument("--since", metavar="TIME", help=_("only from this UTC time on (ISO-8601, e.g. 2026-03-01 "
                                                     "or 2026-03-01T10:00Z)"))
    p.add_argument("--until", metavar="TIME", help=_("only before this UTC time (ISO-8601)"))
    p.add_argument("--bbox", metavar="S,W,N,E", help=_("only inside this box (degrees)"))
    p.add_argument("--detection", type=db_id, metavar="ID",
                   help=_("only this detection and its observations (required for --format evidence)"))
    p.add_argument("--run", type=db_id, metavar="ID", help=_("only this scan run"))
    p.add_argument("--no-pdf", action="store_true",
                   help=_("evidence: no PDF report even when a converter exists"))
    p.add_argument("--no-map", action="store_true", help=_("evidence: no map"))


def parse_time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise BadUsage(_("{option} {value!r}: not an ISO-8601 time (e.g. 2026-03-01T10:00:00Z)").format(
            option=option, value=text)) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        s, w, n, e = (float(x) for x in text.split(","))
    except ValueError:
        raise BadUsage(_("--bbox {value!r}: expected S,W,N,E in degrees (e.g. 36.5,101.6,36.7,101.9)").format(
            value=text)) from None
    if not (-90 <= s <= n <= 90 and -180 <= w <= 180 and -180 <= e <= 180):
        raise BadUsage(_("--bbox {value!r}: need -90 <= S <= N <= 90 and W, E within -180..180").format(
            value=text))
    return s, w, n, e


def _filter(args: argparse.Namespace) -> Any:
    from fbsdetect.export import ExportFilter

    since = parse_time(args.since, "--since")
    until = parse_time(args.until, "--until")
    if since is not None and until is not None and until <= since:
        raise BadUsage(_("--until must be after --since"))
    return ExportFilter(since=since, until=until, bbox=parse_bbox(args.bbox), detection_id=args.detection,
                        run_id=args.run)


def run(args: argparse.Namespace) -> int:
    import contextlib
    import os

    from fbsdetect.store import open_store, url_from_args

    flt = _filter(args)
    fmt = args.format
    out = args.output
    if fmt == "evidence" and args.detection is None:
        raise BadUsage(_("--format evidence needs --detection ID"))
    if out == "-" and fmt in ("pcap", "evidence"):
        raise BadUsage(_("--format {format} writes a binary file: give -o FILE").format(format=fmt))
    if out != "-":
        parent = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(parent):
            raise BadUsage(_("-o {path}: folder {folder} does not exist").format(path=out, folder=parent))
        if fmt != "evidence" and os.path.isdir(out):
            raise BadUsage(_("-o {path} is a directory: give the output file's name").format(path=out))
    store = open_store(url_from_args(args))
    try:
        if fmt == "evidence":
            from fbsdetect.export.evidence import build_evidence

            res = build_evidence(store, args.detection, out, pdf=False if args.no_pdf else None,
                                 draw_map=not args.no_map)
            sys.stderr.write(_("wrote {path}: {n} files, signed by key {key}").format(
                path=out, n=len(res.files), key=res.fingerprint) + "\n")
            for note in res.notes:
                sys.stderr.write(f"  {note}\n")
            return 0
        if fmt == "pcap":
            from fbsdetect.export.pcap_store import write_pcap

            n = write_pcap(store, out, flt)
            sys.stderr.write(_("wrote {path}: {n} frames").format(path=out, n=n) + "\n")
            return 0
        with contextlib.ExitStack() as stack:
            if out == "-":
                f = sys.stdout
            else:
                f = stack.enter_context(open(out, "w", newline="", encoding="utf-8"))
            if fmt == "csv":
                from fbsdetect.export.csv_export import write_csv

                what = _("{n} observations").format(n=write_csv(store, f, flt))
            elif fmt == "geojson":
                from fbsdetect.export.geojson import write_geojson

                st = write_geojson(store, f, flt)
                what = _("{obs} observations, {dets} detections, {regions} uncertainty regions ({unlocated} "
                         "observations without a position left out)").format(
                    obs=st.observations, dets=st.detections, regions=st.regions, unlocated=st.unlocated)
            elif fmt == "kml":
                from fbsdetect.export.kml import write_kml

                c = write_kml(store, f, flt)
                what = _("{obs} observations, {dets} detections ({unlocated} observations without a position "
                         "left out)").format(obs=c["observations"], dets=c["detections"],
                                             unlocated=c["unlocated"])
            else:
                from fbsdetect.export.gpx import write_gpx

                c = write_gpx(store, f, flt)
                what = _("{tracks} tracks, {points} points ({skipped} fixes without a position)").format(
                    tracks=c["tracks"], points=c["points"], skipped=c["skipped"])
        if out != "-":
            sys.stderr.write(_("wrote {path}: {what}").format(path=out, what=what) + "\n")
        return 0
    finally:
        store.close()
