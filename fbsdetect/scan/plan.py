"""The sweep planner: which tunings cover a profile's bands.

A tuning's usable span is +-`H` around its centre, where `H` is the largest
``k * 200 kHz + 100 kHz`` inside `dsp.channelizer.usable_offset_hz(fs)` (the
band the channeliser trusts to be flat and alias-free): centres sit 100 kHz
off the channel raster, so the dongle's DC spike falls halfway between two
channels and no carrier is within 100 kHz of it (`receiver.DC_OVERLAP_HZ`).
At 8 x the GSM symbol rate (2.1667 MS/s) `H` is 900 kHz: 10 channels per
tuning, 18 tunings for E-GSM900 (174 channels). 9 x (2.4375 MS/s) would give
the same 10 (1.1 MHz is just outside its 1.07 MHz usable span) at 12 % more
CPU, so the profiles use 8 x.

`plan_sweep` returns the grid that covers every ARFCN in reach (the power
pass visits all of it), the bands or parts of bands outside the tuner's range
(reported, never silently skipped), and spectrum-only tunings over the
profile's LTE downlinks in reach. `cover` picks the fewest tunings that
hold a given set of carriers (greedy interval cover: optimal on a line).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from fbsdetect.dsp.channelizer import SYMBOL_RATE_HZ, usable_offset_hz
from fbsdetect.errors import BadInput
from fbsdetect.i18n import _
from fbsdetect.scan.profile import Profile

CHANNEL_HZ = 200_000.0
DC_GAP_HZ = 100_000.0
RTL_XTAL_HZ = 28.8e6
RTL_RATE_RANGES_HZ = ((225_001.0, 300_000.0), (900_001.0, 3_200_000.0))


def rtl_actual_rate_hz(sample_rate_hz: float, xtal_hz: float = RTL_XTAL_HZ) -> float:
    """The rate librtlsdr really sets for a requested one (rtlsdr_set_sample_rate:
    the resampler ratio xtal * 2^22 / rate, rounded down to a multiple of 4)."""
    ratio = int(xtal_hz * (1 << 22) / sample_rate_hz) & ~3
    return xtal_hz * (1 << 22) / ratio


def rtl_accepts(sample_rate_hz: float) -> bool:
    return any(lo <= sample_rate_hz <= hi for lo, hi in RTL_RATE_RANGES_HZ)


def half_span_hz(sample_rate_hz: float) -> float:
    """H: carriers at centre +-100, +-300 ... +-H kHz are decodable."""
    u = usable_offset_hz(sample_rate_hz)
    k = math.floor((u - DC_GAP_HZ) / CHANNEL_HZ + 1e-9)
    if k < 0:
        raise BadInput(_("sample rate {sample_rate_hz:.0f} Hz is too low to decode a GSM carrier off "
                         "DC").format(sample_rate_hz=sample_rate_hz))
    return k * CHANNEL_HZ + DC_GAP_HZ


@dataclass(frozen=True)
class Tuning:
    center_freq_hz: float
    sample_rate_hz: float
    band: str
    arfcns: tuple[int, ...]  # the profile's ARFCNs decodable in this tuning
    kind: str = "gsm"  # "gsm" | "lte"
    lte_band: str | None = None

    @property
    def span_hz(self) -> tuple[float, float]:
        h = self.sample_rate_hz / 2
        return self.center_freq_hz - h, self.center_freq_hz + h


@dataclass(frozen=True)
class Unreachable:
    band: str
    arfcns: tuple[int, ...]
    lo_hz: float
    hi_hz: float
    reason: str  # "band outside the tuner's range (...)"


@dataclass
class SweepPlan:
    sample_rate_hz: float
    half_span_hz: float
    tunings: list[Tuning]  # GSM grid: every reachable ARFCN of the profile in exactly one
    lte_tunings: list[Tuning] = field(default_factory=list)
    unreachable: list[Unreachable] = field(default_factory=list)
    lte_unreachable: list[tuple[str, str]] = field(default_factory=list)  # (band, reason)
    lte_covered_by_gsm: list[str] = field(default_factory=list)
    freq: dict[tuple[int, str], float] = field(default_factory=dict)  # (arfcn, band) -> downlink Hz

    def cover(self, carriers: Iterable[tuple[int, str]]) -> list[Tuning]:
        """The fewest tunings holding every carrier (ARFCN, band) given:
        greedy left to right, each new centre 100 kHz off the raster and H
        above the lowest uncovered carrier."""
        by_band: dict[str, list[float]] = {}
        for a, b in carriers:
            f = self.freq.get((a, b))
            if f is not None:
                by_band.setdefault(b, []).append(f)
        out: list[Tuning] = []
        for band, fs in by_band.items():
            fs = sorted(set(fs))
            i = 0
            while i < len(fs):
                c = fs[i] + self.half_span_hz
                inside = [f for f in fs if abs(f - c) <= self.half_span_hz + 1.0]
                arfcns = tuple(a for (a, b), f in self.freq.items()
                               if b == band and abs(f - c) <= self.half_span_hz + 1.0)
                out.append(Tuning(c, self.sample_rate_hz, band, arfcns))
                i = max(i + 1, fs.index(inside[-1]) + 1)
        return out

    def tuning_for(self, arfcn: int, band: str) -> Tuning:
        """A tuning with the carrier 100 kHz above its centre (short revisits)."""
        f = self.freq[(arfcn, band)]
        c = f - DC_GAP_HZ
        arfcns = tuple(a for (a, b), g in self.freq.items()
                       if b == band and abs(g - c) <= self.half_span_hz + 1.0)
        return Tuning(c, self.sample_rate_hz, band, arfcns)


def plan_sweep(profile: Profile, *, sample_rate_hz: float | None = None,
               freq_range_hz: tuple[float, float] | None = None, range_what: str = "the tuner's range"
               ) -> SweepPlan:
    """Tunings covering `profile`'s bands within `freq_range_hz` (the source's
    range, further capped by the profile's tuner_min_hz/tuner_max_hz)."""
    from fbsdetect.gsm.bands import downlink_hz

    fs = float(sample_rate_hz or profile.radio.sample_rate_hz)
    h = half_span_hz(fs)
    lo_lim, hi_lim = freq_range_hz or (0.0, math.inf)
    lo_lim = max(lo_lim, profile.radio.tuner_min_hz)
    hi_lim = min(hi_lim, profile.radio.tuner_max_hz)
    plan = SweepPlan(fs, h, [])
    for band in profile.bands:
        reach: list[tuple[float, int]] = []
        out: list[int] = []
        for a in band.arfcn_list():
            f = downlink_hz(a, band.name)
            plan.freq[(a, band.name)] = f
            if lo_lim <= f - CHANNEL_HZ / 2 and f + CHANNEL_HZ / 2 <= hi_lim:
                reach.append((f, a))
            else:
                out.append(a)
        if out:
            fo = [downlink_hz(a, band.name) for a in out]
            plan.unreachable.append(Unreachable(
                band.name, tuple(out), min(fo), max(fo),
                f"band outside {range_what} ({lo_lim / 1e6:.0f}-{hi_lim / 1e6:.0f} MHz): "
                f"{band.name} downlink {min(fo) / 1e6:.1f}-{max(fo) / 1e6:.1f} MHz not scanned"))
        for key in [(a, band.name) for a in out]:
            plan.freq.pop(key, None)
        if reach:
            plan.tunings.extend(plan.cover((a, band.name) for _, a in reach))
    plan.tunings.sort(key=lambda t: t.center_freq_hz)
    # LTE downlinks: spectrum only
    spans = [t.span_hz for t in plan.tunings]
    step = 0.9 * fs
    for lb in profile.lte_bands:
        lo, hi = lb.downlink_hz
        if lo < lo_lim or hi > hi_lim:
            plan.lte_unreachable.append((
                lb.name, f"band outside {range_what} ({lo_lim / 1e6:.0f}-{hi_lim / 1e6:.0f} MHz): "
                f"LTE {lb.name} {lo / 1e6:.0f}-{hi / 1e6:.0f} MHz not checked for jamming"))
            continue
        n = max(1, math.ceil((hi - lo) / step))
        # a band inside the GSM grid's spectrum is measured by the GSM tunings
        probes = [lo + k * (hi - lo) / 64 for k in range(65)]
        if spans and sum(any(a <= f <= b for a, b in spans) for f in probes) >= 0.95 * len(probes):
            plan.lte_covered_by_gsm.append(lb.name)
            continue
        mine = [lo + (k + 0.5) * (hi - lo) / n for k in range(n)]
        plan.lte_tunings.extend(Tuning(c, fs, lb.name, (), kind="lte", lte_band=lb.name) for c in mine)
    return plan


def symbol_rate_multiple(sample_rate_hz: float) -> float:
    return sample_rate_hz / SYMBOL_RATE_HZ


def describe(plan: SweepPlan) -> list[str]:
    """Human lines about the plan (for logs and the summary)."""
    lines = [f"{len(plan.tunings)} GSM tunings at {plan.sample_rate_hz / 1e6:.4f} MS/s "
             f"({symbol_rate_multiple(plan.sample_rate_hz):.2f} x the symbol rate), "
             f"+-{plan.half_span_hz / 1e3:.0f} kHz decodable each; "
             f"{len(plan.lte_tunings)} LTE spectrum tunings"]
    lines += [u.reason for u in plan.unreachable]
    lines += [r for _, r in plan.lte_unreachable]
    return lines


