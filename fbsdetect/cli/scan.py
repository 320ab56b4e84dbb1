"""`fbsdetect scan --source SRC`: the whole pipeline on a live or virtual source."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from fbsdetect.i18n import _, lazy
from fbsdetect.terminal import printable

NAME = "scan"
HELP = lazy(
    "scan a source (rtlsdr[:SERIAL], rtltcp:HOST:PORT, file:PATH, sim:SCENE.toml): decode, detect, store"
)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        required=True,
        metavar="SRC",
        action="append",
        help=_(
            "rtlsdr[:SERIAL|:INDEX] | rtltcp:HOST:PORT | file:PATH | sim:SCENE.toml "
            "| grgsm[:ARGS]; given several times, the dongles sweep a share of the plan each, "
            "into one scan run"
        ),
    )
    p.add_argument(
        "--profile",
        default="cn",
        metavar="PROFILE",
        help=_("scan profile: a name in scanners/ (or $FBSDETECT_SCANNERS) or a path (default: cn)"),
    )
    p.add_argument(
        "--gps",
        metavar="GPS",
        help=_(
            "gpsd[:HOST:PORT] | nmea:FILE | gpx:FILE | fixed:LAT,LON (default: the scene's "
            "route for sim:, else none)"
        ),
    )
    p.add_argument(
        "--summary-json", metavar="FILE", help=_("write the scan summary (contracts section 7) here")
    )
    p.add_argument(
        "--sensor", metavar="NAME", help=_("sensor name stored with every observation (default: host name)")
    )
    p.add_argument(
        "--learn",
        action="store_true",
        help=_("learning run: observations form the baseline of what is normal here"),
    )
    p.add_argument("--max-sweeps", type=int, metavar="N", help=_("stop after N full sweeps"))
    p.add_argument("--duration-s", type=float, metavar="S", help=_("stop after S seconds of radio time"))
    p.add_argument(
        "--no-store", action="store_true", help=_("do not write to the database (summary/log only)")
    )


def run(args: argparse.Namespace) -> int:
    import math
    import socket

    from fbsdetect import __version__
    from fbsdetect.errors import BadUsage
    from fbsdetect.scan.profile import load_profile
    from fbsdetect.scan.runner import ScanRunner
    from fbsdetect.scan.view import make_view
    from fbsdetect.sources.open import open_source

    if args.max_sweeps is not None and args.max_sweeps < 1:
        raise BadUsage(_("--max-sweeps must be at least 1"))
    if args.duration_s is not None and not (math.isfinite(args.duration_s) and args.duration_s > 0):
        raise BadUsage(_("--duration-s must be a positive number of seconds"))
    if args.summary_json:
        # said now, not after hours of scanning: the summary is written at the end
        folder = os.path.dirname(os.path.abspath(args.summary_json))
        if not os.path.isdir(folder):
            raise BadUsage(_("--summary-json {path}: folder {folder} does not exist").format(
                path=args.summary_json, folder=folder))
        if not os.access(folder, os.W_OK):
            raise BadUsage(_("--summary-json {path}: folder {folder} is not writable").format(
                path=args.summary_json, folder=folder))
    profile = load_profile(args.profile)
    specs = list(args.source) if isinstance(args.source, list) else [args.source]
    if len(specs) > 1:
        if any(s == "grgsm" or s.startswith("grgsm:") for s in specs):
            raise BadUsage(_("--source grgsm cannot be combined with other sources"))
        if len(set(specs)) != len(specs):
            raise BadUsage(_("the same --source is given twice"))
        return _run_multi(args, profile, specs)
    args.source = specs[0]
    if args.source == "grgsm" or args.source.startswith("grgsm:"):
        return _run_grgsm(args, profile.name)
    src = open_source(args.source)
    sensor = args.sensor or socket.gethostname()
    gps = None
    store = None
    try:
        from fbsdetect.geo import open_gps

        gps = open_gps(args.gps, source=src)
        store, sink = _open_sink(args, sensor)
        detector = _detector(store, profile, learn=args.learn)
        cal_key, ppm = _calibration(src, args.source)
        view = make_view(quiet=bool(getattr(args, "quiet", False)))
        snippets = _snippets(store, profile, sensor, __version__, view.log) if detector is not None else None
        runner = ScanRunner(
            src,
            profile,
            sink,
            source_spec=args.source,
            detector=detector,
            view=view,
            log=view.log,
            **_runner_options(args, gps, sensor, ppm, snippets),
        )
        try:
            summary = runner.run()
        finally:
            view.close()
            _close_quietly(detector)
        _track_calibration(cal_key, args.source, summary)
        _write_summary(args.summary_json, summary)
        n = len(summary["cells"])
        done = sum(1 for c in summary["cells"] if c["si_complete_s"] is not None)
        view.log(
            f"scan: {summary['radio_s']:.1f} s radio, {summary['sweeps']} sweeps, {n} cells "
            f"({done} with complete SI), {summary['overflows']} overflows, cpu {summary['cpu_s']:.1f} s"
        )
        if n == 0:
            for t in summary["tunings"]:
                for why in t.get("why", []):
                    view.log(f"  {t['center_freq_hz'] / 1e6:.1f} MHz: {why}")
            for why in summary["unreachable"]:
                view.log(f"  {why}")
    finally:
        if gps is not None:
            gps.close()
        src.close()
    return 0


def _runner_options(args: argparse.Namespace, gps: Any, sensor: str, ppm: float | None,
                    snippets: Any) -> dict[str, Any]:
    """The `ScanRunner` options that the single-source and the multi-source scans share."""
    from fbsdetect import __version__

    return {
        "gps": gps,
        "sensor": sensor,
        "learn": args.learn,
        "max_sweeps": args.max_sweeps,
        "duration_s": args.duration_s,
        "software_version": __version__,
        "ppm": ppm,
        "snippets": snippets,
    }


def _close_quietly(detector: Any) -> None:
    """Closes the live detector at the end of a scan; a failure there must not hide the scan's result."""
    if detector is None:
        return
    try:
        detector.close()
    except Exception:
        pass


