"""`fbsdetect detections`: list suspected fake cells from the database
(contracts.md section 5), as a table with the rules' explanations or as JSON
lines. The work is done by `fbsdetect.detect.engine.list_detections`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

NAME = "detections"
HELP = "list suspected fake cells from the database"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON object per line (contracts.md section 5)")
    p.add_argument("--min-severity", choices=("low", "medium", "high"), default="low",
                   help="hide detections below this severity (default: low)")


def _cell(c: dict[str, Any]) -> str:
    def v(k: str) -> str:
        return "?" if c.get(k) is None else str(c[k])

    return f"{v('mcc')}-{v('mnc')} LAC {v('lac')} CID {v('cid')}  ARFCN {v('arfcn')} BSIC {v('bsic')}"


def human(d: dict[str, Any]) -> str:
    """A detection as a regulator reads it: identity, severity, every rule with its evidence."""
    pos = d.get("position")
    located = isinstance(pos, dict) and all(
        isinstance(pos.get(k), int | float) and not isinstance(pos.get(k), bool) for k in ("lat", "lon"))
    err = pos.get("error_m") if located and isinstance(pos, dict) else None
    where = "position: not enough data yet" if not located or not isinstance(pos, dict) else (
        f"position: {pos['lat']:.5f}, {pos['lon']:.5f}"
        + (f" ±{err:.0f} m" if isinstance(err, int | float) else "")
        + (f" ({pos['method']})" if pos.get("method") else ""))
    lines = [f"#{d['id']}  {d['severity'].upper():<6} score {d['score']:.2f}  {_cell(d['cell'])}",
             f"    seen {d.get('first_seen')} .. {d.get('last_seen')}, {d.get('observations')} observations, "
             f"sensors: {', '.join(d.get('sensors') or []) or '-'}",
             f"    {where}"]
    for r in d.get("rules", []):
        lines.append(f"    - {r['id']} ({float(r.get('score', 0)):.2f}): {r.get('evidence', '')}")
    for m in d.get("sms", []) or []:
        lines.append(f"    SMS {m.get('time')} from {m.get('sender')}: {m.get('text')}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from fbsdetect.cli._common import db_url
    from fbsdetect.detect.engine import list_detections
    from fbsdetect.store import open_store

    with open_store(db_url(args)) as store:
        dets = list_detections(store, min_severity=args.min_severity)
    out = sys.stdout
    if args.json:
        for d in dets:
            out.write(json.dumps(d, ensure_ascii=False, default=str) + "\n")
    elif not dets:
        out.write("no detections" + ("" if args.min_severity == "low" else
                                      f" of severity {args.min_severity} or above") + "\n")
    else:
        out.write("\n\n".join(human(d) for d in dets) + "\n")
    return 0
