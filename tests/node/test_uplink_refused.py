"""A record the server refuses for good (4xx) no longer blocks the node's HTTPS uplink: the
batch goes one record at a time, the refused record is skipped (counted), the good ones are
stored; a detection record of an SMS blaster is cut to fit the server's size limit."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from fbsdetect.node.daemon import DETECTION_MAX_BYTES, fit_detection
from fbsdetect.node.outbox import Outbox
from fbsdetect.node.uplink import HttpsTransport, Uplink
from fbsdetect.store import open_store
from tests.fleet.support import server_counts
from tests.node.conftest import Served


def test_a_refused_record_is_skipped_and_the_rest_go_through(tmp_path: Path, served: Served) -> None:
    store, c, server = served.store, served.creds, served.server
    node_store = open_store(f"sqlite:///{tmp_path / 'n1.db'}")
    try:
        ob = Outbox(node_store, "n1")
        good = {"arfcn": 20, "mcc": 460, "mnc": 0, "lac": 1, "cid": 5, "time": "2026-12-01T10:00:00Z"}
        seqs = [ob.add("observation", dict(good, cid=5)), ob.add("observation", dict(good, cid=2**30)),
                ob.add("observation", dict(good, cid=6))]
        sms = [{"text": "尊敬的客户您好，您的积分即将清零，请点击链接兑换礼品" * 3, "sender": "10086"}] * 400
        det = fit_detection({"id": 1, "severity": "high", "cell": {"cid": 7}, "sms": sms})
        assert det["sms_truncated"] and det["sms_count"] == 400 and 0 < len(det["sms"]) < 400
        assert len(json.dumps(det)) <= DETECTION_MAX_BYTES
        seqs.append(ob.add("detection", det))
        tr = HttpsTransport(server.url, c["token"], "n1")
        up = Uplink(ob, tr, batch=10)
        up.start()
        deadline = time.monotonic() + 60
        while not up.drained():
            assert time.monotonic() < deadline, ob.depth()
            time.sleep(0.2)
        up.stop()
        per, n_obs = server_counts(store, "n1")
        assert sorted(per) == [seqs[0], seqs[2], seqs[3]] and n_obs == 2
        assert tr.refused == 1
    finally:
        node_store.close()
