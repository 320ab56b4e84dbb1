"""Where IQ snippets go (review #4, #18): beside a SQLite file; for PostgreSQL in a configured folder
(`$FBSDETECT_IQ_DIR`, default `$XDG_DATA_HOME/fbsdetect/iq`) with one subfolder a database, the same for scan
and export whatever the current directory; none for an in-memory database (said once); the runners of a
multi-dongle scan share one keeper (one numbering, one set of bounds) and one book of flagged cells."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from fbsdetect.cli.scan import _snippets
from fbsdetect.export.evidence import db_dir, snippet_home
from fbsdetect.scan.profile import load_profile

SMALL = Path(__file__).resolve().parents[1] / "corpus" / "sweep" / "small.toml"


def _store(url: str) -> Any:
    u = make_url(url)
    return SimpleNamespace(engine=SimpleNamespace(url=u, dialect=SimpleNamespace(name=u.get_backend_name())))


def test_in_memory_databases_get_no_snippets_and_it_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.chdir(tmp_path)
    said: list[str] = []
    for url in ("sqlite://", "sqlite:///:memory:"):
        assert snippet_home(_store(url)) is None and db_dir(_store(url)) is None
        assert _snippets(_store(url), load_profile("cn"), "s", "v", said.append) is None
    assert len(said) == 2 and all("in memory" in s for s in said)
    assert not list(tmp_path.iterdir())  # nothing written in the current directory


def test_postgresql_snippets_go_to_a_per_database_folder_not_the_cwd(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FBSDETECT_IQ_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    a = _store("postgresql+psycopg://fbs@127.0.0.1:5432/fbs_a")
    b = _store("postgresql+psycopg://fbs@127.0.0.1:5432/fbs_b")
    (ba, sa), (bb, sb) = snippet_home(a) or (None, ""), snippet_home(b) or (None, "")
    assert ba == bb == (tmp_path / "xdg" / "fbsdetect" / "iq").resolve() and sa != sb
    assert "fbs_a" in sa and "127.0.0.1" in sa
    k = _snippets(a, load_profile("cn"), "s", "v")
    assert k.base_dir == db_dir(a) and k.subdir == sa
    monkeypatch.setenv("FBSDETECT_IQ_DIR", str(tmp_path / "iqdir"))
    monkeypatch.chdir(tmp_path / "xdg" if (tmp_path / "xdg").exists() else "/")
    assert snippet_home(a) == ((tmp_path / "iqdir").resolve(), sa)  # the export, run elsewhere, finds it
    assert db_dir(a) != Path.cwd()


def test_sqlite_files_keep_their_snippets_beside_them(tmp_path: Path) -> None:
    assert snippet_home(_store(f"sqlite:///{tmp_path / 'scan.db'}")) == (tmp_path.resolve(), "scan.db.iq")


def test_multi_dongle_runners_share_one_keeper_and_one_flag_book(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import fbsdetect.scan.multi as multi
    from fbsdetect.cli.main import main

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("FBSDETECT_KEY_FILE", str(tmp_path / "idkey"))
    built: list[Any] = []

    def fake_run_multi(srcs: Any, specs: Any, profile: Any, sink: Any, *, make_runner: Any, detector: Any,
                       log: Any) -> dict[str, Any]:
        for k, (src, spec) in enumerate(zip(srcs, specs, strict=True)):
            built.append(make_runner(src, profile, sink, source_spec=spec, detector=detector,
                                     share=(k, len(srcs)), log=log))
        return {"cells": [], "radio_s": 0.0, "sweeps": 0, "overflows": 0}

    monkeypatch.setattr(multi, "run_multi", fake_run_multi)
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    shutil.copy(SMALL, a)
    shutil.copy(SMALL, b)
    assert main(["--db", f"sqlite:///{tmp_path / 'm.db'}", "scan", "--source", f"sim:{a}", "--source",
                 f"sim:{b}", "--profile", "cn", "--max-sweeps", "1", "--quiet"]) == 0
    r1, r2 = built
    assert r1.snippets is not None and r1.snippets is r2.snippets and r1.snippets.shared
    assert r1.flags is r2.flags


def test_a_shared_keeper_numbers_the_snippets_of_concurrent_runners_apart(tmp_path: Path) -> None:
    import threading
    from datetime import UTC, datetime

    from fbsdetect.scan.snippets import SnippetKeeper
    from tests.scan.test_snippets import _carrier, _tap_with

    k = SnippetKeeper(tmp_path, run_tag="run7", shared=True)
    tap = _tap_with(1.0)
    refs: list[str | None] = []

    def work() -> None:
        for _ in range(3):
            refs.append(k.save(tap, _carrier(20, 4), 939.0e6, time_zero=datetime(2026, 3, 2, tzinfo=UTC)))

    ts = [threading.Thread(target=work) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(refs) == 6 and all(refs) and len(set(refs)) == 6
    assert all((tmp_path / r).is_file() for r in refs if r) and set(k.sha256) == set(refs)
