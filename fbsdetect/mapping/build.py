"""The investigator's map (`fbsdetect map -o FILE.html`), built with folium.

Layers (each can be switched in the layer control):
- **Detections** by severity (high / medium / low): a marker at the
  estimated transmitter position when there is one, else at the place where
  the cell was received strongest (said so in the popup: that is where the
  receiver was, not the transmitter); the popup gives the cell identity,
  score, every rule with its explanation, first/last seen, sensors and the
  evidence package (a link when `evidence-<id>.zip` lies beside the map,
  else the command that makes it).
- **Estimated positions**: the 50 % and 95 % uncertainty regions.
- **Power: <cell>** per suspect cell: a heat map of the received power along
  the drives (binned on ~20 m, the strongest reading per bin).
- **Observed cells**: every other cell, at its strongest reading.
- **Registry**: known cells of the area from the imported registry.
- **Drive tracks**: the receiver's GPS track per scan run.
- **Coverage**: where anything was observed (~100 m bins), for the extent of the survey.
- A **time slider** replays the suspect cells' readings over time (a moving
  transmitter shows as a moving hot spot), and a **legend**.

Colours: severity high #d7301f, medium #fc8d59, low #fdcc8a; operator cells
blue, registry grey. Large stores stay usable in a browser because every
layer is aggregated (data.py) and the slider holds at most a few thousand
points per suspect.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import folium
from branca.element import Element, MacroElement
from jinja2 import Template

from fbsdetect.i18n import (
    _,
    format_stored_time,
    html_lang,
    ngettext,
    rule_title,
    severity_word,
)
from fbsdetect.i18n.message import entry_evidence
from fbsdetect.mapping import assets
from fbsdetect.mapping.data import HEAT_BIN_DEG, MapData
from fbsdetect.mapping.presets import MapPreset, extract_mbtiles

SEVERITY_COLOUR = {"high": "#d7301f", "medium": "#fc8d59", "low": "#fdcc8a"}
CELL_COLOUR = "#2b6cb0"
REGISTRY_COLOUR = "#777777"
TRACK_COLOUR = "#6a3d9a"
# received power, weak to strong (viridis): no hue of the severity or cell colours
CJK_FONTS = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
             "sans-serif")
CJK_CSS = (".leaflet-container, .leaflet-popup-content, .leaflet-control-layers, #fbs-legend, "
           f"#fbs-time-slider {{font-family: {CJK_FONTS} !important}}")
HEAT_GRADIENT = {0.0: "#440154", 0.25: "#3b528b", 0.5: "#21918c", 0.75: "#5ec962", 1.0: "#fde725"}


def _fmt_cell(c: dict[str, Any]) -> str:
    def v(k: str) -> str:
        x = c.get(k)
        return "?" if x is None else str(x)

    return f"{v('mcc')}-{v('mnc')} LAC {v('lac')} CID {v('cid')} · ARFCN {v('arfcn')} BSIC {v('bsic')}"


def _region_polygons(region: Any) -> list[list[list[list[float]]]]:
    """The polygons of a stored region (GeoJSON Polygon or MultiPolygon, or a
    bare ring of [lon, lat]), each as Leaflet [lat, lon] rings: its exterior,
    then its holes (a region with a hole is drawn with the hole: filling it
    would draw as likely what the region leaves out)."""
    if region is None:
        return []
    if isinstance(region, dict):
        coords = region.get("coordinates") or []
        polys = [coords] if region.get("type") == "Polygon" and coords else \
            [poly for poly in coords if poly] if region.get("type") == "MultiPolygon" else []
    else:
        polys = [[region]]
    out = []
    for poly in polys:
        rings = []
        for ring in poly:
            try:
                rings.append([[float(p[1]), float(p[0])] for p in ring])
            except (TypeError, ValueError, IndexError):
                continue
        if rings:
            out.append(rings)
    return out


def _region_rings(region: Any) -> list[list[list[float]]]:
    """The outer rings of a stored region as Leaflet [lat, lon] rings."""
    return [poly[0] for poly in _region_polygons(region)]


def _popup_detection(d: dict[str, Any], at_estimate: bool, evidence: str, tz: Any = None) -> str:
    e = html.escape
    # the rule's title in the reader's language (by id), the evidence too (its stored recipe or texts)
    rules = "".join(
        f"<li><b>{e(rule_title(str(r.get('id')), r.get('title')))}</b> <code>{e(str(r.get('id')))}"
        f"{'' if r.get('version') is None else ' v' + e(str(r.get('version')))}</code> "
        f"({float(r.get('score') or 0):.2f}): {e(entry_evidence(r))}</li>"
        for r in d["rules"])
    pos = d.get("position") or {}
    method = e(str(pos.get("method", "")))
    where = (e(_("estimated transmitter position, ±{error:.0f} m ({method})").format(
                 error=float(pos["error_m"]), method=method))
             if at_estimate and pos.get("error_m") is not None else
             e(_("estimated transmitter position")) if at_estimate else
             e(_("no position estimate yet: marker at the strongest reading (the receiver's place)")))
    sensors = ", ".join(e(str(x)) for x in d.get("sensors") or [])
    sms = d.get("sms") or []
    traffic = d.get("traffic") or {}
    extra = ""
    if traffic:
        ids = ", ".join(f"{k} {v}" for k, v in (traffic.get("identity_requests") or {}).items())
        extra += "<br>" + e(_("traffic: {assignments} assignments, {ciphered} ciphered, identity requests "
                              "{identity}, {rejects} LU rejects").format(
            assignments=traffic.get("assignments", 0), ciphered=traffic.get("ciphered", 0),
            identity=ids or "0", rejects=traffic.get("lu_rejects", 0)))
    if sms:
        items = "".join("<li>" + _("{time} from {sender} ({category}): {text}").format(
                            time=e(format_stored_time(m.get("time"), tz) if m.get("time") else ""),
                            sender=f"<b>{e(str(m.get('sender')))}</b>",
                            category=e(str(m.get("category") or "?")),
                            text=e(str(m.get("text") or ""))[:300]) + "</li>"
                        for m in sms[:10])
        more = ("<br>... " + e(_("{n} more SMS in the evidence package").format(n=len(sms) - 10))
                if len(sms) > 10 else "")
        head = e(ngettext("{n} SMS sent in clear", "{n} SMS sent in clear", len(sms)).format(n=len(sms)))
        extra += f"<br><b>{head}</b><ul style='padding-left:16px'>{items}</ul>{more}"
    n_obs = int(d.get("observations", 0) or 0)
    head = _("Detection #{id}: {severity}").format(id=d["id"], severity=severity_word(d["severity"]).upper())
    colour = SEVERITY_COLOUR.get(d["severity"], "#000")
    return (f"<div style='max-width:420px;max-height:60vh;overflow-y:auto'><b style='color:{colour}'>"
            + e(head) + "</b> " + e(_("(score {score:.2f})").format(score=d["score"])) + "<br>"
            f"{e(_fmt_cell(d['cell']))}<br><i>{where}</i><ul style='padding-left:16px'>{rules}</ul>"
            + e(_("first seen {time}").format(time=format_stored_time(d.get("first_seen"), tz))) + "<br>"
            + e(_("last seen {time}").format(time=format_stored_time(d.get("last_seen"), tz))) + "<br>"
            + e(ngettext("{n} observation", "{n} observations", n_obs).format(n=n_obs)) + "; "
            + e(_("sensors: {sensors}").format(sensors=sensors or "-")) + extra + "<br>"
            + _("evidence: {link}").format(link=evidence) + "</div>")


class _Legend(MacroElement):
    _template = Template("""
{% macro html(this, kwargs) %}
<div id="fbs-legend" style="position:fixed;bottom:24px;left:12px;z-index:9999;background:#fff;
 padding:8px 10px;border:1px solid #999;border-radius:4px;font:12px sans-serif;line-height:18px">
