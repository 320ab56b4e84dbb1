"""`fbsdetect node --config FILE`: the fixed sensor daemon."""

from __future__ import annotations

import argparse

from fbsdetect.cli._common import not_built, require_file

NAME = "node"
HELP = "run the fixed sensor-node daemon"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, metavar="FILE", help="node configuration (TOML)")


def run(args: argparse.Namespace) -> int:
    require_file(args.config, "node config")
    raise not_built(NAME, "fleet: sensor nodes")
