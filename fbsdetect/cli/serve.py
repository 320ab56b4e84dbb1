"""`fbsdetect serve`: the central server."""

from __future__ import annotations

import argparse

from fbsdetect.cli._common import not_built

NAME = "serve"
HELP = "run the central server (ingest from nodes, queries, dashboard)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="listen address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="listen port (default: 8080)")


def run(args: argparse.Namespace) -> int:
    raise not_built(NAME, "fleet: central server")
