"""A scan killed with SIGKILL at random moments leaves a SQLite database that
opens, passes `PRAGMA integrity_check` and holds every observation committed
before the kill; a scan whose PostgreSQL goes away mid-run (the server
restarted: every connection cut, new ones refused for a while) keeps its
observations in memory and stores all of them once the server is back."""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_service
from tests.support.proxy import TcpProxy

SCENE = ROOT / "tests" / "corpus" / "sweep" / "small.toml"
STORED = re.compile(r"stored observation (\d+)")


def _scan_cmd(db: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "fbsdetect", "-vv", "scan", "--source", f"sim:{SCENE}", "--profile", "cn",
            "--db", db, "--sensor", "crash-test", *extra]


def _committed_ids(stderr: str) -> set[int]:
    return {int(m.group(1)) for m in STORED.finditer(stderr)}


@pytest.mark.slow
def test_kill9_at_20_random_moments(tmp_path: Path) -> None:
    path = tmp_path / "scan.db"
    url = f"sqlite:///{path}"
    rng = random.Random(20261201)
    committed: set[int] = set()
    killed_while_writing = 0
    for trial in range(20):
        errf = (tmp_path / "err.txt").open("w+")
        p = subprocess.Popen(_scan_cmd(url), stdout=subprocess.DEVNULL, stderr=errf, cwd=tmp_path,
                             env=dict(os.environ, PYTHONUNBUFFERED="1"))
        if trial % 5 == 0:  # during start-up (opening, migrating the database)
            time.sleep(rng.uniform(0.05, 1.0))
        else:  # while it writes: a random moment after its first stored observation
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and p.poll() is None:
                errf.seek(0)
                if STORED.search(errf.read()):
                    break
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 2.0))
        finished = p.poll() is not None
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        errf.seek(0)
        ids = _committed_ids(errf.read())
        errf.close()
        killed_while_writing += int(not finished and bool(ids))
        committed |= ids
        con = sqlite3.connect(path)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            # killed before its first migration committed: no schema, and nothing was stored
            have = {r[0] for r in con.execute("SELECT id FROM observation")} if "observation" in tables \
                else set()
        finally:
            con.close()
        missing = committed - have
        assert not missing, f"observations committed before the kill are gone: {sorted(missing)[:10]}"
    assert killed_while_writing >= 12  # most kills hit a scan in the middle of its writes
    # the database still opens through the store (schema at head) after all that
    from fbsdetect.store import open_store

    open_store(url).close()


@pytest.mark.slow
def test_postgresql_restart_mid_scan_loses_nothing(pg_url: str, tmp_path: Path) -> None:
    require_service(5432, "PostgreSQL")
    proxy = TcpProxy(5432)  # plays the server restart: connections cut, new ones refused
    url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert url != pg_url
    try:
        from fbsdetect.store import open_store

        open_store(url).close()  # the schema, before the scan starts
        errf = (tmp_path / "err.txt").open("w+")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        p = subprocess.Popen(_scan_cmd(url), stdout=subprocess.DEVNULL, stderr=errf, cwd=tmp_path, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait for the first stored observation
            errf.seek(0)
            if STORED.search(errf.read()):
                break
            time.sleep(0.05)
        proxy.cut()  # the server "restarts": connections cut, new ones refused ...
        time.sleep(1.5)
        proxy.restore()  # ... and it is back
        assert p.wait(timeout=120) == 0
        errf.seek(0)
        err = errf.read()
        errf.close()
    finally:
        proxy.close()
    m = re.search(r"store: (\d+) observations handed over, (\d+) stored, (\d+) waiting; .*; (\d+) failed",
                  err)
    assert m, err[-3000:]
    handed, stored, waiting, failed = (int(x) for x in m.groups())
    assert failed >= 1, "the outage did not hit a write: the test proved nothing"
    assert waiting == 0 and stored == handed
    from sqlalchemy import func, select

    from fbsdetect.store import open_store
    from fbsdetect.store.models import Observation

    with open_store(pg_url) as store, store.session() as s:
        assert s.scalar(select(func.count()).select_from(Observation)) == handed
        ids = [r for (r,) in s.execute(select(Observation.id))]
        assert len(ids) == len(set(ids))
