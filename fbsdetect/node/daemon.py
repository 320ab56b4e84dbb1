"""`fbsdetect node --config node.toml`: the fixed sensor node.

The same scan -> detect -> store pipeline as `fbsdetect scan` (ScanRunner, the live
Detector, the store) into the node's own SQLite, whose outbox (`Outbox`) the uplink
thread drains to the server (`Uplink`: MQTT or HTTPS, idempotent by (node, seq)).
A housekeeping thread adds a heartbeat every `health_interval_s`, the node's own
detections whenever they change (each version a new record; the server keeps the
newest per (node, detection id)), and applies the outbox's disk policy.

systemd: `Type=notify` -- READY=1 once the outbox and uplink are up; WATCHDOG=1 from
the scan's progress (the sink's flush, at least once a second), so that a hung dongle
stops the pings and systemd restarts the node; STOPPING=1 on the way out. SIGTERM
ends the scan cleanly (its summary stored), drains the outbox for at most 10 s and
exits 0; what is not sent stays in the outbox for the next start.

With a `sim:` source the node ends when the scene's duration has passed and its
outbox has drained (at most `drain_timeout_s`): exit 0 when drained, 1 when not.

`synthetic:RATE` (tests, bench): no radio, RATE made-up observations a second through
the very same sink, outbox and uplink (the fleet tests count records, not cells).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import signal
import threading
import time
from datetime import UTC, datetime
from typing import Any

from fbsdetect.i18n import _
from fbsdetect.node.config import NodeConfig
from fbsdetect.node.health import heartbeat
from fbsdetect.node.notify import Notifier
from fbsdetect.node.outbox import Outbox
from fbsdetect.node.sink import OutboxSink
from fbsdetect.node.uplink import HttpsTransport, MqttTransport, Uplink

log = logging.getLogger(__name__)


DETECTION_MAX_BYTES = 48 * 1024  # under the server's 64 KiB a record, as it measures (ASCII-escaped)


def fit_detection(d: dict[str, Any]) -> dict[str, Any]:
    """A detection record within the server's size limit: an SMS blaster's many messages
    would make it too big to be accepted; then only the newest SMS that fit are sent, with
    `sms_count` (all of them) and `sms_truncated`."""
    def size(x: dict[str, Any]) -> int:
        return len(json.dumps(x, default=str))

    sms = list(d.get("sms") or [])
    if size(d) <= DETECTION_MAX_BYTES or not sms:
        return d
    keep = len(sms)
    out = d
    while keep > 0:
        keep //= 2
        out = dict(d, sms=sms[len(sms) - keep:] if keep else [], sms_count=len(sms), sms_truncated=True)
        if size(out) <= DETECTION_MAX_BYTES:
            break
    return out


class NodeDaemon:
    def __init__(self, cfg: NodeConfig, *, drain_timeout_s: float = 60.0) -> None:
        from fbsdetect.store import open_store

        self.cfg = cfg
        self.drain_timeout_s = drain_timeout_s
        self.notifier = Notifier()
        self.store = open_store(cfg.db_url)
        self.outbox = Outbox(self.store, cfg.node, max_mb=cfg.outbox_max_mb, min_free_mb=cfg.min_free_mb,
                             keep_sent_s=cfg.keep_sent_s, iq_dir=cfg.iq_dir)
        self.transport: Any
        if cfg.uplink == "https":
            self.transport = HttpsTransport(cfg.server, cfg.token, cfg.node, ca_file=cfg.ca_file)
        else:
            self.transport = MqttTransport(cfg.mqtt_url, cfg.node, username=cfg.mqtt_username,
                                           password=cfg.mqtt_password, ca_file=cfg.ca_file, window=cfg.batch)
        self.uplink = Uplink(self.outbox, self.transport, batch=cfg.batch)
        self.sink = OutboxSink(self.store, self.outbox, node=cfg.node, on_progress=self.notifier.watchdog)
        self.stop_event = threading.Event()
        self.started = time.monotonic()
        self.ppm: float | None = None
        self._det_digest: dict[int, str] = {}
        self._house: threading.Thread | None = None
        self.runner: Any = None
        self.stopping = False  # SIGTERM: no new sweep

    # -- housekeeping ------------------------------------------------------------------------
    def health(self) -> None:
        from fbsdetect import __version__

        if self.runner is not None:
            try:
                self.ppm = self.runner.ppm_estimate().get("estimate")
            except Exception:
                pass
        self.outbox.add("health", heartbeat(node=self.cfg.node, source=self.cfg.source, version=__version__,
                                            outbox=self.outbox, sink=self.sink, uplink=self.uplink,
                                            ppm=self.ppm, started=self.started))

    def detections(self) -> int:
        """Enqueues the node's detections that are new or changed since last time."""
        from fbsdetect.detect.engine import list_detections

        n = 0
        for d in list_detections(self.store):
            dig = hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()
            if self._det_digest.get(d["id"]) != dig:
                self.outbox.add("detection", fit_detection(dict(d, node=self.cfg.node)))
                self._det_digest[d["id"]] = dig
                n += 1
        return n

    def _housekeeping(self) -> None:
        next_health = 0.0
        next_enforce = 0.0
        while not self.stop_event.wait(1.0):
            now = time.monotonic()
            try:
                if now >= next_health:
                    self.health()
                    next_health = now + self.cfg.health_interval_s
                if now >= next_enforce:
                    self.detections()
                    self.outbox.enforce()
                    next_enforce = now + 30.0
            except Exception as exc:
                log.warning("node housekeeping: %s", exc)

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> int:
        interrupted = {"v": False}

        def on_term(_sig: int, _frame: Any) -> None:
            interrupted["v"] = True
            self.stopping = True
            if self.sink.defer_interrupt():  # between an observation's commit and its outbox
                return                       # record's: raised once both are in (review 2)
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGTERM, on_term)
        self.uplink.start()
        self._house = threading.Thread(target=self._housekeeping, name="housekeeping", daemon=True)
        self._house.start()
        self.notifier.ready(f"node {self.cfg.node}: scanning {self.cfg.source}")
        try:
            try:
                if self.cfg.source.startswith("synthetic:"):
                    self._synthetic()
                else:
                    self._scan()
            except KeyboardInterrupt:
                interrupted["v"] = True
            try:
                self.detections()
                self.health()
            except Exception as exc:
                log.warning("node: final records: %s", exc)
            timeout = min(self.drain_timeout_s, 10.0) if interrupted["v"] else self.drain_timeout_s
            self.notifier.status(f"draining the outbox ({self.outbox.depth()} records)")
            drained = self.drain(timeout)
        except KeyboardInterrupt:
            drained = self.outbox.depth() == 0
        finally:
            signal.signal(signal.SIGTERM, old)
            self.notifier.stopping()
            self.stop_event.set()
            self.uplink.stop()
            self.store.close()
        left = self.outbox.depth() if not drained else 0
        if not drained:
            log.error("node: %d records not sent within the drain timeout (kept in the outbox)", left)
        return 0 if drained or interrupted["v"] else 1

    def drain(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.notifier.watchdog()
            if self.outbox.depth() == 0:
                return True
            time.sleep(0.2)
        return self.outbox.depth() == 0

    def _scan(self) -> None:
        from fbsdetect import __version__
        from fbsdetect.cli.scan import _detector
        from fbsdetect.geo import open_gps
        from fbsdetect.scan.profile import load_profile
        from fbsdetect.scan.runner import ScanRunner
        from fbsdetect.sources.open import open_source

        profile = load_profile(self.cfg.profile)
        src = open_source(self.cfg.source)
        gps = open_gps(self.cfg.gps, source=src)
        detector = _detector(self.store, profile)
        try:
            while not self.stopping:
                self.runner = ScanRunner(src, profile, self.sink, source_spec=self.cfg.source, gps=gps,
                                         detector=detector, sensor=self.cfg.node,
                                         duration_s=self.cfg.duration_s,
                                         software_version=__version__, log=lambda s: log.info("%s", s))
                self.runner.run()  # a SIGTERM ends it cleanly (its summary stored)
                if self.stopping or getattr(src, "exhausted", False) or self.cfg.duration_s is not None:
                    break
        finally:
            if detector is not None:
                try:
                    detector.close()
                except Exception as exc:
                    log.warning("detector close: %s", exc)
            gps.close()
            src.close()

    def _synthetic(self) -> None:
        """`synthetic:RATE`: RATE observations a second (module docstring)."""
        from fbsdetect import __version__
        from fbsdetect.scan.sink import RunInfo
        from fbsdetect.types import CellObservation

        try:
            rate = float(self.cfg.source.split(":", 1)[1])
        except ValueError:
            from fbsdetect.errors import BadInput

            raise BadInput(_("{path}: field 'source': synthetic:RATE (observations a second)").format(
                path=self.cfg.path)) from None
        rng = random.Random(self.cfg.node)
        lat0, lon0 = 31.2 + rng.uniform(-0.05, 0.05), 121.4 + rng.uniform(-0.05, 0.05)
        start = datetime.now(UTC)
        self.sink.run_started(RunInfo(source=self.cfg.source, profile=self.cfg.profile, sensor=self.cfg.node,
                                      start_time=start, software_version=__version__))
        t0 = time.monotonic()
        n = 0
        duration = self.cfg.duration_s
        while not self.stopping:
            el = time.monotonic() - t0
            if duration is not None and el >= duration:
                break
            while n < el * rate:
                cid = rng.randrange(1, 40)
                obs = CellObservation(arfcn=10 + cid, band="P-GSM900", freq_hz=935.2e6 + 0.2e6 * (10 + cid),
                                      bsic=cid % 64, mcc=460, mnc=0, lac=9000 + cid // 8, cid=cid,
                                      power_dbm=-60 - rng.random() * 30, snr_db=20.0, blocks_ok=8,
                                      time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                                      lat=lat0, lon=lon0, gps_mode=3, gps_error_m=2.5, sensor=self.cfg.node)
                self.sink.observation(obs, radio_s=el, tuning_id=None, kind="dwell", frames=())
                n += 1
            self.sink.flush()
            time.sleep(0.2)
        self.sink.run_ended({"synthetic": True, "observations": n})


def run_node(cfg: NodeConfig, *, drain_timeout_s: float = 60.0) -> int:
    return NodeDaemon(cfg, drain_timeout_s=drain_timeout_s).run()
