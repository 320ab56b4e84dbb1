"""`fbsdetect map -o FILE.html`: a self-contained folium map."""

from __future__ import annotations

import argparse

from fbsdetect.cli._common import not_built

NAME = "map"
HELP = "write a self-contained HTML map of observations, detections, tracks and positions"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="FILE.html", help="output HTML file")


def run(args: argparse.Namespace) -> int:
    raise not_built(NAME, "storage, maps and evidence")
