"""The ingest writer's bulk path (PostgreSQL: COPY, `audit.record_inserted`) against the
per-row one: the same audit entries as `record_rows` would write, `verify --db` passes,
an edit behind fbsdetect's back is still found, and two writers racing on the same
records store each once."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from fbsdetect.cli.main import main
from fbsdetect.server.auth import lookup, register_node
from fbsdetect.server.ingest import Ingestor, RecordError, check_record
from fbsdetect.store import open_store
from fbsdetect.store.audit import _current_digests, _dumps, verify_db
from fbsdetect.store.models import AuditEntry, FleetNode
from tests.conftest import engine_at_revision
from tests.fleet.support import server_counts


def tricky(node: str, seq: int) -> dict[str, Any]:
    """Values whose canonical text is easy to get wrong: long floats, -0.0, ints for floats,
    times with offsets and microseconds, missing fields, non-ASCII text and JSON."""
    data: dict[str, Any] = {
        "arfcn": seq % 1024, "band": "P-GSM900" if seq % 3 else "频段-900", "freq_hz": 935.2e6 + seq * 0.1,
        "bsic": seq % 64, "mcc": 460, "mnc": seq % 3, "lac": 9000 + seq, "cid": 2**28 - seq,
        "power_dbm": -70.123456789012345 - seq / 7, "snr_db": -0.0 if seq % 2 else 18,
        "time": f"2026-12-01T1{seq % 10}:00:00.{seq:06d}+08:00", "lat": 31.2 + seq * 1e-9, "lon": 121.4,
        "gps_mode": 3, "si": {"3": "49061b" + "2b" * 20, "13": "00" * 23},
        "params": {"ta": seq, "名": "值", "nested": {"x": [1, 2.5, None, True]}}}
    if seq % 4 == 0:
        for k in ("freq_hz", "snr_db", "time", "lat", "lon", "si", "params"):
            data.pop(k)
    return {"node": node, "seq": seq, "kind": "observation", "data": data}


def _records(node: str, seqs: range) -> list[tuple[int, str, dict[str, Any]]]:
    out = []
    for s in seqs:
        _n, q, k, d = check_record(tricky(node, s))
        out.append((q, k, d))
    return out


def test_bulk_entries_equal_the_per_row_ones_and_verify(db_url: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(db_url)
    ing = Ingestor(store)
    whos = [w for i in range(3) if (w := lookup(store, register_node(store, f"n{i}")["token"])) is not None]
    health = (900, "health", {"dongle_present": True, "outbox_depth": 3})
    items = [ing.prepare(w, [*_records(w.name, range(1, 41)), health], via="http")
             for w in whos]
    res = ing.ingest_many(items)
    assert [r.stored for r in res] == [41, 41, 41]
    with store.engine.connect() as conn:
        a = AuditEntry
        entries = conn.execute(select(a.row_id, a.row_digest, a.fields, a.action)
                               .where(a.table_name == "observation")).all()
        assert len(entries) == 120 and {e.action for e in entries} == {"insert"}
        again = _current_digests(conn, "observation", [int(e.row_id) for e in entries])  # record_rows' way
        for e in entries:
            digest, fields = again[int(e.row_id)]
            assert (e.row_digest, e.fields) == (digest, _dumps(fields)), e.row_id
        nodes: dict[str, Any] = {str(n): h for n, h in conn.execute(select(FleetNode.name, FleetNode.health))}
        assert all(nodes[w.name] == health[2] for w in whos)
    rep = verify_db(store)
    assert rep.ok, rep.lines()
    assert rep.rows["observation"] == 120
    assert main(["--db", db_url, "verify", "--db"]) == 0
    assert "OK, untouched" in capsys.readouterr().out
    # a second group after the first: the chain goes on; a resend changes nothing
    res = ing.ingest_many([ing.prepare(whos[0], _records("n0", range(30, 61)), via="mqtt")])
    assert (res[0].stored, res[0].duplicates) == (20, 11)
    assert verify_db(store).ok
    # an edit behind fbsdetect's back is found
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE observation SET power_dbm = -40 "
                          "WHERE id = (SELECT min(id) FROM observation)"))
    lines = verify_db(store).lines()
    assert len(lines) == 1 and "power_dbm changed" in lines[0]
    store.close()


def test_two_writers_racing_store_each_record_once(pg_url: str) -> None:
    """Two Ingestors (two server processes, or the HTTP writer and the MQTT worker) get the
    same batches at once: the loser's COPY hits the unique key, rolls back and redoes."""
    stores = [open_store(pg_url), open_store(pg_url)]
    who = lookup(stores[0], register_node(stores[0], "n1")["token"])
    assert who is not None
    ings = [Ingestor(s) for s in stores]
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def go(ing: Ingestor) -> None:
        for a in range(1, 400, 50):
            barrier.wait()
            results.append(ing.ingest(who, _records("n1", range(a, a + 50)), via="http"))

    ts = [threading.Thread(target=go, args=(i,)) for i in ings]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert sum(r.stored for r in results) == 400 and sum(r.duplicates for r in results) == 400
    per, n_obs = server_counts(stores[0], "n1")
    assert sorted(per) == list(range(1, 401)) and set(per.values()) == {1} and n_obs == 400
    assert verify_db(stores[0]).ok
    # deterministic: another transaction inserts (n1, 405) after this writer's check and
    # commits while its COPY waits on the unique key
    from fbsdetect.store import audit

    other = stores[1].engine.connect()  # another server process: its record, audited, not committed yet
    other.begin()
    rid = other.execute(text("INSERT INTO ingest_record (node, seq, kind, via, received_at, data) "
                             "VALUES ('n1', 405, 'health', 'http', now(), '{}') RETURNING id")).scalar_one()
    audit.record_rows(other, [("ingest_record", int(rid), "insert")])
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(ings[0].ingest(who, _records("n1", range(401, 411)),
                                                                  via="http")))
    t.start()
    t.join(1.0)
    assert t.is_alive()  # waiting on the other transaction's key
    other.commit()
    other.close()
    t.join(30)
    assert (out[0].stored, out[0].duplicates) == (9, 1) and ings[0].counts["write_races"] >= 1
    per, n_obs = server_counts(stores[0], "n1")
    assert set(per.values()) == {1} and n_obs == 409
    assert verify_db(stores[0]).ok
    for s in stores:
        s.close()