def _write_summary(path: str | None, summary: dict[str, Any]) -> None:
    """Writes the scan summary (contracts section 7) atomically: a reader never sees half of it."""
    if not path:
        return
    import json

    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    os.replace(tmp, path)


def _open_sink(args: argparse.Namespace, sensor: str) -> tuple[Any, Any]:
    """(store, sink): a MemorySink with --no-store, else the store of --db and a StoreSink on it."""
    from fbsdetect.scan.sink import MemorySink

    if args.no_store:
        return None, MemorySink()
    from fbsdetect.store import open_store, url_from_args
    from fbsdetect.store.sink import StoreSink

    store = open_store(url_from_args(args))
    return store, StoreSink(store, sensor=sensor)


def _detector(store: object, profile: object, *, learn: bool = False) -> Any:
    """The live detector (`fbsdetect.detect.live.Detector`) when it is built."""
    try:
        from fbsdetect.detect.live import Detector
    except ImportError:
        return None
    return Detector(store, profile, config={"learn": learn})


def _run_multi(args: argparse.Namespace, profile: Any, specs: list[str]) -> int:
    """Several sources at once (`fbsdetect.scan.multi`): one scan run, a share of the plan each."""
    import socket
    import sys

    from fbsdetect import __version__
    from fbsdetect.scan.flags import CellFlags
    from fbsdetect.scan.multi import run_multi
    from fbsdetect.scan.runner import ScanRunner
    from fbsdetect.sources.open import open_source

    sensor = args.sensor or socket.gethostname()
    srcs: list[Any] = []
    gps = None
    store = None
    try:
        for s in specs:
            srcs.append(open_source(s))
        from fbsdetect.geo import open_gps

        gps = open_gps(args.gps, source=srcs[0])
        store, sink = _open_sink(args, sensor)
        detector = _detector(store, profile, learn=args.learn)

        def say(s: str) -> None:
            if not getattr(args, "quiet", False):
                sys.stderr.write(printable(s) + "\n")  # may quote what a cell sent (terminal.py)

        # one snippet keeper (one run folder, one numbering, one set of bounds) and one book of
        # flagged cells for all the runners: a cell flagged through one dongle is flagged for all
        snip = _snippets(store, profile, sensor, __version__, say) if detector is not None else None
        if snip is not None:
            snip.shared = True
        flags = CellFlags()

        def make(src: Any, prof: Any, snk: Any, **kw: Any) -> ScanRunner:
            _key, ppm = _calibration(src, kw["source_spec"])
            opts = _runner_options(args, gps, sensor, ppm, snip)
            return ScanRunner(src, prof, snk, flags=flags, **opts, **kw)

        try:
            summary = run_multi(srcs, specs, profile, sink, make_runner=make, detector=detector, log=say)
        finally:
            _close_quietly(detector)
        _write_summary(args.summary_json, summary)
        n = len(summary["cells"])
        say(
            f"scan: {len(specs)} sources, {summary['radio_s']:.1f} s radio, {summary['sweeps']} sweeps, "
            f"{n} cells, {summary['overflows']} overflows"
        )
    finally:
        if gps is not None:
            gps.close()
        for src in srcs:
            src.close()
    return 0


