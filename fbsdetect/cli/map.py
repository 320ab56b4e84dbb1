"""`fbsdetect map -o FILE.html`: a self-contained folium map of what the
store holds (observations, detections, tracks, estimated positions, the
registry), see `fbsdetect.mapping.build`. Written in the language of `--lang`,
times in the user's zone (`--timezone`, the config file's, the profile's with
`--profile`, else the system's) with their offset."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from fbsdetect.cli._common import db_id
from fbsdetect.i18n import _, lazy

NAME = "map"
HELP = lazy("write a self-contained HTML map of observations, detections, tracks and positions")


def _time(s: str) -> datetime:
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{value!r} is not an ISO-8601 time (e.g. 2026-03-01T10:00:00Z)").format(value=s)) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _operator(s: str) -> tuple[int, int]:
    try:
        mcc, mnc = s.split("-")
        return int(mcc), int(mnc)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{value!r} is not MCC-MNC (e.g. 460-00)").format(value=s)) from None


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="FILE.html", help=_("output HTML file"))
    p.add_argument("--preset", metavar="NAME",
                   help=_("base-map preset in maps/ (osm, offline-local, offline-mbtiles) or a preset file; "
                          "default: osm online, none with --offline"))
    p.add_argument("--offline", action="store_true",
                   help=_("inline every script and style; refuse presets that need the internet"))
    p.add_argument("--since", type=_time, metavar="TIME",
                   help=_("only data from this time on (ISO-8601, UTC)"))
    p.add_argument("--until", type=_time, metavar="TIME",
                   help=_("only data up to this time (ISO-8601, UTC)"))
    p.add_argument("--min-severity", choices=("low", "medium", "high"),
                   help=_("only detections of at least this severity"))
    p.add_argument("--operator", type=_operator, action="append", metavar="MCC-MNC",
                   help=_("only this operator's cells (repeatable)"))
    p.add_argument("--run", type=db_id, metavar="ID", help=_("only this scan run"))
    p.add_argument("--title", default="fbsdetect", help=_("title shown in the legend"))
    p.add_argument("--timezone", metavar="TZ",
                   help=_("time zone of the times shown (default: the config file's, the profile's, else the "
                          "system's)"))
    p.add_argument("--profile", metavar="PROFILE",
                   help=_("profile whose time zone to use (cn: Asia/Shanghai)"))


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fbsdetect.cli._common import db_url
    from fbsdetect.errors import BadInput, BadUsage
    from fbsdetect.i18n import LanguageError, user_zone
    from fbsdetect.mapping.build import build_map
    from fbsdetect.mapping.data import MapFilter, load_map_data
    from fbsdetect.mapping.presets import load_preset
    from fbsdetect.store import open_store

    out = Path(args.output)
    if not out.parent.resolve().is_dir():
        raise BadInput(_("folder does not exist"), source=out.parent)
    profile_zone = None
    if args.profile:
        from fbsdetect.scan.profile import load_profile

        profile_zone = load_profile(args.profile).timezone
    try:
        tz = user_zone(profile_zone, args.timezone)
    except LanguageError as exc:
        raise BadUsage(str(exc)) from None
    preset = None
    if args.preset or not args.offline:
        preset = load_preset(args.preset or "osm")
        if args.offline and preset.needs_network:
            raise BadUsage(_("preset {name!r} needs the internet; with --offline use offline-local, "
                             "offline-mbtiles or no --preset").format(name=preset.name))
    flt = MapFilter(since=args.since, until=args.until, min_severity=args.min_severity,
                    operators=frozenset(args.operator) if args.operator else None, run_id=args.run)
    with open_store(db_url(args)) as store:
        data = load_map_data(store, flt)
    try:
        counts = build_map(data, preset, out, offline=args.offline, title=args.title, tz=tz)
    except OSError as exc:
        raise BadInput(_("cannot write the map: {error}").format(error=exc.strerror), source=out) from None
    dets = sum(counts[f"detections_{s}"] for s in ("high", "medium", "low"))
    sys.stderr.write(_("map: {file} ({mb:.1f} MB): {obs} observations, {dets} detections, {pos} estimated "
                       "positions, {tracks} tracks, {reg} registry cells").format(
        file=out, mb=counts["bytes"] / 1e6, obs=data.n_observations, dets=dets, pos=counts["positions"],
        tracks=counts["tracks"], reg=counts["registry"]) + "\n")
    return 0
