"""Folium maps: observations, heat maps, tracks, estimated transmitter positions.

`write_map(store, path)` is the one call other parts use (the evidence
package puts the map of its detection in); `fbsdetect map` adds presets and
filters (`build.build_map`, `data.load_map_data`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_map(store: Any, out: str | Path, *, detection_id: int | None = None, offline: bool = True,
              title: str = "fbsdetect") -> dict[str, Any]:
    """Writes the map of the store (or of one detection and its time span) to `out`:
    offline (every asset inlined) and with no base map unless a preset is given to
    `build.build_map`, so the page opens anywhere, also inside an evidence package."""
    from fbsdetect.mapping.build import build_map
    from fbsdetect.mapping.data import MapFilter, load_map_data

    data = load_map_data(store, MapFilter(detection_id=detection_id))
    return build_map(data, None, Path(out), offline=offline, title=title)
