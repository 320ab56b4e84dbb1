"""`StoreSink`: the scan's `ScanSink` (fbsdetect/scan/sink.py) on the database.

Write policy: every record is committed as soon as it is handed over (an
observation together with its frames and the GPS fixes before it, in one
transaction). A scan hands over a few records a second, and a SQLite commit
in WAL mode with `synchronous=NORMAL` costs well under a millisecond, so a
crash (kill -9) loses nothing that was handed over, and nothing keeps a write
transaction open between records: the detector and `fbsdetect detections`
in another process read and write the same file meanwhile.

When the database is unreachable (PostgreSQL restarted, a network blip),
records wait in memory in their order and go in with the next successful
write (`pending`, at most `max_pending`; beyond it the oldest GPS fixes are
dropped first, then the oldest records, each drop counted in `dropped`).
Ids of records still waiting are provisional negative numbers; an
observation that refers to a provisional tuning id gets the real one when
both are written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError

from fbsdetect.store.db import Store
from fbsdetect.store.models import FrameRow, GpsFixRow, Observation, ScanRun, Sensor, Tuning
from fbsdetect.types import CellObservation, GpsFix, L2Frame

log = logging.getLogger(__name__)


def parse_time(iso: str | None) -> datetime | None:
    """An observation's ISO-8601 time ('...Z') as an aware UTC datetime."""
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)


def get_or_create_sensor(session: Any, name: str, kind: str = "laptop") -> Sensor:
    s = session.scalars(select(Sensor).where(Sensor.name == name)).first()
    if s is None:
        s = Sensor(name=name, kind=kind)
        session.add(s)
        session.flush()
    return s


def _int(v: Any) -> int | None:
    return None if v is None else int(v)


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def observation_row(obs: CellObservation, **extra: Any) -> Observation:
    """The `observation` row of a CellObservation (extra: run_id, sensor_id, tuning_id, radio_s, kind).
    Values are made plain Python numbers and JSON: numpy scalars from the DSP would bind badly
    (sqlite3 stores an np.int64 as a blob) or not at all (JSON), and a record that cannot be
    written would hold up every record after it."""
    return Observation(
        time=parse_time(obs.time), arfcn=_int(obs.arfcn), band=obs.band, freq_hz=_float(obs.freq_hz),
        bsic=_int(obs.bsic), mcc=_int(obs.mcc), mnc=_int(obs.mnc), lac=_int(obs.lac), cid=_int(obs.cid),
        power_dbm=_float(obs.power_dbm), power_ref=obs.power_ref, snr_db=_float(obs.snr_db),
        freq_offset_hz=_float(obs.freq_offset_hz), blocks_ok=_int(obs.blocks_ok),
        blocks_bad=_int(obs.blocks_bad), si=_jsonable(dict(obs.si)), params=_jsonable(dict(obs.params)),
        lat=_float(obs.lat), lon=_float(obs.lon), gps_mode=_int(obs.gps_mode),
        gps_error_m=_float(obs.gps_error_m), receiver=obs.receiver, **extra)


def frame_rows(frames: Sequence[L2Frame], start: datetime | None, radio_s: float | None
               ) -> list[FrameRow]:
    """Frame rows; a frame's time is the scan start + its radio time when both are known."""
    from datetime import timedelta

    out = []
    for f in frames:
        t = None
        if start is not None and f.time_s is not None:
            t = start + timedelta(seconds=f.time_s)
        out.append(FrameRow(fn=int(f.fn), ts=int(f.ts), channel=f.channel, data=bytes(f.data), time=t,
                            power_dbm=_float(f.power_dbm), snr_db=_float(f.snr_db)))
    return out


@dataclass
class _Pending:
    kind: str  # "fix" | "tuning" | "observation" | "run_end" | "rows"
    key: int  # provisional id (negative)
    row: Any
    frames: list[FrameRow] = field(default_factory=list)
    tuning_key: int | None = None
    # rows written in the observation's own transaction with its id (a node's outbox record: the
    # observation and the record that sends it are committed together or not at all)
    extra: list[Any] = field(default_factory=list)


