"""The node's parts: systemd notify, the outbox (seq, disk policy), config errors, heartbeats,
the uplink's retry loop."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from fbsdetect.errors import BadInput
from fbsdetect.node.config import load_config
from fbsdetect.node.notify import Notifier
from fbsdetect.node.outbox import Outbox
from fbsdetect.store import open_store


def test_notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "notify")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    n = Notifier()
    n.ready("scanning")
    assert srv.recv(100) == b"READY=1\nSTATUS=scanning"
    n.watchdog()
    n.watchdog()  # within a quarter period: not sent again
    assert srv.recv(100) == b"WATCHDOG=1"
    time.sleep(0.11)
    n.watchdog()
    assert srv.recv(100) == b"WATCHDOG=1"
    assert n.sent == ["READY=1\nSTATUS=scanning", "WATCHDOG=1", "WATCHDOG=1"]
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert Notifier().send("READY=1") is False  # outside systemd: nothing


def test_outbox_seq_and_disk_policy(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'node.db'}")
    iq = tmp_path / "iq"
    iq.mkdir()
    for i in range(3):
        (iq / f"cap{i}.cu8").write_bytes(b"\0" * 1000)
        os.utime(iq / f"cap{i}.cu8", (1000 + i, 1000 + i))
    ob = Outbox(store, "n1", max_mb=1e-9, keep_sent_s=3600, iq_dir=str(iq))
    seqs = [ob.add(k, {"i": i}) for i, k in enumerate(["observation", "health", "detection", "health",
                                                          "observation", "health"])]
    assert seqs == sorted(seqs) and len(set(seqs)) == 6
    ob.mark_sent([seqs[0], seqs[1]])
    assert [r.seq for r in ob.pending()] == seqs[2:]
    ob.enforce()  # under pressure: IQ files, sent records, old unsent heartbeats -- never obs/det
    assert list(iq.iterdir()) == []
    left = {r.seq: r.kind for r in ob.pending()}
    assert left == {seqs[2]: "detection", seqs[4]: "observation", seqs[5]: "health"}
    assert ob.full and ob.pruned == {"iq_files": 3, "sent": 2, "health": 1}
    nxt = ob.add("observation", {})
    assert nxt > seqs[-1]  # AUTOINCREMENT: a pruned seq is never reused
    ob.mark_sent([s for s in left] + [nxt])
    with store.engine.begin() as c:
        c.exec_driver_sql("DELETE FROM node_outbox")
    assert ob.add("health", {}) > nxt
    store.close()


def test_config_errors(tmp_path: Path) -> None:
    f = tmp_path / "n.toml"
    base = {"node": "n1", "server": "https://srv", "token": "t", "uplink": "mqtt", "source": "rtlsdr",
            "profile": "cn", "db": "/var/lib/fbsdetect/node.db"}

    def write(d: dict[str, Any]) -> str:
        f.write_text("\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in d.items()))
        return str(f)

    cfg = load_config(write(base))
    assert cfg.mqtt_url == "mqtt://srv:1883" and cfg.db_url == "sqlite:////var/lib/fbsdetect/node.db"
    for bad, field in ((dict(base, uplink="carrier-pigeon"), "uplink"), ({**base, "colour": "red"}, "colour"),
                       ({k: v for k, v in base.items() if k != "token"}, "token"),
                       (dict(base, node="a/b"), "node"), ({**base, "batch": 0}, "batch")):
        with pytest.raises(BadInput, match=field):
            load_config(write(bad))
    f.write_text("node = ")
    with pytest.raises(BadInput, match="TOML"):
        load_config(str(f))


class FlakyTransport:
    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.seen: list[int] = []
        self.connected = True
        self.last_error = "refused"

    def send(self, batch: list[Any]) -> list[int]:
        self.seen += [r.seq for r in batch]
        if self.fail > 0:
            self.fail -= 1
            return []
        return [r.seq for r in batch]

    def close(self) -> None:
        pass


def test_uplink_retries_until_acknowledged(tmp_path: Path) -> None:
    from fbsdetect.node.uplink import Uplink

    store = open_store(f"sqlite:///{tmp_path / 'node.db'}")
    ob = Outbox(store, "n1")
    for i in range(30):
        ob.add("observation", {"i": i})
    t = FlakyTransport(fail=2)
    up = Uplink(ob, t, batch=20)
    up.start()
    deadline = time.monotonic() + 10
    while ob.depth() and time.monotonic() < deadline:
        time.sleep(0.05)
    up.stop()
    assert ob.depth() == 0 and up.failures == 2 and up.sent == 30
    assert t.seen[:20] == t.seen[20:40]  # the same batch again after a failure
    store.close()


def test_heartbeat_fields(tmp_path: Path) -> None:
    from fbsdetect.node.health import heartbeat, temperature_c
    from fbsdetect.node.uplink import Uplink

    store = open_store(f"sqlite:///{tmp_path / 'node.db'}")
    ob = Outbox(store, "n1")
    hb = heartbeat(node="n1", source="rtlsdr:00000001", version="0.1.0", outbox=ob, sink=None,
                   uplink=Uplink(ob, FlakyTransport(0)), ppm=1.5, started=time.monotonic())
    for k in ("dongle_present", "last_decode", "ppm", "temperature_c", "disk", "outbox_depth",
              "software_version"):
        assert k in hb
    assert hb["dongle_present"] in (True, False) and hb["disk"]["free_mb"] > 0
    t = temperature_c()
    assert t is None or -40 < t < 150
    store.close()


@pytest.mark.parametrize("line", ["keep_sent_s = inf", "health_interval_s = nan", "outbox_max_mb = 1e309",
                                  "keep_sent_s = 1e12", "min_free_mb = -inf"])
def test_config_refuses_non_finite_and_absurd_numbers(line: str, tmp_path: Path) -> None:
    """Review (session 4) #24: keep_sent_s = inf turned the whole disk policy off (the pruning raised every
    time), health_interval_s = nan stopped the heartbeats."""
    f = tmp_path / "n.toml"
    f.write_text('node = "n1"\nserver = "https://srv"\ntoken = "t"\nuplink = "mqtt"\nsource = "rtlsdr"\n'
                 f'profile = "cn"\ndb = "/var/lib/fbsdetect/node.db"\n{line}\n')
    with pytest.raises(BadInput, match=line.split(" ")[0]):
        load_config(str(f))


def test_a_new_outbox_numbers_above_what_an_earlier_one_sent(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Review (session 4) #3: a re-flashed node (new SD card, re-install, deleted database) numbered from 1
    again, and the server, which keeps each (node, seq) once, acknowledged its new records as duplicates of
    the old ones: silently lost. A new outbox starts at its epoch; an existing one goes on where it was."""
    from datetime import UTC, datetime

    import fbsdetect.node.outbox as ob_mod
    from fbsdetect.server.ingest import MAX_SEQ

    def outbox_at(path: Path, when: datetime) -> tuple[Any, Outbox]:
        class _Clock(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
                return when

        monkeypatch.setattr(ob_mod, "datetime", _Clock)
        store = open_store(f"sqlite:///{path}")
        return store, Outbox(store, "n1")

    s1, first = outbox_at(tmp_path / "a.db", datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC))
    old = [first.add("observation", {"k": k}) for k in range(3)]
    s1.close()
    s1b, again = outbox_at(tmp_path / "a.db", datetime(2026, 3, 2, tzinfo=UTC))  # a restart: goes on
    assert again.add("observation", {}) == old[-1] + 1
    s1b.close()
    (tmp_path / "a.db").unlink()  # the SD card re-flashed a second later
    s2, fresh = outbox_at(tmp_path / "a.db", datetime(2026, 3, 1, 10, 0, 1, tzinfo=UTC))
    new = fresh.add("observation", {})
    assert new > old[-1] + 1 and new <= MAX_SEQ
    s2.close()
