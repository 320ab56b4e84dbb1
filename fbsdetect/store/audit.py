"""The store's hash-chained audit log: every write of an observation (with
its frames), a detection or a finding leaves an `audit_log` entry that
commits to the row's content and to the previous entry, so that a later edit
of a row (with plain SQL, behind fbsdetect's back) or of the log itself is
found by `verify_db` (`fbsdetect verify --db`).

An entry (`models.AuditEntry`): `seq` (1, 2, ...), `time`, `table_name`,
`row_id`, `action` (insert | update | delete | baseline), `row_digest` =
SHA-256 of the row's canonical content, `fields` = a short digest per column
(so that verify can say *which* columns changed), `prev_hash` and `hash` =
SHA-256(prev_hash "|" canonical JSON of the entry). The first entry's
prev_hash is 64 zeros.

Canonical content of a row: every column of the model as read back from the
database through the model's column types, each as a type-tagged text (UTC
datetimes as ISO-8601 with microseconds, floats as `repr`, bytes as hex,
JSON columns re-serialised with sorted keys: `_text_of`); the row digest is
SHA-256 over `name=text` of the columns in name order. An observation's frames
(`frame` rows, ordered by id) are part of its content under the key
`__frames__` (one digest over all of them): frames are many and never
written alone, so they are audited through their observation instead of one
entry each.

Hooked automatically: `install(sessionmaker)` (called by `Store.__init__`)
listens to the ORM session: rows added, changed or deleted in a transaction
(through flushes or ORM-enabled `update()`/`delete()` statements) are
collected, and their entries are appended just before the transaction
commits, under a lock so that two writers never fork the chain: SQLite
serialises writers (the entries are written while holding its write lock),
on PostgreSQL a transaction-level advisory lock is taken (and `seq` is the
primary key: a fork would fail to commit rather than exist). Writers that use
Core statements on the engine (bulk inserts) call `record_rows` themselves,
in the same transaction; rows written without an entry are reported by
`verify_db` as such.

A schema change that adds a column to an audited table does not invalidate
old entries: verify recomputes a row's digest over the columns its entry
named.
"""

from __future__ import annotations

import hashlib
import json
import logging
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Table,
    event,
    func,
    insert,
    label,
    select,
    update,
)
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from fbsdetect.store.models import (
    AuditEntry,
    Detection,
    Finding,
    FrameRow,
    Handover,
    IngestRecord,
    Observation,
)

log = logging.getLogger(__name__)

GENESIS = "0" * 64
AUDITED: dict[str, Table] = {
    "observation": Observation.__table__,  # type: ignore[dict-item]
    "detection": Detection.__table__,  # type: ignore[dict-item]
    "finding": Finding.__table__,  # type: ignore[dict-item]
    "ingest_record": IngestRecord.__table__,  # type: ignore[dict-item]
    # who was handed what, when, under which case number: the chain of custody (migration 0009)
    "handover": Handover.__table__,  # type: ignore[dict-item]
}
# the rows of a table that the log covers: a node's observation record is audited as its
# `observation` row (the record row only links it); its detection and health records are
# their `ingest_record` rows
_INGEST: Table = IngestRecord.__table__  # type: ignore[assignment]
AUDITED_WHERE: dict[str, Any] = {"ingest_record": _INGEST.c.kind != "observation"}
FRAMES_KEY = "__frames__"
AUDIT_TABLE: Table = AuditEntry.__table__  # type: ignore[assignment]
FRAME_TABLE: Table = FrameRow.__table__  # type: ignore[assignment]
PG_LOCK_KEY = 0x46425341  # "FBSA": the advisory lock of the chain's tail
_CHUNK = 500
_INFO_KEY = "fbsdetect_audit_touched"
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_]+$")  # a JSON string without escapes
_add = operator.add


# -- canonical content ----------------------------------------------------------------

