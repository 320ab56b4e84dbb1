# ruff: noqa: B008  (FastAPI declares dependencies as argument defaults)
"""The central server's HTTP API (FastAPI): ingest, queries, evidence, dashboard.

`create_app(store, ...)` builds the app; `fbsdetect serve` runs it under uvicorn
with the MQTT ingest worker and the analyzer. Bearer tokens (`Authorization:
Bearer TOKEN`): no token or an unknown one -> 401, a known token of the wrong
role (or a node writing as another node) -> 403. Errors are JSON
`{"detail": "..."}`; malformed input is 4xx, never 500.
"""

import json
import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from fbsdetect.i18n import _
from fbsdetect.server.auth import Principal, add_user, check_name, lookup, register_node
from fbsdetect.server.ingest import MAX_BATCH, MAX_RECORD_BYTES, Ingestor, RecordError, check_record

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024 * 1024

RECORD_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["node", "seq", "kind", "data"],
    "properties": {"node": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
                   "seq": {"type": "integer", "minimum": 1, "maximum": 2**62},
                   "kind": {"type": "string", "enum": ["observation", "detection", "health"]},
                   "data": {"type": "object"}}}
BATCH_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["records"], "additionalProperties": False,
    "properties": {"records": {"type": "array", "items": RECORD_SCHEMA, "maxItems": MAX_BATCH}}}


def _err(code: int, detail: str) -> dict[str, Any]:
    return {"description": detail, "content": {"application/json": {"schema": {
        "type": "object", "properties": {"detail": {}}}}}}


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _err(401, "no or unknown token"), 403: _err(403, "wrong role"), 422: _err(422, "bad parameter")}


def _parse_bbox(bbox: str | None) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        s, w, n, e = (float(x) for x in bbox.split(","))
    except ValueError:
        raise ValueError(_("bbox: S,W,N,E in degrees")) from None
    import math

    if not all(math.isfinite(x) for x in (s, w, n, e)) or not (-90 <= s <= n <= 90) or not (
            -180 <= w <= 180 and -180 <= e <= 180):
        raise ValueError(_("bbox: S,W,N,E with -90 <= S <= N <= 90 and W, E within -180..180"))
    return s, w, n, e


