"""Cross-node fusion through the real fleet path: three nodes (two on the HTTPS uplink, one
over MQTT through a private Mosquitto) replay what their scans saw -- a small town of
legitimate cells, fake A seen by all three, fake B by two -- through the node's own sink,
outbox and uplink code (`NodeDaemon`: StoreSink into its SQLite, the outbox, the uplink
thread) into a `fbsdetect serve` process. The server's detection engine then makes one
detection of fake A listing all three sensors, with the first and last sighting over
all nodes and every node's observations counted; fake B stays a detection of its own;
the nodes' own detections merge into one incident per fake."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("paho.mqtt.client")
pytest.importorskip("fastapi")

import httpx

from fbsdetect.server.auth import add_user, register_node
from fbsdetect.store import open_store
from tests.detect import support as S
from tests.fleet.support import Mosquitto, Server

# an IMSI catcher's usual settings (tests/detect/test_engine.py): unknown identity, no
# SI2quater, T3212 1, RXLEV_ACCESS_MIN 0, CRO 40, ...
CATCHER = dict(t3212=1, rxlev_access_min=0, cro=40, cell_reselect_hysteresis=7, si2quater=False,
               eutran_neighbours=[], gprs=False, offset_hz=420.0)
FAKE_A = dict(arfcn=90, lac=9999, cid=1, bsic=37, **CATCHER)
FAKE_B = dict(arfcn=88, lac=9998, cid=7, bsic=21, **CATCHER)
SITE_A = (36.6170, 101.7780)
NODES = {  # name: (position, uplink, time offset of its sweeps in s, sees fake B)
    "n1": ((36.6200, 101.7760), "https", 5.0, True),
    "n2": ((36.6150, 101.7740), "https", 0.0, True),
    "n3": ((36.6160, 101.7820), "mqtt", 10.0, False),
}
SWEEPS = 3


def _power(pos: tuple[float, float], site: tuple[float, float]) -> float:
    """Received power by a log-distance model (so that the nodes see different levels)."""
    import math

    d = max(30.0, math.hypot((pos[0] - site[0]) * 111_000, (pos[1] - site[1]) * 89_000))
    return round(-30.0 - 30.0 * math.log10(d / 30.0), 1)


def _registry_rows(store: Any) -> None:
    from fbsdetect.store.models import RegistryCell, RegistrySource

    with store.session() as s:
        src = RegistrySource(name="test", kind="licensed")
        s.add(src)
        s.flush()
        cells: list[tuple[dict[str, Any], int]] = [(c, 0) for c in S.CMCC] + [(c, 1) for c in S.CU]
        for c, mnc in cells:
            s.add(RegistryCell(source_id=src.id, radio="GSM", mcc=460, mnc=mnc, lac=c["lac"], cid=c["cid"],
                               lat=c["site"][0], lon=c["site"][1], range_m=1000.0, arfcn=c["arfcn"],
                               bsic=c["bsic"]))


def _replay(daemon: Any, pos: tuple[float, float], offset: float, sees_b: bool) -> None:
    """What the node's scan would hand its sink: SWEEPS sweeps of the town and the fakes."""
    from dataclasses import replace

    from fbsdetect.detect.engine import analyze
    from fbsdetect.scan.profile import load_profile
    from fbsdetect.scan.sink import RunInfo

    name = daemon.cfg.node
    sink = daemon.sink
    sink.run_started(RunInfo(source="replay", profile="cn", sensor=name, software_version="test",
                             start_time=datetime(2026, 3, 1, 10, tzinfo=UTC)))
    for k in range(SWEEPS):
        t = offset + 20.0 * k
        cells = [replace(c, lat=pos[0], lon=pos[1]) for c in S.town(t=t)]
        cells.append(S.fake(t=t + 3, pos=pos, power=_power(pos, SITE_A), **FAKE_A))
        if sees_b:
            cells.append(S.fake(t=t + 4, pos=pos, power=_power(pos, (36.6190, 101.7700)), **FAKE_B))
        for c in cells:
            sink.observation(c, radio_s=t, kind="dwell")
    sink.flush()
    sink.run_ended({})
    analyze(daemon.store, load_profile("cn"))  # the node's own detections (its live detector's job)
    daemon.detections()
    daemon.health()