def _text_of(col: Column[Any] | None) -> Any:
    """The function giving a column's canonical text (type-tagged, so that values of different
    types never read alike): null, t<ISO-8601 UTC, microseconds>, b<hex>, true/false, repr of a
    float, a decimal integer, sorted-key JSON, s<string>."""
    t = col.type if col is not None else None
    # one function a type, the null case inline (they run for every column of every audited row)

    def dt(v: Any) -> str:
        if v is None:
            return "null"
        if not isinstance(v, datetime):
            return "s" + str(v)
        if v.tzinfo is None:
            v = v.replace(tzinfo=UTC)
        return "t" + v.astimezone(UTC).isoformat(timespec="microseconds")

    def fl(v: Any) -> str:  # repr of a float is exact; of inf and nan it is str's
        return "null" if v is None else repr(float(v))

    def binary(v: Any) -> str:
        return "null" if v is None else "b" + bytes(v).hex()

    def boolean(v: Any) -> str:
        return "null" if v is None else ("true" if v else "false")

    def integer(v: Any) -> str:
        return "null" if v is None else str(int(v))

    def js(v: Any) -> str:  # as read back: str keys, JSON types
        return "null" if v is None else _dumps(v)

    def string(v: Any) -> str:
        return "null" if v is None else "s" + str(v)

    if isinstance(t, DateTime):
        return dt
    if isinstance(t, LargeBinary):
        return binary
    if isinstance(t, Boolean):
        return boolean
    if isinstance(t, Float):
        return fl
    if isinstance(t, Integer):
        return integer
    if isinstance(t, JSON):
        return js
    return string


_CONVERTERS: dict[tuple[str, str], Any] = {}


def _converter(table: Table, name: str) -> Any:
    key = (table.name, name)
    f = _CONVERTERS.get(key)
    if f is None:
        f = _CONVERTERS[key] = _text_of(table.columns.get(name))
    return f


_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True,
                                   default=str)


