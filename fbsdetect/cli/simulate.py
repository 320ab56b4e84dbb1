"""`fbsdetect simulate SCENE.toml -o DIR`: render a scene to a SigMF recording
plus a ground-truth file."""

from __future__ import annotations

import argparse
import sys

from fbsdetect.cli._common import require_file
from fbsdetect.i18n import _, lazy

NAME = "simulate"
HELP = lazy("render a scene (TOML) into a SigMF recording and a truth.json")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("scene", metavar="SCENE.toml", help=_("scene file (contracts.md section 3)"))
    p.add_argument("-o", "--output", metavar="DIR", required=True, help=_("output directory"))


def run(args: argparse.Namespace) -> int:
    from fbsdetect.sim.output import simulate
    from fbsdetect.sim.scene import load_scene

    require_file(args.scene, _("scene file"))
    scene = load_scene(args.scene)
    r = simulate(scene, args.output)
    print(r.meta_path)
    print(r.data_path)
    print(r.truth_path)
    if r.clipped_values:
        print(_("warning: {n} I/Q values clipped at full scale (lower gain_db)").format(n=r.clipped_values),
              file=sys.stderr)
    return 0
