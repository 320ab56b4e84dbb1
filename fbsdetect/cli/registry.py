"""`fbsdetect registry import FILE`: import known cells from an OpenCellID /
MLS style CSV or a licensed-site list, streaming; `fbsdetect registry stats`:
the sources stored, with their attribution and counts."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from fbsdetect.i18n import _, lazy

NAME = "registry"
HELP = lazy("manage the known-cell registry (import OpenCellID/MLS CSV or licensed-site lists; stats)")


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="registry_command", metavar="ACTION", help=_("what to do"))
    sub.required = True
    imp = sub.add_parser(
        "import",
        help=_("import an OpenCellID/MLS CSV or a licensed-site list (.gz/.bz2/.xz too), streaming"),
        description=_(
            "Imports known cells, streaming (constant memory). The format is detected from the "
            "header: OpenCellID/MLS radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,"
            "created,updated,averageSignal, or a licensed-site list "
            "date_start,date_end,radio,mcc,mnc,lac,ci,lon,lat,azimuth[,arfcn,bsic]. "
            "Re-importing updates rows of the same source, never duplicates. "
            "Exit 2 when the file cannot be read, breaks off, or has no usable row; the good rows "
            "are stored in every case."
        ),
    )
    imp.add_argument("file", metavar="FILE", help=_("CSV file (contracts.md section 6), plain or compressed"))
    imp.add_argument(
        "--mcc", type=int, action="append", metavar="N", help=_("keep only this MCC (repeatable)")
    )
    imp.add_argument("--bbox", metavar="S,W,N,E", help=_("keep only cells inside this box (degrees)"))
    imp.add_argument(
        "--radio",
        action="append",
        metavar="RADIO",
        type=str.upper,
        choices=["GSM", "UMTS", "LTE", "NR", "CDMA"],
        help=_("keep only this radio type: GSM, UMTS, LTE, NR, CDMA (repeatable)"),
    )
    imp.add_argument(
        "--source-name",
        metavar="NAME",
        help=_(
            "the registry source the rows belong to (default: 'opencellid' for OpenCellID/MLS "
            "files, 'licensed:<file stem>' for licensed-site lists); importing into the same "
            "name updates its rows"
        ),
    )
    imp.add_argument(
        "--attribution",
        metavar="TEXT",
        help=_(
            "attribution text kept with the source (default for OpenCellID: its CC BY-SA 4.0 attribution)"
        ),
    )
    imp.add_argument("--licence", metavar="SPDX", help=_("licence of the data, e.g. CC-BY-SA-4.0"))
    imp.add_argument(
        "--format",
        dest="csv_format",
        choices=["auto", "opencellid", "licensed"],
        default="auto",
        help=_("file format (default: detected from the header)"),
    )
    imp.add_argument("--json", action="store_true", help=_("print the import report as one JSON object"))
    imp.add_argument(
        "--show-rejects",
        type=int,
        default=10,
        metavar="N",
        help=_("list the first N rejected rows with their line numbers (default 10)"),
    )
    st = sub.add_parser("stats", help=_("list the registry sources with their attribution and counts"))
    st.add_argument("--json", action="store_true", help=_("one JSON object per source"))


def run(args: argparse.Namespace) -> int:
    if args.registry_command == "stats":
        return _stats(args)
    return _import(args)


class _Progress:
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.last = 0.0
        self.shown = False

    def __call__(self, report: Any, phase: str) -> None:
        now = time.monotonic()
        if phase == "read" and now - self.last < 0.5:
            return
        self.last = now
        el = max(now - self.t0, 1e-9)
        if phase == "merge":
            text = f"{report.rows_read:,} rows read, storing..."
        else:
            text = (
                f"{report.rows_read:,} rows read, {report.rows_read / el:,.0f} rows/s, "
                f"{report.rejected:,} rejected"
            )
        sys.stderr.write("\r" + text.ljust(70))
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 70 + "\r")
            sys.stderr.flush()


def _import(args: argparse.Namespace) -> int:
    from fbsdetect.cli._common import db_url
    from fbsdetect.detect.registry import BBox, import_registry
    from fbsdetect.errors import BadUsage
    from fbsdetect.store import open_store

    bbox = BBox.parse(args.bbox) if args.bbox else None
    if args.mcc and any(not 0 <= m <= 999 for m in args.mcc):
        raise BadUsage(_("--mcc {mcc}: an MCC is 0..999").format(mcc=args.mcc))
    if args.show_rejects < 0:
        raise BadUsage(_("--show-rejects must be >= 0"))
    for opt, value, limit in (("--licence", args.licence, 64), ("--source-name", args.source_name, 256)):
        if value is not None and len(value) > limit:  # the registry_source columns' sizes
            raise BadUsage(
                _("{flag} is {n} characters long: at most {limit}").format(
                    flag=opt, n=len(value), limit=limit)
                + (" " + _("(an SPDX identifier, e.g. CC-BY-SA-4.0)") if opt == "--licence" else "")
            )
    from fbsdetect.detect.registry_csv import LineReader

    LineReader(args.file).close()  # a missing file or a directory: say so before opening the database
    progress = _Progress() if sys.stderr.isatty() else None
    from sqlalchemy.exc import OperationalError

    from fbsdetect.errors import NotAvailable

    store = open_store(db_url(args))
    try:
        report = import_registry(
            store,
            args.file,
            mccs=args.mcc,
            bbox=bbox,
            radios=args.radio,
            source_name=args.source_name,
            attribution=args.attribution,
            licence=args.licence,
            fmt=None if args.csv_format == "auto" else args.csv_format,
            max_rejects=args.show_rejects,
            progress=progress,
        )
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc).splitlines()[0]
        raise NotAvailable(
            _("database {url}: {reason}; nothing of {file} was stored (another import or a long write "
              "holding the database? try again)").format(url=store.url, reason=reason, file=args.file)
        ) from None
    finally:
        if progress is not None:
            progress.done()
        store.close()
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(report.text() + "\n")
    if report.exit_code:
        why = report.damage or _("no row of the file could be used")
        sys.stderr.write(_("fbsdetect registry: {file}: {why}").format(file=args.file, why=why) + "\n")
    return report.exit_code


def _stats(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from fbsdetect.cli._common import db_url
    from fbsdetect.store import open_store
    from fbsdetect.store.models import RegistryCell, RegistrySource

    store = open_store(db_url(args))
    try:
        c, s = RegistryCell.__table__, RegistrySource.__table__
        with store.engine.connect() as conn:
            # one pass over the table (the key's index starts with the CGI since 0010: no index
            # gives the rows by source)
            counts: dict[int, tuple[int, Any]] = {}
            radios: dict[int, dict[str, int]] = {}
            for sid, radio, n, upd in conn.execute(
                select(c.c.source_id, c.c.radio, func.count(), func.max(c.c.updated))
                .group_by(c.c.source_id, c.c.radio)
            ):
                radios.setdefault(int(sid), {})[radio] = int(n)
                total, newest = counts.get(int(sid), (0, None))
                if upd is not None and (newest is None or upd > newest):
                    newest = upd
                counts[int(sid)] = (total + int(n), newest)
            sources = conn.execute(select(s).order_by(s.c.id)).mappings().all()
    finally:
        store.close()
    from datetime import UTC, datetime

    out = []
    for src in sources:
        n, upd = counts.get(int(src["id"]), (0, None))
        out.append(
            {
                "id": src["id"],
                "name": src["name"],
                "kind": src["kind"],
                "cells": n,
                "radios": radios.get(int(src["id"]), {}),
                "updated_max": (
                    datetime.fromtimestamp(upd, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if upd else None
                ),
                "attribution": src["attribution"],
                "licence": src["licence"],
                "path": src["path"],
                "imported_at": (src["imported_at"].isoformat() if src["imported_at"] is not None else None),
                "last_import": {
                    "rows_read": src["rows_read"],
                    "imported": src["rows_imported"],
                    "updated": src["rows_updated"],
                    "rejected": src["rows_rejected"],
                },
            }
        )
    if args.json:
        for o in out:
            sys.stdout.write(json.dumps(o, ensure_ascii=False) + "\n")
        return 0
    if not out:
        sys.stdout.write(_("no registry sources (fbsdetect registry import FILE)") + "\n")
        return 0
    for o in out:
        rad = ", ".join(f"{k} {v:,}" for k, v in sorted(o["radios"].items()))
        sys.stdout.write(
            _("{name} ({kind}): {cells} cells").format(
                name=o["name"], kind=o["kind"], cells=f"{o['cells']:,}")
            + (f" ({rad})" if rad else "")
            + (_(", newest update {date}").format(date=o["updated_max"]) if o["updated_max"] else "")
            + "\n"
        )
        sys.stdout.write(
            "  " + _("attribution: {attribution}").format(attribution=o["attribution"] or "-")
            + (f" [{o['licence']}]" if o["licence"] else "")
            + "\n"
        )
        li = o["last_import"]
        sys.stdout.write(
            "  " + _("last import {time}: {path}: read {read}, imported {imported}, updated {updated}, "
                     "rejected {rejected}").format(
                time=o["imported_at"], path=o["path"], read=f"{li['rows_read']:,}",
                imported=f"{li['imported']:,}", updated=f"{li['updated']:,}", rejected=f"{li['rejected']:,}")
            + "\n"
        )
    return 0
