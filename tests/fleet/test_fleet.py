"""Fleet acceptance: simulated nodes (processes: `fbsdetect node`) report to a server
process (`fbsdetect serve` on PostgreSQL) over a private Mosquitto (the registry's
passwd + ACL) or HTTPS-style batches (plain HTTP here), through faults -- the broker
restarted, the server killed with SIGKILL and restarted, one node's uplink cut and
restored, one node killed with SIGKILL and restarted. Afterwards every record each node
produced (every seq in its outbox) is in the server database exactly once.

Most nodes run `synthetic:RATE` (made-up observations through the very same sink,
outbox and uplink code: the radio is not what this measures); `test_sim_node` runs a
node on a real `sim:` scene through the whole scan -> detect -> store pipeline."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("paho.mqtt.client")
pytest.importorskip("fastapi")

from fbsdetect.server.auth import add_user, register_node
from fbsdetect.store import open_store
from tests.fleet.support import (
    Mosquitto,
    Server,
    TcpProxy,
    node_config,
    node_seqs,
    server_counts,
    start_node,
)

ROOT = Path(__file__).resolve().parents[2]


def check_exactly_once(store: Any, configs: dict[str, Path], timeout_s: float = 60.0) -> dict[str, int]:
    """Waits until the server holds every seq of every node; asserts once each."""
    deadline = time.monotonic() + timeout_s
    missing: dict[str, Any] = {}
    while True:
        missing.clear()
        totals = {}
        for name, cfg in configs.items():
            produced = node_seqs(cfg)
            per, n_obs = server_counts(store, name)
            assert all(v == 1 for v in per.values()), f"{name}: stored more than once"
            assert set(per) <= set(produced), f"{name}: the server holds seqs the node never made"
            lost = set(produced) - set(per)
            if lost:
                missing[name] = sorted(lost)[:10]
            else:
                assert n_obs == sum(1 for k in produced.values() if k == "observation"), name
            totals[name] = len(produced)
        if not missing:
            return totals
        if time.monotonic() > deadline:
            raise AssertionError(f"records missing on the server: {missing}")
        time.sleep(1.0)


def run_fleet(db_url: str, tmp_path: Path, *, n_mqtt: int, n_https: int, rate: float, duration: float,
              log: Any = None) -> dict[str, Any]:
    """The fleet with its faults; returns {node: records} once every record is on the server
    exactly once (AssertionError otherwise). Fault times scale with `duration`."""
    say = log or (lambda _m: None)
    store = open_store(db_url)
    admin = add_user(store, "root", "admin")
    names = [f"mq{i}" for i in range(n_mqtt)] + [f"ht{i}" for i in range(n_https)]
    creds = {n: register_node(store, n) for n in names}
    mosq = Mosquitto(store, tmp_path / "mq")
    mosq.start()
    server = Server(db_url, tmp_path, mosq.ingest_url)
    server.start()
    cut_mqtt, cut_http = TcpProxy(mosq.port), TcpProxy(server.port)  # mq0 and ht0 go through these
    configs: dict[str, Path] = {}
    for n in names:
        is_mqtt = n.startswith("mq")
        via = {"mq0": f"mqtt://127.0.0.1:{cut_mqtt.port}", "ht0": None}.get(n, mosq.url if is_mqtt else None)
        url = f"http://127.0.0.1:{cut_http.port}" if n == "ht0" else server.url
        configs[n] = node_config(tmp_path / f"{n}.toml", creds[n], uplink="mqtt" if is_mqtt else "https",
                                 server=url, mqtt=via, source=f"synthetic:{rate}", duration_s=duration)
    procs = {n: start_node(c) for n, c in configs.items()}
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # every node up (many Python processes start slowly on 2 cores)
        try:
            if all(node_seqs(c) for c in configs.values()):
                break
        except Exception:
            pass
        time.sleep(1)
    say(f"all {len(names)} nodes running")
    t0 = time.monotonic()
    k = duration / 40.0

    last = {"t": 0.0}

    def at(t: float, what: str) -> None:
        """Waits until t (scaled), and at least the planned gap since the previous fault."""
        gap = (t - last["t"]) * k
        last["t"] = t
        time.sleep(gap)
        say(f"{time.monotonic() - t0:6.1f} s: {what}")

    try:
        at(6, "broker restarted")
        mosq.stop()
        time.sleep(2)
        mosq.start()
        at(12, "node mq2 and the server killed with SIGKILL, restarted")
        procs["mq2"].kill()
        procs["mq2"].wait()
        server.kill()
        time.sleep(2)
        procs["mq2"] = start_node(configs["mq2"])  # goes on with the same outbox
        server.start()
        at(16, "node ht1 killed with SIGKILL, restarted")
        procs["ht1"].kill()
        procs["ht1"].wait()
        procs["ht1"] = start_node(configs["ht1"])
        at(18, "uplinks of mq0 and ht0 cut")
        cut_mqtt.cut()
        cut_http.cut()
        at(30, "uplinks restored")
        cut_mqtt.restore()
        cut_http.restore()
        for n, p in procs.items():
            rc = p.wait(timeout=150 + duration)
            assert rc == 0, f"node {n} failed: see {configs[n].with_suffix('.log')}"
        say(f"{time.monotonic() - t0:6.1f} s: every node ended; counting")
        totals = check_exactly_once(store, configs)
        for n in ("mq0", "ht0"):  # the cut was felt (and survived)
            assert "uplink:" in configs[n].with_suffix(".log").read_text(), n
        import httpx

        inv = add_user(store, "ivy", "investigator")
        r = httpx.get(f"{server.url}/api/v1/nodes", headers={"Authorization": f"Bearer {inv}"}, timeout=30)
        by = {x["node"]: x for x in r.json()["nodes"]}
        assert all(by[n]["records"] == totals[n] and by[n]["health"] for n in names)
        st = httpx.get(f"{server.url}/api/v1/stats", headers={"Authorization": f"Bearer {admin}"}).json()
        assert st["counts"].get("rejected", 0) == 0
        return {"totals": totals, "counts": st["counts"], "elapsed_s": time.monotonic() - t0}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
        server.stop()
        mosq.stop()
        cut_mqtt.close()
        cut_http.close()
        store.close()


@pytest.mark.slow
def test_fleet_faults(pg_url: str, tmp_path: Path) -> None:
    n_mqtt, rate, duration = 6, 8, 40
    r = run_fleet(pg_url, tmp_path, n_mqtt=n_mqtt, n_https=4, rate=rate, duration=duration)
    assert sum(r["totals"].values()) > n_mqtt * rate * duration * 0.5


@pytest.mark.slow
def test_sim_node(tmp_path: Path) -> None:
    """A node on a real scene: the scan's observations and detections all reach the server once,
    and `node` ends on its own after the scene (and the drain)."""
    scene = ROOT / "tests/corpus/scenes/imsi-catcher-tianjin/scene.toml"
    if not scene.exists():
        pytest.skip("the scene corpus is not there")
    store = open_store(f"sqlite:///{tmp_path / 'srv.db'}")
    creds = register_node(store, "sim1")
    mosq = Mosquitto(store, tmp_path / "mq")
    mosq.start()
    server = Server(f"sqlite:///{tmp_path / 'srv.db'}", tmp_path, mosq.ingest_url)
    server.start()
    cfg = node_config(tmp_path / "sim1.toml", creds, uplink="mqtt", server=server.url, mqtt=mosq.url,
                      source=f"sim:{scene}", duration_s=None)
    try:
        p = start_node(cfg)
        assert p.wait(timeout=240) == 0, cfg.with_suffix(".log").read_text()[-2000:]
        totals = check_exactly_once(store, {"sim1": cfg})
        kinds = set(node_seqs(cfg).values())
        assert {"observation", "health"} <= kinds and totals["sim1"] > 5
        import sqlite3

        with sqlite3.connect(cfg.with_suffix(".db")) as c:
            local = c.execute("SELECT count(*) FROM observation").fetchone()[0]
        assert server_counts(store, "sim1")[1] == local
    finally:
        server.stop()
        mosq.stop()
        store.close()


def test_node_bad_config_is_one_line(tmp_path: Path) -> None:
    import sys

    f = tmp_path / "n.toml"
    f.write_text('node = "a"\nserver = "ftp://x"\ntoken = "t"\nuplink = "mqtt"\nsource = "s"\n'
                 'profile = "cn"\ndb = "x.db"\n')
    r = subprocess.run([sys.executable, "-m", "fbsdetect", "node", "--config", str(f)], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "server" in r.stderr and "Traceback" not in r.stderr
