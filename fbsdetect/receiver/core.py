"""The `Receiver`: acquisition (FCCH), SCH confirmation, tracking and block
decoding of every BCCH carrier of one capture (see the package docstring)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.aci import neighbour_corrected
from fbsdetect.dsp.channelizer import (
    OUT_SPS,
    DcTrack,
    Reader,
    WindowChannelizer,
    carrier_is_decodable,
)
from fbsdetect.dsp.constants import (
    BURST_SYMBOLS,
    CHANNEL_SPACING_HZ,
    FCCH_TONE_HZ,
    FRAME_SYMBOLS,
    SYMBOL_RATE_HZ,
)
from fbsdetect.dsp.dc import DC_BAND_HZ, dc_spike_db
from fbsdetect.dsp.dummy import DUMMY_MIN_CORRELATION, dummy_correlation
from fbsdetect.dsp.fcch import FcchEvent, FcchRefined, refine, search_wideband
from fbsdetect.dsp.ppm import clock_scale, estimate_ppm, median
from fbsdetect.dsp.ring import Readable, SampleRing
from fbsdetect.dsp.sch import sch_search
from fbsdetect.gsm.coding import sch_decode, xcch_decode
from fbsdetect.gsm.frames import HYPERFRAME
from fbsdetect.receiver.config import ReceiverConfig
from fbsdetect.receiver.constants import (
    BCCH_EXT_T3,
    BCCH_T3,
    COPY_MARGIN_DB,
    DC_OVERLAP_HZ,
    DC_SPIKE_DB,
    DC_TRACK_BLOCK_S,
    DC_TRACK_MIN_DB,
    FCCH_MARGIN_SYMBOLS,
    FCCH_PASS_HZ,
    FCCH_STOP_HZ,
    FREQ_TRACK_GAIN,
    FREQ_TRACK_MAX_HZ,
    MAX_BLOCKS_PER_BATCH,
    NEIGHBOUR_COHERENCE,
    NEIGHBOUR_LAG_SYMBOLS,
    NEIGHBOUR_MAX_ERROR_HZ,
    NEIGHBOUR_PASS_HZ,
    NEIGHBOUR_STOP_HZ,
    NOISE_EDGE_SYMBOLS,
    NOISE_PASS_HZ,
    NOISE_STOP_HZ,
    SCH_MARGIN_SYMBOLS,
    SCH_T3,
    TRACK_MARGIN_SYMBOLS,
)
from fbsdetect.receiver.demod import Demodulator, default_demodulator, merge_bursts, merge_fields
from fbsdetect.receiver.results import MIN_SCH, CarrierResult, CarrierStatus, DecodeResult, SchHit
from fbsdetect.receiver.si import Si3Info, announced, ext_wanted
from fbsdetect.receiver.track import CarrierState, CarrierTrack
from fbsdetect.sysinfo.cell import remember_instance
from fbsdetect.sysinfo.dispatch import si_key
from fbsdetect.types import L2Frame

GAP_MIN_S = 0.002
"""A jump of push's `t0` beyond this is samples the source dropped (USB blocks are >= 6 ms)."""


def _dbfs(p: float) -> float:
    return 10.0 * math.log10(max(p, 1e-20))


class ReceiverState(StrEnum):
    """SEARCH: waiting for the first search span; RUNNING: carriers acquired
    and tracked as samples arrive; FLUSHED: `flush` gave the result."""

    SEARCH = "search"
    RUNNING = "running"
    FLUSHED = "flushed"


