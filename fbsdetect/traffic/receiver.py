"""The receiver's hook (`fbsdetect.receiver.Receiver`, with `all_frames` and
`follow_dedicated`): one `TrafficFollower` per carrier. CCCH frames go to
`on_frame`; after each chunk the receiver calls `chunk`, which demodulates
only the bursts the active conversations still need (their sub-channel's
SDCCH and SACCH blocks on the assigned timeslot: TS k starts k x 156.25
symbol periods after TS0, TS 45.002 4.3.1; TSC from the assignment) with
the receiver's own channeliser and equaliser, and feeds their soft bits to
the follower. Frames of TS1-7 are added to the carrier's `frames` (channel
SDCCH/8, SACCH/8); SDCCH/4 on a combined TS0 is already among them.
`finish` leaves the follower on `CarrierResult.traffic` (counts, SMS,
events). Without `keep_ccch` (the scan) only the Immediate Assignments stay
among the CCCH frames, labelled AGCH.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from fbsdetect.gsm.frames import HYPERFRAME
from fbsdetect.l3.identity import IdentityHasher, pseudonymise_paging
from fbsdetect.traffic.follower import TrafficFollower
from fbsdetect.types import L2Frame

SLOT_SYMBOLS = 156.25
PAGING_TYPES = (0x21, 0x22, 0x24)  # Paging Request Type 1, 2, 3 (TS 44.018 9.1.22-9.1.24)
FRAME_S = 120e-3 / 26


def _empty_page(data: bytes) -> bool:
    from fbsdetect.sysinfo.paging import PagingRequest, parse

    m = parse(bytes(data))
    return not isinstance(m, PagingRequest) or m.is_empty


def paging_stats(pages: list[L2Frame]) -> dict[str, Any]:
    """What a dwell's paging blocks say: paging requests that page someone, the IMSIs
    and TMSIs paged, the blocks decoded and the span they cover (s)."""
    from fbsdetect.sysinfo.paging import PagingRequest, parse

    req = imsi = tmsi = 0
    for fr in pages:
        m = parse(bytes(fr.data))
        if isinstance(m, PagingRequest) and not m.is_empty:
            req += 1
            imsi += m.n_imsi
            tmsi += m.n_tmsi
    span = (max(f.fn for f in pages) - min(f.fn for f in pages)) * FRAME_S if pages else 0.0
    return {"requests": req, "imsi": imsi, "tmsi": tmsi, "blocks": len(pages), "span_s": round(span, 3)}


class ReceiverTraffic:
    """`keep_ccch`: leave every CCCH frame among the carrier's frames (with
    `all_frames`); else only Immediate Assignments stay (the scan's dwells
    decode CCCH only to follow), and ciphered conversations are left at once."""

    def __init__(self, hasher: Any = None, *, keep_ccch: bool = True) -> None:
        self.hasher = hasher or IdentityHasher()
        self.keep_ccch = keep_ccch
        self._by_track: dict[int, TrafficFollower] = {}
        self._wrap: dict[int, int] = {}
        self._held: dict[int, set[int]] = {}  # track -> conversations going on when it was first satisfied

    def follower(self, track: Any, rx: Any = None) -> TrafficFollower:
        f = self._by_track.get(id(track))
        if f is None:
            def time_of_fn(fn: int) -> float | None:
                if rx is None:
                    return None
                pos = float(track.position(np.array([fn + self._wrap.get(id(track), 0)]))[0])
                return float(rx.time_offset_s + pos / rx.fs)

            f = TrafficFollower(track.result.arfcn, combined=bool(track.result.combined),
                                hasher=self.hasher, emit_ts0=False, follow_ciphered=self.keep_ccch,
                                time_of_fn=time_of_fn, pseudonymise_frames=not self.keep_ccch)
            self._by_track[id(track)] = f
            track.result.traffic = f
        return f

    def on_frame(self, track: Any, fn_unwrapped: int, frame: L2Frame, rx: Any = None) -> None:
        if frame.channel != "CCCH":
            return
        f = self.follower(track, rx)
        f.combined = f.combined or bool(track.result.combined)
        self._wrap[id(track)] = fn_unwrapped - frame.fn
        f.on_ccch(frame)

    def chunk(self, rx: Any, tracks: list[Any], fa: dict[int, int], fb: dict[int, int]) -> None:
        from fbsdetect.receiver import (
            BURST_SYMBOLS,
            DUMMY_MIN_CORRELATION,
            OUT_SPS,
            TRACK_MARGIN_SYMBOLS,
            dummy_correlation,
        )

        wanted: list[tuple[Any, int, int, int]] = []  # (track, unwrapped fn, ts, tsc)
        for i, t in enumerate(tracks):
            f = self._by_track.get(id(t))
            if f is None or not f.active() or i not in fb or fb[i] <= 0:
                continue
            off = self._wrap.get(id(t), 0)
            _first, last = t.fn_span(rx.n_samples)
            hi = min(fb[i], last - 3)
            for fn, ts, tsc in f.wanted_blocks(0, hi - off):
                for j in range(4):
                    wanted.append((t, fn + off + j, ts, (t.result.bsic or 0) & 7 if tsc is None else tsc))
        if not wanted:
            return
        margin = TRACK_MARGIN_SYMBOLS
        ch = rx._channelizer((BURST_SYMBOLS + 2 * margin) * OUT_SPS)
        w0 = np.array([float(t.position(np.array([fn]))[0]) + (ts * SLOT_SYMBOLS - margin) * t.sps_in
                       for t, fn, ts, _ in wanted])
        win = ch.extract(w0, np.array([t.mix_hz for t, *_ in wanted]))
        nominal = np.full(len(wanted), margin * OUT_SPS, dtype=np.float64)
        b = rx.demod.normal(win, np.array([x[3] for x in wanted], dtype=np.int64), nominal, refine=True)
        dummy = dummy_correlation(win) >= DUMMY_MIN_CORRELATION
        for k, (t, fn, ts, _) in enumerate(wanted):
            f = self._by_track[id(t)]
            for fr in f.on_payload(fn % HYPERFRAME, ts, b.soft[k], bool(dummy[k])):
                t.result.frames.append(L2Frame(
                    arfcn=fr.arfcn, fn=fr.fn, ts=fr.ts, channel=fr.channel, data=fr.data,
                    time_s=fr.time_s, freq_offset_hz=t.result.offset_hz))

    def busy(self, track: Any) -> bool:
        """Whether the carrier's conversations hold the dwell (asked once its dwell would
        end): those going on at the first asking, and later ones only once they said
        something in clear a ciphering network does not (`TrafficFollower.busy`)."""
        f = self._by_track.get(id(track))
        if f is None:
            return False
        held = self._held.get(id(track))
        if held is None:
            held = self._held[id(track)] = f.hold_set()
        return f.busy(held)

    def finish(self, tracks: list[Any]) -> None:
        from fbsdetect.sysinfo import si_key

        for t in tracks:
            f = self._by_track.get(id(t))
            if f is not None:
                f.flush()
                t.result.traffic = f
            if not self.keep_ccch:
                # the CCCH was decoded to find assignments: the assignments stay, labelled AGCH
                # (where TS 45.002 puts them); the paging requests that page someone stay as PCH
                # with the paged identities pseudonymised, plus the first and last paging block
                # (empty or not) so that their span is the time paging was looked at
                # (detect.engine: rate and IMSI share); the rest goes
                key = f._pseudonym_key() if f is not None else None
                pages = [fr for fr in t.result.frames
                         if fr.channel == "CCCH" and len(fr.data) > 2 and fr.data[2] in PAGING_TYPES]
                ends = {id(pages[0]), id(pages[-1])} if pages else set()
                keep = {id(fr) for fr in pages if id(fr) in ends or not _empty_page(fr.data)}
                if f is not None:
                    f.paging_stats = paging_stats(pages)
                out = []
                for fr in t.result.frames:
                    if fr.channel != "CCCH" or si_key(fr.data) is not None:
                        out.append(fr)
                    elif len(fr.data) > 2 and fr.data[2] == 0x3F:
                        out.append(replace(fr, channel="AGCH"))
                    elif id(fr) in keep:
                        data = pseudonymise_paging(fr.data, key) if key is not None else fr.data
                        out.append(replace(fr, channel="PCH", data=data))
                t.result.frames = out
