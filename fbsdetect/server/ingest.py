"""Ingest of node records (HTTP batches and the MQTT worker share it).

A record is `{"node", "seq", "kind", "data"}` (contracts.md section 9). Each is
stored once per (node, seq) (the unique key of `ingest_record`): one transaction
looks up which of the batch's seqs are stored already, inserts the observation
rows of the new observation records (under the node's server-side sensor and scan
run, audited like any other observation), then their `ingest_record` rows (linked
to the observation; a detection's or heartbeat's data kept in the record) with ON
CONFLICT DO NOTHING -- should a concurrent copy of the same batch have won in
between, the transaction is rolled back and redone, so no observation is ever
stored twice; a health record also becomes the node's latest
heartbeat. On PostgreSQL the same in a few statements per group (`_write_pg`:
COPY for the rows, a unique violation being the concurrent copy's win). A record
arriving again (a retry, an MQTT redelivery, an HTTP batch resent after a lost
answer) is counted as a duplicate and changes nothing. A group that the database
refuses for one item's sake (not an outage) is redone item by item: only that item
fails (HTTP 422, a counted MQTT rejection).

Validation is strict and never raises anything but `RecordError` (-> HTTP
422 / a counted MQTT rejection): kinds, types, ranges and sizes are checked
before the database sees a value.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text, update

from fbsdetect.i18n import _
from fbsdetect.server.auth import NAME_RE, Principal

KINDS = ("observation", "detection", "health")
MAX_RECORD_BYTES = 64 * 1024
MAX_BATCH = 1000
MAX_SEQ = 2**62

_INT_FIELDS = {"arfcn": (0, 4095), "bsic": (0, 63), "mcc": (0, 999), "mnc": (0, 999), "lac": (0, 65535),
               "cid": (0, 2**28), "blocks_ok": (0, 2**31 - 1), "blocks_bad": (0, 2**31 - 1),
               "gps_mode": (0, 3)}
_FLOAT_FIELDS = ("freq_hz", "power_dbm", "snr_db", "freq_offset_hz", "lat", "lon", "gps_error_m", "radio_s")
_STR_FIELDS = {"band": 16, "power_ref": 8, "kind": 16}


_STRICT_JSON = json.JSONEncoder(allow_nan=False)  # json.dumps(allow_nan=False), the encoder made once


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
        raise RecordError(_("record: not an object"))
    extra = set(r) - {"node", "seq", "kind", "data"}
    if extra:
        raise RecordError(_("record: unknown field {field}").format(field=repr(sorted(extra)[0])))
    node, seq, kind, data = r.get("node"), r.get("seq"), r.get("kind"), r.get("data")
    if not isinstance(node, str) or not NAME_RE.match(node):
        raise RecordError(_("record.node: not a node name"))
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ:
        raise RecordError(_("record.seq: not an integer in 1..2^62"))
    if kind not in KINDS:
        raise RecordError(_("record.kind: one of {kinds}").format(kinds=", ".join(KINDS)))
    if not isinstance(data, dict):
        raise RecordError(_("record.data: not an object"))
    try:
        text = _STRICT_JSON.encode(data)
    except (ValueError, TypeError, RecursionError):
        raise RecordError(_("record.data: not plain JSON (NaN or infinity?)")) from None
    size = len(text)
    if "\\ud" in text:  # an escaped UTF-16 surrogate (rare): a lone one passes json but no database
        try:              # or digest takes it
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise RecordError(
                _("record.data: a string that is not valid Unicode (a lone surrogate)")) from None
    if size > MAX_RECORD_BYTES:
        raise RecordError(_("record.data: {size} bytes, more than {max}").format(
            size=size, max=MAX_RECORD_BYTES))
    return node, seq, kind, data


def prepare_check(r: Any) -> tuple[str, int, str, dict[str, Any]]:
    """`check_record` and, for an observation, its column values' checks (RecordError)."""
    node, seq, kind, data = check_record(r)
    if kind == "observation":
        observation_values(data)
    elif kind == "detection":
        check_detection(data)
    return node, seq, kind, data


