"""`fbsdetect calibrate --source SRC`: the dongle's ppm from the FCCH of strong cells."""

from __future__ import annotations

import argparse

from fbsdetect.i18n import _, lazy

NAME = "calibrate"
HELP = lazy("measure the dongle's frequency error (ppm) from the FCCH of strong GSM cells and store it per "
            "serial")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", required=True, metavar="SRC",
                   help=_("the receiver: rtlsdr[:SERIAL|:INDEX] | rtltcp:HOST:PORT | file:PATH | "
                          "sim:SCENE.toml"))
    p.add_argument("--profile", default="cn", metavar="PROFILE",
                   help=_("scan profile whose bands are searched"))
    p.add_argument("--tunings", type=int, default=6, metavar="N",
                   help=_("tunings with the strongest carriers to decode (default 6)"))
    p.add_argument("--no-save", action="store_true", help=_("print the result only"))


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from fbsdetect.errors import BadUsage, NotAvailable
    from fbsdetect.scan.calibration import calibrate, calibration_path, load_ppm, source_key, store_ppm
    from fbsdetect.scan.profile import load_profile
    from fbsdetect.sources.open import open_source

    if args.tunings < 1:
        raise BadUsage(_("--tunings must be at least 1"))
    profile = load_profile(args.profile)
    src = open_source(args.source)
    try:
        key = source_key(src, args.source)
        before = load_ppm(key) if key else None
        res = calibrate(src, profile, max_tunings=args.tunings, ppm_guess=before or 0.0,
                        log=lambda s: print(s, file=sys.stderr))
    finally:
        src.close()
    res["serial"] = key
    res["previous_ppm"] = before
    if res["ppm"] is None:
        print(json.dumps(res))
        raise NotAvailable(_("no GSM cell decoded: no ppm estimate (check the antenna, gain and the "
                             "profile's bands)"))
    if key and not args.no_save:
        res["stored_in"] = str(store_ppm(key, res["ppm"], n_cells=res["n_cells"],
                                         spread_ppm=res["spread_ppm"], source=args.source))
    elif not key:
        res["stored_in"] = None
        print(_("the source has no serial: ppm not stored ({path})").format(path=calibration_path()),
              file=sys.stderr)
    print(json.dumps(res))
    return 0
