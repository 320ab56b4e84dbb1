"""Sustained ingest into PostgreSQL: N simulated nodes (default 100) POST their records to a
real `fbsdetect serve` process (uvicorn, one worker) in batches, the way the node's HTTPS
uplink does (each node sends what accumulated since its last acknowledged batch); the
server stores every record once per (node, seq) with its observation row and audit entry.

    .venv/bin/python bench/bench_ingest.py [--nodes 100] [--rate 2000] [--duration 60]
        [--interval 0.5] [--db postgresql://...] [--uplink http|mqtt]

Ingest latency of a record = from the moment its node sends the batch holding it to the
moment the server's answer arrives (the server answers after the commit: sent -> committed,
plus the answer's way back). Also reported: made -> acknowledged, which adds the record's
wait in the node's batch (up to --interval). Prints the achieved rate (acknowledged
observations/s, and rows the database grew by), both latencies' p50/p99, the server's CPU
use, the load average (`uptime`), and a JSON summary on the last line. Afterwards it checks
that every (node, seq) is stored once with one observation row each and (`--verify`)
that `verify --db` passes. A fresh database is created (and dropped) on the local
PostgreSQL unless --db is given.

`--uplink mqtt`: the same load through a private Mosquitto (one paho client per node,
QoS 1, one message per record) and the server's MQTT worker; latency = made -> stored
(polled from the database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_db(admin: str) -> tuple[str, Any]:
    import psycopg

    name = f"fbsdetect_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.rsplit("/", 1)[0] + "/" + name, drop


def obs(node: str, seq: int, i: int) -> dict[str, Any]:
    return {"node": node, "seq": seq, "kind": "observation", "data": {
        "arfcn": 10 + i % 40, "band": "P-GSM900", "freq_hz": 937e6, "bsic": i % 64, "mcc": 460, "mnc": 0,
        "lac": 9000 + i % 7, "cid": 1000 + i % 40, "power_dbm": -70.0, "snr_db": 18.0, "blocks_ok": 8,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "lat": 31.2, "lon": 121.4,
        "gps_mode": 3, "gps_error_m": 2.5, "sensor": node, "radio_s": 1.0, "kind": "dwell",
        "si": {"3": "49061b" + "2b" * 20}}}


_TEMPLATE: str | None = None


def obs_json(node: str, seq: int) -> str:
    """The same record as `obs`, as JSON text from a template (the generator must stay cheap)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = json.dumps(obs("NODE", 999999999, 0)).replace('"NODE"', '"{node}"').replace(
            "999999999", "{seq}").replace('"cid": 1000', '"cid": {cid}').replace("{", "{{").replace(
            "}", "}}").replace("{{node}}", "{node}").replace("{{seq}}", "{seq}").replace("{{cid}}", "{cid}")
    return _TEMPLATE.format(node=node, seq=seq, cid=1000 + seq % 40)


