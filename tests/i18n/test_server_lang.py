"""The server answers each request in the language of its Accept-Language header (else the
process's: `serve --lang`): API error details and the dashboard; concurrent requests in both
languages, in one event loop and under a real uvicorn, never see each other's language."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from fbsdetect import i18n
from fbsdetect.server.app import create_app
from fbsdetect.server.auth import add_user, register_node
from fbsdetect.store import open_store

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Any, Any, dict[str, str]]]:
    store = open_store(f"sqlite:///{tmp_path / 'fbsdetect.db'}")
    app = create_app(store)
    toks = {"inv": add_user(store, "ivy", "investigator"), "n1": register_node(store, "n1")["token"]}
    yield app, store, {k: f"Bearer {v}" for k, v in toks.items()}
    store.close()


def test_api_error_details_follow_accept_language(server: Any) -> None:
    app, _store, tok = server
    c = TestClient(app)
    inv = {"Authorization": tok["inv"]}
    # a bad parameter (422), an unknown token (401), a wrong role (403), a body that is not JSON (400)
    r_en = c.get("/api/v1/observations", params={"bbox": "x"}, headers=inv)
    r_zh = c.get("/api/v1/observations", params={"bbox": "x"}, headers={**inv, **ZH})
    assert r_en.status_code == r_zh.status_code == 422
    assert r_en.json() == {"detail": "bbox: S,W,N,E in degrees"}
    assert r_zh.json() == {"detail": "bbox：S,W,N,E，单位为度"}
    bad_token = {"Authorization": "Bearer nope"}
    assert c.get("/api/v1/nodes", headers={**bad_token, **ZH}).json()["detail"] == "未知令牌"
    assert c.get("/api/v1/nodes", headers=bad_token).json()["detail"] == "unknown token"
    r = c.post("/api/v1/ingest", json={"records": []}, headers={"Authorization": tok["inv"], **ZH})
    assert r.status_code == 403 and r.json()["detail"] == "角色 investigator 不能上传数据（只接受节点令牌）"
    r = c.post("/api/v1/ingest", content=b"{not json", headers={"Authorization": tok["n1"], **ZH})
    assert r.status_code == 400 and r.json()["detail"] == "请求体：不是 JSON"
    # a record's own check (server/ingest.py) in the request's language too
    bad = {"records": [{"node": "n1", "seq": 1, "kind": "observation", "data": {"lat": 99.0}}]}
    r = c.post("/api/v1/ingest", json=bad, headers={"Authorization": tok["n1"], **ZH})
    assert r.status_code == 422 and r.json()["detail"] == "data.lat：超出 -90..90", r.json()
    # English words a header may carry, or a language we do not have: English
    for h in ({"Accept-Language": "en-US,en;q=0.9,zh-CN;q=0.5"}, {"Accept-Language": "fr-FR"}):
        assert c.get("/api/v1/nodes", headers={"Authorization": "Bearer nope", **h}).json()["detail"] == \
            "unknown token"
    assert i18n.current() == "en"  # nothing leaked into the test's own context


def test_dashboard_in_the_readers_language(server: Any) -> None:
    app, _store, tok = server
    c = TestClient(app)
    inv = {"Authorization": tok["inv"]}
    en, zh = c.get("/dashboard", headers=inv), c.get("/dashboard", headers={**inv, **ZH})
    assert en.status_code == zh.status_code == 200
    assert '<html lang="en">' in en.text and "<h2>Detections (0)</h2>" in en.text
    assert "<th>last seen</th>" in en.text
    assert '<html lang="zh-CN">' in zh.text and "<h2>检测（0）</h2>" in zh.text
    assert "<h2>节点（1）</h2>" in zh.text
    assert "<th>最后发现</th>" in zh.text and "<th>待发队列</th>" in zh.text
    assert "Detections" not in zh.text and "检测" not in en.text
    # the map inside it: one cached page per language
    m_en, m_zh = c.get("/dashboard/map", headers=inv), c.get("/dashboard/map", headers={**inv, **ZH})
    assert m_en.status_code == m_zh.status_code == 200
    assert 'lang="zh-CN"' in m_zh.text and 'lang="zh-CN"' not in m_en.text


def test_without_the_header_the_process_language_applies(server: Any) -> None:
    app, _store, _tok = server
    c = TestClient(app)
    before = i18n.current()
    i18n.set_language("zh")  # `serve --lang zh`
    try:
        assert c.get("/api/v1/nodes", headers={"Authorization": "Bearer x"}).json()["detail"] == "未知令牌"
        assert c.get("/api/v1/nodes", headers={"Authorization": "Bearer x", "Accept-Language": "en"}
                     ).json()["detail"] == "unknown token"
    finally:
        i18n.set_language(before)


def _expect(lang: str) -> str:
    return "未知令牌" if lang == "zh" else "unknown token"


def test_concurrent_requests_in_one_event_loop(server: Any) -> None:
    """Interleaved async requests (the ASGI app called directly, as uvicorn calls it): each keeps its own."""
    app, _store, _tok = server

    async def main() -> list[tuple[str, str]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as ac:
            async def one(i: int) -> tuple[str, str]:
                lang = "zh" if i % 2 else "en"
                h = {"Authorization": f"Bearer bad{i}"}
                if lang == "zh":
                    h["Accept-Language"] = "zh-CN"
                r = await ac.get("/api/v1/nodes", headers=h)
                return lang, r.json()["detail"]

            return list(await asyncio.gather(*(one(i) for i in range(40))))

    got = asyncio.run(main())
    assert all(detail == _expect(lang) for lang, detail in got), got


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_concurrent_requests_under_uvicorn(server: Any) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    app, _store, tok = server
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    try:
        for _ in range(200):
            if srv.started:
                break
            time.sleep(0.05)
        assert srv.started
        from concurrent.futures import ThreadPoolExecutor

        def one(i: int) -> tuple[str, str]:
            lang = "zh" if i % 2 else "en"
            h = {"Authorization": tok["inv"], **(ZH if lang == "zh" else {})}
            r = httpx.get(f"http://127.0.0.1:{port}/api/v1/observations", params={"bbox": "x"}, headers=h,
                          timeout=30)
            return lang, r.json()["detail"]

        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(one, range(48)))
        want = {"en": "bbox: S,W,N,E in degrees", "zh": "bbox：S,W,N,E，单位为度"}
        assert all(detail == want[lang] for lang, detail in got), got
    finally:
        srv.should_exit = True
        th.join(10)


def test_serve_workers_get_the_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve --workers N --lang zh`: each worker process's app (worker_app) starts in that language."""
    from fbsdetect.server.app import worker_app

    db = f"sqlite:///{tmp_path / 'w.db'}"
    open_store(db).close()
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"db": db, "profile": "cn", "mosquitto": None, "map_refresh_s": 30,
                               "lang": "zh"}))
    monkeypatch.setenv("FBSDETECT_SERVE_WORKER", str(cfg))
    before = i18n.current()
    try:
        app = worker_app()
        assert i18n.current() == "zh"
        c = TestClient(app)
        assert c.get("/api/v1/nodes", headers={"Authorization": "Bearer x"}).json()["detail"] == "未知令牌"
        app.state.store.close()
    finally:
        i18n.set_language(before)


