"""`fbsdetect hunt --source SRC (--arfcn N | --cell MCC-MNC-LAC-CID)`: walk a team to a transmitter."""

from __future__ import annotations

import argparse

from fbsdetect.i18n import _, lazy

NAME = "hunt"
HELP = (lazy("hunt one carrier: short dwells, a live power meter with trend, the running position "
        "estimate with its region and the direction to go"))


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", required=True, metavar="SRC",
                   help=_("rtlsdr[:SERIAL|:INDEX] | rtltcp:HOST:PORT | file:PATH | sim:SCENE.toml"))
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--arfcn", type=int, metavar="N", help=_("the carrier to hunt"))
    what.add_argument("--cell", metavar="MCC-MNC-LAC-CID",
                      help=_("the cell to hunt (its ARFCN is found with one sweep of the profile first)"))
    p.add_argument("--gps", metavar="GPS",
                   help=_("gpsd[:HOST:PORT] | nmea:FILE | gpx:FILE | fixed:LAT,LON (default: the scene's "
                        "route for sim:, else none: a power meter without an estimate)"))
    p.add_argument("--profile", default="cn", metavar="PROFILE",
                   help=_("scan profile (bands, sample rate, gain): a name in scanners/ or a path "
                        "(default: cn)"))
    p.add_argument("--duration-s", type=float, metavar="S", help=_("stop after S seconds (default: until ^C "
                   "or the end of a sim:/file: source)"))
    p.add_argument("--dwell-s", type=float, default=0.06, metavar="S",
                   help=_("one dwell on the carrier (FCCH + SCH + power; default 0.06)"))
    p.add_argument("--every-s", type=float, default=1.0, metavar="S",
                   help=_("one dwell every S seconds (default 1)"))
    p.add_argument("--estimate-every-s", type=float, default=5.0, metavar="S",
                   help=_("re-estimate the position and the direction every S seconds (default 5)"))
    p.add_argument(
        "--json",
        action="store_true",
        help=_(
            "one JSON line per update on stdout: {time, lat, lon, power_dbm, estimate{lat, lon, "
            "error_m}, bearing_deg, waypoint}"
        ),
    )


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from fbsdetect.errors import BadUsage
    from fbsdetect.geo import open_gps
    from fbsdetect.locate.hunt import Hunt, Meter, find_cell, parse_cell
    from fbsdetect.scan.profile import load_profile
    from fbsdetect.sources.open import open_source

    if args.duration_s is not None and args.duration_s <= 0:
        raise BadUsage(_("--duration-s must be positive"))
    if not 0.01 <= args.dwell_s <= 2.0:
        raise BadUsage(_("--dwell-s must be between 0.01 and 2 seconds"))
    if args.every_s < args.dwell_s:
        raise BadUsage(_("--every-s must be at least --dwell-s"))
    if args.estimate_every_s <= 0:
        raise BadUsage(_("--estimate-every-s must be positive"))
    if args.arfcn is not None and not 0 <= args.arfcn <= 1023:
        raise BadUsage(_("--arfcn {arfcn}: ARFCNs are 0-1023").format(arfcn=args.arfcn))
    cell = parse_cell(args.cell) if args.cell else None
    profile = load_profile(args.profile)
    quiet = bool(getattr(args, "quiet", False))

    def log(s: str) -> None:
        if not quiet:
            sys.stderr.write(s + "\n")

    src = open_source(args.source)
    gps = None
    meter = None
    try:
        gps = open_gps(args.gps, source=src)
        ppm = _stored_ppm(src, args.source)
        arfcn, bsic = args.arfcn, None
        if cell is not None:
            log(f"hunt: one sweep of profile {profile.name} to find cell {args.cell}")
            arfcn, bsic = find_cell(src, profile, cell, gps=gps, ppm=ppm, log=log)
            log(f"hunt: cell {args.cell} is on ARFCN {arfcn} (BSIC {bsic})")
        hunt = Hunt(
            src,
            profile,
            arfcn,
            bsic=bsic,
            gps=gps,
            dwell_s=args.dwell_s,
            every_s=args.every_s,
            estimate_every_s=args.estimate_every_s,
            ppm=ppm,
        )
        log(
            f"hunt: ARFCN {arfcn} ({hunt.band}, {hunt.freq_hz / 1e6:.1f} MHz), tuned to "
            f"{hunt.tuning.center_freq_hz / 1e6:.1f} MHz, a {args.dwell_s * 1e3:.0f} ms dwell every "
            f"{args.every_s:g} s"
        )
        if not quiet:
            meter = Meter(target=f"ARFCN {arfcn}" + (f" {args.cell}" if cell else ""))

        def on_update(u: object) -> None:
            if meter is not None:
                meter.update(u)  # type: ignore[arg-type]
            if args.json:
                sys.stdout.write(json.dumps(u.to_json(), separators=(",", ":")) + "\n")  # type: ignore[attr-defined]
                sys.stdout.flush()

        try:
            hunt.run(duration_s=args.duration_s, on_update=on_update)
        except KeyboardInterrupt:
            log("hunt: interrupted")
        if meter is not None:
            meter.close()
            meter = None
        e = hunt.estimate
        heard = sum(1 for r in hunt.readings if r.power_dbm is not None)
        log(
            f"hunt: {len(hunt.readings)} dwells, carrier heard in {heard}"
            + (
                f"; estimate {e.lat:.6f},{e.lon:.6f} +-{e.error_m:.0f} m"
                if e is not None and e.ok
                else (f"; no estimate ({e.reason})" if e is not None else "; no estimate")
            )
        )
    finally:
        if meter is not None:
            meter.close()
        if gps is not None:
            gps.close()
        src.close()
    return 0


def _stored_ppm(src: object, spec: str) -> float | None:
    """The dongle's stored ppm (`fbsdetect calibrate`), as the scan uses it."""
    try:
        from fbsdetect.scan.calibration import load_ppm, source_key
    except ImportError:  # pragma: no cover
        return None
    key = source_key(src, spec)
    return load_ppm(key) if key else None
