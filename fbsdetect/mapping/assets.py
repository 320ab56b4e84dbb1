"""The JavaScript and CSS a map page needs, online (CDN links) or offline
(vendored copies inlined into the page, so that it opens on an air-gapped
laptop and no request leaves the machine).

folium's default page pulls about 14 assets from five CDNs (jQuery,
Bootstrap, Font Awesome, awesome-markers, ...); our maps use only Leaflet
itself and the Leaflet.heat plugin (circle markers and plain HTML popups need
nothing else), so that is all that is vendored: `vendor/` holds Leaflet 1.9.4
and Leaflet.heat 0.2.0 exactly as published on the npm registry, with their
BSD-2-Clause licences. Images that leaflet.css refers to are inlined as data
URIs in offline pages.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path

VENDOR = Path(__file__).with_name("vendor")

LEAFLET_VERSION = "1.9.4"
HEAT_VERSION = "0.2.0"

ONLINE_JS = [
    ("leaflet", f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.js"),
]
ONLINE_CSS = [
    ("leaflet_css", f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.css"),
]
HEAT_ONLINE = f"https://cdn.jsdelivr.net/npm/leaflet.heat@{HEAT_VERSION}/dist/leaflet-heat.js"


@functools.cache
def vendored(name: str) -> str:
    return (VENDOR / name).read_text(encoding="utf-8")


def _data_uri(png: str) -> str:
    return "data:image/png;base64," + base64.b64encode((VENDOR / png).read_bytes()).decode("ascii")


@functools.cache
def leaflet_css_inline() -> str:
    """leaflet.css with its images as data URIs."""
    css = vendored("leaflet.css")
    return re.sub(r"url\(images/([\w.-]+\.png)\)", lambda m: f"url({_data_uri(m.group(1))})", css)


def script_tag(js: str) -> str:
    # a literal "</script>" inside would end the element early
    return "<script>" + js.replace("</script>", "<\\/script>") + "</script>"


def style_tag(css: str) -> str:
    return "<style>" + css + "</style>"
