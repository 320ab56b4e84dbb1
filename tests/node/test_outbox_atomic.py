"""An observation and the outbox record that sends it are one transaction (review, session 4, #2): a node
killed with SIGKILL (or a power cut) at any instant leaves no stored observation without its record,
which would never reach the server (nothing would even show a gap: no seq was taken)."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

WRITER = r"""
import sys
from fbsdetect.node.outbox import Outbox
from fbsdetect.node.sink import OutboxSink
from fbsdetect.store import open_store
from fbsdetect.types import CellObservation
import os, signal
from fbsdetect.store.sink import StoreSink
store = open_store(f"sqlite:///{sys.argv[1]}")
sink = OutboxSink(store, Outbox(store, "n1"), node="n1")
if len(sys.argv) > 2:  # the power goes the instant the observation's transaction has committed
    real = StoreSink.observation
    def then_die(self, *a, **k):
        oid = real(self, *a, **k)
        if oid >= int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
        return oid
    StoreSink.observation = then_die
print("ready", flush=True)
k = 0
while True:
    k += 1
    sink.observation(CellObservation(arfcn=20, band="P-GSM900", freq_hz=939e6, bsic=7, mcc=460, mnc=0, lac=1,
                                     cid=k, time="2026-12-01T10:00:00.000Z"), radio_s=float(k))
"""


def test_a_sigkill_at_any_instant_leaves_no_observation_without_its_outbox_record(tmp_path: Path) -> None:
    db = tmp_path / "n1.db"
    rnd = random.Random(20261202)
    for _trial in range(6):
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        time.sleep(0.3 + rnd.random() * 0.7)
        p.send_signal(signal.SIGKILL)
        p.wait(30)
        with sqlite3.connect(db) as c:
            assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            n_obs = c.execute("SELECT count(*) FROM observation").fetchone()[0]
            orphans = c.execute("SELECT count(*) FROM observation o LEFT JOIN node_outbox b "
                                "ON b.observation_id = o.id WHERE b.seq IS NULL").fetchone()[0]
            records = c.execute("SELECT count(*) FROM node_outbox WHERE kind = 'observation'").fetchone()[0]
        assert n_obs > 0 and orphans == 0 and records == n_obs, (n_obs, orphans, records)


def test_the_instant_an_observation_is_committed_its_outbox_record_is_too(tmp_path: Path) -> None:
    db = tmp_path / "n1.db"
    p = subprocess.run([sys.executable, "-c", WRITER, str(db), "5"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == -signal.SIGKILL
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT o.id, b.seq FROM observation o LEFT JOIN node_outbox b "
                         "ON b.observation_id = o.id ORDER BY o.id").fetchall()
    assert len(rows) == 5 and all(seq is not None for _oid, seq in rows), rows
