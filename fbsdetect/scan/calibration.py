"""The dongle's frequency error (ppm), per serial, as `fbsdetect calibrate`
measures it (the FCCH of strong cells, as kalibrate-rtl does: each decoded
cell's carrier offset against its nominal downlink, weighted median,
`dsp.ppm.estimate_ppm`) and as scans apply and keep tracking it.

Stored in $XDG_CONFIG_HOME/fbsdetect/calibration.json (~/.config/... by
default)::

    {"dongles": {"00000001": {"ppm": 31.4, "n_cells": 7, "spread_ppm": 0.2,
                              "time": "2026-...Z", "source": "rtlsdr:00000001"}}}

A scan tunes to `f / (1 + ppm 1e-6)` so that the dongle's real LO sits on the
planned centre: a cheap R820T without a TCXO is 30-100 ppm off, which moves
the band-edge carriers of a tuning (900 kHz off centre) out of the usable span.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fbsdetect.errors import BadInput
from fbsdetect.i18n import _


def calibration_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "fbsdetect" / "calibration.json"


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"dongles": {}}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BadInput(_("calibration file is not valid JSON ({error}); delete it or fix it").format(error=e),
                       source=path) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("dongles"), dict):
        raise BadInput(_("calibration file: expected {\"dongles\": {SERIAL: {\"ppm\": ...}}}"), source=path)
    return doc


def load_ppm(key: str, path: Path | None = None) -> float | None:
    """The stored ppm of dongle `key` (its serial), or None."""
    d = _read(path or calibration_path())["dongles"].get(key)
    if not isinstance(d, dict) or not isinstance(d.get("ppm"), int | float):
        return None
    return float(d["ppm"])


def store_ppm(key: str, ppm: float, *, n_cells: int, spread_ppm: float, source: str,
              path: Path | None = None) -> Path:
    p = path or calibration_path()
    doc = _read(p)
    doc["dongles"][key] = {"ppm": round(ppm, 3), "n_cells": n_cells, "spread_ppm": round(spread_ppm, 3),
                           "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "source": source}
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, p)
    return p


def source_key(source: Any, spec: str) -> str | None:
    """The key a source's calibration is stored under: its serial; a sim: source
    by its spec (so that the virtual dongle can be calibrated too)."""
    serial = getattr(source, "serial", None)
    if serial:
        return str(serial)
    if spec.startswith("sim:"):
        return spec
    return None


def calibrate(source: Any, profile: Any, *, max_tunings: int = 6, ppm_guess: float = 0.0,
              log: Any = None) -> dict[str, Any]:
    """Power pass over the profile's grid, identity dwells on the tunings with the
    strongest carriers, and the weighted median of their cells' ppm (kalibrate's
    method; each cell's FCCH gives its carrier offset to a few Hz)."""
    from fbsdetect.dsp.ppm import estimate_ppm
    from fbsdetect.scan.dwell import decode_dwell, power_pass, scan_receiver_config
    from fbsdetect.scan.plan import plan_sweep

    rng = getattr(source, "freq_range_hz", None)
    if rng is None and getattr(source, "scene", None) is not None:
        from fbsdetect.sources.sim import FREQ_RANGE_HZ

        rng = FREQ_RANGE_HZ
    plan = plan_sweep(profile, freq_range_hz=rng)
    scale = 1.0 + ppm_guess * 1e-6
    strong: list[tuple[float, Any]] = []
    for t in plan.tunings:
        if abs(source.sample_rate_hz - t.sample_rate_hz) > 1.0:
            source.set_sample_rate(t.sample_rate_hz)
        source.tune(t.center_freq_hz / scale)
        band = t.band

        def freq_of(a: int, band: str = band) -> float:
            return plan.freq[(a, band)]

        p = power_pass(source, t, profile.radio.power_dwell_s, freq_of)
        if p.energetic:
            strong.append((max(p.channel_db[a] for a in p.energetic), t))
    strong.sort(key=lambda x: -x[0])
    freqs, offs, weights, cells = [], [], [], []
    for _db, t in strong[:max_tunings]:
        source.tune(t.center_freq_hz / scale)
        d = decode_dwell(source, t, cap_s=0.6, satisfied=lambda r: r.bsic is not None,
                         config=scan_receiver_config())
        for c in d.decode.carriers:
            if c.is_cell:
                freqs.append(c.freq_hz)
                offs.append(c.offset_hz)
                weights.append(max(1, c.stats.fcch_refined))
                cells.append({"arfcn": c.arfcn, "bsic": c.bsic, "offset_hz": round(c.offset_hz, 1),
                              "ppm": round(-c.offset_hz / c.freq_hz * 1e6 + ppm_guess, 3),
                              "snr_db": None if c.snr_db is None else round(c.snr_db, 1)})
        if log is not None:
            log(f"{t.center_freq_hz / 1e6:.1f} MHz: {sum(1 for c in d.decode.carriers if c.is_cell)} cells")
    est = estimate_ppm(freqs, offs, weights) if freqs else None
    return {"ppm": None if est is None else round(est.ppm + ppm_guess, 3),
            "n_cells": 0 if est is None else est.n_cells,
            "spread_ppm": None if est is None else round(est.spread_ppm, 3), "cells": cells,
            "radio_s": round(float(source.time_s), 3)}
