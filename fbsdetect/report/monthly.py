"""The monthly report for the radio regulator (`fbsdetect report --month
YYYY-MM -o DIR`): the figures an operator is asked for each month — suspect
transmitters found (new and still active), by operator and by area (the
sensor that saw them, and a ~10 km grid of their positions); observations
made; incidents handed to the police or a radio regulator, with their
dates — as an HTML page with a chart, and CSV files of the same figures.

The month is taken in the profile's time zone (Asia/Shanghai for `cn`);
times are stored in UTC and shown with their offset. The chart is a small
inline SVG written here (a bar per day): the report must open anywhere,
offline, with no plotting library installed on a node or laptop.

Everything a reader sees on the page is in the current language
(`fbsdetect.i18n`: `--lang zh` gives a Chinese page and chart, Chinese dates
and operator names); the page names the Noto CJK fonts (Debian
`fonts-noto-cjk`) and declares UTF-8. The CSV files are a machine interface
and the same in every language: English column names (`DETECTION_COLUMNS`,
`SUMMARY_COLUMNS`, `HANDOVER_COLUMNS`), language-independent values (operators
by their English name and code, `unlocated`, severity words, times with their
offset), UTF-8 without a byte-order mark.
`write_pdf` prints the page to PDF with headless Chromium when it is installed
(the converter the evidence package uses too: it lays out CJK text with the
system's fonts, and the tests render with it already).
"""

from __future__ import annotations

import csv
import html
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from fbsdetect.errors import BadUsage
from fbsdetect.i18n import (
    _,
    format_date,
    format_datetime,
    format_month,
    html_lang,
    severity_word,
)
from fbsdetect.store.db import Store
from fbsdetect.store.models import Detection, Handover, Observation, Sensor

SEVERITIES = ("high", "medium", "low")
AREA_GRID_DEG = 0.1  # ~10 km


@dataclass
class MonthlyFigures:
    month: str
    timezone: str
    start: datetime  # local, aware
    end: datetime
    observations: int = 0
    observations_by_sensor: Counter[str] = field(default_factory=Counter)
    cells_observed: int = 0
    detections: list[dict[str, Any]] = field(default_factory=list)  # active during the month
    new_by_day: Counter[int] = field(default_factory=Counter)  # day of month -> new suspects
    obs_by_day: Counter[int] = field(default_factory=Counter)
    handovers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def new_detections(self) -> list[dict[str, Any]]:
        return [d for d in self.detections if d["new"]]

    def by(self, key: str) -> Counter[str]:
        return Counter(str(d[key]) for d in self.detections)


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    try:
        y, m = (int(x) for x in month.split("-"))
        start = datetime(y, m, 1, tzinfo=tz)
        end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=tz)
        start.astimezone(UTC), end.astimezone(UTC)  # the stored times are UTC: both must have one
    except (ValueError, OverflowError):
        raise BadUsage(_("--month {value!r} is not YYYY-MM (e.g. 2026-03)").format(value=month)) from None
    return start, end


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadUsage(_("unknown time zone {name!r} (e.g. Asia/Shanghai, UTC)").format(name=name)) from None


UNLOCATED = "unlocated"  # the area of a detection without a position (CSV value; shown translated)


