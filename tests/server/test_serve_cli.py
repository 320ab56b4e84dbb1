"""`fbsdetect serve` runs its MQTT ingest worker whenever a broker is configured (`--mqtt`,
$FBSDETECT_MQTT, or the broker `--mosquitto-dir` writes the files of), not with `--no-mqtt`;
bad settings are one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("paho.mqtt.client")
pytest.importorskip("fastapi")

import httpx

from fbsdetect.server.auth import register_node
from fbsdetect.store import open_store
from tests.fleet.support import Mosquitto, free_port, wait_port


def serve(db: str, tmp: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Starts `serve`, returns its /healthz and what it said on stderr, stops it."""
    port = free_port()
    e = {k: v for k, v in os.environ.items() if not k.startswith("FBSDETECT_MQTT")}
    e.update(env or {})
    log = tmp / f"serve-{port}.log"
    with open(log, "wb") as f:
        p = subprocess.Popen([sys.executable, "-m", "fbsdetect", "--db", db, "serve", "--port", str(port),
                              "--analyze-every-s", "0", *args], stdout=f, stderr=subprocess.STDOUT, env=e)
    try:
        wait_port(port, 60)
        h: dict[str, Any] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the worker connects in the background
            h = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()
            if "mqtt" not in h or h["mqtt"]["connected"]:
                break
            time.sleep(0.3)
        return {"health": h, "said": log.read_text()}
    finally:
        p.terminate()
        p.wait(15)


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    db = f"sqlite:///{tmp_path / 'srv.db'}"
    store = open_store(db)
    register_node(store, "n1")
    mosq = Mosquitto(store, tmp_path / "mq")
    mosq.start()
    yield db, mosq, store
    mosq.stop()
    store.close()


def test_worker_runs_whenever_a_broker_is_configured(broker: Any, tmp_path: Path) -> None:
    db, mosq, _store = broker
    r = serve(db, tmp_path, env={"FBSDETECT_MQTT": mosq.ingest_url})  # the server.env way
    assert r["health"]["mqtt"] == {"connected": True, "worker_alive": True}, r["said"]
    assert "MQTT ingest from mqtt://127.0.0.1" in r["said"] and "$FBSDETECT_MQTT" in r["said"]
    assert "ingest-test-password" not in r["said"]  # never the password
    r = serve(db, tmp_path, "--mqtt", mosq.ingest_url)
    assert r["health"]["mqtt"]["connected"], r["said"]
    r = serve(db, tmp_path, "--no-mqtt", env={"FBSDETECT_MQTT": mosq.ingest_url})
    assert "mqtt" not in r["health"] and "HTTP ingest only, --no-mqtt" in r["said"]
    r = serve(db, tmp_path)
    assert "mqtt" not in r["health"] and "no broker configured" in r["said"]


def test_worker_follows_the_mosquitto_dir(broker: Any, tmp_path: Path) -> None:
    """With --mosquitto-dir and no URL: the broker those files configure, with the ingest
    password written now (the running broker is told with SIGHUP through the pid file)."""
    db, mosq, _store = broker
    assert mosq.proc is not None
    pidfile = tmp_path / "mosquitto.pid"
    pidfile.write_text(f"{mosq.proc.pid}\n")
    r = serve(db, tmp_path, "--mosquitto-dir", str(mosq.dir), "--mosquitto-port", str(mosq.port),
              "--mosquitto-pidfile", str(pidfile))
    assert r["health"]["mqtt"] == {"connected": True, "worker_alive": True}, r["said"]
    assert "(--mosquitto-dir)" in r["said"]


