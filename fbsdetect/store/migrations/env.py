"""Alembic environment: runs on the engine that `fbsdetect.store.db` hands
over in `config.attributes["engine"]` (no alembic.ini, no URL in a file)."""

from __future__ import annotations

from alembic import context

from fbsdetect.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # pysqlite commits DDL at once unless a transaction was begun explicitly: with
            # this BEGIN a migration interrupted half-way (kill -9, power cut) leaves nothing
            conn.exec_driver_sql("BEGIN")
        context.configure(connection=conn, target_metadata=target_metadata,
                          render_as_batch=conn.dialect.name == "sqlite")
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: use `fbsdetect db upgrade --db URL`")
run_migrations_online()