def _area(pos: dict[str, Any] | None) -> str:
    if not pos or pos.get("lat") is None or pos.get("lon") is None:
        return UNLOCATED
    g = AREA_GRID_DEG
    lat = (pos["lat"] // g) * g
    lon = (pos["lon"] // g) * g
    return f"{lat:.1f}..{lat + g:.1f}N {lon:.1f}..{lon + g:.1f}E"


def _area_word(area: str) -> str:
    """An area as the page shows it (`unlocated` translated)."""
    return _("unlocated") if area == UNLOCATED else area


def _english(name: Any, mcc: int | None, mnc: int | None) -> str:
    """`name(mcc, mnc)` in English (the CSV's operator column, the same in every language)."""
    from fbsdetect.i18n import using

    with using("en"):
        return str(name(mcc, mnc))


def monthly_figures(store: Store, month: str, tz: ZoneInfo, operator_name: Any = None) -> MonthlyFigures:
    """`operator_name(mcc, mnc) -> str` names operators (from the profile)."""
    start, end = month_bounds(month, tz)
    s_utc, e_utc = start.astimezone(UTC), end.astimezone(UTC)
    fig = MonthlyFigures(month=month, timezone=str(tz), start=start, end=end)
    name = operator_name or (
        lambda mcc, mnc: f"{mcc}-{mnc:02d}" if mcc is not None and mnc is not None else "?")
    with store.session() as s:
        rows = s.execute(
            select(Observation.time, Sensor.name, Observation.mcc, Observation.mnc, Observation.lac,
                   Observation.cid, Observation.arfcn)
            .join(Sensor, Observation.sensor_id == Sensor.id, isouter=True)
            .where(Observation.time >= s_utc, Observation.time < e_utc)
            .execution_options(yield_per=10000))
        cells = set()
        for t, sensor, mcc, mnc, lac, cid, arfcn in rows:
            fig.observations += 1
            fig.observations_by_sensor[sensor or "?"] += 1
            if t is not None:
                fig.obs_by_day[t.astimezone(tz).day] += 1
            cells.add((mcc, mnc, lac, cid, arfcn))
        fig.cells_observed = len(cells)
        dets = s.scalars(select(Detection).where(
            Detection.first_seen < e_utc,
            func.coalesce(Detection.last_seen, Detection.first_seen) >= s_utc).order_by(Detection.id))
        handed: dict[int, list[Handover]] = {}
        for h in s.scalars(select(Handover).order_by(Handover.handed_at)):
            handed.setdefault(h.detection_id, []).append(h)
            if s_utc <= h.handed_at < e_utc:
                fig.handovers.append({"detection_id": h.detection_id, "recipient": h.recipient,
                                      "reference": h.reference or "", "handed_at": h.handed_at.astimezone(tz),
                                      "note": h.note or ""})
        for d in dets:
            first = d.first_seen.astimezone(tz) if d.first_seen else None
            new = first is not None and start <= first < end
            if new and first is not None:
                fig.new_by_day[first.day] += 1
            fig.detections.append({
                "id": d.id, "severity": d.severity, "score": round(d.score, 2),
                "operator": name(d.mcc, d.mnc), "operator_en": _english(name, d.mcc, d.mnc),
                "mcc": d.mcc, "mnc": d.mnc, "lac": d.lac, "cid": d.cid,
                "arfcn": d.arfcn, "bsic": d.bsic, "first_seen": first,
                "last_seen": d.last_seen.astimezone(tz) if d.last_seen else None, "new": new,
                "observations": d.n_observations, "sensors": ", ".join(d.sensors or []),
                "area": _area(d.position), "rules": ", ".join(r.get("id", "") for r in d.rules or []),
                "handovers": [(h.recipient, h.handed_at.astimezone(tz), h.reference or "")
                              for h in handed.get(d.id, [])],
                "handed_over": "; ".join(f"{h.recipient} {h.handed_at.astimezone(tz):%Y-%m-%d}"
                                         + (f" ({h.reference})" if h.reference else "")
                                         for h in handed.get(d.id, []))})
    return fig


def _svg_bars(days: int, series: list[tuple[str, Counter[int], str]], title: str) -> str:
    font = 'font:11px "Noto Sans CJK SC","Noto Sans",sans-serif'
    """A grouped bar chart of per-day counts as inline SVG."""
    w, h, left, bottom = 760, 220, 40, 30
    top = max([max(c.values(), default=0) for _, c, _ in series] + [1])
    top = 4 * -(-top // 4)  # a multiple of 4: the five grid lines fall on whole numbers
    bw = (w - left - 10) / days
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
             f'aria-label="{html.escape(title)}" style=\'{font}\'>',
             f'<text x="{left}" y="12">{html.escape(title)}</text>']
    for k in range(5):
        v = top * k / 4
        y = h - bottom - (h - bottom - 20) * k / 4
        parts.append(f'<line x1="{left}" x2="{w - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    n = len(series)
    day_text = _("day {day}: {n}")
    for day in range(1, days + 1):
        x0 = left + (day - 1) * bw
        for j, (_label, counts, colour) in enumerate(series):
            v = counts.get(day, 0)
            bh = (h - bottom - 20) * v / top
            parts.append(f'<rect x="{x0 + 1 + j * (bw - 2) / n:.1f}" y="{h - bottom - bh:.1f}" '
                         f'width="{max((bw - 2) / n, 1):.1f}" height="{bh:.1f}" fill="{colour}">'
                         f'<title>{html.escape(day_text.format(day=day, n=v))}</title></rect>')
        if day == 1 or day % 5 == 0:
            parts.append(f'<text x="{x0 + bw / 2:.1f}" y="{h - bottom + 14}" '
                         f'text-anchor="middle">{day}</text>')
    for j, (label, _c, colour) in enumerate(series):
        parts.append(f'<rect x="{left + 150 * j}" y="{h - 10}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{left + 14 + 150 * j}" y="{h - 1}">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def recipient_word(recipient: str) -> str:
    """`handover --to` words (police, regulator, operator, other) as the reader says them."""
    words = {"police": _("police"), "regulator": _("radio regulator"), "operator": _("operator"),
             "other": _("other")}
    return words.get(recipient, recipient)


def _fmt_t(t: datetime | None) -> str:
    """A time in the CSV files: ISO-like, with the offset (machine-readable in every language)."""
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M %z")


def _show_t(t: datetime | None) -> str:
    """A time on the page: the current language's format, offset visible."""
    return format_datetime(t) if t is not None else ""


# the CSV columns: machine names, English in every language (the page's headings are translated)
DETECTION_COLUMNS = ("id", "severity", "score", "operator", "mcc", "mnc", "lac", "cid", "arfcn", "bsic",
                     "first_seen", "last_seen", "new", "observations", "sensors", "area", "rules",
                     "handed_over")
SUMMARY_COLUMNS = ("figure", "key", "value")
HANDOVER_COLUMNS = ("detection_id", "recipient", "reference", "handed_at", "note")


def write_report(fig: MonthlyFigures, out_dir: Path, *, title: str = "fbsdetect") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    m = fig.month
    paths = []
    det_csv = out_dir / f"detections-{m}.csv"
    cols = list(DETECTION_COLUMNS)
    enc = "utf-8"
    with det_csv.open("w", newline="", encoding=enc) as f:
        w = csv.writer(f)
        w.writerow(cols)
        for d in fig.detections:
            row = {**d, "operator": d.get("operator_en", d["operator"])}
            w.writerow([_fmt_t(row[c]) if isinstance(row[c], datetime) else row[c] for c in cols])
    paths.append(det_csv)
    summary_csv = out_dir / f"summary-{m}.csv"
    with summary_csv.open("w", newline="", encoding=enc) as f:
        w = csv.writer(f)
        w.writerow(SUMMARY_COLUMNS)
        w.writerow(["observations", "all", fig.observations])
        w.writerow(["cells_observed", "all", fig.cells_observed])
        w.writerow(["suspects_active", "all", len(fig.detections)])
        w.writerow(["suspects_new", "all", len(fig.new_detections)])
        for sev in SEVERITIES:
            w.writerow(["suspects_active", f"severity={sev}", fig.by("severity").get(sev, 0)])
        for k, v in sorted(Counter(d.get("operator_en", d["operator"]) for d in fig.detections).items()):
            w.writerow(["suspects_active", f"operator={k}", v])
        for k, v in sorted(fig.by("area").items()):
            w.writerow(["suspects_active", f"area={k}", v])
        for k, v in sorted(fig.observations_by_sensor.items()):
            w.writerow(["observations", f"sensor={k}", v])
        w.writerow(["handovers", "all", len(fig.handovers)])
        for k, v in sorted(Counter(h["recipient"] for h in fig.handovers).items()):
            w.writerow(["handovers", f"recipient={k}", v])
    paths.append(summary_csv)
    ho_csv = out_dir / f"handovers-{m}.csv"
    with ho_csv.open("w", newline="", encoding=enc) as f:
        w = csv.writer(f)
        w.writerow(HANDOVER_COLUMNS)
        for h in fig.handovers:
            w.writerow([h["detection_id"], h["recipient"], h["reference"], _fmt_t(h["handed_at"]), h["note"]])
    paths.append(ho_csv)

    e = html.escape
    days = (fig.end - fig.start).days
    chart = _svg_bars(days, [(_("new suspect transmitters"), fig.new_by_day, "#d7301f")],
                      _("New suspect transmitters per day ({zone})").format(zone=fig.timezone))
    obs_chart = _svg_bars(days, [(_("observations"), fig.obs_by_day, "#2b6cb0")], _("Observations per day"))

    def table(head: list[str], rows: list[list[Any]]) -> str:
        th = "".join(f"<th>{e(h)}</th>" for h in head)
        trs = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
        none = e(_("none"))
        body = trs or f"<tr><td>{none}</td></tr>"
        return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

    det_rows = [[d["id"], severity_word(d["severity"]), d["operator"], f"{d['lac']}/{d['cid']}", d["arfcn"],
                 _show_t(d["first_seen"]), _show_t(d["last_seen"]), _area_word(d["area"]), d["sensors"],
                 d["rules"],
                 "; ".join(f"{recipient_word(r)} {format_date(t)}" + (f" ({ref})" if ref else "")
                           for r, t, ref in d.get("handovers", [])) or "-"] for d in fig.detections]
    csv_names = ", ".join(p.name for p in paths)
    y, mo = (int(x) for x in m.split("-"))
    month = format_month(y, mo)
    heading = _("{title}: monthly report {month}").format(title=title, month=month)
    period = _("Period: {start} to {end} ({zone}); times stored in UTC, shown with their offset.").format(
        start=_show_t(fig.start), end=_show_t(fig.end), zone=fig.timezone)
    figures = table([_("figure"), _("value")], [
        [_("suspect transmitters active this month"), len(fig.detections)],
        [_("of which first seen this month"), len(fig.new_detections)],
        *[[_("severity {severity}").format(severity=severity_word(sev)), fig.by("severity").get(sev, 0)]
          for sev in SEVERITIES],
        [_("observations"), fig.observations], [_("distinct cells observed"), fig.cells_observed],
        [_("incidents handed over this month"), len(fig.handovers)]])
    # texts of the page (gettext calls inside an f-string are invisible to the extraction)
    t = {
        "figures": _("Figures"),
        "suspects_by_operator": _("Suspects by operator"),
        "operator": _("operator"),
        "suspects": _("suspects"),
        "suspects_by_area": _("Suspects by area"),
        "area_grid": _("area (~10 km grid of the estimated position)"),
        "observations_by_sensor": _("Observations by sensor"),
        "sensor": _("sensor"),
        "observations": _("observations"),
        "suspect_transmitters": _("Suspect transmitters"),
        "id": _("id"),
        "severity": _("severity"),
        "first_seen": _("first seen"),
        "last_seen": _("last seen"),
        "area": _("area"),
        "sensors": _("sensors"),
        "rules": _("rules"),
        "handed_over": _("handed over"),
        "handed_heading": _("Incidents handed to police or radio regulators"),
        "detection": _("detection"),
        "recipient": _("recipient"),
        "reference": _("reference"),
        "date": _("date"),
        "note": _("note"),
        "csv_files": _("CSV files of these figures: {files}."),
    }
    page = f"""<!doctype html>
<html lang="{html_lang()}"><head><meta charset="utf-8"><title>{e(heading)}</title>
<style>body{{font:14px "Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","Noto Sans",sans-serif;
margin:24px;max-width:1100px}}
table{{border-collapse:collapse;margin:8px 0 20px}}
td,th{{border:1px solid #bbb;padding:3px 6px;font-size:12px}}
th{{background:#eee;white-space:nowrap}}h2{{margin-top:28px}}
@media print{{body{{margin:0}} svg{{max-width:100%}}}}</style></head><body>
<h1>{e(heading)}</h1>
<p>{e(period)}</p>
<h2>{e(t['figures'])}</h2>
{figures}
{chart}
{obs_chart}
<h2>{e(t['suspects_by_operator'])}</h2>
{table([t['operator'], t['suspects']], [[k, v] for k, v in sorted(fig.by("operator").items())])}
<h2>{e(t['suspects_by_area'])}</h2>
{table([t['area_grid'], t['suspects']],
       [[_area_word(k), v] for k, v in sorted(fig.by("area").items())])}
<h2>{e(t['observations_by_sensor'])}</h2>
{table([t['sensor'], t['observations']], [[k, v] for k, v in sorted(fig.observations_by_sensor.items())])}
<h2>{e(t['suspect_transmitters'])}</h2>
{table([t['id'], t['severity'], t['operator'], "LAC/CID", "ARFCN", t['first_seen'], t['last_seen'], t['area'],
        t['sensors'], t['rules'], t['handed_over']], det_rows)}
<h2>{e(t['handed_heading'])}</h2>
{table([t['detection'], t['recipient'], t['reference'], t['date'], t['note']],
       [[h["detection_id"], recipient_word(h["recipient"]), h["reference"], _show_t(h["handed_at"]),
         h["note"]] for h in fig.handovers])}
<p style="color:#666">{e(t['csv_files'].format(files=csv_names))}</p>
</body></html>
"""
    html_path = out_dir / f"report-{m}.html"
    html_path.write_text(page, encoding="utf-8")
    return [html_path, *paths]


def pdf_converter() -> list[str] | None:
    """Headless Chromium's command line for printing a page to PDF, or None when none is installed."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        exe = shutil.which(name)
        if exe:
            return [exe, "--headless", "--disable-gpu", "--no-sandbox", "--no-pdf-header-footer",
                    "--no-first-run", "--disable-extensions", "--disable-background-networking"]
    return None


def write_pdf(html_path: Path, pdf_path: Path | None = None, *, timeout_s: float = 120.0) -> Path | None:
    """Prints the report page to `pdf_path` (default: beside it, .pdf); None when no converter is
    installed. A converter that fails is an error (RuntimeError with its last output line)."""
    import subprocess
    import tempfile

    cmd = pdf_converter()
    if cmd is None:
        return None
    pdf_path = pdf_path or html_path.with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as prof:
        p = subprocess.run([*cmd, f"--user-data-dir={prof}", f"--print-to-pdf={pdf_path}",
                            html_path.resolve().as_uri()], capture_output=True, text=True, timeout=timeout_s)
    if not pdf_path.exists() or pdf_path.stat().st_size == 0:
        last = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
        raise RuntimeError(f"PDF converter failed: {last}")
    return pdf_path


def add_handover(store: Store, detection_id: int, recipient: str, *, reference: str | None = None,
                 handed_at: datetime | None = None, note: str | None = None) -> int:
    from fbsdetect.errors import BadInput

    with store.session() as s:
        if s.get(Detection, detection_id) is None:
            raise BadInput(_("there is no detection {id}").format(id=detection_id))
        h = Handover(detection_id=detection_id, recipient=recipient, reference=reference,
                     handed_at=handed_at or datetime.now(UTC), note=note)
        s.add(h)
        s.flush()
        return h.id