class StoreSink:
    """Implements `fbsdetect.scan.sink.ScanSink` on a `Store` (see module docstring)."""

    def __init__(self, store: Store, *, sensor: str, sensor_kind: str = "laptop",
                 max_pending: int = 200_000) -> None:
        self.store = store
        self.sensor_name = sensor
        self.sensor_kind = sensor_kind
        self.max_pending = max_pending
        self.run_id: int | None = None
        self.sensor_id: int | None = None
        self.start_time: datetime | None = None
        self._pending: list[_Pending] = []
        self._ids: dict[int, int] = {}  # provisional key -> real id
        self._next_key = -1
        self.written = {"observation": 0, "tuning": 0, "fix": 0, "frame": 0}
        self.handed = 0  # observations handed over
        self.dropped = 0
        self.db_errors = 0
        self._down = False

    # -- ScanSink -------------------------------------------------------------------
    def run_started(self, info: Any) -> None:
        """Creates the sensor (once) and the scan_run row; the database must be reachable here."""
        start = getattr(info, "start_time", None) or datetime.now(UTC)
        self.start_time = start
        with self.store.session() as s:
            sensor = get_or_create_sensor(s, self.sensor_name, self.sensor_kind)
            run = ScanRun(sensor_id=sensor.id, source=str(getattr(info, "source", "")),
                          profile=getattr(info, "profile", None),
                          software_version=str(getattr(info, "software_version", "")),
                          started_at=start, learn=bool(getattr(info, "learn", False)),
                          config=_jsonable(getattr(info, "config", None)))
            s.add(run)
            s.flush()
            self.run_id, self.sensor_id = run.id, sensor.id

    def tuning(self, rec: Any) -> int:
        spectrum = getattr(rec, "spectrum_db", None)
        blob = None
        if spectrum is not None:
            blob = np.asarray(spectrum, dtype="<f4").tobytes()
        row = Tuning(run_id=self.run_id, radio_s=float(rec.radio_s), time=rec.time,
                     center_freq_hz=float(rec.center_freq_hz), sample_rate_hz=float(rec.sample_rate_hz),
                     gain_db=rec.gain_db, dwell_s=float(rec.dwell_s), kind=str(rec.kind),
                     arfcns=[int(a) for a in (rec.arfcns or [])],
                     outcome={k: int(v) for k, v in (rec.outcome or {}).items()},
                     spectrum_start_hz=getattr(rec, "spectrum_start_hz", None),
                     spectrum_step_hz=getattr(rec, "spectrum_step_hz", None), spectrum=blob,
                     noise_floor_db=getattr(rec, "noise_floor_db", None),
                     clipped=bool(getattr(rec, "clipped", False)))
        return self._submit(_Pending("tuning", self._key(), row))

    def fix(self, fix: GpsFix) -> None:
        row = GpsFixRow(run_id=self.run_id, time=fix.time, lat=fix.lat, lon=fix.lon, mode=fix.mode,
                        error_m=fix.error_m, alt_m=fix.alt_m, speed_m_s=fix.speed_m_s,
                        course_deg=fix.course_deg, source=fix.source)
        # fixes ride with the next record's transaction (they come several a second)
        self._pending.append(_Pending("fix", self._key(), row))
        self._bound()

    def observation(self, obs: CellObservation, *, radio_s: float | None = None,
                    tuning_id: int | None = None, kind: str = "dwell",
                    frames: Sequence[L2Frame] = (), with_rows: Sequence[Any] = ()) -> int:
        """Stores `obs` with its frames; `with_rows`: ORM rows with an `observation_id` column,
        committed in the same transaction with the observation's id."""
        self.handed += 1
        row = observation_row(obs, run_id=self.run_id, sensor_id=self.sensor_id, radio_s=radio_s,
                              kind=kind)
        p = _Pending("observation", self._key(), row, frame_rows(frames, self.start_time, None),
                     extra=list(with_rows))
        if tuning_id is not None and tuning_id < 0 and tuning_id not in self._ids:
            p.tuning_key = tuning_id
        else:
            row.tuning_id = self._ids.get(tuning_id, tuning_id) if tuning_id is not None else None
        return self._submit(p)

    def extra_rows(self, obs_id: int, rows: Sequence[Any]) -> None:
        """Rows that belong to an observation (SmsRow, TrafficRow from
        `fbsdetect.traffic.store`), stored with it (its id set at write time)."""
        for p in self._pending:
            if p.kind == "observation" and p.key == obs_id:
                p.frames.extend(rows)
                return
        for r in rows:
            r.observation_id = self._ids.get(obs_id, obs_id)
            self._pending.append(_Pending("rows", self._key(), r))
        self._drain()

    def flush(self) -> None:
        if self._pending:
            self._drain()

    def run_ended(self, summary: dict[str, Any]) -> None:
        self._pending.append(_Pending("run_end", self._key(), _jsonable(summary)))
        self._drain()
        waiting = sum(p.kind == "observation" for p in self._pending)
        if waiting:
            log.error("database unreachable at the end of the scan: %d observations not stored", waiting)
        log.info("store: %d observations handed over, %d stored, %d waiting; %d tunings, %d fixes, "
                 "%d frames; %d failed writes retried", self.handed, self.written["observation"], waiting,
                 self.written["tuning"], self.written["fix"], self.written["frame"], self.db_errors)

    # -- internals ------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return len(self._pending)

    def _key(self) -> int:
        k = self._next_key
        self._next_key -= 1
        return k

    def _submit(self, p: _Pending) -> int:
        self._pending.append(p)
        self._bound()
        self._drain()
        return self._ids.get(p.key, p.key)

    def _bound(self) -> None:
        while len(self._pending) > self.max_pending:
            fixes = [i for i, q in enumerate(self._pending) if q.kind == "fix"]
            self._pending.pop(fixes[0] if fixes else 0)
            self.dropped += 1

    def _drain(self) -> None:
        batch = list(self._pending)
        try:
            with self.store.session() as s:
                local: dict[int, int] = {}  # provisional key -> id flushed in this transaction
                for p in batch:
                    if p.kind == "run_end":
                        run = s.get(ScanRun, self.run_id) if self.run_id is not None else None
                        if run is not None:
                            run.ended_at = datetime.now(UTC)
                            run.summary = p.row
                        continue
                    if p.kind == "observation" and p.tuning_key is not None:
                        p.row.tuning_id = local.get(p.tuning_key, self._ids.get(p.tuning_key))
                    s.add(p.row)
                    if p.kind in ("tuning", "observation"):
                        s.flush()
                        local[p.key] = p.row.id
                    for fr in p.frames:
                        fr.observation_id = p.row.id
                        s.add(fr)
                    for x in p.extra:
                        x.observation_id = p.row.id
                        s.add(x)
            # committed
        except (OperationalError, DBAPIError) as exc:
            self.db_errors += 1
            if not self._down:
                log.warning("database write failed (%s); %d records kept in memory until it is back",
                            str(exc).splitlines()[0], len(self._pending))
            self._down = True
            for p in batch:  # a failed transaction leaves ids assigned by flush(): forget them
                if hasattr(p.row, "id"):
                    p.row = _fresh_copy(p.row)
                    p.frames = [_fresh_copy(f) for f in p.frames]
                    p.extra = [_fresh_copy(x) for x in p.extra]
            return
        if self._down:
            log.warning("database reachable again: %d waiting records stored", len(batch))
        self._down = False
        for p in batch:
            if p.kind in ("tuning", "observation"):
                self._ids[p.key] = p.row.id
                if p.kind == "observation":
                    log.debug("stored observation %d", p.row.id)
            if p.kind in self.written:
                self.written[p.kind] += 1
            self.written["frame"] += len(p.frames)
        del self._pending[:len(batch)]


def _fresh_copy(row: Any) -> Any:
    """A new transient ORM object with the same column values (no primary key, not attached)."""
    cls = type(row)
    values = {c.key: getattr(row, c.key) for c in cls.__table__.columns if not c.primary_key}
    return cls(**values)


def _jsonable(v: Any) -> Any:
    """Plain JSON types (numpy scalars and arrays, tuples, datetimes become JSON's)."""
    if v is None or isinstance(v, str | bool | int | float):
        return v
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, datetime):
        return v.isoformat()
    return str(v)
