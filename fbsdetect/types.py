"""The plain values that flow between stages (design.md, "Data flow").

Every arrow of the pipeline is one of these frozen dataclasses. Cell identity
is always `mcc, mnc, lac, cid, arfcn, bsic`, the same names as in the JSON
outputs (contracts.md sections 4 and 5) and the database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class L2Frame:
    """One decoded 23-octet L2 block (BCCH, CCCH, SDCCH/4 ...) of one carrier.

    `fn` is the frame number of the block's first burst (as gr-gsm prints it).
    """

    arfcn: int | None
    fn: int
    ts: int
    channel: str  # "BCCH" | "CCCH" | "SDCCH/4" | "SACCH/4" ...
    data: bytes
    time_s: float | None = None  # seconds from the start of the recording/scan
    power_dbm: float | None = None  # the block's power in `power_ref` units (the name is the contract's)
    snr_db: float | None = None
    freq_offset_hz: float | None = None
    power_ref: str = "dBFS"  # "dBm" once referred to the antenna (the gain known), else "dBFS"

    @property
    def hex(self) -> str:
        return self.data.hex()

    def to_json(self) -> dict[str, Any]:
        """The `decode --frames` / `decode-bursts` line (contracts.md section 1)."""
        return {"arfcn": self.arfcn, "fn": self.fn, "ts": self.ts, "channel": self.channel,
                "hex": self.hex}


@dataclass
class DecodeCounts:
    """Counted outcomes of decoding one carrier's timeslot 0, under one set of
    names for the receiver (`receiver.CarrierStats`) and `gsm.ts0decode.Ts0Decoder`:
    FCCH bursts seen (and refined to a burst start and offset), SCHs whose parity
    passed or failed, normal bursts demodulated, blocks whose Fire code passed
    (`blocks_ok`) or failed (`blocks_bad`; `blocks_idle`: failed, and the four
    bursts are dummy bursts), blocks with a burst missing (`blocks_incomplete`),
    idle frames, bursts given twice (`duplicate`) and bursts of other timeslots
    (`other_ts`). `merge` adds another's counts, `snapshot` is a plain dict
    (counts read as ``counts["blocks_ok"]`` too)."""

    fcch: int = 0
    fcch_refined: int = 0
    sch_ok: int = 0
    sch_bad: int = 0
    bursts: int = 0
    blocks_ok: int = 0
    blocks_bad: int = 0
    blocks_idle: int = 0
    blocks_incomplete: int = 0
    idle: int = 0
    duplicate: int = 0
    other_ts: int = 0

    @property
    def sch_tried(self) -> int:
        return self.sch_ok + self.sch_bad

    def merge(self, other: DecodeCounts) -> DecodeCounts:
        """Adds `other`'s counts (of the fields both have) to these; returns self."""
        mine = {f.name for f in fields(self)}
        for f in fields(other):
            if f.name in mine and isinstance(getattr(other, f.name), int | float):
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def snapshot(self) -> dict[str, int | float]:
        """The counts now, as a plain dict (a copy: later counting does not change it)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __getitem__(self, name: str) -> int | float:
        if name not in {f.name for f in fields(self)}:
            raise KeyError(name)
        return getattr(self, name)

    def items(self) -> list[tuple[str, int | float]]:
        return list(self.snapshot().items())

    def get(self, name: str, default: int = 0) -> int | float:
        try:
            return self[name]
        except KeyError:
            return default


@dataclass(frozen=True)
class CellObservation:
    """One cell as seen by one receiver over one dwell (contracts.md section 4)."""

    arfcn: int | None
    band: str | None
    freq_hz: float | None
    bsic: int | None
    mcc: int | None = None
    mnc: int | None = None
    lac: int | None = None
    cid: int | None = None
    power_dbm: float | None = None
    power_ref: str = "dBm"  # "dBm" when the gain calibration is known, else "dBFS"
    snr_db: float | None = None
    freq_offset_hz: float | None = None
    blocks_ok: int = 0
    blocks_bad: int = 0
    si: dict[str, str] = field(default_factory=dict)  # SI type ("1", "2quater", ...) -> 23-octet hex
    params: dict[str, Any] = field(default_factory=dict)
    time: str | None = None  # ISO-8601 UTC with milliseconds and 'Z'
    lat: float | None = None
    lon: float | None = None
    stats: dict[str, int] = field(default_factory=dict)  # counted outcomes, for -v
    # where the observation came from (contracts.md section 8); None from a plain `decode`
    gps_mode: int | None = None  # 0 unknown / no fix, 1 no fix, 2 2D, 3 3D (gpsd's TPV mode)
    gps_error_m: float | None = None  # horizontal error estimate of the fix
    sensor: str | None = None
    # which of the sensor's receivers measured it when it has several (a multi-dongle scan: the
    # source spec); each dongle has its own clock error, so frequency offsets compare within one
    receiver: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("stats")
        if self.power_ref == "dBm":
            d.pop("power_ref")
        for k in ("gps_mode", "gps_error_m", "sensor", "receiver"):
            if d[k] is None:
                d.pop(k)
        return d


@dataclass(frozen=True)
class GpsFix:
    """One receiver position at one instant, as a GPS gives it (or its absence:
    mode 0 with lat/lon None during a dropout; scanning never waits for a fix)."""

    time: datetime  # UTC, timezone-aware
    lat: float | None
    lon: float | None
    mode: int  # 0 unknown / no fix, 1 no fix, 2 2D, 3 3D (gpsd's TPV mode)
    error_m: float | None = None  # horizontal error estimate (gpsd eph, or HDOP x UERE)
    alt_m: float | None = None
    speed_m_s: float | None = None
    course_deg: float | None = None
    source: str = ""  # "gpsd" | "nmea" | "gpx" | "scene" | "fixed"

    @property
    def has_position(self) -> bool:
        return self.mode >= 2 and self.lat is not None and self.lon is not None