def _parse_time(v: str | None, name: str) -> datetime | None:
    if v is None:
        return None
    try:
        t = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(_("{name}: an ISO-8601 time").format(name=name)) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def create_app(store: Any, *, ingestor: Ingestor | None = None, worker: Any = None, analyzer: Any = None,
               mosquitto: dict[str, Any] | None = None, map_refresh_s: float = 30.0) -> Any:
    from fbsdetect import __version__
    from fbsdetect.store.models import FleetNode, IngestRecord, Observation

    ing = ingestor or Ingestor(store)
    app = FastAPI(title="fbsdetect server", version=__version__,
                  description="Fake-base-station detector fleet: node ingest, queries, evidence, dashboard "
                              "(contracts.md section 9).")
    from fbsdetect.i18n.web import LanguageMiddleware

    app.add_middleware(LanguageMiddleware)  # each request in its Accept-Language's language (i18n)
    app.state.store, app.state.ingestor, app.state.worker, app.state.analyzer = store, ing, worker, analyzer
    bearer = HTTPBearer(auto_error=False, description="a node, investigator or admin token")
    cache: dict[str, tuple[float, Principal | None]] = {}

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_r: Request, exc: RequestValidationError) -> JSONResponse:
        from fbsdetect.server.validation import message

        errs = exc.errors()
        first = errs[0] if errs else {}
        return JSONResponse({"detail": message(first)}, status_code=422)   # in the request's language

    def _token(request: Request | None, cred: HTTPAuthorizationCredentials | None) -> str:
        token = cred.credentials if cred is not None else None
        if token is None and request is not None:
            token = request.cookies.get("fbsdetect_token")
        if not token or len(token) > 256:
            raise HTTPException(401, _("no token: Authorization: Bearer TOKEN"),
                                headers={"WWW-Authenticate": "Bearer"})
        return token

    def _known(hit: tuple[float, Principal | None]) -> Principal:
        if hit[1] is None:
            raise HTTPException(401, _("unknown token"), headers={"WWW-Authenticate": "Bearer"})
        return hit[1]

    def _lookup(token: str) -> Principal:
        hit = (time.monotonic(), lookup(store, token))
        if len(cache) > 10000:
            cache.clear()
        cache[token] = hit
        return _known(hit)

    def principal_sync(request: Request | None, cred: HTTPAuthorizationCredentials | None) -> Principal:
        token = _token(request, cred)
        hit = cache.get(token)
        return _known(hit) if hit is not None and time.monotonic() - hit[0] <= 5.0 else _lookup(token)

    # the dependencies are coroutines: a plain function would be run in the thread pool, a thread
    # hand-off per request (measured: a third of an empty ingest request's CPU); only a token not
    # looked up in the last 5 s goes to the database, in the pool
    async def principal(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(bearer)
                        ) -> Principal:
        token = _token(request, cred)
        hit = cache.get(token)
        if hit is not None and time.monotonic() - hit[0] <= 5.0:
            return _known(hit)
        from fastapi.concurrency import run_in_threadpool

        return await run_in_threadpool(_lookup, token)

    def _reader(p: Principal) -> Principal:
        if p.role not in ("investigator", "admin"):
            raise HTTPException(403, _("role {role} cannot read this (investigator or admin)").format(
                role=p.role))
        return p

    async def reader(p: Principal = Depends(principal)) -> Principal:
        return _reader(p)

    async def admin(p: Principal = Depends(principal)) -> Principal:
        if p.role != "admin":
            raise HTTPException(403, _("role {role}: admin only").format(role=p.role))
        return p

    @app.get("/healthz", summary="liveness (no auth)")
    def healthz() -> dict[str, Any]:
        out: dict[str, Any] = {"status": "ok", "version": __version__}
        if worker is not None:
            out["mqtt"] = {"connected": bool(worker.connected), "worker_alive": bool(worker.alive)}
        return out

    @app.post("/api/v1/ingest", summary="a node's batch of records", responses={
        **AUTH_ERRORS, 400: _err(400, "not JSON"), 413: _err(413, "too large"),
        503: _err(503, "database unavailable: retry")},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
            "schema": BATCH_SCHEMA}}}, "security": [{"HTTPBearer": []}]})
    async def ingest(request: Request) -> Any:
        # the token read here, not through FastAPI's dependency solver: the busiest endpoint (a
        # node's batch every fraction of a second) spent a third of its CPU resolving Depends
        auth = request.headers.get("authorization") or ""
        scheme, _sp, token = auth.partition(" ")
        p = await principal(request, HTTPAuthorizationCredentials(scheme=scheme, credentials=token)
                            if scheme.lower() == "bearer" and token else None)
        if p.role != "node":
            raise HTTPException(403, _("role {role} cannot ingest (node tokens only)").format(role=p.role))
        n = request.headers.get("content-length")
        if n is not None and (not n.isdigit() or int(n) > MAX_BODY):
            raise HTTPException(413, _("body larger than {n} bytes").format(n=MAX_BODY))
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise HTTPException(413, _("body larger than {n} bytes").format(n=MAX_BODY))
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            ing.count("rejected:not_json")
            raise HTTPException(400, _("body: not JSON")) from None
        recs = doc.get("records") if isinstance(doc, dict) else None
        if not isinstance(recs, list):
            raise HTTPException(422, _("body.records: a list of records"))
        # the token's node against every record's node, before anything else
        if any(not isinstance(r, dict) or r.get("node") != p.name for r in recs):
            ing.count("rejected:node_mismatch")
            raise HTTPException(403, _("a record's node is not {node}: batch refused").format(
                node=repr(p.name)))
        if len(recs) > MAX_BATCH:
            raise HTTPException(413, _("more than {n} records in one batch").format(n=MAX_BATCH))
        if set(doc) - {"records"}:
            raise HTTPException(422, _("body: unknown field {field}").format(
                field=repr(sorted(set(doc) - {"records"})[0])))
        try:
            checked = [check_record(r) for r in recs]
            item = ing.prepare(p, [(s, k, d) for _n, s, k, d in checked], via="http")
        except RecordError as exc:
            ing.count("rejected:malformed")
            raise HTTPException(422, str(exc)) from None
        from fbsdetect.server.ingest import refused_by_db

        try:
            res = await ing.submit_async(item)
        except Exception as exc:
            if not refused_by_db(exc) and not isinstance(exc, SQLAlchemyError | TimeoutError):
                raise
            if refused_by_db(exc):  # this batch alone is what the database refuses: not a retry
                ing.count("rejected:refused_by_db")
                raise HTTPException(422, _("a record the database refuses: {error}").format(
                    error=type(exc).__name__)) from None
            # the database is down: the node retries
            ing.count("db_errors")
            raise HTTPException(503, _("database unavailable: {error}").format(
                error=type(exc).__name__)) from None
        return Response(f'{{"stored":{res.stored},"duplicates":{res.duplicates}}}',
                        media_type="application/json")

    def _obs_query(bbox: str | None, since: str | None, until: str | None, node: str | None) -> Any:
        try:
            box = _parse_bbox(bbox)
            t0, t1 = _parse_time(since, "since"), _parse_time(until, "until")
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        q = select(Observation)
        if box is not None:
            s, w, n, e = box
            q = q.where(Observation.lat >= s, Observation.lat <= n)
            q = q.where(Observation.lon >= w, Observation.lon <= e) if w <= e else \
                q.where((Observation.lon >= w) | (Observation.lon <= e))
        if t0 is not None:
            q = q.where(Observation.time >= t0)
        if t1 is not None:
            q = q.where(Observation.time <= t1)
        if node is not None:
            from fbsdetect.store.models import Sensor

            q = q.join(Sensor, Sensor.id == Observation.sensor_id).where(Sensor.name == node)
        return q

    @app.get("/api/v1/observations", summary="observations by area and time", responses=AUTH_ERRORS)
    def observations(bbox: str | None = Query(None, description="S,W,N,E in degrees", max_length=200),
                     since: str | None = Query(None, max_length=40),
                     until: str | None = Query(None, max_length=40),
                     node: str | None = Query(None, max_length=64),
                     limit: int = Query(1000, ge=1, le=100000), offset: int = Query(0, ge=0, le=10**9),
                     _p: Principal = Depends(reader)) -> dict[str, Any]:
        q = _obs_query(bbox, since, until, node).order_by(Observation.id).limit(limit).offset(offset)
        with store.session() as s:
            rows = list(s.scalars(q))
            out = []
            for r in rows:
                d = r.to_cell().to_json()
                d["id"] = r.id
                out.append(d)
        return {"observations": out, "count": len(out)}

    @app.get("/api/v1/cells", summary="cell identities seen by area and time", responses=AUTH_ERRORS)
    def cells(bbox: str | None = Query(None, max_length=200), since: str | None = Query(None, max_length=40),
              until: str | None = Query(None, max_length=40),
              _p: Principal = Depends(reader)) -> dict[str, Any]:
        base = _obs_query(bbox, since, until, None).subquery()
        q = select(base.c.mcc, base.c.mnc, base.c.lac, base.c.cid, base.c.arfcn, base.c.bsic,
                   func.count(), func.min(base.c.time), func.max(base.c.time), func.max(base.c.power_dbm)
                   ).group_by(base.c.mcc, base.c.mnc, base.c.lac, base.c.cid, base.c.arfcn, base.c.bsic)
        with store.session() as s:
            out = [{"mcc": a, "mnc": b, "lac": c, "cid": d, "arfcn": e, "bsic": f, "observations": n,
                    "first_seen": t0.isoformat() if t0 else None, "last_seen": t1.isoformat() if t1 else None,
                    "max_power_dbm": pw} for a, b, c, d, e, f, n, t0, t1, pw in s.execute(q)]
        return {"cells": out, "count": len(out)}

    @app.get("/api/v1/detections", summary="detections: the server's fused ones and the nodes' own, merged",
             responses=AUTH_ERRORS)
    def detections(_p: Principal = Depends(reader)) -> dict[str, Any]:
        from fbsdetect.detect.engine import list_detections
        from fbsdetect.server.fusion import node_incidents

        return {"detections": list_detections(store), "incidents": node_incidents(store)}

    @app.get("/api/v1/detections/{detection_id}/evidence", summary="evidence package (zip) of a detection",
             responses={**AUTH_ERRORS, 404: _err(404, "no such detection")})
    def evidence(detection_id: int, _p: Principal = Depends(reader)) -> Any:
        from fbsdetect.store.models import Detection

        if not 0 < detection_id < 2**31:
            raise HTTPException(404, _("no such detection"))
        with store.session() as s:
            if s.get(Detection, detection_id) is None:
                raise HTTPException(404, _("no such detection"))
        import shutil

        from starlette.background import BackgroundTask

        from fbsdetect.export.evidence import build_evidence

        folder = Path(tempfile.mkdtemp(prefix="fbsdetect-evidence-"))
        out = folder / f"evidence-{detection_id}.zip"
        try:
            build_evidence(store, detection_id, out, pdf=False)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        # the package's folder goes once the answer is sent (a package can be hundreds of MB)
        return FileResponse(out, media_type="application/zip", filename=out.name,
                            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))

    @app.post("/api/v1/analyze", summary="run the detection engine over all ingested observations now",
              responses=AUTH_ERRORS)
    def analyze_now(_p: Principal = Depends(admin)) -> dict[str, Any]:
        from fbsdetect.server.fusion import Analyzer

        a = analyzer or Analyzer(store, None, 0)
        return a.run_once()

    @app.get("/api/v1/nodes", summary="registered nodes and their last heartbeat", responses=AUTH_ERRORS)
    def nodes(_p: Principal = Depends(reader)) -> dict[str, Any]:
        with store.session() as s:
            q = select(IngestRecord.node, func.count()).group_by(IngestRecord.node)
            counts = {str(k): int(v) for k, v in s.execute(q).all()}
            out = [{"node": n.name, "enabled": n.enabled, "created_at": n.created_at.isoformat(),
                    "last_seen": n.last_seen.isoformat() if n.last_seen else None, "health": n.health,
                    "records": int(counts.get(n.name, 0))}
                   for n in s.scalars(select(FleetNode).order_by(FleetNode.name))]
        return {"nodes": out}

    @app.post("/api/v1/nodes", summary="register a node (admin): its credentials, shown once",
              responses=AUTH_ERRORS)
    def register(body: dict[str, str], _p: Principal = Depends(admin)) -> dict[str, str]:
        from fbsdetect.errors import BadUsage

        name = body.get("name")
        try:
            check_name(name or "")
            creds = register_node(store, name or "")
        except BadUsage as exc:
            raise HTTPException(422, str(exc)) from None
        if mosquitto is not None:
            from fbsdetect.server.auth import write_mosquitto_files

            write_mosquitto_files(store, mosquitto["dir"], ingest_password=mosquitto["password"])
            _hup(mosquitto.get("pidfile"))
        cache.clear()
        return creds

    @app.post("/api/v1/users", summary="add an investigator or admin (admin)", responses=AUTH_ERRORS)
    def users(body: dict[str, str], _p: Principal = Depends(admin)) -> dict[str, str]:
        from fbsdetect.errors import BadUsage

        try:
            token = add_user(store, body.get("name") or "", body.get("role") or "")
        except BadUsage as exc:
            raise HTTPException(422, str(exc)) from None
        return {"user": body["name"], "token": token}

    @app.get("/api/v1/stats", summary="ingest counters (stored, duplicates, rejections by reason)",
             responses=AUTH_ERRORS)
    def stats(_p: Principal = Depends(admin)) -> dict[str, Any]:
        return {"counts": dict(ing.counts), "analysis": getattr(analyzer, "last", None)}

    state: dict[Any, Any] = {}

    @app.get("/dashboard", response_class=HTMLResponse, summary="live dashboard (map + nodes), refreshed",
             responses=AUTH_ERRORS)
    def dashboard(request: Request, token: str | None = Query(None, max_length=256,
                                                              pattern="^[A-Za-z0-9_-]+$")) -> Any:
        if token is not None:  # a browser: keep the token in a cookie, drop it from the address
            r = RedirectResponse("/dashboard", status_code=303)
            r.set_cookie("fbsdetect_token", token, httponly=True, samesite="strict")
            return r
        cred = request.headers.get("authorization", "")
        c = HTTPAuthorizationCredentials(scheme="Bearer", credentials=cred[7:]) \
            if cred.lower().startswith("bearer ") else None
        _reader(principal_sync(request, c))
        rows = nodes(_p=Principal("dashboard", "admin"))["nodes"]
        det = detections(_p=Principal("dashboard", "admin"))
        from html import escape

        from fbsdetect import i18n

        trs = "".join(
            f"<tr><td>{escape(n['node'])}</td><td>{escape(i18n.format_stored_time(n['last_seen']))}</td>"
            f"<td>{n['records']}</td>"
            f"<td>{escape(json.dumps((n['health'] or {}).get('outbox_depth')))}</td>"
            f"<td>{escape(json.dumps((n['health'] or {}).get('dongle_present')))}</td></tr>" for n in rows)
        drs = "".join(
            f"<tr><td>{escape(i18n.severity_word(d['severity']))}</td><td>{escape(json.dumps(d['cell']))}</td>"
            f"<td>{escape(', '.join(d['sensors']))}</td><td>{escape(i18n.format_stored_time(d['last_seen']))}"
            f"</td></tr>" for d in det["detections"])
        th = "".join(f"<th>{escape(x)}</th>" for x in (
            _("severity"), _("cell"), _("nodes"), _("last seen")))
        thn = "".join(f"<th>{escape(x)}</th>" for x in (
            _("node"), _("last seen"), _("records"), _("outbox"), _("dongle")))
        title = escape(_("fbsdetect fleet"))
        h_det = escape(_("Detections ({n})").format(n=len(det["detections"])))
        h_nodes = escape(_("Nodes ({n})").format(n=len(rows)))
        page = f"""<!doctype html><html lang="{i18n.html_lang()}"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{int(map_refresh_s)}"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:1em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px}} iframe{{width:100%;height:60vh;border:1px solid #999}}</style>
</head><body><h1>{title}</h1><iframe src="/dashboard/map"></iframe>
<h2>{h_det}</h2><table><tr>{th}</tr>{drs}</table>
<h2>{h_nodes}</h2><table><tr>{thn}</tr>{trs}</table></body></html>"""
        return HTMLResponse(page)

    @app.get("/dashboard/map", response_class=HTMLResponse, summary="the map (fbsdetect.mapping), cached",
             responses=AUTH_ERRORS)
    def dashboard_map(_p: Principal = Depends(reader)) -> Any:
        from fbsdetect.i18n import current

        now, lang = time.monotonic(), current()  # one cached map per language
        if state.get(("map", lang)) is None or now - state.get(("map_at", lang), -1e9) > map_refresh_s:
            from fbsdetect.mapping import write_map

            with tempfile.TemporaryDirectory(prefix="fbsdetect-map-") as d:  # only the text is kept
                write_map(store, Path(d) / "map.html", title=_("fbsdetect fleet"))
                state[("map", lang)] = (Path(d) / "map.html").read_text(encoding="utf-8")
            state[("map_at", lang)] = now
        return HTMLResponse(state[("map", lang)])

    return app


