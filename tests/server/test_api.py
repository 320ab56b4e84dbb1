"""The server's HTTP API in-process (FastAPI TestClient): roles, ingest once per
(node, seq), the node check before anything else, queries, fusion, dashboard."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from fbsdetect.server.app import create_app
from fbsdetect.server.auth import add_user, register_node
from fbsdetect.store import open_store


def obs(node: str, seq: int, **kw: Any) -> dict[str, Any]:
    data = {"arfcn": 20, "band": "P-GSM900", "freq_hz": 939e6, "bsic": 7, "mcc": 460, "mnc": 0, "lac": 9001,
            "cid": 1234, "power_dbm": -70.5, "time": "2026-12-01T10:00:00.000Z", "lat": 31.2, "lon": 121.4,
            "gps_mode": 3, "gps_error_m": 2.5, "sensor": node, "radio_s": 1.0, "kind": "dwell"}
    data.update(kw)
    return {"node": node, "seq": seq, "kind": "observation", "data": data}


@pytest.fixture
def env(db_url: str) -> Any:
    store = open_store(db_url)
    app = create_app(store)
    c = TestClient(app)
    toks = {"inv": add_user(store, "ivy", "investigator"), "adm": add_user(store, "ada", "admin")}
    n1, n2 = register_node(store, "n1"), register_node(store, "n2")
    toks["n1"], toks["n2"] = n1["token"], n2["token"]
    yield c, store, {k: {"Authorization": f"Bearer {v}"} for k, v in toks.items()}
    store.close()


def test_auth_roles_and_node_check(env: Any) -> None:
    c, _store, h = env
    assert c.get("/healthz").status_code == 200
    assert c.get("/openapi.json").json()["paths"]["/api/v1/ingest"]
    batch = {"records": [obs("n1", 1)]}
    assert c.post("/api/v1/ingest", json=batch).status_code == 401
    assert c.post("/api/v1/ingest", json=batch, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert c.post("/api/v1/ingest", json=batch, headers=h["inv"]).status_code == 403  # wrong role
    assert c.post("/api/v1/ingest", json=batch, headers=h["n2"]).status_code == 403  # another node's records
    # one foreign record refuses the whole batch, even when the batch is otherwise malformed
    mixed = {"records": [obs("n1", 2), {"node": "n2", "seq": "x"}]}
    assert c.post("/api/v1/ingest", json=mixed, headers=h["n1"]).status_code == 403
    assert c.post("/api/v1/ingest", json=batch, headers=h["n1"]).json() == {"stored": 1, "duplicates": 0}
    for path in ("/api/v1/observations", "/api/v1/detections", "/api/v1/cells", "/api/v1/nodes",
                 "/dashboard"):
        assert c.get(path).status_code == 401, path
        assert c.get(path, headers=h["n1"]).status_code == 403, path
        assert c.get(path, headers=h["inv"]).status_code == 200, path
    assert c.post("/api/v1/nodes", json={"name": "n3"}, headers=h["inv"]).status_code == 403
    assert c.post("/api/v1/users", json={"name": "x", "role": "admin"}, headers=h["n1"]).status_code == 403
    assert c.get("/api/v1/stats", headers=h["inv"]).status_code == 403


def test_ingest_once_per_node_seq(env: Any) -> None:
    c, store, h = env
    recs = [obs("n1", i) for i in range(1, 51)] + [{"node": "n1", "seq": 51, "kind": "health",
                                                     "data": {"outbox_depth": 3}}]
    assert c.post("/api/v1/ingest", json={"records": recs}, headers=h["n1"]).json()["stored"] == 51
    for _ in range(3):  # retries, overlapping batches, a record twice in one batch
        r = c.post("/api/v1/ingest", json={"records": [*recs[10:], obs("n1", 60), obs("n1", 60)]},
                   headers=h["n1"]).json()
    assert r == {"stored": 0, "duplicates": 43}
    # n2 may use the same seq numbers: (node, seq) is the key
    assert c.post("/api/v1/ingest", json={"records": [obs("n2", 1)]}, headers=h["n2"]).json()["stored"] == 1
    from tests.fleet.support import server_counts

    per, n_obs = server_counts(store, "n1")
    assert sorted(per) == [*list(range(1, 52)), 60] and set(per.values()) == {1}
    assert n_obs == 51
    nodes = c.get("/api/v1/nodes", headers=h["adm"]).json()["nodes"]
    assert {n["node"]: n["health"] for n in nodes}["n1"] == {"outbox_depth": 3}


def test_bad_payloads_are_4xx(env: Any) -> None:
    c, _store, h = env
    post = lambda body, **kw: c.post("/api/v1/ingest", content=body, headers={  # noqa: E731
        **h["n1"], "Content-Type": "application/json"}, **kw).status_code
    assert post(b"{not json") == 400
    assert post(b"[]") == 422
    assert post(json.dumps({"records": "x"}).encode()) == 422
    assert post(json.dumps({"records": [obs("n1", 0)]}).encode()) == 422
    assert post(json.dumps({"records": [obs("n1", 1, arfcn="x")]}).encode()) == 422
    assert post(json.dumps({"records": [obs("n1", 1, lat=91)]}).encode()) == 422
    assert post(json.dumps({"records": [obs("n1", 1, time="yesterday")]}).encode()) == 422
    assert post(json.dumps({"records": [dict(obs("n1", 1), kind="sms")]}).encode()) == 422
    assert post(json.dumps({"records": [obs("n1", 1, blob="x" * 70000)]}).encode()) == 422
    assert post(b"{" * 100000) == 400
    assert post(json.dumps({"records": [obs("n1", i) for i in range(1, 1100)]}).encode()) == 413
    assert post(b" " * (9 * 1024 * 1024)) == 413
    q = c.get("/api/v1/observations?bbox=1,2,3", headers=h["inv"])
    assert q.status_code == 422
    assert c.get("/api/v1/observations?since=never", headers=h["inv"]).status_code == 422
    assert c.get("/api/v1/detections/999/evidence", headers=h["inv"]).status_code == 404


def test_query_bbox_time_and_fusion(env: Any) -> None:
    c, _store, h = env
    recs = [obs("n1", 1), obs("n1", 2, lat=40.0, lon=116.4), obs("n1", 3, time="2026-12-02T10:00:00.000Z")]
    c.post("/api/v1/ingest", json={"records": recs}, headers=h["n1"])
    q = c.get("/api/v1/observations", params={"bbox": "31,121,32,122"}, headers=h["inv"]).json()
    assert q["count"] == 2 and all(o["sensor"] == "n1" for o in q["observations"])
    q = c.get("/api/v1/observations", params={"bbox": "31,121,32,122", "until": "2026-12-01T23:00:00Z"},
              headers=h["inv"]).json()
    assert q["count"] == 1
    assert c.get("/api/v1/cells", headers=h["inv"]).json()["count"] == 1
    cell = {"mcc": 460, "mnc": 0, "lac": 9001, "cid": 1234, "arfcn": 20, "bsic": 7}
    det = {"id": 1, "severity": "medium", "score": 0.6, "cell": cell, "rules": [{"id": "unknown-cell"}],
           "first_seen": "2026-12-01T10:00:00Z", "last_seen": "2026-12-01T10:05:00Z"}
    c.post("/api/v1/ingest", json={"records": [{"node": "n1", "seq": 10, "kind": "detection", "data": det}]},
           headers=h["n1"])
    c.post("/api/v1/ingest", json={"records": [{"node": "n2", "seq": 4, "kind": "detection",
                                                "data": dict(det, id=7, severity="high", score=0.9)}]},
           headers=h["n2"])
    inc = c.get("/api/v1/detections", headers=h["inv"]).json()["incidents"]
    assert len(inc) == 1 and inc[0]["nodes"] == ["n1", "n2"] and inc[0]["severity"] == "high"
    assert c.post("/api/v1/analyze", headers=h["adm"]).json()["observations"] == 3
    page = c.get("/dashboard", headers=h["inv"])
    assert page.status_code == 200 and "n1" in page.text
    assert c.get("/dashboard", params={"token": "x"}, follow_redirects=False).status_code == 303


def test_user_add_and_node_register_cli(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    cmd = [sys.executable, "-m", "fbsdetect", "user", "add", "root", "--role", "admin", "--db", db]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    assert d["user"] == "root" and len(d["token"]) > 30
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 2 and "exists" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "fbsdetect", "node", "register", "n/1", "--server",
                        "http://127.0.0.1:9", "--token", "t"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_mosquitto_hash_matches_mosquitto_passwd(tmp_path: Path) -> None:
    import shutil

    from fbsdetect.server.auth import mosquitto_hash

    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd is not installed")
    f = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(f), "u", "secret"], check=True, capture_output=True)
    line = f.read_text().strip().split(":", 1)[1]
    _, _seven, it, salt, _h = line.split("$")
    import base64

    assert mosquitto_hash("secret", salt=base64.b64decode(salt), iterations=int(it)) == line


def test_group_commit_with_a_resend_in_the_same_group(db_url: str) -> None:
    """A batch resent while its first copy still waits in the writer's queue (a node's request
    timed out under load): both in one transaction, every record stored once."""
    from fbsdetect.server.auth import lookup
    from fbsdetect.server.ingest import Ingestor
    from tests.fleet.support import server_counts

    store = open_store(db_url)
    who = lookup(store, register_node(store, "n1")["token"])
    assert who is not None
    ing = Ingestor(store)

    def recs(a: int, b: int) -> list[tuple[int, str, dict[str, Any]]]:
        return [(r["seq"], r["kind"], r["data"]) for r in (obs("n1", i) for i in range(a, b))]

    first, resend = ing.prepare(who, recs(1, 11), via="http"), ing.prepare(who, recs(5, 16), via="http")
    res = ing.ingest_many([first, resend])
    assert [r.stored for r in res] == [10, 5] and res[1].duplicates == 6
    per, n_obs = server_counts(store, "n1")
    assert sorted(per) == list(range(1, 16)) and set(per.values()) == {1} and n_obs == 15
    store.close()
