"""Hunt mode: one carrier, short dwells, the power meter, the running estimate
and where to go next (issue 12, `fbsdetect hunt`).

The scan's revisit machinery on one carrier: one tuning with the carrier
100 kHz above its centre (`SweepPlan.tuning_for`: off the dongle's DC spike),
set once; then a short decode dwell (`scan.dwell.decode_dwell`, FCCH + SCH
and the carrier's power, `dwell_s`, tens of ms) every `every_s` seconds. Each
dwell is one reading: the carrier's power (dBm when the gain is known, else
dBFS: a single sensor's offset cancels in the estimate) at the GPS fix of
the moment. Every `estimate_every_s` the readings so far are located
(`locate.locate`, omnidirectional, fixed site: a live hunt re-estimates
often) and the next waypoint is asked of `guidance.suggest`.

Time: a live source's clock runs on its own (the hunt sleeps between
dwells and the reader drops what it did not read); a simulated one
advances only as samples are read, so between dwells its samples are read
and dropped (the scene's walker walks on).

`--cell MCC-MNC-LAC-CID`: the carrier is found first with one sweep of the
profile (`scan.runner.ScanRunner`, `max_sweeps=1`, nothing stored); the cell
must be decoded in that sweep (its SI3 gives the identity).
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from fbsdetect.errors import BadUsage, NotAvailable
from fbsdetect.i18n import _
from fbsdetect.locate.estimate import Estimate, locate
from fbsdetect.locate.guidance import Guidance, suggest
from fbsdetect.locate.samples import PowerSample

DWELL_S = 0.06  # FCCH (every 10-11 frames, 46-51 ms) + its SCH + power
EVERY_S = 1.0
ESTIMATE_EVERY_S = 5.0
TREND_WINDOW_S = 10.0
TREND_MIN_READINGS = 3
DISCARD_BLOCK_S = 0.25


@dataclass(frozen=True)
class Reading:
    """One dwell on the carrier."""

    radio_s: float  # source time
    time: datetime
    lat: float | None
    lon: float | None
    gps_mode: int
    gps_error_m: float | None
    power_dbm: float | None  # None: the carrier was not heard in this dwell
    power_ref: str  # "dBm" | "dBFS"
    snr_db: float | None = None
    bsic: int | None = None

    def sample(self) -> PowerSample | None:
        if self.power_dbm is None or self.lat is None or self.lon is None:
            return None
        return PowerSample(time=self.radio_s, lat=self.lat, lon=self.lon, power_dbm=self.power_dbm,
                           gps_mode=self.gps_mode, gps_error_m=self.gps_error_m, sensor="hunt")


@dataclass
class HuntUpdate:
    reading: Reading
    trend_db: float | None  # dB per 10 s over the last TREND_WINDOW_S (None: too few readings)
    estimate: Estimate | None
    guidance: Guidance | None
    n_samples: int
    new_estimate: bool = False

    def to_json(self) -> dict[str, Any]:
        r = self.reading
        est: dict[str, Any] | None = None
        if self.estimate is not None and self.estimate.ok:
            e = self.estimate
            est = {"lat": round(e.lat, 6) if e.lat is not None else None,
                   "lon": round(e.lon, 6) if e.lon is not None else None,
                   "error_m": None if e.error_m is None else round(e.error_m, 1),
                   "region95": e.region95, "n_fixes": e.n_fixes}
        elif self.estimate is not None:
            est = {"lat": None, "lon": None, "error_m": None, "reason": self.estimate.reason}
        g = self.guidance
        return {
            "time": r.time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "lat": None if r.lat is None else round(r.lat, 6),
            "lon": None if r.lon is None else round(r.lon, 6),
            "power_dbm": None if r.power_dbm is None else round(r.power_dbm, 1),
            "power_ref": r.power_ref,
            "trend_db_per_10s": None if self.trend_db is None else round(self.trend_db, 1),
            "estimate": est,
            "bearing_deg": None if g is None else round(g.bearing_deg, 0),
            "waypoint": None if g is None else {"lat": round(g.lat, 6), "lon": round(g.lon, 6),
                                                "distance_m": round(g.distance_m, 0),
                                                "reason": g.reason},
        }


def parse_cell(text: str) -> tuple[int, int, int, int]:
    """'MCC-MNC-LAC-CID' (decimal) -> the four numbers; BadUsage otherwise."""
    parts = text.strip().split("-")
    try:
        if len(parts) != 4:
            raise ValueError
        mcc, mnc, lac, cid = (int(p, 10) for p in parts)
    except ValueError:
        raise BadUsage(_("--cell {text!r}: expected MCC-MNC-LAC-CID in decimal, e.g. "
                         "460-0-9340-51201").format(text=text)) from None
    if not (0 <= mcc <= 999 and 0 <= mnc <= 999 and 0 <= lac <= 65535 and 0 <= cid <= 65535):
        raise BadUsage(_("--cell {text!r}: MCC/MNC 0-999, LAC/CID 0-65535").format(text=text))
    return mcc, mnc, lac, cid


def _freq_range(source: Any) -> tuple[tuple[float, float] | None, str]:
    rng = getattr(source, "freq_range_hz", None)
    what = "the tuner's range"
    if rng is None and getattr(source, "scene", None) is not None:
        from fbsdetect.sources.sim import FREQ_RANGE_HZ

        rng = FREQ_RANGE_HZ
    if rng is None and getattr(source, "band_hz", None) is not None:
        rng, what = source.band_hz, "the recording's band"
    return rng, what


def find_cell(source: Any, profile: Any, cell: tuple[int, int, int, int], *, gps: Any = None,
              ppm: float | None = None, log: Callable[[str], None] | None = None) -> tuple[int, int | None]:
    """(ARFCN, BSIC) of the cell, from one sweep of `profile` (nothing stored)."""
    from fbsdetect.scan.runner import ScanRunner
    from fbsdetect.scan.sink import MemorySink

    sink = MemorySink()
    runner = ScanRunner(source, profile, sink, source_spec="hunt", gps=gps, max_sweeps=1, ppm=ppm,
                        log=log)
    runner.run()
    seen = []
    for so in sink.observations:
        o = so.obs
        if (o.mcc, o.mnc, o.lac, o.cid) == cell and o.arfcn is not None:
            return int(o.arfcn), o.bsic
        if o.mcc is not None:
            seen.append(f"{o.mcc}-{o.mnc}-{o.lac}-{o.cid}@{o.arfcn}")
    what = ", ".join(sorted(set(seen))[:12]) or _("none")
    raise NotAvailable(_("cell {cell} not decoded in one sweep of profile {profile} (cells decoded: "
                         "{decoded}); give --arfcn if you know it").format(
        cell="-".join(map(str, cell)), profile=profile.name, decoded=what))


@dataclass
class Hunt:
    """The loop (module docstring); `step()` is one dwell and one update."""

    source: Any
    profile: Any
    arfcn: int
    bsic: int | None = None
    gps: Any = None
    dwell_s: float = DWELL_S
    every_s: float = EVERY_S
    estimate_every_s: float = ESTIMATE_EVERY_S
    ppm: float | None = None
    cells: int = 48
    readings: list[Reading] = field(default_factory=list)
    estimate: Estimate | None = None
    guidance: Guidance | None = None

    def __post_init__(self) -> None:
        from fbsdetect.scan.plan import plan_sweep

        fs = float(self.profile.radio.sample_rate_hz)
        if abs(float(self.source.sample_rate_hz) - fs) > 1.0:
            self.source.set_sample_rate(fs)
        fs = float(self.source.sample_rate_hz)
        rng, what = _freq_range(self.source)
        plan = plan_sweep(self.profile, sample_rate_hz=fs, freq_range_hz=rng, range_what=what)
        bands = [b for (a, b) in plan.freq if a == self.arfcn]
        if not bands:
            why = "; ".join(u.reason for u in plan.unreachable if self.arfcn in u.arfcns)
            raise BadUsage(
                _("--arfcn {arfcn}: not in profile {profile}'s bands within reach ({why})").format(
                    arfcn=self.arfcn, profile=self.profile.name, why=why) if why else
                _("--arfcn {arfcn}: not in profile {profile}'s bands").format(
                    arfcn=self.arfcn, profile=self.profile.name))
        self.band = bands[0]
        self.freq_hz = plan.freq[(self.arfcn, self.band)]
        self.tuning = plan.tuning_for(self.arfcn, self.band)
        self.simulated = getattr(self.source, "scene", None) is not None
        self.source.tune(self.tuning.center_freq_hz / (1.0 + (self.ppm or 0.0) * 1e-6))
        g = self.source.gain_db
        if g is None:
            g = getattr(getattr(getattr(self.source, "scene", None), "receiver", None), "gain_db", None)
        self.gain_db = None if g is None else float(g)
        info = getattr(getattr(self.source, "scene", None), "info", None)
        st = getattr(info, "start_time", None)
        if isinstance(st, datetime):
            self.time_zero = st.astimezone(UTC) if st.tzinfo else st.replace(tzinfo=UTC)
        else:
            self.time_zero = datetime.now(UTC) - timedelta(seconds=float(self.source.time_s))
        self._next_s = float(self.source.time_s)
        self._last_est_s = -math.inf
        self._n_est_samples = 0

    # ------------------------------------------------------------------ time

    def _wait(self) -> None:
        """Until the next dwell is due: a simulated clock by reading and dropping samples,
        a live one by sleeping."""
        if self.simulated:
            fs = float(self.source.sample_rate_hz)
            while not self.source.exhausted:
                left = self._next_s - float(self.source.time_s)
                if left <= 0:
                    break
                self.source.read(max(1, int(min(left, DISCARD_BLOCK_S) * fs)))
        else:
            left = self._next_s - float(self.source.time_s)
            if left > 0:
                _time.sleep(min(left, self.every_s))

    @property
    def done(self) -> bool:
        return bool(getattr(self.source, "exhausted", False))

    # ------------------------------------------------------------------ one step

    def dwell(self) -> Reading:
        from fbsdetect.scan.dwell import decode_dwell, scan_receiver_config

        d = decode_dwell(self.source, self.tuning, cap_s=self.dwell_s, satisfied=lambda _r: True,
                         config=scan_receiver_config(follow_ccch=False), search_s=self.dwell_s)
        hits = [c for c in d.decode.carriers if c.arfcn == self.arfcn and c.power_dbfs is not None
                and (self.bsic is None or c.bsic is None or c.bsic == self.bsic)]
        # the carrier with its BSIC decoded first, else the strongest FCCH on the channel
        hits.sort(key=lambda c: (c.bsic is None, -(c.power_dbfs or -999.0)))
        t_src = d.t0_s + d.dwell_s / 2
        power = ref = None
        snr = bsic = None
        if hits:
            c = hits[0]
            power, ref = float(c.power_dbfs), "dBFS"
            if self.gain_db is not None:
                power, ref = power - self.gain_db, "dBm"
            snr = c.snr_db
            bsic = c.bsic
            if c.first_seen_s is not None:
                t_src = float(c.first_seen_s)
        when = self.time_zero + timedelta(seconds=t_src)
        lat = lon = err = None
        mode = 0
        if self.gps is not None:
            try:
                f = self.gps.fix_at(when)
                mode = int(f.mode)
                if f.has_position:
                    lat, lon, err = f.lat, f.lon, f.error_m
            except Exception:  # a GPS problem never stops the hunt
                mode = 0
        return Reading(t_src, when, lat, lon, mode, err, power, ref or ("dBm" if self.gain_db is not None
                                                                         else "dBFS"), snr, bsic)

    def samples(self) -> list[PowerSample]:
        out = []
        for r in self.readings:
            s = r.sample()
            if s is not None:
                out.append(s)
        return out

    def trend_db(self) -> float | None:
        """Slope of the power over the last TREND_WINDOW_S, dB per 10 s."""
        if not self.readings:
            return None
        t_end = self.readings[-1].radio_s
        pts = [(r.radio_s, r.power_dbm) for r in self.readings
               if r.power_dbm is not None and r.radio_s >= t_end - TREND_WINDOW_S]
        if len(pts) < TREND_MIN_READINGS:
            return None
        t = np.array([p[0] for p in pts])
        p = np.array([p[1] for p in pts], dtype=np.float64)
        if float(np.ptp(t)) < 1e-6:
            return None
        return float(np.polyfit(t, p, 1)[0]) * 10.0

    def _re_estimate(self, here: Reading) -> bool:
        s = self.samples()
        if (len(s) == self._n_est_samples
                or here.radio_s - self._last_est_s < self.estimate_every_s):
            return False
        self._last_est_s = here.radio_s
        self._n_est_samples = len(s)
        est = locate(s, moving="never", antenna=False, cells=self.cells, freq_hz=self.freq_hz)
        self.estimate = est
        self.guidance = None
        if est.ok and est.posterior is not None and here.lat is not None and here.lon is not None:
            try:
                self.guidance = suggest(est.posterior, here.lat, here.lon)
            except (ValueError, FloatingPointError):
                self.guidance = None
        return True

    def step(self) -> HuntUpdate:
        self._wait()
        t_start = float(self.source.time_s)
        r = self.dwell()
        self._next_s = t_start + self.every_s
        self.readings.append(r)
        new = self._re_estimate(r)
        return HuntUpdate(r, self.trend_db(), self.estimate, self.guidance, len(self.samples()), new)

    def run(self, *, duration_s: float | None = None, on_update: Callable[[HuntUpdate], None] | None = None,
            stop: Callable[[], bool] | None = None) -> list[HuntUpdate]:
        """Steps until the source is exhausted, `duration_s` of source time has passed
        or `stop()` says so; returns the updates (`on_update` sees each as it comes)."""
        t0 = float(self.source.time_s)
        out = []
        while not self.done and not (stop is not None and stop()):
            if duration_s is not None and float(self.source.time_s) - t0 >= duration_s:
                break
            u = self.step()
            out.append(u)
            if on_update is not None:
                on_update(u)
        return out


# ---------------------------------------------------------------------- the meter


def _arrow(trend: float | None) -> str:
    if trend is None:
        return " "
    if trend >= 1.0:
        return "▲"  # rising
    if trend <= -1.0:
        return "▼"
    return "="


def plain_line(u: HuntUpdate) -> str:
    """One human line per update (stderr when it is not a terminal)."""
    r = u.reading
    p = "  (not heard)" if r.power_dbm is None else f"{r.power_dbm:7.1f} {r.power_ref}"
    tr = "" if u.trend_db is None else f" {_arrow(u.trend_db)} {u.trend_db:+.1f} dB/10s"
    pos = "no fix" if r.lat is None else f"{r.lat:.6f},{r.lon:.6f}"
    out = f"hunt {r.time.strftime('%H:%M:%S')} {p}{tr}  at {pos}"
    e = u.estimate
    if e is not None and e.ok:
        out += f"  estimate {e.lat:.6f},{e.lon:.6f} +-{e.error_m:.0f} m ({e.n_fixes} fixes)"
    elif e is not None:
        out += f"  estimate: {e.reason}"
    g = u.guidance
    if g is not None:
        out += f"  go {g.bearing_deg:03.0f} deg {g.distance_m:.0f} m"
    return out


class Meter:
    """The live power meter on stderr: rich (a bar, the trend, the trail's
    power sparkline, the estimate and the way to go) when stderr is a
    terminal and rich is installed, else `plain_line`s."""

    def __init__(self, *, stream: Any = None, rich: bool | None = None, target: str = "") -> None:
        import sys

        self.stream = stream if stream is not None else sys.stderr
        self.target = target
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._live: Any = None
        if rich is None:
            rich = tty
        if rich:
            try:
                from rich.console import Console
                from rich.live import Live

                self._console = Console(file=self.stream, stderr=self.stream is sys.stderr)
                self._live = Live(console=self._console, refresh_per_second=4, transient=False)
                self._live.start()
            except ImportError:
                self._live = None
        self._powers: list[float] = []

    def update(self, u: HuntUpdate) -> None:
        if u.reading.power_dbm is not None:
            self._powers.append(u.reading.power_dbm)
            del self._powers[:-60]
        if self._live is None:
            self.stream.write(plain_line(u) + "\n")
            self.stream.flush()
            return
        self._live.update(self._render(u))

    def _render(self, u: HuntUpdate) -> Any:
        from rich.panel import Panel
        from rich.text import Text

        r = u.reading
        t = Text()
        if r.power_dbm is None:
            t.append("  not heard in this dwell\n", style="yellow")
        else:
            frac = min(max((r.power_dbm + 110.0) / 80.0, 0.0), 1.0)  # -110 .. -30 dBm
            bar = "█" * int(frac * 40)
            t.append(f"{r.power_dbm:7.1f} {r.power_ref} ", style="bold")
            t.append(bar.ljust(40), style="green")
            if u.trend_db is not None:
                style = "green" if u.trend_db >= 1 else ("red" if u.trend_db <= -1 else "white")
                t.append(f" {_arrow(u.trend_db)} {u.trend_db:+.1f} dB/10s", style=style)
            t.append("\n")
        if self._powers:
            lo, hi = min(self._powers), max(self._powers)
            ticks = "▁▂▃▄▅▆▇█"
            spark = "".join(ticks[int((p - lo) / max(hi - lo, 1e-6) * 7)] for p in self._powers)
            t.append(f"trail  {spark}  ({lo:.0f}..{hi:.0f})\n")
        t.append("at     " + ("no GPS fix" if r.lat is None else f"{r.lat:.6f}, {r.lon:.6f}") + "\n")
        e = u.estimate
        if e is not None and e.ok:
            t.append(f"est.   {e.lat:.6f}, {e.lon:.6f}  +-{e.error_m:.0f} m (50 %), {e.n_fixes} fixes\n",
                     style="cyan")
        elif e is not None:
            t.append(f"est.   {e.reason}\n", style="yellow")
        g = u.guidance
        if g is not None:
            t.append(f"go     {g.bearing_deg:03.0f} deg for {g.distance_m:.0f} m  ({g.reason})\n",
                     style="bold magenta")
        return Panel(t, title=f"hunt {self.target}".strip())

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