def worker_app() -> Any:
    """The app of one `serve --workers N` process (uvicorn calls this factory in each): its own
    connection pool and ingest writer, an analyzer for POST /api/v1/analyze; the MQTT worker
    and the periodic analysis run in the main process only. /healthz shows that worker's state
    as the main process last wrote it (`mqtt_worker.StatusFile`); /api/v1/stats describes the
    process that answers."""
    import os

    from fbsdetect.scan.profile import load_profile
    from fbsdetect.server.fusion import Analyzer
    from fbsdetect.store import open_store

    cfg = json.loads(Path(os.environ["FBSDETECT_SERVE_WORKER"]).read_text(encoding="utf-8"))
    if cfg.get("lang"):  # `serve --lang`: the language of requests without Accept-Language
        from fbsdetect.i18n import set_language

        set_language(cfg["lang"])
    store = open_store(cfg["db"])
    ing = Ingestor(store)
    ing.start_writer()
    worker = None
    if cfg.get("mqtt_status"):  # the main process's MQTT worker, as it last wrote its state
        from fbsdetect.server.mqtt_worker import StatusFile

        worker = StatusFile(cfg["mqtt_status"])
    return create_app(store, ingestor=ing, worker=worker,
                      analyzer=Analyzer(store, load_profile(cfg["profile"]), 0),
                      mosquitto=cfg["mosquitto"], map_refresh_s=float(cfg["map_refresh_s"]))


def _hup(pidfile: str | None) -> None:
    """Tells Mosquitto to re-read its password and ACL files."""
    if not pidfile:
        return
    import os
    import signal

    try:
        pid = int(Path(pidfile).read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        if comm != "mosquitto":  # a stale pid file: never signal another process
            log.warning("not signalling pid %d from %s: it is %r, not mosquitto", pid, pidfile, comm)
            return
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as exc:
        log.warning("could not signal mosquitto (%s): %s", pidfile, exc)


__all__ = ["MAX_RECORD_BYTES", "create_app", "worker_app"]
