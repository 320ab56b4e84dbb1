"""Storage: SQLAlchemy 2 models, sessions and Alembic migrations (SQLite by
default, PostgreSQL for the central server). See `db.py` and `models.py`."""

from fbsdetect.store.db import Store, open_store, url_from_env

__all__ = ["Store", "open_store", "url_from_args", "url_from_env"]


def url_from_args(args: object) -> str:
    """The database URL of a parsed command line: `--db`, else $FBSDETECT_DB, else ./fbsdetect.db."""
    return url_from_env(getattr(args, "db", None))
