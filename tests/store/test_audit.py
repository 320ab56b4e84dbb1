"""The hash-chained audit log (issue 11): every ORM write of an observation
(with its frames), detection or finding is recorded without the writer
asking; `verify --db` passes an untouched database and reports, naming table,
row and columns, a row edited/deleted/inserted with plain SQL behind
fbsdetect's back, and any edit of the log itself. Two processes writing at
once do not fork the chain."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, insert, select, text, update

from fbsdetect.cli.main import main
from fbsdetect.store import open_store
from fbsdetect.store.audit import record_rows, verify_db
from fbsdetect.store.models import AuditEntry, Detection, Finding, Observation
from tests.conftest import engine_at_revision
from tests.export.test_exports import Built, build_store


@pytest.fixture
def built(db_url: str) -> Built:
    return build_store(db_url, n=12)


def _sql(url: str, *statements: str) -> None:
    """Plain SQL through a separate engine (no fbsdetect session, no hook)."""
    from fbsdetect.store.db import normalise_url

    eng = create_engine(normalise_url(url))
    with eng.begin() as conn:
        for s in statements:
            conn.execute(text(s))
    eng.dispose()


def _report(url: str) -> list[str]:
    store = open_store(url)
    try:
        return verify_db(store).lines()
    finally:
        store.close()


def test_untouched_database_verifies(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(built.url)
    rep = verify_db(store)
    store.close()
    assert rep.ok, rep.lines()
    # 12 observations + 2 detections + 4 findings inserted, 4 observations updated (detection_id)
    assert rep.entries == 12 + 2 + 4 + 4
    assert rep.rows == {"observation": 12, "detection": 2, "finding": 4, "ingest_record": 0, "handover": 0}
    assert main(["--db", built.url, "verify", "--db"]) == 0
    assert "OK, untouched" in capsys.readouterr().out
    assert main(["--db", built.url, "verify"]) == 0
    assert "OK, untouched" in capsys.readouterr().out


def test_plain_sql_edits_are_reported_with_what_changed(built: Built,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    oid = built.fake_obs_ids[0]
    _sql(built.url,
         "UPDATE observation SET power_dbm = -20.0, lat = 1.0 WHERE id = 2",
         f"UPDATE detection SET severity = 'low' WHERE id = {built.detection_id}",
         f"UPDATE frame SET data = frame.data WHERE observation_id = {oid}",  # no change: not reported
         "UPDATE frame SET fn = fn + 1 WHERE id = (SELECT min(id) FROM frame WHERE observation_id = 2)",
         "DELETE FROM finding WHERE id = 1")
    lines = _report(built.url)
    assert "observation 2: row edited after audit entry 2: lat, power_dbm, its frames changed" in lines
    assert any(s.startswith(f"detection {built.detection_id}: row edited") and "severity changed" in s
               for s in lines)
    assert any(s.startswith("finding 1: row deleted") for s in lines)
    assert len(lines) == 3, lines
    assert main(["--db", built.url, "verify"]) == 1
    out = capsys.readouterr()
    assert "FAILED, 3 problem(s)" in out.out and "observation 2" in out.err and "Traceback" not in out.err


def test_rows_inserted_behind_the_log_and_log_edits_are_reported(built: Built) -> None:
    _sql(built.url,
         "INSERT INTO detection (severity, score, n_observations, status, updated_at) "
         "VALUES ('high', 1.0, 0, 'open', '2026-03-01 10:00:00')")
    lines = _report(built.url)
    assert len(lines) == 1 and lines[0].startswith("detection 3: row has no audit entry")
    _sql(built.url, "DELETE FROM detection WHERE id = 3",
         "UPDATE audit_log SET row_digest = '00' WHERE seq = 1")
    assert _report(built.url) == ["audit_log 1: entry edited (its content no longer matches its hash; it "
                                  "names observation 1)", "observation 1: row edited after audit entry 1: "
                                  "its digest differs though no column does (the entry was altered)"]


def test_removing_an_entry_breaks_the_chain(built: Built) -> None:
    _sql(built.url, "DELETE FROM audit_log WHERE seq = 5")
    lines = _report(built.url)
    assert lines[0] == "audit_log 6: entries 5..5 are missing from the log", lines
    assert "audit_log 6: prev_hash does not match the previous entry" in lines[1]
    assert any(s.startswith("observation 5: row has no audit entry") for s in lines)


def test_orm_bulk_statements_and_core_writers_are_audited(built: Built) -> None:
    store = open_store(built.url)
    try:
        with store.session() as s:  # ORM-enabled update()/delete(), as the detection engine uses
            s.execute(update(Observation).where(Observation.arfcn == 62).values(detection_id=None, kind="x"))
            s.execute(delete(Finding).where(Finding.observation_id == built.fake_obs_ids[0]))
        assert verify_db(store).ok, verify_db(store).lines()
        with store.engine.begin() as conn:  # Core, recorded by the writer
            r = conn.execute(insert(Detection.__table__).values(severity="low", score=0.1, n_observations=0,
                                                                status="open", updated_at=datetime.now(UTC)))
            record_rows(conn, [("detection", int(r.inserted_primary_key[0]), "insert")])
        assert verify_db(store).ok
        with store.session() as s:  # an ORM delete
            s.delete(s.get(Detection, 2))
        rep = verify_db(store)
        assert rep.ok, rep.lines()
        with store.engine.connect() as conn:
            last = conn.execute(select(AuditEntry.action).order_by(AuditEntry.seq.desc()).limit(1)).scalar()
        assert last == "delete"
    finally:
        store.close()


def test_the_detection_engine_writes_are_audited(tmp_path: Path) -> None:
    engine = pytest.importorskip("fbsdetect.detect.engine")
    from fbsdetect.scan.profile import load_profile

    b = build_store(f"sqlite:///{tmp_path / 'fbsdetect.db'}", n=12)
    store = open_store(b.url)
    try:
        engine.analyze(store, load_profile("cn"))
        engine.analyze(store, load_profile("cn"))  # re-analysis replaces findings
        rep = verify_db(store)
        assert rep.ok, rep.lines()
    finally:
        store.close()


def test_migration_seals_rows_stored_before_the_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = engine_at_revision(url, "0001")
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO detection (severity, score, n_observations, status, updated_at) "
                          "VALUES ('high', 1.0, 0, 'open', '2026-03-01 10:00:00')"))
        conn.execute(text("INSERT INTO observation (kind, arfcn, power_ref, blocks_ok, blocks_bad, time) "
                          "VALUES ('dwell', 62, 'dBm', 3, 0, '2026-03-01 10:00:00.000000')"))
    eng.dispose()
    store = open_store(url)  # migrates to head: 0002 seals the two rows
    try:
        rep = verify_db(store)
        assert rep.ok and rep.entries == 2, rep.lines()
        with store.engine.connect() as conn:
            acts = conn.execute(select(AuditEntry.action)).scalars().all()
        assert acts == ["baseline", "baseline"]
    finally:
        store.close()
    _sql(url, "UPDATE observation SET arfcn = 63")
    assert _report(url) == ["observation 1: row edited after audit entry 1: arfcn changed"]


def _writer(url: str, k: int, n: int) -> None:
    from fbsdetect.store import open_store as _open

    st = _open(url)
    for i in range(n):
        with st.session() as s:
            s.add(Detection(severity="low", score=float(k * 1000 + i), n_observations=0))
    st.close()


def test_two_processes_writing_at_once_keep_one_chain(db_url: str) -> None:
    open_store(db_url).close()  # migrate once, before the writers start
    ctx = multiprocessing.get_context("fork")  # each child opens its own engine
    procs = [ctx.Process(target=_writer, args=(db_url, k, 25)) for k in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    store = open_store(db_url)
    try:
        rep = verify_db(store)
        assert rep.ok, rep.lines()
        assert rep.entries == 50 and rep.rows["detection"] == 50
    finally:
        store.close()


def test_verify_db_without_a_database_argument_uses_the_environment(
        built: Built, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FBSDETECT_DB", built.url)
    assert main(["verify", "--db"]) == 0
    assert main(["verify", "--db", built.url, "--json"]) == 0
    assert '"ok": true' in capsys.readouterr().out
    assert main(["verify"]) == 2  # neither a package nor --db: bad usage


def test_verify_db_never_migrates_nor_seals_what_it_checks(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    # a database from before the audit log has nothing to verify: `verify --db` used to migrate it,
    # the migration sealed its rows as they were, and verify then called them "OK, untouched"
    from alembic import command

    from fbsdetect.store.db import _alembic_config, current_revision, make_engine

    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = make_engine(url)
    command.upgrade(_alembic_config(eng), "0001")
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO observation (kind, arfcn, power_ref, blocks_ok, blocks_bad, time) "
                          "VALUES ('dwell', 62, 'dBm', 3, 0, '2026-03-01 10:00:00.000000')"))
    assert main(["verify", "--db", url]) == 1
    err = capsys.readouterr().err
    assert "no audit log" in err and len(err.strip().splitlines()) == 1
    assert current_revision(eng) == "0001"  # untouched by the check
    # a database with a log but an older schema is checked as it is, not upgraded first
    command.upgrade(_alembic_config(eng), "0002")
    assert main(["verify", "--db", url]) == 0
    assert current_revision(eng) == "0002"
    eng.dispose()


def test_verify_db_of_a_missing_sqlite_file_is_bad_input_and_creates_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "typo.db"
    assert main(["verify", "--db", f"sqlite:///{db}"]) == 2
    err = capsys.readouterr().err
    assert "no such database file" in err and str(db) in err and not db.exists()