class Receiver:
    """Decodes every BCCH carrier of one tuning from a stream of samples.

    `push(samples, t0)` hands over the next block (complex64; for `sample_format`
    cu8/ci8 the raw interleaved bytes); the receiver keeps a bounded look-back
    (`dsp.ring.SampleRing`, `ReceiverConfig.lookback_s`) and does whatever the
    samples so far allow: the first FCCH search once `search_s` (and a guard for
    the SCHs after it) have arrived, each carrier's next chunk once its last
    burst has, the periodic re-searches. Each carrier moves through
    `CarrierState` (sync, tracking, lost, done). `flush()` decodes what the
    samples received still allow and returns the `DecodeResult`; `reset()`
    starts over (a new tuning). `run(reader, n_samples)` drives a recording
    through push and flush. `all_done`: every carrier found has stopped early
    (no more samples are needed, without re-searches)."""

    def __init__(self, sample_rate_hz: float, center_freq_hz: float, *, config: ReceiverConfig | None = None,
                 demodulator: Demodulator | None = None, time_offset_s: float | None = None,
                 satisfied: Callable[[CarrierResult], bool] | None = None,
                 sample_format: str | None = None) -> None:
        # the early stop's test per carrier (the scan's, which knows what earlier
        # dwells decoded); None: every TC and SI type `si_repeats` times
        self.satisfied = satisfied
        self.fs = float(sample_rate_hz)
        self.fc = float(center_freq_hz)
        self.cfg = config or ReceiverConfig()
        self.demod = demodulator or default_demodulator()
        self.sample_format = sample_format
        self.sps_nominal = self.fs / SYMBOL_RATE_HZ
        self._time_offset_given = time_offset_s
        self.reset()

    def reset(self) -> None:
        """Forgets every sample, carrier and count (the source was retuned)."""
        cfg = self.cfg
        frame_s = FRAME_SYMBOLS / SYMBOL_RATE_HZ
        dc_s = 2 * DC_TRACK_BLOCK_S
        # a chunk reads back to its first frame, a search over its span
        need_s = max(cfg.search_s, cfg.research_search_s) + (51 * (cfg.chunk_multiframes + 1) + 8) * frame_s
        lookback_s = cfg.lookback_s if cfg.lookback_s is not None else need_s + dc_s + 0.1
        self.ring = SampleRing(max(int(lookback_s * self.fs), int(need_s * self.fs)), self.sample_format)
        self.reader: Reader = self.ring
        # samples beyond what a step reads that must have arrived before it runs
        # (a window's FFT span, the SCH a frame after an FCCH)
        self._guard = int(3 * FRAME_SYMBOLS * self.sps_nominal) + 16384
        # a chunk's windows reach a window's FFT span past their burst's start
        self._chunk_guard = int(FRAME_SYMBOLS * self.sps_nominal) + 8192
        self.time_offset_s = 0.0 if self._time_offset_given is None else float(self._time_offset_given)
        self._t0_set = self._time_offset_given is not None
        self.state = ReceiverState.SEARCH
        self.dc: complex = 0.0
        self.dc_spike_db: float | None = None
        self._dc_spike = False
        self._dc_track: DcTrack | None = None
        self._chs: dict[int, WindowChannelizer] = {}
        self.tracks: list[CarrierTrack] = []
        self._cohorts: list[list[CarrierTrack]] = []
        self._near: list[tuple[float, tuple[int, str]]] = []
        self.results: list[CarrierResult] = []
        self._emitted: dict[int, int] = {}
        self._research_at = int(cfg.research_s * self.fs) if cfg.research_s > 0 else 0
        self.gap_samples = 0  # zeros inserted for samples the source dropped (push's t0 jumped)
        self.gaps = 0
        self.traffic: Any = None
        if (cfg.all_frames and cfg.follow_dedicated) or cfg.follow_ccch:
            from fbsdetect.traffic.receiver import ReceiverTraffic

            self.traffic = ReceiverTraffic(keep_ccch=cfg.all_frames)

    def release(self) -> None:
        """Frees the look-back (after `flush`; the result and its carriers stay)."""
        self.ring = SampleRing(1, self.sample_format)
        self.reader = self.ring
        self._chs = {}

    @property
    def n_samples(self) -> int:
        """Samples received so far."""
        return self.ring.end

    @property
    def all_done(self) -> bool:
        return (self.state is ReceiverState.RUNNING and not self._research_at
                and all(t.done for t in self.tracks))

    def _read(self, s: int, n: int) -> npt.NDArray[np.complex64]:
        return self.ring(np.array([s], np.int64), n)[0]

    # ----------------------------------------------------------------- streaming

    PUSH_PIECE_S = 0.05
    """A push is worked through in pieces of at most this (the look-back holds a chunk plus one)."""

    def push(self, samples: npt.ArrayLike, t0: float | None = None) -> list[L2Frame]:
        """The next samples; `t0` is the source time (s) of the first (a jump
        ahead of the samples received so far is dropped samples: zeros keep the
        sample index on the source's clock, counted in `gap_samples`). Returns
        the frames decoded meanwhile when `keep_frames` is off."""
        if self.state is ReceiverState.FLUSHED:
            raise RuntimeError("push after flush: reset() first")
        x = np.asarray(samples)
        per = 2 if self.ring.datatype in ("cu8", "ci8") else 1
        if t0 is not None:
            if not self._t0_set:
                self.time_offset_s, self._t0_set = float(t0), True
            else:
                ahead = round((float(t0) - self.time_offset_s) * self.fs) - self.ring.end
                if ahead > GAP_MIN_S * self.fs:
                    self.gaps += 1
                    self.gap_samples += ahead
                    self._feed_zeros(ahead)
        piece = max(1, int(self.PUSH_PIECE_S * self.fs)) * per
        for k in range(0, x.size, piece):
            part = x[k:k + piece]
            start = self.ring.end
            self.ring.push(part)
            if self._dc_track is not None:
                self._dc_track.feed(self.ring(np.array([start], np.int64), self.ring.end - start)[0])
            self._advance(final=False)
        return self._emit()

    def push_file(self, f: Readable, n: int) -> int:
        """Like `push` for the next `n` samples of a recording file whose format
        is the receiver's `sample_format` (8-bit pairs) or complex64, read
        straight into the look-back; returns the samples read."""
        piece = max(1, int(self.PUSH_PIECE_S * self.fs))
        got = 0
        while got < n:
            start = self.ring.end
            k = self.ring.push_from(f, min(piece, n - got))
            if self._dc_track is not None and k:
                self._dc_track.feed(self.ring(np.array([start], np.int64), k)[0])
            got += k
            self._advance(final=False)
            if k < min(piece, n - got + k):
                break
        return got

    def next_needed(self) -> int | None:
        """For a seekable source (a recording): the first sample the receiver
        still needs, beyond `n_samples` when every carrier has stopped early and
        only the next re-search is due (its span, less a guard for the windows
        reaching back from it); None: no more samples are needed."""
        if self.state is not ReceiverState.RUNNING or not all(t.done for t in self.tracks):
            return self.ring.end
        if not self._research_at:
            return None
        if self._dc_track is not None:  # its block means need every sample
            return self.ring.end
        return max(self.ring.end, self._research_at - self._guard)

    def skip_to(self, sample: int) -> None:
        """Moves past samples up to `sample` unread (see `next_needed`)."""
        if sample > self.ring.end:
            self.ring.skip(sample - self.ring.end)

    def _feed_zeros(self, n: int) -> None:
        step = max(1, int(self.PUSH_PIECE_S * self.fs))
        while n > 0:
            k = min(n, step)
            start = self.ring.end
            self.ring.zeros(k)
            if self._dc_track is not None:
                self._dc_track.feed(self.ring(np.array([start], np.int64), k)[0])
            self._advance(final=False)
            n -= k

    def flush(self) -> DecodeResult:
        """Decodes what the samples received still allow and returns the result."""
        if self.state is ReceiverState.FLUSHED:
            raise RuntimeError("flush twice: reset() first")
        self._advance(final=True)
        for t in self.tracks:
            if not t.done:
                t.done = True
        res = self._finish()
        self.state = ReceiverState.FLUSHED
        return res

    def run(self, reader: Reader | npt.NDArray[np.complex64], n_samples: int | None = None,
            *, block_s: float = 0.1) -> DecodeResult:
        """A recording through push and flush: `reader` (a `dsp.channelizer.Reader`
        over samples [0, n_samples), or an array of samples) in blocks of `block_s`;
        stops reading once `all_done`."""
        if isinstance(reader, np.ndarray):
            x = reader
            n = x.size if n_samples is None else int(n_samples)
            block = max(1, int(block_s * self.fs))
            for s in range(0, n, block):
                self.push(x[s:min(n, s + block)])
                if self.all_done:
                    break
            return replace(self.flush(), duration_s=n / self.fs)
        assert n_samples is not None
        block = max(1, int(block_s * self.fs))
        for s in range(0, int(n_samples), block):
            self.push(reader(np.array([s], np.int64), min(int(n_samples), s + block) - s)[0])
            if self.all_done:
                break
        return replace(self.flush(), duration_s=int(n_samples) / self.fs)

    def _emit(self) -> list[L2Frame]:
        if self.cfg.keep_frames:
            return []
        out: list[L2Frame] = []
        for r in self.results:
            if r.frames:
                out.extend(r.frames)
                r.frames = []
        return out

    def _advance(self, final: bool) -> None:
        """Every step the samples received allow (all that remain, `final`)."""
        end = self.ring.end
        cfg = self.cfg
        if self.state is ReceiverState.SEARCH:
            n_search = max(1, int(cfg.search_s * self.fs))
            if not final and end < n_search + self._guard:
                return
            self._start(min(end, n_search))
        # re-searches whose span (and the SCHs after it) have arrived
        n_re = int(cfg.research_search_s * self.fs)
        while self._research_at and (self._research_at + n_re + self._guard <= end
                                     or (final and self._research_at + n_re <= end)):
            self._research(self._research_at, n_re)
            self._research_at += int(cfg.research_s * self.fs)
        if final and self._research_at and self._research_at + n_re > end:
            self._research_at = 0
        self._run_chunks(final)

    def _start(self, n_search: int) -> None:
        first = self._read(0, n_search)
        self.dc = complex(np.mean(first)) if first.size else 0.0
        self.dc_spike_db = dc_spike_db(first - np.complex64(self.dc), self.fs)
        self._dc_spike = self.dc_spike_db is not None and self.dc_spike_db > DC_SPIKE_DB
        p_first = float(np.mean(first.real ** 2 + first.imag ** 2)) if first.size else 0.0
        if abs(self.dc) ** 2 > 10 ** (DC_TRACK_MIN_DB / 10) * p_first:
            # a measurable offset: windows of carriers near 0 Hz follow its drift
            self._dc_track = DcTrack(round(DC_TRACK_BLOCK_S * self.fs))
            lo = self.ring.lo  # the look-back holds the stream from its start
            self._dc_track.feed(self._read(lo, self.ring.end - lo))
        tracks, results = self._acquire(0, n_search, [])
        tracks = self._confirm(tracks)
        self._begin(tracks, 0)
        self.results = [r for r in results if not (r.speculative and r.bsic is None)]
        self.state = ReceiverState.RUNNING

    def _research(self, start: int, n_re: int) -> None:
        """Cells that switch on later (a fake base station arriving): a shorter
        search every `research_s` seconds."""
        self._publish(self.tracks)
        results = self.results
        new_tracks, new_results = self._acquire(start, n_re, results)
        new_tracks = self._confirm(new_tracks)
        self._begin(new_tracks, start)
        new_results = [r for r in new_results if not (r.speculative and r.bsic is None)]
        for r in new_results:
            old = [k for k in results if k.arfcn == r.arfcn and k.bsic is None and k.decodable]
            if r.bsic is not None:  # decoded now: it replaces earlier failed attempts
                for k in old:  # failed attempts: FCCHs and failed SCHs, nothing decoded
                    results.remove(k)
                    r.stats.merge(k.stats)
                results.append(r)
            elif old:
                old[0].stats.merge(r.stats)
            else:
                results.append(r)

    def _begin(self, tracks: list[CarrierTrack], first_sample: int) -> None:
        """Starts tracking confirmed `tracks` from the 51-multiframe holding
        `first_sample` (0: from the oldest frame still in the look-back)."""
        for t in tracks:
            lo = t.frame_at(self.ring.lo)
            if first_sample > 0:
                lo = max(lo, t.fn_ref + math.floor((first_sample - t.s_ref) / t.frame_len))
            t.first_fn = lo
            t.cursor = lo - lo % 51  # chunks aligned on 51-multiframes
            t.state = CarrierState.TRACKING
        self.tracks.extend(tracks)
        if tracks:
            self._cohorts.append(list(tracks))

    def _ready(self, t: CarrierTrack, end: int) -> bool:
        """The track's next chunk can run: the bursts it will demodulate (its
        SCHs and blocks; every frame of the chunk when CCCH is followed or all
        frames are decoded), and the DC track's block after them, have arrived.
        A dwell that stops early then reads no further than the blocks it needed."""
        if t.ready_at is None:  # anew after each chunk (its SCHs and SI move it)
            fa = t.cursor
            fb = fa + 51 * self.cfg.chunk_multiframes
            if self.cfg.all_frames or self.traffic is not None:
                last = fb + 3
            else:
                sch_t3 = set(self.cfg.sch_t3)
                blocks = set(self._block_t3([t])[0])
                last = fa
                for fn in range(fa, fb):
                    if fn % 51 in blocks:
                        last = fn + 3
                    elif fn % 51 in sch_t3:
                        last = max(last, fn)
            t.ready_at = float(t.position(np.array([last + 1], np.int64))[0]) + self._chunk_guard
            if self._dc_track is not None:
                t.ready_at += 2 * self._dc_track.block
        return t.ready_at <= end

    def _run_chunks(self, final: bool) -> None:
        """Runs the chunks that the samples so far allow. The tracks of one
        acquisition (a cohort) go through their chunks together, as one batch,
        once the last of them is ready: numpy's FFTs of a batch depend on the
        batch in their last bits, and the same batches give the same result
        whatever the blocks pushed."""
        end = self.ring.end
        step = 51 * self.cfg.chunk_multiframes
        for cohort in self._cohorts:
            while True:
                live = [t for t in cohort if not t.done]
                if final:
                    active = [t for t in live if t.cursor <= t.last_frame(end)]
                    for t in live:  # a track whose frames are all decoded stops
                        if t not in active:
                            t.done = True
                else:
                    active = live if live and all(self._ready(t, end) for t in live) else []
                if not active:
                    break
                fa = {i: t.cursor for i, t in enumerate(active)}
                fb = {i: t.cursor + step for i, t in enumerate(active)}
                self._chunk(active, fa, fb)
                for t in active:
                    t.cursor += step
                    t.ready_at = None
                    pos = float(t.position(np.array([t.cursor]))[0])
                    t.result.stats.frames_decoded_s = (min(pos, end) if final else pos) / self.fs
                    if not self.cfg.all_frames and (self._satisfied(t) if self.satisfied is None
                                                    else self.satisfied(t.result)) and not (
                            self.traffic is not None and self.traffic.busy(t)):
                        t.done = True
                    t.forget_before(t.cursor)
        self._cohorts = [c for c in self._cohorts if any(not t.done for t in c)]

    # ----------------------------------------------------------------- acquisition

    def _acquire(self, first: int, n_search: int, known: list[CarrierResult]
                 ) -> tuple[list[CarrierTrack], list[CarrierResult]]:
        """FCCH search over samples [first, first + n_search); carriers already
        decoded (or known to be undecodable) are skipped."""
        from fbsdetect.gsm.bands import arfcn_from_downlink_hz, downlink_hz

        seg = self._read(first, n_search)
        events = search_wideband((seg - np.complex64(self.dc)).astype(np.complex64), self.fs,
                                 first_sample=first, max_abs_offset_hz=0.5 * self.fs - 30e3)
        if self._dc_spike:  # the spike's own noise now and then looks like a short tone
            events = [e for e in events if abs(e.tone_hz) > 3 * DC_BAND_HZ]
        events += self._neighbour_fcch(first, n_search, events, known)
        # group the events by ARFCN (and by offset within 2 kHz: two emitters on one channel)
        groups: list[tuple[int, str, list[FcchEvent]]] = []
        near = self._near  # (downlink Hz, (ARFCN, band)) looked up, kept across the searches

        def channel_at(f_hz: float) -> tuple[int, str] | None:
            """`arfcn_from_downlink_hz`, remembering the channels found: a frequency
            within 80 kHz of one (less than half the 200 kHz raster) has it as the
            nearest channel (GSM bands that overlap share one raster)."""
            for f_ch, ch in near:
                if abs(f_hz - f_ch) < 80e3:
                    return ch
            hit = arfcn_from_downlink_hz(f_hz)
            if hit is not None:
                near.append((downlink_hz(*hit), hit))
            return hit

        for ev in events:
            off = ev.tone_hz - FCCH_TONE_HZ
            hit = channel_at(self.fc + off)
            if hit is None:
                continue
            if any(k.arfcn == hit[0] and (k.bsic is not None or not k.decodable)
                   and abs(k.offset_hz + downlink_hz(*hit) - self.fc - off) < 3e3 for k in known):
                continue
            for arfcn, _band, evs in groups:
                if arfcn == hit[0] and abs(evs[0].tone_hz - ev.tone_hz) < 2e3:
                    evs.append(ev)
                    break
            else:
                groups.append((hit[0], hit[1], [ev]))
        groups = groups[: self.cfg.max_carriers]
        # refine every FCCH on a channelised window
        # windows centred on the tone, narrowly filtered: a strong neighbour
        # 200 kHz away must not pull the estimate
        ch = WindowChannelizer(self.reader, self.fs, (BURST_SYMBOLS + 2 * FCCH_MARGIN_SYMBOLS) * OUT_SPS,
                               dc=self.dc, pass_hz=FCCH_PASS_HZ, stop_hz=FCCH_STOP_HZ,
                               dc_track=self._dc_track)
        starts, mixes, owner = [], [], []
        for gi, (_a, _b, evs) in enumerate(groups):
            for ev in evs:
                starts.append(ev.start_sample - FCCH_MARGIN_SYMBOLS * self.sps_nominal)
                mixes.append(ev.tone_hz - FCCH_TONE_HZ)
                owner.append(gi)
        refined = refine(ch.extract(np.array(starts), np.array(mixes) + FCCH_TONE_HZ), tone_hz=0.0) \
            if starts else []
        noise_density = self._fcch_noise_density(starts, mixes, refined, owner, known)
        results: list[CarrierResult] = []
        tracks: list[CarrierTrack] = []
        for gi, (arfcn, band, evs) in enumerate(groups):
            nominal = downlink_hz(arfcn, band)
            mine = [(starts[j] + refined[j].start * ch.step_in, mixes[j] + refined[j].freq_error_hz)
                    for j in range(len(owner)) if owner[j] == gi and refined[j].found]
            res = CarrierResult(arfcn=arfcn, band=band, freq_hz=nominal, offset_hz=0.0, decodable=True,
                                status=CarrierStatus.FCCH_ONLY)
            res.stats.fcch = len(evs)
            res.stats.fcch_refined = len(mine)
            res.speculative = all(e.speculative for e in evs)
            if not mine:
                coarse = median([e.tone_hz - FCCH_TONE_HZ for e in evs])
                res.offset_hz = coarse - (nominal - self.fc)
                res.status = CarrierStatus.FCCH_UNCONFIRMED
                results.append(res)
                continue
            mix = median([m for _, m in mine])
            res.offset_hz = mix - (nominal - self.fc)
            if not carrier_is_decodable(mix, self.fs):
                res.decodable = False
                res.status = CarrierStatus.NOT_DECODABLE_EDGE
                results.append(res)
                continue
            sps_in = self.sps_nominal * clock_scale(res.offset_hz, nominal)
            results.append(res)
            track = CarrierTrack(res, mix, sps_in, [s for s, _ in mine])
            # SNR in the symbol-rate bandwidth from the FCCH: its tone's power against
            # the noise per Hz in the middle of the channel during the burst
            # (`_fcch_noise_density`); independent of any modulation model
            for j in range(len(owner)):
                rj = refined[j]
                n0 = noise_density.get(j, 0.0)
                if owner[j] == gi and rj.found and n0 > 0:
                    track.fcch_snrs.append(10 * math.log10(max(rj.tone_power, 1e-30) / (n0 * SYMBOL_RATE_HZ)))
                    track.noise_density.append(n0)
            tracks.append(track)
        return tracks, results

    def _neighbour_fcch(self, first: int, n_search: int, events: list[FcchEvent],
                        known: list[CarrierResult]) -> list[FcchEvent]:
        """FCCHs of carriers 200 kHz beside the ones found, searched on a narrow
        band around where their tone would be.

        The wideband search compares a tone with the carrier band it implies;
        a much stronger neighbour 200 kHz away fills that band with its skirt
        and hides the FCCH of a weak carrier (from ~15 dB on). Centred on the
        weak carrier's tone (neighbour's tone +-200 kHz) and filtered to
        +-FCCH_STOP_HZ, the same segment shows it: the strong carrier is 130 kHz
        or more away, its data has no tone, and its own FCCH tone is 200 kHz off."""
        # carriers decoded by an earlier search had their neighbours searched then
        decoded = [k.freq_hz + k.offset_hz for k in known if k.bsic is not None]
        tones: list[float] = []
        for ev in events:
            f = self.fc + ev.tone_hz - FCCH_TONE_HZ
            if all(abs(ev.tone_hz - t) > 20e3 for t in tones) and all(abs(f - d) > 20e3 for d in decoded):
                tones.append(ev.tone_hz)
        cands: list[float] = []
        for t in tones:
            for c in (t - CHANNEL_SPACING_HZ, t + CHANNEL_SPACING_HZ):
                carrier = c - FCCH_TONE_HZ
                if (all(abs(c - u) > 20e3 for u in tones + cands)
                        and all(abs(self.fc + carrier - d) > 20e3 for d in decoded)
                        and carrier_is_decodable(carrier, self.fs)):
                    cands.append(c)
        if not cands:
            return []
        margin = 8 * self.sps_nominal
        n_search = min(n_search, int(self.cfg.research_search_s * self.fs))  # one FCCH of each
        ch = WindowChannelizer(self.reader, self.fs, int((n_search - 2 * margin) / self.fs * SYMBOL_RATE_HZ)
                               * OUT_SPS, dc=self.dc, pass_hz=NEIGHBOUR_PASS_HZ, stop_hz=NEIGHBOUR_STOP_HZ,
                               dc_track=self._dc_track)
        win = ch.extract(np.full(len(cands), first + margin), np.array(cands))
        found = refine(win, tone_hz=0.0)
        # the narrow band's noise (and a neighbour's skirt) is coherent over a
        # symbol, so `refine`'s one-symbol test alone would pass on it: over the
        # middle of the burst a tone must also be coherent across 32 symbols
        lag = NEIGHBOUR_LAG_SYMBOLS * OUT_SPS
        out = []
        for i, (c, r) in enumerate(zip(cands, found, strict=True)):
            a = round(r.start) + NOISE_EDGE_SYMBOLS * OUT_SPS
            b = round(r.start) + (BURST_SYMBOLS - NOISE_EDGE_SYMBOLS) * OUT_SPS
            seg = win[i, max(a, 0): min(b, win.shape[1])].astype(np.complex128)
            if not r.found or seg.size <= 2 * lag:
                continue
            x, y = seg[lag:], seg[:-lag]
            norm = float(np.sqrt(np.sum(abs(x) ** 2) * np.sum(abs(y) ** 2)))
            coherence = abs(np.sum(x * np.conj(y))) / max(norm, 1e-30)
            if coherence > NEIGHBOUR_COHERENCE and abs(r.freq_error_hz) < NEIGHBOUR_MAX_ERROR_HZ:
                out.append(FcchEvent(first + margin + r.start * ch.step_in, c + r.freq_error_hz, coherence,
                                     speculative=True))
        return out

    def _fcch_noise_density(self, starts: list[float], mixes: list[float], refined: list[FcchRefined],
                            owner: Sequence[int] = (), known: Sequence[CarrierResult] = ()
                            ) -> dict[int, float]:
        """Noise per Hz (window units) at each refined FCCH, by index.

        During the FCCH a carrier's whole power is in its tone, 67.7 kHz above
        the carrier; a window centred on the carrier and filtered to +-NOISE_STOP_HZ
        then holds only noise over the middle of the burst, and much less of a
        neighbour 200 kHz away than the tone's own window (whose far edge is
        100 kHz from that neighbour). Much less is not nothing: GMSK's skirt
        200 kHz out is ~35 dB under its peak density, so a neighbour 30 dB above
        the noise adds about as much as the noise itself. What the found
        carriers (FCCHs of this search grouped by `owner`, their tone power
        being their whole power, and the `known` cells) put into the window,
        by the GMSK spectrum (`aci_fraction`), is subtracted; at most
        1 - NOISE_MIN_FRACTION of the measurement (fading neighbours)."""
        found = [j for j, r in enumerate(refined) if r.found]
        if not found:
            return {}
        ch = WindowChannelizer(self.reader, self.fs, (BURST_SYMBOLS + 2 * FCCH_MARGIN_SYMBOLS) * OUT_SPS,
                               dc=self.dc, pass_hz=NOISE_PASS_HZ, stop_hz=NOISE_STOP_HZ,
                               dc_track=self._dc_track)
        w = ch.extract(np.array([starts[j] for j in found]),
                       np.array([mixes[j] + refined[j].freq_error_hz for j in found]))
        out = {}
        for k, j in enumerate(found):
            a = round(refined[j].start) + NOISE_EDGE_SYMBOLS * OUT_SPS
            b = round(refined[j].start) + (BURST_SYMBOLS - NOISE_EDGE_SYMBOLS) * OUT_SPS
            seg = w[k, max(a, 0): min(b, w.shape[1])]
            if seg.size >= 16:
                out[j] = float(np.mean(seg.real ** 2 + seg.imag ** 2)) / ch.noise_bandwidth_hz
        # the carriers around: (offset from the capture centre, power)
        around: list[tuple[float, float]] = []
        for gi in sorted(set(owner)):
            js = [j for j, o in enumerate(owner) if o == gi and refined[j].found]
            if js:
                around.append((median([mixes[j] + refined[j].freq_error_hz for j in js]),
                               median([refined[j].tone_power for j in js])))
        for kc in known:
            if kc.is_cell and kc.power_dbfs is not None:
                around.append((kc.freq_hz + kc.offset_hz - self.fc, 10 ** (kc.power_dbfs / 10)))
        for j, n0 in out.items():
            out[j] = neighbour_corrected(n0, mixes[j] + refined[j].freq_error_hz, around, NOISE_PASS_HZ,
                                         NOISE_STOP_HZ, ch.noise_bandwidth_hz)
        return out

    # ----------------------------------------------------------------- SCH

    def _sch_windows(self, starts_in: Sequence[float], mixes: Sequence[float], margin: int
                     ) -> tuple[npt.NDArray[np.complex64], npt.NDArray[np.float64], WindowChannelizer]:
        ch = self._channelizer((BURST_SYMBOLS + 2 * margin) * OUT_SPS)
        w0 = np.asarray(starts_in, dtype=np.float64) - margin * self.sps_nominal
        return ch.extract(w0, np.asarray(mixes)), w0, ch

    def _channelizer(self, out_len: int) -> WindowChannelizer:
        if out_len not in self._chs:
            self._chs[out_len] = WindowChannelizer(self.reader, self.fs, out_len, dc=self.dc,
                                                   notch_dc=self._dc_spike, dc_track=self._dc_track)
        return self._chs[out_len]

    def _demod_sch(self, tracks: list[CarrierTrack], which: list[int], starts_in: list[float], margin: int
                   ) -> list[SchHit | None]:
        """Demodulates and decodes SCHs predicted at `starts_in` (input samples)
        of tracks[which[i]]; per SCH its `SchHit`, or None (parity failed)."""
        if not which:
            return []
        mixes = [tracks[i].mix_hz for i in which]
        win, w0, ch = self._sch_windows(starts_in, mixes, margin)
        start, _q = sch_search(win)
        # always refined: the SCHs' timing and residual frequency steer the tracking
        # (first-pass estimates cost a block now and then at 1 dB Eb/N0)
        b = self.demod.sch(win, start, refine=True)
        dec = sch_decode(b.soft)
        out: list[SchHit | None] = []
        for j in range(len(which)):
            if not bool(dec.ok[j]):
                tracks[which[j]].result.stats.sch_bad += 1
                out.append(None)
                continue
            tracks[which[j]].result.stats.sch_ok += 1
            s_in = float(w0[j] + b.start[j] * ch.step_in)
            out.append(SchHit(int(dec.bsic[j]), s_in, int(dec.fn[j]), float(b.snr_db[j]), float(b.power[j]),
                              float(b.freq_hz[j])))
        return out

    def _confirm(self, tracks: list[CarrierTrack]) -> list[CarrierTrack]:
        """SCH after every refined FCCH; keeps the tracks with a consistent decoded SCH."""
        which, starts = [], []
        for i, t in enumerate(tracks):
            for s in t.fcch_starts:
                s_sch = s + FRAME_SYMBOLS * t.sps_in
                if s_sch + (BURST_SYMBOLS + 1) * t.sps_in <= self.ring.end:
                    which.append(i)
                    starts.append(s_sch)
        decoded = self._demod_sch(tracks, which, starts, SCH_MARGIN_SYMBOLS)
        per: dict[int, list[SchHit]] = {}
        for i, d in zip(which, decoded, strict=True):
            if d is not None:
                per.setdefault(i, []).append(d)
        kept = []
        for i, t in enumerate(tracks):
            ds = per.get(i, [])
            if not ds:
                t.result.status = CarrierStatus.SCH_FAILED
                continue
            bsic = Counter(d.bsic for d in ds).most_common(1)[0][0]
            ds = [d for d in ds if d.bsic == bsic]
            # consistent timing: fn differences must match sample differences
            best: list[tuple[int, float]] = []
            for ref in ds:  # the largest group of SCHs that agree with each other
                group = []
                for d in ds:
                    dfn = round((d.start - ref.start) / t.frame_len)
                    if (ref.fn + dfn - d.fn) % HYPERFRAME == 0:
                        group.append((ref.fn + dfn, d.start))
                if len(group) > len(best):
                    best = group
            for fn, start in sorted(best):
                t.add_anchor(fn, start)
            t.result.first_seen_s = self.time_offset_s + min(t.anchors.values()) / self.fs
            t.snrs.extend(d.snr_db for d in ds)
            t.powers.extend(d.power for d in ds)
            t.result.bsic = bsic
            t.result.status = CarrierStatus.DECODED
            kept.append(t)
        return kept

    # ----------------------------------------------------------------- tracking and blocks

    def _chunk(self, tracks: list[CarrierTrack], fa: dict[int, int], fb: dict[int, int]) -> None:
        """Decodes frames [fa, fb) (unwrapped, per track id) of the active tracks."""
        cfg = self.cfg
        sch_t3 = SCH_T3 if cfg.all_frames else cfg.sch_t3
        # 1. SCHs for timing
        which, starts, fns = [], [], []
        for i, t in enumerate(tracks):
            if t.done:
                continue
            first, last = t.fn_span(self.ring.end)
            f = np.arange(max(fa[i], first), min(fb[i], last + 1), dtype=np.int64)
            f = f[np.isin(f % 51, sch_t3)]
            f = f[[fn not in t.anchors for fn in f.tolist()]] if f.size else f
            if f.size:
                pos = t.position(f)
                which.extend([i] * f.size)
                starts.extend(pos.tolist())
                fns.extend(f.tolist())
        residual: dict[int, list[float]] = {}
        mf_ok: dict[int, dict[int, bool]] = {}  # per track: multiframe -> an SCH of it decoded
        for i, fn, d in zip(which, fns, self._demod_sch_states(tracks, which, starts), strict=True):
            t = tracks[i]
            ok = d is not None and d.bsic == t.result.bsic and d.fn == fn % HYPERFRAME
            m = mf_ok.setdefault(i, {})
            m[fn // 51] = m.get(fn // 51, False) or ok
            if d is None or not ok:
                continue
            t.add_anchor(fn, d.start)
            t.snrs.append(d.snr_db)
            t.powers.append(d.power)
            residual.setdefault(i, []).append(d.freq_hz)
        self._update_states(tracks, mf_ok)
        # frequency tracking (Doppler, oscillator drift): the SCHs' residual frequency
        for i, fr in residual.items():
            if len(fr) >= 2:
                step_hz = float(np.clip(FREQ_TRACK_GAIN * median(fr), -FREQ_TRACK_MAX_HZ,
                                        FREQ_TRACK_MAX_HZ))
                tracks[i].mix_hz += step_hz
        # 2. the blocks
        block_t3 = self._block_t3(tracks)
        blocks: list[tuple[int, int]] = []
        for i, t in enumerate(tracks):
            if t.done or t.result.bsic is None:
                continue
            if t.state is CarrierState.LOST:  # no blocks while the timing is lost
                continue
            first, last = t.fn_span(self.ring.end)
            f = np.arange(fa[i], fb[i], dtype=np.int64)
            starts_fn = f[np.isin(f % 51, block_t3[i])]
            for fn in starts_fn.tolist():
                if fn in t.decoded_blocks:
                    continue
                if fn < first or fn + 3 > last:
                    if fn + 3 >= first and fn <= last:  # partly inside the recording
                        t.result.stats.blocks_incomplete += 1
                    t.decoded_blocks.add(fn)
                    continue
                blocks.append((i, fn))
        for k in range(0, len(blocks), MAX_BLOCKS_PER_BATCH):  # bounded memory per batch
            self._decode_blocks(tracks, blocks[k:k + MAX_BLOCKS_PER_BATCH])
        if self.traffic is not None:  # the assigned dedicated channels (fbsdetect.traffic)
            self.traffic.chunk(self, tracks, fa, fb)

    def _demod_sch_states(self, tracks: list[CarrierTrack], which: list[int], starts: list[float]
                          ) -> list[SchHit | None]:
        """`_demod_sch` with the tracking margin, and the acquisition's wider
        one for lost carriers (their timing is what is being searched)."""
        lost = [k for k, i in enumerate(which) if tracks[i].state is CarrierState.LOST]
        if not lost:
            return self._demod_sch(tracks, which, starts, TRACK_MARGIN_SYMBOLS)
        keep = [k for k in range(len(which)) if tracks[which[k]].state is not CarrierState.LOST]
        out: list[SchHit | None] = [None] * len(which)
        for ks, margin in ((keep, TRACK_MARGIN_SYMBOLS), (lost, SCH_MARGIN_SYMBOLS)):
            got = self._demod_sch(tracks, [which[k] for k in ks], [starts[k] for k in ks], margin)
            for k, d in zip(ks, got, strict=True):
                out[k] = d
        return out

    def _update_states(self, tracks: list[CarrierTrack], mf_ok: dict[int, dict[int, bool]]) -> None:
        """TRACKING -> LOST after `lost_after_sch` multiframes in a row whose
        tracking SCHs all failed; LOST -> TRACKING on a decoded SCH (resync);
        LOST -> DONE after as many failures again (the carrier is gone)."""
        n = max(1, self.cfg.lost_after_sch)
        for i, m in mf_ok.items():
            t = tracks[i]
            for mf in sorted(m):
                if m[mf]:
                    t.sch_failures = 0
                    if t.state is CarrierState.LOST:
                        t.state = CarrierState.TRACKING
                        t.result.stats.resyncs += 1
                    continue
                t.sch_failures += 1
                if t.state is CarrierState.TRACKING and t.sch_failures >= n:
                    t.state = CarrierState.LOST
                    t.result.stats.lost += 1
                elif t.state is CarrierState.LOST and t.sch_failures >= 2 * n:
                    t.state = CarrierState.DONE
                    break

    def _block_t3(self, tracks: list[CarrierTrack]) -> list[tuple[int, ...]]:
        from fbsdetect.gsm.mapping import block_starts

        out = []
        for t in tracks:
            if self.cfg.all_frames:
                out.append(tuple(s for s, _k, _b in block_starts(bool(t.result.combined))))
            elif self.cfg.follow_ccch:  # every CCCH block: the assignments (fbsdetect.traffic)
                out.append(tuple(s for s, k, _b in block_starts(bool(t.result.combined))
                                 if k in ("BCCH", "CCCH")))
            elif ext_wanted(t.result.si, t.result.si_count, self.cfg.si_repeats):
                out.append((BCCH_T3, BCCH_EXT_T3))
            else:
                out.append((BCCH_T3,))
        return out

    def _decode_blocks(self, tracks: list[CarrierTrack], blocks: list[tuple[int, int]]) -> None:
        from fbsdetect.gsm.mapping import ts0_channel

        margin = TRACK_MARGIN_SYMBOLS
        ch = self._channelizer((BURST_SYMBOLS + 2 * margin) * OUT_SPS)
        w0: list[float] = []
        mixes: list[float] = []
        tscs: list[int] = []
        for i, fn in blocks:
            t = tracks[i]
            pos = t.position(np.arange(fn, fn + 4, dtype=np.int64))
            w0.extend((pos - margin * t.sps_in).tolist())
            mixes.extend([t.mix_hz] * 4)
            tscs.extend([(t.result.bsic or 0) & 7] * 4)  # TSC = BCC on the BCCH carrier
        win = ch.extract(np.array(w0), np.array(mixes))
        nominal = np.full(len(w0), margin * OUT_SPS, dtype=np.float64)
        tsc_arr = np.array(tscs, dtype=np.int64)
        b = self.demod.normal(win, tsc_arr, nominal, refine=False)
        dec = xcch_decode(b.soft.reshape(len(blocks), 4, 114).astype(np.float32))
        if not dec.ok.all():  # the slower refined pass only for the blocks that failed
            bad_blocks = np.flatnonzero(~dec.ok)
            bad = (4 * bad_blocks[:, None] + np.arange(4)[None, :]).ravel()
            b2 = self.demod.normal(win[bad], tsc_arr[bad], nominal[bad], refine=True)
            dec2 = xcch_decode(b2.soft.reshape(bad_blocks.size, 4, 114).astype(np.float32))
            b, dec = merge_bursts(b, b2, bad), merge_fields(dec, dec2, bad_blocks)
        idle = np.zeros(len(blocks), dtype=bool)
        if not dec.ok.all():  # idle SDCCH/4 and SACCH/4 sub-channels send dummy bursts
            bad_blocks = np.flatnonzero(~dec.ok)
            q = dummy_correlation(win[(4 * bad_blocks[:, None] + np.arange(4)[None, :]).ravel()])
            idle[bad_blocks] = q.reshape(-1, 4).min(axis=1) >= DUMMY_MIN_CORRELATION
        for k, (i, fn) in enumerate(blocks):
            t = tracks[i]
            st = t.result.stats
            st.bursts += 4
            t.decoded_blocks.add(fn)
            t.powers.extend(b.power[4 * k: 4 * k + 4].tolist())
            if not bool(dec.ok[k]):
                if idle[k]:
                    st.blocks_idle += 1
                else:
                    st.blocks_bad += 1
                continue
            t.snrs.extend(b.snr_db[4 * k: 4 * k + 4].tolist())
            st.blocks_ok += 1
            frame = bytes(dec.frames[k].tobytes())
            slot = ts0_channel(fn % HYPERFRAME, bool(t.result.combined))
            block_power = float(np.mean(b.power[4 * k: 4 * k + 4]))
            fr = L2Frame(arfcn=t.result.arfcn, fn=fn % HYPERFRAME, ts=0, channel=slot.kind, data=frame,
                         time_s=self.time_offset_s + float(t.position(np.array([fn]))[0] / self.fs),
                         power_dbm=_dbfs(block_power),  # dBFS here; `decode` refers it to the antenna
                         snr_db=self._block_snr_db(t, block_power, b.snr_db[4 * k: 4 * k + 4], ch),
                         freq_offset_hz=t.result.offset_hz)
            t.result.frames.append(fr)
            if self.traffic is not None:
                self.traffic.on_frame(t, fn, fr, self)
            if slot.kind == "BCCH":
                t.tc_count[(fn // 51) % 8] += 1
            if slot.kind in ("BCCH", "CCCH"):
                # an SI message in a CCCH block is BCCH Ext (e.g. SI2quater at
                # position 1); paging and assignments are not SI
                si = si_key(frame)
                if si is not None:
                    t.result.si[si] = frame
                    remember_instance(t.result.si_all, si, frame)
                    t.result.si_count[si] += 1
                    if si == "3":
                        combined = Si3Info.from_frame(frame).combined
                        if combined is not None:
                            t.result.combined = combined

    @staticmethod
    def _block_snr_db(t: CarrierTrack, power: float, burst_snr_db: npt.NDArray[np.float64],
                      ch: WindowChannelizer) -> float:
        """SNR of one block in the symbol-rate bandwidth: its power (signal plus
        the noise the burst filter lets through) over the carrier's noise density
        from its FCCHs; the equaliser's estimate (which counts interference as
        noise) when the FCCH gave none."""
        if t.noise_density:
            n0 = median(t.noise_density)
            signal = power - n0 * ch.noise_bandwidth_hz
            return round(10 * math.log10(max(signal, 1e-3 * n0 * SYMBOL_RATE_HZ) / (n0 * SYMBOL_RATE_HZ)), 1)
        return round(median(burst_snr_db), 1)

    def _satisfied(self, t: CarrierTrack) -> bool:
        n = self.cfg.si_repeats
        if any(t.tc_count[tc] < n for tc in range(8)):
            return False
        if any(c < n for c in t.result.si_count.values()):
            return False
        return all(t.result.si_count[s] >= n for s in announced(t.result.si))

    # ----------------------------------------------------------------- result

    def _finish(self) -> DecodeResult:
        results = self.results
        self._finalise(self.tracks)
        self._drop_copies(results)
        good = [r for r in results if r.is_cell]
        ppm = estimate_ppm([r.freq_hz for r in good], [r.offset_hz for r in good],
                           [r.stats.fcch_refined for r in good]) if good else None
        results.sort(key=lambda r: (r.freq_hz, r.offset_hz))
        if self._dc_spike:
            for r in results:
                if abs(r.freq_hz + r.offset_hz - self.fc) < DC_OVERLAP_HZ:
                    r.stats.dc_spike = 1
                    if r.bsic is None and r.status in (CarrierStatus.SCH_FAILED,
                                                       CarrierStatus.FCCH_UNCONFIRMED):
                        r.decodable = False
                        r.status = CarrierStatus.NOT_DECODABLE_DC
        dc_dbfs = 10 * math.log10(max(abs(self.dc) ** 2, 1e-20))
        return DecodeResult(results, ppm, self.fs, self.fc, self.ring.end / self.fs, dc_dbfs,
                            self.dc_spike_db)

    def _drop_copies(self, results: list[CarrierResult]) -> None:
        """Marks carriers that repeat a much stronger carrier's BSIC and frame
        timing (the same frame number at the same sample, +-2 symbols): a
        strong signal's intermodulation or image in the receiver, not a cell."""
        cells = [r for r in results if r.is_cell and r.power_dbfs is not None]
        for weak in cells:
            for strong in cells:
                if strong is weak or strong.bsic != weak.bsic:
                    continue
                assert strong.power_dbfs is not None and weak.power_dbfs is not None
                if strong.power_dbfs - weak.power_dbfs < COPY_MARGIN_DB:
                    continue
                frame = FRAME_SYMBOLS * strong.sps_in
                pos = strong.s_ref + (weak.fn_ref - strong.fn_ref) * frame
                if abs(weak.s_ref - pos) < 2 * strong.sps_in:
                    weak.status, weak.copy_of = CarrierStatus.COPY, strong.arfcn
                    break

    def _finalise(self, tracks: list[CarrierTrack]) -> None:
        from fbsdetect.gsm.mapping import ts0_channel

        if self.traffic is not None:
            self.traffic.finish(tracks)
        for t in tracks:
            r = t.result
            r.frames.sort(key=lambda f: f.fn if f.time_s is None else f.time_s)
            if r.combined:  # blocks decoded before SI3 told the channel combination
                r.frames = [replace(f, channel=ts0_channel(f.fn, True).kind) if f.ts == 0 else f
                            for f in r.frames]
        self._publish(tracks)
        for t in tracks:
            r = t.result
            if r.bsic is not None and r.sch_consistent < MIN_SCH:
                r.status = CarrierStatus.SCH_UNCONFIRMED

    @staticmethod
    def _publish(tracks: list[CarrierTrack]) -> None:
        """Power, SNR and the SCH count so far onto each track's result."""
        for t in tracks:
            if t.published == t.cursor:  # nothing decoded since the last time
                continue
            t.published = t.cursor
            r = t.result
            if t.powers:
                r.power_dbfs = _dbfs(median(t.powers))
            # the FCCH's estimate measures the noise in the middle of the channel
            # (a neighbour 200 kHz away leaks ~35 dB under its own power there);
            # the equaliser's counts all interference and its linear GMSK model's
            # error (~20 dB floor) as noise: the larger is the better one
            ests = [median(v) for v in (t.fcch_snrs, t.snrs) if v]
            if ests:
                r.snr_db = max(ests)
            r.sch_consistent = t.n_anchors
            r.s_ref, r.fn_ref, r.sps_in = t.s_ref, t.fn_ref, t.sps_in
