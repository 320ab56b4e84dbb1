"""`fbsdetect serve`: the central server (HTTP API + MQTT ingest worker + analyzer)."""

from __future__ import annotations

import argparse
from typing import Any

from fbsdetect.i18n import _, lazy

NAME = "serve"
HELP = lazy("run the central server (ingest from nodes, queries, dashboard)")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help=_("listen address (default: 127.0.0.1)"))
    p.add_argument("--port", type=int, default=8080, help=_("listen port (default: 8080)"))
    p.add_argument("--mqtt", metavar="URL",
                   help=_("MQTT broker to ingest from: mqtt[s]://[USER:PASSWORD@]HOST[:PORT] (user default "
                          "fbsdetect-ingest; default: $FBSDETECT_MQTT, else with --mosquitto-dir the broker "
                          "those files configure, mqtt://127.0.0.1:--mosquitto-port; else HTTP ingest only)"))
    p.add_argument("--no-mqtt", action="store_true",
                   help=_("no MQTT ingest worker even though a broker is configured (HTTP ingest only)"))
    p.add_argument("--mqtt-ca", metavar="FILE",
                   help=_("CA certificate for an mqtts:// broker (default: $FBSDETECT_MQTT_CA, else the "
                          "system's)"))
    p.add_argument("--mosquitto-dir", metavar="DIR",
                   help=_("write Mosquitto's passwd, acl and mosquitto.conf here from the node registry "
                          "(and again on every node registration); the ingest user's password is --mqtt's"))
    p.add_argument("--mosquitto-pidfile", metavar="FILE",
                   help=_("Mosquitto's pid file: sent SIGHUP after the files change (re-reads them)"))
    p.add_argument("--mosquitto-port", type=int, default=1883,
                   help=_("listener port written into mosquitto.conf (default: 1883)"))
    p.add_argument("--profile", default="cn", metavar="PROFILE",
                   help=_("scan profile the server-side detection engine judges with (default: cn)"))
    p.add_argument("--analyze-every-s", type=float, default=60.0, metavar="S",
                   help=_("run the detection engine over all ingested observations every S seconds "
                          "(cross-node fusion; 0: only on POST /api/v1/analyze; default: 60); an interval "
                          "without new observations is skipped, otherwise only what they can change is "
                          "re-evaluated"))
    p.add_argument("--full-analysis-every-s", type=float, default=3600.0, metavar="S",
                   help=_("re-analyse every observation (a full analysis, the incremental one's safety net) "
                          "at the first interval S seconds after the last full one; the first analysis "
                          "after start is always full (0: only when needed; default: 3600)"))
    p.add_argument("--map-refresh-s", type=float, default=30.0, metavar="S",
                   help=_("dashboard refresh period (default: 30)"))
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help=_("HTTP worker processes, each parsing, checking and writing its own requests' "
                          "records (their commits share the one audit chain, ordered by its lock); the MQTT "
                          "worker and the periodic analyzer stay in the main process (default: 1)"))
    p.add_argument("--tls-cert", metavar="FILE", help=_("serve HTTPS with this certificate (PEM)"))
    p.add_argument("--tls-key", metavar="FILE", help=_("the certificate's private key (PEM)"))
    p.add_argument("--write-mosquitto-only", action="store_true",
                   help=_("write the Mosquitto files (--mosquitto-dir) and exit"))


