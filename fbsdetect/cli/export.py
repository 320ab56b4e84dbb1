"""`fbsdetect export --format ... -o PATH`: GIS, spreadsheet, GPS-track,
Wireshark and evidence exports of the database, streamed (contracts.md
sections 1 and 8)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from fbsdetect.errors import BadUsage

NAME = "export"
HELP = "export observations and detections (geojson, kml, csv, gpx, pcap, evidence)"
FORMATS = ("geojson", "kml", "csv", "gpx", "pcap", "evidence")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", required=True, choices=FORMATS, help="output format")
    p.add_argument("-o", "--output", required=True, metavar="PATH",
                   help="output file ('-' for stdout with csv, geojson, kml, gpx)")
    p.add_argument("--since", metavar="TIME", help="only from this UTC time on (ISO-8601, e.g. 2026-03-01 "
                   "or 2026-03-01T10:00Z)")
    p.add_argument("--until", metavar="TIME", help="only before this UTC time (ISO-8601)")
    p.add_argument("--bbox", metavar="S,W,N,E", help="only inside this box (degrees)")
    p.add_argument("--detection", type=int, metavar="ID",
                   help="only this detection and its observations (required for --format evidence)")
    p.add_argument("--run", type=int, metavar="ID", help="only this scan run")
    p.add_argument("--no-pdf", action="store_true",
                   help="evidence: no PDF report even when a converter exists")
    p.add_argument("--no-map", action="store_true", help="evidence: no map")


def parse_time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise BadUsage(f"{option} {text!r}: not an ISO-8601 time (e.g. 2026-03-01T10:00:00Z)") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        s, w, n, e = (float(x) for x in text.split(","))
    except ValueError:
        raise BadUsage(f"--bbox {text!r}: expected S,W,N,E in degrees (e.g. 36.5,101.6,36.7,101.9)") from None
    if not (-90 <= s <= n <= 90 and -180 <= w <= 180 and -180 <= e <= 180):
        raise BadUsage(f"--bbox {text!r}: need -90 <= S <= N <= 90 and W, E within -180..180")
    return s, w, n, e


def _filter(args: argparse.Namespace) -> Any:
    from fbsdetect.export import ExportFilter

    since = parse_time(args.since, "--since")
    until = parse_time(args.until, "--until")
    if since is not None and until is not None and until <= since:
        raise BadUsage("--until must be after --since")
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
        raise BadUsage("--format evidence needs --detection ID")
    if out == "-" and fmt in ("pcap", "evidence"):
        raise BadUsage(f"--format {fmt} writes a binary file: give -o FILE")
    if out != "-":
        parent = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(parent):
            raise BadUsage(f"-o {out}: folder {parent} does not exist")
        if fmt != "evidence" and os.path.isdir(out):
            raise BadUsage(f"-o {out} is a directory: give the output file's name")
    store = open_store(url_from_args(args))
    try:
        if fmt == "evidence":
            from fbsdetect.export.evidence import build_evidence

            res = build_evidence(store, args.detection, out, pdf=False if args.no_pdf else None,
                                 draw_map=not args.no_map)
            sys.stderr.write(f"wrote {out}: {len(res.files)} files, signed by key {res.fingerprint}\n")
            for note in res.notes:
                sys.stderr.write(f"  {note}\n")
            return 0
        if fmt == "pcap":
            from fbsdetect.export.pcap_store import write_pcap

            n = write_pcap(store, out, flt)
            sys.stderr.write(f"wrote {out}: {n} frames\n")
            return 0
        with contextlib.ExitStack() as stack:
            if out == "-":
                f = sys.stdout
            else:
                f = stack.enter_context(open(out, "w", newline="", encoding="utf-8"))
            if fmt == "csv":
                from fbsdetect.export.csv_export import write_csv

                what = f"{write_csv(store, f, flt)} observations"
            elif fmt == "geojson":
                from fbsdetect.export.geojson import write_geojson

                st = write_geojson(store, f, flt)
                what = (f"{st.observations} observations, {st.detections} detections, {st.regions} "
                        f"uncertainty regions ({st.unlocated} observations without a position left out)")
            elif fmt == "kml":
                from fbsdetect.export.kml import write_kml

                c = write_kml(store, f, flt)
                what = (f"{c['observations']} observations, {c['detections']} detections "
                        f"({c['unlocated']} observations without a position left out)")
            else:
                from fbsdetect.export.gpx import write_gpx

                c = write_gpx(store, f, flt)
                what = f"{c['tracks']} tracks, {c['points']} points ({c['skipped']} fixes without a position)"
        if out != "-":
            sys.stderr.write(f"wrote {out}: {what}\n")
        return 0
    finally:
        store.close()