_CELL_FIELDS = ("mcc", "mnc", "lac", "cid", "arfcn", "bsic")


def check_detection(data: dict[str, Any]) -> None:
    """The fields of a node's detection record that the server reads (the incidents it merges:
    `fusion.node_incidents`) have their types (RecordError): `id` an integer, `cell` an object
    of integer-or-null identity fields, `severity` a word, `score` a finite number, `rules` a list
    of objects whose `id` is a string, `first_seen`/`last_seen` ISO-8601 text, `sms` and
    `sensors` lists; each may be absent or null. Other fields are kept as sent."""
    def bad(field: str, what: str) -> RecordError:
        return RecordError(_("data.{field}: not {what}").format(field=field, what=what))

    x = data.get("id")
    if x is not None and (not isinstance(x, int) or isinstance(x, bool) or not 0 <= x <= MAX_SEQ):
        raise bad("id", "an integer in 0..2^62")
    cell = data.get("cell")
    if cell is not None:
        if not isinstance(cell, dict):
            raise bad("cell", "an object")
        for k in _CELL_FIELDS:
            x = cell.get(k)
            if x is not None and (not isinstance(x, int) or isinstance(x, bool) or not 0 <= x < 2**63):
                raise bad(f"cell.{k}", "an integer or null")
    x = data.get("severity")
    if x is not None and (not isinstance(x, str) or len(x) > 16):
        raise bad("severity", "a word of at most 16 characters")
    x = data.get("score")
    if x is not None and (not isinstance(x, int | float) or isinstance(x, bool) or not math.isfinite(x)):
        raise bad("score", "a finite number")
    rules = data.get("rules")
    if rules is not None and (not isinstance(rules, list) or not all(
            isinstance(r, dict) and (r.get("id") is None or isinstance(r.get("id"), str)) for r in rules)):
        raise bad("rules", "a list of objects with a string id")
    for k in ("first_seen", "last_seen"):
        x = data.get(k)
        if x is not None and (not isinstance(x, str) or len(x) > 40):
            raise bad(f"{k}", "an ISO-8601 time")
    for k in ("sms", "sensors"):
        x = data.get(k)
        if x is not None and not isinstance(x, list):
            raise bad(f"{k}", "a list")


def _time(v: Any, name: str) -> datetime | None:
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > 40:
        raise RecordError(_("data.{name}: not an ISO-8601 time").format(name=name))
    try:
        t = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(_("data.{name}: not an ISO-8601 time").format(name=name)) from None
    if t.tzinfo is None:
        raise RecordError(_("data.{name}: time without a zone").format(name=name))
    if not 1900 <= t.year <= 2999:
        raise RecordError(_("data.{name}: year outside 1900..2999").format(name=name))
    try:
        return t.astimezone(UTC)
    except OverflowError:
        raise RecordError(_("data.{name}: out of range").format(name=name)) from None


def observation_values(data: dict[str, Any]) -> dict[str, Any]:
    """The `observation` column values of an observation record's data (CellObservation JSON
    + radio_s, kind), checked."""
    v: dict[str, Any] = {}
    for k, (lo, hi) in _INT_FIELDS.items():
        x = data.get(k)
        if x is not None and (not isinstance(x, int) or isinstance(x, bool) or not lo <= x <= hi):
            raise RecordError(_("data.{name}: not an integer in {lo}..{hi}").format(name=k, lo=lo, hi=hi))
        v[k] = x
    for k in _FLOAT_FIELDS:
        x = data.get(k)
        if x is not None:
            if not isinstance(x, int | float) or isinstance(x, bool) or not math.isfinite(x) or abs(x) > 1e13:
                raise RecordError(_("data.{name}: not a finite number").format(name=k))
            x = float(x)
        v[k] = x
    if v["lat"] is not None and not -90 <= v["lat"] <= 90:
        raise RecordError(_("data.lat: outside -90..90"))
    if v["lon"] is not None and not -180 <= v["lon"] <= 180:
        raise RecordError(_("data.lon: outside -180..180"))
    for k, n in _STR_FIELDS.items():
        x = data.get(k)
        if x is not None and (not isinstance(x, str) or len(x) > n or "\x00" in x):
            raise RecordError(_("data.{name}: not a string of at most {n} characters (no U+0000)").format(
                name=k, n=n))
        v[k] = x
    v["power_ref"] = v["power_ref"] or "dBm"
    v["kind"] = v["kind"] or "dwell"
    v["blocks_ok"] = v["blocks_ok"] or 0
    v["blocks_bad"] = v["blocks_bad"] or 0
    si = data.get("si") or {}
    if not isinstance(si, dict) or not all(isinstance(a, str) and isinstance(b, str) and len(a) <= 16
                                          and len(b) <= 512 for a, b in si.items()):
        raise RecordError(_("data.si: not an object of SI type -> hex"))
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise RecordError(_("data.params: not an object"))
    v["si"], v["params"] = si, params
    v["time"] = _time(data.get("time"), "time")
    return v