def _dumps(obj: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text (json.dumps with these options, the
    encoder made once)."""
    return _CANONICAL_JSON.encode(obj)


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def canonical_row(table: Table, row: Any, columns: Iterable[str] | None = None) -> dict[str, str]:
    """{column: canonical text} of a row (a Core Row or mapping) over `columns` (default all;
    a column named by an old entry and dropped from the schema since reads as null)."""
    m = row._mapping if hasattr(row, "_mapping") else row
    names = list(columns) if columns is not None else [c.name for c in table.columns]
    return {name: _converter(table, name)(m.get(name)) for name in names if name != FRAMES_KEY}


def frames_digest(frame_rows: Iterable[Any]) -> str:
    """One digest over an observation's frames (in id order)."""
    h = hashlib.sha256()
    for fr in frame_rows:
        canon = canonical_row(FRAME_TABLE, fr)
        h.update("\x1f".join(f"{k}={canon[k]}" for k in sorted(canon)).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


def row_digest(canon: dict[str, str]) -> str:
    """SHA-256 over `name=text` of every column of a canonical row in name order, separated by 0x1f."""
    return hashlib.sha256("\x1f".join(f"{k}={canon[k]}" for k in sorted(canon)).encode("utf-8")).hexdigest()


def digest_fields(canon: dict[str, str]) -> tuple[str, dict[str, str]]:
    """(row digest, {column: 12-hex digest of its text}) of a canonical row."""
    return row_digest(canon), {k: _sha(canon[k])[:12] for k in sorted(canon)}


def entry_hash(prev_hash: str, seq: int, time: datetime, table_name: str, row_id: int, action: str,
               row_digest: str | None, fields: str | None) -> str:
    content = {"seq": int(seq), "time": _converter(AUDIT_TABLE, "time")(time), "table": table_name,
               "row_id": int(row_id), "action": action, "row_digest": row_digest, "fields": fields}
    return _sha(prev_hash + "|" + _dumps(content))


# -- appending ------------------------------------------------------------------------

def _lock_tail(conn: Connection) -> tuple[int, str]:
    """Takes the chain's write lock (held to the end of the transaction); (seq, hash) of its tail."""
    dialect = conn.dialect.name
    if dialect == "postgresql":  # through the driver: two round trips, no statement to compile
        raw_execute(conn, "SELECT pg_advisory_xact_lock(%s)", (PG_LOCK_KEY,))
        rows = raw_execute(conn, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS)
    if dialect == "sqlite":
        # a write statement takes SQLite's database write lock (usually already held: the rows
        # being audited were written in this transaction)
        conn.execute(update(AUDIT_TABLE).where(AUDIT_TABLE.c.seq < 0).values(seq=AUDIT_TABLE.c.seq))
    tail = conn.execute(select(AUDIT_TABLE.c.seq, AUDIT_TABLE.c.hash)
                        .order_by(AUDIT_TABLE.c.seq.desc()).limit(1)).first()
    return (int(tail[0]), str(tail[1])) if tail is not None else (0, GENESIS)


def _columns(table: Table, present: dict[str, set[str]] | None) -> list[Column[Any]]:
    if present is None:
        return list(table.columns)
    return [c for c in table.columns if c.name in present[table.name]]


def _current_digests(conn: Connection, table_name: str, ids: Sequence[int],
                     present: dict[str, set[str]] | None = None
                     ) -> dict[int, tuple[str, dict[str, str]]]:
    """{row id: (digest, fields)} of the rows as they are in the database now (missing ids absent);
    `present`: the columns each table has (a migration running before later columns exist)."""
    table = AUDITED[table_name]
    cols = _columns(table, present)
    fcols = _columns(FRAME_TABLE, present)
    out: dict[int, tuple[str, dict[str, str]]] = {}
    for i in range(0, len(ids), _CHUNK):
        chunk = list(ids[i:i + _CHUNK])
        rows = conn.execute(select(*cols).where(table.c.id.in_(chunk))).all()
        frames: dict[int, list[Any]] = {}
        if table_name == "observation":
            for fr in conn.execute(select(*fcols).where(FRAME_TABLE.c.observation_id.in_(chunk))
                                   .order_by(FRAME_TABLE.c.observation_id, FRAME_TABLE.c.id)):
                frames.setdefault(int(fr.observation_id), []).append(fr)
        for r in rows:
            canon = canonical_row(table, r, [c.name for c in cols])
            if table_name == "observation":
                canon[FRAMES_KEY] = frames_digest(frames.get(int(r.id), []))
            out[int(r.id)] = digest_fields(canon)
    return out


def record_rows(conn: Connection, changes: Iterable[tuple[str, int, str]], *,
                present: dict[str, set[str]] | None = None) -> int:
    """Appends entries for (table_name, row_id, action) in the transaction of `conn`
    (rows read back as they now are; a row that no longer exists gets a `delete` entry).
    Returns the number of entries written. For writers that bypass the ORM session."""
    by_table: dict[str, dict[int, str]] = {}
    for table_name, row_id, action in changes:
        if table_name not in AUDITED:
            raise ValueError(f"table {table_name!r} is not audited")
        acts = by_table.setdefault(table_name, {})
        prev = acts.get(int(row_id))
        acts[int(row_id)] = "insert" if prev == "insert" and action != "delete" else action
    if not by_table:
        return 0
    seq, prev_hash = _lock_tail(conn)
    now = datetime.now(UTC)
    entries: list[dict[str, Any]] = []
    for table_name in sorted(by_table):
        acts = by_table[table_name]
        ids = sorted(acts)
        current = _current_digests(conn, table_name, ids, present)
        for row_id in ids:
            action = acts[row_id]
            if row_id in current:
                digest, fields = current[row_id]
                fields_json: str | None = _dumps(fields)
                if action == "delete":
                    action = "update"  # deleted and re-inserted: what is there now counts
            else:
                digest, fields_json, action = None, None, "delete"
            seq += 1
            h = entry_hash(prev_hash, seq, now, table_name, row_id, action, digest, fields_json)
            entries.append({"seq": seq, "time": now, "table_name": table_name, "row_id": row_id,
                            "action": action, "row_digest": digest, "fields": fields_json,
                            "prev_hash": prev_hash, "hash": h})
            prev_hash = h
            if len(entries) >= 5000:
                _insert_entries(conn, entries)
                entries = []
    _insert_entries(conn, entries)
    return sum(len(a) for a in by_table.values())


class _Digester:
    """Row digests and `fields` JSON of one table's rows as `digest_fields(canonical_row(...))`
    gives them, for less CPU: the columns' canonical converters and the JSON heads laid out once
    in name order, each column text's 12-hex digest memoised (a batch's rows repeat most of their
    values). Rows come as tuples over `names` (the table's columns in table order); an
    observation also takes its frames' digest (the `__frames__` key). `raw_json`: JSON columns
    come as the database's JSON text (what json.loads would read them from), their canonical
    text memoised by that text."""

    def __init__(self, table: Table, frames: bool, raw_json: bool = False) -> None:
        self.names = [c.name for c in table.columns]
        assert self.names[0] == "id", table.name  # rows are keyed by their first value
        self.json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
        keys = sorted([*self.names, FRAMES_KEY] if frames else self.names)
        pos = {n: i for i, n in enumerate(self.names)}
        self.canon_json: dict[str, str] = {}
        self.plan = [(pos.get(k, -1), self._json_text if raw_json and k in self.json_cols
                      else _converter(table, k)) for k in keys]  # -1: the frames' digest
        self.prefixes = [f"{k}=" for k in keys]
        self.heads = [f'"{k}":"' if _PLAIN_KEY.match(k) else _dumps(k) + ':"' for k in keys]
        self.short: dict[str, str] = {}

    def digest(self, row: Sequence[Any], frames_hex: str = "") -> tuple[str, str]:
        texts = [conv(row[i]) if i >= 0 else frames_hex for i, conv in self.plan]
        digest = hashlib.sha256("\x1f".join(map(_add, self.prefixes, texts)).encode("utf-8")).hexdigest()
        get, miss = self.short.get, self._short
        fields = ",".join([head + (get(t) or miss(t)) for head, t in zip(self.heads, texts, strict=True)])
        return digest, "{" + fields + "}"

    def _json_text(self, v: str | None) -> str:
        if v is None:
            return "null"
        t = self.canon_json.get(v)
        if t is None:
            t = _dumps(json.loads(v))
            if len(self.canon_json) < 10_000:
                self.canon_json[v] = t
        return t

    def _short(self, t: str) -> str:
        d = hashlib.sha256(t.encode("utf-8")).hexdigest()[:12] + '"'
        if len(self.short) < 100_000:
            self.short[t] = d
        return d


_DIGESTERS: dict[tuple[str, bool], _Digester] = {}
_EMPTY_FRAMES = frames_digest([])


def _entry_hashes(prev_hash: str, seq: int, now: datetime, table_name: str,
                  digests: Iterable[tuple[int, str | None, str | None]]) -> list[dict[str, Any]]:
    """The chain's entries (seq + 1, ...) for (row id, row digest or None for gone, fields JSON)
    in order, each hash exactly `entry_hash`'s (the canonical JSON of the entry laid out by hand:
    sorted keys, no spaces, strings escaped by the json module's own encoder)."""
    from json.encoder import encode_basestring as q

    tail = ',"table":' + q(table_name) + ',"time":' + q(_converter(AUDIT_TABLE, "time")(now)) + "}"
    ins, gone = '{"action":' + q("insert") + ',"fields":', '{"action":' + q("delete") + ',"fields":'
    out = []
    for row_id, digest, fields_json in digests:
        seq += 1
        body = (ins if digest is not None else gone) + ("null" if fields_json is None else q(fields_json)) \
            + ',"row_digest":' + ("null" if digest is None else q(digest)) \
            + ',"row_id":' + str(int(row_id)) + ',"seq":' + str(seq) + tail
        h = hashlib.sha256((prev_hash + "|" + body).encode("utf-8")).hexdigest()
        out.append({"seq": seq, "time": now, "table_name": table_name, "row_id": row_id,
                    "action": "insert" if digest is not None else "delete", "row_digest": digest,
                    "fields": fields_json, "prev_hash": prev_hash, "hash": h})
        prev_hash = h
    return out


def record_inserted(conn: Connection, table_name: str, ids: Sequence[int], *, no_frames: bool = False) -> int:
    """Appends `insert` entries for rows this transaction has just inserted (a bulk writer's
    COPY): the entries `record_rows(conn, [(table_name, id, "insert"), ...])` would write, for
    less CPU -- the rows are read back (with their frames) in large chunks through the driver
    alone (the models' column types give the same values), their digests are computed before
    the chain's lock is taken (`_Digester`), and under the lock only the entries' hashes, in one
    pass (`_entry_hashes`), then one COPY. `no_frames`: the caller inserted these observations
    itself, in this transaction, without frames (none can exist: no other transaction sees the
    rows yet), so the frames query is skipped."""
    if table_name not in AUDITED:
        raise ValueError(f"table {table_name!r} is not audited")
    ids = sorted({int(i) for i in ids})
    if not ids:
        return 0
    table = AUDITED[table_name]
    obs = table_name == "observation"
    raw = conn.dialect.name == "postgresql"
    dg = _DIGESTERS.get((table_name, raw))
    if dg is None:
        dg = _DIGESTERS[(table_name, raw)] = _Digester(table, obs, raw)
    digests: list[tuple[int, str | None, str | None]] = []
    for i in range(0, len(ids), 5000):
        chunk = ids[i:i + 5000]
        lo, hi, want = chunk[0], chunk[-1], set(chunk)
        rows = {int(r[0]): r for r in _rows(conn, table, dg, lo, hi) if int(r[0]) in want}
        frames: dict[int, list[Any]] = {}
        if obs and not no_frames:
            for fr in conn.execute(select(FRAME_TABLE).where(FRAME_TABLE.c.observation_id >= lo,
                                                             FRAME_TABLE.c.observation_id <= hi)
                                   .order_by(FRAME_TABLE.c.observation_id, FRAME_TABLE.c.id)):
                frames.setdefault(int(fr.observation_id), []).append(fr)
        for row_id in chunk:
            r = rows.get(row_id)
            if r is None:  # not there after all: recorded as gone, as record_rows would
                digests.append((row_id, None, None))
                continue
            fr_hex = (frames_digest(frames[row_id]) if row_id in frames else _EMPTY_FRAMES) if obs else ""
            digests.append((row_id, *dg.digest(r, fr_hex)))
    seq, prev_hash = _lock_tail(conn)
    entries = _entry_hashes(prev_hash, seq, datetime.now(UTC), table_name, digests)
    _insert_entries(conn, entries)
    return len(entries)


def _rows(conn: Connection, table: Table, dg: _Digester, lo: int, hi: int) -> Iterable[Sequence[Any]]:
    """Rows of `table` with lo <= id <= hi as tuples over `dg.names` (id first). On PostgreSQL
    through the driver alone, JSON columns as their text (psycopg gives timestamptz aware,
    float8 as float: the values the column types give; json.loads of the text is what both
    read JSON with); elsewhere through SQLAlchemy."""
    if conn.dialect.name != "postgresql":
        return conn.execute(select(*(table.c[n] for n in dg.names)).where(table.c.id >= lo, table.c.id <= hi))
    cols = ", ".join(f"{n}::text" if n in dg.json_cols else n for n in dg.names)
    return raw_execute(conn, f"SELECT {cols} FROM {table.name} WHERE id >= %s AND id <= %s", (lo, hi))


def _insert_entries(conn: Connection, entries: list[dict[str, Any]]) -> None:
    """The entries with one COPY on PostgreSQL, in chunks of INSERTs elsewhere."""
    if not entries:
        return
    if conn.dialect.name != "postgresql":
        for i in range(0, len(entries), _CHUNK):
            conn.execute(insert(AUDIT_TABLE), entries[i:i + _CHUNK])
        return
    names = [c.name for c in AUDIT_TABLE.columns]
    copy_rows(conn, AUDIT_TABLE, names, [tuple(e[n] for n in names) for e in entries])


def raw_execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """One statement through the driver connection of `conn` (PostgreSQL: psycopg, `%s`
    parameters), in its transaction; the rows it gives (none for a statement without). No
    statement compiled, no result processing: for a bulk writer's fixed statements. A driver
    error becomes SQLAlchemy's DBAPIError, as through `conn.execute`."""
    from sqlalchemy.exc import DBAPIError

    raw: Any = conn.connection.driver_connection
    try:
        with raw.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description is not None else []
    except conn.dialect.dbapi.Error as exc:  # type: ignore[union-attr]
        raise DBAPIError.instance(sql, params, exc, conn.dialect.dbapi.Error,  # type: ignore[union-attr]
                                  dialect=conn.dialect) from exc


def copy_rows(conn: Connection, table: Table, names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Writes `rows` (tuples over the columns `names`) into `table` with PostgreSQL's COPY, in the
    transaction of `conn` (an order of magnitude less CPU than INSERTs: ~2 us a row). Values go
    as psycopg's text forms (floats as repr: exact); JSON columns take their JSON text. A driver
    error becomes SQLAlchemy's DBAPIError (IntegrityError for a unique violation), as an
    INSERT's would."""
    from sqlalchemy.exc import DBAPIError

    sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    raw: Any = conn.connection.driver_connection
    try:
        with raw.cursor() as cur, cur.copy(sql) as cp:
            for r in rows:
                cp.write_row(r)
    except conn.dialect.dbapi.Error as exc:  # type: ignore[union-attr]
        raise DBAPIError.instance(sql, None, exc, conn.dialect.dbapi.Error,  # type: ignore[union-attr]
                                  dialect=conn.dialect) from exc


def seal_existing(conn: Connection, tables: Sequence[str] = ("observation", "detection", "finding")) -> int:
    """`baseline` entries for every audited row of `tables` that has none (the migration that
    creates the log seals the rows written before it; a later one, the rows of a table that
    enters the log then). Returns the number sealed."""
    from sqlalchemy import inspect

    insp = inspect(conn)
    present = {t: {c["name"] for c in insp.get_columns(t)} for t in [*tables, FRAME_TABLE.name]}
    n = 0
    for table_name in tables:
        table = AUDITED[table_name]
        have = select(AUDIT_TABLE.c.row_id).where(AUDIT_TABLE.c.table_name == table_name)
        q = select(table.c.id).where(table.c.id.not_in(have))
        if table_name in AUDITED_WHERE:
            q = q.where(AUDITED_WHERE[table_name])
        ids = [int(r[0]) for r in conn.execute(q.order_by(table.c.id))]
        for i in range(0, len(ids), 20_000):
            n += record_rows(conn, ((table_name, x, "baseline") for x in ids[i:i + 20_000]), present=present)
    return n


# -- the ORM hook ---------------------------------------------------------------------

_CLASS_TABLE: dict[type, str] = {Observation: "observation", Detection: "detection", Finding: "finding",
                                  IngestRecord: "ingest_record", Handover: "handover"}


def _covered(obj: Any) -> bool:
    """Whether the log covers this object's row (`AUDITED_WHERE`)."""
    return not isinstance(obj, IngestRecord) or obj.kind != "observation"


def _touched(session: Session) -> dict[tuple[str, int], str]:
    touched: dict[tuple[str, int], str] = session.info.setdefault(_INFO_KEY, {})
    return touched


def _mark(session: Session, table_name: str, row_id: int | None, action: str) -> None:
    if row_id is None:
        return
    t = _touched(session)
    key = (table_name, int(row_id))
    prev = t.get(key)
    t[key] = "insert" if prev == "insert" and action != "delete" else action


def _after_flush(session: Session, _ctx: Any) -> None:
    for obj in session.new:
        name = _CLASS_TABLE.get(type(obj))
        if name is not None:
            if _covered(obj):
                _mark(session, name, obj.id, "insert")
        elif isinstance(obj, FrameRow):
            _mark(session, "observation", obj.observation_id, "update")
    for obj in session.dirty:
        if not session.is_modified(obj, include_collections=False):
            continue
        name = _CLASS_TABLE.get(type(obj))
        if name is not None:
            if _covered(obj):
                _mark(session, name, obj.id, "update")
        elif isinstance(obj, FrameRow):
            _mark(session, "observation", obj.observation_id, "update")
    for obj in session.deleted:
        name = _CLASS_TABLE.get(type(obj))
        if name is not None:
            if _covered(obj):
                _mark(session, name, obj.id, "delete")
        elif isinstance(obj, FrameRow):
            _mark(session, "observation", obj.observation_id, "update")


def _do_orm_execute(state: ORMExecuteState) -> Any:
    """ORM-enabled update()/delete() statements on audited tables: the rows they match are recorded."""
    if not (state.is_update or state.is_delete):
        return None
    mapper = state.bind_mapper
    if mapper is None:
        return None
    cls = mapper.class_
    frame = cls is FrameRow
    name = "observation" if frame else _CLASS_TABLE.get(cls)
    if name is None:
        return None
    where = getattr(state.statement, "whereclause", None)
    key_col = FRAME_TABLE.c.observation_id if frame else AUDITED[name].c.id
    q = select(key_col).distinct()
    if where is not None:
        q = q.where(where)
    if name in AUDITED_WHERE and not frame:
        q = q.where(AUDITED_WHERE[name])
    ids = [int(r[0]) for r in state.session.execute(q)
           if r[0] is not None]
    result = state.invoke_statement()
    action = "delete" if state.is_delete and not frame else "update"
    for i in ids:
        _mark(state.session, name, i, action)
    return result


def _before_commit(session: Session) -> None:
    session.flush()  # so that what commit would flush is collected now
    touched = session.info.pop(_INFO_KEY, None)
    if touched:
        record_rows(session.connection(), ((t, i, a) for (t, i), a in sorted(touched.items())))


def _forget(session: Session, *_a: Any) -> None:
    session.info.pop(_INFO_KEY, None)


def install(factory: sessionmaker[Session]) -> None:
    """Audits every session `factory` makes (idempotent)."""
    if event.contains(factory, "after_flush", _after_flush):
        return
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "do_orm_execute", _do_orm_execute)
    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_rollback", _forget)


# -- verification ---------------------------------------------------------------------

@dataclass
class Problem:
    kind: str  # chain | edited | deleted | unaudited | reappeared
    table: str
    row_id: int | None
    detail: str

    def line(self) -> str:
        where = f"{self.table} {self.row_id}" if self.row_id is not None else self.table
        return f"{where}: {self.detail}"


@dataclass
class VerifyReport:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    n_problems: int = 0
    max_listed: int = 1000

    @property
    def ok(self) -> bool:
        return self.n_problems == 0

    def add(self, p: Problem) -> None:
        self.n_problems += 1
        if len(self.problems) < self.max_listed:
            self.problems.append(p)

    def lines(self) -> list[str]:
        out = [p.line() for p in self.problems]
        if self.n_problems > len(self.problems):
            out.append(f"... and {self.n_problems - len(self.problems)} more problems")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head_seq": self.head_seq,
                "head_hash": self.head_hash, "rows": self.rows, "problems": self.n_problems,
                "listed": [{"kind": p.kind, "table": p.table, "row_id": p.row_id, "detail": p.detail}
                           for p in self.problems]}


def chain_head(conn: Connection) -> tuple[int, str]:
    """(seq, hash) of the newest entry ((0, 64 zeros) for an empty log)."""
    tail = conn.execute(select(AUDIT_TABLE.c.seq, AUDIT_TABLE.c.hash)
                        .order_by(AUDIT_TABLE.c.seq.desc()).limit(1)).first()
    return (int(tail[0]), str(tail[1])) if tail is not None else (0, GENESIS)


def _stream(conn: Connection, stmt: Any, n: int = 2000) -> Iterator[Any]:
    yield from conn.execution_options(stream_results=True, yield_per=n).execute(stmt)


def _walk_chain(conn: Connection, rep: VerifyReport) -> None:
    prev_hash, expect = GENESIS, 1
    for e in _stream(conn, select(AUDIT_TABLE).order_by(AUDIT_TABLE.c.seq)):
        rep.entries += 1
        seq = int(e.seq)
        if seq != expect:
            rep.add(Problem("chain", "audit_log", seq,
                            f"entries {expect}..{seq - 1} are missing from the log" if seq > expect
                            else f"entry out of order (expected seq {expect})"))
        if e.prev_hash != prev_hash:
            rep.add(Problem("chain", "audit_log", seq,
                            "prev_hash does not match the previous entry (an entry was removed, "
                            "inserted or rewritten before it)"))
        h = entry_hash(e.prev_hash, seq, e.time, e.table_name, int(e.row_id), e.action, e.row_digest,
                       e.fields)
        if h != e.hash:
            rep.add(Problem("chain", "audit_log", seq,
                            f"entry edited (its content no longer matches its hash; it names "
                            f"{e.table_name} {e.row_id})"))
        prev_hash, expect = str(e.hash), seq + 1
        rep.head_seq, rep.head_hash = seq, str(e.hash)


def _latest_entries(conn: Connection, table_name: str) -> Iterator[Any]:
    a = AUDIT_TABLE
    latest = (select(a.c.row_id, label("mseq", func.max(a.c.seq)))
              .where(a.c.table_name == table_name).group_by(a.c.row_id).subquery())
    stmt = (select(a.c.row_id, a.c.seq, a.c.action, a.c.row_digest, a.c.fields)
            .join(latest, a.c.seq == latest.c.mseq).order_by(a.c.row_id))
    return _stream(conn, stmt)


def _check_table(conn: Connection, table_name: str, rep: VerifyReport,
                 present: dict[str, set[str]] | None = None) -> None:
    """`present`: the columns each table has (a database of an older schema is checked as it is)."""
    table = AUDITED[table_name]
    cols = _columns(table, present)
    names = [c.name for c in cols]
    q = select(*cols)
    if table_name in AUDITED_WHERE:
        q = q.where(AUDITED_WHERE[table_name])
    rows = _stream(conn, q.order_by(table.c.id))
    entries = _latest_entries(conn, table_name)
    frames: Iterator[Any] | None = None
    pending_frame: Any = None
    if table_name == "observation":
        frames = _stream(conn, select(*_columns(FRAME_TABLE, present)).order_by(FRAME_TABLE.c.observation_id,
                                                                                 FRAME_TABLE.c.id))

    def frames_of(obs_id: int) -> list[Any]:
        nonlocal pending_frame
        out: list[Any] = []
        assert frames is not None
        while True:
            if pending_frame is None:
                pending_frame = next(frames, None)
                if pending_frame is None:
                    return out
            fid = int(pending_frame.observation_id)
            if fid < obs_id:
                pending_frame = None  # a frame of a missing observation (the FK forbids it)
                continue
            if fid > obs_id:
                return out
            out.append(pending_frame)
            pending_frame = None

    n = 0
    row = next(rows, None)
    ent = next(entries, None)
    while row is not None or ent is not None:
        rid = int(row.id) if row is not None else None
        eid = int(ent.row_id) if ent is not None else None
        if rid is not None and (eid is None or rid < eid):
            n += 1
            if frames is not None:
                frames_of(rid)
            rep.add(Problem("unaudited", table_name, rid, "row has no audit entry (written behind "
                            "fbsdetect's back, or by a writer that skipped the log)"))
            row = next(rows, None)
            continue
        if eid is not None and (rid is None or eid < rid):
            assert ent is not None
            if ent.action != "delete":
                rep.add(Problem("deleted", table_name, eid,
                                f"row deleted (audited by entry {ent.seq}, not in the table)"))
            ent = next(entries, None)
            continue
        assert row is not None and ent is not None and rid is not None
        n += 1
        if ent.action == "delete":
            rep.add(Problem("reappeared", table_name, rid,
                            f"row present although entry {ent.seq} recorded its deletion"))
        else:
            # fast path: the row over today's columns (an entry names the same ones unless the
            # schema changed since); the entry's own column list only on a mismatch
            canon = canonical_row(table, row, names)
            fdig = frames_digest(frames_of(rid)) if frames is not None else None
            if fdig is not None:
                canon[FRAMES_KEY] = fdig
            if row_digest(canon) != ent.row_digest:
                old: dict[str, str] = json.loads(ent.fields) if ent.fields else {}
                canon = canonical_row(table, row, [k for k in old if k != FRAMES_KEY])
                if fdig is not None and FRAMES_KEY in old:
                    canon[FRAMES_KEY] = fdig
                digest, now = digest_fields(canon)
                if digest != ent.row_digest:
                    changed = [k for k in sorted(old, key=lambda c: (c == FRAMES_KEY, c))
                               if now.get(k) != old[k]]
                    what = ", ".join("its frames" if k == FRAMES_KEY else k for k in changed) + " changed"
                    if not changed:
                        what = "its digest differs though no column does (the entry was altered)"
                    rep.add(Problem("edited", table_name, rid,
                                    f"row edited after audit entry {ent.seq}: {what}"))
        row = next(rows, None)
        ent = next(entries, None)
    rep.rows[table_name] = n


def verify_db(store: Any, *, max_listed: int = 1000) -> VerifyReport:
    """Walks the chain and checks every audited row against its latest entry (streaming)."""
    rep = VerifyReport(max_listed=max_listed)
    engine = store.engine
    opts: dict[str, Any] = {}
    if engine.dialect.name == "postgresql":
        opts["isolation_level"] = "REPEATABLE READ"  # one snapshot for the chain and the tables
    with engine.connect().execution_options(**opts) as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # one read snapshot (WAL) for every cursor below
        _walk_chain(conn, rep)
        from sqlalchemy import inspect

        insp = inspect(conn)
        tables = set(insp.get_table_names())
        present = {t: {c["name"] for c in insp.get_columns(t)} for t in [*AUDITED, FRAME_TABLE.name]
                   if t in tables}
        for name in AUDITED:  # a database of an older schema is checked as it is
            if name in tables:
                _check_table(conn, name, rep, present)
        conn.rollback()
    return rep


__all__ = ["AUDITED", "Problem", "VerifyReport", "chain_head", "install", "record_inserted", "record_rows",
           "seal_existing", "verify_db"]
