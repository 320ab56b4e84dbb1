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
events).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fbsdetect.gsm.frames import HYPERFRAME
from fbsdetect.l3.identity import IdentityHasher
from fbsdetect.traffic.follower import TrafficFollower
from fbsdetect.types import L2Frame

SLOT_SYMBOLS = 156.25


class ReceiverTraffic:
    def __init__(self, hasher: Any = None) -> None:
        self.hasher = hasher or IdentityHasher()
        self._by_track: dict[int, TrafficFollower] = {}
        self._wrap: dict[int, int] = {}

    def follower(self, track: Any) -> TrafficFollower:
        f = self._by_track.get(id(track))
        if f is None:
            f = TrafficFollower(track.result.arfcn, combined=bool(track.result.combined),
                                hasher=self.hasher, emit_ts0=False)
            self._by_track[id(track)] = f
        return f

    def on_frame(self, track: Any, fn_unwrapped: int, frame: L2Frame) -> None:
        if frame.channel != "CCCH":
            return
        f = self.follower(track)
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
                pos = float(t.position(np.array([fn - fn % 51 + fr.fn % 51]))[0])
                t.result.frames.append(L2Frame(
                    arfcn=fr.arfcn, fn=fr.fn, ts=fr.ts, channel=fr.channel, data=fr.data,
                    time_s=rx.time_offset_s + pos / rx.fs, freq_offset_hz=t.result.offset_hz))

    def finish(self, tracks: list[Any]) -> None:
        for t in tracks:
            f = self._by_track.get(id(t))
            if f is not None:
                f.flush()
                t.result.traffic = f
