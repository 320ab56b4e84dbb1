"""The MQTT ingest worker: subscribes `fbsdetect/v1/+/obs|det|health` (QoS 1, a
persistent session, so that the broker keeps what arrives while the server is
down) and stores each record once per (node, seq) through the `Ingestor`.

Messages are acknowledged (manual PUBACK) only after their transaction has
committed, so a server killed mid-batch gets them again from the broker; a
redelivered one is a duplicate by (node, seq) and changes nothing.
A message that cannot be stored -- not JSON, not a record, the payload's node
not the topic's, an unregistered node, a kind that is not the topic's, a bad
field -- is acknowledged and counted by reason (`rejected:<reason>`), never
retried and never fatal: the worker catches everything per message.
A database that is down keeps the batch (not acknowledged) and retries with
back-off.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any
from urllib.parse import unquote, urlparse

from fbsdetect.i18n import _
from fbsdetect.server.auth import INGEST_USER, node_principal
from fbsdetect.server.ingest import Ingestor, RecordError, check_record

log = logging.getLogger(__name__)

TOPIC_KIND = {"obs": "observation", "det": "detection", "health": "health"}
MAX_PAYLOAD = 128 * 1024


def redact(url: str) -> str:
    """The URL with its password replaced by ***."""
    import re

    return re.sub(r"(//[^/:@]*:)[^/]*@", r"\1***@", url)


def parse_mqtt_url(url: str) -> dict[str, Any]:
    from fbsdetect.errors import BadUsage

    try:
        u = urlparse(url)
        port = u.port
    except ValueError as exc:
        raise BadUsage(_("MQTT URL {url}: {error}").format(url=repr(redact(url)), error=exc)) from None
    if u.scheme not in ("mqtt", "mqtts"):
        raise BadUsage(_("MQTT URL {url}: mqtt://[USER:PASSWORD@]HOST[:PORT] or mqtts://...").format(
            url=repr(redact(url))))
    return {"host": u.hostname or "127.0.0.1", "port": port or (8883 if u.scheme == "mqtts" else 1883),
            "tls": u.scheme == "mqtts", "username": unquote(u.username) if u.username else None,
            "password": unquote(u.password) if u.password else None}


class MqttWorker:
    def __init__(self, store: Any, ingestor: Ingestor, url: str, *, client_id: str = "fbsdetect-server",
                 ca_file: str | None = None) -> None:
        self.store = store
        self.ingestor = ingestor
        self.cfg = parse_mqtt_url(url)
        if self.cfg["username"] is None:
            self.cfg["username"] = INGEST_USER
        self.client_id = client_id
        self.ca_file = ca_file
        self.q: queue.Queue[Any] = queue.Queue()
        self.stop_event = threading.Event()
        self.connected = False
        self.last_error: str | None = None
        self._said: str | None = None
        self._principals: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self.client: Any = None

    # -- paho callbacks (network thread) ---------------------------------------------------
    def _on_connect(self, client: Any, _u: Any, _flags: Any, rc: Any, _props: Any = None) -> None:
        if getattr(rc, "is_failure", False) or (isinstance(rc, int) and rc != 0):
            log.warning("mqtt: connect refused: %s", rc)
            return
        self.connected = True
        self.last_error = self._said = None
        client.subscribe([(f"fbsdetect/v1/+/{t}", 1) for t in TOPIC_KIND])
        log.info("mqtt: connected to %s:%s", self.cfg["host"], self.cfg["port"])

    def _on_connect_fail(self, *_a: Any) -> None:
        import sys

        from fbsdetect.node.uplink import tls_problem

        exc = sys.exc_info()[1]  # paho calls this while handling the connection's OSError
        where = f"{self.cfg['host']}:{self.cfg['port']}"
        why = tls_problem(exc, where, self.ca_file) or \
            f"cannot connect to {where}: {type(exc).__name__}: {exc}"
        self.last_error = why
        if why != self._said:  # once per reason, not on every retry
            log.warning("mqtt ingest: %s; retrying", why)
            self._said = why

    def _on_disconnect(self, *_a: Any) -> None:
        self.connected = False

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        self.q.put(msg)

    # -- life -------------------------------------------------------------------------------
    def start(self) -> None:
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False,
                        manual_ack=True)
        if self.cfg["username"]:
            c.username_pw_set(self.cfg["username"], self.cfg["password"])
        if self.cfg["tls"]:
            c.tls_set(ca_certs=self.ca_file)
        c.on_connect = self._on_connect
        c.on_connect_fail = self._on_connect_fail
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.reconnect_delay_set(1, 10)
        c.connect_async(self.cfg["host"], self.cfg["port"], keepalive=30)
        c.loop_start()
        self.client = c
        self._thread = threading.Thread(target=self._run, name="mqtt-ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.client is not None:
            self.client.loop_stop()
            self.client.disconnect()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the worker thread ------------------------------------------------------------------
    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                first = self.q.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            deadline = time.monotonic() + 0.05
            while len(batch) < 500 and time.monotonic() < deadline:
                try:
                    batch.append(self.q.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            backoff = 0.5
            while not self.stop_event.is_set():
                try:
                    self._handle(batch)
                    break
                except Exception as exc:  # the database is down: keep the batch, retry
                    self.ingestor.count("db_retries")
                    log.warning("mqtt ingest: %s: retrying in %.1f s", str(exc).splitlines()[0], backoff)
                    self.stop_event.wait(backoff)
                    backoff = min(backoff * 2, 10.0)

    def _reject(self, reason: str) -> None:
        self.ingestor.count("rejected")
        self.ingestor.count(f"rejected:{reason}")

    def _principal(self, node: str) -> Any:
        p = self._principals.get(node)
        if p is None:
            p = node_principal(self.store, node)
            if p is not None:
                self._principals[node] = p
        return p

    def _handle(self, batch: list[Any]) -> None:
        by_node: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
        for msg in batch:
            try:
                parts = str(msg.topic).split("/")
                if len(parts) != 4 or parts[:2] != ["fbsdetect", "v1"] or parts[3] not in TOPIC_KIND:
                    self._reject("topic")
                    continue
                if len(msg.payload) > MAX_PAYLOAD:
                    self._reject("oversized")
                    continue
                try:
                    rec = json.loads(msg.payload)
                except (ValueError, UnicodeDecodeError, RecursionError):
                    self._reject("not_json")
                    continue
                if isinstance(rec, dict) and "kind" not in rec:
                    rec = dict(rec, kind=TOPIC_KIND[parts[3]])
                try:
                    node, seq, kind, data = check_record(rec)
                except RecordError:
                    self._reject("malformed")
                    continue
                if node != parts[2]:
                    self._reject("node_mismatch")
                    continue
                if kind != TOPIC_KIND[parts[3]]:
                    self._reject("kind_mismatch")
                    continue
                by_node.setdefault(node, []).append((seq, kind, data))
            except Exception:
                self._reject("malformed")
        items = []
        for node, recs in by_node.items():
            who = self._principal(node)
            if who is None:
                self._reject("unknown_node")
                continue
            try:
                items.append(self.ingestor.prepare(who, recs, via="mqtt"))
            except RecordError:  # one bad record: keep the others
                for r in recs:
                    try:
                        items.append(self.ingestor.prepare(who, [r], via="mqtt"))
                    except RecordError:
                        self._reject("malformed")
        if items:
            from fbsdetect.server.ingest import _is_outage

            try:
                self.ingestor.ingest_many(items)  # one transaction for the whole batch
            except Exception as exc:
                if _is_outage(exc):
                    raise  # the database is down: _run retries the batch
                for it in items:  # one item the database refuses: store the others, reject it
                    try:
                        self.ingestor.ingest_many([it])
                    except Exception as exc1:
                        if _is_outage(exc1):
                            raise
                        log.warning("mqtt ingest: %s's records refused by the database: %s", it.who.name,
                                    str(exc1).splitlines()[0][:200])
                        for _ in it.firsts:
                            self._reject("refused_by_db")
        for msg in batch:  # committed (or rejected for good): acknowledge
            try:
                self.client.ack(msg.mid, msg.qos)
            except Exception:
                pass
        self.ingestor.count("mqtt_messages", len(batch))


class StatusFile:
    """The MQTT worker's state shared with `serve --workers N`'s HTTP worker processes (their
    /healthz): the main process, which runs the worker, rewrites a small JSON file every
    `every_s` (`start_writing`); a worker process reads it (`connected`, `alive`). A file not
    rewritten for `stale_s` means the main process's worker is gone: not alive, not connected."""

    def __init__(self, path: str, *, every_s: float = 1.0, stale_s: float = 5.0) -> None:
        self.path = path
        self.every_s = every_s
        self.stale_s = stale_s
        self._stop = threading.Event()

    def write(self, worker: MqttWorker) -> None:
        import os

        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"connected": bool(worker.connected), "worker_alive": bool(worker.alive),
                       "time": time.time()}, f)
        os.replace(tmp, self.path)

    def start_writing(self, worker: MqttWorker) -> None:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.write(worker)
                except OSError as exc:
                    log.warning("mqtt status file %s: %s", self.path, exc)
                self._stop.wait(self.every_s)

        self.write(worker)
        threading.Thread(target=run, name="mqtt-status", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _read(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as f:
                d = json.load(f)
        except (OSError, ValueError):
            return {}
        if not isinstance(d, dict) or not isinstance(d.get("time"), int | float) or \
                time.time() - d["time"] > self.stale_s:
            return {}
        return d

    @property
    def connected(self) -> bool:
        return bool(self._read().get("connected"))

    @property
    def alive(self) -> bool:
        return bool(self._read().get("worker_alive"))