def _snippets(store: Any, profile: Any, sensor: str, version: str,
              say: Callable[[str], None] | None = None) -> Any:
    """The keeper of flagged cells' IQ snippets (`scan.snippets`) in the database's snippet
    folder (`export.evidence.snippet_home`, the one `export --format evidence` resolves
    references against): `<db folder>/<db name>.iq/run<N>/` for SQLite, under
    `$FBSDETECT_IQ_DIR` (default `$XDG_DATA_HOME/fbsdetect/iq`) for PostgreSQL; None without
    a store or for an in-memory database (said once through `say`)."""
    if store is None:
        return None
    from fbsdetect.export.evidence import snippet_home
    from fbsdetect.scan.snippets import SnippetKeeper

    home = snippet_home(store)
    if home is None:
        if say is not None:
            say(_("scan: no IQ snippets: the database is in memory (nothing could refer to them after "
                  "the scan)"))
        return None
    base, sub = home
    r = profile.radio
    return SnippetKeeper(
        base,
        subdir=sub,
        cell_max_bytes=int(r.iq_snippet_cell_max_mb * 2**20),
        total_max_bytes=int(r.iq_snippet_total_max_mb * 2**20),
        sensor=sensor,
        software=version,
    )


def _calibration(src: object, spec: str) -> tuple[str | None, float | None]:
    """The stored ppm of this dongle (`fbsdetect calibrate`): (key, ppm)."""
    from fbsdetect.scan.calibration import load_ppm, source_key

    key = source_key(src, spec)
    return key, (load_ppm(key) if key else None)


def _track_calibration(key: str | None, spec: str, summary: dict[str, Any]) -> None:
    """Keeps the stored ppm of a dongle with a serial up to date from the scan's cells."""
    from fbsdetect.scan.calibration import store_ppm

    p = summary.get("ppm") or {}
    if key and not spec.startswith("sim:") and p.get("estimate") is not None and p.get("n_cells", 0) >= 3:
        store_ppm(key, p["estimate"], n_cells=p["n_cells"], spread_ppm=p["spread_ppm"] or 0.0, source=spec)


def _run_grgsm(args: argparse.Namespace, profile_name: str) -> int:
    """`--source grgsm:...`: gr-gsm does the radio part (fbsdetect.grgsm.scan)."""
    import socket
    import sys

    from fbsdetect import __version__
    from fbsdetect.grgsm.scan import run_grgsm_scan
    from fbsdetect.scan.profile import load_profile

    sensor = args.sensor or socket.gethostname()
    store, sink = _open_sink(args, sensor)
    gps = None
    if args.gps:
        from fbsdetect.geo import open_gps

        gps = open_gps(args.gps)
    detector = _detector(store, load_profile(args.profile))

    def say(s: str) -> None:
        if not getattr(args, "quiet", False):
            sys.stderr.write(printable(s) + "\n")  # may quote what a cell sent (terminal.py)

    try:
        summary = run_grgsm_scan(
            args.source,
            sink,
            profile=profile_name,
            sensor=sensor,
            software_version=__version__,
            gps=gps,
            detector=detector,
            learn=args.learn,
            say=say,
        )
    finally:
        _close_quietly(detector)
        if gps is not None:
            gps.close()
        if store is not None:
            store.close()
    _write_summary(args.summary_json, summary)
    return 0