@dataclass(eq=False)
class _Item:
    """One node's batch, checked and ready to write."""

    who: Principal
    firsts: dict[int, tuple[str, dict[str, Any]]]
    obs_vals: dict[int, dict[str, Any]]
    via: str
    repeats: int
    result: IngestResult | None = None
    error: BaseException | None = None
    done: threading.Event | None = None
    future: Any = None  # (event loop, asyncio future) of an async submitter


class _Race(Exception):
    """Another transaction stored some of the same (node, seq) first."""


class Ingestor:
    """Stores checked records of one node; counts what it did (thread-safe)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[what] += n

    def prepare(self, who: Principal, records: list[tuple[int, str, dict[str, Any]]], *,
                via: str) -> _Item:
        """Checks observation and detection data (RecordError) and drops repeats within the batch."""
        firsts: dict[int, tuple[str, dict[str, Any]]] = {}
        for seq, kind, data in records:
            firsts.setdefault(seq, (kind, data))
        obs_vals = {seq: observation_values(d) for seq, (k, d) in firsts.items() if k == "observation"}
        for k, d in firsts.values():
            if k == "detection":
                check_detection(d)
        return _Item(who, firsts, obs_vals, via, len(records) - len(firsts))

    def ingest(self, who: Principal, records: list[tuple[int, str, dict[str, Any]]], *,
               via: str) -> IngestResult:
        """Stores (seq, kind, data) records of node `who` (already checked by `check_record`;
        observation data is checked here, before anything is written: RecordError)."""
        return self.ingest_many([self.prepare(who, records, via=via)])[0]

    def ingest_many(self, items: list[_Item]) -> list[IngestResult]:
        """Several nodes' prepared batches in one transaction (group commit)."""
        news: list[list[int]] = []
        t0 = time.perf_counter()
        for attempt in range(3):
            try:
                news = self._write(items, datetime.now(UTC))
                self.count("write_transactions")
                self.count("write_ms", int((time.perf_counter() - t0) * 1000))
                self.count("write_rows", sum(len(n) for n in news))
                break
            except _Race:  # a concurrent copy of the same records won: those are duplicates now
                self.count("write_races")
                if attempt == 2:
                    raise
        out = []
        for it, new in zip(items, news, strict=True):
            res = IngestResult(stored=len(new), duplicates=it.repeats + len(it.firsts) - len(new))
            for s in new:
                k = it.firsts[s][0]
                res.by_kind[k] = res.by_kind.get(k, 0) + 1
            self.count("stored", res.stored)
            self.count("duplicates", res.duplicates)
            it.result = res
            out.append(res)
        return out

    # -- group commit: one writer thread takes whatever requests are waiting --------------------
    def start_writer(self, max_rows: int = 5000) -> None:
        self._q: queue.Queue[_Item] = queue.Queue()
        self._max_rows = max_rows
        threading.Thread(target=self._writer, name="ingest-writer", daemon=True).start()

    def submit(self, item: _Item, timeout_s: float = 60.0) -> IngestResult:
        """Queues a prepared batch for the writer thread and waits for its commit."""
        if not hasattr(self, "_q"):
            return self.ingest_many([item])[0]
        item.done = threading.Event()
        self._q.put(item)
        if not item.done.wait(timeout_s):
            raise TimeoutError("ingest writer: no commit in time")
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

    async def submit_async(self, item: _Item, timeout_s: float = 60.0) -> IngestResult:
        """`submit` for an asyncio caller (the HTTP handler): queues the batch at once and awaits
        its commit without holding a thread (a thread pool would let only its size of requests
        into the writer's next group)."""
        import asyncio

        if not hasattr(self, "_q"):
            from fastapi.concurrency import run_in_threadpool

            return await run_in_threadpool(self.submit, item, timeout_s)
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        item.future = (loop, fut)
        self._q.put(item)
        try:
            await asyncio.wait_for(fut, timeout_s)
        except TimeoutError:
            raise TimeoutError("ingest writer: no commit in time") from None
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

    def _writer(self) -> None:
        while True:
            first = self._q.get()
            group = [first]
            rows = len(first.firsts)
            while rows < self._max_rows:
                try:
                    it = self._q.get_nowait()
                except queue.Empty:
                    break
                group.append(it)
                rows += len(it.firsts)
            try:
                self.ingest_many(group)
            except Exception as exc:  # the database is down: every waiting request hears it --
                for it in group:      # unless one item is what it refuses: then only that one
                    it.error = exc
                if len(group) > 1 and not _is_outage(exc):
                    for it in group:
                        try:
                            it.error = None
                            self.ingest_many([it])
                        except Exception as exc1:
                            it.error = exc1
            for it in group:
                if it.future is not None:
                    loop, fut = it.future
                    loop.call_soon_threadsafe(_resolve, fut)
                else:
                    assert it.done is not None
                    it.done.set()

    def _write(self, items: list[_Item], now: datetime) -> list[list[int]]:
        """One transaction: per item, the seqs not stored yet, their observation rows (audited),
        their ingest records (linked); returns each item's new seqs. An observation record's
        data is its observation row (not kept twice)."""
        from fbsdetect.store import audit
        from fbsdetect.store.models import FleetNode, IngestRecord, Observation

        out: list[list[int]] = []
        if not any(it.firsts for it in items):
            return [[] for _ in items]
        if self.store.engine.dialect.name == "postgresql":
            with self.store.engine.begin() as conn:
                return self._write_pg(conn, items, now)
        with self.store.engine.begin() as conn:
            vals: list[dict[str, Any]] = []
            keys: list[tuple[int, int]] = []  # (item index, seq) of each observation row
            claimed: set[tuple[str, int]] = set()  # the same record twice in one group (a resend
            for k, it in enumerate(items):        # queued behind its first copy): stored once
                seqs = sorted(it.firsts)
                have: set[int] = set()
                for i in range(0, len(seqs), 1000):
                    chunk = seqs[i:i + 1000]
                    have.update(int(x) for x in conn.execute(select(IngestRecord.seq).where(
                        IngestRecord.node == it.who.name, IngestRecord.seq.in_(chunk))).scalars())
                new = [s for s in seqs if s not in have and (it.who.name, s) not in claimed]
                claimed.update((it.who.name, s) for s in new)
                out.append(new)
                for s in new:
                    if s in it.obs_vals:
                        vals.append(dict(it.obs_vals[s], run_id=it.who.run_id, sensor_id=it.who.sensor_id))
                        keys.append((k, s))
            oid: dict[tuple[int, int], int] = {}
            if vals and conn.dialect.name == "postgresql":
                # ids from the sequence first, then one batched INSERT without RETURNING: an INSERT
                # RETURNING in parameter order goes row by row (0.4 ms a row, measured)
                ids = [int(x) for x in conn.execute(text(
                    "SELECT nextval(pg_get_serial_sequence('observation', 'id')) "
                    "FROM generate_series(1, :n)"), {"n": len(vals)}).scalars()]
                for v, i in zip(vals, ids, strict=True):
                    v["id"] = i
                conn.execute(insert(Observation), vals)
                oid = dict(zip(keys, ids, strict=True))
            elif vals:
                ids = [int(r[0]) for r in conn.execute(
                    insert(Observation).returning(Observation.id, sort_by_parameter_order=True), vals)]
                oid = dict(zip(keys, ids, strict=True))
            rows = [{"node": it.who.name, "seq": s, "kind": it.firsts[s][0], "via": it.via,
                     "received_at": now, "observation_id": oid.get((k, s)),
                     "data": None if (k, s) in oid else it.firsts[s][1]}
                    for k, (it, new) in enumerate(zip(items, out, strict=True)) for s in new]
            if not rows:
                return out
            if conn.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as dinsert
            else:
                from sqlalchemy.dialects.sqlite import insert as dinsert  # type: ignore[assignment]
            stmt = dinsert(IngestRecord).on_conflict_do_nothing(index_elements=["node", "seq"]).returning(
                IngestRecord.id, IngestRecord.kind)
            got = conn.execute(stmt, rows).all()
            if len(got) != len(rows):  # another transaction stored some
                raise _Race()  # first (another server process): roll back, redo
            # the chain: the observation rows, and the detection and health records themselves
            changes = [("observation", i, "insert") for i in oid.values()]
            changes += [("ingest_record", int(i), "insert") for i, k in got if k != "observation"]
            if changes:
                audit.record_rows(conn, changes)
            for it, new in zip(items, out, strict=True):
                if not new or it.who.node_id is None:
                    continue
                health = [it.firsts[s][1] for s in new if it.firsts[s][0] == "health"]
                upd: dict[str, Any] = {"last_seen": now}
                if health:
                    upd["health"] = health[-1]
                conn.execute(update(FleetNode).where(FleetNode.id == it.who.node_id).values(**upd))
        return out

    def _write_pg(self, conn: Any, items: list[_Item], now: datetime) -> list[list[int]]:
        """`_write` on PostgreSQL in a handful of statements whatever the group's size: which
        (node, seq) are stored already (one query over arrays), the observation rows (ids from
        the sequence) and the ingest records with COPY (a unique violation -- a concurrent
        writer stored some first -- rolls back and redoes), the nodes' last_seen, then the
        audit entries of the observation rows and of the detection and health records
        (`audit.record_inserted`: rows read back, digests computed before the chain's lock is
        taken)."""
        from sqlalchemy.exc import IntegrityError

        from fbsdetect.store import audit
        from fbsdetect.store.models import FleetNode, IngestRecord, Observation

        names: list[str] = []
        seqs: list[int] = []
        for it in items:
            names.extend(it.who.name for _ in it.firsts)
            seqs.extend(it.firsts)
        have: set[tuple[str, int]] = set()
        for i in range(0, len(names), 20000):  # the fixed statements through the driver: nothing to
            have.update((str(n), int(q)) for n, q in audit.raw_execute(  # compile (a group's fixed CPU)
                conn, "SELECT r.node, r.seq FROM ingest_record r JOIN unnest(%s::varchar(64)[], "
                "%s::bigint[]) AS u(node, seq) ON r.node = u.node AND r.seq = u.seq",
                (names[i:i + 20000], seqs[i:i + 20000])))
        out: list[list[int]] = []
        obs: list[tuple[int, int, dict[str, Any], Principal]] = []
        for k, it in enumerate(items):
            new = [q for q in sorted(it.firsts) if (it.who.name, q) not in have]
            have.update((it.who.name, q) for q in new)  # the same record twice in one group: once
            out.append(new)
            obs.extend((k, q, it.obs_vals[q], it.who) for q in new if q in it.obs_vals)
        oid: dict[tuple[int, int], int] = {}
        if obs:
            ids = _nextvals(conn, "observation", len(obs))
            otab = Observation.__table__
            ocols = [c.name for c in otab.columns]
            for (k, q, _v, _w), i in zip(obs, ids, strict=True):
                oid[(k, q)] = i
            audit.copy_rows(conn, otab, ocols, (_obs_row(v, i, w, ocols) for (_k, _q, v, w), i  # type: ignore[arg-type]
                                                in zip(obs, ids, strict=True)))
        icols = ("node", "seq", "kind", "via", "received_at", "observation_id", "data")
        rows = [(it.who.name, q, it.firsts[q][0], it.via, now, oid.get((k, q)),
                 "null" if (k, q) in oid else json.dumps(it.firsts[q][1]))
                for k, (it, new) in enumerate(zip(items, out, strict=True)) for q in new]
        if not rows:
            return out
        # a detection's or heartbeat's record is audited itself: its id from the sequence first
        own = [r for r in rows if r[5] is None]
        rids: list[int] = []
        if own:
            rids = _nextvals(conn, "ingest_record", len(own))
        try:
            audit.copy_rows(conn, IngestRecord.__table__, icols,  # type: ignore[arg-type]
                            [r for r in rows if r[5] is not None])
            if own:
                audit.copy_rows(conn, IngestRecord.__table__, ("id", *icols),  # type: ignore[arg-type]
                                [(i, *r) for i, r in zip(rids, own, strict=True)])
        except IntegrityError:  # another transaction stored some first (another server process)
            raise _Race() from None
        seen: list[int] = []
        for it, new in zip(items, out, strict=True):
            if not new or it.who.node_id is None:
                continue
            health = [it.firsts[q][1] for q in new if it.firsts[q][0] == "health"]
            if health:
                conn.execute(update(FleetNode).where(FleetNode.id == it.who.node_id).values(
                    last_seen=now, health=health[-1]))
            else:
                seen.append(it.who.node_id)
        if seen:
            audit.raw_execute(conn, "UPDATE fleet_node SET last_seen = %s WHERE id = ANY(%s)",
                              (now, sorted(set(seen))))
        if oid:
            audit.record_inserted(conn, "observation", sorted(oid.values()), no_frames=True)
        if rids:
            audit.record_inserted(conn, "ingest_record", rids)
        return out


