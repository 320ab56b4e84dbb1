"""`fbsdetect export --format ... -o PATH`: GIS, spreadsheet, Wireshark and
evidence exports."""

from __future__ import annotations

import argparse

from fbsdetect.cli._common import not_built

NAME = "export"
HELP = "export observations and detections (geojson, kml, csv, pcap, evidence)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", required=True, choices=("geojson", "kml", "csv", "pcap", "evidence"),
                   help="output format")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="output file or directory")


def run(args: argparse.Namespace) -> int:
    raise not_built(NAME, "storage, maps and evidence")
