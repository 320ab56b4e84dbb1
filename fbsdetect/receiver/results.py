"""What the receiver reports: per carrier (`CarrierResult`, its `CarrierStatus`
and counted outcomes `CarrierStats`), per capture (`DecodeResult`), and one
decoded SCH (`SchHit`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fbsdetect.dsp.ppm import PpmEstimate
from fbsdetect.types import DecodeCounts, L2Frame

MIN_SCH = 2
"""SCHs that must agree on BSIC, frame number and timing for a cell (one SCH
passing its 10-bit parity by chance is a 1/1024 event; two agreeing ones are not)."""


class CarrierStatus(StrEnum):
    """Where a carrier's decoding ended (equal to its text: ``status == "decoded"``)."""

    FCCH_ONLY = "fcch-only"  # found, not yet confirmed (never final)
    FCCH_UNCONFIRMED = "fcch-unconfirmed"  # no FCCH of the group refined to a burst
    NOT_DECODABLE_EDGE = "not-decodable (band edge)"
    NOT_DECODABLE_DC = "not-decodable (DC spike)"
    SCH_FAILED = "sch-failed"
    SCH_UNCONFIRMED = "sch-unconfirmed"  # an SCH decoded, fewer than MIN_SCH agree
    DECODED = "decoded"
    COPY = "copy"  # a much stronger carrier's BSIC and timing: `CarrierResult.copy_of`


@dataclass
class CarrierStats(DecodeCounts):
    """Counted outcomes of one carrier (`DecodeCounts`), plus the recording time
    covered before the early stop, whether its band holds the receiver's DC
    spike (1: power and SNR include it), and how often it was lost and found again."""

    frames_decoded_s: float = 0.0
    dc_spike: int = 0
    lost: int = 0  # times its tracking SCHs failed `lost_after_sch` multiframes in a row
    resyncs: int = 0  # times an SCH found it again while lost

    @property
    def fcch_seen(self) -> int:  # the name before DecodeCounts
        return self.fcch

    @property
    def blocks_bad_crc(self) -> int:  # the name before DecodeCounts
        return self.blocks_bad

    def as_dict(self) -> dict[str, int]:
        return {k: (round(v, 3) if isinstance(v, float) else v)  # type: ignore[misc]
                for k, v in self.snapshot().items()}


@dataclass(frozen=True)
class SchHit:
    """One SCH that passed its parity: BSIC, burst start (input samples), the
    frame number it gives (reduced), SNR (dB), power (window units) and the
    residual carrier frequency (Hz)."""

    bsic: int
    start: float
    fn: int
    snr_db: float
    power: float
    freq_hz: float


@dataclass
class CarrierResult:
    """One BCCH carrier found in the recording."""

    arfcn: int
    band: str
    freq_hz: float  # nominal downlink frequency
    offset_hz: float  # measured carrier offset from freq_hz, in the recording's frame
    decodable: bool
    status: CarrierStatus
    bsic: int | None = None
    frames: list[L2Frame] = field(default_factory=list)
    si: dict[str, bytes] = field(default_factory=dict)  # last frame of each SI type
    si_all: dict[str, list[bytes]] = field(default_factory=dict)  # distinct frames (SI2quater instances)
    first_seen_s: float | None = None  # recording time of the first decoded SCH
    si_count: Counter[str] = field(default_factory=Counter)
    power_dbfs: float | None = None
    snr_db: float | None = None
    combined: bool | None = None  # CCCH_CONF says BCCH+SDCCH/4
    sch_consistent: int = 0  # decoded SCHs that agree on BSIC, FN and timing
    speculative: bool = False  # found only by the narrow search beside a carrier: dropped unless SCH decodes
    stats: CarrierStats = field(default_factory=CarrierStats)
    s_ref: float = 0.0  # sample of the TS0 burst of frame fn_ref (unwrapped), for copy detection
    fn_ref: int = 0
    sps_in: float = 0.0
    traffic: Any = None  # traffic.follower.TrafficFollower when dedicated channels were followed
    copy_of: int | None = None  # with status COPY: the ARFCN of the stronger carrier

    @property
    def status_text(self) -> str:
        """The status as a line of text ("copy of ARFCN 17")."""
        if self.status is CarrierStatus.COPY:
            return f"copy of ARFCN {self.copy_of}"
        return str(self.status)

    @property
    def is_cell(self) -> bool:
        """Reported as a cell: at least MIN_SCH SCHs agree."""
        return (self.bsic is not None and self.sch_consistent >= MIN_SCH
                and self.status == CarrierStatus.DECODED)


@dataclass(frozen=True)
class DecodeResult:
    carriers: list[CarrierResult]
    ppm: PpmEstimate | None
    sample_rate_hz: float
    center_freq_hz: float
    duration_s: float
    dc_offset_dbfs: float | None = None  # the capture's mean (removed before everything else)
    dc_spike_db: float | None = None  # density within +-DC_BAND_HZ of 0 Hz over that of 2-16 kHz, after it
