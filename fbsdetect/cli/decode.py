"""`fbsdetect decode RECORDING`: every GSM carrier in a recording, one cell
observation per cell (contracts.md sections 1, 2 and 4).

RECORDING "-" reads raw samples from standard input (`rtl_sdr -f F -s R - |
fbsdetect decode - --rate R --freq F`; --format defaults to cu8, rtl_sdr's
output): stdin is read in 1 MiB chunks into a temporary file until end of
stream or `--max-s` seconds of samples (default 10 s), then reading stops
and the buffered samples are decoded (the receiver needs random access to
them; a continuous live decoder is `scan`).

Output on stdout: a table (default; its first line gives each capture's
estimated receiver error in ppm, as kalibrate prints it, and the power
reference), JSON lines of cell observations (`--json`: contracts.md section
4 plus `"ppm"`, the receiver's error estimated from every cell of that
capture, after `freq_offset_hz`; null when unknown), or every decoded L2
frame as a JSON line (`--frames`, no early stop). `-v` prints the counted
outcomes of every carrier on stderr, including carriers whose FCCH was seen
but that could not be decoded (band edge, SCH failed). The work is done by `fbsdetect.receiver`.

Power: dBm when the recording states its gain (`fbsdetect:gain_db`), else
dBFS (`"power_ref": "dBFS"`) relative to the format's full scale
(`sources.recording.FULL_SCALE`: cf32 1.0; cu8, ci8 and ci16 scaled to +-1),
so a signal inside full scale never reads above 0 dBFS; the table's first
line names the reference. A recording whose values exceed it (a cf32 file of
unscaled integers, like the real GSMSP capture with |I|, |Q| up to ~17 000)
is decoded with a warning on stderr and its powers read above 0 dBFS. A cf32
file whose values cannot be samples (NaN/inf, magnitudes beyond 1e9: another
format's bytes) is refused (exit 2) before decoding. A SigMF recording whose
data does not match its `core:sha512` is decoded with a warning
(`sources.recording.verify_checksum` makes it an error where it must be).

When no cell is found, or the receiver's error is beyond a dongle's, one line
on stderr says what was seen (signal level, FCCH candidates, SCHs decoded of
those tried: the counted outcomes) and the likely cause (`explain`): a span
holding no GSM channel (--freq), FCCH-like tones without SCH (--rate),
values filling the whole range like noise (random bytes, --format), silence.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fbsdetect.i18n import _, lazy

if TYPE_CHECKING:
    from fbsdetect.pipeline.identities import FramePseudonymiser
    from fbsdetect.receiver import DecodeResult
    from fbsdetect.sources.recording import RecordingInfo, ValueSurvey
    from fbsdetect.types import CellObservation, L2Frame

STDIN_MAX_S = 10.0
"""Default limit of what `decode -` reads from a pipe (10 s at 2.4 MS/s cu8:
48 MB in a temporary file, removed at exit)."""

NAME = "decode"
HELP = lazy("decode every GSM carrier in a recording (SigMF or raw cu8/ci8/cf32)")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "recording",
        metavar="RECORDING",
        help=_(
            "SigMF file (meta or data) or raw .cu8/.cs8/.ci8/.cfile/.cf32; '-' reads raw samples"
            " from standard input (rtl_sdr ... - | fbsdetect decode - --rate HZ --freq HZ;"
            " --format defaults to cu8 there)"
        ),
    )
    p.add_argument(
        "--rate",
        type=float,
        metavar="HZ",
        help=_(
            "sample rate of a raw recording (a SigMF recording states its own: a different"
            " value is refused, exit 2)"
        ),
    )
    p.add_argument(
        "--freq", type=float, metavar="HZ", help=_("centre frequency of a raw recording (SigMF: as --rate)")
    )
    p.add_argument(
        "--format",
        choices=("cu8", "ci8", "cs8", "cf32", "cfile", "ci16"),
        help=_("sample format of a raw recording (default: from the file name; SigMF: as --rate)"),
    )
    p.add_argument(
        "--max-s",
        type=float,
        default=STDIN_MAX_S,
        metavar="S",
        help=_("with '-': read at most S seconds of samples from standard input, then stop reading and "
               "decode (default {default}; buffered in a temporary file)").format(default=f"{STDIN_MAX_S:g}"),
    )
    p.add_argument(
        "--json",
        action="store_true",
        help=_('one JSON cell observation per line (with "ppm", the receiver\'s estimated error)'),
    )
    p.add_argument(
        "--frames",
        action="store_true",
        help=_("print every decoded L2 frame as a JSON line instead of cells (no early stop)"),
    )
    p.add_argument("--pcap", metavar="FILE", help=_("also write every decoded frame as GSMTAP (pcapng)"))
    p.add_argument("--gsmtap", metavar="HOST:PORT", help=_("also stream decoded frames as GSMTAP/UDP"))
    # the receiver's two knobs (checked in _run: --si-repeats >= 1, --search-s 0.02..10)
    for flag, kind, default, metavar, text in (
        ("--si-repeats", int, 2, "N",
         _("stop a carrier once every SI type it sends was decoded N times (default 2)")),
        ("--search-s", float, 0.15, "S", _("seconds at the start searched for FCCH bursts (default 0.15)")),
    ):
        p.add_argument(flag, type=kind, default=default, metavar=metavar, help=text)
    p.add_argument(
        "--backend",
        choices=("native", "grgsm"),
        default="native",
        help=_(
            "native: fbsdetect's receiver (default); grgsm: Debian's gr-gsm in a subprocess,"
            " its frames through the same SI parsing (no BSIC, SNR or offset: gr-gsm does not"
            " output them)"
        ),
    )


def _table(cells: list[CellObservation], header: str = "") -> str:
    """One line per cell; beside identity, power and SNR the SI parameters a
    fake cell tends to give away (contracts.md 4 `params`): CRO (cell
    reselection offset, raw 0..63), RXmin (RXLEV_ACCESS_MIN, raw 0..63), nbr
    (neighbour ARFCNs listed in SI2*), 2q (SI2quater seen), T3212 (periodic
    location update, deci-hours; 0 = never)."""
    head = (
        f"{'ARFCN':>5} {'band':<8} {'MHz':>9} {'BSIC':>4} {'MCC':>4} {'MNC':>4} {'LAC':>6} "
        f"{'CID':>6} {'power':>7} {'ref':<4} {'SNR':>5} {'offs Hz':>8} {'ok/bad':>7} "
        f"{'CRO':>3} {'RXmin':>5} {'nbr':>3} {'2q':>2} {'T3212':>5}  SI"
    )
    lines = ([header] if header else []) + [head]

    def f(v: Any, spec: str = "") -> str:
        return "-" if v is None else format(v, spec)

    for c in cells:
        p = c.params or {}
        nbr = p.get("neighbours")
        lines.append(
            f"{c.arfcn:>5} {c.band or '-':<8} {c.freq_hz / 1e6 if c.freq_hz else 0:>9.1f} {f(c.bsic):>4} "
            f"{f(c.mcc):>4} {f(c.mnc):>4} {f(c.lac):>6} {f(c.cid):>6} {f(c.power_dbm, '.1f'):>7} "
            f"{c.power_ref:<4} {f(c.snr_db, '.1f'):>5} {f(c.freq_offset_hz, '.0f'):>8} "
            f"{f'{c.blocks_ok}/{c.blocks_bad}':>7} {f(p.get('cro')):>3} {f(p.get('rxlev_access_min')):>5} "
            f"{f(None if nbr is None else len(nbr)):>3} {'y' if '2quater' in c.si else 'n':>2} "
            f"{f(p.get('t3212')):>5}  {' '.join(c.si)}"
        )
    return "\n".join(lines)


def _with_ppm(d: dict[str, Any], res: DecodeResult) -> dict[str, Any]:
    """An observation's JSON with `ppm` after `freq_offset_hz`: the receiver's
    error estimated from every cell of that capture (kalibrate's figure; the
    same on each line of one capture; null when no cell gave one)."""
    ppm = None if res.ppm is None else round(res.ppm.ppm, 2)
    out: dict[str, Any] = {}
    for k, v in d.items():
        out[k] = v
        if k == "freq_offset_hz":
            out["ppm"] = ppm
    if "ppm" not in out:
        out["ppm"] = ppm
    return out


def _warn(text: str) -> None:
    sys.stderr.write(_("fbsdetect decode: warning: {text}").format(text=text) + "\n")


def _header(results: list[DecodeResult], reference: str, gain_db: float | None) -> str:
    """The table's first line: each capture, the receiver's ppm error (as
    kalibrate prints it) and what the power column is relative to."""
    parts = []
    for res in results:
        n = 0 if res.ppm is None else res.ppm.n_cells
        ppm = (
            "ppm unknown"
            if res.ppm is None
            else (f"receiver error {res.ppm.ppm:+.2f} ppm ({n} cell{'s' if n != 1 else ''})")
        )
        parts.append(
            f"{res.center_freq_hz / 1e6:.3f} MHz, {res.sample_rate_hz / 1e6:.4g} MS/s, "
            f"{res.duration_s:.2f} s: {ppm}"
        )
    power = (
        f"power dBm (dBFS - gain {gain_db:g} dB)"
        if gain_db is not None
        else f"power dBFS (0 dBFS = {reference})"
    )
    return "# " + "; ".join(parts) + "; " + power


PPM_PLAUSIBLE = 30.0
"""A dongle's error beyond this (ppm) suggests a wrong centre frequency: RTL-SDR
crystals are within ~+-30 ppm (TCXO models ~1-2 ppm)."""


def explain(results: list[DecodeResult], survey: Callable[[], ValueSurvey]) -> list[str]:
    """What was seen and the likely cause, when the outcome looks like a wrong
    --rate/--freq/--format or a file that is no GSM capture (no cell found, or
    an implausible ppm error). Empty when nothing looks wrong. `survey` gives
    the recording's `ValueSurvey` (called only when no cell was found)."""
    from fbsdetect.gsm.bands import arfcns_in_span

    cells = [r for res in results for r in res.carriers if r.is_cell]
    out: list[str] = []
    if cells:
        for res in results:
            if res.ppm is not None and abs(res.ppm.ppm) > PPM_PLAUSIBLE:
                out.append(
                    f"the receiver's error reads {res.ppm.ppm:+.1f} ppm at "
                    f"{res.center_freq_hz / 1e6:.3f} MHz, beyond a dongle's +-{PPM_PLAUSIBLE:.0f} ppm:"
                    " is the centre frequency (--freq) right?"
                )
        return out
    values = survey()
    carriers = [r for res in results for r in res.carriers]
    fcch = sum(r.stats.fcch for r in carriers)
    sch_tried = sum(r.stats.sch_tried for r in carriers)
    sch_ok = sum(r.stats.sch_ok for r in carriers)
    power = "silent (all zero)" if values.power_dbfs is None else f"{values.power_dbfs:+.1f} dBFS"
    seen = (
        f"seen: signal {power}, {fcch} FCCH candidate(s) on {len(carriers)} carrier(s), "
        f"SCH decoded {sch_ok} of {sch_tried} tried"
    )
    if any(
        not arfcns_in_span(
            res.center_freq_hz - res.sample_rate_hz / 2, res.center_freq_hz + res.sample_rate_hz / 2
        )
        for res in results
    ):
        cause = (
            "no GSM downlink channel lies inside the capture's span: is the centre frequency (--freq) right?"
        )
    elif values.power_dbfs is None or values.power_dbfs < -90:
        cause = "the recording holds no signal (antenna, gain, or a capture of zeros?)"
    elif sch_tried and not sch_ok:
        offs = [r.offset_hz for r in carriers if r.stats.fcch]
        spread = (
            f" (offsets {min(offs) / 1e3:+.0f} .. {max(offs) / 1e3:+.0f} kHz from the channel raster)"
            if offs
            else ""
        )
        cause = (
            f"strong tones where FCCH bursts would be{spread} but no SCH: is the sample rate (--rate) "
            "right? A wrong rate keeps such tones but breaks the frame timing"
        )
    elif fcch == 0 and values.power_dbfs > -4.0:
        cause = (
            "no FCCH tone, and the values fill the format's whole range like noise: not IQ samples of "
            "this format (random bytes, a wrong --format), or a capture clipped by too much gain"
        )
    elif fcch == 0:
        cause = (
            "no FCCH tone in the first search: no GSM BCCH carrier inside the span (wrong --freq?), "
            "or a wrong --format"
        )
    else:
        cause = "FCCH tones but no carrier could be decoded (band edge, DC spike, too weak): see -v"
    return [f"{seen}; likely cause: {cause}"]


