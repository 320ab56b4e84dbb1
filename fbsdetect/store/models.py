"""The database schema: SQLAlchemy 2 typed models (one module, so that the
Alembic migrations and every reader see the same tables).

Storage knows rows, not rules (design.md): what a rule found is stored as
data (`Finding`, `Detection.rules`), never as code. Times are stored in UTC
(timezone-aware `DateTime(timezone=True)`; SQLite keeps them as ISO text, the
`UtcDateTime` type gives them back aware). Positions are plain lat/lon columns
on every backend; a PostGIS geometry is an optional addition for the central
server (a later migration), never required to read the data.

Tables:
- `sensor`: one row per laptop or node (`name` as given by `scan --sensor` or the node id).
- `scan_run`: one `fbsdetect scan`/`node` run: source, profile, software version, learn flag, summary.
- `tuning`: one dwell of the dongle on one centre frequency, its spectrum and counted outcomes.
- `gps_fix`: the receiver's track.
- `observation`: one cell seen on one dwell (contracts.md section 4, + GPS and sensor), with its raw SI.
- `frame`: the decoded L2 frames of an observation (for pcap exports and evidence).
- `registry_source` / `registry_cell`: known cells imported from OpenCellID/MLS or licensed-site lists.
- `detection` / `finding`: suspected fake cells (incidents) and the rule findings behind them.
- `analysis_run`: one run of the rules, with the rule versions used.
- `audit_log`: the hash-chained record of every write of an observation, detection or finding
  (`fbsdetect.store.audit`, `fbsdetect verify --db`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON, list[Any]: JSON, datetime: UtcDateTime}


class Sensor(Base):
    __tablename__ = "sensor"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="laptop")  # laptop | node
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScanRun(Base):
    __tablename__ = "scan_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    sensor_id: Mapped[int | None] = mapped_column(ForeignKey("sensor.id"))
    source: Mapped[str] = mapped_column(String(512))
    profile: Mapped[str | None] = mapped_column(String(128))
    software_version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    learn: Mapped[bool] = mapped_column(Boolean, default=False)
    config: Mapped[dict[str, Any] | None]
    summary: Mapped[dict[str, Any] | None]

    sensor: Mapped[Sensor | None] = relationship()


class Tuning(Base):
    __tablename__ = "tuning"
    __table_args__ = (Index("ix_tuning_run_radio", "run_id", "radio_s"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_run.id"))
    radio_s: Mapped[float] = mapped_column(Float)
    time: Mapped[datetime]
    center_freq_hz: Mapped[float] = mapped_column(Float)
    sample_rate_hz: Mapped[float] = mapped_column(Float)
    gain_db: Mapped[float | None] = mapped_column(Float)
    dwell_s: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))  # power | decode | revisit | lte
    arfcns: Mapped[list[Any] | None]
    outcome: Mapped[dict[str, Any] | None]
    spectrum_start_hz: Mapped[float | None] = mapped_column(Float)
    spectrum_step_hz: Mapped[float | None] = mapped_column(Float)
    spectrum: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32 little-endian, dBFS per bin
    noise_floor_db: Mapped[float | None] = mapped_column(Float)
    clipped: Mapped[bool] = mapped_column(Boolean, default=False)


class GpsFixRow(Base):
    __tablename__ = "gps_fix"
    __table_args__ = (Index("ix_gps_fix_run_time", "run_id", "time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_run.id"))
    time: Mapped[datetime]
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    mode: Mapped[int] = mapped_column(Integer, default=0)
    error_m: Mapped[float | None] = mapped_column(Float)
    alt_m: Mapped[float | None] = mapped_column(Float)
    speed_m_s: Mapped[float | None] = mapped_column(Float)
    course_deg: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(16))


class Observation(Base):
    __tablename__ = "observation"
    __table_args__ = (
        Index("ix_observation_cgi", "mcc", "mnc", "lac", "cid"),
        Index("ix_observation_arfcn_time", "arfcn", "time"),
        Index("ix_observation_time", "time"),
        Index("ix_observation_run", "run_id"),
        Index("ix_observation_detection", "detection_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_run.id"))
    sensor_id: Mapped[int | None] = mapped_column(ForeignKey("sensor.id"))
    tuning_id: Mapped[int | None] = mapped_column(ForeignKey("tuning.id"))
    time: Mapped[datetime | None]
    radio_s: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16), default="dwell")  # dwell | revisit | decode
    arfcn: Mapped[int | None] = mapped_column(Integer)
    band: Mapped[str | None] = mapped_column(String(16))
    freq_hz: Mapped[float | None] = mapped_column(Float)
    bsic: Mapped[int | None] = mapped_column(Integer)
    mcc: Mapped[int | None] = mapped_column(Integer)
    mnc: Mapped[int | None] = mapped_column(Integer)
    lac: Mapped[int | None] = mapped_column(Integer)
    cid: Mapped[int | None] = mapped_column(Integer)
    power_dbm: Mapped[float | None] = mapped_column(Float)
    power_ref: Mapped[str] = mapped_column(String(8), default="dBm")
    snr_db: Mapped[float | None] = mapped_column(Float)
    freq_offset_hz: Mapped[float | None] = mapped_column(Float)
    blocks_ok: Mapped[int] = mapped_column(Integer, default=0)
    blocks_bad: Mapped[int] = mapped_column(Integer, default=0)
    si: Mapped[dict[str, Any] | None]
    params: Mapped[dict[str, Any] | None]
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    gps_mode: Mapped[int | None] = mapped_column(Integer)
    gps_error_m: Mapped[float | None] = mapped_column(Float)
    # the receiver of a multi-dongle scan that measured it (`CellObservation.receiver`); None: the only one
    receiver: Mapped[str | None] = mapped_column(String(200))
    detection_id: Mapped[int | None] = mapped_column(ForeignKey("detection.id"))

    sensor: Mapped[Sensor | None] = relationship()

    def to_cell(self) -> Any:
        """The `fbsdetect.types.CellObservation` this row stores (time as ISO-8601 UTC)."""
        from fbsdetect.types import CellObservation

        t = None
        if self.time is not None:
            t = self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
                f"{self.time.microsecond // 1000:03d}Z"
        return CellObservation(
            arfcn=self.arfcn, band=self.band, freq_hz=self.freq_hz, bsic=self.bsic, mcc=self.mcc,
            mnc=self.mnc, lac=self.lac, cid=self.cid, power_dbm=self.power_dbm, power_ref=self.power_ref,
            snr_db=self.snr_db, freq_offset_hz=self.freq_offset_hz, blocks_ok=self.blocks_ok,
            blocks_bad=self.blocks_bad, si=dict(self.si or {}), params=dict(self.params or {}), time=t,
            lat=self.lat, lon=self.lon, gps_mode=self.gps_mode, gps_error_m=self.gps_error_m,
            sensor=self.sensor.name if self.sensor is not None else None, receiver=self.receiver)


class FrameRow(Base):
    __tablename__ = "frame"
    __table_args__ = (Index("ix_frame_observation", "observation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observation.id"))
    fn: Mapped[int] = mapped_column(Integer)
    ts: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    time: Mapped[datetime | None]
    power_dbm: Mapped[float | None] = mapped_column(Float)
    snr_db: Mapped[float | None] = mapped_column(Float)


class RegistrySource(Base):
    __tablename__ = "registry_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(32))  # opencellid | licensed
    path: Mapped[str | None] = mapped_column(Text)
    attribution: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)


# The unique key of a registry row (one row per cell and source), in the order of its index.
REGISTRY_KEY = ("mcc", "mnc", "lac", "cid", "radio", "source_id")


class RegistryCell(Base):
    __tablename__ = "registry_cell"
    __table_args__ = (
        # the key, its CGI first (0010): it also serves lookups by CGI, so no second index to write
        Index("uq_registry_cell", *REGISTRY_KEY, unique=True),
        Index("ix_registry_cell_latlon", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("registry_source.id"))
    radio: Mapped[str] = mapped_column(String(8))
    mcc: Mapped[int] = mapped_column(Integer)
    mnc: Mapped[int] = mapped_column(Integer)
    lac: Mapped[int] = mapped_column(Integer)
    cid: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))  # NR: 36 bits (0006)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    range_m: Mapped[float | None] = mapped_column(Float)
    samples: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[int | None] = mapped_column(Integer)  # Unix seconds, as in the CSV
    updated: Mapped[int | None] = mapped_column(Integer)
    arfcn: Mapped[int | None] = mapped_column(Integer)
    bsic: Mapped[int | None] = mapped_column(Integer)
    azimuth_deg: Mapped[float | None] = mapped_column(Float)
    date_start: Mapped[str | None] = mapped_column(String(32))
    date_end: Mapped[str | None] = mapped_column(String(32))
    average_signal: Mapped[float | None] = mapped_column(Float)


class Detection(Base):
    __tablename__ = "detection"
    __table_args__ = (Index("ix_detection_cgi", "mcc", "mnc", "lac", "cid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mcc: Mapped[int | None] = mapped_column(Integer)
    mnc: Mapped[int | None] = mapped_column(Integer)
    lac: Mapped[int | None] = mapped_column(Integer)
    cid: Mapped[int | None] = mapped_column(Integer)
    arfcn: Mapped[int | None] = mapped_column(Integer)
    bsic: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(8))  # low | medium | high
    score: Mapped[float] = mapped_column(Float)
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    n_observations: Mapped[int] = mapped_column(Integer, default=0)
    sensors: Mapped[list[Any] | None]
    rules: Mapped[list[Any] | None]  # [{id, version, title, score, evidence}]
    position: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(16), default="open")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Finding(Base):
    __tablename__ = "finding"
    __table_args__ = (Index("ix_finding_detection", "detection_id"),
                      Index("ix_finding_observation", "observation_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    detection_id: Mapped[int | None] = mapped_column(ForeignKey("detection.id"))
    observation_id: Mapped[int | None] = mapped_column(ForeignKey("observation.id"))
    rule_id: Mapped[str] = mapped_column(String(64))
    rule_version: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(8))
    evidence: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalysisRun(Base):
    __tablename__ = "analysis_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    rule_versions: Mapped[dict[str, Any] | None]
    observations: Mapped[int] = mapped_column(Integer, default=0)
    detections: Mapped[int] = mapped_column(Integer, default=0)


class AuditEntry(Base):
    """One entry of the hash-chained audit log (`fbsdetect.store.audit`): a
    row of `observation` (with its frames), `detection` or `finding` was
    written. `hash` = SHA-256(prev_hash | entry), so that editing, removing or
    inserting an entry breaks the chain; `row_digest` commits to the row."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_row", "table_name", "row_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[datetime]
    table_name: Mapped[str] = mapped_column(String(32))
    row_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(8))  # insert | update | delete | baseline
    row_digest: Mapped[str | None] = mapped_column(String(64))
    fields: Mapped[str | None] = mapped_column(Text)  # JSON {column: short digest of its value}
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Handover(Base):
    """A detection handed to the police or a radio regulator (the monthly
    report counts them, with their dates)."""

    __tablename__ = "handover"
    __table_args__ = (Index("ix_handover_detection", "detection_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    detection_id: Mapped[int] = mapped_column(ForeignKey("detection.id"))
    recipient: Mapped[str] = mapped_column(String(32))  # police | regulator | operator | other
    reference: Mapped[str | None] = mapped_column(String(256))  # case or file number
    handed_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsRow(Base):
    """An SMS a cell delivered in clear on a followed dedicated channel
    (`fbsdetect.traffic`), stored with the observation of that cell: sender,
    text (concatenated parts joined), time stamps, the category
    (`fbsdetect.sms`). Never the recipient's identity."""

    __tablename__ = "sms"
    __table_args__ = (Index("ix_sms_observation", "observation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observation.id"))
    time: Mapped[datetime | None]
    fn: Mapped[int] = mapped_column(Integer)  # first SDCCH block of the conversation
    ts: Mapped[int] = mapped_column(Integer)
    subchannel: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(32))
    smsc: Mapped[str | None] = mapped_column(String(32))
    scts: Mapped[str | None] = mapped_column(String(40))  # the SC time stamp, ISO-8601 with its offset
    encoding: Mapped[str] = mapped_column(String(8))  # gsm7 | ucs2 | 8bit
    text: Mapped[str] = mapped_column(Text)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    complete: Mapped[bool] = mapped_column(Boolean, default=True)
    category: Mapped[str | None] = mapped_column(String(48))
    score: Mapped[float | None] = mapped_column(Float)


class TrafficRow(Base):
    """What the followed dedicated channels of a cell showed during one
    observation: the counts of contracts.md section 5 `traffic` (assignments,
    ciphered, identity requests, LU rejects ...) and the recognised messages
    (identities only as keyed hashes)."""

    __tablename__ = "traffic"
    __table_args__ = (Index("ix_traffic_observation", "observation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observation.id"))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    events: Mapped[list[Any] | None] = mapped_column(JSON)


# -- fleet (issue 14: fixed sensor nodes and the central server; fbsdetect.node / fbsdetect.server) --

class FleetNode(Base):
    """A sensor node registered with the central server (`fbsdetect node register`):
    its bearer token (SHA-256 only), its MQTT credential (the Mosquitto password-file
    hash only), the server-side sensor and scan run its observations are stored under,
    and its latest heartbeat."""

    __tablename__ = "fleet_node"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    sensor_id: Mapped[int | None] = mapped_column(ForeignKey("sensor.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_run.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    mqtt_username: Mapped[str] = mapped_column(String(64))
    mqtt_password_hash: Mapped[str] = mapped_column(String(256))  # mosquitto_passwd "$7$" form
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime | None]
    health: Mapped[dict[str, Any] | None]


class FleetUser(Base):
    """An investigator or admin of the central server (`fbsdetect user add`); token as SHA-256."""

    __tablename__ = "fleet_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # investigator | admin
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IngestRecord(Base):
    """One record a node sent (HTTP or MQTT), stored once per (node, seq) however often
    it arrived; an observation record also has its `observation` row."""

    __tablename__ = "ingest_record"
    __table_args__ = (UniqueConstraint("node", "seq", name="uq_ingest_node_seq"),
                      Index("ix_ingest_record_kind", "kind", "node"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    node: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # observation | detection | health
    via: Mapped[str] = mapped_column(String(8))  # http | mqtt
    received_at: Mapped[datetime]
    observation_id: Mapped[int | None] = mapped_column(ForeignKey("observation.id"))
    data: Mapped[dict[str, Any] | None]


class NodeOutbox(Base):
    """The node's outbox (in the node's own SQLite): every record it will send, with its
    per-node sequence number (`seq`, monotonic: AUTOINCREMENT never reuses a pruned one)."""

    __tablename__ = "node_outbox"
    __table_args__ = (Index("ix_node_outbox_sent", "sent_at", "seq"), {"sqlite_autoincrement": True})

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # observation | detection | health
    payload: Mapped[dict[str, Any]]
    size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    observation_id: Mapped[int | None] = mapped_column(Integer)  # the local observation row
