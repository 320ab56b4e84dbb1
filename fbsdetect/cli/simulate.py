"""`fbsdetect simulate SCENE.toml -o DIR`: render a scene to a SigMF recording
plus a ground-truth file."""

from __future__ import annotations

import argparse

from fbsdetect.cli._common import not_built, require_file

NAME = "simulate"
HELP = "render a scene (TOML) into a SigMF recording and a truth.json"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("scene", metavar="SCENE.toml", help="scene file (contracts.md section 3)")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="output directory")


def run(args: argparse.Namespace) -> int:
    require_file(args.scene, "scene file")
    raise not_built(NAME, "scene simulator")
