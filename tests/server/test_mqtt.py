"""The MQTT ingest worker against a private Mosquitto configured from the node
registry (passwd + ACL): records stored once, garbage counted and survived, a node's
credential cannot write as or read another node."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

mqtt = pytest.importorskip("paho.mqtt.client")

from fbsdetect.server.auth import register_node  # noqa: E402
from fbsdetect.server.ingest import Ingestor  # noqa: E402
from fbsdetect.server.mqtt_worker import MqttWorker  # noqa: E402
from fbsdetect.store import open_store  # noqa: E402
from tests.fleet.support import Mosquitto, server_counts  # noqa: E402


def client(port: int, user: str | None, password: str | None) -> Any:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{user}-{time.monotonic_ns()}")
    if user:
        c.username_pw_set(user, password)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def wait(cond: Any, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def broker(tmp_path: Path) -> Any:
    store = open_store(f"sqlite:///{tmp_path / 'srv.db'}")
    creds = {n: register_node(store, n) for n in ("n1", "n2")}
    mosq = Mosquitto(store, tmp_path / "mq")
    mosq.start()
    ing = Ingestor(store)
    w = MqttWorker(store, ing, mosq.ingest_url)
    w.start()
    assert wait(lambda: w.connected)
    yield store, mosq, ing, w, creds
    w.stop()
    mosq.stop()
    store.close()


def rec(node: str, seq: int, kind: str = "observation") -> str:
    return json.dumps({"node": node, "seq": seq, "kind": kind, "data": {"arfcn": 5, "mcc": 460, "mnc": 0,
                                                                        "lac": 1, "cid": seq}})


def test_stored_once_garbage_counted_acl_enforced(broker: Any) -> None:
    store, mosq, ing, w, creds = broker
    c1 = client(mosq.port, "n1", creds["n1"]["mqtt_password"])
    for _ in range(3):  # the same records three times
        for s in range(1, 6):
            c1.publish("fbsdetect/v1/n1/obs", rec("n1", s), qos=1).wait_for_publish(5)
    assert wait(lambda: server_counts(store, "n1")[0] == {s: 1 for s in range(1, 6)})
    # garbage on the node's own topics: counted, survived
    garbage: list[bytes | str] = [b"\xff\xfe", b"not json", b"[]", b"{}", b"{" * 5000 + b"}" * 5000,
                                  json.dumps({"node": "n1", "seq": "1", "data": {}}),
                                  json.dumps({"node": "n1", "seq": 9, "kind": "health", "data": {}}),
                                  json.dumps({"node": "n2", "seq": 9, "data": {}}),
                                  rec("n1", 10).replace('"arfcn": 5', '"arfcn": "x"'),
                                  b"x" * 200_000]
    for g in garbage:
        c1.publish("fbsdetect/v1/n1/obs", g, qos=1).wait_for_publish(5)
    c1.publish("fbsdetect/v1/n1/bogus", b"{}", qos=1).wait_for_publish(5)
    assert wait(lambda: ing.counts["rejected"] >= len(garbage))
    assert ing.counts["rejected:node_mismatch"] == 1 and ing.counts["rejected:kind_mismatch"] == 1
    assert w.alive
    # n1's credential on n2's topic: the broker's ACL drops it
    c1.publish("fbsdetect/v1/n2/obs", rec("n2", 77), qos=1).wait_for_publish(5)
    c1.publish("fbsdetect/v1/n1/obs", rec("n1", 6), qos=1).wait_for_publish(5)
    assert wait(lambda: 6 in server_counts(store, "n1")[0])
    time.sleep(0.5)
    assert server_counts(store, "n2")[0] == {}
    # n1 cannot read n2's topic
    got: list[Any] = []
    c1.on_message = lambda _c, _u, m: got.append(m)
    c1.subscribe("fbsdetect/v1/n2/#", qos=1)
    c1.subscribe("fbsdetect/v1/#", qos=1)
    time.sleep(0.3)
    c2 = client(mosq.port, "n2", creds["n2"]["mqtt_password"])
    c2.publish("fbsdetect/v1/n2/obs", rec("n2", 1), qos=1).wait_for_publish(5)
    assert wait(lambda: server_counts(store, "n2")[0] == {1: 1})
    time.sleep(0.5)
    assert got == []
    # no credential, a wrong password: refused by the broker
    for user, pw in ((None, None), ("n1", "wrong")):
        refused = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        if user:
            c.username_pw_set(user, pw)
        c.on_connect = lambda _c, _u, _f, rc, _p=None, e=refused: e.set() if rc.is_failure else None
        c.connect("127.0.0.1", mosq.port)
        c.loop_start()
        assert refused.wait(5)
        c.loop_stop()
    for c in (c1, c2):
        c.loop_stop()
        c.disconnect()
