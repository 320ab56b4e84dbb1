"""The set-up the node tests share: a server database (SQLite) with node n1 registered and
`fbsdetect serve` running on it (HTTP ingest only)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Served:
    store: Any  # the server's database
    creds: dict[str, str]  # node n1's credentials
    server: Any  # tests.fleet.support.Server, started


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    pytest.importorskip("fastapi")
    from fbsdetect.server.auth import register_node
    from fbsdetect.store import open_store
    from tests.fleet.support import Server

    db = f"sqlite:///{tmp_path / 'srv.db'}"
    store = open_store(db)
    creds = register_node(store, "n1")
    server = Server(db, tmp_path, None)
    server.start()
    try:
        yield Served(store, creds, server)
    finally:
        server.stop()
        store.close()
