"""The scan loop: sweeps, dwells, revisits, observations to a `ScanSink`.

One sweep:

1. **Power pass** over the plan's grid (every ARFCN of the profile in reach,
   `plan.plan_sweep`) and the LTE spectrum tunings: which channels have
   energy; every spectrum is recorded (`TuningRecord` kind "power"/"lte").
2. **Decode tunings**: the fewest tunings holding every channel with energy
   (`SweepPlan.cover`). On the first sweep two passes: *identity* (each
   dwell ends once every carrier of the tuning has BSIC and SI3: ~1 s) and
   then *completion* (dwells only on tunings with a cell whose announced SI
   set is not complete, ending when it is, counting what the identity
   dwell already decoded). Later sweeps do one *refresh* pass: SI3 again
   (identity, changes) plus whatever is still missing.
3. **Revisits** (from the second sweep on): between steps, carriers that
   matter (new since the first sweep, changed, or the detector's
   `suspect_arfcns()`) get short dwells (FCCH, SCH, power: ~0.1 s) at most
   every `REVISIT_INTERVAL_S` each, within `REVISIT_BUDGET` of the radio
   time, so the band is still swept end to end.

Per cell (ARFCN, BSIC) the runner keeps the SI decoded across visits
(`CellState`): an observation carries the cell's latest frame of every SI type
(params therefore complete once they were all seen), its `frames` only what
this dwell decoded. Radio time is the source's time since the scan started
(scene time for `sim:`); observation times are the instant of the cell's first
SCH in the dwell, with the GPS fix of that instant.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from fbsdetect.dsp.constants import FRAME_RATE_HZ  # TDMA frames per second (216.67)
from fbsdetect.scan import dwell as _dwell
from fbsdetect.scan.dwell import (
    DwellResult,
    PowerResult,
    decode_dwell,
    outcome_counts,
    power_pass,
    scan_receiver_config,
    spectrum_dbfs,
)
from fbsdetect.scan.flags import CellFlags, cgi_of
from fbsdetect.scan.plan import SweepPlan, Tuning, plan_sweep
from fbsdetect.scan.profile import Profile
from fbsdetect.scan.sink import RunInfo, ScanSink, TuningRecord
from fbsdetect.scan.snippets import SEVERITY_RANK, SampleTap, SnippetKeeper, update_params
from fbsdetect.traffic.store import record as record_traffic
from fbsdetect.types import CellObservation, GpsFix, L2Frame

ROTATION_DWELL_MAX_S = 4.3  # two SI cycles + acquisition, for types that take turns on TC 4
REVISIT_INTERVAL_S = 1.0  # per carrier, at most: with the steps between, ~40 samples a minute
REVISIT_BUDGET = 0.35  # at most this share of the radio time goes to revisits
NEW_FOR_SWEEPS = 2  # a carrier first seen after the first sweep is "new" for this many sweeps
COPY_MARGIN_DB = 10.0  # a spur repeating a stronger cell's BSIC without ever passing a CRC
COPY_SPAN_HZ = 1.2e6
FLUSH_EVERY_S = 0.5  # wall-clock
MAX_ALERTS_KEPT = 1000  # in memory, for the view and the summary
MAX_SWEEPS_KEPT = 1000
FIX_EVERY_S = 1.0  # radio time between GPS fixes sent to the sink
ALL_TC = frozenset(range(8))
ARMED_KEEP_S = 3.0  # snippet look-back of a dwell on a flagged carrier's tuning (~52 MB at 2.17 MS/s)
MAX_SI_CHANGES = 16  # SI-change events kept per cell (in memory; each is in its observation's params)
NO_SI_CHANGE = frozenset({"2quater", "2ter"})  # multi-instance types: another instance is no change
PAGING_MIN_SPAN_S = 1.0  # a dwell's paging blocks must span this long to be a sample (detect.engine's)
PAGING_FIRST_S = 4.0  # a cell is due a paging sample until this much paging was stored
PAGING_BUDGET = 0.1  # share of the radio time dwells lengthened for paging samples may take
PAGING_MAX_FRAMES = 400  # paging frames stored per observation (a contiguous run of them)
FRAME_S = 1.0 / FRAME_RATE_HZ
_OUTCOME_RANK = {"no_energy": 0, "no_fcch": 1, "no_sch": 2, "crc_fail": 3, "decoded": 4}


def announced_si(si: dict[str, bytes]) -> set[str]:
    """SI types SI3 announces beyond the always-sent ones (TS 44.018 10.5.2.34:
    SI2ter, SI2quater, SI13 through the GPRS indicator)."""
    if "3" not in si:
        return set()
    from fbsdetect.sysinfo.cell import CellParams

    p = CellParams.from_frames({"3": si["3"]})
    out = set()
    if p.si2ter:
        out.add("2ter")
    if p.si2quater:
        out.add("2quater")
    if p.gprs:
        out.add("13")
    return out


TYPE_TCS = {"1": (0,), "2": (1,), "3": (2, 6), "4": (3, 7), "2bis": (5,), "2ter": (5, 4), "2quater": (5, 4),
            "13": (4,)}
"""BCCH Norm positions (TC) where each SI type is sent (TS 45.002 6.3.1.3)."""


def required_si(si: dict[str, bytes], tcs: set[int]) -> set[str]:
    """The SI types a cell sends, as far as its frames tell: SI2, SI3, SI4; what
    SI3 announces (SI2ter, SI2quater, SI13); SI2bis when SI2's neighbour cell
    description has EXT-IND set (TS 44.018 10.5.2.22); SI1 unless TC 0 was
    decoded carrying something else (SI1 is optional)."""
    req = {"2", "3", "4"} | announced_si(si)
    s2 = si.get("2")
    if s2 is not None and len(s2) > 3 and (s2[3] >> 5) & 1:
        req.add("2bis")
    if "1" in si or 0 not in tcs:
        req.add("1")
    return req


def si_complete(si: dict[str, bytes], tcs: set[int]) -> bool:
    return required_si(si, tcs) <= set(si)


def _tcs(frames: list[L2Frame]) -> set[int]:
    return {(f.fn // 51) % 8 for f in frames if f.channel == "BCCH"}


@dataclass
class CellState:
    """What the scan knows of one cell (ARFCN, BSIC) across visits."""

    arfcn: int
    bsic: int
    band: str
    si: dict[str, bytes] = field(default_factory=dict)
    si_all: dict[str, list[bytes]] = field(default_factory=dict)
    tcs: set[int] = field(default_factory=set)
    first_seen_s: float = 0.0
    last_seen_s: float = 0.0
    identity_s: float | None = None
    si_complete_s: float | None = None
    first_sweep: int = 0
    changed_sweep: int | None = None
    n_obs: int = 0
    n_revisits: int = 0
    last_revisit_s: float = -math.inf
    power_dbm: float | None = None
    power_ref: str = "dBm"
    snr_db: float | None = None
    fn_ref: tuple[int, float] | None = None  # (FN, source time of its block's first burst)
    tc4_fn: int | None = None  # FN of the last TC 4 BCCH block decoded (in the frame clock of fn_ref)
    mcc: int | None = None
    mnc: int | None = None
    lac: int | None = None
    cid: int | None = None
    si_changes: list[dict[str, Any]] = field(default_factory=list)  # the last MAX_SI_CHANGES events
    n_si_changes: int = 0
    paging: dict[str, float] = field(default_factory=lambda: {"requests": 0, "imsi": 0, "tmsi": 0,
                                                               "span_s": 0.0, "stored_s": 0.0})
    paging_stored_at: float | None = None  # radio time of the last paging sample stored
    clear_traffic: int = 0  # dwells in which its dedicated channels spoke in clear (fbsdetect.traffic)

    @property
    def complete(self) -> bool:
        return si_complete(self.si, self.tcs)

    def wanted(self) -> set[str]:
        return required_si(self.si, self.tcs) - set(self.si)

    def reset(self) -> None:
        self.si, self.si_all, self.tcs = {}, {}, set()


class ScanRunner:
    """Runs a scan of `source` with `profile` into `sink` (see module docstring)."""

    def __init__(self, source: Any, profile: Profile, sink: ScanSink, *, source_spec: str = "",
                 gps: Any = None, detector: Any = None, sensor: str | None = None, learn: bool = False,
                 max_sweeps: int | None = None, duration_s: float | None = None,
                 view: Any = None, software_version: str = "", ppm: float | None = None,
                 log: Callable[[str], None] | None = None, snippets: SnippetKeeper | None = None,
                 share: tuple[int, int] | None = None, flags: CellFlags | None = None) -> None:
        self.source = source
        self.profile = profile
        self.sink = sink
        self.spec = source_spec
        self.gps = gps
        self.detector = detector
        self._detector_takes_frames = _accepts(detector, "observe", "traffic")
        self._detector_takes_kind = _accepts(detector, "observe", "kind")
        self.sensor = sensor
        self.learn = learn
        self.max_sweeps = max_sweeps
        self.duration_s = duration_s
        self.view = view
        self.version = software_version
        self.ppm = ppm
        self.log = log or (lambda _s: None)
        self.stop_requested = False
        rng = getattr(source, "freq_range_hz", None)
        if rng is None:
            try:
                from fbsdetect.sources import sim as _sim

                if isinstance(source, _sim.SimSource):
                    rng = _sim.FREQ_RANGE_HZ
            except ImportError:  # pragma: no cover
                pass
        what = "the tuner's range"
        if rng is None and getattr(source, "band_hz", None) is not None:
            rng = source.band_hz  # a replayed recording: the band it holds
            what = "the recording's band"
        fs = profile.radio.sample_rate_hz
        if abs(float(source.sample_rate_hz) - fs) > 1.0:
            source.set_sample_rate(fs)
        if abs(float(source.sample_rate_hz) - fs) > 1.0:  # it keeps its own (a recording's) rate
            fs = float(source.sample_rate_hz)
        self.plan: SweepPlan = plan_sweep(profile, sample_rate_hz=fs, freq_range_hz=rng, range_what=what)
        self.share = share
        if share is not None:  # several dongles: this one sweeps its share of the plan (scan.multi)
            self.plan = share_of(self.plan, *share)
        self.cells: dict[tuple[int, int], CellState] = {}
        self.sweeps = 0
        self.arfcn_outcome: dict[int, str] = {}
        self.tuning_stats: dict[float, dict[str, Any]] = {}
        self.decode_stats: dict[float, dict[str, Any]] = {}
        self.overflows = 0
        self.dropped_s = 0.0  # radio time the source dropped during dwells (overflow)
        self._ov0 = int(getattr(source, "overflows", 0) or 0)
        self.stale_reads = 0
        self.source_cpu_s = 0.0
        self.revisit_s = 0.0
        self.n_revisits = 0
        self.followed_s = 0.0  # radio time dwells went on past their cap for conversations in clear
        self.paging_s = 0.0  # radio time of dwells lengthened for a paging sample
        self.alerts: list[Any] = []
        self.sweep_end_s: list[float] = []
        self._truncated = False
        self._ppm_obs: list[tuple[float, float, int]] = []  # (nominal Hz, measured offset Hz, weight)
        self.cpu: dict[str, dict[str, float]] = {}  # per step kind: scan CPU, source CPU, radio time
        self.phase = ""
        self.step = (0, 0)
        self._last_fix_s = -math.inf
        self._last_flush = 0.0
        self._cpu0 = 0.0
        # radio time: scene time for a sim: source (contracts section 7), else since the scan started
        self.t_start = 0.0 if getattr(source, "scene", None) is not None else float(source.time_s)
        self.time_zero = self._time_zero()
        self.start_time = self.time_zero + timedelta(seconds=self.t_start)
        self.last_fix: GpsFix | None = None
        self._gain: float | None = self._effective_gain()
        # IQ snippets of flagged cells (issue 11): a tap on the source during decode dwells
        self.snippets = snippets if profile.radio.iq_snippet_keep_s > 0 else None
        self._tap = SampleTap(source, profile.radio.iq_snippet_keep_s) if self.snippets is not None else None
        # the highest alert severity per cell identity (scan.flags; shared by a multi-source scan's runners)
        self.flags = flags if flags is not None else CellFlags()
        self._si_changes: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ time, gps, gain

    def _time_zero(self) -> datetime:
        """The UTC instant of source time 0."""
        scene = getattr(self.source, "scene", None)
        info = getattr(scene, "info", None)
        st = getattr(info, "start_time", None)
        if not isinstance(st, datetime):
            # a replayed recording: the instant of its first sample (SigMF core:datetime), so that
            # its observations carry the capture's time and a GPS log of that drive matches them
            st = getattr(self.source, "start_time", None)
        if isinstance(st, datetime):
            return st.astimezone(UTC) if st.tzinfo else st.replace(tzinfo=UTC)
        if getattr(self.source, "duration_s", None) is not None and hasattr(self.source, "start_time"):
            self.log("scan: the recording does not say when it was made (no core:datetime): its observations "
                     "carry the time of this scan")
        return datetime.now(UTC) - timedelta(seconds=float(self.source.time_s))

    def _effective_gain(self) -> float | None:
        g = self.source.gain_db
        if g is None:
            rx = getattr(getattr(self.source, "scene", None), "receiver", None)
            g = getattr(rx, "gain_db", None)  # the virtual dongle's automatic gain is the scene's
        return None if g is None else float(g)

    def radio_s(self, t_source: float | None = None) -> float:
        return (self.source.time_s if t_source is None else t_source) - self.t_start

    def when(self, t_source: float) -> datetime:
        return self.time_zero + timedelta(seconds=t_source)

    def fix_at(self, t_source: float) -> GpsFix | None:
        if self.gps is None:
            return None
        try:
            fix: GpsFix = self.gps.fix_at(self.when(t_source))
            return fix
        except Exception as e:  # a GPS problem never stops scanning
            self.log(f"gps: {e}")
            return None

    def _send_fix(self) -> None:
        r = self.radio_s()
        if r - self._last_fix_s < FIX_EVERY_S:
            return
        self._last_fix_s = r
        f = self.fix_at(self.source.time_s)
        if f is not None:
            self.last_fix = f
            self.sink.fix(f)

    # ------------------------------------------------------------------ control

    def done(self) -> bool:
        if self.stop_requested:
            return True
        if getattr(self.source, "exhausted", False):
            return True
        if self.duration_s is not None and self.radio_s() >= self.duration_s:
            return True
        return self.max_sweeps is not None and self.sweeps >= self.max_sweeps

    def _remaining_s(self) -> float:
        rem = math.inf
        d = getattr(self.source, "duration_s", None)
        if isinstance(d, int | float) and getattr(self.source, "scene", None) is not None:
            rem = float(d) - float(self.source.time_s)
        if self.duration_s is not None:
            rem = min(rem, self.duration_s - self.radio_s())
        return rem

    def _tick(self) -> None:
        self._send_fix()
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_EVERY_S:
            self.sink.flush()
            self._last_flush = now
        if self.view is not None:
            self.view.update(self)

    def _timed(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs fn, adding its CPU (less the source's) and radio time to `self.cpu[what]`."""
        c0, s0, r0 = time.process_time(), self.source_cpu_s, self.radio_s()
        try:
            return fn(*args)
        finally:
            acc = self.cpu.setdefault(what, {"cpu_s": 0.0, "source_cpu_s": 0.0, "radio_s": 0.0, "n": 0})
            acc["cpu_s"] += time.process_time() - c0 - (self.source_cpu_s - s0)
            acc["source_cpu_s"] += self.source_cpu_s - s0
            acc["radio_s"] += self.radio_s() - r0
            acc["n"] += 1

    def _tune(self, t: Tuning) -> None:
        if abs(self.source.sample_rate_hz - t.sample_rate_hz) > 1.0:
            self.source.set_sample_rate(t.sample_rate_hz)
        # the dongle's known error: its real LO lands on the planned centre
        self.source.tune(t.center_freq_hz / (1.0 + (self.ppm or 0.0) * 1e-6))

    # ------------------------------------------------------------------ main

    def run(self) -> dict[str, Any]:
        self._cpu0 = time.process_time()
        cfg = {"plan": {"sample_rate_hz": self.plan.sample_rate_hz, "tunings": len(self.plan.tunings),
                        "half_span_hz": self.plan.half_span_hz,
                        "unreachable": [u.reason for u in self.plan.unreachable]
                        + [r for _, r in self.plan.lte_unreachable]},
               "radio": {k: getattr(self.profile.radio, k) for k in self.profile.radio.__dataclass_fields__},
               "serial": getattr(self.source, "serial", None), "ppm": self.ppm,
               "max_sweeps": self.max_sweeps, "duration_s": self.duration_s}
        self.sink.run_started(RunInfo(source=self.spec, profile=self.profile.name, sensor=self.sensor,
                                      start_time=self.start_time, software_version=self.version,
                                      learn=self.learn, config=cfg))
        if self.snippets is not None:
            rid = getattr(self.sink, "run_id", None)
            self.snippets.run_tag = (f"run{rid}" if rid is not None
                                     else self.start_time.strftime("%Y%m%dT%H%M%S"))
            if self.share is not None and not self.snippets.shared:  # a keeper of its own: its own folder
                self.snippets.run_tag += f"-source{self.share[0] + 1}"
            self.snippets.sensor = self.snippets.sensor or self.sensor
        for u in self.plan.unreachable:
            self.log(u.reason)
        for _, r in self.plan.lte_unreachable:
            self.log(r)
        if self.profile.radio.gain_db is not None:
            self.source.set_gain(self.profile.radio.gain_db)
            self._gain = self._effective_gain()
        interrupted = False
        try:
            while not self.done():
                self._sweep()
        except KeyboardInterrupt:
            interrupted = True
            self.log("interrupted: storing what was decoded")
        summary = self.summary(interrupted=interrupted)
        try:
            self.sink.flush()
        finally:
            self.sink.run_ended(summary)
        return summary

    def _sweep(self) -> None:
        k = self.sweeps
        energetic: set[int] = set()
        # 1. power pass over the grid (the LTE bands come after the identity pass)
        grid = self.plan.tunings
        self.phase = "power"
        for i, t in enumerate(grid):
            if self.done():
                return
            self.step = (i + 1, len(grid))
            p = self._timed("power", self._power, t)
            energetic.update(p.energetic)
            self._revisits()
            self._tick()
        # 2. decode tunings
        band_of = {a: b for (a, b) in self.plan.freq}
        targets = {(a, band_of[a]) for a in energetic if a in band_of}
        dec = self.plan.cover(targets)
        phases = [("identity", self.profile.radio.identity_dwell_max_s),
                  ("complete", self.profile.radio.dwell_max_s)] if k == 0 else \
                 [("refresh", self.profile.radio.dwell_max_s)]
        for phase, cap in phases:
            if phase == "refresh" and not self._lte_pass():
                return
            self.phase = phase
            todo = list(dec)
            i = 0
            while todo:
                if self.done():
                    return
                if phase == "complete":
                    todo = [t for t in todo if self._incomplete_in(t, energetic)]
                    if not todo:
                        break
                    # the tuning whose missing blocks come soonest (each cell's frame
                    # clock is known from its identity dwell)
                    t_arr = self.source.time_s + self.profile.radio.settle_s
                    t = min(todo, key=lambda t: self._predicted_dwell_s(t, t_arr, energetic))
                else:
                    t = todo[0]
                todo.remove(t)
                i += 1
                self.step = (i, len(dec))
                rotating = phase != "identity" and self._rotating_in(t)
                cap_t = max(cap, ROTATION_DWELL_MAX_S) if rotating else cap
                self._timed(phase, self._decode, t, phase, cap_t, energetic)
                self._revisits()
                self._tick()
        if k == 0 and not self._lte_pass():
            return
        if self._truncated:
            return
        self.sweeps += 1
        self.sweep_end_s.append(round(self.radio_s(), 3))
        del self.sweep_end_s[:-MAX_SWEEPS_KEPT]
        if self.detector is not None:
            try:
                self._alerts(self.detector.sweep_done())
            except Exception as e:  # the detector is someone else's; it never stops the scan
                self.log(f"detector: {e}")
        self.log(f"sweep {self.sweeps} done at {self.radio_s():.1f} s: {len(self.cells)} cells")

    def _predicted_dwell_s(self, t: Tuning, t_source: float, energetic: set[int]) -> float:
        """How long a dwell on `t` starting at `t_source` must last for every
        cell in it to complete its TC positions: the end of the next BCCH block of
        each missing TC, by the cell's frame clock (FN at a known instant, 216.7
        frames/s; TS 45.002 6.3.1.3: TC = (FN div 51) mod 8, BCCH Norm at T3 2-5).
        Tunings with a carrier not yet decoded, or with SI types missing beyond
        the TCs, come last."""
        arfcns = set(t.arfcns)
        if self._unexplained(t, energetic):
            return 10.0
        worst = 0.0
        for c in self.cells.values():
            if c.arfcn not in arfcns or c.complete:
                continue
            if c.fn_ref is None:
                return 5.0
            fn0, t0 = c.fn_ref
            fn_now = fn0 + (t_source - t0) * FRAME_RATE_HZ
            turns = self._takes_turns(c)
            unseen_only = False
            for typ in c.wanted():
                cand = [k for k in TYPE_TCS.get(typ, ()) if k not in c.tcs]
                if not cand:
                    unseen_only = True  # its positions were decoded carrying other types
                    continue
                waits = []
                for k in cand:
                    m = math.ceil((fn_now - 2) / 51)  # the next multiframe whose BCCH block is ahead
                    m += (k - m) % 8
                    extra = 408 if k == 4 and turns else 0  # either of the next two TC 4 blocks
                    waits.append((51 * m + 2 + 4 + extra - fn_now) / FRAME_RATE_HZ)
                worst = max(worst, min(waits))
            if unseen_only:
                # every TC seen, a type still missing: types that share TC 4 take turns,
                # usually one per SI cycle (408 frames): the next TC 4 block of the
                # other parity than the one last seen there
                if c.tc4_fn is None:
                    return 5.0
                period = 2 * 408
                m = math.ceil((fn_now - 2 - c.tc4_fn - 408) / period)
                fn_b = c.tc4_fn + 408 + period * m
                worst = max(worst, (fn_b + 4 - fn_now) / FRAME_RATE_HZ)
        return worst

    @staticmethod
    def _takes_turns(c: CellState) -> bool:
        from fbsdetect.gsm.mapping import tc4_types

        shared = tc4_types(announced_si(c.si) | set(c.si) | {"1", "2", "3", "4"})
        return len(shared) > 1 and not set(shared) <= set(c.si)

    def _rotating_in(self, t: Tuning) -> bool:
        """A cell of the tuning still misses one of several SI types that take
        turns on TC 4 (TS 45.002 6.3.1.3: e.g. SI2quater and SI13 with SI2ter),
        which needs two SI cycles (3.8 s)."""
        arfcns = set(t.arfcns)
        return any(c.arfcn in arfcns and not c.complete and self._takes_turns(c) for c in self.cells.values())

    def _lte_pass(self) -> bool:
        """The LTE spectrum tunings; False when the scan ended before they were all done."""
        self.phase = "lte"
        for i, t in enumerate(self.plan.lte_tunings):
            if self.done():
                return False
            self.step = (i + 1, len(self.plan.lte_tunings))
            self._timed("lte", self._power, t)
            self._revisits()
            self._tick()
        return True

    def _unexplained(self, t: Tuning, energetic: set[int]) -> list[int]:
        """Channels of `t` with energy, no cell, and no cell within two channels
        (whose skirt or spurs would explain it)."""
        near = {c.arfcn + d for c in self.cells.values() for d in (-2, -1, 0, 1, 2)}
        return [a for a in t.arfcns if a in energetic and a not in near]

    def _incomplete_in(self, t: Tuning, energetic: set[int]) -> bool:
        arfcns = set(t.arfcns)
        if self._unexplained(t, energetic):
            return True  # a carrier with energy and no cell yet: another try
        return any(not c.complete for c in self.cells.values() if c.arfcn in arfcns)

    # ------------------------------------------------------------------ power

    def _power(self, t: Tuning) -> PowerResult:
        from fbsdetect.gsm.bands import downlink_hz

        self._tune(t)
        band = t.band
        p = power_pass(self.source, t, self.profile.radio.power_dwell_s,
                       lambda a: self.plan.freq.get((a, band)) or downlink_hz(a, band))
        self.source_cpu_s += p.source_cpu_s
        out = {"no_energy": len(t.arfcns) - len(p.energetic), "energy": len(p.energetic)}
        notes = list(p.notes)
        if t.kind == "gsm":
            for a in t.arfcns:
                if a not in p.energetic and a not in self.arfcn_outcome:
                    self.arfcn_outcome[a] = "no_energy"
            st = self.tuning_stats.setdefault(t.center_freq_hz, {"dwell_s": 0.0, "visits": 0, "notes": set()})
            st["dwell_s"] += p.dwell_s
            st["visits"] += 1
            st["notes"].update(notes)
            if not p.energetic:
                st["notes"].add("no energy above the noise floor")
        rec = TuningRecord(
            radio_s=self.radio_s(p.t0_s), time=self.when(p.t0_s), center_freq_hz=t.center_freq_hz,
            sample_rate_hz=t.sample_rate_hz, gain_db=self._gain, dwell_s=p.dwell_s,
            kind="power" if t.kind == "gsm" else "lte", arfcns=list(t.arfcns), outcome=out,
            spectrum_start_hz=p.spectrum_start_hz, spectrum_step_hz=p.spectrum_step_hz,
            spectrum_db=p.spectrum_db, noise_floor_db=p.noise_floor_db, clipped=p.clipped, band=t.band,
            notes=tuple(notes))
        self.sink.tuning(rec)
        if self.detector is not None and hasattr(self.detector, "tuning"):
            try:  # the LTE floors for the live jamming check
                self.detector.tuning(rec)
            except Exception as e:
                self.log(f"detector: {e}")
        return p

    # ------------------------------------------------------------------ decode

    def _satisfied(self, phase: str) -> Callable[[Any], bool]:
        cells = self.cells

        def test(r: Any) -> bool:
            if r.bsic is None or "3" not in r.si:
                return False
            if phase == "identity":
                return True
            st = cells.get((r.arfcn, r.bsic))
            si = dict(r.si)
            tcs = _tcs(r.frames)
            if st is not None and st.si.get("3") == r.si.get("3"):
                si = {**st.si, **si}
                tcs |= st.tcs
            return si_complete(si, tcs)

        return test

    def _decode(self, t: Tuning, phase: str, cap_s: float, energetic: set[int]) -> None:
        rem = self._remaining_s()
        cap = min(cap_s, rem)
        if cap < cap_s:
            self._truncated = True  # the scan ends inside this dwell: the sweep is not complete
        if cap < 0.1:
            self.stop_requested = self.stop_requested or rem <= 0
            return
        self._tune(t)
        follow = self._follow(phase, t)
        sat = self._satisfied(phase)
        total = cap
        if follow is not False and _dwell.FOLLOW_CCCH:
            # a conversation in clear keeps the dwell going past its cap (issue 13: the
            # receiver does not end a dwell while a followed assignment is in clear), up to
            # `follow_dwell_max_s`; past the cap every carrier counts as satisfied, so that
            # only the conversations hold the dwell
            total = min(max(cap, self.profile.radio.follow_dwell_max_s), rem)
            t_now = float(self.source.time_s)
            sample = min(self.profile.radio.paging_sample_s, cap)
            if (self.sweeps >= 1 and sample > 0 and self.paging_s <= PAGING_BUDGET * self.radio_s()
                    and any(self._paging_due(c) for c in self.cells.values() if c.arfcn in t.arfcns)):
                # a cell here is due a paging sample (issue 9: rate and IMSI share need the
                # CCCH over a while): the dwell lasts at least `paging_sample_s` (such dwells
                # take at most PAGING_BUDGET of the radio time: sweeps and revisits go on)
                sat = _at_least(sat, self.source, t_now + sample)
                self.paging_s += sample
            sat = _past(sat, self.source, t_now + cap)
        d = decode_dwell(self._dwell_source(t), t, cap_s=total, satisfied=sat,
                         config=scan_receiver_config(follow_ccch=follow))
        if d.dwell_s > cap + 0.3:
            self.followed_s += d.dwell_s - cap
        self._account(d)
        targets = [a for a in t.arfcns if a in energetic]
        out, notes = outcome_counts(t, None, d, targets)
        for a in targets:
            o = self._outcome_of(a, d)
            if _OUTCOME_RANK[o] >= _OUTCOME_RANK.get(self.arfcn_outcome.get(a, "no_energy"), 0):
                self.arfcn_outcome[a] = o
        st = self.decode_stats.setdefault(t.center_freq_hz, {"dwell_s": 0.0, "visits": 0, "arfcns": t.arfcns,
                                                             "outcome": {}, "notes": set()})
        st["dwell_s"] += d.dwell_s
        st["visits"] += 1
        st["outcome"] = out
        st["notes"].update(notes)
        spec = self._dwell_spectrum(d)
        tid = self.sink.tuning(TuningRecord(
            radio_s=self.radio_s(d.t0_s), time=self.when(d.t0_s), center_freq_hz=t.center_freq_hz,
            sample_rate_hz=t.sample_rate_hz, gain_db=self._gain, dwell_s=d.dwell_s, kind="decode",
            arfcns=targets, outcome=out, spectrum_start_hz=t.center_freq_hz - t.sample_rate_hz / 2,
            spectrum_step_hz=t.sample_rate_hz / spec.size if spec.size else 0.0, spectrum_db=spec,
            noise_floor_db=None, clipped=d.clipped, band=t.band, notes=tuple(notes)))
        self._observe(d, tid, "dwell")

    def _dwell_source(self, t: Tuning | None = None) -> Any:
        """The source a decode dwell reads: through the snippet tap when snippets are kept
        (its look-back: `iq_snippet_keep_s`, or the whole dwell up to ARMED_KEEP_S when the
        tuning holds a carrier already flagged)."""
        if self._tap is None or self.snippets is None:
            return self.source
        self._tap.clear()
        keep = self.profile.radio.iq_snippet_keep_s
        if t is not None and any(self.snippets.flagged(self._severity(c)) for c in self.cells.values()
                                 if c.arfcn in t.arfcns):
            keep = max(keep, ARMED_KEEP_S)
        self._tap.keep_s = keep
        return self._tap

    def _keep_snippet(self, r: Any, d: DwellResult, oid: int | None, o: CellObservation) -> None:
        """The IQ around a flagged cell's decoded blocks of this dwell (`scan.snippets`),
        referenced from its observation (`params["iq_snippet"]`)."""
        if self.snippets is None or self._tap is None or oid is None or r.bsic is None:
            return
        sev = self.flags.severity(r.arfcn, r.bsic, cgi_of(o.mcc, o.mnc, o.lac, o.cid))
        if not self.snippets.flagged(sev):
            return
        t_src = r.first_seen_s if r.first_seen_s is not None else d.t0_s
        cell = {"mcc": o.mcc, "mnc": o.mnc, "lac": o.lac, "cid": o.cid, "arfcn": r.arfcn, "bsic": r.bsic,
                "band": r.band, "severity": sev}
        try:
            ref = self.snippets.save(self._tap, r, d.tuning.center_freq_hz, time_zero=self.time_zero,
                                     fix=self.fix_at(t_src), cell=cell, obs_id=oid)
            extra: dict[str, Any] = {"iq_snippet": ref}
            if ref is not None and ref in self.snippets.sha256:
                extra["iq_sha256"] = self.snippets.sha256[ref]
            if ref is not None and not update_params(self.sink, oid, extra):
                self.snippets.counts["unreferenced"] = self.snippets.counts.get("unreferenced", 0) + 1
        except OSError as e:  # a full disk costs the snippet, not the scan
            self.log(f"iq snippet: {e}")

    def _severity(self, c: CellState) -> str | None:
        """The highest alert severity covering the cell (its ARFCN, BSIC and CGI: `scan.flags`)."""
        return self.flags.severity(c.arfcn, c.bsic, cgi_of(c.mcc, c.mnc, c.lac, c.cid))

    def _follow(self, phase: str, t: Tuning | None = None) -> bool | None:
        """Whether this dwell decodes every CCCH block to follow Immediate Assignments
        (`[radio] follow_ccch`: "all" as `dwell.FOLLOW_CCCH` says, "after-identity",
        "after-first-sweep", "off", "where-needed"). Decoding a multiframe's CCCH reads to its
        end: ~0.2 s more a dwell. "where-needed": identity dwells (the first look at a
        tuning: a conversation in clear found there keeps the dwell going); later dwells only
        on a tuning where a cell had a conversation in clear or was flagged, or (from the
        second sweep) where a cell is due a paging sample."""
        mode = self.profile.radio.follow_ccch
        if mode == "off":
            return False
        if mode == "where-needed":
            if phase == "identity" or t is None:
                return None
            here = [c for c in self.cells.values() if c.arfcn in t.arfcns]
            if any(c.clear_traffic or SEVERITY_RANK.get(self._severity(c) or "", 0) >= 2 for c in here):
                return None
            if self.sweeps >= 1 and self.profile.radio.paging_sample_s > 0 and any(
                    self._paging_due(c) for c in here):
                return None
            return False
        if mode == "after-identity":
            return None if phase != "identity" else False
        if mode == "after-first-sweep":
            return None if self.sweeps >= 1 else False
        return None

    @staticmethod
    def _outcome_of(a: int, d: DwellResult) -> str:
        cs = [c for c in d.decode.carriers if c.arfcn == a]
        if any(c.is_cell and c.stats.blocks_ok > 0 for c in cs):
            return "decoded"
        if any(c.bsic is not None for c in cs):
            return "crc_fail"
        return "no_sch" if cs else "no_fcch"

    def _dwell_spectrum(self, d: DwellResult) -> np.ndarray:
        return d.spectrum_db  # the dwell's last 30 ms (dsp: the power pass's Welch spectrum)

    def _account(self, d: DwellResult) -> None:
        for c in d.decode.carriers:
            if c.is_cell and len(self._ppm_obs) < 4096:
                self._ppm_obs.append((c.freq_hz, c.offset_hz, max(1, c.stats.fcch_refined)))
        self.overflows += d.overflows
        self.dropped_s += d.gap_samples / d.decode.sample_rate_hz
        self.stale_reads += d.stale_reads
        self.source_cpu_s += d.source_cpu_s

    def _observe(self, d: DwellResult, tuning_id: int, kind: str) -> None:
        from fbsdetect.receiver import cell_observations

        obs = cell_observations(d.decode, start_time=self.time_zero, gain_db=self._gain)
        by_arfcn = {c.arfcn: c for c in d.decode.carriers if c.is_cell}
        for o in obs:
            r = by_arfcn.get(o.arfcn) if o.arfcn is not None else None
            if r is None or r.bsic is None or self._is_copy(r, d):
                continue
            st = self._absorb(r, o)
            if _in_clear(getattr(r, "traffic", None)):
                st.clear_traffic += 1
            o = self._with_state(o, st)
            extra: dict[str, Any] = {}
            if self._si_changes:
                extra["si_changes"] = self._si_changes
            frames = self._paging(st, r, list(r.frames), extra)
            if extra:
                o = replace(o, params={**o.params, **extra})
            t_src = r.first_seen_s if r.first_seen_s is not None else d.t0_s
            o = self._with_fix(o, t_src)
            oid = self.sink.observation(o, radio_s=self.radio_s(t_src), tuning_id=tuning_id, kind=kind,
                                        frames=frames)
            record_traffic(self.sink, oid, r, self.time_zero)  # SMS, traffic counts (fbsdetect.traffic)
            st.n_obs += 1
            if self.detector is not None:
                try:
                    self._alerts(self._detect(o, oid, r, frames))
                except Exception as e:
                    self.log(f"detector: {e}")
            self._keep_snippet(r, d, oid, o)

    def _detect(self, o: CellObservation, oid: int | None, r: Any,
                frames: list[L2Frame] | None = None, kind: str = "dwell") -> list[Any]:
        """The detector's `observe`, with the frames stored, the dwell's traffic follower and
        the observation's kind ("dwell" | "revisit", as stored) when it takes them."""
        assert self.detector is not None
        if self._detector_takes_frames:
            kw: dict[str, Any] = {"kind": kind} if self._detector_takes_kind else {}
            return list(self.detector.observe(o, oid, frames=list(r.frames) if frames is None else frames,
                                              traffic=getattr(r, "traffic", None), **kw))
        return list(self.detector.observe(o, oid))

    def _is_copy(self, r: Any, d: DwellResult) -> bool:
        """A spur of a stronger cell (the 8-bit ADC's, intermodulation), not a cell:
        a carrier without an identity (no SI3) that repeats the BSIC of a decoded
        cell at least COPY_MARGIN_DB stronger within 1.2 MHz (in this dwell or
        known from an earlier one), or one whose every decoded block is a block of
        such a cell in this dwell. (The receiver's own copy test wants 15 dB and
        the same frame timing.)"""
        if r.power_dbfs is None:
            return False
        if "3" in r.si:
            # an identity of its own: a copy only if every block repeats a block (same
            # FN, same octets) of a carrier COPY_MARGIN_DB stronger; a clone of a
            # cell on another ARFCN (a fake's trick) is not frame-synchronous to it
            mine = {(f.fn, f.data) for f in r.frames}
            return bool(mine) and any(
                c is not r and c.power_dbfs is not None and c.power_dbfs - r.power_dbfs >= COPY_MARGIN_DB
                and mine <= {(f.fn, f.data) for f in c.frames} for c in d.decode.carriers)
        for c in d.decode.carriers:
            if (c is not r and c.bsic == r.bsic and "3" in c.si and c.power_dbfs is not None
                    and c.power_dbfs - r.power_dbfs >= COPY_MARGIN_DB
                    and abs(c.freq_hz - r.freq_hz) <= COPY_SPAN_HZ):
                return True
        p = r.power_dbfs - (self._gain or 0.0)
        for st in self.cells.values():
            if (st.bsic == r.bsic and st.arfcn != r.arfcn and st.mcc is not None and st.power_dbm is not None
                    and st.power_dbm - p >= COPY_MARGIN_DB
                    and abs(self._freq(st.arfcn) - r.freq_hz) <= COPY_SPAN_HZ):
                return True
        return False

    def _freq(self, arfcn: int) -> float:
        for (a, _b), f in self.plan.freq.items():
            if a == arfcn:
                return f
        return math.inf

    def _absorb(self, r: Any, o: CellObservation) -> CellState:
        """Merges one carrier's dwell into its CellState, in frame order, noting
        when its identity (BSIC + SI3) and its complete SI set were first held."""
        from fbsdetect.sysinfo.cell import remember_instance
        from fbsdetect.sysinfo.dispatch import si_key

        key = (r.arfcn, r.bsic)
        st = self.cells.get(key)
        t_first = r.first_seen_s if r.first_seen_s is not None else self.source.time_s
        if st is None:
            st = CellState(r.arfcn, r.bsic, r.band, first_seen_s=self.radio_s(t_first),
                           first_sweep=self.sweeps)
            self.cells[key] = st
        self._si_changes = self._si_change_events(st, r)
        new3 = r.si.get("3")
        if new3 is not None and "3" in st.si and st.si["3"] != new3:
            ident_old = (st.mcc, st.mnc, st.lac, st.cid)
            ident_new = (o.mcc, o.mnc, o.lac, o.cid)
            if ident_old != ident_new:
                st.reset()  # another cell on this ARFCN/BSIC, or a changed one
            st.changed_sweep = self.sweeps
        for f in sorted(r.frames, key=lambda f: f.time_s or 0.0):
            if f.time_s is not None:
                st.fn_ref = (f.fn, f.time_s)
            if f.channel == "BCCH":
                st.tcs.add((f.fn // 51) % 8)
                if (f.fn // 51) % 8 == 4:
                    st.tc4_fn = f.fn
            if f.channel not in ("BCCH", "CCCH"):
                continue
            k = si_key(f.data)
            if k is None:
                continue
            st.si[k] = f.data
            remember_instance(st.si_all, k, f.data)  # the current instances: a changed SI replaces the old
            t_rel = self.radio_s(f.time_s) if f.time_s is not None else self.radio_s()
            if st.identity_s is None and "3" in st.si:
                st.identity_s = round(t_rel, 3)
            if st.si_complete_s is None and st.complete:
                st.si_complete_s = round(t_rel, 3)
        if st.si_complete_s is None and st.complete:
            st.si_complete_s = round(self.radio_s(), 3)
        st.last_seen_s = self.radio_s(t_first)
        st.power_dbm, st.power_ref, st.snr_db = o.power_dbm, o.power_ref, o.snr_db
        if o.mcc is not None:
            st.mcc, st.mnc, st.lac, st.cid = o.mcc, o.mnc, o.lac, o.cid
        return st

    def _si_change_events(self, st: CellState, r: Any) -> list[dict[str, Any]]:
        """SI types whose content in this dwell differs from what earlier visits decoded
        (and from every instance seen before): one event each, kept on the cell and
        put into the observation's params (`si_changes`); the cell is "changed" for the
        revisit scheduler."""
        from fbsdetect.sysinfo.dispatch import si_key

        if not st.si:
            return []
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for f in sorted(r.frames, key=lambda f: f.time_s or 0.0):
            if f.channel not in ("BCCH", "CCCH"):
                continue
            k = si_key(f.data)
            if k is None or k in seen or k in NO_SI_CHANGE or k not in st.si:
                continue
            if f.data == st.si[k] or f.data in st.si_all.get(k, []):
                continue
            seen.add(k)
            t = self.radio_s(f.time_s) if f.time_s is not None else self.radio_s()
            out.append({"si": k, "sweep": self.sweeps, "radio_s": round(t, 3), "fn": f.fn,
                        "was": st.si[k].hex(), "now": bytes(f.data).hex()})
        if out:
            st.changed_sweep = self.sweeps
            st.n_si_changes += len(out)
            st.si_changes.extend(out)
            del st.si_changes[:-MAX_SI_CHANGES]
            self.log(f"ARFCN {st.arfcn} BSIC {st.bsic}: SI changed since the last visit "
                     f"({', '.join('SI' + e['si'] for e in out)})")
        return out

    def _paging(self, st: CellState, r: Any, frames: list[L2Frame], params: dict[str, Any]
                ) -> list[L2Frame]:
        """The frames to store for one carrier: its paging blocks (PCH, identities
        pseudonymised by fbsdetect.traffic) only as a sample, when they span at least
        PAGING_MIN_SPAN_S and the cell is due one (`paging_every_s`; at first until
        PAGING_FIRST_S were stored), at most PAGING_MAX_FRAMES of them in a row; the
        dwell's paging counts always go into params["paging"] and the cell's totals."""
        ps = getattr(getattr(r, "traffic", None), "paging_stats", None)
        pch = [f for f in frames if f.channel == "PCH"]
        if ps:
            for k in ("requests", "imsi", "tmsi", "span_s"):
                st.paging[k] += ps.get(k, 0)
            params["paging"] = {**ps, "stored": 0}
        if not pch:
            return frames
        rest = [f for f in frames if f.channel != "PCH"]
        if not self._paging_due(st):
            return rest
        pch.sort(key=lambda f: f.fn)
        pch = pch[:PAGING_MAX_FRAMES]
        span = (pch[-1].fn - pch[0].fn) * FRAME_S
        if span < PAGING_MIN_SPAN_S:
            return rest
        st.paging["stored_s"] += span
        st.paging_stored_at = self.radio_s()
        if ps:
            params["paging"] = {**ps, "stored": len(pch), "stored_span_s": round(span, 3)}
        return rest + pch

    def _paging_due(self, st: CellState) -> bool:
        if st.paging["stored_s"] < PAGING_FIRST_S or st.paging_stored_at is None:
            return True
        return self.radio_s() - st.paging_stored_at >= self.profile.radio.paging_every_s

    def _with_state(self, o: CellObservation, st: CellState) -> CellObservation:
        """The observation with the cell's SI as known across visits."""
        from fbsdetect.sysinfo.cell import CellParams

        if not st.si:
            return o
        order = ("1", "2", "2bis", "2ter", "2quater", "3", "4", "13")
        si = {k: st.si[k].hex() for k in sorted(st.si, key=lambda k: order.index(k) if k in order else 99)}
        params = CellParams.from_frames({k: list(v) for k, v in st.si_all.items()})
        stats = dict(o.stats)
        stats["si_this_dwell"] = len(o.si)
        return replace(o, si=si, params=params.params(), mcc=params.mcc if params.mcc is not None else o.mcc,
                       mnc=params.mnc if params.mnc is not None else o.mnc,
                       lac=params.lac if params.lac is not None else o.lac,
                       cid=params.cid if params.cid is not None else o.cid, stats=stats)

    def _with_fix(self, o: CellObservation, t_source: float) -> CellObservation:
        f = self.fix_at(t_source)
        kw: dict[str, Any] = {"sensor": self.sensor, "time": _iso_ms(self.when(t_source))}
        if self.share is not None and self.share[1] > 1:  # one of several dongles: say which measured it
            kw["receiver"] = self.spec
        if f is not None:
            kw.update(lat=f.lat if f.has_position else None, lon=f.lon if f.has_position else None,
                      gps_mode=f.mode, gps_error_m=f.error_m)
        else:
            kw.update(gps_mode=0)
        return replace(o, **kw)

    def _alerts(self, alerts: Any) -> None:
        for a in alerts or []:
            self.flags.note(a)
            self.alerts.append(a)
            if len(self.alerts) > MAX_ALERTS_KEPT:  # hours of scanning: the detector stores them
                del self.alerts[: len(self.alerts) - MAX_ALERTS_KEPT]
            self.log(f"ALERT ARFCN {getattr(a, 'arfcn', '?')} [{getattr(a, 'severity', '?')}] "
                     f"{getattr(a, 'text', a)}")

    # ------------------------------------------------------------------ revisits

    def revisit_candidates(self) -> list[CellState]:
        if self.sweeps < 1 or not self.profile.radio.revisit:
            return []
        suspects: set[int] = set()
        if self.detector is not None:
            try:
                suspects = set(self.detector.suspect_arfcns())
            except Exception as e:
                self.log(f"detector: {e}")
        out = []
        for st in self.cells.values():
            new = st.first_sweep >= 1 and self.sweeps - st.first_sweep < NEW_FOR_SWEEPS
            changed = st.changed_sweep is not None and self.sweeps - st.changed_sweep < NEW_FOR_SWEEPS
            if st.arfcn in suspects or new or changed:
                out.append(st)
        return out

    def _revisits(self) -> None:
        cands = self.revisit_candidates()
        if not cands:
            return
        now = self.radio_s()
        if self.revisit_s > REVISIT_BUDGET * max(now, 1.0):
            return
        due = [c for c in cands if now - c.last_revisit_s >= REVISIT_INTERVAL_S]
        if not due:
            return
        st = min(due, key=lambda c: c.last_revisit_s)
        self._timed("revisit", self._revisit, st)

    def _revisit(self, st: CellState) -> None:
        from fbsdetect.receiver.observations import carrier_observation

        try:
            t = self.plan.tuning_for(st.arfcn, self._plan_band(st.arfcn))
        except KeyError:
            return
        cap = min(self.profile.radio.revisit_dwell_s, self._remaining_s())
        if cap < 0.05:
            return
        t0 = self.radio_s()
        self._tune(t)
        d = decode_dwell(self._dwell_source(t), t, cap_s=cap, satisfied=lambda _r: True,
                         config=scan_receiver_config(follow_ccch=False),
                         search_s=cap)
        self._account(d)
        self.revisit_s += self.radio_s() - t0
        self.n_revisits += 1
        st.last_revisit_s = self.radio_s()
        hit = [c for c in d.decode.carriers if c.arfcn == st.arfcn and c.bsic == st.bsic]
        out = {"no_energy": 0, "no_fcch": 0, "no_sch": 0, "crc_fail": 0, "decoded": 0}
        cs = [c for c in d.decode.carriers if c.arfcn == st.arfcn]
        out["decoded" if hit else ("no_sch" if cs else "no_fcch")] = 1
        tid = self.sink.tuning(TuningRecord(
            radio_s=self.radio_s(d.t0_s), time=self.when(d.t0_s), center_freq_hz=t.center_freq_hz,
            sample_rate_hz=t.sample_rate_hz, gain_db=self._gain, dwell_s=d.dwell_s, kind="revisit",
            arfcns=[st.arfcn], outcome=out, band=t.band, clipped=d.clipped))
        if not hit:
            return
        r = hit[0]
        # the same observation a dwell makes (pipeline.observations.build_observation through
        # receiver.carrier_observation): what this look decoded merged into the cell's state, the
        # cell's SI, identity and params as known across visits, SI changes since the last visit
        o = carrier_observation(r, start_time=self.time_zero, gain_db=self._gain)
        st = self._absorb(r, o)
        o = self._with_state(o, st)
        if self._si_changes:
            o = replace(o, params={**o.params, "si_changes": self._si_changes})
        t_src = r.first_seen_s if r.first_seen_s is not None else d.t0_s
        o = self._with_fix(o, t_src)
        st.n_revisits += 1
        oid = self.sink.observation(o, radio_s=self.radio_s(t_src), tuning_id=tid, kind="revisit",
                                    frames=list(r.frames))
        record_traffic(self.sink, oid, r, self.time_zero)
        if self.detector is not None:
            try:
                self._alerts(self._detect(o, oid, r, kind="revisit"))
            except Exception as e:
                self.log(f"detector: {e}")
        self._keep_snippet(r, d, oid, o)

    def _plan_band(self, arfcn: int) -> str:
        for a, b in self.plan.freq:
            if a == arfcn:
                return b
        raise KeyError(arfcn)

    # ------------------------------------------------------------------ summary

    def ppm_estimate(self) -> dict[str, Any]:
        """The dongle's error as the cells decoded so far give it: the correction
        applied plus what the carriers' offsets still show."""
        from fbsdetect.dsp.ppm import estimate_ppm

        applied = self.ppm or 0.0
        est = None
        if self._ppm_obs:
            f, o, w = zip(*self._ppm_obs, strict=True)
            est = estimate_ppm(f, o, w)
        return {"applied": self.ppm, "residual": None if est is None else round(est.ppm, 3),
                "estimate": None if est is None else round(applied + est.ppm, 3),
                "n_cells": 0 if est is None else est.n_cells,
                "spread_ppm": None if est is None else round(est.spread_ppm, 3)}

    def summary(self, *, interrupted: bool = False) -> dict[str, Any]:
        tunings = []
        for t in self.plan.tunings:
            st = self.tuning_stats.get(t.center_freq_hz, {"dwell_s": 0.0, "visits": 0, "notes": set()})
            counts = {k: 0 for k in _OUTCOME_RANK}
            for a in t.arfcns:
                counts[self.arfcn_outcome.get(a, "no_energy")] += 1
            dwell = st["dwell_s"] + sum(s["dwell_s"] for c, s in self.decode_stats.items()
                                        if abs(c - t.center_freq_hz) < t.sample_rate_hz / 4)
            why = sorted(st["notes"])
            tunings.append({"center_freq_hz": t.center_freq_hz, "sample_rate_hz": t.sample_rate_hz,
                            "dwell_s": round(dwell, 3), "arfcns": list(t.arfcns), "outcome": counts,
                            "band": t.band, "why": why})
        decode = [{"center_freq_hz": c, "dwell_s": round(s["dwell_s"], 3), "visits": s["visits"],
                   "arfcns": list(s["arfcns"]), "outcome": s["outcome"], "why": sorted(s["notes"])}
                  for c, s in sorted(self.decode_stats.items())]
        cells = []
        for cs in sorted(self.cells.values(), key=lambda c: (c.arfcn, c.bsic)):
            cells.append({"arfcn": cs.arfcn, "bsic": cs.bsic, "mcc": cs.mcc, "mnc": cs.mnc, "lac": cs.lac,
                          "cid": cs.cid, "identity_s": cs.identity_s, "si_complete_s": cs.si_complete_s,
                          "first_seen_s": round(cs.first_seen_s, 3), "last_seen_s": round(cs.last_seen_s, 3),
                          "power_dbm": cs.power_dbm, "power_ref": cs.power_ref, "snr_db": cs.snr_db,
                          "observations": cs.n_obs, "revisits": cs.n_revisits,
                          "si": sorted(cs.si), "si_missing": sorted(cs.wanted()),
                          "si_changes": cs.n_si_changes,
                          "paging": {**{k: round(v, 3) for k, v in cs.paging.items()},
                                     "rate_hz": round(cs.paging["requests"] / cs.paging["span_s"], 3)
                                     if cs.paging["span_s"] >= PAGING_MIN_SPAN_S else None}})
        return {
            "source": self.spec, "profile": self.profile.name, "start_time": _iso_ms(self.start_time),
            "radio_s": round(self.radio_s(), 3), "cpu_s": round(time.process_time() - self._cpu0, 3),
            "source_cpu_s": round(self.source_cpu_s, 3),
            "overflows": max(self.overflows, int(getattr(self.source, "overflows", 0) or 0) - self._ov0),
            "dropped_s": round(self.dropped_s, 3),
            "stale_reads": self.stale_reads, "sweeps": self.sweeps, "revisits": self.n_revisits,
            "revisit_s": round(self.revisit_s, 3), "followed_s": round(self.followed_s, 3),
            "paging_sample_s": round(self.paging_s, 3),
            "interrupted": interrupted,
            "sweep_end_s": self.sweep_end_s, "ppm": self.ppm_estimate(),
            "sample_rate_hz": self.plan.sample_rate_hz,
            "unreachable": [u.reason for u in self.plan.unreachable]
            + [r for _, r in self.plan.lte_unreachable],
            "cpu_by_step": {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in self.cpu.items()},
            "iq_snippets": dict(self.snippets.counts) if self.snippets is not None else None,
            "tunings": tunings, "decode_tunings": decode, "cells": cells,
            "alerts": [{"arfcn": getattr(a, "arfcn", None), "severity": getattr(a, "severity", None),
                        "text": str(getattr(a, "text", a))} for a in self.alerts],
        }


def _past(test: Callable[[Any], bool], source: Any, t_cap: float) -> Callable[[Any], bool]:
    """`test`, or true once the source's clock reached `t_cap`."""
    def f(r: Any) -> bool:
        return test(r) or float(source.time_s) >= t_cap

    return f


def share_of(plan: SweepPlan, k: int, n: int) -> SweepPlan:
    """Share k of n of a plan: the k-th of n contiguous runs of its grid tunings (in frequency
    order) and every n-th LTE tuning from the k-th; the frequency table stays whole."""
    grid = sorted(plan.tunings, key=lambda t: t.center_freq_hz)
    lo, hi = k * len(grid) // n, (k + 1) * len(grid) // n
    lte = sorted(plan.lte_tunings, key=lambda t: t.center_freq_hz)[k::n]
    return replace(plan, tunings=grid[lo:hi], lte_tunings=lte)


def _in_clear(follower: Any) -> bool:
    """Whether a dwell's followed conversations said anything in clear beyond the
    set-up (an SMS, an identity request, a location-update answer without ciphering)."""
    c = getattr(follower, "counts", None)
    if c is None:
        return False
    return bool(c.sms_unciphered or c.lu_rejects or c.identity_requests or c.lu_accept_without_auth
                or c.imsi_request_then_reject)


def _at_least(test: Callable[[Any], bool], source: Any, t_min: float) -> Callable[[Any], bool]:
    """`test`, and not before the source's clock reached `t_min`."""
    def f(r: Any) -> bool:
        return float(source.time_s) >= t_min and test(r)

    return f


def _iso_ms(t: datetime) -> str:
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def spectrum_of(x: np.ndarray) -> np.ndarray:
    return spectrum_dbfs(x).astype(np.float32)


def _accepts(obj: Any, method: str, keyword: str) -> bool:
    """Whether `obj.method` takes `keyword` (detectors written to the first protocol do not)."""
    import inspect

    fn = getattr(obj, method, None)
    if fn is None:
        return False
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return keyword in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