def test_nul_in_a_text_field_is_refused_not_retried_forever() -> None:
    """PostgreSQL cannot store U+0000 in a text column: refused as a bad record (4xx / a
    counted MQTT rejection) instead of failing every transaction it lands in."""
    from fbsdetect.server.ingest import observation_values

    with pytest.raises(RecordError, match="band"):
        observation_values({"band": "P-GSM\x00900"})
    with pytest.raises(RecordError, match="kind"):
        observation_values({"kind": "\x00"})
    observation_values(json.loads(json.dumps(tricky("n", 5)["data"])))


def test_records_no_database_takes_are_refused_up_front() -> None:
    """A lone surrogate, a time that overflows on conversion, an int4-overflowing count: each a
    RecordError (4xx / a counted rejection), never a failed group."""
    from fbsdetect.server.ingest import prepare_check

    base = tricky("n", 5)
    for data, where in (({**base["data"], "band": "\ud800"}, "Unicode"),
                        ({**base["data"], "params": {"x": "\udc00"}}, "Unicode"),
                        ({**base["data"], "time": "0001-01-01T00:00:00+14:00"}, "time"),
                        ({**base["data"], "blocks_ok": 2**31}, "blocks_ok")):
        with pytest.raises(RecordError, match=where):
            prepare_check({**base, "data": data})
    with pytest.raises(RecordError, match="Unicode"):
        check_record({"node": "n", "seq": 1, "kind": "detection", "data": {"rules": [{"id": "x\ud800"}]}})


def test_a_group_the_database_refuses_for_one_item_stores_the_others(db_url: str) -> None:
    """Defence in depth: an item that passed the checks but that the database refuses fails
    alone; the other nodes' items of its group are stored."""
    import queue

    from fbsdetect.server.ingest import refused_by_db

    store = open_store(db_url)
    whos = [w for i in range(2) if (w := lookup(store, register_node(store, f"n{i}")["token"])) is not None]
    ing = Ingestor(store)
    good = ing.prepare(whos[0], _records("n0", range(1, 11)), via="http")
    bad = ing.prepare(whos[1], _records("n1", range(1, 3)), via="http")
    bad.obs_vals[1]["blocks_ok"] = 2**70  # past every integer column (as if a check were missing)
    ing._q = queue.Queue()  # both in one group
    ing._max_rows = 5000
    events = [threading.Event(), threading.Event()]
    for it, ev in zip((good, bad), events, strict=True):
        it.done = ev
        ing._q.put(it)
    threading.Thread(target=ing._writer, daemon=True).start()
    assert all(ev.wait(60) for ev in events)
    assert good.error is None and good.result is not None and good.result.stored == 10
    assert bad.error is not None and refused_by_db(bad.error), bad.error
    assert server_counts(store, "n0")[0] == dict.fromkeys(range(1, 11), 1)
    assert server_counts(store, "n1")[0] == {}
    assert verify_db(store).ok
    store.close()


