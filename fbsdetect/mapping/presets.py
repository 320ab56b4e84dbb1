"""Map presets (`maps/<name>.toml`): where the base map's tiles come from.

```toml
[preset]
name = "osm"
description = "OpenStreetMap standard tiles (online)"
[tiles]
url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"   # a URL template, or
# mbtiles = "/srv/tiles/xining.mbtiles"                  # an MBTiles file (offline), or
# url = "http://127.0.0.1:8081/{z}/{x}/{y}.png"          # a local tile server (offline)
attribution = "&copy; OpenStreetMap contributors"
max_zoom = 19
offline = false            # true: the preset needs no network
```

An MBTiles file (SQLite, TMS row order) is read when the map is written:
the tiles covering the data's area at the preset's zoom levels are written
beside the map (`<map>_tiles/{z}/{x}/{y}.png`, XYZ order) and the page
refers to them relatively, since a page opened from disk cannot read SQLite.
"""

from __future__ import annotations

import math
import os
import sqlite3
import tomllib
from dataclasses import dataclass
from pathlib import Path

from fbsdetect.errors import BadInput, BadUsage
from fbsdetect.i18n import _

MAPS_DIR = Path(__file__).resolve().parents[2] / "maps"

_KEYS = {"preset": {"name", "description"},
         "tiles": {"url", "mbtiles", "attribution", "max_zoom", "min_zoom", "offline", "subdomains"}}


@dataclass(frozen=True)
class MapPreset:
    name: str
    description: str
    url: str | None
    mbtiles: Path | None
    attribution: str
    max_zoom: int = 19
    min_zoom: int = 0
    offline: bool = False

    @property
    def needs_network(self) -> bool:
        if self.mbtiles is not None:
            return False
        if self.url is None:
            return False
        return not _is_local_url(self.url)


def _is_local_url(url: str) -> bool:
    u = url.lower()
    return (u.startswith("file:") or u.startswith("http://127.") or u.startswith("http://localhost")
            or u.startswith("http://[::1]") or not (u.startswith("http:") or u.startswith("https:")))


def maps_dirs() -> list[Path]:
    env = os.environ.get("FBSDETECT_MAPS")
    return ([Path(env)] if env else []) + [MAPS_DIR]


def load_preset(name_or_path: str) -> MapPreset:
    """A preset by name (looked up in maps/) or by path."""
    p = Path(name_or_path)
    if not p.suffix:
        for d in maps_dirs():
            if (d / f"{name_or_path}.toml").is_file():
                p = d / f"{name_or_path}.toml"
                break
        else:
            known = sorted({f.stem for d in maps_dirs() if d.is_dir() for f in d.glob("*.toml")})
            raise BadUsage(_("no map preset {name!r} (known: {known})").format(
                name=name_or_path, known=", ".join(known) or _("none")))
    if not p.is_file():
        raise BadInput(_("no such map preset file"), source=p)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(_("not a valid TOML file: {error}").format(error=exc), source=p) from None
    for table, value in data.items():
        if table not in _KEYS or not isinstance(value, dict):
            raise BadInput(_("unknown table [{table}]").format(table=table), source=p)
        for key in value:
            if key not in _KEYS[table]:
                raise BadInput(_("unknown key {key}").format(key=f"{table}.{key}"), source=p)
    pre, tiles = data.get("preset", {}), data.get("tiles", {})
    url, mb = tiles.get("url"), tiles.get("mbtiles")
    if (url is None) == (mb is None):
        raise BadInput(_("[tiles] needs exactly one of url or mbtiles"), source=p)
    if url is not None and not (isinstance(url, str) and "{z}" in url and "{x}" in url and "{y}" in url):
        raise BadInput(_("tiles.url must be a template with {z}, {x} and {y}").format(
            z="{z}", x="{x}", y="{y}"), source=p)
    mbtiles = None
    if mb is not None:
        if not isinstance(mb, str) or not mb:
            raise BadInput(_("tiles.mbtiles must be the path of an MBTiles file"), source=p)
        mbtiles = Path(mb) if os.path.isabs(mb) else (p.parent / mb)
    attribution = tiles.get("attribution")
    if not isinstance(attribution, str) or not attribution.strip():
        raise BadInput(_("tiles.attribution is required (tile providers require credit)"), source=p)
    try:
        max_zoom, min_zoom = int(tiles.get("max_zoom", 19)), int(tiles.get("min_zoom", 0))
    except (TypeError, ValueError):
        raise BadInput(_("tiles.max_zoom/min_zoom must be integers"), source=p) from None
    return MapPreset(name=str(pre.get("name", p.stem)), description=str(pre.get("description", "")),
                     url=url, mbtiles=mbtiles, attribution=attribution, max_zoom=max_zoom,
                     min_zoom=min_zoom, offline=bool(tiles.get("offline", mbtiles is not None)))


def _tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(max(-85.0511, min(85.0511, lat)))
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def extract_mbtiles(mbtiles: Path, out_dir: Path, bbox: tuple[float, float, float, float],
                    zooms: range, max_tiles: int = 20_000) -> int:
    """Writes the tiles of `bbox` (S, W, N, E) at `zooms` from an MBTiles file
    into out_dir/{z}/{x}/{y}.png; returns how many were found."""
    if not mbtiles.is_file():
        raise BadInput(_("no such MBTiles file"), source=mbtiles)
    try:
        con = sqlite3.connect(f"file:{mbtiles}?mode=ro", uri=True)
        con.execute("SELECT 1 FROM tiles LIMIT 1")
    except sqlite3.DatabaseError as exc:
        raise BadInput(_("not an MBTiles file ({error})").format(error=exc), source=mbtiles) from None
    s, w, n, e = bbox
    written = 0
    try:
        for z in zooms:
            x0, y0 = _tile_xy(n, w, z)
            x1, y1 = _tile_xy(s, e, z)
            if (x1 - x0 + 1) * (y1 - y0 + 1) > max_tiles:
                break
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    tms_y = (2 ** z - 1) - y  # MBTiles rows count from the south
                    row = con.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? "
                                      "AND tile_row=?", (z, x, tms_y)).fetchone()
                    if row is None:
                        continue
                    d = out_dir / str(z) / str(x)
                    d.mkdir(parents=True, exist_ok=True)
                    (d / f"{y}.png").write_bytes(row[0])
                    written += 1
    finally:
        con.close()
    return written
