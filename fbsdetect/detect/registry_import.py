"""Importing a registry CSV into the store, streaming, with a report.

`import_registry(store, path, ...)` reads the file in blocks of lines
(`registry_csv.LineReader.blocks`, 1 MiB at a time), parses and filters them,
and writes the good rows in batches; memory stays constant whatever the file's
size (a block, and a batch of rows, are the most it holds).

Parsing (`_parse_rows`): a block of plain OpenCellID lines (the usual case:
the own column order, a radio name first, numbers after it, every field
present) is parsed with numpy in one go (`RowParser.vector_block`: numpy's
text parser, then `fast`'s checks on whole columns); a line that fails a check
takes the careful path (`RowParser.parse`) for its reason, in its place; a
block with an odd line (quotes, blanks, non-ASCII, other spellings) is tried
again in pieces of `SUB_BLOCK_LINES`, the odd piece line by line. Either way
the rows, rejects (with line numbers) and counts are the same (tested).

A file of `CHILD_READER_MIN_BYTES` or more (on a machine with two cores or
more) is read and parsed in a child process (`registry_reader`) that hands the
rows over a pipe, pickled, in file order, while this process writes them:
reading and writing overlap. For SQLite the rows parsed with numpy cross as
float arrays with the staging sort key already computed (`values_with_key`;
the careful path's tuples get the same key here, `tuple_with_key`) and are
staged from `.tolist()`: no tuple is built, pickled and unpickled per row
(reader 4.2 -> 2.5 CPU s per million rows); other databases get tuples. The
pipe's buffer bounds what is in flight. An interrupt here ends the child.

Where the rows go first depends on the database:

- SQLite: each batch is appended (executemany; values are always bound
  parameters) to a staging table, which has no index, in a private database
  of this connection (`ATTACH ''`), in one transaction of it (the main database is not
  locked while the file is read). When the file has been read (to its end, or
  to where a truncated/corrupt compressed stream broke), the same transaction
  upserts the staged rows into `registry_cell` (`INSERT .. SELECT .. ORDER BY
  key ON CONFLICT DO UPDATE`, SQLAlchemy Core), sorted by the unique key so that
  the key's index (`REGISTRY_KEY`: mcc, mnc, lac, cid, radio, source; since
  migration 0010 it also serves lookups by CGI, so there is no second index to
  write) is written in order (the sort compares one packed integer first, `k`:
  mcc, mnc, lac), and updates the `registry_source` row. For a big
  merge (>= `DEFER_LATLON_INDEX_ROWS` rows) the `(lat, lon)` index is dropped
  and rebuilt inside that same transaction: its random-order maintenance is
  what made the direct path 3x slower (measured: 5 M rows, merge 40 s with it,
  12 s + 6 s rebuild without). SQLite DDL is transactional, so a failure
  rolls the index back with everything else, and every import starts by
  re-creating any index of the table that is missing.
  Consequence: an import either stores all the good rows it read (to the end,
  or to where a compressed stream broke) or, interrupted or failing, none of
  them; what earlier imports stored is never touched.
- PostgreSQL with psycopg 3: each batch is COPYed into a TEMPORARY staging
  table; the merge is one `INSERT .. SELECT DISTINCT ON (key) .. ON CONFLICT
  DO UPDATE` transaction, as for SQLite (all or nothing). With another driver,
  each batch (deduplicated on the key, the later row wins) is upserted and
  committed on its own; an interrupted import then keeps those batches.

The database's write lock is held only during the final merge (SQLite, 5 M
rows, idle machine: 12.6 s, 19 CPU s with the lat/lon index's rebuild; a scan
writing at the same time waits, its StoreSink buffers). SQLite settings changed
for the import's connection and restored after it: cache_size 32 MiB,
temp_store FILE (the staging table and sorter spill go to disk: memory stays
flat), foreign_keys off (the merge sets the source id itself), threads
`SORT_THREADS` (the merge's sort and the index rebuild use the second core the
reader process used while the file was read; each helper thread sorts in a
buffer of its own, bounded by the cache size, so memory stays flat: peak RSS
~210 MB at 5 and at 10 M rows against ~150 MB without them, merge 12.6 s
against 18.1 s).

Rows of a file that match a stored row of the same source (same radio, mcc,
mnc, lac, cid) update it and are counted as `updated` (a repeated key inside
one file too): re-importing a file never duplicates. `imported` counts the
rows that are new in the store (rows of the source after minus before).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from fbsdetect.detect.registry_csv import (
    KEY_COLUMNS,
    MAX_LINE_BYTES,
    RADIOS,
    BBox,
    CsvFormat,
    LineReader,
    RowParser,
    VectorRows,
    decode_line,
    detect_format,
)
from fbsdetect.errors import BadInput

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table

    from fbsdetect.store.db import Store

OPENCELLID_ATTRIBUTION = ("OpenCellID (https://opencellid.org), by Unwired Labs and its contributors, "
                          "licensed under CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/)")
OPENCELLID_LICENCE = "CC-BY-SA-4.0"
MLS_ATTRIBUTION = "Mozilla Location Service (https://location.services.mozilla.com), public domain (CC0 1.0)"

BATCH_ROWS = 5000
DEFER_LATLON_INDEX_ROWS = 200_000
SORT_THREADS = 2   # SQLite sorter helper threads during the merge (see above)
FORCE_DIRECT_UPSERT = False   # tests: the per-batch path other PostgreSQL drivers take, on any database
MAX_REJECTS_SHOWN = 10
CHILD_READER_MIN_BYTES: int | None = 16 << 20   # a file this big is read by a child process
SUB_BLOCK_LINES = 512   # a block the numpy path cannot take is tried again in pieces of this many lines
_LATLON_INDEX = "ix_registry_cell_latlon"
STAGE_SCHEMA = "fbsdetect_stage"   # SQLite: the staging database's name on the import's connection

ProgressFn = Callable[["ImportReport", str], None]


@dataclass
class ImportReport:
    """What an import did; `rows_read` = imported + updated + rejected + filtered."""

    path: str
    kind: str = ""                     # opencellid | licensed
    source_name: str = ""
    source_id: int | None = None
    compression: str | None = None
    headerless: bool = False
    rows_read: int = 0                 # data lines (blank lines not counted)
    imported: int = 0                  # new rows in the store
    updated: int = 0                   # rows that replaced a stored row of the same key and source
    rejected: int = 0
    filtered_mcc: int = 0
    filtered_bbox: int = 0
    filtered_radio: int = 0
    blank_lines: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)   # first few (line, reason)
    reject_reasons: Counter[str] = field(default_factory=Counter)
    damage: str | None = None          # the file broke off (truncated/corrupt compressed data)
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    merge_s: float = 0.0
    cpu_s: float = 0.0                 # this process's CPU time (the database's own work included for SQLite)
    merge_cpu_s: float = 0.0
    latlon_index_deferred: bool = False
    _t0: float = field(default=0.0, repr=False)

    @property
    def filtered(self) -> int:
        return self.filtered_mcc + self.filtered_bbox + self.filtered_radio

    @property
    def stored(self) -> int:
        return self.imported + self.updated

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """2 when the file as a whole is bad (it broke off, or not one of its rows was usable),
        else 0 (rejected rows are counted outcomes)."""
        if self.damage is not None:
            return 2
        if self.rows_read > 0 and self.stored + self.filtered == 0:
            return 2
        return 0

    def reject(self, line_no: int, reason: str, max_shown: int) -> None:
        self.rejected += 1
        self.reject_reasons[_reason_kind(reason)] += 1
        if len(self.rejects) < max_shown:
            self.rejects.append((line_no, reason))

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path, "format": self.kind, "source": self.source_name, "source_id": self.source_id,
            "compression": self.compression, "headerless": self.headerless,
            "rows_read": self.rows_read, "imported": self.imported, "updated": self.updated,
            "rejected": self.rejected, "filtered": self.filtered,
            "filtered_by": {"mcc": self.filtered_mcc, "bbox": self.filtered_bbox,
                            "radio": self.filtered_radio},
            "blank_lines": self.blank_lines,
            "rejects": [{"line": n, "reason": r} for n, r in self.rejects],
            "reject_reasons": dict(self.reject_reasons.most_common()),
            "damage": self.damage, "interrupted": self.interrupted, "notes": list(self.notes),
            "elapsed_s": round(self.elapsed_s, 3), "rows_per_s": round(self.rows_per_s),
            "merge_s": round(self.merge_s, 3), "cpu_s": round(self.cpu_s, 3),
            "exit_code": self.exit_code,
        }

    def text(self) -> str:
        out = [f"{self.path}: {_fmt_kind(self.kind)}"
               + (f" ({self.compression})" if self.compression else "")
               + f" -> source {self.source_name!r}"]
        out.append(f"  rows read {self.rows_read:,}, imported {self.imported:,}, updated {self.updated:,}, "
                   f"rejected {self.rejected:,}, filtered out {self.filtered:,}"
                   + (f" (mcc {self.filtered_mcc:,}, bbox {self.filtered_bbox:,}, "
                      f"radio {self.filtered_radio:,})" if self.filtered else ""))
        if self.rows_read:
            out.append(f"  {self.elapsed_s:.1f} s, {self.rows_per_s:,.0f} rows/s")
        if self.rejected:
            kinds = ", ".join(f"{k}: {n:,}" for k, n in self.reject_reasons.most_common(5))
            out.append(f"  rejected rows by reason: {kinds}")
            for n, r in self.rejects:
                out.append(f"    line {n}: {r}")
            if self.rejected > len(self.rejects):
                out.append(f"    ... and {self.rejected - len(self.rejects):,} more")
        for note in self.notes:
            out.append(f"  note: {note}")
        if self.interrupted:
            out.append("  interrupted: " + ("none of this file's rows were stored" if self.stored == 0
                                            else "the rows above were stored"))
        if self.damage:
            out.append(f"  error: {self.damage}")
        elif self.rows_read and self.stored + self.filtered == 0:
            out.append("  error: no row of the file could be used")
        return "\n".join(out)


def _fmt_kind(kind: str) -> str:
    return {"opencellid": "OpenCellID/MLS CSV", "licensed": "licensed-site list"}.get(kind, kind or "?")


_VALUE = re.compile(r"'[^']*'|\"[^\"]*\"|0x[0-9a-f]+|-?\d[\d.eE+-]*")


def _reason_kind(reason: str) -> str:
    """'mcc 'abc' is not a number' -> 'mcc is not a number' (for counting rejects by kind)."""
    s = _VALUE.sub("", reason.split("(")[0])
    return " ".join(s.split())


def default_source_name(path: str, kind: str) -> str:
    if kind == "opencellid":
        return "opencellid"
    stem = Path(path).name
    for ext in (".gz", ".bz2", ".xz", ".csv", ".txt"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
    return f"licensed:{stem}"


def _defaults(kind: str, name: str, attribution: str | None,
              licence: str | None) -> tuple[str | None, str | None]:
    if attribution is None and licence is None:
        if name.lower().startswith("mls"):
            return MLS_ATTRIBUTION, "CC0-1.0"
        if kind == "opencellid":
            return OPENCELLID_ATTRIBUTION, OPENCELLID_LICENCE
    if kind == "opencellid" and licence is None and not name.lower().startswith("mls"):
        licence = OPENCELLID_LICENCE
    return attribution, licence


# -- writers -------------------------------------------------------------------------------------------------

class _Writer:
    def __init__(self, conn: Connection, cell_table: Table, columns: tuple[str, ...]) -> None:
        self.conn = conn
        self.cells = cell_table
        self.columns = columns
        # a re-import sets what the file carries and leaves the other columns alone
        self.update_columns = tuple(c for c in columns if c not in KEY_COLUMNS)

    def add_batch(self, rows: Sequence[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def finish(self, source_id_fn: Callable[[], int]) -> tuple[int, int, bool]:
        """Stores what was added; returns (rows new in the store, rows updated, lat/lon index deferred)."""
        raise NotImplementedError

    def discard(self) -> None:
        pass


def _count_source_rows(conn: Connection, cells: Table, source_id: int) -> int:
    from sqlalchemy import func, select

    return int(conn.execute(select(func.count()).select_from(cells)
                            .where(cells.c.source_id == source_id)).scalar_one())


class _SqliteStagingWriter(_Writer):
    def __init__(self, conn: Connection, cell_table: Table, columns: tuple[str, ...]) -> None:
        super().__init__(conn, cell_table, columns)
        from sqlalchemy import Column, Integer, MetaData, Table

        md = MetaData()
        cols = [Column("seq", Integer, primary_key=True)]
        cols += [Column(c, cell_table.c[c].type) for c in columns]
        cols.append(Column("k", Integer))   # the sort key's first part (below)
        cols.append(Column("rc", Integer))  # the radio as its code, for rows staged as floats
        # The staging table lives in a private database of this connection (ATTACH '': a file
        # SQLite deletes when it is detached): the main database is not locked while the file is
        # read, and at the end DETACH drops the staged rows at once, where DROP TABLE of a TEMP
        # table freed its pages one by one (5 M rows: 1.8 s).
        with contextlib.suppress(Exception):
            conn.exec_driver_sql(f"DETACH DATABASE {STAGE_SCHEMA}")   # left by an earlier failure
        conn.exec_driver_sql(f"ATTACH DATABASE '' AS {STAGE_SCHEMA}")
        self.stage = Table("registry_import_stage", md, *cols, schema=STAGE_SCHEMA)
        self.stage.create(conn)
        conn.commit()
        # Every value a bound parameter (?1.. in the columns' order); k packs mcc, mnc and lac
        # into one integer that sorts as they do (mcc, mnc < 1024, lac < 2^31), so that the
        # merge's sort compares one integer first: (k, cid, radio, seq) is the order of the key's
        # index (REGISTRY_KEY: mcc, mnc, lac, cid, radio; the source is one), then the file's.
        q = conn.dialect.identifier_preparer.quote
        assert columns[:5] == KEY_COLUMNS
        k = "(?2 * 1024 + ?3) * 2147483648 + ?4"
        self._insert_sql = (f"INSERT INTO {q(self.stage.name)} ({', '.join(q(c) for c in columns)}, k) "
                            f"VALUES ({', '.join(f'?{i + 1}' for i in range(len(columns)))}, {k})")
        # a row of floats (`VectorRows.values`, its sort key appended: `values_with_key`): the
        # radio as its code (1 + its index in RADIOS) in `rc`; the integer columns' affinity stores
        # whole floats as integers
        self._insert_values_sql = (f"INSERT INTO {q(self.stage.name)} (rc, "
                                   f"{', '.join(q(c) for c in columns[1:])}, k) "
                                   f"VALUES ({', '.join('?' * (len(columns) + 1))})")
        self._coded = False
        self._positional = conn.dialect.paramstyle == "qmark"
        self.n_staged = 0

    def add_items(self, items: Sequence[Any]) -> None:
        """Rows from the reader process in `_parse_rows(arrays=True)` form: float arrays (OpenCellID
        rows, the radio as its code, the sort key appended: `values_with_key`) among row tuples
        (the careful path's), in file order, which is the order a repeated key is applied in.
        Every row's key here is the float one of `values_with_key` (a tuple's too)."""
        # the driver's own cursor (the same connection and transaction): SQLAlchemy's check of
        # the parameters would want a tuple made of each row
        cur = self.conn.connection.driver_connection.cursor()   # type: ignore[union-attr]
        self._coded = True
        try:
            run: list[tuple[Any, ...]] = []
            for it in items:
                if isinstance(it, tuple):
                    run.append(tuple_with_key(it))
                    continue
                if run:
                    cur.executemany(self._insert_values_sql, run)
                    self.n_staged += len(run)
                    run = []
                for k in range(0, len(it), BATCH_ROWS):
                    cur.executemany(self._insert_values_sql, it[k:k + BATCH_ROWS].tolist())
                self.n_staged += len(it)
            if run:
                cur.executemany(self._insert_values_sql, run)
                self.n_staged += len(run)
        finally:
            cur.close()

    def add_batch(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self._positional:
            self.conn.exec_driver_sql(self._insert_sql, list(rows))
        else:  # pragma: no cover - a dialect that compiles differently
            raise RuntimeError(f"SQLite driver with paramstyle {self.conn.dialect.paramstyle}")
        # no commit: the staging is one transaction of this connection's staging database (the main
        # database is not locked by it); the merge continues it
        self.n_staged += len(rows)

    def finish(self, source_id_fn: Callable[[], int]) -> tuple[int, int, bool]:
        from sqlalchemy import case, func, label, literal, select, true
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        from fbsdetect.store.models import REGISTRY_KEY

        conn, cells, stage = self.conn, self.cells, self.stage
        source_id = source_id_fn()          # DML first: opens the transaction the DDL below joins
        before = _count_source_rows(conn, cells, source_id)
        defer = self.n_staged >= DEFER_LATLON_INDEX_ROWS
        latlon = next((ix for ix in cells.indexes if ix.name == _LATLON_INDEX), None)
        if defer and latlon is not None:
            latlon.drop(conn)
        radio: Any = stage.c.radio
        if self._coded:
            radio = func.coalesce(stage.c.radio, case({i + 1: r for i, r in enumerate(RADIOS)},
                                                      value=stage.c.rc))
        sel = (select(label("source_id", literal(source_id)), label("radio", radio),
                      *[stage.c[c] for c in self.columns[1:]])
               .where(true())   # SQLite needs a WHERE before ON CONFLICT in INSERT .. SELECT
               .order_by(stage.c.k, stage.c.cid, radio, stage.c.seq))
        ins = sqlite_insert(cells).from_select(["source_id", *self.columns], sel)
        ins = ins.on_conflict_do_update(index_elements=list(REGISTRY_KEY),
                                        set_={c: ins.excluded[c] for c in self.update_columns})
        conn.execute(ins)
        if defer and latlon is not None:
            latlon.create(conn)
        after = _count_source_rows(conn, cells, source_id)
        self._counts = (after - before, self.n_staged - (after - before))
        return after - before, self.n_staged - (after - before), defer and latlon is not None

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.rollback()
        with contextlib.suppress(Exception):
            self.conn.exec_driver_sql(f"DETACH DATABASE {STAGE_SCHEMA}")


class _PgCopyWriter(_Writer):
    """PostgreSQL with psycopg 3: rows COPYed (binary-safe, no SQL text from the input) into a
    TEMPORARY staging table, then one INSERT .. SELECT DISTINCT ON (key) .. ON CONFLICT DO UPDATE
    (the later row of a repeated key wins), all in one transaction like the SQLite path."""

    def __init__(self, conn: Connection, cell_table: Table, columns: tuple[str, ...]) -> None:
        super().__init__(conn, cell_table, columns)
        from sqlalchemy import BigInteger, Column, Identity, MetaData, Table

        md = MetaData()
        cols: list[Column[Any]] = [Column("seq", BigInteger, Identity(), primary_key=True)]
        cols += [Column(c, cell_table.c[c].type) for c in columns]
        self.stage = Table("registry_import_stage", md, *cols, prefixes=["TEMPORARY"])
        self.stage.drop(conn, checkfirst=True)
        self.stage.create(conn)
        from psycopg import sql

        self._copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(self.stage.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
        self.n_staged = 0

    def add_batch(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        raw: Any = self.conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(self._copy_sql) as cp:
            for r in rows:
                cp.write_row(r)
        self.n_staged += len(rows)

    def finish(self, source_id_fn: Callable[[], int]) -> tuple[int, int, bool]:
        from sqlalchemy import label, literal, select
        from sqlalchemy.dialects.postgresql import distinct_on
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        from fbsdetect.store.models import REGISTRY_KEY

        conn, cells, stage = self.conn, self.cells, self.stage
        source_id = source_id_fn()
        before = _count_source_rows(conn, cells, source_id)
        key = [stage.c[c] for c in REGISTRY_KEY if c != "source_id"]
        sel = (select(label("source_id", literal(source_id)), *[stage.c[c] for c in self.columns])
               .ext(distinct_on(*key)).order_by(*key, stage.c.seq.desc()))
        ins = pg_insert(cells).from_select(["source_id", *self.columns], sel)
        ins = ins.on_conflict_do_update(index_elements=list(REGISTRY_KEY),
                                        set_={c: ins.excluded[c] for c in self.update_columns})
        conn.execute(ins)
        after = _count_source_rows(conn, cells, source_id)
        return after - before, self.n_staged - (after - before), False

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.rollback()
        with contextlib.suppress(Exception):
            self.stage.drop(self.conn, checkfirst=True)
            self.conn.commit()


class _DirectUpsertWriter(_Writer):
    """PostgreSQL (or any dialect with ON CONFLICT): one committed upsert per batch."""

    def __init__(self, conn: Connection, cell_table: Table, columns: tuple[str, ...], source_id: int) -> None:
        super().__init__(conn, cell_table, columns)
        self.source_id = source_id
        from sqlalchemy.dialects import postgresql, sqlite

        from fbsdetect.store.models import REGISTRY_KEY

        ins: Any = (postgresql.insert(cell_table) if conn.dialect.name == "postgresql"
                    else sqlite.insert(cell_table))
        self.stmt = ins.on_conflict_do_update(index_elements=list(REGISTRY_KEY),
                                              set_={c: ins.excluded[c] for c in self.update_columns})
        self.before = _count_source_rows(conn, cell_table, source_id)
        conn.commit()
        self.n_written = 0

    def add_batch(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        uniq: dict[tuple[Any, ...], dict[str, Any]] = {}
        sid = self.source_id
        for r in rows:
            d = dict(zip(self.columns, r, strict=True))
            d["source_id"] = sid
            uniq[r[:5]] = d
        self.conn.execute(self.stmt, list(uniq.values()))
        self.conn.commit()
        self.n_written += len(rows)

    def finish(self, source_id_fn: Callable[[], int]) -> tuple[int, int, bool]:
        source_id_fn()
        after = _count_source_rows(self.conn, self.cells, self.source_id)
        new = after - self.before
        return new, self.n_written - new, False


# -- the import ----------------------------------------------------------------------------------------------

def _ensure_indexes(conn: Connection, cells: Table) -> None:
    for ix in cells.indexes:
        ix.create(conn, checkfirst=True)
    conn.commit()


def _source_row(conn: Connection, *, name: str, kind: str, path: str, attribution: str | None,
                licence: str | None, report: ImportReport | None) -> int:
    """The id of the source called `name` (created when new; its path, attribution, licence,
    time and last import's counts updated)."""
    from sqlalchemy import insert, select, update

    from fbsdetect.store.models import RegistrySource

    t = cast("Table", RegistrySource.__table__)
    now = datetime.now(UTC)
    values: dict[str, Any] = {"kind": kind, "path": path, "imported_at": now}
    if attribution is not None:
        values["attribution"] = attribution
    if licence is not None:
        values["licence"] = licence
    if report is not None:
        values.update(rows_read=report.rows_read, rows_imported=report.imported,
                      rows_updated=report.updated, rows_rejected=report.rejected)
    sid = conn.execute(select(t.c.id).where(t.c.name == name).order_by(t.c.id).limit(1)).scalar()
    if sid is None:
        values.setdefault("attribution", None)
        values.setdefault("licence", None)
        sid = conn.execute(insert(t).values(name=name, **values).returning(t.c.id)).scalar_one()
    else:
        conn.execute(update(t).where(t.c.id == sid).values(**values))
    return int(sid)


def import_registry(
    store: Store,
    path: str | os.PathLike[str],
    *,
    mccs: Iterable[int] | None = None,
    bbox: BBox | None = None,
    radios: Iterable[str] | None = None,
    source_name: str | None = None,
    attribution: str | None = None,
    licence: str | None = None,
    fmt: str | None = None,
    max_rejects: int = MAX_REJECTS_SHOWN,
    progress: ProgressFn | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportReport:
    """Imports one registry CSV file into `store`. Returns the report.

    Raises `BadInput` when nothing of the file can be read (missing, a directory,
    empty, not a registry header, UTF-16, a zip archive, corrupt before its first
    line). A file that breaks off later, rejected rows or an interrupt are in
    the report (`damage`, `rejects`, `interrupted`), with the good rows stored."""
    from fbsdetect.store.models import RegistryCell

    spath = os.fspath(path)
    report = ImportReport(path=spath)
    t0 = time.monotonic()
    c0 = time.process_time()
    report._t0 = t0
    mcc_set = frozenset(int(m) for m in mccs) if mccs else None
    radio_set = frozenset(r.strip().upper() for r in radios) if radios else None
    reader = LineReader(spath)
    report.compression = reader.compression
    try:
        lines = reader.lines()
        first = next(lines, None)
        if first is None and reader.line_no == 0:
            if reader.damage:
                raise BadInput(reader.damage.replace(" after line 0", " before its first line")
                               .replace("; the rows before it were read", ""), source=spath)
            raise BadInput("is empty: expected a header line such as radio,mcc,net,area,cell,...",
                           source=spath)
        if first is None:
            raise BadInput("line 1 is longer than 64 KiB: this is not a registry CSV file", source=spath)
        if first.startswith(b"\xef\xbb\xbf"):
            first = first[3:]
            report.notes.append("UTF-8 byte order mark skipped")
        if first.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise BadInput("is UTF-16 (or UTF-32) text; registry CSV must be UTF-8: convert it with "
                           "iconv -f UTF-16 -t UTF-8", source=spath)
        cf: CsvFormat = detect_format(first, source=spath, forced=fmt)
        report.kind = cf.kind
        report.headerless = cf.headerless
        if cf.headerless:
            report.notes.append("no header line: read in the OpenCellID column order "
                                "radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,"
                                "updated,averageSignal")
        if cf.ignored:
            shown = ", ".join(cf.ignored[:8]) + (" ..." if len(cf.ignored) > 8 else "")
            report.notes.append(f"columns not read: {shown}")
        name = source_name or default_source_name(spath, cf.kind)
        report.source_name = name
        attribution, licence = _defaults(cf.kind, name, attribution, licence)
        parser = RowParser(cf)
        cells = cast("Table", RegistryCell.__table__)
        with store.engine.connect() as conn:
            _ensure_indexes(conn, cells)
            sqlite = conn.dialect.name == "sqlite"
            old_cache: Any = None
            old_fk: Any = None
            old_threads: Any = None
            old_temp: Any = None
            if sqlite:
                old_cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
                old_fk = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
                old_threads = conn.exec_driver_sql("PRAGMA threads").scalar()
                old_temp = conn.exec_driver_sql("PRAGMA temp_store").scalar()
                # the staging table on disk, whatever the build's default: memory stays flat
                conn.exec_driver_sql("PRAGMA temp_store=FILE")
                # sorter helper threads: each sorts in its own cache-sized buffer (bounded)
                conn.exec_driver_sql(f"PRAGMA threads={int(SORT_THREADS)}")
                conn.exec_driver_sql("PRAGMA cache_size=-32768")   # 32 MiB while merging
                # every staged row gets the source id read in the merge's own transaction: the
                # per-row foreign-key lookup would only cost time
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            try:
                _import_on(conn, cells, report, reader, lines, first if cf.headerless else None, parser,
                           name=name, kind=cf.kind, path=os.path.abspath(spath), attribution=attribution,
                           licence=licence, mcc_set=mcc_set, bbox=bbox, radio_set=radio_set,
                           max_rejects=max_rejects, progress=progress, batch_rows=batch_rows)
            finally:
                if sqlite:
                    with contextlib.suppress(Exception):
                        conn.rollback()
                    # constant statements (an int read back from SQLite), never text from the input
                    conn.exec_driver_sql(f"PRAGMA cache_size={int(old_cache)}")
                    conn.exec_driver_sql(f"PRAGMA foreign_keys={1 if old_fk else 0}")
                    conn.exec_driver_sql(f"PRAGMA threads={int(old_threads or 0)}")
                    conn.exec_driver_sql(f"PRAGMA temp_store={int(old_temp or 0)}")
    finally:
        reader.close()
    report.elapsed_s = time.monotonic() - t0
    report.cpu_s = time.process_time() - c0
    return report


def _import_on(conn: Connection, cells: Table, report: ImportReport, reader: LineReader,
               lines: Iterator[bytes | None], first: bytes | None, parser: RowParser, *, name: str, kind: str,
               path: str, attribution: str | None, licence: str | None, mcc_set: frozenset[int] | None,
               bbox: BBox | None, radio_set: frozenset[str] | None, max_rejects: int,
               progress: ProgressFn | None, batch_rows: int) -> None:
    writer: _Writer
    if conn.dialect.name == "sqlite" and not FORCE_DIRECT_UPSERT:
        writer = _SqliteStagingWriter(conn, cells, parser.columns)
    elif (conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
          and not FORCE_DIRECT_UPSERT):
        writer = _PgCopyWriter(conn, cells, parser.columns)
    else:
        sid = _source_row(conn, name=name, kind=kind, path=path, attribution=attribution, licence=licence,
                          report=None)
        conn.commit()
        report.source_id = sid
        writer = _DirectUpsertWriter(conn, cells, parser.columns, sid)
    try:
        try:
            del lines   # the header (or the headerless first line) was read from it; blocks() go on
            if _use_child_reader(reader):
                _read_rows_in_child(report, reader, first, parser, writer, mcc_set=mcc_set, bbox=bbox,
                                    radio_set=radio_set, max_rejects=max_rejects, progress=progress,
                                    batch_rows=batch_rows)
            else:
                _read_rows(report, reader, first, parser, writer, mcc_set=mcc_set, bbox=bbox,
                           radio_set=radio_set, max_rejects=max_rejects, progress=progress,
                           batch_rows=batch_rows)
        except KeyboardInterrupt:
            report.interrupted = True
        if report.interrupted and isinstance(writer, (_SqliteStagingWriter, _PgCopyWriter)):
            return   # nothing of this file is stored; the staged rows go with the staging table
        if progress is not None:
            progress(report, "merge")
        tm = time.monotonic()
        cm = time.process_time()

        def source_id() -> int:
            return _source_row(conn, name=name, kind=kind, path=path, attribution=attribution,
                               licence=licence, report=report)
        try:
            new, upd, deferred = writer.finish(source_id)
            report.imported, report.updated = new, upd
            report.latlon_index_deferred = deferred
            report.source_id = source_id()   # the final counts
            conn.commit()
        finally:
            report.merge_s = time.monotonic() - tm
            report.merge_cpu_s = time.process_time() - cm
    finally:
        writer.discard()


def _parse_rows(report: ImportReport, reader: LineReader, first: bytes | None, parser: RowParser,
                counts: list[int], *, mcc_set: frozenset[int] | None, bbox: BBox | None,
                radio_set: frozenset[str] | None, max_rejects: int,
                arrays: bool = False) -> Iterator[list[Any]]:
    """The hot loop: blocks of lines (`LineReader.blocks`, after the header or the headerless
    `first` line), each parsed with numpy in one go where it is the plain case
    (`RowParser.vector_block`), else line by line; yields the good rows of each block, in file
    order. Rejects go to `report`; `counts` gets the rows filtered by mcc, radio and bbox and
    the blank lines. With `arrays`, the rows parsed with numpy come as 2-D float arrays
    (`VectorRows.values`: the radio as its code) among the row tuples of the careful path, in
    file order: no tuple is made of them."""
    batch: list[Any] = []
    contains = bbox.contains if bbox is not None else None
    mcc_arr = np.array(sorted(mcc_set), dtype=np.float64) if mcc_set is not None else None
    radio_arr = (np.array([float(RADIOS.index(r) + 1) for r in radio_set if r in RADIOS], dtype=np.float64)
                 if radio_set is not None else None)

    def one(line_no: int, raw: bytes | None) -> None:
        """A line by the careful path (fast_line first): a row added to the batch, or counted."""
        row = None
        try:
            if raw is None or len(raw) - raw.endswith(b"\n") >= MAX_LINE_BYTES:
                raise AttributeError
            line = raw.decode("ascii")
            if parser.fast_line is not None:
                row = parser.fast_line(line)
        except (UnicodeDecodeError, AttributeError):
            if raw is None or len(raw) - raw.endswith(b"\n") >= MAX_LINE_BYTES:
                report.reject(line_no, "line longer than 64 KiB", max_rejects)
            else:
                report.reject(line_no, _bad_bytes(raw), max_rejects)
            return
        if row is None:
            line = line.rstrip("\r\n")
            if not line or line.isspace():
                counts[3] += 1
                return
            try:
                row = parser.parse(line)
            except ValueError as exc:   # RowError; any other ValueError is a reason too
                report.reject(line_no, str(exc) or type(exc).__name__, max_rejects)
                return
        if mcc_set is not None and row[1] not in mcc_set:
            counts[0] += 1
            return
        if radio_set is not None and row[0] not in radio_set:
            counts[1] += 1
            return
        if contains is not None and (row[6] is None or not contains(row[6], row[5])):
            counts[2] += 1
            return
        batch.append(row)

    def put(vr: VectorRows, keep: Any) -> None:
        if arrays:
            v = vr.values if keep is None else vr.values[keep]
            if len(v):
                batch.append(v)
        else:
            batch.extend(vr.rows(keep))

    def vector(line_no: int, n: int, block: bytes, vr: VectorRows) -> None:
        ok = vr.ok
        keep = ok.copy()
        v = vr.values
        if mcc_arr is None and radio_arr is None and bbox is None and ok.all():
            put(vr, None)
            return
        if mcc_arr is not None:
            m = keep & ~np.isin(v[:, 1], mcc_arr)
            counts[0] += int(m.sum())
            keep &= ~m
        if radio_arr is not None:
            m = keep & ~np.isin(v[:, 0], radio_arr)
            counts[1] += int(m.sum())
            keep &= ~m
        if bbox is not None:
            lat, lon = v[:, 6], v[:, 5]
            inside = (lat >= bbox.south) & (lat <= bbox.north)
            if bbox.west <= bbox.east:
                inside &= (lon >= bbox.west) & (lon <= bbox.east)
            else:
                inside &= (lon >= bbox.west) | (lon <= bbox.east)
            m = keep & ~inside
            counts[2] += int(m.sum())
            keep &= ~m
        if ok.all():
            put(vr, keep)
            return
        # some lines take the careful path: each in its place (a repeated key: the later line wins)
        bad = np.flatnonzero(~ok).tolist()
        lines_ = block.split(b"\n")
        prev = 0
        for i in bad:
            if i > prev:
                sel = np.zeros(n, dtype=bool)
                sel[prev:i] = keep[prev:i]
                put(vr, sel)
            one(line_no + i, lines_[i])
            prev = i + 1
        if prev < n:
            sel = np.zeros(n, dtype=bool)
            sel[prev:] = keep[prev:]
            put(vr, sel)

    if first is not None:
        one(1, first)
        yield batch
        batch = []
    vector_block = parser.vector_block
    for line_no, n, block in reader.blocks():
        if block is None:
            report.reject(line_no, "line longer than 64 KiB", max_rejects)
            continue
        vr = vector_block(block, n) if n > 1 else None
        if vr is not None:
            vector(line_no, n, block, vr)
        elif n <= SUB_BLOCK_LINES:
            for i, raw in enumerate(block.split(b"\n")[:n]):
                one(line_no + i, raw)
        else:   # an odd line somewhere: the numpy path for the pieces without one
            ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
            for k in range(0, n, SUB_BLOCK_LINES):
                m = min(SUB_BLOCK_LINES, n - k)
                a = int(ends[k - 1]) + 1 if k else 0
                piece = block[a:int(ends[k + m - 1]) + 1] if k + m - 1 < len(ends) else block[a:]
                vr = vector_block(piece, m) if m > 1 else None
                if vr is not None:
                    vector(line_no + k, m, piece, vr)
                else:
                    for i, raw in enumerate(piece.split(b"\n")[:m]):
                        one(line_no + k + i, raw)
        yield batch
        batch = []


def _read_rows(report: ImportReport, reader: LineReader, first: bytes | None, parser: RowParser,
               writer: _Writer, *, mcc_set: frozenset[int] | None, bbox: BBox | None,
               radio_set: frozenset[str] | None, max_rejects: int, progress: ProgressFn | None,
               batch_rows: int) -> None:
    """Reads the rows (`_parse_rows`) in this process and hands them to `writer` in batches."""
    header_lines = 0 if first is not None else 1
    counts = [0, 0, 0, 0]
    next_progress = 50_000
    batch: list[tuple[Any, ...]] = []
    try:
        for rows in _parse_rows(report, reader, first, parser, counts, mcc_set=mcc_set, bbox=bbox,
                                radio_set=radio_set, max_rejects=max_rejects):
            batch.extend(rows)
            if len(batch) >= batch_rows:
                for k in range(0, len(batch), batch_rows):
                    writer.add_batch(batch[k:k + batch_rows])
                batch.clear()
                if progress is not None and reader.line_no >= next_progress:
                    next_progress = reader.line_no + 50_000
                    report.rows_read = reader.line_no - header_lines - counts[3]
                    report.elapsed_s = time.monotonic() - report._t0
                    progress(report, "read")
        for k in range(0, len(batch), batch_rows):
            writer.add_batch(batch[k:k + batch_rows])
        batch.clear()
    finally:
        report.blank_lines = counts[3]
        report.rows_read = max(0, reader.line_no - header_lines - counts[3])
        report.filtered_mcc, report.filtered_radio, report.filtered_bbox = counts[0], counts[1], counts[2]
        report.damage = reader.damage


def _use_child_reader(reader: LineReader) -> bool:
    """Whether to read (decompress and parse) in a second process: for a file big enough that
    the start of a process (~0.2 s) is won back, on a machine with a second core."""
    if CHILD_READER_MIN_BYTES is None or (os.cpu_count() or 1) < 2:
        return False
    return reader.size() >= CHILD_READER_MIN_BYTES


def _read_rows_in_child(report: ImportReport, reader: LineReader, first: bytes | None, parser: RowParser,
                        writer: _Writer, *, mcc_set: frozenset[int] | None, bbox: BBox | None,
                        radio_set: frozenset[str] | None, max_rejects: int, progress: ProgressFn | None,
                        batch_rows: int) -> None:
    """As `_read_rows`, the reading and parsing done by `registry_reader` in a child process
    (the file opened again there) while this one writes: the two overlap on two cores. The
    rows come through a pipe, pickled, in file order; the pipe's buffer bounds what is in
    flight (the child waits while this process writes). The child ignores SIGINT: an
    interrupt here ends it."""
    import pickle
    import struct
    import subprocess
    import sys
    import tempfile

    header_lines = 0 if first is not None else 1
    params = {"path": reader.path, "format": parser.fmt, "headerless_first": first is not None,
              "mccs": sorted(mcc_set) if mcc_set is not None else None,
              "bbox": bbox.as_list() if bbox is not None else None,
              "radios": sorted(radio_set) if radio_set is not None else None,
              "max_rejects": max_rejects, "batch_rows": batch_rows,
              "arrays": isinstance(writer, _SqliteStagingWriter)}
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[2])   # the directory holding this fbsdetect package
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    errfile = tempfile.TemporaryFile()   # not a pipe: a chatty child must never block on it
    proc = subprocess.Popen([sys.executable, "-m", "fbsdetect.detect.registry_reader"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errfile)
    assert proc.stdin is not None and proc.stdout is not None
    out = proc.stdout
    next_progress = 50_000
    end: dict[str, Any] | None = None
    try:
        proc.stdin.write(pickle.dumps(params, protocol=pickle.HIGHEST_PROTOCOL))
        proc.stdin.close()
        head = struct.Struct("<Q")
        while True:
            h = out.read(head.size)
            if len(h) < head.size:
                break
            (size,) = head.unpack(h)
            msg = pickle.loads(out.read(size))
            if msg[0] == "rows":
                _, line_no, blank, rejected, rows = msg
                if params["arrays"]:
                    cast("_SqliteStagingWriter", writer).add_items(rows)
                else:
                    for k in range(0, len(rows), batch_rows):
                        writer.add_batch(rows[k:k + batch_rows])
                if progress is not None and line_no >= next_progress:
                    next_progress = line_no + 50_000
                    report.rows_read = line_no - header_lines - blank
                    report.rejected = rejected
                    report.elapsed_s = time.monotonic() - report._t0
                    progress(report, "read")
            elif msg[0] == "end":
                end = msg[1]
                break
            else:
                raise RuntimeError(f"the registry reader failed: {msg[1]}")
    finally:
        if end is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        errfile.seek(0)
        err = errfile.read(65536).decode("utf-8", "replace").strip()
        errfile.close()
    if end is None:
        raise RuntimeError("the registry reader stopped before the end of the file"
                           + (f": {err.splitlines()[-1]}" if err else ""))
    report.rejected = end["rejected"]
    report.rejects = [(int(n), str(r)) for n, r in end["rejects"]]
    report.reject_reasons = Counter(end["reject_reasons"])
    report.blank_lines = end["blank"]
    report.rows_read = max(0, end["line_no"] - header_lines - end["blank"])
    report.filtered_mcc, report.filtered_radio, report.filtered_bbox = end["filtered"]
    report.damage = end["damage"]


def child_reader_main() -> int:
    """The child process of `_read_rows_in_child` (`python -m fbsdetect.detect.registry_reader`):
    parameters pickled on stdin, frames (8-byte length, pickled message) on stdout."""
    import pickle
    import signal
    import struct
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    params = pickle.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    head = struct.Struct("<Q")

    def send(msg: tuple[Any, ...]) -> None:
        data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(head.pack(len(data)))
        out.write(data)

    try:
        report = ImportReport(path=params["path"])
        reader = LineReader(params["path"])
        try:
            lines = reader.lines()
            first = next(lines, None)
            if params["headerless_first"] and first is not None and first.startswith(b"\xef\xbb\xbf"):
                first = first[3:]
            parser = RowParser(params["format"])
            bbox = BBox(*params["bbox"]) if params["bbox"] is not None else None
            mccs = frozenset(params["mccs"]) if params["mccs"] is not None else None
            radios = frozenset(params["radios"]) if params["radios"] is not None else None
            counts = [0, 0, 0, 0]
            arrays = bool(params.get("arrays"))
            batch: list[Any] = []
            n = 0
            for rows in _parse_rows(report, reader, first if params["headerless_first"] else None, parser,
                                    counts, mcc_set=mccs, bbox=bbox, radio_set=radios,
                                    max_rejects=params["max_rejects"], arrays=arrays):
                if arrays:
                    rows = [r if isinstance(r, tuple) else values_with_key(r) for r in rows]
                    n += sum(len(r) if not isinstance(r, tuple) else 1 for r in rows)
                else:
                    n += len(rows)
                batch.extend(rows)
                if n >= params["batch_rows"]:
                    send(("rows", reader.line_no, counts[3], report.rejected, batch))
                    batch = []
                    n = 0
            send(("rows", reader.line_no, counts[3], report.rejected, batch))
            send(("end", {"rejected": report.rejected, "rejects": report.rejects,
                          "reject_reasons": dict(report.reject_reasons), "blank": counts[3],
                          "line_no": reader.line_no, "filtered": counts[:3], "damage": reader.damage}))
        finally:
            reader.close()
    except BrokenPipeError:
        return 1   # the parent is gone (interrupted)
    except Exception as exc:
        send(("error", f"{type(exc).__name__}: {exc}"))
        return 1
    out.flush()
    return 0


def values_with_key(v: Any) -> Any:
    """`VectorRows.values` with the staging sort key `k` (see _SqliteStagingWriter) appended,
    computed here in floats (exact: k < 2^51 for mcc, mnc < 1024 and lac < 2^31; a bigger lac
    only lets rows of neighbouring keys interleave in the sort, while a repeated key's rows
    keep their order: the same key gives the same k, then cid, radio and seq decide)."""
    k = (v[:, 1] * 1024 + v[:, 2]) * 2147483648.0 + v[:, 3]
    return np.column_stack((v, k))


def tuple_with_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row tuple as `values_with_key` has a line parsed with numpy: the radio as its code, the
    float sort key appended (the same arithmetic, so the same key gives the same k)."""
    code = RADIOS.index(row[0]) + 1
    k = (float(row[1]) * 1024 + row[2]) * 2147483648.0 + row[3]
    return (code, *row[1:], k)


def _bad_bytes(raw: bytes) -> str:
    try:
        decode_line(raw)
    except ValueError as exc:
        return str(exc)
    return "unreadable bytes"  # pragma: no cover
