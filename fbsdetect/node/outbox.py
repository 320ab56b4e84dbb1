"""The node's outbox: a table (`node_outbox`) in the node's own SQLite, beside the
scan's observations. Every record the node will send -- observation, detection,
health -- gets the next per-node sequence number (`seq`, SQLite AUTOINCREMENT: never
reused, also after pruning) when it is committed; the uplink sends the oldest unsent
first and marks what the server (HTTPS) or the broker (MQTT PUBACK) acknowledged.

Disk policy (`enforce`, every 30 s): when the outbox file passes `max_mb` or the disk's
free space falls under `min_free_mb`, space is made in this order, stopping as soon
as it suffices: (1) raw IQ recordings in `iq_dir`, oldest first; (2) sent records,
oldest first (normally kept `keep_sent_s`, then pruned anyway); (3) unsent health
heartbeats, oldest first (the newest is kept). Unsent observations and detections are
never dropped: if they alone fill the disk the node keeps them, logs it once, and
reports `outbox_full` in its heartbeats.

A new outbox (a fresh install, a re-flashed SD card, a deleted database) does not number
from 1: its first seq is (seconds since 2020-01-01 UTC when it was made) x 2^32 (`SEQ_EPOCH`),
so a node whose outbox starts again numbers above everything its earlier outbox sent, and the
server -- which stores each (node, seq) once and acknowledges a repeat as a duplicate -- does
not drop its new records as repeats of old ones. (Up to 2^32 records an outbox; seqs stay under
the contract's 2^62 until 2054; it needs the node's clock set, which the firmware's time-sync
requirement gives.) An outbox that already holds or held records keeps counting where it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from fbsdetect.store.models import NodeOutbox

log = logging.getLogger(__name__)


SEQ_EPOCH_ORIGIN = datetime(2020, 1, 1, tzinfo=UTC)
SEQ_EPOCH_SHIFT = 32


def seq_epoch(made: datetime) -> int:
    """The seq after which an outbox made at `made` numbers its records (module docstring)."""
    return max(0, int((made - SEQ_EPOCH_ORIGIN).total_seconds())) << SEQ_EPOCH_SHIFT


@dataclass(frozen=True)
class OutRecord:
    seq: int
    kind: str
    payload: dict[str, Any]


class Outbox:
    def __init__(self, store: Any, node: str, *, max_mb: float = 1024.0, min_free_mb: float = 200.0,
                 keep_sent_s: float = 86400.0, iq_dir: str | None = None) -> None:
        self.store = store
        self.node = node
        self.max_mb = max_mb
        self.min_free_mb = min_free_mb
        self.keep_sent_s = keep_sent_s
        self.iq_dir = Path(iq_dir) if iq_dir else None
        self.full = False
        self.pruned = {"iq_files": 0, "sent": 0, "health": 0}
        self.added = 0
        self._lock = threading.Lock()
        self.changed = threading.Event()
        self._seed_seq()

    def _seed_seq(self) -> None:
        """Starts a new outbox's numbering at its epoch (module docstring); SQLite only."""
        eng = self.store.engine
        if eng.dialect.name != "sqlite":
            return
        with eng.begin() as conn:
            numbered = conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_sequence WHERE name = 'node_outbox'").scalar_one()
            if numbered or conn.execute(select(func.count(NodeOutbox.seq))).scalar_one():
                return  # it has numbered records before: go on from there
            conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES ('node_outbox', ?)",
                                 (seq_epoch(datetime.now(UTC)),))

    @property
    def path(self) -> Path | None:
        db = self.store.engine.url.database
        return Path(db) if db and db != ":memory:" else None

    @staticmethod
    def record(kind: str, payload: dict[str, Any]) -> NodeOutbox:
        """An outbox row not yet stored, for a writer that commits it with what it sends
        (`OutboxSink`: with its observation, which sets `observation_id`)."""
        return NodeOutbox(kind=kind, payload=payload, size=0, created_at=datetime.now(UTC))

    def add(self, kind: str, payload: dict[str, Any], *, observation_id: int | None = None) -> int:
        """Commits a record; returns its seq."""
        with self.store.engine.begin() as conn:
            r = conn.execute(insert(NodeOutbox).values(kind=kind, payload=payload, size=0,
                                                       created_at=datetime.now(UTC),
                                                       observation_id=observation_id))
            seq = int(r.inserted_primary_key[0])
        self.added += 1
        self.changed.set()
        return seq

    def pending(self, limit: int = 200, after: int = 0) -> list[OutRecord]:
        q = (select(NodeOutbox.seq, NodeOutbox.kind, NodeOutbox.payload)
             .where(NodeOutbox.sent_at.is_(None), NodeOutbox.seq > after)
             .order_by(NodeOutbox.seq).limit(limit))
        with self.store.engine.connect() as conn:
            return [OutRecord(int(s), k, p) for s, k, p in conn.execute(q)]

    def mark_sent(self, seqs: list[int]) -> None:
        if not seqs:
            return
        now = datetime.now(UTC)
        with self.store.engine.begin() as conn:
            for i in range(0, len(seqs), 500):
                conn.execute(update(NodeOutbox).where(NodeOutbox.seq.in_(seqs[i:i + 500]),
                                                      NodeOutbox.sent_at.is_(None)).values(sent_at=now))

    def depth(self) -> int:
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(NodeOutbox.sent_at.is_(None))).scalar_one())

    def counts(self) -> dict[str, int]:
        with self.store.engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(NodeOutbox)).scalar_one())
            last = conn.execute(select(func.max(NodeOutbox.seq))).scalar_one()
        return {"records": total, "unsent": self.depth(), "last_seq": int(last or 0)}

    # -- disk policy -------------------------------------------------------------------------
    def _pressure(self) -> bool:
        p = self.path
        if p is None:
            return False
        size_mb = sum(f.stat().st_size for f in p.parent.glob(p.name + "*") if f.is_file()) / 1e6
        free_mb = shutil.disk_usage(p.parent).free / 1e6
        return size_mb > self.max_mb or free_mb < self.min_free_mb

    def enforce(self) -> dict[str, int]:
        """Applies the retention and disk policy (module docstring); returns what it pruned."""
        with self._lock:
            cutoff = datetime.now(UTC) - timedelta(seconds=self.keep_sent_s)
            with self.store.engine.begin() as conn:
                n = conn.execute(delete(NodeOutbox).where(NodeOutbox.sent_at.is_not(None),
                                                          NodeOutbox.sent_at < cutoff)).rowcount
                self.pruned["sent"] += n or 0
            if not self._pressure():
                self.full = False
                return dict(self.pruned)
            if self.iq_dir is not None and self.iq_dir.is_dir():  # (1) raw IQ, oldest first
                files = sorted((f for f in self.iq_dir.rglob("*") if f.is_file()),
                               key=lambda f: f.stat().st_mtime)
                for f in files:
                    if not self._pressure():
                        break
                    try:
                        os.unlink(f)
                        self.pruned["iq_files"] += 1
                    except OSError:
                        pass
            if self._pressure():  # (2) sent records, all of them
                with self.store.engine.begin() as conn:
                    self.pruned["sent"] += conn.execute(
                        delete(NodeOutbox).where(NodeOutbox.sent_at.is_not(None))).rowcount or 0
            if self._pressure():  # (3) unsent heartbeats but the newest
                with self.store.engine.begin() as conn:
                    newest = conn.execute(select(func.max(NodeOutbox.seq)).where(
                        NodeOutbox.kind == "health")).scalar_one()
                    if newest is not None:
                        self.pruned["health"] += conn.execute(delete(NodeOutbox).where(
                            NodeOutbox.kind == "health", NodeOutbox.seq < newest)).rowcount or 0
            full = self._pressure()
            if full and not self.full:
                log.error("outbox: disk full with unsent observations/detections only; they are kept "
                          "(never dropped): free space or fix the uplink")
            self.full = full
            return dict(self.pruned)
