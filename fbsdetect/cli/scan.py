"""`fbsdetect scan --source SRC`: the whole pipeline on a live or virtual source."""

from __future__ import annotations

import argparse

from fbsdetect.cli._common import not_built

NAME = "scan"
HELP = "scan a source (rtlsdr[:SERIAL], file:PATH, sim:SCENE.toml, grgsm[:ARGS]): decode, detect, store"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", required=True, metavar="SRC",
                   help="rtlsdr[:SERIAL] | file:PATH | sim:SCENE.toml | grgsm[:ARGS]")
    p.add_argument("--profile", default="cn", metavar="PROFILE",
                   help="scan profile name in scanners/ (default: cn)")
    p.add_argument("--gps", metavar="GPS", help="GPS source: gpsd[:HOST:PORT] | nmea:FILE | gpx:FILE")


def run(args: argparse.Namespace) -> int:
    raise not_built(NAME, "field survey / scan pipeline")