def test_one_suspect_seen_by_three_nodes_is_one_detection(tmp_path: Path) -> None:
    from fbsdetect.node.config import NodeConfig
    from fbsdetect.node.daemon import NodeDaemon

    db = f"sqlite:///{tmp_path / 'srv.db'}"
    store = open_store(db)
    _registry_rows(store)
    creds = {n: register_node(store, n) for n in NODES}
    inv = {"Authorization": f"Bearer {add_user(store, 'ivy', 'investigator')}"}
    adm = {"Authorization": f"Bearer {add_user(store, 'ada', 'admin')}"}
    mosq = Mosquitto(store, tmp_path / "mq")
    mosq.start()
    server = Server(db, tmp_path, mosq.ingest_url)
    server.start()
    daemons = []
    try:
        for name, (pos, uplink, offset, sees_b) in NODES.items():
            c = creds[name]
            cfg = NodeConfig(path="-", node=name, server=server.url, token=c["token"], uplink=uplink,
                             source="replay", profile="cn", db=str(tmp_path / f"{name}.db"), mqtt=mosq.url,
                             mqtt_password=c["mqtt_password"])
            d = NodeDaemon(cfg)
            daemons.append(d)
            d.uplink.start()
            _replay(d, pos, offset, sees_b)
        deadline = time.monotonic() + 60
        while not all(d.uplink.drained() for d in daemons):
            assert time.monotonic() < deadline, [d.outbox.depth() for d in daemons]
            time.sleep(0.2)
        r = httpx.post(f"{server.url}/api/v1/analyze", headers=adm, timeout=120)
        assert r.status_code == 200, r.text
        n_obs = sum(SWEEPS * (len(S.town()) + 1 + int(b)) for _p, _u, _o, b in NODES.values())
        assert r.json()["observations"] == n_obs
        got = httpx.get(f"{server.url}/api/v1/detections", headers=inv, timeout=60).json()
    finally:
        for d in daemons:
            d.uplink.stop()
            d.store.close()
        server.stop()
        mosq.stop()
        store.close()
    suspects = [d for d in got["detections"] if d["severity"] in ("medium", "high")]
    by_cid = {d["cell"]["cid"]: d for d in suspects}
    assert sorted(by_cid) == [1, 7], [(d["cell"], d["severity"]) for d in suspects]  # two fakes, two
    a, b = by_cid[1], by_cid[7]
    assert a["cell"] == {"arfcn": 90, "bsic": 37, "mcc": 460, "mnc": 0, "lac": 9999, "cid": 1}
    assert a["sensors"] == ["n1", "n2", "n3"] and a["observations"] == 3 * SWEEPS
    assert b["sensors"] == ["n1", "n2"] and b["observations"] == 2 * SWEEPS
    # first sighting n2's (offset 0), last n3's (offset 10): over all nodes, not one node's
    assert a["first_seen"].startswith("2026-03-01T10:00:03"), a["first_seen"]
    assert a["last_seen"].startswith(f"2026-03-01T10:00:{10 + 20 * (SWEEPS - 1) + 3}"), a["last_seen"]
    assert b["first_seen"].startswith("2026-03-01T10:00:04") and \
        b["last_seen"].startswith(f"2026-03-01T10:00:{5 + 20 * (SWEEPS - 1) + 4}")
    # the nodes' own detections: one incident per fake, with the nodes that reported it
    inc = {i["cell"]["cid"]: i for i in got["incidents"] if i["severity"] in ("medium", "high")}
    assert sorted(inc) == [1, 7]
    assert inc[1]["nodes"] == ["n1", "n2", "n3"] and inc[7]["nodes"] == ["n1", "n2"]
    # the position comes from all three nodes' powers (one node's alone cannot place it)
    assert a["position"] is not None and a["position"]["n_observations"] == 3 * SWEEPS
    import math

    lat, lon = a["position"]["lat"], a["position"]["lon"]
    off_m = math.hypot((lat - SITE_A[0]) * 111_000, (lon - SITE_A[1]) * 89_000)
    assert off_m < 150, (off_m, a["position"])
