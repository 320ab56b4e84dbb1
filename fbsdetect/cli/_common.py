"""Small helpers shared by the CLI modules."""

from __future__ import annotations

import argparse
import os

from fbsdetect.errors import NotAvailable
from fbsdetect.i18n import _

DEFAULT_DB_URL = "sqlite:///fbsdetect.db"


def db_url(args: argparse.Namespace) -> str:
    """The database URL: `--db`, else $FBSDETECT_DB, else ./fbsdetect.db."""
    return getattr(args, "db", None) or os.environ.get("FBSDETECT_DB") or DEFAULT_DB_URL


def not_built(command: str, issue: str) -> NotAvailable:
    """The error for a subcommand whose issue has not been done yet."""
    return NotAvailable(_("`fbsdetect {command}` is not built yet (pending: {issue})").format(
        command=command, issue=issue))


def require_file(path: str, what: str = "file") -> str:
    """Checks that `path` is a readable regular file; BadInput otherwise (`what`: a translated noun)."""
    from fbsdetect.errors import BadInput

    if not os.path.exists(path):
        raise BadInput(_("no such {what}").format(what=_(what)), source=path)
    if os.path.isdir(path):
        raise BadInput(_("is a directory, expected a {what}").format(what=_(what)), source=path)
    if not os.access(path, os.R_OK):
        raise BadInput(_("{what} is not readable").format(what=_(what)), source=path)
    return path


DB_ID_MAX = 2**63 - 1  # the largest row id SQLite and PostgreSQL's bigint hold


def db_id(text: str) -> int:
    """argparse type of a stored row's id (detection, scan run): an integer 1..2^63-1, so that a
    mistyped id is a usage error (exit 2) rather than an overflow deep in the database driver."""
    try:
        v = int(text)
    except ValueError:
        msg = _("{text!r} is not an id (a whole number)").format(text=text)
        raise argparse.ArgumentTypeError(msg) from None
    if not 1 <= v <= DB_ID_MAX:
        raise argparse.ArgumentTypeError(_("{text} is not an id (ids run from 1 to {top})").format(
            text=text, top=DB_ID_MAX))
    return v
