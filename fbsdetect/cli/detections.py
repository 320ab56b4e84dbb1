"""`fbsdetect detections`: list suspected fake cells from the database
(contracts.md section 5), as a table with the rules' explanations or as JSON
lines. The work is done by `fbsdetect.detect.engine.list_detections`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from fbsdetect.i18n import _, format_stored_time, lazy, ngettext, rule_title, severity_word
from fbsdetect.i18n.message import entry_evidence
from fbsdetect.terminal import printable

NAME = "detections"
HELP = lazy("list suspected fake cells from the database")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help=_("one JSON object per line (contracts.md section 5)"))
    p.add_argument("--min-severity", choices=("low", "medium", "high"), default="low",
                   help=_("hide detections below this severity (default: low)"))
    p.add_argument("--timezone", metavar="TZ",
                   help=_("time zone of the times shown (default: the config file's, else the system's)"))


def _cell(c: dict[str, Any]) -> str:
    def v(k: str) -> str:
        return "?" if c.get(k) is None else str(c[k])

    return f"{v('mcc')}-{v('mnc')} LAC {v('lac')} CID {v('cid')}  ARFCN {v('arfcn')} BSIC {v('bsic')}"


def human(d: dict[str, Any], tz: Any = None) -> str:
    """A detection as a regulator reads it (in the current language, times in zone `tz` with
    their offset): identity, severity, every rule with its title and evidence."""
    pos = d.get("position")
    located = isinstance(pos, dict) and all(
        isinstance(pos.get(k), int | float) and not isinstance(pos.get(k), bool) for k in ("lat", "lon"))
    err = pos.get("error_m") if located and isinstance(pos, dict) else None
    where = _("position: not enough data yet") if not located or not isinstance(pos, dict) else (
        _("position: {lat:.5f}, {lon:.5f}").format(lat=pos["lat"], lon=pos["lon"])
        + (f" ±{err:.0f} m" if isinstance(err, int | float) else "")
        + (f" ({pos['method']})" if pos.get("method") else ""))
    n_obs = int(d.get("observations") or 0)
    lines = [f"#{d['id']}  {severity_word(d['severity']).upper():<6} "
             + _("score {score:.2f}").format(score=d["score"]) + f"  {_cell(d['cell'])}",
             "    " + _("seen {first} .. {last}, {observations}, sensors: {sensors}").format(
                 first=format_stored_time(d.get("first_seen"), tz),
                 last=format_stored_time(d.get("last_seen"), tz),
                 observations=ngettext("{n} observation", "{n} observations", n_obs).format(n=n_obs),
                 sensors=", ".join(d.get("sensors") or []) or "-"),
             f"    {where}"]
    # evidence and SMS quote what the cell sent: no control character reaches the terminal (terminal.py)
    for r in d.get("rules", []):
        lines.append(f"    - {r['id']} {rule_title(str(r['id']), r.get('title'))} "
                     f"({float(r.get('score', 0)):.2f}): {printable(entry_evidence(r))}")
    for m in d.get("sms", []) or []:
        lines.append("    " + _("SMS {time} from {sender}: {text}").format(
            time=format_stored_time(m.get("time"), tz) if m.get("time") else "",
            sender=printable(m.get("sender")), text=printable(m.get("text"))))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from fbsdetect.cli._common import db_url
    from fbsdetect.detect.engine import list_detections
    from fbsdetect.errors import BadUsage
    from fbsdetect.i18n import LanguageError, user_zone
    from fbsdetect.store import open_store

    try:
        tz = user_zone(None, args.timezone)
    except LanguageError as exc:
        raise BadUsage(str(exc)) from None

    with open_store(db_url(args)) as store:
        dets = list_detections(store, min_severity=args.min_severity)
    out = sys.stdout
    if args.json:
        for d in dets:
            out.write(json.dumps(d, ensure_ascii=False, default=str) + "\n")
    elif not dets:
        out.write((_("no detections") if args.min_severity == "low" else
                   _("no detections of severity {severity} or above").format(
                       severity=severity_word(args.min_severity))) + "\n")
    else:
        out.write("\n\n".join(human(d, tz) for d in dets) + "\n")
    return 0
