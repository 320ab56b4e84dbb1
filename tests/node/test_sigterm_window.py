"""A SIGTERM that lands between an observation's commit and its outbox record's (review 2):
the node's handler defers the interrupt until both are in, so no observation is stored
locally without its record for the server."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from fbsdetect.node.outbox import Outbox
from fbsdetect.node.sink import OutboxSink
from fbsdetect.store import open_store
from fbsdetect.store.sink import StoreSink
from fbsdetect.types import CellObservation


def test_a_sigterm_between_the_two_commits_waits_for_the_outbox_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'n1.db'}")
    sink = OutboxSink(store, Outbox(store, "n1"), node="n1")

    def on_term(_sig: int, _frame: Any) -> None:  # the daemon's handler, as NodeDaemon.run installs it
        if sink.defer_interrupt():
            return
        raise KeyboardInterrupt

    real = StoreSink.observation

    def committed_then_sigterm(self: Any, *a: Any, **k: Any) -> int:
        oid = real(self, *a, **k)  # the observation is committed ...
        os.kill(os.getpid(), signal.SIGTERM)  # ... and systemctl stop arrives right then
        return oid

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        monkeypatch.setattr(StoreSink, "observation", committed_then_sigterm)
        obs = CellObservation(arfcn=20, band="P-GSM900", freq_hz=939e6, bsic=7, mcc=460, mnc=0, lac=1, cid=5,
                              time="2026-12-01T10:00:00.000Z")
        with pytest.raises(KeyboardInterrupt):
            sink.observation(obs, radio_s=1.0)
        monkeypatch.undo()
        with pytest.raises(KeyboardInterrupt):  # outside the window: at once, as before
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10**6):
                pass
    finally:
        signal.signal(signal.SIGTERM, old)
    sink.flush()
    import sqlite3

    with sqlite3.connect(tmp_path / "n1.db") as c:
        n_obs = c.execute("SELECT count(*) FROM observation").fetchone()[0]
        orphans = c.execute("SELECT count(*) FROM observation o LEFT JOIN node_outbox b ON "
                            "b.observation_id = o.id WHERE b.seq IS NULL").fetchone()[0]
    assert n_obs == 1 and orphans == 0
    store.close()
