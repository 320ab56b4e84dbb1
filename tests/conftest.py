"""Shared test fixtures: the reference data folder and external programs.

Reference data is read in place from ../shared/data (override with
FBSDETECT_SHARED_DATA); tests that need it skip with the reason when absent.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    env = os.environ.get("FBSDETECT_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def shared_file(relpath: str) -> Path:
    """A file of the shared reference data, or skip the test saying why."""
    p = shared_data_dir() / relpath
    if not p.exists():
        pytest.skip(f"reference data {p} is absent (set FBSDETECT_SHARED_DATA)")
    return p


def require_program(name: str) -> str:
    """Path of an external program, or skip the test saying why."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
    if not path:
        pytest.skip(f"{name} is not installed (scripts/setup --system installs it)")
    return path


def require_service(port: int, what: str) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return
    except OSError:
        pytest.skip(f"{what} is not reachable on 127.0.0.1:{port} (scripts/services starts it)")


@pytest.fixture
def shared_data() -> Path:
    d = shared_data_dir()
    if not d.exists():
        pytest.skip(f"reference data folder {d} is absent (set FBSDETECT_SHARED_DATA)")
    return d


PG_ADMIN_URL = os.environ.get("FBSDETECT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def pg_url() -> object:
    """URL of a fresh PostgreSQL database (created for the test, dropped after);
    skips with the reason when the server on 127.0.0.1:5432 is unreachable."""
    import uuid

    require_service(5432, "PostgreSQL")
    try:
        import psycopg
    except ImportError:
        pytest.skip("psycopg is not installed (the [server] extra)")
    name = f"fbsdetect_test_{uuid.uuid4().hex[:12]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test against SQLite (a file in tmp_path) and PostgreSQL (a fresh database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fbsdetect.db'}"
    return str(request.getfixturevalue("pg_url"))


def engine_at_revision(url: str, revision: str) -> Engine:
    """An engine on `url` whose schema is migrated up to `revision` only (to test a later
    migration on rows stored before it); the caller disposes of it."""
    from alembic import command

    from fbsdetect.store.db import _alembic_config, make_engine

    eng = make_engine(url)
    command.upgrade(_alembic_config(eng), revision)
    return eng
