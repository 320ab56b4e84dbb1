"""The store on SQLite and PostgreSQL: migrations, UTC times, the scan sink's
write policy (everything handed over is committed; records wait in memory
while the database is down and go in, in order, when it is back)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from fbsdetect.cli.main import main
from fbsdetect.errors import BadUsage, NotAvailable
from fbsdetect.store import open_store
from fbsdetect.store.db import current_revision, head_revision
from fbsdetect.store.models import FrameRow, GpsFixRow, Observation, ScanRun, Sensor, Tuning
from fbsdetect.store.sink import StoreSink
from fbsdetect.types import CellObservation, GpsFix, L2Frame

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@dataclass
class _Run:
    source: str = "sim:x.toml"
    profile: str = "cn"
    sensor: str = "laptop-1"
    start_time: datetime = T0
    software_version: str = "test"
    learn: bool = False
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Tuning:
    radio_s: float = 0.5
    time: datetime = T0
    center_freq_hz: float = 947e6
    sample_rate_hz: float = 2.4e6
    gain_db: float | None = 30.0
    dwell_s: float = 1.9
    kind: str = "decode"
    arfcns: list[int] = field(default_factory=lambda: [60, 62])
    outcome: dict[str, int] = field(default_factory=lambda: {"decoded": 2, "no_energy": 5})
    spectrum_start_hz: float = 945.8e6
    spectrum_step_hz: float = 10e3
    spectrum_db: Any = field(default_factory=lambda: np.linspace(-80, -20, 240, dtype=np.float32))
    noise_floor_db: float = -75.0
    clipped: bool = False


def _obs(i: int = 0) -> CellObservation:
    return CellObservation(arfcn=62, band="E-GSM900", freq_hz=947.4e6, bsic=35, mcc=460, mnc=0, lac=10290,
                           cid=41021 + i, power_dbm=-61.2, snr_db=24.1, freq_offset_hz=312.0,
                           blocks_ok=37, blocks_bad=1, si={"3": "49" * 23}, params={"t3212": 20},
                           time="2026-03-01T10:00:01.250Z", lat=36.6, lon=101.7, gps_mode=3,
                           gps_error_m=2.5, sensor="laptop-1")


def _frames() -> list[L2Frame]:
    return [L2Frame(arfcn=62, fn=1000 + 51 * k, ts=0, channel="BCCH", data=bytes(range(23)), time_s=1.0 + k,
                    power_dbm=-61.0, snr_db=20.0) for k in range(3)]


def test_migrates_to_head_and_keeps_utc(db_url: str) -> None:
    store = open_store(db_url)
    assert current_revision(store.engine) == head_revision()
    sink = StoreSink(store, sensor="laptop-1")
    sink.run_started(_Run())
    tid = sink.tuning(_Tuning())
    oid = sink.observation(_obs(), radio_s=1.2, tuning_id=tid, kind="dwell", frames=_frames())
    sink.fix(GpsFix(T0 + timedelta(seconds=1), 36.6, 101.7, 3, 2.5, source="scene"))
    sink.run_ended({"sweeps": 1})
    assert tid > 0 and oid > 0
    with store.session() as s:
        o = s.get(Observation, oid)
        assert o is not None and o.tuning_id == tid
        assert o.time == datetime(2026, 3, 1, 10, 0, 1, 250000, tzinfo=UTC)
        cell = o.to_cell()
        assert cell.to_json() == _obs().to_json()
        frames = s.scalars(select(FrameRow).where(FrameRow.observation_id == oid)).all()
        assert [f.fn for f in frames] == [1000, 1051, 1102] and frames[0].data == bytes(range(23))
        assert frames[1].time == T0 + timedelta(seconds=2)
        t = s.get(Tuning, tid)
        assert t is not None and np.frombuffer(t.spectrum or b"", "<f4").size == 240
        run = s.scalars(select(ScanRun)).one()
        assert run.summary == {"sweeps": 1} and run.ended_at is not None
        assert s.scalar(select(func.count()).select_from(GpsFixRow)) == 1
    # opening again is a no-op migration, and the sensor is reused
    store.close()
    store = open_store(db_url)
    sink = StoreSink(store, sensor="laptop-1")
    sink.run_started(_Run())
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Sensor)) == 1
    store.close()


def test_sqlite_is_wal(tmp_path: Any) -> None:
    path = tmp_path / "x.db"
    open_store(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_records_wait_while_the_database_is_down(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    sink = StoreSink(store, sensor="n1")
    sink.run_started(_Run())
    real = store.session
    down = {"on": True}

    def failing() -> Any:
        if down["on"]:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return real()

    monkeypatch.setattr(store, "session", failing)
    tid = sink.tuning(_Tuning())
    ids = [sink.observation(_obs(i), radio_s=2.0 + i, tuning_id=tid, frames=_frames()) for i in range(5)]
    assert tid < 0 and all(i < 0 for i in ids) and sink.pending == 6 and sink.db_errors >= 6
    down["on"] = False
    oid = sink.observation(_obs(9), radio_s=9.0, tuning_id=tid)
    assert oid > 0 and sink.pending == 0
    with real() as s:
        rows = s.scalars(select(Observation).order_by(Observation.id)).all()
        assert [r.cid for r in rows] == [41021 + i for i in (0, 1, 2, 3, 4, 9)]  # in order, none lost
        tuning_id = s.scalars(select(Tuning.id)).one()
        assert {r.tuning_id for r in rows} == {tuning_id}
        assert s.scalar(select(func.count()).select_from(FrameRow)) == 15


def test_bad_urls(tmp_path: Any) -> None:
    with pytest.raises(BadUsage):
        open_store("nonsense://x")
    with pytest.raises(BadUsage):
        open_store(f"sqlite:///{tmp_path}/no/such/dir/x.db")
    with pytest.raises(NotAvailable):
        open_store("postgresql://postgres@127.0.0.1:1/x")


def test_db_upgrade_cli(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    assert "-> " + head_revision() in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", url]) == 0
    assert "already at" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", "postgresql://postgres@127.0.0.1:1/x"]) == 1
    assert "not reachable" in capsys.readouterr().err


def test_foreign_tables_are_refused(tmp_path: Any) -> None:
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(BadUsage):
        open_store(f"sqlite:///{path}")


def test_migrations_match_the_models(db_url: str) -> None:
    """A model changed without its migration (or the reverse) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from fbsdetect.store.models import Base

    store = open_store(db_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    store.close()
    assert diff == []


@pytest.mark.parametrize("url", ["postgresql+pg8000nope://u:s3cr3t@127.0.0.1/x", "mysql://u:s3cr3t@h/x",
                                 "postgresql+asyncpg://u:s3cr3t@127.0.0.1/x",
                                 "postgresql://u:s3cr3t@127.0.0.1:port/x"])
def test_bad_url_messages_hide_the_password(url: str) -> None:
    # the one line goes to stderr, logs and the journal: never the database password
    with pytest.raises(BadUsage) as exc:
        open_store(url)
    assert "s3cr3t" not in str(exc.value) and "***" in str(exc.value)


def test_numpy_values_from_the_dsp_are_stored_as_plain_numbers(tmp_path: Any) -> None:
    # sqlite3 binds an np.int64 as an 8-byte blob (which then cannot be read back as an integer), and
    # JSON cannot hold numpy scalars: either made the record unwritable, and as it stayed first in
    # line, every record after it too
    import dataclasses

    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    sink = StoreSink(store, sensor="n1")
    sink.run_started(_Run())
    odd = dataclasses.replace(_obs(0), arfcn=np.int64(62), bsic=np.int32(35), cid=np.int64(41021),
                              power_dbm=np.float32(-61.5), blocks_ok=np.int64(37),
                              params={"t3212": np.int64(20), "neighbours": np.array([60, 66])})
    assert sink.observation(odd, radio_s=1.0) > 0
    assert sink.observation(_obs(1), radio_s=2.0) > 0 and sink.pending == 0
    with store.session() as s:
        rows = s.scalars(select(Observation).order_by(Observation.id)).all()
        assert [r.cid for r in rows] == [41021, 41022]
        assert type(rows[0].arfcn) is int and rows[0].params == {"t3212": 20, "neighbours": [60, 66]}
        assert rows[0].power_dbm == pytest.approx(-61.5)
    store.close()


def test_0010_reorders_the_registry_key_and_keeps_every_row(db_url: str) -> None:
    """0010 turns the registry key (source_id, radio, mcc, mnc, lac, cid) into a unique index
    ordered CGI first and drops the CGI index it makes redundant: stored rows keep their ids,
    the key still refuses a second row, and the downgrade gives the old schema back."""
    from alembic import command
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import IntegrityError

    from fbsdetect.store.db import _alembic_config
    from tests.conftest import engine_at_revision

    eng = engine_at_revision(db_url, "0009")
    cell = ("INSERT INTO registry_cell (id, source_id, radio, mcc, mnc, lac, cid, lat, lon) "
            "VALUES (:id, :s, :r, 460, 0, :lac, 1234, 30.5, 114.3)")
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO registry_source (id, name, kind, imported_at, rows_read, "
                          "rows_imported, rows_updated, rows_rejected) VALUES "
                          "(1, 'a', 'opencellid', '2026-12-01 10:00:00', 0, 0, 0, 0), "
                          "(2, 'b', 'licensed', '2026-12-01 10:00:00', 0, 0, 0, 0)"))
        for i, (s, r, lac) in enumerate([(1, "GSM", 10), (2, "GSM", 10), (1, "LTE", 10), (1, "GSM", 11)]):
            conn.execute(text(cell), {"id": 100 + i, "s": s, "r": r, "lac": lac})

    def indexes() -> dict[str, tuple[list[str], bool]]:
        insp = inspect(eng)
        out = {ix["name"]: (list(ix["column_names"]), bool(ix["unique"]))
               for ix in insp.get_indexes("registry_cell")}
        out.update({f"constraint {u['name']}": (list(u["column_names"]), True)
                    for u in insp.get_unique_constraints("registry_cell")})
        return out

    try:
        command.upgrade(_alembic_config(eng), "0010")
        ix = indexes()
        assert ix["uq_registry_cell"] == (["mcc", "mnc", "lac", "cid", "radio", "source_id"], True), ix
        assert "ix_registry_cell_cgi" not in ix and not any(k.startswith("constraint") for k in ix), ix
        with eng.connect() as conn:
            rows = conn.execute(text("SELECT id, source_id, radio, lac FROM registry_cell ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(100, 1, "GSM", 10), (101, 2, "GSM", 10), (102, 1, "LTE", 10),
                                            (103, 1, "GSM", 11)]
        with pytest.raises(IntegrityError), eng.begin() as conn:
            conn.execute(text(cell), {"id": 200, "s": 1, "r": "GSM", "lac": 10})
        command.downgrade(_alembic_config(eng), "0009")
        ix = indexes()
        assert ix["ix_registry_cell_cgi"] == (["mcc", "mnc", "lac", "cid"], False), ix
        assert ix["constraint uq_registry_cell"] == (["source_id", "radio", "mcc", "mnc", "lac", "cid"],
                                                     True), ix
        with eng.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM registry_cell")).scalar_one() == 4
    finally:
        eng.dispose()