def test_bad_mqtt_settings_are_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FBSDETECT_MQTT")}
    for args, extra, want in (
            (["--mqtt", "mqtt://127.0.0.1:1", "--no-mqtt"], {}, "--no-mqtt"),
            ([], {"FBSDETECT_MQTT": "ftp://x"}, "$FBSDETECT_MQTT"),
            (["--mqtt-ca", str(tmp_path / "none.pem")], {}, "--mqtt-ca"),
            ([], {"FBSDETECT_MQTT": "mqtp://fbsdetect-ingest:S3cretPw@127.0.0.1:1883"}, "***@127.0.0.1"),
            (["--mqtt", "mqtt://u:S3cretPw@127.0.0.1:99999"], {}, "Port out of range"),
            (["--tls-cert", str(tmp_path / "none.crt"), "--tls-key", str(tmp_path / "none.key")], {},
             "--tls-cert"),
            (["--tls-cert", db.removeprefix("sqlite:///"), "--tls-key", db.removeprefix("sqlite:///"),
              "--workers", "2"], {}, "cannot load"),
            # review (session 4) #26: an unresolvable host was uvicorn's "ERROR:" and exit 3
            (["--host", "999.1.1.1"], {}, "--host 999.1.1.1: cannot be resolved"),
            (["--analyze-every-s", "nan"], {}, "--analyze-every-s"),
            (["--full-analysis-every-s", "-1"], {}, "--full-analysis-every-s"),
            (["--map-refresh-s", "-5"], {}, "--map-refresh-s")):
        if "cannot load" in want:
            Path(db.removeprefix("sqlite:///")).write_text("not a PEM\n")
        r = subprocess.run([sys.executable, "-m", "fbsdetect", "--db", db, "serve", *args],
                           capture_output=True, text=True, env={**env, **extra}, timeout=60)
        assert r.returncode == 2 and want in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "S3cretPw" not in r.stderr  # never the password


def test_several_worker_processes_share_one_chain(pg_url: str, tmp_path: Path) -> None:
    """`serve --workers 3`: concurrent batches (each sent twice, on separate connections, so
    that copies race in different processes) are stored once each; one audit chain verifies."""
    from concurrent.futures import ThreadPoolExecutor

    from fbsdetect.store.audit import verify_db
    from tests.fleet.support import server_counts
    from tests.server.test_api import obs

    store = open_store(pg_url)
    toks = {n: register_node(store, n)["token"] for n in ("w1", "w2")}
    port = free_port()
    with open(tmp_path / "serve.log", "wb") as f:
        p = subprocess.Popen([sys.executable, "-m", "fbsdetect", "--db", pg_url, "serve", "--port", str(port),
                              "--analyze-every-s", "0", "--no-mqtt", "--workers", "3"], stdout=f,
                             stderr=subprocess.STDOUT)
    try:
        wait_port(port, 60)

        def post(job: tuple[str, int]) -> int:
            node, a = job
            body = {"records": [obs(node, s) for s in range(a, a + 50)]}
            with httpx.Client(timeout=60) as c:  # a connection of its own: any worker may answer
                r = c.post(f"http://127.0.0.1:{port}/api/v1/ingest", json=body,
                           headers={"Authorization": f"Bearer {toks[node]}"})
            assert r.status_code == 200, r.text
            return int(r.json()["stored"])

        jobs = [(n, a) for a in range(1, 500, 50) for n in toks for _copy in range(2)]
        with ThreadPoolExecutor(8) as ex:
            stored = sum(ex.map(post, jobs))
        assert stored == 2 * 500
        for n in toks:
            per, n_obs = server_counts(store, n)
            assert sorted(per) == list(range(1, 501)) and set(per.values()) == {1} and n_obs == 500
        rep = verify_db(store)
        assert rep.ok and rep.entries == 1000, rep.lines()
    finally:
        p.terminate()
        p.wait(20)
        store.close()


def test_healthz_of_the_worker_processes_shows_the_mqtt_worker(broker: Any, tmp_path: Path) -> None:
    """`serve --workers 2`: the MQTT worker runs in the main process; whichever process answers,
    /healthz says whether it is connected, and says so no longer once the broker is gone."""
    db, mosq, _store = broker
    port = free_port()
    with open(tmp_path / "serve.log", "wb") as f:
        p = subprocess.Popen([sys.executable, "-m", "fbsdetect", "--db", db, "serve", "--port", str(port),
                              "--analyze-every-s", "0", "--mqtt", mosq.ingest_url, "--workers", "2"],
                             stdout=f, stderr=subprocess.STDOUT)

    def healths(n: int = 6) -> list[dict[str, Any]]:
        out = []
        for _ in range(n):  # a connection each: either worker may answer
            out.append(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json())
        return out

    try:
        wait_port(port, 60)
        deadline = time.monotonic() + 40
        while not all(h.get("mqtt", {}).get("connected") for h in healths()):
            assert time.monotonic() < deadline, healths()
            time.sleep(0.5)
        assert all(h["mqtt"] == {"connected": True, "worker_alive": True} for h in healths())
        mosq.stop()
        deadline = time.monotonic() + 40
        while any(h["mqtt"]["connected"] for h in healths()):
            assert time.monotonic() < deadline, healths()
            time.sleep(0.5)
        assert all(h["mqtt"]["worker_alive"] for h in healths())  # alive, reconnecting
    finally:
        p.terminate()
        p.wait(20)