<b>{{ this.title }}</b><br>
{% for colour, label, shape in this.items %}
<span style="display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle;
 {% if shape == 'line' %}height:3px;{% else %}border-radius:6px;{% endif %}background:{{ colour }}">
</span>{{ label }}<br>
{% endfor %}
<span style="color:#555">{{ this.note }}</span>
</div>
{% endmacro %}
""")

    def __init__(self, title: str, items: list[tuple[str, str, str]], note: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.title = title
        self.items = items
        self.note = note


class _BoundPopup(MacroElement):
    """A popup with plain HTML content bound to its parent marker (folium's own
    Popup builds its content with jQuery, which our pages do not load)."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.bindPopup({{ this.content_json }}, {maxWidth: {{ this.max_width }}});
{% endmacro %}
""")

    def __init__(self, content_html: str, max_width: int = 450) -> None:
        super().__init__()
        self._name = "BoundPopup"
        self.content_json = json.dumps(content_html).replace("</", "<\\/")
        self.max_width = max_width


class _TimeSlider(MacroElement):
    """A range input replaying timed points (lat, lon, t_ms, power, label) on the map."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function(){
  var map = {{ this._parent.get_name() }};
  var pts = {{ this.points_json }};
  if (!pts.length) return;
  var layer = L.layerGroup().addTo(map);
  var t0 = pts[0][2], t1 = pts[pts.length-1][2], win = {{ this.window_ms }};
  var texts = {{ this.texts_json }};
  var ctl = L.control({position: 'bottomright'});
  ctl.onAdd = function() {
    var d = L.DomUtil.create('div');
    d.id = 'fbs-time-slider';
    d.style.cssText = 'background:#fff;padding:6px 8px;border:1px solid #999;border-radius:4px;'
      + 'font:12px sans-serif';
    d.innerHTML = '<b>{{ this.title }}</b><br>'
      + '<input type="range" min="0" max="1000" value="1000" style="width:240px"><br><span></span>';
    L.DomEvent.disableClickPropagation(d);
    return d;
  };
  ctl.addTo(map);
  var box = document.getElementById('fbs-time-slider');
  var input = box.querySelector('input'), label = box.querySelector('span');
  function draw() {
    var t = t0 + (t1 - t0) * input.value / 1000;
    layer.clearLayers();
    for (var i = 0; i < pts.length; i++) {
      var p = pts[i];
      if (p[2] > t || p[2] < t - win) continue;
      var a = 1 - (t - p[2]) / win;
      L.circleMarker([p[0], p[1]], {radius: 5, color: p[5], weight: 1, fillOpacity: 0.3 + 0.6 * a,
        opacity: a}).bindTooltip(p[4] + ': ' + p[3].toFixed(1) + ' dB').addTo(layer);
    }
    // in the user's zone (fixed when the map was written), with its offset
    var off = texts.offset_min, a = Math.abs(off), local = new Date(t + off * 60000);
    var zone = 'UTC' + (off < 0 ? '-' : '+') + String(Math.floor(a / 60)).padStart(2, '0') + ':'
      + String(a % 60).padStart(2, '0');
    label.textContent = local.toISOString().replace('T', ' ').slice(0, 19) + ' ' + zone + ' '
      + texts.last.replace('{s}', Math.round(win / 1000));
  }
  input.addEventListener('input', draw);
  draw();
})();
{% endmacro %}
""")

    def __init__(self, points: list[list[Any]], window_ms: float, title: str, offset_min: int = 0) -> None:
        super().__init__()
        self._name = "TimeSlider"
        self.points_json = json.dumps(points)
        self.window_ms = window_ms
        self.title = html.escape(title)
        # "{s}" is filled in by the page (the window in seconds)
        self.texts_json = json.dumps({"last": _("(last {s} s)"), "offset_min": offset_min},
                                     ensure_ascii=False).replace("</", "<\\/")


def build_map(data: MapData, preset: MapPreset | None, out_path: Path, *, offline: bool = False,
              title: str = "fbsdetect", tz: Any = None) -> dict[str, Any]:
    """Writes the map page in the current language (`fbsdetect.i18n`), times in zone `tz`
    (default UTC) with their offset; returns what it holds (layer names, marker counts)."""
    from datetime import UTC, datetime

    tz = tz or UTC
    bbox = data.bbox or (36.6, 101.77, 36.63, 101.79)
    centre = ((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2)
    m = folium.Map(location=centre, zoom_start=14, tiles=None, control_scale=True, prefer_canvas=True)
    m.default_js = list(assets.ONLINE_JS)
    m.default_css = list(assets.ONLINE_CSS)
    tiles_note = _("no base map")
    if preset is not None:
        url = preset.url
        if preset.mbtiles is not None:
            tiles_dir = out_path.with_name(out_path.stem + "_tiles")
            # the data's area and as much again around it
            dlat, dlon = max(bbox[2] - bbox[0], 0.01), max(bbox[3] - bbox[1], 0.01)
            area = (bbox[0] - dlat, bbox[1] - dlon, bbox[2] + dlat, bbox[3] + dlon)
            n = extract_mbtiles(preset.mbtiles, tiles_dir, area, range(preset.min_zoom, preset.max_zoom + 1))
            url = f"{tiles_dir.name}/{{z}}/{{x}}/{{y}}.png"
            tiles_note = _("{n} tiles from {file}").format(n=n, file=preset.mbtiles.name)
        else:
            tiles_note = preset.name
        folium.TileLayer(tiles=url, attr=preset.attribution,
                         name=_("Base map ({name})").format(name=preset.name),
                         max_zoom=preset.max_zoom, min_zoom=preset.min_zoom, overlay=False,
                         control=True).add_to(m)
    counts: dict[str, Any] = {}

    # suspects' power heat maps
    from folium.plugins import HeatMap

    by_det = {d["id"]: d for d in data.detections}
    for agg in data.cells.values():
        if agg.detection_id is None or not agg.heat:
            continue
        vals = list(agg.heat.values())
        lo, hi = min(vals), max(vals)
        span = max(hi - lo, 1.0)
        heat = [[bi * HEAT_BIN_DEG, bj * HEAT_BIN_DEG, 0.15 + 0.85 * (p - lo) / span]
               for (bi, bj), p in agg.heat.items()]
        d = by_det.get(agg.detection_id)
        name = _("Power: #{id} {cell}").format(id=agg.detection_id,
                                                cell=_fmt_cell(d["cell"]) if d else agg.key)
        # low-severity suspects' layers start hidden: the map opens on what matters
        g = folium.FeatureGroup(name=name, show=d is None or d["severity"] != "low")
        HeatMap(heat, radius=14, blur=12, min_opacity=0.35, max_zoom=17, gradient=HEAT_GRADIENT).add_to(g)
        g.add_to(m)
    counts["heat_layers"] = sum(1 for a in data.cells.values() if a.detection_id is not None and a.heat)

    # drive tracks
    g_tracks = folium.FeatureGroup(name=_("Drive tracks"), show=True)
    for run_id, pts in data.tracks.items():
        if len(pts) >= 2:
            folium.PolyLine(pts, color=TRACK_COLOUR, weight=3, opacity=0.7,
                            tooltip=_("scan run {id}").format(id=run_id)).add_to(g_tracks)
    counts["tracks"] = len(data.tracks)
    g_tracks.add_to(m)

    # coverage
    g_cov = folium.FeatureGroup(name=_("Coverage (where observed)"), show=False)
    for (bi, bj), n in data.coverage.items():
        folium.CircleMarker((bi * 1e-3, bj * 1e-3), radius=3, color="#999", weight=0, fill=True,
                            fill_opacity=0.35,
                            tooltip=ngettext("{n} observation", "{n} observations", n).format(n=n),
                            ).add_to(g_cov)
    g_cov.add_to(m)

    # registry
    g_reg = folium.FeatureGroup(name=_("Registry (known cells)"), show=True)
    for r in data.registry:
        tip = (_("registry: {mcc}-{mnc} LAC {lac} CID {cid}").format(
                   mcc=r["mcc"], mnc=r["mnc"], lac=r["lac"], cid=r["cid"])
               + (_(", range {range:.0f} m").format(range=r["range_m"]) if r.get("range_m") else "")
               + (_(", {n} samples").format(n=r["samples"]) if r.get("samples") else ""))
        folium.CircleMarker((r["lat"], r["lon"]), radius=4, color=REGISTRY_COLOUR, weight=1, fill=True,
                            fill_opacity=0.6, tooltip=html.escape(tip)).add_to(g_reg)
    counts["registry"] = len(data.registry)
    g_reg.add_to(m)

    # observed (not suspect) cells
    g_cells = folium.FeatureGroup(name=_("Observed cells (strongest reading)"), show=True)
    n_cells = 0
    for agg in data.cells.values():
        if agg.detection_id is not None or agg.best_lat is None or agg.best_lon is None:
            continue
        mcc, mnc, lac, cid, arfcn = agg.key
        label = _fmt_cell({"mcc": mcc, "mnc": mnc, "lac": lac, "cid": cid, "arfcn": arfcn, "bsic": agg.bsic})
        tip = (_("{cell}; strongest {power:.1f} {unit} here (receiver position); {n} observations").format(
                   cell=label, power=agg.best_power, unit=agg.power_ref, n=agg.n)
               if agg.best_power is not None else label)
        folium.CircleMarker((agg.best_lat, agg.best_lon), radius=6, color="#ffffff", weight=2, fill=True,
                            fill_color=CELL_COLOUR, fill_opacity=0.9,
                            tooltip=html.escape(tip)).add_to(g_cells)
        n_cells += 1
    counts["cells"] = n_cells
    g_cells.add_to(m)

    # estimated positions and regions
    g_pos = folium.FeatureGroup(name=_("Estimated positions (50 % / 95 % regions)"), show=True)
    n_pos = 0
    for d in data.detections:
        pos = d.get("position") or {}
        for key, opacity, dash in (("region95", 0.08, "6 4"), ("region50", 0.2, None)):
            for rings in _region_polygons(pos.get(key)):
                folium.Polygon(rings if len(rings) > 1 else rings[0],
                               color=SEVERITY_COLOUR.get(d["severity"], "#000"), weight=2, fill=True,
                               fill_opacity=opacity, dash_array=dash,
                               tooltip=_("#{id}: {p} % region").format(id=d["id"], p=key[-2:])).add_to(g_pos)
        if pos.get("lat") is not None and pos.get("lon") is not None:
            n_pos += 1
    counts["positions"] = n_pos
    g_pos.add_to(m)

    # detections by severity
    strongest = {a.detection_id: a for a in data.cells.values() if a.detection_id is not None}
    n_det = {"high": 0, "medium": 0, "low": 0}
    groups = {sev: folium.FeatureGroup(name=_("Detections: {severity}").format(severity=severity_word(sev)),
                                       show=True)
              for sev in ("high", "medium", "low")}
    for d in data.detections:
        pos = d.get("position") or {}
        at_estimate = pos.get("lat") is not None and pos.get("lon") is not None
        if at_estimate:
            where = (float(pos["lat"]), float(pos["lon"]))
        else:
            best = strongest.get(d["id"])
            if best is None or best.best_lat is None or best.best_lon is None:
                continue
            where = (best.best_lat, best.best_lon)
        ev_file = out_path.parent / f"evidence-{d['id']}.zip"
        link = html.escape(ev_file.name)
        evidence = (f"<a href='{link}'>{link}</a>" if ev_file.exists()
                    else f"<code>fbsdetect export --format evidence --detection {d['id']} -o "
                         f"evidence-{d['id']}.zip</code>")
        sev = d["severity"] if d["severity"] in groups else "low"
        marker = folium.CircleMarker(where, radius=11 if sev == "high" else 9, color="#000", weight=2,
                                     fill=True, fill_color=SEVERITY_COLOUR[sev], fill_opacity=0.95,
                                     tooltip=f"#{d['id']} {severity_word(sev)}: {_fmt_cell(d['cell'])}")
        marker.add_child(_BoundPopup(_popup_detection(d, at_estimate, evidence, tz)))
        marker.add_to(groups[sev])
        n_det[sev] += 1
    for sev in ("low", "medium", "high"):
        groups[sev].add_to(m)
    counts.update({f"detections_{k}": v for k, v in n_det.items()})

    # time slider over the suspects' readings
    slider: list[list[Any]] = []
    for agg in data.cells.values():
        if agg.detection_id is None:
            continue
        d = by_det.get(agg.detection_id)
        colour = SEVERITY_COLOUR.get(d["severity"], "#000") if d else "#000"
        slider += [[la, lo, t, p, f"#{agg.detection_id}", colour] for la, lo, t, p in agg.slider]
    slider.sort(key=lambda p: p[2])
    if slider:
        span_ms = slider[-1][2] - slider[0][2]
        off = datetime.fromtimestamp(slider[-1][2] / 1000, UTC).astimezone(tz).utcoffset()
        m.add_child(_TimeSlider(slider, max(10_000.0, span_ms / 10), _("Suspect readings over time"),
                                int(off.total_seconds() // 60) if off else 0))
    counts["slider_points"] = len(slider)

    folium.LayerControl(collapsed=len(data.detections) > 3).add_to(m)
    legend = [(SEVERITY_COLOUR[sev], html.escape(_("detection: {severity}").format(
        severity=severity_word(sev))), "dot") for sev in ("high", "medium", "low")]
    legend += [(CELL_COLOUR, html.escape(_("observed cell (strongest reading)")), "dot"),
               (REGISTRY_COLOUR, html.escape(_("registry cell")), "dot"),
               (TRACK_COLOUR, html.escape(_("drive track")), "line")]
    note = _("{n} observations · base map: {tiles} · times in {zone}").format(
        n=data.n_observations, tiles=tiles_note, zone=str(tz))
    m.add_child(_Legend(html.escape(title), legend, html.escape(note)))
    if data.bbox is not None:
        south, west, north, east = data.bbox
        # the known cells around the survey and the suspects' regions are part of the picture
        corners = [(r["lat"], r["lon"]) for r in data.registry]
        for d in data.detections:
            for ring in _region_rings((d.get("position") or {}).get("region95")):
                corners += [(p[0], p[1]) for p in ring]
        for lat, lon in corners:
            south, north = min(south, lat), max(north, lat)
            west, east = min(west, lon), max(east, lon)
        pad = 0.002
        m.fit_bounds([[south - pad, west - pad], [north + pad, east + pad]])
    root: Any = m.get_root()
    root.header.add_child(Element('<meta charset="utf-8">'))
    # CJK glyphs from the system's Noto CJK (Debian fonts-noto-cjk) in the popups, legend and controls
    root.header.add_child(Element(f"<title>{html.escape(title)}</title><style>{CJK_CSS}</style>"))
    page = root.render()
    page = page.replace("<html>", f'<html lang="{html_lang()}">', 1)
    page = _with_heat_js(page, offline)
    if offline:
        page = _inline_assets(page)
    out_path.write_text(page, encoding="utf-8")
    counts["bytes"] = len(page.encode("utf-8"))
    return counts


def _with_heat_js(page: str, offline: bool) -> str:
    """folium's HeatMap refers to its plugin on a CDN: use the vendored Leaflet.heat's address."""
    return re.sub(r'<script src="[^"]*leaflet[-_]heat[^"]*"></script>',
                  f'<script src="{assets.HEAT_ONLINE}"></script>', page)


def _inline_assets(page: str) -> str:
    """Every script and style inlined: the page makes no request beyond its tiles."""
    page = page.replace(f'<script src="{assets.ONLINE_JS[0][1]}"></script>',
                        assets.script_tag(assets.vendored("leaflet.js")))
    page = page.replace(f'<script src="{assets.HEAT_ONLINE}"></script>',
                        assets.script_tag(assets.vendored("leaflet-heat.js")))
    page = page.replace(f'<link rel="stylesheet" href="{assets.ONLINE_CSS[0][1]}"/>',
                        assets.style_tag(assets.leaflet_css_inline()))
    left = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?:[^"]+)"', page)
    if left:
        raise RuntimeError(f"offline map still refers to {left}")
    return page