def _outcomes(results: list[DecodeResult]) -> str:
    lines = []
    for res in results:
        ppm = (
            "unknown"
            if res.ppm is None
            else (
                f"{res.ppm.ppm:+.2f} ppm from {res.ppm.n_cells} carrier(s), spread {res.ppm.spread_ppm:.2f}"
            )
        )
        dc = "" if res.dc_offset_dbfs is None else f"; DC offset {res.dc_offset_dbfs:.1f} dBFS removed"
        if res.dc_spike_db is not None:
            dc += f", DC spike {res.dc_spike_db:+.1f} dB over its surroundings"
        lines.append(
            f"capture {res.center_freq_hz / 1e6:.3f} MHz, {res.sample_rate_hz / 1e6:.4g} MS/s, "
            f"{res.duration_s:.2f} s; receiver error {ppm}{dc}"
        )
        if not res.carriers:
            lines.append("  no FCCH found")
        for r in res.carriers:
            st = r.stats
            bsic = "-" if r.bsic is None else r.bsic
            lines.append(
                f"  ARFCN {r.arfcn:>4} {r.band:<8} {r.status_text:<26} BSIC {bsic:>2}"
                f"  offset {r.offset_hz:+8.0f} Hz  FCCH {st.fcch_refined}/{st.fcch}"
                f"  SCH {st.sch_ok}/{st.sch_tried}  bursts {st.bursts}  blocks ok {st.blocks_ok}"
                f" bad-crc {st.blocks_bad} idle {st.blocks_idle} incomplete {st.blocks_incomplete}"
                f"  decoded up to {st.frames_decoded_s:.2f} s"
                + ("  (DC spike in band)" if st.dc_spike else "")
            )
    return "\n".join(lines)