async def http_node(client: Any, url: str, token: str, name: str, rate: float, interval: float,
                    stop_at: float, lat: list[float], errors: list[str], send_lat: list[float]) -> int:
    import random

    seq = 0
    pending: list[tuple[str, float]] = []
    t_start = time.monotonic() + random.random() / rate  # record k is due at t_start + k / rate
    next_t = time.monotonic() + random.random() * interval
    acked = 0
    while time.monotonic() < stop_at:
        now = time.monotonic()
        due = int((now - t_start) * rate)
        while seq < due:  # open loop: made on schedule, stamped with when it was due, however late
            seq += 1      # the generator comes round (a slow server makes them wait, as on a node)
            pending.append((obs_json(name, seq), t_start + seq / rate))
        if pending and now >= next_t:
            batch = pending[:500]
            t_send = time.monotonic()
            try:
                body = '{"records": [' + ",".join(b for b, _ in batch) + "]}"
                r = await client.post(url, content=body.encode(), headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
                ok = r.status_code == 200
                if not ok:
                    errors.append(f"{r.status_code}")
            except Exception as exc:
                ok = False
                errors.append(type(exc).__name__)
            if ok:
                t = time.monotonic()
                lat.extend(t - t0 for _, t0 in batch)
                send_lat.extend(t - t_send for _ in batch)  # per record: sent -> committed and answered
                del pending[:len(batch)]
                acked += len(batch)
            next_t = time.monotonic() + interval
        await asyncio.sleep(min(interval, max(0.0, next_t - time.monotonic())))
    return acked


def server_cpu(pid: int) -> float:
    """CPU seconds of a process and of its live descendants (`serve --workers N`'s workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, float]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            parts = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        procs[int(d.name)] = (int(parts[1]), (int(parts[11]) + int(parts[12])) / tick)
    tot, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        tot += procs.get(p, (0, 0.0))[1]
        todo.extend(c for c, (pp, _) in procs.items() if pp == p)
    return tot


def run_delay(pid: int) -> float:
    """Seconds the threads of a process tree have spent waiting for a CPU while runnable
    (/proc/PID/task/TID/schedstat, second field): how much a loaded machine held it back."""
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d.name))
            except OSError:
                continue
    tot, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, []))
        try:
            for t in Path(f"/proc/{p}/task").iterdir():
                tot += int((t / "schedstat").read_text().split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
    return tot


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine (the backends doing the writes)."""
    tot = 0.0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if (d / "comm").read_text().strip() not in ("postgres", "postmaster"):
                continue
            parts = (d / "stat").read_text().rsplit(")", 1)[1].split()
            tot += (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            continue
    return tot


def count_rows(store: Any) -> int:
    from sqlalchemy import func, select

    from fbsdetect.store.models import IngestRecord

    with store.session() as s:
        return int(s.execute(select(func.count()).select_from(IngestRecord)).scalar_one())


def _http_group(url: str, creds: list[dict[str, str]], rate: float, interval: float,
                duration: float) -> tuple[list[int], list[float], list[str], list[float]]:
    """One generator process: its share of the nodes, on one asyncio loop."""
    import httpx

    lat: list[float] = []
    send_lat: list[float] = []
    errors: list[str] = []

    async def main() -> list[int]:
        limits = httpx.Limits(max_connections=len(creds), max_keepalive_connections=len(creds))
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            stop_at = time.monotonic() + duration
            return list(await asyncio.gather(*[
                http_node(client, f"{url}/api/v1/ingest", c["token"], c["node"], rate, interval, stop_at, lat,
                          errors, send_lat) for c in creds]))

    return asyncio.run(main()), lat, errors, send_lat


def run_http(args: argparse.Namespace, db: str, store: Any, creds: list[dict[str, str]]) -> dict[str, Any]:
    from tests.fleet.support import Server

    srv = Server(db, Path(tempfile.mkdtemp(prefix="fbsdetect-bench-")), None,
                 args=("--workers", str(args.workers)))
    srv.start()
    assert srv.proc is not None
    rows0 = count_rows(store)
    cpu0, pg0, wait0 = server_cpu(srv.proc.pid), postgres_cpu(), run_delay(srv.proc.pid)
    t0 = time.monotonic()
    import multiprocessing as mp
    import resource

    groups = [creds[i::args.procs] for i in range(args.procs)]
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with mp.get_context("fork").Pool(args.procs) as pool:
        parts = pool.starmap(_http_group, [(srv.url, g, args.rate / args.nodes, args.interval, args.duration)
                                           for g in groups])
        pool.close()
        pool.join()
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the load generators (the server is not waited yet)
    gen_cpu = (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)
    acked = [a for p in parts for a in p[0]]
    lat = [x for p in parts for x in p[1]]
    errors = [e for p in parts for e in p[2]]
    send_lat = [x for p in parts for x in p[3]]
    wall = time.monotonic() - t0
    cpu, pg = server_cpu(srv.proc.pid) - cpu0, postgres_cpu() - pg0
    waited = run_delay(srv.proc.pid) - wait0
    rows = count_rows(store) - rows0
    import httpx

    stats = httpx.get(f"{srv.url}/api/v1/stats", headers={"Authorization": f"Bearer {args.admin}"}).json()
    print("server counters:", json.dumps(stats["counts"]))
    srv.stop()
    return {"acked": sum(acked), "rows": rows, "wall_s": wall, "latencies": lat, "send_latencies": send_lat,
            "errors": errors, "generator_cpu_s": gen_cpu, "server_run_delay_s": waited,
            "server_cpu_s": cpu, "postgres_cpu_s": pg, "counters": stats["counts"]}


def run_mqtt(args: argparse.Namespace, db: str, store: Any, creds: list[dict[str, str]]) -> dict[str, Any]:
    import threading

    import paho.mqtt.client as mqtt
    from sqlalchemy import select

    from fbsdetect.store.models import IngestRecord
    from tests.fleet.support import Mosquitto, Server

    d = Path(tempfile.mkdtemp(prefix="fbsdetect-bench-"))
    mosq = Mosquitto(store, d / "mq")
    mosq.start()
    srv = Server(db, d, mosq.ingest_url)
    srv.start()
    assert srv.proc is not None
    made: dict[tuple[str, int], float] = {}
    clients = []
    for c in creds:
        cl = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{c['node']}")
        cl.username_pw_set(c["node"], c["mqtt_password"])
        cl.connect("127.0.0.1", mosq.port)
        cl.loop_start()
        clients.append((c["node"], cl))
    rows0 = count_rows(store)
    cpu0 = server_cpu(srv.proc.pid)
    t0 = time.monotonic()
    stop_at = t0 + args.duration
    per_node = args.rate / args.nodes
    seqs = {n: 0 for n, _ in clients}

    def producer() -> None:
        n_made = 0.0
        last = time.monotonic()
        while time.monotonic() < stop_at:
            now = time.monotonic()
            n_made += (now - last) * per_node
            last = now
            k = int(n_made)
            n_made -= k
            for _ in range(k):
                for name, cl in clients:
                    seqs[name] += 1
                    made[(name, seqs[name])] = time.monotonic()
                    cl.publish(f"fbsdetect/v1/{name}/obs", obs_json(name, seqs[name]), qos=1)
            time.sleep(0.02)

    th = threading.Thread(target=producer)
    th.start()
    lat: list[float] = []
    seen: set[tuple[str, int]] = set()
    last_id = 0
    while True:
        with store.session() as s:
            rows = s.execute(select(IngestRecord.id, IngestRecord.node, IngestRecord.seq)
                             .where(IngestRecord.id > last_id).order_by(IngestRecord.id)).all()
        now = time.monotonic()
        for rid, node, seq in rows:
            last_id = max(last_id, rid)
            if (node, seq) in made and (node, seq) not in seen:
                seen.add((node, seq))
                lat.append(now - made[(node, seq)])
        if not th.is_alive() and len(seen) >= len(made):
            break
        if time.monotonic() > stop_at + 60:
            break
        time.sleep(0.1)
    wall = time.monotonic() - t0
    cpu = server_cpu(srv.proc.pid) - cpu0
    for _, cl in clients:
        cl.loop_stop()
        cl.disconnect()
    srv.stop()
    mosq.stop()
    return {"acked": len(seen), "rows": count_rows(store) - rows0, "wall_s": wall, "latencies": lat,
            "errors": [] if len(seen) == len(made) else [f"missing {len(made) - len(seen)}"],
            "server_cpu_s": cpu, "made": len(made)}


def check_once(store: Any, verify: bool) -> dict[str, Any]:
    """Every (node, seq) once, one observation row per observation record; `verify --db`."""
    from sqlalchemy import text

    with store.engine.connect() as c:
        n, distinct, with_obs = c.execute(text(
            "SELECT count(*), count(DISTINCT (node, seq)), count(DISTINCT observation_id) "
            "FROM ingest_record")).one()
        n_obs = c.execute(text("SELECT count(*) FROM observation")).scalar_one()
    out: dict[str, Any] = {"records": int(n), "once_each": int(n) == int(distinct),
                           "observation_rows": int(n_obs), "one_row_each": int(with_obs) == int(n_obs)}
    if verify:
        from fbsdetect.store.audit import verify_db

        t0 = time.monotonic()
        rep = verify_db(store)
        out.update(verify_ok=rep.ok, verify_entries=rep.entries, verify_s=round(time.monotonic() - t0, 1))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--rate", type=float, default=2000.0, help="observations a second, all nodes together")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between a node's batches (http)")
    ap.add_argument("--db", help="PostgreSQL URL (default: a fresh database on 127.0.0.1:5432)")
    ap.add_argument("--uplink", choices=["http", "mqtt"], default="http")
    ap.add_argument("--procs", type=int, default=3, help="load-generator processes (http)")
    ap.add_argument("--verify", action="store_true", help="run `verify --db`'s check over the result")
    ap.add_argument("--workers", type=int, default=1, help="`serve --workers N` (HTTP worker processes)")
    ap.add_argument("--fleet", type=int, metavar="N",
                    help="instead: N real `fbsdetect node` processes (60%% MQTT, 40%% HTTP, "
                         "synthetic:--rate/N observations a second each) for --duration s with the faults "
                         "of tests/fleet (broker restart, server and node SIGKILL, uplinks cut); checks "
                         "every record arrived once")
    args = ap.parse_args()

    from fbsdetect.server.auth import add_user, register_node
    from fbsdetect.store import open_store

    drop = None
    db = args.db
    if db is None:
        db, drop = make_db(os.environ.get("FBSDETECT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))
    if args.fleet:
        from tests.fleet.test_fleet import run_fleet

        try:
            n_mqtt = max(3, round(args.fleet * 0.6))
            rate = round(args.rate / args.fleet, 2)
            t0 = time.monotonic()
            r = run_fleet(db, Path(tempfile.mkdtemp(prefix="fbsdetect-fleet-")), n_mqtt=n_mqtt,
                          n_https=max(2, args.fleet - n_mqtt), rate=rate, duration=args.duration,
                          log=lambda m: print(m, flush=True))
        finally:
            if drop is not None:
                drop()
        total = sum(r["totals"].values())
        out = {"fleet": args.fleet, "rate_per_node": rate, "duration_s": args.duration, "records": total,
               "every_record_once": True, "elapsed_s": round(time.monotonic() - t0, 1),
               "server_counts": r["counts"]}
        print(f"fleet: {args.fleet} nodes for {args.duration:.0f} s with faults: {total} records, every one "
              "on the server exactly once")
        print(json.dumps(out))
        return 0
    try:
        store = open_store(db)
        creds = [register_node(store, f"bench{i:03d}") for i in range(args.nodes)]
        args.admin = add_user(store, "bench-admin", "admin")
        r = (run_http if args.uplink == "http" else run_mqtt)(args, db, store, creds)
        r["check"] = check_once(store, args.verify)
        store.close()
    finally:
        if drop is not None:
            drop()
    lat = sorted(r["latencies"])
    slat = sorted(r.get("send_latencies", []))

    def p(q: float, xs: list[float] = lat) -> float:
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")

    load_s = min(args.duration, r["wall_s"])
    out = {"uplink": args.uplink, "nodes": args.nodes, "offered_obs_s": args.rate, "workers": args.workers,
           "duration_s": args.duration,
           "acked": r["acked"], "acked_obs_s": round(r["acked"] / load_s, 1),
           "db_rows": r["rows"], "db_rows_s": round(r["rows"] / r["wall_s"], 1),
           "p50_s": round(p(0.5), 3), "p99_s": round(p(0.99), 3), "max_s": round(lat[-1], 3) if lat else None,
           "mean_s": round(statistics.fmean(lat), 3) if lat else None,
           "send_p50_s": round(p(0.5, slat), 3), "send_p99_s": round(p(0.99, slat), 3),
           "send_max_s": round(slat[-1], 3) if slat else None,
           "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
           "server_cpu_s": round(r["server_cpu_s"], 1),
           "server_cpu_share": round(r["server_cpu_s"] / r["wall_s"], 2),
           "postgres_cpu_s": round(r.get("postgres_cpu_s", float("nan")), 1),
           "generator_cpu_s": round(r.get("generator_cpu_s", float("nan")), 1),
           "server_run_delay_s": round(r.get("server_run_delay_s", float("nan")), 1),
           "cpu_ms_per_row": round(1000 * (r["server_cpu_s"] + r.get("postgres_cpu_s", 0.0))
                                   / max(1, r["rows"]), 3),
           "writer": {k: v for k, v in r.get("counters", {}).items() if k.startswith("write")},
           "load_avg": os.getloadavg()[0],
           "errors": len(r["errors"]), "error_kinds": sorted(set(r["errors"]))[:5], "check": r["check"]}
    print(f"{args.uplink}: {args.nodes} nodes, offered {args.rate:.0f} obs/s for {args.duration:.0f} s: "
          f"acknowledged {out['acked_obs_s']} obs/s ({out['acked']}), database {out['db_rows_s']} rows/s; "
          f"latency sent -> committed p50 {out['send_p50_s']} s, p99 {out['send_p99_s']} s, max "
          f"{out['send_max_s']} s; made -> committed (with the node's batching) p50 {out['p50_s']} s, "
          f"p99 {out['p99_s']} s, max {out['max_s']} s; "
          f"server CPU {out['server_cpu_share']} cores (its threads waited "
          f"{out['server_run_delay_s']} s for a CPU); server+PostgreSQL CPU {out['cpu_ms_per_row']} ms a "
          f"record; load average {out['load_avg']:.1f}; {out['errors']} errors; stored once each: "
          f"{r['check']['once_each'] and r['check']['one_row_each']}"
          + (f"; verify --db {'OK' if r['check']['verify_ok'] else 'FAILED'}" if args.verify else ""))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
