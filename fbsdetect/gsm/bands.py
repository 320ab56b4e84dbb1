"""GSM frequency bands and ARFCNs (TS 45.005 clause 2).

Uplink carrier of ARFCN n, Fu(n), and downlink Fd(n) = Fu(n) + duplex::

    band       ARFCN n          Fu(n) [MHz]                    duplex [MHz]
    GSM450     259..293         450.6 + 0.2 (n - 259)          10
    GSM480     306..340         479.0 + 0.2 (n - 306)          10
    GSM850     128..251         824.2 + 0.2 (n - 128)          45
    P-GSM900   1..124           890 + 0.2 n                    45
    E-GSM900   0..124           890 + 0.2 n                    45
               975..1023        890 + 0.2 (n - 1024)
    R-GSM900   0..124           890 + 0.2 n                    45
               955..1023        890 + 0.2 (n - 1024)
    DCS1800    512..885         1710.2 + 0.2 (n - 512)         95
    PCS1900    512..810         1850.2 + 0.2 (n - 512)         80

DCS1800 and PCS1900 share ARFCNs 512..810: an ARFCN in that range is DCS1800
unless the caller says PCS (`pcs=True` or `band="PCS1900"`). The three
900 MHz bands nest (P within E within R) and give the same frequency for an
ARFCN they share.

The band *reported* for an ARFCN (`band_of_arfcn`, `arfcn_from_downlink_hz`,
`arfcns_in_span` without `bands`) is the narrowest band holding it, as in
TS 45.005 clause 2 and gr-gsm's scanner (`grgsm_scanner`)::

    ARFCN          reported band
    1..124         P-GSM900
    0, 975..1023   E-GSM900   (the extension of P-GSM900)
    955..974       R-GSM900   (railways, the extension of E-GSM900)
    128..251       GSM850
    259..293       GSM450
    306..340       GSM480
    512..885       DCS1800    (PCS1900 for 512..810 only when asked)

A label is a name, not a sweep plan: a scan profile's swept band "E-GSM900"
still means ARFCNs 975..1023 and 0..124 (profiles list ARFCN ranges), and
`downlink_hz(n, "E-GSM900")` gives the same frequency as `downlink_hz(n)` for
every n of E-GSM900.

Hand-written table (libosmogsm's gsm_arfcn2freq10 is the independent check in
tests; it is C and knows no band names or spans).

Invalid ARFCNs, band names and frequencies raise `BandError`, which is both a
`fbsdetect.errors.BadInput` (exit 2 on the command line) and a `ValueError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fbsdetect.errors import BadInput

CHANNEL_SPACING_HZ = 200_000.0


class BandError(BadInput, ValueError):
    """An ARFCN, band name or frequency that is not GSM."""


@dataclass(frozen=True)
class Segment:
    first_arfcn: int
    last_arfcn: int
    first_uplink_hz: float


@dataclass(frozen=True)
class Band:
    name: str
    segments: tuple[Segment, ...]
    duplex_hz: float

    def contains(self, arfcn: int) -> bool:
        return any(s.first_arfcn <= arfcn <= s.last_arfcn for s in self.segments)

    def uplink_hz(self, arfcn: int) -> float:
        for s in self.segments:
            if s.first_arfcn <= arfcn <= s.last_arfcn:
                return s.first_uplink_hz + CHANNEL_SPACING_HZ * (arfcn - s.first_arfcn)
        raise BandError(f"ARFCN {arfcn} is not in band {self.name} ({self.arfcn_ranges()})")

    def downlink_hz(self, arfcn: int) -> float:
        return self.uplink_hz(arfcn) + self.duplex_hz

    def arfcns(self) -> list[int]:
        return [n for s in self.segments for n in range(s.first_arfcn, s.last_arfcn + 1)]

    def arfcn_ranges(self) -> str:
        return ", ".join(f"{s.first_arfcn}..{s.last_arfcn}" for s in self.segments)


def _b(name: str, duplex_mhz: float, *segs: tuple[int, int, float]) -> Band:
    return Band(name, tuple(Segment(a, b, f * 1e6) for a, b, f in segs), duplex_mhz * 1e6)


BANDS: dict[str, Band] = {b.name: b for b in (
    _b("GSM450", 10, (259, 293, 450.6)),
    _b("GSM480", 10, (306, 340, 479.0)),
    _b("GSM850", 45, (128, 251, 824.2)),
    _b("P-GSM900", 45, (1, 124, 890.2)),
    _b("E-GSM900", 45, (0, 124, 890.0), (975, 1023, 880.2)),
    _b("R-GSM900", 45, (0, 124, 890.0), (955, 1023, 876.2)),
    _b("DCS1800", 95, (512, 885, 1710.2)),
    _b("PCS1900", 80, (512, 810, 1850.2)),
)}
BAND_NAMES: tuple[str, ...] = tuple(BANDS)
# The band reported for an ARFCN (module docstring), PCS excluded: the first that holds it.
_CANONICAL: tuple[str, ...] = ("GSM450", "GSM480", "GSM850", "P-GSM900", "E-GSM900", "R-GSM900",
                               "DCS1800")


def get_band(name: str) -> Band:
    """The band called `name` (one of BAND_NAMES)."""
    try:
        return BANDS[name]
    except (KeyError, TypeError):
        raise BandError(f"unknown band {name!r} (known: {' '.join(BAND_NAMES)})") from None


def _check_arfcn(arfcn: int) -> int:
    if isinstance(arfcn, bool) or not isinstance(arfcn, int):
        try:
            if float(arfcn) != int(arfcn):
                raise ValueError
            arfcn = int(arfcn)
        except (TypeError, ValueError):
            raise BandError(f"ARFCN must be an integer, got {arfcn!r}") from None
    return arfcn


def band_of_arfcn(arfcn: int, pcs: bool = False) -> str:
    """The band an ARFCN belongs to (PCS1900 instead of DCS1800 when `pcs`)."""
    n = _check_arfcn(arfcn)
    if pcs and BANDS["PCS1900"].contains(n):
        return "PCS1900"
    for name in _CANONICAL:
        if BANDS[name].contains(n):
            return name
    raise BandError(f"ARFCN {arfcn} is not in any GSM band"
                    + (" (PCS1900 is 512..810)" if pcs else ""))


def _band(arfcn: int, band: str | None) -> tuple[int, Band]:
    n = _check_arfcn(arfcn)
    b = get_band(band) if band is not None else BANDS[band_of_arfcn(n)]
    if not b.contains(n):
        raise BandError(f"ARFCN {arfcn} is not in band {b.name} ({b.arfcn_ranges()})")
    return n, b


def downlink_hz(arfcn: int, band: str | None = None) -> float:
    """Downlink (BTS -> MS) carrier frequency of `arfcn`, in Hz."""
    n, b = _band(arfcn, band)
    return b.downlink_hz(n)


def uplink_hz(arfcn: int, band: str | None = None) -> float:
    """Uplink (MS -> BTS) carrier frequency of `arfcn`, in Hz."""
    n, b = _band(arfcn, band)
    return b.uplink_hz(n)


def _search_bands(pcs: bool) -> list[Band]:
    names = [*_CANONICAL, "PCS1900"] if pcs else list(_CANONICAL)
    return [BANDS[n] for n in names]


def arfcn_from_downlink_hz(freq_hz: float, pcs: bool = False) -> tuple[int, str] | None:
    """(ARFCN, band) of the downlink channel nearest to `freq_hz` if one lies
    within +-100 kHz (half the raster), else None. PCS1900 is searched only
    when `pcs` (its downlink, 1930-1990 MHz, is UMTS/LTE spectrum elsewhere)."""
    f = float(freq_hz)
    best: tuple[float, int, str] | None = None
    for b in _search_bands(pcs):
        for seg in b.segments:
            k = round((f - b.duplex_hz - seg.first_uplink_hz) / CHANNEL_SPACING_HZ)
            n = seg.first_arfcn + min(max(k, 0), seg.last_arfcn - seg.first_arfcn)
            if band_of_arfcn(n, pcs=b.name == "PCS1900") != b.name:
                continue
            d = abs(b.downlink_hz(n) - f)
            if d <= CHANNEL_SPACING_HZ / 2 + 1e-3 and (best is None or d < best[0]):
                best = (d, n, b.name)
    return None if best is None else (best[1], best[2])


def arfcns_in_span(lo_hz: float, hi_hz: float, bands: list[str] | tuple[str, ...] | None = None
                   ) -> list[tuple[int, str]]:
    """Every (ARFCN, band) whose downlink frequency lies in [lo_hz, hi_hz],
    sorted by frequency, each physical channel once. `bands` restricts the
    search (default: every band but PCS1900, 900 MHz channels reported as in
    `band_of_arfcn`); name PCS1900 to include it."""
    if hi_hz < lo_hz:
        raise BandError(f"empty span: {lo_hz} Hz > {hi_hz} Hz")
    if bands is None:
        chosen = [(b, True) for b in _search_bands(False)]
    else:
        chosen = [(get_band(n), False) for n in bands]
    seen: dict[float, tuple[int, str]] = {}
    for b, canonical_only in chosen:
        for n in b.arfcns():
            if canonical_only and band_of_arfcn(n) != b.name:
                continue
            f = b.downlink_hz(n)
            if lo_hz <= f <= hi_hz and round(f) not in seen:
                seen[round(f)] = (n, b.name)
    return [seen[k] for k in sorted(seen)]
