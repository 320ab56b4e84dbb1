"""`verify --db --head SEQ:HASH`: the database checked against an audit head recorded
earlier (every evidence package's manifest carries one, `audit_head`; `verify --db`
prints it).

The audit chain alone (`store.audit`) proves that no entry was edited, removed or
inserted and that every row matches its newest entry. It is not keyed: someone who
can write the database can edit a row and append an `update` entry for it, and the
chain stays valid. A head recorded before (in a package handed over, a report, a
notebook) closes that: entries up to it are fixed by its hash, so any change to a row
that existed then must show as an entry after it, and the entry says which columns
changed (each entry keeps a digest per column). What a later analysis rewrites as a
matter of course (an observation's `detection_id`; detections and findings, which are
results, not evidence) is counted, not failed; any other change to an observation (its
frames included) or a node's record after the head, or its deletion, is a problem
named row by row. The comparison is with the rows as they are now, not with what the
entries after the head claim (those may be the forger's own).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, inspect, select
from sqlalchemy.engine import Connection

from fbsdetect.errors import BadUsage
from fbsdetect.i18n import _
from fbsdetect.store.audit import AUDIT_TABLE, FRAME_TABLE, Problem, _current_digests

# what was measured, and the chain of custody; detections and findings are re-derived by analyses
EVIDENCE_TABLES = ("observation", "ingest_record", "handover")
ROUTINE_COLUMNS = {"observation": {"detection_id"}}  # set by every analysis
_HEAD = re.compile(r"^\s*(\d{1,19})\s*[:\s]\s*([0-9a-fA-F]{16,64})\s*$")
_CHUNK = 500


def parse_head(text: str) -> tuple[int, str]:
    """'SEQ:HASH' (or 'SEQ HASH', as `verify --db` prints it; at least 16 hex digits of the hash)."""
    m = _HEAD.match(text or "")
    if not m:
        raise BadUsage(_("--head {text!r}: expected SEQ:HASH, e.g. 4123:1c96f2d97eb953e0 (the head "
                         "`verify --db` prints, or audit_head in an evidence package's manifest)").format(
            text=text))
    return int(m.group(1)), m.group(2).lower()


@dataclass
class HeadReport:
    seq: int
    hash_prefix: str
    found: bool = False
    matches: bool = False
    entries_after: int = 0
    routine_updates: int = 0  # analysis bookkeeping after the head (detection_id, detections, findings)
    problems: list[Problem] = field(default_factory=list)
    n_problems: int = 0
    max_listed: int = 1000

    @property
    def ok(self) -> bool:
        return self.found and self.matches and self.n_problems == 0

    def add(self, p: Problem) -> None:
        self.n_problems += 1
        if len(self.problems) < self.max_listed:
            self.problems.append(p)

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash_prefix, "found": self.found, "matches": self.matches,
                "entries_after": self.entries_after, "routine_updates": self.routine_updates,
                "problems": self.n_problems, "ok": self.ok,
                "listed": [{"kind": p.kind, "table": p.table, "row_id": p.row_id, "detail": p.detail}
                           for p in self.problems]}


def check_head(conn: Connection, seq: int, hash_prefix: str, *, max_listed: int = 1000) -> HeadReport:
    """What changed in the evidence tables after the recorded head (seq, hash prefix)."""
    a = AUDIT_TABLE.c
    rep = HeadReport(seq, hash_prefix, max_listed=max_listed)
    h = conn.execute(select(a.hash).where(a.seq == seq)).scalar()
    rep.found = h is not None
    if h is None:
        rep.add(Problem("head", "audit_log", seq, _("the recorded head is not in this log (it holds fewer "
                                                    "entries: the log was cut back or replaced)")))
        return rep
    rep.matches = str(h).lower().startswith(hash_prefix)
    if not rep.matches:
        rep.add(Problem("head", "audit_log", seq, _("entry {seq} has hash {h}, not the recorded {r}: the log "
                                                    "up to the recorded head was rewritten").format(
            seq=seq, h=str(h)[:16], r=hash_prefix[:16])))
        return rep
    # every row that an entry after the head names, whatever the entry's action or the column
    # digests it claims: an appended entry is the forger's own, so what counts is the row as it
    # is now, compared column by column with the row's entry at or before the head
    touched: dict[str, set[int]] = {}
    for t, rid in conn.execute(select(a.table_name, a.row_id).where(a.seq > seq).order_by(a.seq)):
        rep.entries_after += 1
        touched.setdefault(str(t), set()).add(int(rid))
    insp = inspect(conn)
    names = set(insp.get_table_names())
    for table in sorted(touched):
        rows = sorted(touched[table])
        before = _at_head(conn, table, rows, seq)
        if table not in EVIDENCE_TABLES or table not in names:
            rep.routine_updates += sum(1 for r in rows if r in before)
            continue
        present = {tn: {c["name"] for c in insp.get_columns(tn)} for tn in (table, FRAME_TABLE.name)
                   if tn in names}
        ids = [r for r in rows if r in before]
        now = _current_digests(conn, table, ids, present) if ids else {}
        for rid in ids:
            was = before[rid]
            if rid not in now:
                rep.add(Problem("changed", table, rid, _("deleted after the recorded head")))
                continue
            cur = now[rid][1]
            changed = sorted(k for k in was if k in cur and cur[k] != was[k]
                             and k not in ROUTINE_COLUMNS.get(table, set()))
            if changed:
                rep.add(Problem("changed", table, rid, _("{cols} changed after the recorded head").format(
                    cols=", ".join(changed))))
            else:
                rep.routine_updates += 1
    return rep


def _at_head(conn: Connection, table: str, rows: Iterable[int], seq: int) -> dict[int, dict[str, str]]:
    """{row id: the column digests of its newest entry at or before `seq`}."""
    a = AUDIT_TABLE.c
    out: dict[int, tuple[int, dict[str, str] | None]] = {}
    ids = list(rows)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        for rid, s, action, fields in conn.execute(select(a.row_id, a.seq, a.action, a.fields).where(and_(
                a.table_name == table, a.row_id.in_(chunk), a.seq <= seq))):
            prev = out.get(int(rid))
            if prev is None or int(s) > prev[0]:  # a row deleted by then did not exist at the head
                out[int(rid)] = (int(s), None if action == "delete" else _fields(fields))
    return {k: v for k, (_s, v) in out.items() if v is not None}


def _fields(text: str | None) -> dict[str, str]:
    try:
        d = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in d.items()} if isinstance(d, dict) else {}
