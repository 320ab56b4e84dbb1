"""Opening the database: one `Store` for SQLite (embedded default) and
PostgreSQL (central server), migrated with Alembic to the newest schema.

- SQLite: WAL journal (readers never block the scan's writer), `synchronous
  = NORMAL` (a crash of the process loses nothing committed; a power cut may
  lose the last transaction, never corrupt the file), foreign keys on, a busy
  timeout so that two processes (a scan and a `detections` query) share it.
- PostgreSQL: `postgresql://` URLs use psycopg 3 (the `[server]` extra) when
  psycopg2 is not installed; `pool_pre_ping` so that a server restart costs a
  reconnect, not an error.

`open_store(url)` applies pending migrations (`fbsdetect db upgrade` does the
same explicitly); a database written by a newer fbsdetect is refused.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from fbsdetect.errors import BadUsage, NotAvailable
from fbsdetect.i18n import _

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def shown_url(url: str) -> str:
    """`url` as it may be shown (messages, logs): its password as ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def normalise_url(url: str) -> str:
    """`postgresql://` -> psycopg 3 when psycopg2 is absent; checks the URL's form."""
    try:
        u = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise BadUsage(_("--db {url!r} is not a database URL (e.g. sqlite:///fbsdetect.db, "
                        "postgresql://user@host/dbname)").format(
            url=shown_url(url))) from None
    if u.drivername in ("postgresql", "postgres"):
        try:
            import psycopg2  # noqa: F401
            u = u.set(drivername="postgresql")
        except ImportError:
            u = u.set(drivername="postgresql+psycopg")
    elif not (u.drivername.startswith("sqlite") or u.drivername.startswith("postgresql")):
        raise BadUsage(_("--db {url!r}: only SQLite and PostgreSQL are supported").format(url=shown_url(url)))
    return u.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    u = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if u.drivername.startswith("sqlite"):
        if u.database and u.database != ":memory:":
            parent = Path(u.database).expanduser().resolve().parent
            if not parent.is_dir():
                raise BadUsage(_("--db {url}: folder {parent} does not exist").format(
                    url=shown_url(url), parent=parent))
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise BadUsage(_("--db {url}: {error}").format(url=shown_url(url), error=exc)) from None
    if u.drivername.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)  # type: ignore[arg-type]
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Applies pending migrations; returns (revision before, revision after)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    before = current_revision(engine)
    cfg = _alembic_config(engine)
    known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
    if before is not None and before not in known:
        raise NotAvailable(_("the database is at schema revision {before}, unknown to this fbsdetect "
                            "(written by a newer version?): upgrade fbsdetect").format(
            before=before))
    if before != head_revision():
        if before is None and inspect(engine).get_table_names():
            tables = set(inspect(engine).get_table_names())
            if "observation" not in tables:
                raise BadUsage(_("the database holds tables that are not fbsdetect's; use another --db"))
        command.upgrade(cfg, "head")
    return before, head_revision()


class Store:
    """An open database: `session()` for ORM work, `engine` for bulk Core statements."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        from fbsdetect.store import audit

        audit.install(self._sessions)  # every ORM write of an observation/detection/finding is audited

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success, rolled back on error."""
        s = self._sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Opens (and by default migrates) the database at `url`.

    Unreachable servers and unreadable files are `NotAvailable` (exit 1) with
    one line saying what failed; malformed URLs are `BadUsage` (exit 2)."""
    engine = make_engine(url)
    try:
        if migrate:
            upgrade(engine)
        else:
            with engine.connect():
                pass
    except (BadUsage, NotAvailable):
        engine.dispose()
        raise
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise NotAvailable(_("database {url} is not reachable: {reason}").format(
            url=engine.url.render_as_string(hide_password=True), reason=reason)) from None
    except SQLAlchemyError as exc:
        engine.dispose()
        raise NotAvailable(_("database {url}: {type}: {error}").format(
            url=engine.url.render_as_string(hide_password=True), type=type(exc).__name__,
            error=str(exc).splitlines()[0])) from None
    return Store(engine)


def url_from_env(url: str | None = None) -> str:
    """`url`, else $FBSDETECT_DB, else the embedded default ./fbsdetect.db."""
    return url or os.environ.get("FBSDETECT_DB") or "sqlite:///fbsdetect.db"