def _sinks(args: argparse.Namespace, info: RecordingInfo) -> list[Any]:
    from fbsdetect.pipeline.sinks import open_sinks

    return open_sinks(pcap=args.pcap, gsmtap=args.gsmtap)


def run(args: argparse.Namespace) -> int:
    if args.recording != "-":
        return _run(args, args.recording)
    import tempfile
    from pathlib import Path

    from fbsdetect.errors import BadUsage
    from fbsdetect.sources.recording import spool_stream

    if args.rate is None or args.freq is None:
        raise BadUsage(_("decode - (standard input) needs --rate HZ and --freq HZ (and --format unless cu8)"))
    if not args.rate > 0 or not args.max_s > 0:
        raise BadUsage(_("--rate and --max-s must be positive"))
    fmt = args.format or "cu8"
    with tempfile.TemporaryDirectory(prefix="fbsdetect-stdin-") as tmp:
        path = Path(tmp) / f"stdin.{fmt}"
        from fbsdetect.sources.recording import FORMATS, normalise_format

        per = FORMATS[normalise_format(fmt)][1]
        spool_stream(sys.stdin.buffer, path, fmt, max_bytes=int(args.max_s * args.rate) * per)
        return _run(args, str(path), fmt=fmt)


def _run(args: argparse.Namespace, recording: str, fmt: str | None = None) -> int:
    import numpy as np

    from fbsdetect.errors import BadUsage
    from fbsdetect.pipeline.identities import for_output
    from fbsdetect.pipeline.sinks import close_all, emit
    from fbsdetect.receiver import ReceiverConfig, cell_observations, decode_recording
    from fbsdetect.sources.recording import (
        FULL_SCALE,
        Recording,
        check_values,
        checksum_status,
        inspect,
        survey,
    )

    if args.si_repeats < 1:
        raise BadUsage(_("--si-repeats must be at least 1"))
    if not 0.02 <= args.search_s <= 10:
        raise BadUsage(_("--search-s must be between 0.02 and 10 seconds"))
    info = inspect(recording, sample_rate_hz=args.rate, center_freq_hz=args.freq, fmt=fmt or args.format)
    rec = Recording(info)
    if info.sha512 is not None and checksum_status(info) == "mismatch" and not args.quiet:
        meta_name = info.meta_path.name if info.meta_path else "its metadata"
        _warn(
            f"{info.data_path.name} does not match the core:sha512 of {meta_name}: the data was "
            "modified or truncated since it was recorded; decoding it anyway"
        )
    # integer formats hold samples whatever their bytes, inside full scale: only
    # cf32 is looked at before decoding (another format's bytes: exit 2 before numpy warns)
    values = check_values(rec) if info.datatype == "cf32_le" else None
    if args.backend == "grgsm":
        return _run_grgsm(args, info)
    if values is not None and values.exceeds_full_scale and not args.quiet:
        _warn(
            f"{info.data_path.name} exceeds the {values.reference} (largest |I|, |Q| {values.peak:.4g}, "
            f"mean power {values.power_dbfs:+.1f} dBFS): powers are relative to that full scale and read "
            "above 0 dBFS"
            + (
                " (unscaled 16-bit values stored as floats? full scale 32768 would read 90.3 dB lower)"
                if values.peak <= 32768
                else ""
            )
        )
    if sys.stderr.isatty() and not args.quiet:
        sys.stderr.write(
            _("decoding {name} ({duration_s} s at {rate} MS/s) ...").format(
                name=info.data_path.name, duration_s=f"{info.duration_s:.1f}",
                rate=f"{info.sample_rate_hz / 1e6:.4g}") + "\n"
        )
    sinks = _sinks(args, info)  # before the work: a bad --pcap path or --gsmtap host fails at once
    cfg = ReceiverConfig(search_s=args.search_s, si_repeats=args.si_repeats, all_frames=args.frames)
    try:
        with np.errstate(all="ignore"):  # odd bytes (random data, a wrong format) must not warn
            results = decode_recording(rec, config=cfg)
    except BaseException:
        close_all(sinks)
        raise
    frames: list[L2Frame] = sorted(
        (f for res in results for c in res.carriers for f in c.frames),
        key=lambda f: (f.time_s or 0.0, f.arfcn or 0),
    )
    if info.gain_db is not None:  # the receiver measures dBFS; dBm = dBFS - gain (contracts.md 4)
        frames = [
            replace(
                f,
                power_dbm=None if f.power_dbm is None else round(f.power_dbm - info.gain_db, 1),
                power_ref="dBm",
            )
            for f in frames
        ]
    t0 = info.start_time.timestamp() if info.start_time else 0.0
    # what leaves the process carries no identity in clear (pipeline.identities)
    pseudo = for_output() if (args.frames or sinks) else None
    shown = frames if pseudo is None else pseudo.all(frames)
    try:
        emit(sinks, shown, t0, info.lat, info.lon)
    finally:
        close_all(sinks)
    _say_pseudonymised(pseudo, args.quiet)
    if args.frames:
        _print_frames(shown)
    else:

        def position_at(t_s: float) -> tuple[float | None, float | None]:
            """The receiver position of the SigMF capture holding instant t_s."""
            now = [c for c in info.captures if c.sample_start <= t_s * info.sample_rate_hz]
            cap = now[-1] if now else None
            return (cap.lat, cap.lon) if cap is not None else (info.lat, info.lon)

        per_capture = [
            (
                res,
                cell_observations(
                    res, start_time=info.start_time, gain_db=info.gain_db, position_at=position_at
                ),
            )
            for res in results
        ]
        _print_cells(
            [(c, _with_ppm(c.to_json(), res)) for res, cs in per_capture for c in cs], args.json,
            _header(results, FULL_SCALE[info.datatype], info.gain_db), "no GSM cell found",
        )
    if not args.quiet:
        for line in explain(results, lambda: values if values is not None else survey(rec)):
            sys.stderr.write(_("fbsdetect decode: {text}").format(text=line) + "\n")
    if args.verbose:
        sys.stderr.write(_outcomes(results) + "\n")
    return 0


