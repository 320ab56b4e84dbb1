"""IQ snippets of flagged cells (issue 11): the samples around a suspect
cell's decoded bursts, kept as SigMF recordings beside the database.

`SampleTap` wraps the scan's source during decode dwells and keeps the last
`keep_s` seconds of what the dwell read (references to the blocks the source
returned: no copy), indexed by source time. After the dwell, for every cell
the live detector flagged (an alert of at least `min_severity`, in this dwell
or before), `SnippetKeeper.save` cuts the window of each of the cell's
decoded blocks still in the tap (its four bursts on their timeslot, 1 ms on
either side), mixes the carrier to 0 Hz, low-pass filters and decimates it
to about 4 samples a symbol, and writes one recording per cell and dwell:

- `<dir>/run<R>/a<ARFCN>-b<BSIC>-<n>.sigmf-data` (cf32_le) and `.sigmf-meta`
  through the `sigmf` package: `core:sample_rate`, `core:geolocation` (the
  GPS fix of the dwell as a GeoJSON point, when there is one),
  `core:sha512`, one capture segment per block window (`core:frequency` the
  carrier's, `core:datetime` the window's first sample), one annotation per
  block (its text: channel, FN and timeslot; the carrier's edges; the
  decoded octets as `fbsdetect:frame`), and the cell's identity and the
  observation under the `fbsdetect` extension (`fbsdetect:cell`,
  `fbsdetect:observation_id`, `fbsdetect:sensor`).

The observation refers to the meta file by its path relative to the
database's folder (`params["iq_snippet"]`, packed by `export --format
evidence`) and binds it by the SHA-256 of both files as written
(`params["iq_sha256"] = {"meta": .., "data": ..}`: the observation's params
are in the audit chain, so a file swapped on disk later is refused by the
export). Bounds: at most `cell_max_bytes` a cell (its first snippets are
kept, later ones skipped and counted) and `total_max_bytes` a run (the
oldest snippet of the cell holding the most bytes is deleted to make room,
unless that is the cell's only one: then the new one is skipped); `counts`
says how many were written, skipped and dropped. The bounds count both files
(a meta's bytes are reserved with `meta_estimate` before the data is cut).
The meta also keeps the tuner's centre, the carrier's measured offset and the
shift applied (`fbsdetect:tuner_center_hz`, `fbsdetect:freq_offset_hz`,
`fbsdetect:mix_hz`); `core:geolocation` only for a fix the scan trusts (2D/3D),
with the altitude when known.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.constants import SYMBOL_RATE_HZ
from fbsdetect.scan.flags import SEVERITY_RANK

FRAME_S = 1250.0 / SYMBOL_RATE_HZ  # one TDMA frame (4.615 ms)
SLOT_S = FRAME_S / 8
MARGIN_S = 1e-3


class SampleTap:
    """A source proxy that keeps the last `keep_s` of samples read (see module docstring)."""

    def __init__(self, source: Any, keep_s: float) -> None:
        self._src = source
        self.keep_s = float(keep_s)
        self._chunks: deque[tuple[float, npt.NDArray[np.complex64]]] = deque()
        self._n = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._src, name)

    def read(self, n: int) -> Any:
        t0 = float(self._src.time_s)
        x = self._src.read(n)
        a = np.asarray(x, dtype=np.complex64)
        if a.size:
            self._chunks.append((t0, a))
            self._n += a.size
            keep = int(self.keep_s * float(self._src.sample_rate_hz))
            while self._chunks and self._n - self._chunks[0][1].size >= keep:
                self._n -= self._chunks.popleft()[1].size
        return x

    def clear(self) -> None:
        self._chunks.clear()
        self._n = 0

    def window(self, t0_s: float, t1_s: float) -> npt.NDArray[np.complex64] | None:
        """The samples from source time t0_s to t1_s, None unless all of them are kept
        in contiguous blocks."""
        fs = float(self._src.sample_rate_hz)
        parts: list[npt.NDArray[np.complex64]] = []
        need = round((t1_s - t0_s) * fs)
        pos: float | None = None
        for t, a in self._chunks:
            t_end = t + a.size / fs
            if t_end <= t0_s or t >= t1_s:
                continue
            if pos is not None and abs(t - pos) > 2.0 / fs:
                return None  # a gap (dropped samples) inside the window
            i0 = max(0, round((t0_s - t) * fs))
            if pos is None and i0 == 0 and t > t0_s + 1.0 / fs:
                return None  # the window's start is no longer kept
            i1 = min(a.size, round((t1_s - t) * fs))
            parts.append(a[i0:i1])
            pos = t_end
        if not parts:
            return None
        x = np.concatenate(parts)
        return x if x.size >= need - 1 else None


@dataclass
class _Saved:
    meta: Path
    data: Path
    nbytes: int


@dataclass
class SnippetKeeper:
    """Writes and bounds the snippets of one scan run (see module docstring)."""

    base_dir: Path  # the database's folder: references are relative to it
    subdir: str = "iq"
    cell_max_bytes: int = 4 << 20
    total_max_bytes: int = 256 << 20
    min_severity: str = "medium"
    max_blocks: int = 8  # block windows in one snippet (~1.3 MB at 1.08 MS/s cf32)
    sensor: str | None = None
    software: str = ""
    run_tag: str = "run"
    counts: dict[str, int] = field(default_factory=lambda: {"written": 0, "bytes": 0, "skipped": 0,
                                                             "dropped": 0, "no_samples": 0})
    _by_cell: dict[tuple[int, int], list[_Saved]] = field(default_factory=dict)
    # reference -> SHA-256 of its files as written {"meta": .., "data": ..}: the runner puts them into the
    # observation's params (`iq_sha256`, in the audit chain) so that evidence refuses a swapped file
    sha256: dict[str, dict[str, str]] = field(default_factory=dict)
    # one keeper for the runners of a multi-source scan (`scan.multi`): one run folder, one numbering,
    # one set of bounds; `save` holds the lock
    shared: bool = False
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _seq: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(s.nbytes for v in self._by_cell.values() for s in v)

    def folder(self) -> Path:
        return self.base_dir / self.subdir / self.run_tag

    def flagged(self, severity: str | None) -> bool:
        return SEVERITY_RANK.get(str(severity), 0) >= SEVERITY_RANK.get(self.min_severity, 2)

    def save(self, tap: SampleTap, carrier: Any, center_freq_hz: float, *, time_zero: datetime,
             fix: Any = None, cell: dict[str, Any] | None = None, obs_id: int | None = None) -> str | None:
        """Writes the snippet of `carrier`'s decoded blocks still in `tap`; returns its
        reference (relative to `base_dir`), or None when nothing was written."""
        with self._lock:
            return self._save(tap, carrier, center_freq_hz, time_zero=time_zero, fix=fix, cell=cell,
                              obs_id=obs_id)

    def _save(self, tap: SampleTap, carrier: Any, center_freq_hz: float, *, time_zero: datetime,
              fix: Any = None, cell: dict[str, Any] | None = None, obs_id: int | None = None) -> str | None:
        key = (int(carrier.arfcn), int(carrier.bsic or 0))
        mine = self._by_cell.setdefault(key, [])
        have = sum(s.nbytes for s in mine)
        if have >= self.cell_max_bytes:
            self.counts["skipped"] += 1
            return None
        fs = float(tap.sample_rate_hz)
        decim = max(1, round(fs / (4 * SYMBOL_RATE_HZ)))
        fs_out = fs / decim
        offset = float(carrier.freq_hz) + float(carrier.offset_hz or 0.0) - float(center_freq_hz)
        frames = [f for f in carrier.frames if f.time_s is not None]
        # the most telling first: the dedicated channels (what the cell said to phones),
        # then assignments, then the rest; chronological within the snippet
        rank = {"SDCCH": 0, "SACCH": 1, "AGCH": 2, "CCCH": 2, "BCCH": 3}
        frames.sort(key=lambda f: (rank.get(f.channel.split("/")[0], 4), f.time_s))
        budget = min(self.cell_max_bytes - have, self.total_max_bytes)
        pieces: list[tuple[Any, float, npt.NDArray[np.complex64]]] = []
        used = 0
        limited = False
        for f in frames:
            if len(pieces) >= self.max_blocks:
                break
            t0 = float(f.time_s) + f.ts * SLOT_S - MARGIN_S
            t1 = float(f.time_s) + 3 * FRAME_S + (f.ts + 1) * SLOT_S + MARGIN_S
            if any(abs(t0 - p[1]) < 1e-4 for p in pieces):
                continue
            x = tap.window(t0, t1)
            if x is None:
                continue
            y = _baseband(x, offset, fs, decim)
            if used + y.nbytes + meta_estimate(len(pieces) + 1) > budget:
                limited = True
                break
            pieces.append((f, t0, y))
            used += y.nbytes
        if not pieces:
            self.counts["skipped" if limited else "no_samples"] += 1
            return None
        if not self._make_room(key, used + meta_estimate(len(pieces))):
            self.counts["skipped"] += 1
            return None
        pieces.sort(key=lambda p: p[1])
        self._seq += 1
        folder = self.folder()
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"a{key[0]}-b{key[1]}-{self._seq:05d}"
        data_path, meta_path = Path(f"{stem}.sigmf-data"), Path(f"{stem}.sigmf-meta")
        _write_sigmf(data_path, meta_path, pieces, fs_out=fs_out, carrier_hz=float(carrier.freq_hz),
                     time_zero=time_zero, fix=fix, cell=cell, obs_id=obs_id, sensor=self.sensor,
                     software=self.software, tuning={
                         "fbsdetect:tuner_center_hz": float(center_freq_hz),
                         "fbsdetect:freq_offset_hz": float(carrier.offset_hz or 0.0),
                         "fbsdetect:mix_hz": offset})
        n = data_path.stat().st_size + meta_path.stat().st_size
        mine.append(_Saved(meta_path, data_path, n))
        self.counts["written"] += 1
        self.counts["bytes"] += n
        ref = os.path.relpath(meta_path, self.base_dir).replace(os.sep, "/")
        self.sha256[ref] = {"meta": sha256_file(meta_path), "data": sha256_file(data_path)}
        return ref

    def _make_room(self, key: tuple[int, int], need: int) -> bool:
        while self.total_bytes + need > self.total_max_bytes:
            cands = [(sum(s.nbytes for s in v), k) for k, v in self._by_cell.items() if len(v) > 1]
            if not cands:
                return False
            _, k = max(cands)
            old = self._by_cell[k].pop(0)
            for p in (old.meta, old.data):
                try:
                    p.unlink()
                except OSError:
                    pass
            self.counts["dropped"] += 1
            self.sha256.pop(os.path.relpath(old.meta, self.base_dir).replace(os.sep, "/"), None)
        return True


def sha256_file(path: Path) -> str:
    """The file's SHA-256 (hex), read 1 MiB at a time (snippets and evidence packages)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def meta_estimate(blocks: int) -> int:
    """Bytes reserved for a snippet's .sigmf-meta with `blocks` block windows (measured: ~1.3 kB
    of globals, ~0.45 kB a capture + annotation), so that the bounds hold for both files."""
    return 2048 + 640 * blocks


