"""`fbsdetect registry import FILE`: import known cells from an OpenCellID /
MLS style CSV, streaming."""

from __future__ import annotations

import argparse

from fbsdetect.cli._common import not_built, require_file

NAME = "registry"
HELP = "manage the known-cell registry (import OpenCellID/MLS CSV)"


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="registry_command", metavar="ACTION", help="what to do")
    sub.required = True
    imp = sub.add_parser("import", help="import an OpenCellID/MLS CSV (optionally .gz), streaming")
    imp.add_argument("file", metavar="FILE", help="CSV with the OpenCellID header (contracts.md section 6)")
    imp.add_argument("--mcc", type=int, action="append", metavar="N",
                     help="keep only this MCC (repeatable)")
    imp.add_argument("--bbox", metavar="S,W,N,E", help="keep only cells inside this box (degrees)")


def run(args: argparse.Namespace) -> int:
    require_file(args.file, "registry CSV")
    raise not_built("registry import", "detection: registry import")
