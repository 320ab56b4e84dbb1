"""`fbsdetect simulate`: a scene rendered into a SigMF recording plus its
ground truth (contracts.md sections 1-3).

The data file is written block by block while a SHA-512 of it is computed,
so a long scene never sits in memory. The metadata is built and validated
with the `sigmf` package: `core:datatype` (cu8, ci8 or cf32_le),
`core:sample_rate`, the receiver position as `core:geolocation` (GeoJSON
point, lon/lat), one capture with `core:frequency` and `core:datetime`, and
for a moving receiver one capture per second, each with the position and
time of its first sample. `fbsdetect:gain_db` states the gain calibration
(dBFS = dBm + gain_db). Ground truth goes only to `<name>.truth.json`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sigmf
from sigmf import SigMFFile

from fbsdetect import __version__
from fbsdetect.errors import BadInput
from fbsdetect.i18n import _
from fbsdetect.sim.channel import quantise
from fbsdetect.sim.content import cell_frames
from fbsdetect.sim.render import Renderer
from fbsdetect.sim.scene import Scene
from fbsdetect.sim.truth import BlockLog, build_truth

DATATYPES = {"cu8": "cu8", "ci8": "ci8", "cf32": "cf32_le"}
CAPTURE_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Rendered:
    meta_path: Path
    data_path: Path
    truth_path: Path
    n_samples: int
    clipped_values: int
    truth: dict[str, Any]


def _iso(scene: Scene, t_s: float) -> str:
    t = scene.info.start_time + timedelta(seconds=t_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]}


def simulate(scene: Scene, out_dir: str | os.PathLike[str]) -> Rendered:
    """Renders `scene` into `out_dir/<name>.sigmf-meta|.sigmf-data|.truth.json`."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(_("cannot create the output directory: {error}").format(
            error=exc.strerror), source=out) from None
    name = scene.info.name
    data_path, meta_path = out / f"{name}.sigmf-data", out / f"{name}.sigmf-meta"
    truth_path = out / f"{name}.truth.json"
    frames = {c.index: cell_frames(c, source=scene.path) for c in scene.cells}
    rx = scene.receiver
    log = BlockLog(scene.info.duration_s)
    renderer = Renderer(scene, frames, on_blocks=log)
    n_total = round(scene.info.duration_s * rx.sample_rate_hz)
    sha = hashlib.sha512()
    clipped = 0
    written = 0
    try:
        with open(data_path, "wb") as f:
            while written < n_total:
                y = renderer.next_block()[: n_total - written]
                raw, c = quantise(y, rx.format)
                f.write(raw)
                sha.update(raw)
                clipped += c
                written += y.size
    except OSError as exc:
        raise BadInput(_("cannot write the recording: {error}").format(
            error=exc.strerror), source=data_path) from None

    lat0, lon0 = rx.route.position(0.0)
    meta = SigMFFile(data_file=str(data_path), skip_checksum=True, global_info={
        "core:datatype": DATATYPES[rx.format],
        "core:sample_rate": rx.sample_rate_hz,
        "core:version": sigmf.__specification__,
        "core:sha512": sha.hexdigest(),
        "core:description": f"fbsdetect simulated scene '{name}'",
        "core:recorder": f"fbsdetect {__version__} simulate",
        "core:hw": "simulated RTL-SDR receiver",
        "core:geolocation": _point(lat0, lon0),
        "core:extensions": [{"name": "fbsdetect", "version": __version__, "optional": True}],
        "fbsdetect:gain_db": rx.gain_db,
    })
    step = n_total if rx.route.is_static else max(1, round(CAPTURE_INTERVAL_S * rx.sample_rate_hz))
    for start in range(0, max(n_total, 1), step):
        t = start / (rx.sample_rate_hz * (1 + rx.ppm * 1e-6))
        cap: dict[str, Any] = {"core:frequency": rx.center_freq_hz,
                               "core:datetime": _iso(scene, t)}
        if not rx.route.is_static:
            cap["core:geolocation"] = _point(*rx.route.position(t))
        meta.add_capture(start, metadata=cap)
    meta.tofile(str(meta_path), overwrite=True)
    truth = build_truth(scene, renderer, frames, log, n_samples=n_total, clipped_values=clipped)
    truth_path.write_text(json.dumps(truth, indent=1, allow_nan=False) + "\n")  # strict JSON
    return Rendered(meta_path, data_path, truth_path, n_total, clipped, truth)
