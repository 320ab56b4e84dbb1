"""`fbsdetect db upgrade`: applies the Alembic migrations to `--db`
(every other command does so on open too; this one says what it did)."""

from __future__ import annotations

import argparse
import json
import sys

from fbsdetect.i18n import _, lazy

NAME = "db"
HELP = lazy("database maintenance: `db upgrade` applies the schema migrations to --db")


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True, help=_("what to do"))
    up = sub.add_parser("upgrade", help=_("apply pending schema migrations to --db (idempotent)"))
    up.add_argument("--json", action="store_true", help=_("print the result as one JSON object"))
    cur = sub.add_parser("current", help=_("print the database's schema revision and the newest known"))
    cur.add_argument("--json", action="store_true", help=_("print the result as one JSON object"))
    for sp in (up, cur):
        sp.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                        help=_("SQLAlchemy database URL (default: $FBSDETECT_DB or sqlite:///fbsdetect.db)"))


def run(args: argparse.Namespace) -> int:
    from fbsdetect.cli._common import db_url
    from fbsdetect.store.db import current_revision, head_revision, make_engine, upgrade

    url = db_url(args)
    engine = make_engine(url)
    try:
        from sqlalchemy.exc import OperationalError

        from fbsdetect.errors import NotAvailable

        try:
            if args.db_command == "upgrade":
                before, after = upgrade(engine)
                result = {"db": engine.url.render_as_string(hide_password=True), "from": before, "to": after,
                          "changed": before != after}
            else:
                result = {"db": engine.url.render_as_string(hide_password=True),
                          "current": current_revision(engine), "head": head_revision()}
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            raise NotAvailable(_("database {db} is not reachable: {reason}").format(
                db=engine.url.render_as_string(hide_password=True), reason=reason)) from None
    finally:
        engine.dispose()
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    elif args.db_command == "upgrade":
        if result["changed"]:
            sys.stdout.write(_("{db}: schema {old} -> {new}").format(
                db=result["db"], old=result["from"] or _("empty"), new=result["to"]) + "\n")
        else:
            sys.stdout.write(_("{db}: schema already at {new}").format(db=result["db"], new=result["to"])
                             + "\n")
    else:
        sys.stdout.write(_("{db}: schema {current} (newest {head})").format(
            db=result["db"], current=result["current"] or _("empty"), head=result["head"]) + "\n")
    return 0
