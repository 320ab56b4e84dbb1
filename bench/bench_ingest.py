"""Sustained ingest into PostgreSQL: N simulated nodes (default 100) POST their records to a
real `fbsdetect serve` process (uvicorn, `--workers N` HTTP processes) in batches, the way the
node's HTTPS uplink does (each node sends what accumulated since its last acknowledged batch,
at most 500, then waits `--interval`); the server stores every record once per (node, seq)
with its observation row and audit entry.

    .venv/bin/python bench/bench_ingest.py [--nodes 100] [--rate 2000] [--duration 60]
        [--interval 0.5] [--workers 1] [--verify] [--db postgresql://...] [--uplink http|mqtt]

The load generator is one process: every node a coroutine with its own keep-alive HTTP/1.1
connection (raw asyncio streams), its records serialised before the run, so that it costs
~1 CPU s a minute at 2 000 records/s and the figures measure the server; its own CPU and
run delay are reported. Open loop: record k of a node is due at start + k / rate and counts
from then however late its node comes round. After --duration no record is made any more
and each node sends what it still holds: every record made is acknowledged or counted lost.

Ingest latency of a record = from the moment its batch was first sent to the moment the
server's 200 arrives (the server answers after the commit: sent -> committed and
acknowledged), over every record. Also reported: made -> acknowledged, which adds the
record's wait in the node's batch (up to --interval). Prints the achieved rates
(acknowledged / duration, the steady rate after the first seconds, rows the database grew
by), both latencies' p50/p99/max, the server's CPU use and the time its threads waited for
a CPU, PostgreSQL's CPU, the load average (`uptime`), and a JSON summary on the last line.
Afterwards it checks that every (node, seq) is stored once with one observation row each
and (`--verify`) that `verify --db` passes. A fresh database is created (and dropped) on the
local PostgreSQL unless --db is given.

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


def node_records(name: str, n: int) -> list[bytes]:
    """A node's first `n` records as JSON bytes, serialised before the run starts (the generator
    must stay cheap while it runs)."""
    return [obs_json(name, seq).encode() for seq in range(1, n + 1)]


class _Conn:
    """One keep-alive HTTP/1.1 connection of a simulated node (raw asyncio streams: a full client
    costs the generator more CPU than the server spends on a batch)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = (f"POST /api/v1/ingest HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}"
                     "\r\nContent-Type: application/json\r\nContent-Length: ").encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        n = 0
        for h in lines[1:]:
            k, _, v = h.partition(":")
            if k.strip().lower() == "content-length":
                n = int(v)
            elif k.strip().lower() == "connection" and v.strip().lower() == "close":
                self.writer.close()
        return status, await self.reader.readexactly(n)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def http_node(conn: _Conn, records: list[bytes], rate: float, interval: float, t_start: float,
                    stop_at: float, out: dict[str, list[Any]]) -> None:
    """One node: record k is due at `t_start + k / rate` (open loop: it counts from then however
    late the node comes round to send it); every `interval` s the node sends what is due and
    not acknowledged (at most 500), waits for the answer, then sleeps. After `stop_at` no record
    is made any more and the node sends what it still holds, so every record made is
    acknowledged or counted lost."""
    import random

    made = 0  # records 1..made are due
    acked = 0  # records 1..acked acknowledged (batches go in order, each from acked + 1)
    first_sent: dict[int, float] = {}  # record index -> when it first went out (a retry keeps it)
    await asyncio.sleep(random.random() * interval)
    while True:
        now = time.monotonic()
        made = min(len(records), max(made, int((min(now, stop_at) - t_start) * rate)))
        if acked < made:
            hi = min(made, acked + 500)
            t_send = time.monotonic()
            for k in range(acked, hi):
                first_sent.setdefault(k, t_send)
            try:
                status, body = await conn.post(b'{"records": [' + b",".join(records[acked:hi]) + b"]}")
                ok = status == 200
                if not ok:
                    out["errors"].append(str(status))
                else:
                    ans = json.loads(body)
                    out["stored"].append(int(ans["stored"]))
                    out["duplicates"].append(int(ans["duplicates"]))
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                ok = False
                out["errors"].append(type(exc).__name__)
                conn.close()
                conn.writer = None
            if ok:
                t = time.monotonic()
                out["acks"].append((t, hi - acked))
                for k in range(acked, hi):
                    out["lat"].append(t - (t_start + (k + 1) / rate))  # made (due) -> acknowledged
                    out["send_lat"].append(t - first_sent.pop(k))  # first sent -> acknowledged
                acked = hi
                if made - acked >= 500:  # a backlog: the next batch at once, as the node's uplink does
                    continue
        elif now >= stop_at:
            break
        if now >= stop_at + 60:  # the server never took the rest: what is left is lost
            break
        await asyncio.sleep(interval)
    out["acked"].append(acked)
    out["made"].append(made)
    conn.close()


def _http_load(url: str, creds: list[dict[str, str]], rate: float, interval: float,
               duration: float) -> dict[str, Any]:
    """Every node on one asyncio loop in this process; the generator's own CPU is measured over
    the run (records are serialised before it)."""
    from urllib.parse import urlparse

    u = urlparse(url)
    per_node = rate / len(creds)
    n = int(per_node * duration) + 2
    recs = [node_records(c["node"], n) for c in creds]
    out: dict[str, list[Any]] = {k: [] for k in ("lat", "send_lat", "errors", "stored", "duplicates", "acked",
                                                 "made", "acks")}

    async def main() -> None:
        conns = [_Conn(u.hostname or "127.0.0.1", u.port or 80, c["token"]) for c in creds]
        t_start = time.monotonic()
        out["t_start"] = [t_start]
        await asyncio.gather(*[http_node(cn, r, per_node, interval, t_start, t_start + duration, out)
                               for cn, r in zip(conns, recs, strict=True)])

    cpu0, delay0 = time.process_time(), run_delay(os.getpid(), tree=False)
    asyncio.run(main())
    out["cpu_s"] = [time.process_time() - cpu0]
    out["run_delay_s"] = [run_delay(os.getpid(), tree=False) - delay0]
    return out


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