def test_serve_workers_processes_answer_in_serve_lang(tmp_path: Path) -> None:
    """`fbsdetect --lang zh serve --workers 2`: requests without Accept-Language, whichever worker
    process answers them, are answered in Chinese; with `Accept-Language: en`, in English."""
    import os
    import subprocess
    import sys

    from tests.fleet.support import free_port, wait_port

    db = f"sqlite:///{tmp_path / 'w.db'}"
    open_store(db).close()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("FBSDETECT_LANG", "LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    with open(tmp_path / "serve.log", "wb") as f:
        cmd = [sys.executable, "-m", "fbsdetect", "--lang", "zh", "--db", db, "serve", "--port", str(port),
               "--analyze-every-s", "0", "--no-mqtt", "--workers", "2"]
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    try:
        wait_port(port, 60)
        got = set()
        for i in range(12):
            with httpx.Client(timeout=30) as c:  # a connection of its own: either worker may answer
                url = f"http://127.0.0.1:{port}/api/v1/nodes"
                r = c.get(url, headers={"Authorization": f"Bearer x{i}"})
                got.add(r.json()["detail"])
                r = c.get(url, headers={"Authorization": f"Bearer y{i}", "Accept-Language": "en"})
                got.add(r.json()["detail"])
        assert got == {"未知令牌", "unknown token"}, (got, (tmp_path / "serve.log").read_text())
    finally:
        p.terminate()
        p.wait(20)


@pytest.mark.parametrize(("params", "en", "zh"), [
    ({"limit": "0"}, "query.limit: must be at least 1", "query.limit：不能小于 1"),
    ({"limit": "1000001"}, "query.limit: must be at most 100000", "query.limit：不能大于 100000"),
    ({"limit": "many"}, "query.limit: must be a whole number", "query.limit：必须是整数"),
    ({"node": "n" * 65}, "query.node: must be at most 64 characters long", "query.node：最长 64 个字符"),
])
def test_framework_validation_errors_are_in_the_requests_language(server: Any, params: dict[str, str],
                                                                    en: str, zh: str) -> None:
    # FastAPI/pydantic's own checks of the parameters (pydantic writes English only)
    app, _store, tok = server
    c = TestClient(app)
    inv = {"Authorization": tok["inv"]}
    r_en = c.get("/api/v1/observations", params=params, headers=inv)
    r_zh = c.get("/api/v1/observations", params=params, headers={**inv, **ZH})
    assert r_en.status_code == r_zh.status_code == 422
    assert r_en.json() == {"detail": en}
    assert r_zh.json() == {"detail": zh}