def run(args: argparse.Namespace) -> int:
    import logging
    import os
    import secrets
    import sys
    from pathlib import Path
    from urllib.parse import quote

    from fbsdetect.errors import BadUsage
    from fbsdetect.store import open_store, url_from_args

    if not 0 < args.port < 65536:
        raise BadUsage(_("--port must be in 1..65535"))
    import math
    import socket

    for flag, v in (("--analyze-every-s", args.analyze_every_s), ("--map-refresh-s", args.map_refresh_s),
                    ("--full-analysis-every-s", args.full_analysis_every_s)):
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise BadUsage(_("{flag} must be a finite number of seconds, 0 or more").format(flag=flag))
    try:  # said now in one line, not by uvicorn's "ERROR:" and exit 3 after start-up
        socket.getaddrinfo(args.host, args.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        msg = _("--host {host}: cannot be resolved ({error})").format(host=args.host, error=exc)
        raise BadUsage(msg) from None
    if bool(args.tls_cert) != bool(args.tls_key):
        raise BadUsage(_("--tls-cert and --tls-key go together"))
    if args.tls_cert:  # load them once now: a bad file is one line, not a worker dying forever
        import ssl

        for flag, f in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
            if not Path(f).is_file():
                raise BadUsage(_("{flag} {path}: no such file").format(flag=flag, path=f))
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(args.tls_cert, args.tls_key)
        except (ssl.SSLError, OSError) as exc:
            raise BadUsage(_("--tls-cert {cert} / --tls-key {key}: cannot load: {error}").format(
                cert=args.tls_cert, key=args.tls_key, error=exc)) from None
    if not 1 <= args.workers <= 64:
        raise BadUsage(_("--workers must be in 1..64"))
    if args.mqtt is not None and args.no_mqtt:
        raise BadUsage(_("--mqtt and --no-mqtt contradict each other"))
    if not 0 < args.mosquitto_port < 65536:
        raise BadUsage(_("--mosquitto-port must be in 1..65535"))
    from fbsdetect.server.mqtt_worker import parse_mqtt_url

    mqtt_url: str | None = args.mqtt if args.mqtt is not None else (os.environ.get("FBSDETECT_MQTT") or None)
    where = "--mqtt" if args.mqtt is not None else "$FBSDETECT_MQTT"
    if mqtt_url is not None:
        try:
            parse_mqtt_url(mqtt_url)
        except BadUsage as exc:
            raise BadUsage(_("{where}: {error}").format(where=where, error=exc)) from None
    ca_file = args.mqtt_ca or os.environ.get("FBSDETECT_MQTT_CA") or None
    if ca_file is not None and not Path(ca_file).is_file():
        raise BadUsage(_("{flag} {path}: no such file").format(flag="--mqtt-ca", path=ca_file))
    if args.write_mosquitto_only and not args.mosquitto_dir:
        raise BadUsage(_("--write-mosquitto-only needs --mosquitto-dir"))
    db_url = url_from_args(args)
    store = open_store(db_url)
    mosq = None
    if args.mosquitto_dir:
        from fbsdetect.server.app import _hup
        from fbsdetect.server.auth import INGEST_USER, mosquitto_conf, write_mosquitto_files

        password = (parse_mqtt_url(mqtt_url)["password"] if mqtt_url else None) or secrets.token_urlsafe(24)
        mosq = {"dir": args.mosquitto_dir, "password": password, "pidfile": args.mosquitto_pidfile}
        write_mosquitto_files(store, args.mosquitto_dir, ingest_password=password)
        conf = Path(args.mosquitto_dir) / "mosquitto.conf"
        conf.write_text(mosquitto_conf(args.mosquitto_dir, port=args.mosquitto_port), encoding="utf-8")
        if args.write_mosquitto_only:
            print(_("wrote {dir}/passwd, acl, mosquitto.conf").format(dir=args.mosquitto_dir))
            return 0
        _hup(args.mosquitto_pidfile)  # a running broker learns the password written now
        if mqtt_url is None:  # the broker these files configure
            mqtt_url = f"mqtt://{INGEST_USER}:{quote(password, safe='')}@127.0.0.1:{args.mosquitto_port}"
            where = "--mosquitto-dir"
    if args.no_mqtt:
        mqtt_url = None
    import uvicorn

    from fbsdetect.scan.profile import load_profile
    from fbsdetect.server.app import create_app
    from fbsdetect.server.fusion import Analyzer
    from fbsdetect.server.ingest import Ingestor

    ingestor = Ingestor(store)
    ingestor.start_writer()  # group commit of concurrent HTTP batches
    worker = None
    if mqtt_url is not None:
        from fbsdetect.server.mqtt_worker import MqttWorker

        worker = MqttWorker(store, ingestor, mqtt_url, ca_file=ca_file)
        cfg = worker.cfg
        print(_("fbsdetect serve: MQTT ingest from {url} as {user} ({where})").format(
            url=f"{'mqtts' if cfg['tls'] else 'mqtt'}://{cfg['host']}:{cfg['port']}", user=cfg["username"],
            where=where), file=sys.stderr, flush=True)
        worker.start()
    else:
        why = "--no-mqtt" if args.no_mqtt else \
            _("no broker configured (--mqtt, $FBSDETECT_MQTT, --mosquitto-dir)")
        print(_("fbsdetect serve: HTTP ingest only, {why}").format(why=why), file=sys.stderr, flush=True)
    analyzer = Analyzer(store, load_profile(args.profile), args.analyze_every_s,
                        full_every_s=args.full_analysis_every_s)
    analyzer.start()
    app: Any
    status: Any = None
    if args.workers == 1:
        app = create_app(store, ingestor=ingestor, worker=worker, analyzer=analyzer, mosquitto=mosq,
                         map_refresh_s=args.map_refresh_s)
    else:  # uvicorn's worker processes build their apps from this (fbsdetect.server.app.worker_app)
        import json
        import tempfile

        from fbsdetect import i18n

        # the settings (a database URL or the broker's ingest password may be among them) in a
        # file only this user reads, its path in the workers' environment
        fd, cfg_path = tempfile.mkstemp(prefix="fbsdetect-serve-", suffix=".json")
        os.fchmod(fd, 0o600)
        if worker is not None:  # its state, rewritten every second, for the workers' /healthz
            from fbsdetect.server.mqtt_worker import StatusFile

            status = StatusFile(cfg_path[:-len(".json")] + ".mqtt.json")
            status.start_writing(worker)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"db": db_url, "profile": args.profile, "mosquitto": mosq,
                       "map_refresh_s": args.map_refresh_s, "lang": i18n.current(),
                       "mqtt_status": status.path if status is not None else None}, f)
        os.environ["FBSDETECT_SERVE_WORKER"] = cfg_path
        app = "fbsdetect.server.app:worker_app"
    logging.getLogger(__name__).info("serving on %s:%d", args.host, args.port)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ssl_certfile=args.tls_cert,
                    ssl_keyfile=args.tls_key, timeout_graceful_shutdown=5, workers=args.workers,
                    factory=args.workers > 1)
    finally:
        if args.workers > 1:
            Path(os.environ.pop("FBSDETECT_SERVE_WORKER")).unlink(missing_ok=True)
        if status is not None:
            status.stop()
            Path(status.path).unlink(missing_ok=True)
        analyzer.stop()
        if worker is not None:
            worker.stop()
        store.close()
    return 0
