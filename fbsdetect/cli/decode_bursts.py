"""`fbsdetect decode-bursts FILE`: decode timeslot bursts given as JSON lines
into L2 frames (JSON lines).

Input, one JSON object per line (blank lines ignored, other keys such as
"type" ignored)::

    {"fn": 860902, "ts": 0, "bits": "0001...0"}     148 hard bits
    {"fn": 860902, "ts": 0, "soft": [0.8, -1.2, ...]} 148 soft bits, positive = 1

Output, one line per L2 frame that passes its Fire code, `fn` being that of
the block's first burst (contracts.md section 1)::

    {"fn": 860902, "ts": 0, "channel": "BCCH", "hex": "..."}

A burst given twice (same frame number, same bits: an input that replays
itself) is decoded once and counted as a duplicate; a block of four dummy
bursts (an idle SDCCH/4 or SACCH/4 sub-channel) is counted as idle, not as a
parity failure (`--stats`).

Only timeslot 0 of a BCCH carrier is decoded (non-combined, or with
`--combined` BCCH+SDCCH/4); bursts of other timeslots are counted and
skipped (TS 45.002 clause 7 table 3 maps TS0 only). The logic lives in
`fbsdetect.gsm.ts0decode`; this module parses and validates the JSON lines.
Immediate Assignments on CCCH are followed (unless `--no-follow`) to the
assigned SDCCH/8 (any timeslot) or SDCCH/4 (combined TS0): their frames are
printed with `channel` SDCCH/8, SACCH/8 (`fbsdetect.traffic.bursts`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from fbsdetect.cli._common import require_file
from fbsdetect.errors import BadInput
from fbsdetect.i18n import N_, _, lazy

if TYPE_CHECKING:
    import numpy as np

NAME = "decode-bursts"
HELP = lazy("decode bursts given as JSON lines (fn, ts, bits|soft) into L2 frames")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE",
                   help=_('JSON lines: {"fn": int, "ts": int, "bits": "0101..."} (148 hard bits)'
                   ' or {"fn", "ts", "soft": [...]} (148 soft bits, positive = 1); "-" for stdin'))
    p.add_argument("--combined", action="store_true",
                   help=_("timeslot 0 carries the combined BCCH+CCCH+SDCCH/4 configuration"
                   " (TS 45.002 channel combination v); default: non-combined FCCH+SCH+BCCH+CCCH"))
    p.add_argument("--sch", action="store_true",
                   help=_('also print each SCH burst: {"fn", "ts", "channel": "SCH", "ok", "bsic", "t1",'
                   ' "t2", "t3p"}'))
    p.add_argument("--arfcn", type=int, metavar="N",
                   help=_('add "arfcn": N to every output line'))
    p.add_argument("--no-follow", action="store_true",
                   help=_("do not follow Immediate Assignments to SDCCH/8 (any timeslot) or SDCCH/4"
                   " (fbsdetect.traffic.bursts)"))
    p.add_argument("--stats", action="store_true",
                   help=_("print the counted outcomes (blocks ok/bad/incomplete, SCH ok/bad ...) on stderr"))


def _int_field(obj: dict[str, Any], key: str, lo: int, hi: int, where: str) -> int:
    v = obj.get(key)
    if isinstance(v, bool) or not isinstance(v, int):
        raise BadInput(_("field '{key}' must be an integer, got {value}").format(
            key=key, value=repr(v)), source=where)
    if not lo <= v <= hi:
        raise BadInput(_("field '{key}' = {value} is out of range {lo}..{hi}").format(
            key=key, value=v, lo=lo, hi=hi),
                       source=where)
    return v


def parse_burst(obj: object, where: str) -> tuple[int, int, np.ndarray]:
    """(fn, ts, soft bits (148,) float32) of one input object; BadInput naming `where`."""
    import numpy as np

    from fbsdetect.gsm.bursts import BURST_BITS
    from fbsdetect.gsm.frames import HYPERFRAME
    from fbsdetect.gsm.ts0decode import hard_to_soft

    if not isinstance(obj, dict):
        raise BadInput(_("expected a JSON object, got {type}").format(type=type(obj).__name__), source=where)
    fn = _int_field(obj, "fn", 0, HYPERFRAME - 1, where)
    ts = _int_field(obj, "ts", 0, 7, where)
    has_bits, has_soft = "bits" in obj, "soft" in obj
    if has_bits == has_soft:
        raise BadInput(_("needs exactly one of 'bits' (string of 148 '0'/'1') or 'soft' (148 numbers)"),
                       source=where)
    if has_bits:
        bits = obj["bits"]
        if not isinstance(bits, str):
            raise BadInput(_("field 'bits' must be a string of '0'/'1', got {type}").format(
                type=type(bits).__name__), source=where)
        if len(bits) != BURST_BITS:
            raise BadInput(_("field 'bits' has {n} bits, expected {expected}").format(
                n=len(bits), expected=BURST_BITS), source=where)
        if bits.strip("01"):
            raise BadInput(_("field 'bits' may only contain '0' and '1'"), source=where)
        return fn, ts, hard_to_soft(np.frombuffer(bits.encode("ascii"), dtype=np.uint8) - ord("0"))
    soft = obj["soft"]
    if not isinstance(soft, list):
        raise BadInput(_("field 'soft' must be a list of numbers, got {type}").format(
            type=type(soft).__name__),
                       source=where)
    if len(soft) != BURST_BITS:
        raise BadInput(_("field 'soft' has {n} values, expected {expected}").format(
            n=len(soft), expected=BURST_BITS), source=where)
    if not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in soft):
        raise BadInput(_("field 'soft' must hold finite numbers only"), source=where)
    return fn, ts, np.asarray(soft, dtype=np.float32)


def read_bursts(stream: IO[str], name: str) -> Iterator[tuple[int, int, np.ndarray]]:
    """Parses JSON lines from `stream`; errors name `name` and the line number."""
    for lineno, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        where = f"{name}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(_("not valid JSON ({error} at column {column})").format(
                error=exc.msg, column=exc.colno),
                           source=where) from None
        yield parse_burst(obj, where)


def run(args: argparse.Namespace) -> int:
    from fbsdetect.gsm.ts0decode import SchWord, Ts0Decoder
    from fbsdetect.pipeline.identities import for_output
    from fbsdetect.traffic.bursts import BurstFollower

    dec = Ts0Decoder(combined=args.combined, arfcn=args.arfcn, sch=True)  # SCH counted always
    follow = None if args.no_follow else BurstFollower(args.arfcn, args.combined)
    out = sys.stdout
    # the frames printed carry no subscriber identity in clear (paging, the UA's echo), as decode's
    pseudo = for_output()

    def emit(items: list[Any]) -> None:
        for it in sorted(items, key=lambda x: x.fn):
            if isinstance(it, SchWord):
                if not args.sch:
                    continue
                d = it.to_json()
            else:
                if pseudo is not None:
                    it = pseudo(it)
                d = {"fn": it.fn, "ts": it.ts, "channel": it.channel, "hex": it.hex}
            if args.arfcn is not None:
                d = {"arfcn": args.arfcn, **d}
            out.write(json.dumps(d) + "\n")

    if args.file == "-":
        stream: IO[str] = sys.stdin
        name = "<stdin>"
    else:
        require_file(args.file, N_("burst file"))
        try:
            stream = open(args.file, encoding="utf-8")
        except OSError as exc:
            raise BadInput(_("cannot open: {error}").format(error=exc.strerror), source=args.file) from None
        name = args.file
    try:
        try:
            for fn, ts, soft in read_bursts(stream, name):
                got = dec.push(fn, ts, soft)
                emit(got + follow.push(fn, ts, soft, got) if follow else got)
        except UnicodeDecodeError:
            raise BadInput(_("is not a UTF-8 text file of JSON lines"), source=name) from None
        tail = dec.flush()
        emit(tail + follow.flush(tail) if follow else tail)
    finally:
        if stream is not sys.stdin:
            stream.close()
    out.flush()
    if pseudo is not None and pseudo.changed and not args.quiet:
        sys.stderr.write(
            _(
                "fbsdetect decode-bursts: {n} frame(s) carried subscriber identities (IMSI/TMSI), written "
                "with keyed pseudonyms (FBSDETECT_CLEAR_IDENTITIES=1 keeps them as received)"
            ).format(n=pseudo.changed)
            + "\n"
        )
    if args.stats:
        st = dec.stats
        sys.stderr.write(
            _("blocks: {ok} ok, {bad} failed parity, {idle_blocks} idle (dummy bursts), {incomplete} "
              "incomplete; SCH: {sch_ok} ok, {sch_bad} bad; {fcch} FCCH, {idle} idle frames, {duplicate} "
              "duplicate bursts, {other_ts} bursts of other timeslots skipped").format(
                ok=st.blocks_ok, bad=st.blocks_bad, idle_blocks=st.blocks_idle,
                incomplete=st.blocks_incomplete, sch_ok=st.sch_ok, sch_bad=st.sch_bad, fcch=st.fcch,
                idle=st.idle, duplicate=st.duplicate, other_ts=st.other_ts) + "\n")
        if follow:
            sys.stderr.write(follow.stats_line())
    return 0
