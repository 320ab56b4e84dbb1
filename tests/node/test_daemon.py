"""`fbsdetect node` as systemd runs it: READY=1, watchdog pings from the scan's progress,
SIGTERM -> a clean end (outbox drained, exit 0) -> STOPPING=1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from tests.fleet.support import node_config, node_seqs, server_counts
from tests.node.conftest import Served


def test_notify_watchdog_and_sigterm(tmp_path: Path, served: Served) -> None:
    store, creds, server = served.store, served.creds, served.server
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(30)
    cfg = node_config(tmp_path / "n1.toml", creds, uplink="https", server=server.url, mqtt=None,
                      source="synthetic:20", duration_s=None, health_interval_s=1)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="2000000")
    p = subprocess.Popen([sys.executable, "-m", "fbsdetect", "node", "--config", str(cfg)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        msgs = [sock.recv(200).decode()]
        assert msgs[0].startswith("READY=1")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3:
            msgs.append(sock.recv(200).decode())
        assert msgs.count("WATCHDOG=1") >= 3  # every 0.5 s (a quarter of WatchdogSec)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0, p.stdout.read().decode()[-2000:] if p.stdout else ""
        rest = []
        sock.settimeout(1)
        try:
            while True:
                rest.append(sock.recv(200).decode())
        except TimeoutError:
            pass
        assert "STOPPING=1" in rest
        produced = node_seqs(cfg)
        per, _ = server_counts(store, "n1")
        assert sorted(per) == sorted(produced) and set(per.values()) == {1}  # drained, once each
    finally:
        if p.poll() is None:
            p.kill()
