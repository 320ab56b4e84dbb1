"""Helpers of the fleet tests: a private Mosquitto with the registry's passwd/ACL, the
server as a process (`fbsdetect serve`), a TCP proxy whose link can be cut, node configs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.proxy import TcpProxy, free_port  # noqa: F401  (re-exported for the fleet tests)

FBSDETECT = [sys.executable, "-m", "fbsdetect"]
INGEST_PASSWORD = "ingest-test-password"


def wait_port(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port}")


class Mosquitto:
    """A private broker on a free port, configured from the server's node registry."""

    def __init__(self, store: Any, directory: Path, *, tls: tuple[Path, Path] | None = None) -> None:
        if shutil.which("mosquitto") is None:
            pytest.skip("mosquitto is not installed (Debian package mosquitto)")
        self.store = store
        self.dir = directory
        self.tls = tls  # (certificate, key) of a TLS listener
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.write()

    def write(self) -> None:
        from fbsdetect.server.auth import mosquitto_conf, write_mosquitto_files

        write_mosquitto_files(self.store, self.dir, ingest_password=INGEST_PASSWORD)
        user = "root" if os.geteuid() == 0 else None
        conf = mosquitto_conf(self.dir, port=self.port, user=user)
        if self.tls is not None:  # the listener's certificate (the last listener's settings)
            conf += f"certfile {self.tls[0]}\nkeyfile {self.tls[1]}\n"
        (self.dir / "mosquitto.conf").write_text(conf)

    @property
    def scheme(self) -> str:
        return "mqtts" if self.tls is not None else "mqtt"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def ingest_url(self) -> str:
        return f"{self.scheme}://fbsdetect-ingest:{INGEST_PASSWORD}@127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.dir / "mosquitto.log", "ab")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.dir / "mosquitto.conf")], stdout=log,
                                     stderr=subprocess.STDOUT)
        wait_port(self.port)

    def reload(self) -> None:
        self.write()
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: Mosquitto saves its persistence file
            self.proc.wait(10)
        self.proc = None


class Server:
    """`fbsdetect serve` as a process."""

    def __init__(self, db_url: str, directory: Path, mqtt: str | None, *, args: tuple[str, ...] = (),
                 https: bool = False) -> None:
        self.db_url = db_url
        self.dir = directory
        self.mqtt = mqtt
        self.args = args  # more `serve` options (--tls-cert/--tls-key with https, --mqtt-ca)
        self.https = https
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.https else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [*FBSDETECT, "--db", self.db_url, "serve", "--port", str(self.port), "--analyze-every-s", "0",
               *self.args]
        if self.mqtt:
            cmd += ["--mqtt", self.mqtt]
        else:
            cmd += ["--no-mqtt"]
        log = open(self.dir / f"server-{self.port}.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        wait_port(self.port, 240)  # a loaded machine (50 nodes starting) takes a while

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def node_config(path: Path, creds: dict[str, str], *, uplink: str, server: str, mqtt: str | None,
                source: str, duration_s: float | None, health_interval_s: float = 5.0,
                profile: str = "cn", ca_file: Path | None = None) -> Path:
    lines = [f'node = "{creds["node"]}"', f'server = "{server}"', f'token = "{creds["token"]}"',
             f'uplink = "{uplink}"', f'source = "{source}"', f'profile = "{profile}"',
             f'db = "{path.with_suffix(".db")}"', f"health_interval_s = {health_interval_s}",
             f'mqtt_password = "{creds["mqtt_password"]}"']
    if mqtt:
        lines.append(f'mqtt = "{mqtt}"')
    if duration_s is not None:
        lines.append(f"duration_s = {duration_s}")
    if ca_file is not None:
        lines.append(f'ca_file = "{ca_file}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def start_node(config: Path, *, drain_timeout_s: float = 60.0) -> subprocess.Popen[bytes]:
    log = open(config.with_suffix(".log"), "ab")
    cmd = [*FBSDETECT, "-v", "node", "--config", str(config), "--drain-timeout", str(drain_timeout_s)]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def node_seqs(config: Path) -> dict[int, str]:
    """Every record the node's outbox holds: seq -> kind."""
    import sqlite3

    with sqlite3.connect(config.with_suffix(".db")) as c:
        return {int(s): k for s, k in c.execute("SELECT seq, kind FROM node_outbox")}


def server_counts(store: Any, node: str) -> tuple[dict[int, int], int]:
    """(seq -> times stored, observation rows of the node's sensor) in the server database."""
    from sqlalchemy import func, select

    from fbsdetect.store.models import IngestRecord, Observation, Sensor

    with store.session() as s:
        per = dict(s.execute(select(IngestRecord.seq, func.count()).where(IngestRecord.node == node)
                             .group_by(IngestRecord.seq)).all())
        n_obs = s.execute(select(func.count()).select_from(Observation).join(
            Sensor, Sensor.id == Observation.sensor_id).where(Sensor.name == node)).scalar_one()
    return {int(k): int(v) for k, v in per.items()}, int(n_obs)


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)
