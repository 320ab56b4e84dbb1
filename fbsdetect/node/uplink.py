"""The node's uplinks: a thread drains the outbox, oldest unsent record first,
over HTTPS batches or MQTT (QoS 1), and marks acknowledged records sent.

Both are idempotent by (node, seq): the server stores a record once however often it
arrives, so the uplink simply resends whatever was not acknowledged (a lost answer, a
broker restart, a cut link) -- at least once on the wire, exactly once in the database.
Failures back off exponentially (0.5 s doubling to 30 s) and never stop the scan.

- HTTPS (`HttpsTransport`): `POST {server}/api/v1/ingest` with the node's bearer token,
  `batch` records at a time; a 200 acknowledges the batch. TLS when the URL is https
  (`ca_file` to pin a private CA). A 4xx other than 401/403/429 would repeat forever:
  the batch is retried with back-off and logged (it is a bug or a misconfiguration).
- MQTT (`MqttTransport`, paho-mqtt): topics `fbsdetect/v1/<node>/obs|det|health`,
  payload the record JSON, QoS 1; a PUBACK acknowledges a record. At most `batch`
  records in flight. The broker's ACL lets the node publish only under its own name.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any

from fbsdetect.node.outbox import Outbox, OutRecord

log = logging.getLogger(__name__)

TOPIC = {"observation": "obs", "detection": "det", "health": "health"}


def record_json(node: str, r: OutRecord) -> dict[str, Any]:
    return {"node": node, "seq": r.seq, "kind": r.kind, "data": r.payload}


def tls_problem(exc: BaseException | None, where: str, ca_file: str | None) -> str | None:
    """One clear line when `exc` (or what caused it) is a TLS failure, else None."""
    import ssl

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ssl.SSLCertVerificationError):
            against = f"the CA in {ca_file}" if ca_file else "the system's CAs (no ca_file set)"
            return (f"TLS: {where}'s certificate does not verify against {against}: "
                    f"{exc.verify_message or exc.reason}")
        if isinstance(exc, ssl.SSLError):
            return f"TLS: handshake with {where} failed: {exc.reason or exc}"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


class HttpsTransport:
    def __init__(self, server: str, token: str, node: str, *, ca_file: str | None = None,
                 timeout_s: float = 10.0) -> None:
        import ssl
        from urllib.parse import urlparse

        import httpx

        self.url = server.rstrip("/") + "/api/v1/ingest"
        u = urlparse(server)
        self.where = f"{u.hostname}:{u.port or (443 if u.scheme == 'https' else 80)}"
        self.ca_file = ca_file
        self.node = node
        self.refused = 0  # records the server refused for good (4xx): skipped
        self.client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s,
                                   verify=ssl.create_default_context(cafile=ca_file) if ca_file else True)
        self.connected = False
        self.last_error: str | None = None

    def send(self, batch: list[OutRecord]) -> list[int]:
        import httpx

        body = {"records": [record_json(self.node, r) for r in batch]}
        try:
            resp = self.client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            self.connected = False
            self.last_error = tls_problem(exc, self.where, self.ca_file) or f"{type(exc).__name__}: {exc}"
            return []
        self.connected = True
        if resp.status_code == 200:
            self.last_error = None
            return [r.seq for r in batch]
        self.last_error = f"HTTP {resp.status_code}: {resp.text[:200]}"
        if resp.status_code in (413, 422):  # the server refuses a record of the batch for good
            return self._refused(batch, resp)
        return []

    def _refused(self, batch: list[OutRecord], resp: Any) -> list[int]:
        """A refused batch: one record at a time, so that the good ones go through; a record
        refused alone is skipped (it stays in the outbox, marked sent; counted in `refused` and
        the heartbeat) instead of blocking every later record of the node."""
        if len(batch) == 1:
            r = batch[0]
            self.refused += 1
            self.last_error = None
            log.warning("uplink: the server refused record %d (%s) for good: HTTP %d: %s; skipped", r.seq,
                        r.kind, resp.status_code, resp.text[:200])
            return [r.seq]
        acked: list[int] = []
        for r in batch:
            got = self.send([r])
            if not got:  # an outage meanwhile: the rest later
                break
            acked += got
        return acked

    def close(self) -> None:
        self.client.close()


class MqttTransport:
    def __init__(self, url: str, node: str, *, username: str | None, password: str | None,
                 ca_file: str | None = None, window: int = 200) -> None:
        import paho.mqtt.client as mqtt

        from fbsdetect.server.mqtt_worker import parse_mqtt_url

        cfg = parse_mqtt_url(url)
        self.node = node
        self.window = window
        self.connected = False
        self.last_error: str | None = None
        self._acks: queue.Queue[int] = queue.Queue()
        self._mid_seq: dict[int, int] = {}
        self._inflight: set[int] = set()
        self._early: set[int] = set()
        self._epoch = 0
        self.busy = False
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fbsdetect-node-{node}",
                        clean_session=True)
        c.username_pw_set(username or node, password)
        if cfg["tls"]:
            c.tls_set(ca_certs=ca_file)
        c.max_inflight_messages_set(window)
        self.where = f"{cfg['host']}:{cfg['port']}"
        self.ca_file = ca_file
        c.on_connect = self._on_connect
        c.on_connect_fail = self._on_connect_fail
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.reconnect_delay_set(1, 30)
        c.connect_async(cfg["host"], cfg["port"], keepalive=30)
        c.loop_start()
        self.client = c

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        if getattr(rc, "is_failure", False):
            self.last_error = f"connect refused: {rc}"
            return
        self.connected = True
        self.last_error = None

    def _on_connect_fail(self, *_a: Any) -> None:
        import sys

        exc = sys.exc_info()[1]  # paho calls this while handling the connection's OSError
        self.last_error = tls_problem(exc, self.where, self.ca_file) or \
            (f"cannot connect to {self.where}: {type(exc).__name__}: {exc}" if exc else None)

    def _on_disconnect(self, *_a: Any) -> None:
        self.connected = False
        self._epoch += 1

    def _on_publish(self, _c: Any, _u: Any, mid: int, *_a: Any) -> None:
        self._acks.put(mid)

    def send(self, batch: list[OutRecord]) -> list[int]:
        import paho.mqtt.client as mqtt

        if not self.connected:
            self._mid_seq.clear()
            self._inflight.clear()
            time.sleep(0.5)
            return []
        epoch = self._epoch
        for r in batch:
            if r.seq in self._inflight or len(self._inflight) >= self.window:
                continue
            payload = json.dumps(record_json(self.node, r), separators=(",", ":"))
            info = self.client.publish(f"fbsdetect/v1/{self.node}/{TOPIC[r.kind]}", payload, qos=1)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                break
            self._mid_seq[info.mid] = r.seq
            self._inflight.add(r.seq)
        acked: list[int] = []
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and self._inflight:
            try:
                mid = self._acks.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self._early.add(mid)
            for m in list(self._early):
                seq = self._mid_seq.pop(m, None)
                if seq is not None:
                    self._early.discard(m)
                    self._inflight.discard(seq)
                    acked.append(seq)
            if len(acked) >= len(batch):
                break
        if epoch != self._epoch:  # reconnected meanwhile: resend whatever is not acknowledged
            self._mid_seq.clear()
            self._inflight.clear()
        self.busy = self.connected and bool(self._inflight)
        return acked

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Uplink:
    """The draining thread (see module docstring)."""

    def __init__(self, outbox: Outbox, transport: Any, *, batch: int = 200, linger_s: float = 0.2) -> None:
        self.outbox = outbox
        self.linger_s = linger_s
        self.transport = transport
        self.batch = batch
        self.stop_event = threading.Event()
        self.sent = 0
        self.failures = 0
        self.last_ok: float | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.outbox.changed.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.transport.close()
        except Exception:
            pass

    def _run(self) -> None:
        backoff = 0.5
        warned = False
        said: set[str] = set()  # the reasons logged during this outage (each once)
        while not self.stop_event.is_set():
            try:
                batch = self.outbox.pending(self.batch)
                if not batch:
                    if self.outbox.changed.wait(0.5):
                        self.stop_event.wait(self.linger_s)  # let a few records gather: one batch
                    self.outbox.changed.clear()
                    continue
                acked = self.transport.send(batch)
                if acked:
                    self.outbox.mark_sent(acked)
                    self.sent += len(acked)
                    self.last_ok = time.time()
                    backoff = 0.5
                    if warned:
                        log.warning("uplink: back (%d records waiting)", self.outbox.depth())
                        warned = False
                        said.clear()
                    continue
                if getattr(self.transport, "busy", False):  # acknowledgements still on their way
                    continue
                self.failures += 1
                why = getattr(self.transport, "last_error", None)
                if not warned or (why is not None and why not in said):  # also a reason learnt later
                    log.warning("uplink: %s; retrying with back-off", why or "no acknowledgement")
                    warned = True
                    said.add(why or "")
            except Exception as exc:  # never let the thread die
                self.failures += 1
                log.warning("uplink: %s", exc)
            self.stop_event.wait(backoff)
            backoff = min(backoff * 2, 30.0)

    def drained(self) -> bool:
        return self.outbox.depth() == 0
