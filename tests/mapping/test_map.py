"""The map, opened in headless Chromium: every layer present, the fake cell
flagged where its position was estimated, no JavaScript errors, and in
offline mode no request leaving the machine."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from fbsdetect.cli.main import main
from fbsdetect.store import open_store
from tests.mapping.fixtures import populate
from tests.support.browser import external, render

LAYERS = ["Drive tracks", "Registry (known cells)", "Observed cells (strongest reading)",
          "Estimated positions (50 % / 95 % regions)", "Detections: high", "Power: #"]


@pytest.fixture
def surveyed(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    with open_store(url) as store:
        populate(store)
    return url


def _mbtiles(path: Path) -> None:
    """A tiny MBTiles file: one grey PNG for every tile of zoom 12-14 around the district."""
    import zlib

    def png(rgb: tuple[int, int, int]) -> bytes:
        import struct

        raw = b"".join(b"\x00" + bytes(rgb) * 256 for _ in range(256))

        def chunk(t: bytes, d: bytes) -> bytes:
            return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

    from fbsdetect.mapping.presets import _tile_xy

    con = sqlite3.connect(path)
    con.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
                "tile_data BLOB)")
    tile = png((225, 232, 220))
    for z in (12, 13, 14):
        x0, y0 = _tile_xy(36.64, 101.75, z)
        x1, y1 = _tile_xy(36.60, 101.80, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                con.execute("INSERT INTO tiles VALUES (?,?,?,?)", (z, x, (2 ** z - 1) - y, tile))
    con.commit()
    con.close()


def test_offline_map_in_chromium(surveyed: str, tmp_path: Path) -> None:
    mb = tmp_path / "tiles.mbtiles"
    _mbtiles(mb)
    preset = tmp_path / "local.toml"
    preset.write_text(f'[preset]\nname = "local"\n[tiles]\nmbtiles = "{mb}"\nattribution = "test tiles"\n'
                      "min_zoom = 12\nmax_zoom = 14\n")
    out = tmp_path / "map.html"
    assert main(["map", "-o", str(out), "--offline", "--preset", str(preset), "--db", surveyed]) == 0
    page = out.read_text(encoding="utf-8")
    for name in LAYERS:
        assert name in page, name
    assert not re.findall(r'<(?:script|link)[^>]+(?:src|href)="https?:', page)
    assert (tmp_path / "map_tiles").is_dir()
    run = render(out, tmp_path / "map.png")
    assert run.errors == [], run.errors
    assert external(run.urls) == [], external(run.urls)
    import matplotlib.image

    img = (matplotlib.image.imread(run.screenshot)[..., :3] * 255).round()
    tile_px = ((abs(img - (225, 232, 220)) <= 2).all(axis=-1)).mean()
    assert tile_px > 0.2  # the local tiles were drawn (file: loads are not in the net log)


def test_online_map_has_attribution_and_layers(surveyed: str, tmp_path: Path) -> None:
    out = tmp_path / "online.html"
    assert main(["map", "-o", str(out), "--db", surveyed]) == 0
    page = out.read_text(encoding="utf-8")
    assert "OpenStreetMap" in page and "tile.openstreetmap.org" in page
    assert "Detection #1: HIGH" in page and "unknown-cell" in page and "region" in page
    run = render(out, tmp_path / "online.png")
    # this machine has no internet, so the page's Leaflet from the CDN cannot load here
    # (its JavaScript then fails); what matters is that the check of offline pages
    # sees requests that leave: this page asks for the CDN
    assert any("cdn.jsdelivr.net/npm/leaflet@" in u for u in external(run.urls))


def test_filters_and_bad_input(surveyed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "f.html"
    assert main(["map", "-o", str(out), "--offline", "--operator", "460-01", "--db", surveyed]) == 0
    assert "Detection #1" not in out.read_text(encoding="utf-8")
    assert main(["map", "-o", str(out), "--offline", "--preset", "osm", "--db", surveyed]) == 2
    assert "needs the internet" in capsys.readouterr().err
    assert main(["map", "-o", str(tmp_path / "nodir" / "m.html"), "--db", surveyed]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[tiles]\nurl = 'http://x/{z}/{x}/{y}.png'\ncolour = 1\n")
    assert main(["map", "-o", str(out), "--preset", str(bad), "--db", surveyed]) == 2
    assert "unknown key tiles.colour" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["map", "-o", str(out), "--since", "yesterday", "--db", surveyed])


def test_write_map_of_one_detection(surveyed: str, tmp_path: Path) -> None:
    from fbsdetect.mapping import write_map

    out = tmp_path / "one.html"
    with open_store(surveyed) as store:
        counts = write_map(store, out, detection_id=1)
    page = out.read_text(encoding="utf-8")
    assert counts["detections_high"] == 1 and "Detection #1: HIGH" in page
    assert not re.findall(r'<(?:script|link)[^>]+(?:src|href)="https?:', page)
    with open_store(surveyed) as store:
        counts = write_map(store, tmp_path / "none.html", detection_id=99)
    assert counts["detections_high"] == 0


@pytest.mark.parametrize("tiles", ['mbtiles = 5\nattribution = "x"', 'url = 7\nattribution = "x"',
                                   'url = "http://h/{z}/{x}/{y}.png"\nattribution = ["x"]',
                                   'mbtiles = "t.mbtiles"\nattribution = "x"\nmax_zoom = "a"'])
def test_a_preset_with_values_of_the_wrong_type_is_one_line_exit_2(tiles: str, tmp_path: Path) -> None:
    from fbsdetect.errors import BadInput
    from fbsdetect.mapping.presets import load_preset

    p = tmp_path / "p.toml"
    p.write_text(f"[tiles]\n{tiles}\n")
    with pytest.raises(BadInput) as exc:
        load_preset(str(p))
    assert str(p) in str(exc.value) and "\n" not in str(exc.value)
