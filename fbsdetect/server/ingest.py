"""Ingest of node records (HTTP batches and the MQTT worker share it).

A record is `{"node", "seq", "kind", "data"}` (contracts.md section 9). Each is
stored once per (node, seq): one transaction inserts the batch's
`ingest_record` rows with ON CONFLICT DO NOTHING (PostgreSQL and SQLite) and,
for the observation records that were new, their `observation` rows (under the
node's server-side sensor and scan run, audited like any other observation),
linked from the ingest record; a health record also becomes the node's latest
heartbeat. A record arriving again (a retry, an MQTT redelivery, an HTTP batch
resent after a lost answer) is counted as a duplicate and changes nothing.

Validation is strict and never raises anything but `RecordError` (-> HTTP
422 / a counted MQTT rejection): kinds, types, ranges and sizes are checked
before the database sees a value.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, update

from fbsdetect.server.auth import NAME_RE, Principal

KINDS = ("observation", "detection", "health")
MAX_RECORD_BYTES = 64 * 1024
MAX_BATCH = 1000
MAX_SEQ = 2**62

_INT_FIELDS = {"arfcn": (0, 4095), "bsic": (0, 63), "mcc": (0, 999), "mnc": (0, 999), "lac": (0, 65535),
               "cid": (0, 2**28), "blocks_ok": (0, 2**31), "blocks_bad": (0, 2**31), "gps_mode": (0, 3)}
_FLOAT_FIELDS = ("freq_hz", "power_dbm", "snr_db", "freq_offset_hz", "lat", "lon", "gps_error_m", "radio_s")
_STR_FIELDS = {"band": 16, "power_ref": 8, "kind": 16}


class RecordError(ValueError):
    """A record that cannot be stored (the message names the field)."""


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def check_record(r: Any) -> tuple[str, int, str, dict[str, Any]]:
    """(node, seq, kind, data) of a record, or RecordError."""
    if not isinstance(r, dict):
        raise RecordError("record: not an object")
    extra = set(r) - {"node", "seq", "kind", "data"}
    if extra:
        raise RecordError(f"record: unknown field {sorted(extra)[0]!r}")
    node, seq, kind, data = r.get("node"), r.get("seq"), r.get("kind"), r.get("data")
    if not isinstance(node, str) or not NAME_RE.match(node):
        raise RecordError("record.node: not a node name")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ:
        raise RecordError("record.seq: not an integer in 1..2^62")
    if kind not in KINDS:
        raise RecordError(f"record.kind: one of {', '.join(KINDS)}")
    if not isinstance(data, dict):
        raise RecordError("record.data: not an object")
    try:
        size = len(json.dumps(data, allow_nan=False))
    except (ValueError, TypeError, RecursionError):
        raise RecordError("record.data: not plain JSON (NaN or infinity?)") from None
    if size > MAX_RECORD_BYTES:
        raise RecordError(f"record.data: {size} bytes, more than {MAX_RECORD_BYTES}")
    return node, seq, kind, data


def _time(v: Any, name: str) -> datetime | None:
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > 40:
        raise RecordError(f"data.{name}: not an ISO-8601 time")
    try:
        t = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"data.{name}: not an ISO-8601 time") from None
    if t.tzinfo is None:
        raise RecordError(f"data.{name}: time without a zone")
    return t.astimezone(UTC)


def observation_values(data: dict[str, Any]) -> dict[str, Any]:
    """The `observation` column values of an observation record's data (CellObservation JSON
    + radio_s, kind), checked."""
    v: dict[str, Any] = {}
    for k, (lo, hi) in _INT_FIELDS.items():
        x = data.get(k)
        if x is not None and (not isinstance(x, int) or isinstance(x, bool) or not lo <= x <= hi):
            raise RecordError(f"data.{k}: not an integer in {lo}..{hi}")
        v[k] = x
    for k in _FLOAT_FIELDS:
        x = data.get(k)
        if x is not None:
            if not isinstance(x, int | float) or isinstance(x, bool) or not math.isfinite(x) or abs(x) > 1e13:
                raise RecordError(f"data.{k}: not a finite number")
            x = float(x)
        v[k] = x
    if v["lat"] is not None and not -90 <= v["lat"] <= 90:
        raise RecordError("data.lat: outside -90..90")
    if v["lon"] is not None and not -180 <= v["lon"] <= 180:
        raise RecordError("data.lon: outside -180..180")
    for k, n in _STR_FIELDS.items():
        x = data.get(k)
        if x is not None and (not isinstance(x, str) or len(x) > n):
            raise RecordError(f"data.{k}: not a string of at most {n} characters")
        v[k] = x
    v["power_ref"] = v["power_ref"] or "dBm"
    v["kind"] = v["kind"] or "dwell"
    v["blocks_ok"] = v["blocks_ok"] or 0
    v["blocks_bad"] = v["blocks_bad"] or 0
    si = data.get("si") or {}
    if not isinstance(si, dict) or not all(isinstance(a, str) and isinstance(b, str) and len(a) <= 16
                                          and len(b) <= 512 for a, b in si.items()):
        raise RecordError("data.si: not an object of SI type -> hex")
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise RecordError("data.params: not an object")
    v["si"], v["params"] = si, params
    v["time"] = _time(data.get("time"), "time")
    return v


class Ingestor:
    """Stores checked records of one node; counts what it did (thread-safe)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[what] += n

    def ingest(self, who: Principal, records: list[tuple[int, str, dict[str, Any]]], *,
               via: str) -> IngestResult:
        """Stores (seq, kind, data) records of node `who` (already checked by `check_record`;
        observation data is checked here, before anything is written: RecordError)."""
        from fbsdetect.store import audit
        from fbsdetect.store.models import FleetNode, IngestRecord, Observation

        now = datetime.now(UTC)
        firsts: dict[int, tuple[str, dict[str, Any]]] = {}
        for seq, kind, data in records:
            firsts.setdefault(seq, (kind, data))
        obs_vals = {seq: observation_values(d) for seq, (k, d) in firsts.items() if k == "observation"}
        res = IngestResult(duplicates=len(records) - len(firsts))
        if not firsts:
            return res
        rows = [{"node": who.name, "seq": seq, "kind": k, "via": via, "received_at": now, "data": d}
                for seq, (k, d) in sorted(firsts.items())]
        with self.store.engine.begin() as conn:
            dialect = conn.dialect.name
            if dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as dinsert
            else:
                from sqlalchemy.dialects.sqlite import insert as dinsert  # type: ignore[assignment]
            stmt = dinsert(IngestRecord).values(rows).on_conflict_do_nothing(
                index_elements=["node", "seq"]).returning(IngestRecord.id, IngestRecord.seq)
            new = {int(seq): int(rid) for rid, seq in conn.execute(stmt)}
            res.stored = len(new)
            res.duplicates += len(firsts) - len(new)
            new_obs = [s for s in sorted(new) if s in obs_vals]
            if new_obs:
                vals = [dict(obs_vals[s], run_id=who.run_id, sensor_id=who.sensor_id) for s in new_obs]
                ids = [int(r[0]) for r in conn.execute(
                    insert(Observation).returning(Observation.id, sort_by_parameter_order=True), vals)]
                conn.execute(update(IngestRecord).where(IngestRecord.id == bindparam("rid"))
                             .values(observation_id=bindparam("oid")),
                             [{"rid": new[s], "oid": i} for s, i in zip(new_obs, ids, strict=True)])
                audit.record_rows(conn, [("observation", i, "insert") for i in ids])
            health = [firsts[s][1] for s in sorted(new) if firsts[s][0] == "health"]
            upd: dict[str, Any] = {"last_seen": now}
            if health:
                upd["health"] = health[-1]
            if who.node_id is not None:
                conn.execute(update(FleetNode).where(FleetNode.id == who.node_id).values(**upd))
        for s in new:
            k = firsts[s][0]
            res.by_kind[k] = res.by_kind.get(k, 0) + 1
        self.count("stored", res.stored)
        self.count("duplicates", res.duplicates)
        return res