def _run_grgsm(args: argparse.Namespace, info: RecordingInfo) -> int:
    """`--backend grgsm`: gr-gsm decodes (fbsdetect.grgsm), the frames go through
    the same outputs: --frames, --pcap, --gsmtap, cells as a table or --json."""
    from fbsdetect.grgsm.backend import GrgsmProcess, file_args
    from fbsdetect.grgsm.observe import observations_from_frames
    from fbsdetect.pipeline.identities import for_output
    from fbsdetect.pipeline.sinks import close_all, emit

    sinks = _sinks(args, info)
    t0 = info.start_time.timestamp() if info.start_time else 0.0
    pseudo = for_output() if (args.frames or sinks) else None
    frames: list[L2Frame] = []  # as decoded, for the cells
    shown: list[L2Frame] = []  # as written out
    try:
        with GrgsmProcess(
            file_args(
                info.data_path,
                fmt=info.datatype.replace("_le", ""),
                sample_rate_hz=info.sample_rate_hz,
                center_freq_hz=info.center_freq_hz,
            )
        ) as proc:
            for fr in proc:
                frames.append(fr)
                shown.append(fr if pseudo is None else pseudo(fr))
                emit(sinks, shown[-1:], t0, info.lat, info.lon)  # as gr-gsm gives them: a live view
    finally:
        close_all(sinks)
    _say_pseudonymised(pseudo, args.quiet)
    if args.frames:
        _print_frames(shown)
        return 0
    cells = observations_from_frames(frames, time=info.start_time, lat=info.lat, lon=info.lon)
    _print_cells([(c, c.to_json()) for c in cells], args.json,
                 "backend: gr-gsm (power in gr-gsm's own units)", "no GSM cell found (gr-gsm backend)")
    return 0


def _print_frames(frames: list[L2Frame]) -> None:
    """`--frames`: every frame as a JSON line (contracts.md section 1)."""
    out = sys.stdout
    for fr in frames:
        out.write(json.dumps(fr.to_json()) + "\n")


def _say_pseudonymised(pseudo: FramePseudonymiser | None, quiet: bool) -> None:
    """One line on stderr when frames written out had their subscriber identities replaced."""
    if pseudo is not None and pseudo.changed and not quiet:
        sys.stderr.write(
            _(
                "fbsdetect decode: {n} frame(s) carried subscriber identities (IMSI/TMSI), written with "
                "keyed pseudonyms (FBSDETECT_CLEAR_IDENTITIES=1 keeps them as received)"
            ).format(n=pseudo.changed)
            + "\n"
        )


def _print_cells(cells: list[tuple[CellObservation, dict[str, Any]]], as_json: bool, header: str,
                 none_found: str) -> None:
    """The cells as JSON lines (each with its JSON as given) or as the table."""
    out = sys.stdout
    if as_json:
        for _c, d in cells:
            out.write(json.dumps(d) + "\n")
    elif cells:
        out.write(_table([c for c, _d in cells], header) + "\n")
    else:
        out.write(none_found + "\n")
