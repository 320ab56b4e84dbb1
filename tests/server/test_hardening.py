"""Review items of session 4 on the server: a node's detection record of the wrong shape is
refused at ingest and, already stored, never makes the detections listing or the dashboard
fail; evidence packages and dashboard maps leave nothing in $TMPDIR; the server's MQTT ingest
account cannot be registered as a node."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from fbsdetect.errors import BadUsage
from fbsdetect.server.app import create_app
from fbsdetect.server.auth import INGEST_USER, add_user, register_node, write_mosquitto_files
from fbsdetect.store import open_store
from fbsdetect.store.models import IngestRecord


def det(seq: int, **data: Any) -> dict[str, Any]:
    return {"node": "n1", "seq": seq, "kind": "detection", "data": data}


GOOD = {"id": 1, "severity": "high", "score": 0.9, "cell": {"mcc": 460, "mnc": 0, "lac": 1, "cid": 2,
                                                             "arfcn": 20, "bsic": 7},
        "rules": [{"id": "lac-single-cell", "score": 0.5}], "first_seen": "2026-12-01T10:00:00Z",
        "last_seen": "2026-12-01T10:05:00Z", "sms": [], "sensors": ["n1"]}


@pytest.fixture
def env(tmp_path: Path) -> Any:
    store = open_store(f"sqlite:///{tmp_path / 'srv.db'}")
    c = TestClient(create_app(store, map_refresh_s=0))
    h = {"n1": {"Authorization": f"Bearer {register_node(store, 'n1')['token']}"},
         "inv": {"Authorization": f"Bearer {add_user(store, 'ivy', 'investigator')}"}}
    yield c, store, h
    store.close()


@pytest.mark.parametrize("bad", [{"id": [1]}, {"id": True}, {"cell": {"arfcn": [1]}}, {"cell": [1]},
                                 {"rules": 5}, {"rules": [{"id": [1]}]}, {"rules": ["x"]},
                                 {"score": "high"}, {"severity": ["high"]}, {"first_seen": 5},
                                 {"sms": "text"}])
def test_a_detection_record_of_the_wrong_shape_is_refused(env: Any, bad: dict[str, Any]) -> None:
    c, _store, h = env
    r = c.post("/api/v1/ingest", json={"records": [det(1, **dict(GOOD, **bad))]}, headers=h["n1"])
    assert r.status_code == 422, r.text
    assert c.post("/api/v1/ingest", json={"records": [det(2, **GOOD)]}, headers=h["n1"]).json() == \
        {"stored": 1, "duplicates": 0}
    incidents = c.get("/api/v1/detections", headers=h["inv"]).json()["incidents"]
    assert incidents[0]["rules"] == ["lac-single-cell"]


def test_stored_detection_records_of_any_shape_never_fail_the_listing(env: Any) -> None:
    """Records stored before ingest checked their shape (written straight into the table here)."""
    c, store, h = env
    from datetime import UTC, datetime

    with store.session() as s:
        bad: list[dict[str, Any]] = [{"id": [1], "cell": {}}, {"id": 2, "cell": {"arfcn": [1]}},
                                     {"id": 3, "rules": 5}]
        for i, d in enumerate([*bad, GOOD], start=1):
            s.add(IngestRecord(node="n1", seq=i, kind="detection", via="http", received_at=datetime.now(UTC),
                               data=d))
        s.commit()
    r = c.get("/api/v1/detections", headers=h["inv"])
    assert r.status_code == 200, r.text
    assert [i["cell"]["cid"] for i in r.json()["incidents"]] == [2]  # the good one
    assert c.get("/dashboard", headers=h["inv"]).status_code == 200


def test_maps_and_evidence_leave_nothing_in_tmpdir(env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   ) -> None:
    import tempfile

    c, store, h = env
    tmpd = tmp_path / "tmpd"
    tmpd.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpd))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read $TMPDIR
    obs = {"arfcn": 20, "band": "P-GSM900", "bsic": 7, "mcc": 460, "mnc": 0, "lac": 9001, "cid": 1234,
           "power_dbm": -50.0, "time": "2026-12-01T10:00:00Z", "lat": 31.2, "lon": 121.4, "gps_mode": 3}
    recs = [{"node": "n1", "seq": 10 + i, "kind": "observation", "data": dict(obs, lon=121.4 + i * 1e-3)}
            for i in range(5)]
    assert c.post("/api/v1/ingest", json={"records": recs}, headers=h["n1"]).status_code == 200
    for _ in range(3):
        assert c.get("/dashboard/map", headers=h["inv"]).status_code == 200
    from fbsdetect.store.models import Detection

    with store.session() as s:
        d = Detection(mcc=460, mnc=0, lac=9001, cid=1234, arfcn=20, bsic=7, severity="high", score=0.9)
        s.add(d)
        s.commit()
        det_id = d.id
    r = c.get(f"/api/v1/detections/{det_id}/evidence", headers=h["inv"])
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert c.get("/api/v1/detections/999/evidence", headers=h["inv"]).status_code == 404
    assert os.listdir(tmpd) == []


def test_the_ingest_account_is_not_a_node_name(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'srv.db'}")
    with pytest.raises(BadUsage, match="reserved"):
        register_node(store, INGEST_USER)
    register_node(store, "n1")
    files = write_mosquitto_files(store, tmp_path / "mq", ingest_password="secret")
    assert files
    users = [line.split(":", 1)[0] for line in (tmp_path / "mq" / "passwd").read_text().splitlines()]
    assert users.count(INGEST_USER) == 1 and "n1" in users
    store.close()