def test_the_bulk_entry_hashes_are_entry_hash_s() -> None:
    """`audit._entry_hashes` lays the entry's canonical JSON out by hand: the same hashes as
    `entry_hash` (what verify recomputes), also for gone rows, odd table names and escapes."""
    from datetime import UTC, datetime

    from fbsdetect.store.audit import GENESIS, _entry_hashes, entry_hash

    now = datetime(2026, 12, 2, 3, 4, 5, 678901, tzinfo=UTC)
    rows = [(1, "ab" * 32, '{"a":"0123456789ab","b":"x\\"y"}'), (2, None, None), (2**40, "cd" * 32, "{}"),
            (7, "ef" * 32, '{"名":"\\u0000\\n"}')]
    for table in ("observation", "ingest_record", 'we"ird\\名'):
        out = _entry_hashes(GENESIS, 41, now, table, rows)
        prev = GENESIS
        for (row_id, digest, fields), e in zip(rows, out, strict=True):
            action = "insert" if digest is not None else "delete"
            assert (e["seq"], e["action"], e["prev_hash"]) == (e["seq"], action, prev)
            assert e["hash"] == entry_hash(prev, e["seq"], now, table, row_id, action, digest, fields)
            prev = e["hash"]
        assert [e["seq"] for e in out] == [42, 43, 44, 45]


def test_detection_and_health_records_are_in_the_chain(db_url: str) -> None:
    """A node's detection and health records are audited as their `ingest_record` rows (on both
    writer paths); an edit of one behind fbsdetect's back is found; observation records stay
    audited through their observation rows only."""
    store = open_store(db_url)
    ing = Ingestor(store)
    who = lookup(store, register_node(store, "n1")["token"])
    assert who is not None
    det = {"id": 4, "severity": "high", "score": 0.9, "cell": {"cid": 7}, "rules": [{"id": "x"}],
           "text": "短信 \u2028 \"q\""}
    recs = [*_records("n1", range(1, 6)), (50, "detection", det), (51, "health", {"outbox_depth": 2})]
    assert ing.ingest_many([ing.prepare(who, recs, via="http")])[0].stored == 7
    rep = verify_db(store)
    assert rep.ok, rep.lines()
    assert rep.rows["ingest_record"] == 2 and rep.rows["observation"] == 5
    with store.engine.connect() as conn:
        a = AuditEntry
        entries = conn.execute(select(a.row_id, a.row_digest, a.fields).where(a.table_name == "ingest_record")
                               ).all()
        again = _current_digests(conn, "ingest_record", [int(e.row_id) for e in entries])
        for e in entries:
            assert (e.row_digest, e.fields) == (again[int(e.row_id)][0], _dumps(again[int(e.row_id)][1]))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE ingest_record SET data = '{\"id\": 4, \"severity\": \"low\"}' "
                          "WHERE kind = 'detection'"))
    lines = verify_db(store).lines()
    assert len(lines) == 1 and "ingest_record" in lines[0] and "data changed" in lines[0], lines
    with store.engine.begin() as conn:  # hidden as an observation record: the entry's row is missing
        conn.execute(text("UPDATE ingest_record SET kind = 'observation' WHERE kind = 'detection'"))
    lines = verify_db(store).lines()
    assert len(lines) == 1 and "deleted" in lines[0], lines
    store.close()


def test_the_migration_seals_the_records_stored_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = engine_at_revision(url, "0006")
    with eng.begin() as conn:
        for seq, kind in ((1, "detection"), (2, "health"), (3, "observation")):
            conn.execute(text("INSERT INTO ingest_record (node, seq, kind, via, received_at, data) VALUES "
                              f"('n1', {seq}, '{kind}', 'http', '2026-12-01 10:00:00', '{{\"a\": 1}}')"))
    eng.dispose()
    store = open_store(url)  # to head: 0007 seals the two records the log covers
    rep = verify_db(store)
    assert rep.ok and rep.rows["ingest_record"] == 2 and rep.entries == 2, rep.lines()
    store.close()


def test_a_database_outage_is_an_outage_on_the_driver_level_statements(pg_url: str) -> None:
    """The writer's fixed statements go through the driver (`audit.raw_execute`): a connection
    cut under them is still the SQLAlchemy OperationalError the writer and the HTTP handler take
    for an outage (503, retried), and the records go in once the database is back."""
    from sqlalchemy.engine import make_url

    from fbsdetect.server.ingest import _is_outage
    from tests.support.proxy import TcpProxy

    u = make_url(pg_url)
    proxy = TcpProxy(u.port or 5432)
    store = open_store(u.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    try:
        ing = Ingestor(store)
        who = lookup(store, register_node(store, "n1")["token"])
        assert who is not None
        assert ing.ingest(who, _records("n1", range(1, 4)), via="http").stored == 3
        proxy.cut()
        with pytest.raises(Exception) as err:
            ing.ingest(who, _records("n1", range(4, 8)), via="http")
        assert _is_outage(err.value), repr(err.value)
        proxy.restore()
        res = ing.ingest(who, _records("n1", range(4, 8)), via="http")
        assert (res.stored, res.duplicates) == (4, 0)
        assert verify_db(store).ok
    finally:
        store.close()
        proxy.close()