def _nextvals(conn: Any, table: str, n: int) -> list[int]:
    """n ids from `table`'s id sequence (PostgreSQL)."""
    from fbsdetect.store import audit

    return [int(r[0]) for r in audit.raw_execute(
        conn, f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", (n,))]


def _is_outage(exc: BaseException) -> bool:
    """The database being away (retry later), not a record it refuses."""
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError | DisconnectionError | TimeoutError)


def refused_by_db(exc: BaseException) -> bool:
    """A record the database (or the digest) cannot take: answer 4xx / reject, never retry."""
    from sqlalchemy.exc import DataError, IntegrityError

    return isinstance(exc, DataError | IntegrityError | UnicodeError | OverflowError | ValueError) \
        and not isinstance(exc, RecordError)


def _resolve(fut: Any) -> None:
    if not fut.done():  # not given up on (timed out) meanwhile
        fut.set_result(None)


_JSON_COLS = ("si", "params")
_ROW_PLANS: dict[tuple[str, ...], list[tuple[int, str]]] = {}


def _obs_row(v: dict[str, Any], oid: int, who: Principal, cols: list[str]) -> tuple[Any, ...]:
    """An observation row for COPY over `cols` (JSON columns as JSON text)."""
    plan = _ROW_PLANS.get(tuple(cols))
    if plan is None:  # per column: 0 a value of `v`, 1 a JSON column, 2 id, 3 run_id, 4 sensor_id
        special = {"id": 2, "run_id": 3, "sensor_id": 4}
        plan = _ROW_PLANS[tuple(cols)] = [(special.get(c, 1 if c in _JSON_COLS else 0), c) for c in cols]
    fixed = (None, None, oid, who.run_id, who.sensor_id)
    get = v.get
    return tuple(get(c) if k == 0 else _json_text(get(c)) if k == 1 else fixed[k] for k, c in plan)


def _json_text(x: Any) -> str:
    return "{}" if isinstance(x, dict) and not x else json.dumps(x)
