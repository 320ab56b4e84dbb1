"""`fbsdetect map -o FILE.html`: a self-contained folium map of what the
store holds (observations, detections, tracks, estimated positions, the
registry), see `fbsdetect.mapping.build`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

NAME = "map"
HELP = "write a self-contained HTML map of observations, detections, tracks and positions"


def _time(s: str) -> datetime:
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{s!r} is not an ISO-8601 time (e.g. 2026-03-01T10:00:00Z)") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _operator(s: str) -> tuple[int, int]:
    try:
        mcc, mnc = s.split("-")
        return int(mcc), int(mnc)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not MCC-MNC (e.g. 460-00)") from None


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="FILE.html", help="output HTML file")
    p.add_argument("--preset", metavar="NAME",
                   help="base-map preset in maps/ (osm, offline-local, offline-mbtiles) or a preset file; "
                        "default: osm online, none with --offline")
    p.add_argument("--offline", action="store_true",
                   help="inline every script and style; refuse presets that need the internet")
    p.add_argument("--since", type=_time, metavar="TIME", help="only data from this time on (ISO-8601, UTC)")
    p.add_argument("--until", type=_time, metavar="TIME", help="only data up to this time (ISO-8601, UTC)")
    p.add_argument("--min-severity", choices=("low", "medium", "high"),
                   help="only detections of at least this severity")
    p.add_argument("--operator", type=_operator, action="append", metavar="MCC-MNC",
                   help="only this operator's cells (repeatable)")
    p.add_argument("--run", type=int, metavar="ID", help="only this scan run")
    p.add_argument("--title", default="fbsdetect", help="title shown in the legend")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fbsdetect.cli._common import db_url
    from fbsdetect.errors import BadInput, BadUsage
    from fbsdetect.mapping.build import build_map
    from fbsdetect.mapping.data import MapFilter, load_map_data
    from fbsdetect.mapping.presets import load_preset
    from fbsdetect.store import open_store

    out = Path(args.output)
    if not out.parent.resolve().is_dir():
        raise BadInput("folder does not exist", source=out.parent)
    preset = None
    if args.preset or not args.offline:
        preset = load_preset(args.preset or "osm")
        if args.offline and preset.needs_network:
            raise BadUsage(f"preset {preset.name!r} needs the internet; with --offline use offline-local, "
                           "offline-mbtiles or no --preset")
    flt = MapFilter(since=args.since, until=args.until, min_severity=args.min_severity,
                    operators=frozenset(args.operator) if args.operator else None, run_id=args.run)
    with open_store(db_url(args)) as store:
        data = load_map_data(store, flt)
    try:
        counts = build_map(data, preset, out, offline=args.offline, title=args.title)
    except OSError as exc:
        raise BadInput(f"cannot write the map: {exc.strerror}", source=out) from None
    dets = sum(counts[f"detections_{s}"] for s in ("high", "medium", "low"))
    sys.stderr.write(f"map: {out} ({counts['bytes'] / 1e6:.1f} MB): {data.n_observations} observations, "
                     f"{dets} detections, {counts['positions']} estimated positions, "
                     f"{counts['tracks']} tracks, {counts['registry']} registry cells\n")
    return 0