def _has_position(fix: Any) -> bool:
    """A fix the scan trusts for a position (`GpsFix.has_position`: 2D or 3D, lat/lon known)."""
    hp = getattr(fix, "has_position", None)
    if hp is not None:
        return bool(hp() if callable(hp) else hp)
    return getattr(fix, "lat", None) is not None and getattr(fix, "lon", None) is not None


def _baseband(x: npt.NDArray[np.complex64], offset_hz: float, fs: float, decim: int
              ) -> npt.NDArray[np.complex64]:
    """The carrier at 0 Hz, low-pass filtered and decimated by `decim`."""
    n = np.arange(x.size)
    y = x * np.exp(-2j * math.pi * offset_hz / fs * n).astype(np.complex64)
    if decim > 1:
        from scipy.signal import resample_poly

        y = resample_poly(y, 1, decim)
    return np.asarray(y, dtype=np.complex64)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _write_sigmf(data_path: Path, meta_path: Path, pieces: list[tuple[Any, float, npt.NDArray[np.complex64]]],
                 *, fs_out: float, carrier_hz: float, time_zero: datetime, fix: Any,
                 cell: dict[str, Any] | None, obs_id: int | None, sensor: str | None, software: str,
                 tuning: dict[str, float] | None = None) -> None:
    import sigmf
    from sigmf import SigMFFile

    data = np.concatenate([p[2] for p in pieces]).astype("<c8")
    data_path.write_bytes(data.tobytes())
    info: dict[str, Any] = {
        "core:datatype": "cf32_le",
        "core:sample_rate": fs_out,
        "core:version": sigmf.__specification__,
        "core:description": "fbsdetect scan: IQ around the decoded bursts of a flagged cell "
                            "(carrier at 0 Hz; one capture per block window)",
        "core:recorder": f"fbsdetect {software} scan".replace("  ", " "),
        "core:extensions": [{"name": "fbsdetect", "version": software or "0", "optional": True}],
        "fbsdetect:cell": dict(cell or {}),
        # the tuner's centre, the carrier's measured offset from its nominal frequency (evidence
        # of an off-grid or drifting carrier) and the shift that brought it to 0 Hz
        **(tuning or {}),
    }
    if obs_id is not None:
        info["fbsdetect:observation_id"] = int(obs_id)
    if sensor:
        info["fbsdetect:sensor"] = sensor
    if fix is not None and _has_position(fix):
        coords = [round(float(fix.lon), 7), round(float(fix.lat), 7)]
        if getattr(fix, "alt_m", None) is not None:
            coords.append(round(float(fix.alt_m), 1))
        info["core:geolocation"] = {"type": "Point", "coordinates": coords}
        if getattr(fix, "error_m", None) is not None:
            info["fbsdetect:gps_error_m"] = float(fix.error_m)
        info["fbsdetect:gps_mode"] = int(fix.mode)
    meta = SigMFFile(data_file=str(data_path), global_info=info)
    start = 0
    for f, t0, y in pieces:
        meta.add_capture(start, metadata={"core:frequency": carrier_hz,
                                          "core:datetime": _iso(time_zero + timedelta(seconds=t0))})
        burst0 = start + round((MARGIN_S) * fs_out)
        meta.add_annotation(burst0, max(1, y.size - 2 * round(MARGIN_S * fs_out)), metadata={
            sigmf.LABEL_KEY: f"{f.channel} FN {f.fn} TS {f.ts}",
            "core:freq_lower_edge": carrier_hz - 100e3, "core:freq_upper_edge": carrier_hz + 100e3,
            "fbsdetect:frame": bytes(f.data).hex(), "fbsdetect:fn": int(f.fn), "fbsdetect:ts": int(f.ts),
            "fbsdetect:channel": str(f.channel)})
        start += y.size
    meta.tofile(str(meta_path), overwrite=True)


def update_params(sink: Any, obs_id: int, extra: dict[str, Any]) -> bool:
    """Adds `extra` to the params of the stored observation `obs_id`: the sink's
    `update_params` when it has one, else (`store.sink.StoreSink`) an ORM update
    through its store (audited like any other write: `store.audit`). False when the
    observation is not written yet (the database is down: its id is provisional)."""
    fn = getattr(sink, "update_params", None)
    if callable(fn):
        return bool(fn(obs_id, extra))
    store = getattr(sink, "store", None)
    if store is None or obs_id is None or obs_id <= 0:
        return False
    from fbsdetect.store.models import Observation

    try:
        with store.session() as s:
            row = s.get(Observation, obs_id)
            if row is None:
                return False
            row.params = {**(row.params or {}), **extra}
    except Exception:  # the database went away meanwhile: the snippet stays unreferenced
        return False
    return True
