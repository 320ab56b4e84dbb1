"""`fbsdetect verify FILE.zip` / `fbsdetect verify --db [URL]`: checks an
evidence package / the database's hash-chained audit log. Exit 0 only when
untouched; exit 1 with one line per thing that changed."""

from __future__ import annotations

import argparse
import json
import os
import sys

from fbsdetect.errors import BadUsage
from fbsdetect.i18n import _, lazy

NAME = "verify"
HELP = lazy("check an evidence package (FILE.zip) or the database's audit log (--db)")
_FROM_ENV = "\0env"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("package", nargs="?", metavar="FILE.zip", help=_("the evidence package to check"))
    # `--db` (the common option) may stand alone here: `verify --db` checks $FBSDETECT_DB or ./fbsdetect.db
    for action in p._actions:
        if "--db" in action.option_strings:
            action.dest = "verify_db"  # keeps a `fbsdetect --db URL verify --db` URL in args.db
            action.nargs = "?"
            action.const = _FROM_ENV
            action.help = _("check the audit log of this database (alone: $FBSDETECT_DB or "
                            "sqlite:///fbsdetect.db)")
    p.add_argument("--fingerprint", metavar="FP",
                   help=_("also require the package to be signed by the key with this fingerprint"))
    p.add_argument("--head", metavar="SEQ:HASH",
                   help=_("with --db: also check the log against a head recorded earlier (printed by "
                          "`verify --db`, audit_head in an evidence package's manifest): every change made "
                          "after it to a row that existed then is named"))
    p.add_argument("--json", action="store_true", help=_("the result as one JSON object on stdout"))


def run(args: argparse.Namespace) -> int:
    flag = getattr(args, "verify_db", None)
    db = getattr(args, "db", None)
    if flag is not None:
        db = flag if flag != _FROM_ENV else (db or _FROM_ENV)
    if args.package is None and db is None:
        raise BadUsage(_("give FILE.zip to check a package, or --db to check the database's audit log"))
    if getattr(args, "head", None) is not None and (db is None or args.package is not None):
        raise BadUsage(_("--head goes with --db (it checks the database's audit log)"))
    code = 0
    if args.package is not None:
        code = max(code, _package(args))
    if db is not None and args.package is None:
        code = max(code, _db(args, None if db == _FROM_ENV else db))
    return code


def _package(args: argparse.Namespace) -> int:
    from fbsdetect.export.evidence import verify_package

    rep = verify_package(args.package, expect_fingerprint=args.fingerprint)
    if args.json:
        print(json.dumps({"package": args.package, "ok": rep.ok, "problems": rep.problems,
                          "fingerprint": rep.fingerprint, "detection": rep.detection, "files": rep.files}))
    for line in rep.problems:
        sys.stderr.write(f"{args.package}: {line}\n")
    if rep.fingerprint and not args.json:
        print(_("signing key: {key}").format(key=rep.fingerprint))
    if rep.ok:
        if not args.json:
            det = rep.detection or {}
            print(_("{package}: OK, untouched ({n} files; detection {id})").format(
                package=args.package, n=rep.files, id=det.get("id")))
        return 0
    if not args.json:
        print(_("{package}: FAILED, {n} problem(s)").format(package=args.package, n=len(rep.problems)))
    return 1


def _db(args: argparse.Namespace, url: str | None) -> int:
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from fbsdetect.errors import BadInput, NotAvailable
    from fbsdetect.store import open_store, url_from_env
    from fbsdetect.store.audit import AUDIT_TABLE, verify_db
    from fbsdetect.store.db import current_revision, normalise_url

    full = normalise_url(url_from_env(url))
    u = make_url(full)
    if u.drivername.startswith("sqlite") and u.database not in (None, "", ":memory:") \
            and not u.query.get("uri") and not os.path.exists(os.path.expanduser(u.database or "")):
        raise BadInput(_("no such database file"), source=u.database)  # (connecting would create one)
    # checked as it is: a migration would write to what is being verified (and the one that
    # creates the log seals the rows as they are, which verify would then call untouched)
    store = open_store(full, migrate=False)
    try:
        if AUDIT_TABLE.name not in inspect(store.engine).get_table_names():
            raise NotAvailable(_("{db}: no audit log in this database (schema {schema}): nothing to "
                                 "verify; `fbsdetect db upgrade` starts one, sealing the rows as they are "
                                 "now").format(
                db=store.url, schema=current_revision(store.engine) or _("empty")))
        rep = verify_db(store)
        head = None
        if getattr(args, "head", None) is not None:
            from fbsdetect.store.audit_head import check_head, parse_head

            seq, prefix = parse_head(args.head)
            with store.engine.connect() as conn:
                head = check_head(conn, seq, prefix)
    finally:
        store.close()
    ok = rep.ok and (head is None or head.ok)
    if args.json:
        out = rep.to_json()
        if head is not None:
            out["since_head"] = head.to_json()
            out["ok"] = ok
        print(json.dumps(out))
    for line in rep.lines() + ([p.line() for p in head.problems] if head is not None else []):
        sys.stderr.write(f"{line}\n")
    if not args.json:
        rows = ", ".join(_("{n} {table} rows").format(n=n, table=t) for t, n in rep.rows.items())
        # without a recorded head, "untouched" means: the chain is whole and every row matches its
        # newest entry; the chain is not keyed (store.audit_head says what --head adds)
        state = _("OK, untouched") if rep.ok else _("FAILED, {n} problem(s)").format(n=rep.n_problems)
        print(_("audit log: {state} ({entries} entries, head {seq} {hash}; {rows})").format(
            state=state, entries=rep.entries, seq=rep.head_seq, hash=rep.head_hash[:16], rows=rows))
        if head is not None:
            if head.ok:
                print(_("since the recorded head {seq}: nothing recorded then has changed ({n} entries after "
                        "it, {r} of them the bookkeeping of later analyses)").format(
                    seq=head.seq, n=head.entries_after, r=head.routine_updates))
            else:
                print(_("since the recorded head {seq}: FAILED, {n} problem(s)").format(
                    seq=head.seq, n=head.n_problems))
    return 0 if ok else 1