def run_delay(pid: int, *, tree: bool = True) -> float:
    """Seconds the threads of a process tree (`tree=False`: of the process alone) have spent
    waiting for a CPU while runnable (/proc/PID/task/TID/schedstat, second field): how much a
    loaded machine held it back."""
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if tree and d.name.isdigit():
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


def run_http(args: argparse.Namespace, db: str, store: Any, creds: list[dict[str, str]]) -> dict[str, Any]:
    from tests.fleet.support import Server

    srv = Server(db, Path(tempfile.mkdtemp(prefix="fbsdetect-bench-")), None,
                 args=("--workers", str(args.workers)))
    srv.start()
    assert srv.proc is not None
    time.sleep(2.0)  # the workers' apps built (uvicorn starts listening before they are)
    rows0 = count_rows(store)
    cpu0, pg0, wait0 = server_cpu(srv.proc.pid), postgres_cpu(), run_delay(srv.proc.pid)
    t0 = time.monotonic()
    g = _http_load(srv.url, creds, args.rate, args.interval, args.duration)
    wall = time.monotonic() - t0
    cpu, pg = server_cpu(srv.proc.pid) - cpu0, postgres_cpu() - pg0
    waited = run_delay(srv.proc.pid) - wait0
    rows = count_rows(store) - rows0
    import httpx

    stats = httpx.get(f"{srv.url}/api/v1/stats", headers={"Authorization": f"Bearer {args.admin}"}).json()
    print("server counters (the process that answered):", json.dumps(stats["counts"]))
    srv.stop()
    t_start, stop_at = g["t_start"][0], g["t_start"][0] + args.duration
    warm = min(10.0, args.duration / 5)  # the steady rate: acknowledgements after the first seconds
    steady = sum(n for t, n in g["acks"] if t_start + warm <= t <= stop_at) / (args.duration - warm)
    drain = max((t for t, _ in g["acks"]), default=stop_at) - stop_at
    return {"acked": sum(g["acked"]), "made": sum(g["made"]), "rows": rows, "wall_s": wall,
            "steady_obs_s": steady, "drain_s": drain,
            "latencies": g["lat"], "send_latencies": g["send_lat"], "errors": g["errors"],
            "answered_stored": sum(g["stored"]), "answered_duplicates": sum(g["duplicates"]),
            "generator_cpu_s": g["cpu_s"][0], "generator_run_delay_s": g["run_delay_s"][0],
            "server_run_delay_s": waited, "server_cpu_s": cpu, "postgres_cpu_s": pg,
            "counters": stats["counts"]}


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

    out = {"uplink": args.uplink, "nodes": args.nodes, "offered_obs_s": args.rate, "workers": args.workers,
           "duration_s": args.duration,
           "made": r.get("made", r["acked"]), "acked": r["acked"],
           "lost": r.get("made", r["acked"]) - r["acked"],
           "acked_obs_s": round(r["acked"] / args.duration, 1),
           "steady_obs_s": round(r.get("steady_obs_s", float("nan")), 1),
           "drain_s": round(r.get("drain_s", float("nan")), 2),
           "latency_samples": len(lat), "answered_stored": r.get("answered_stored"),
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
           "generator_run_delay_s": round(r.get("generator_run_delay_s", float("nan")), 1),
           "server_run_delay_s": round(r.get("server_run_delay_s", float("nan")), 1),
           "cpu_ms_per_row": round(1000 * (r["server_cpu_s"] + r.get("postgres_cpu_s", 0.0))
                                   / max(1, r["rows"]), 3),
           "writer": {k: v for k, v in r.get("counters", {}).items() if k.startswith("write")},
           "load_avg": os.getloadavg()[0],
           "errors": len(r["errors"]), "error_kinds": sorted(set(r["errors"]))[:5], "check": r["check"]}
    print(f"{args.uplink}: {args.nodes} nodes, offered {args.rate:.0f} obs/s for {args.duration:.0f} s: "
          f"made {out['made']}, acknowledged {out['acked']} ({out['lost']} lost): "
          f"{out['acked_obs_s']} obs/s, "
          f"steady {out['steady_obs_s']} obs/s, the rest drained {out['drain_s']} s after the load; "
          f"database {out['db_rows_s']} rows/s; "
          f"latency sent -> committed p50 {out['send_p50_s']} s, p99 {out['send_p99_s']} s, max "
          f"{out['send_max_s']} s; made -> committed (with the node's batching) p50 {out['p50_s']} s, "
          f"p99 {out['p99_s']} s, max {out['max_s']} s; "
          f"server CPU {out['server_cpu_share']} cores (its threads waited "
          f"{out['server_run_delay_s']} s for a CPU); server+PostgreSQL CPU {out['cpu_ms_per_row']} ms a "
          f"record; load generator {out['generator_cpu_s']} CPU s; "
          f"load average {out['load_avg']:.1f}; {out['errors']} errors; stored once each: "
          f"{r['check']['once_each'] and r['check']['one_row_each']}"
          + (f"; verify --db {'OK' if r['check']['verify_ok'] else 'FAILED'}" if args.verify else ""))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
