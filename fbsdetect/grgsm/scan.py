"""`fbsdetect scan --source grgsm[:SPEC]`: gr-gsm does the radio part in a
subprocess, its frames go through the same sysinfo -> detect -> store path
as the native receiver's (observations, summary, detector).

SPEC, comma-separated `key=value` (or just a recording's path):
- `file=PATH` a recording (SigMF: rate, frequency, start time and position
  from its metadata; raw: `rate=`, `freq=`, `format=` or a file name that
  names them), decoded in one flowgraph for every carrier in it;
- `device=ARGS` a live osmosdr device (`device=rtl=0`; write `;` for commas
  inside ARGS), with `freq=`, `rate=` (default 2.4 MS/s), `gain=` (default
  automatic), `ppm=`, `window=S` (default 20: one observation per cell per
  window), `duration=S` (default: until stopped).
- `arfcn=N` (repeatable) limits the carriers; otherwise the flowgraph picks
  the channels with energy (files) or every channel in the span (devices).

gr-gsm does not sweep: it stays on the one centre frequency.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fbsdetect.errors import BadUsage
from fbsdetect.grgsm.backend import GrgsmProcess, device_args, file_args
from fbsdetect.grgsm.observe import observations_from_frames
from fbsdetect.i18n import _
from fbsdetect.types import GpsFix, L2Frame

log = logging.getLogger(__name__)


@dataclass
class GrgsmSpec:
    file: str | None = None
    device: str | None = None
    fmt: str | None = None
    rate: float | None = None
    freq: float | None = None
    gain: float | None = None
    ppm: float = 0.0
    window_s: float = 20.0
    duration_s: float | None = None
    arfcns: list[int] = field(default_factory=list)


def parse_spec(spec: str) -> GrgsmSpec:
    body = spec[len("grgsm"):].lstrip(":") if spec.startswith("grgsm") else spec
    out = GrgsmSpec()
    if not body:
        raise BadUsage(_("--source grgsm needs a recording or a device: grgsm:file=PATH or "
                        "grgsm:device=rtl=0,freq=947e6"))
    if "=" not in body.split(",", 1)[0]:
        out.file = body
        return out
    for part in body.split(","):
        key, sep, value = part.partition("=")
        if not sep:
            raise BadUsage(_("--source {spec}: {part!r} is not key=value").format(spec=spec, part=part))
        try:
            if key == "file":
                out.file = value
            elif key == "device":
                out.device = value.replace(";", ",")
            elif key == "format":
                out.fmt = value
            elif key in ("rate", "freq", "gain", "ppm", "window", "duration"):
                v = float(value)
                if key == "window":
                    out.window_s = v
                elif key == "duration":
                    out.duration_s = v
                else:
                    setattr(out, key, v)
            elif key == "arfcn":
                out.arfcns.append(int(value))
            else:
                raise BadUsage(_("--source {spec}: unknown key {key!r} (file, device, format, rate, freq, "
                                "gain, ppm, window, duration, arfcn)").format(
                    spec=spec, key=key))
        except ValueError:
            raise BadUsage(_("--source {spec}: {key}={value!r} is not a number").format(
                spec=spec, key=key, value=value)) from None
    if (out.file is None) == (out.device is None):
        raise BadUsage(_("--source {spec}: give exactly one of file= and device=").format(spec=spec))
    if out.device is not None and out.freq is None:
        raise BadUsage(_("--source {spec}: a device needs freq=HZ").format(spec=spec))
    return out


def _summary(source: str, profile: str, start: datetime, radio_s: float, cpu0: float,
             tunings: list[dict[str, Any]], cells: dict[tuple[Any, ...], dict[str, Any]]) -> dict[str, Any]:
    return {"source": source, "profile": profile,
            "start_time": start.strftime("%Y-%m-%dT%H:%M:%S.") + f"{start.microsecond // 1000:03d}Z",
            "radio_s": round(radio_s, 3), "cpu_s": round(time.process_time() - cpu0, 3), "overflows": 0,
            "sweeps": 1, "tunings": tunings, "cells": list(cells.values()), "backend": "grgsm"}


def run_grgsm_scan(spec_text: str, sink: Any, *, profile: str, sensor: str | None, software_version: str,
                   gps: Any = None, detector: Any = None, learn: bool = False,
                   say: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Runs the backend on a recording or a device and hands observations to `sink`."""
    from fbsdetect.pipeline.identities import for_output
    from fbsdetect.scan.sink import RunInfo, TuningRecord

    spec = parse_spec(spec_text)
    cpu0 = time.process_time()
    lat = lon = None
    start = datetime.now(UTC)
    if spec.file is not None:
        from fbsdetect.sources.recording import inspect

        info = inspect(spec.file, sample_rate_hz=spec.rate, center_freq_hz=spec.freq, fmt=spec.fmt)
        args = file_args(info.data_path, fmt=info.datatype.replace("_le", ""),
                         sample_rate_hz=info.sample_rate_hz, center_freq_hz=info.center_freq_hz,
                         arfcns=spec.arfcns, ppm=spec.ppm)
        rate, freq = info.sample_rate_hz, info.center_freq_hz
        start = info.start_time or start
        lat, lon = info.lat, info.lon
        duration: float | None = info.duration_s
    else:
        assert spec.device is not None and spec.freq is not None
        rate = spec.rate or 2.4e6
        freq = spec.freq
        args = device_args(spec.device, sample_rate_hz=rate, center_freq_hz=freq, gain_db=spec.gain,
                           ppm=spec.ppm, arfcns=spec.arfcns)
        duration = spec.duration_s
    sink.run_started(RunInfo(source=spec_text, profile=profile, sensor=sensor, start_time=start,
                             software_version=software_version, learn=learn,
                             config={"backend": "grgsm", "args": args}))
    tunings: list[dict[str, Any]] = []
    cells: dict[tuple[Any, ...], dict[str, Any]] = {}
    t_wall0 = time.monotonic()

    def position(t: datetime) -> tuple[float | None, float | None, int | None, float | None]:
        if gps is not None:
            f: GpsFix = gps.fix_at(t)
            return f.lat, f.lon, f.mode, f.error_m
        return lat, lon, (None if lat is None else 2), None

    # the stored frames carry no subscriber identity in clear, as in the native scan: paging
    # requests and SDCCH/SACCH frames get the install's keyed pseudonyms (pipeline.identities)
    pseudonymise = for_output()

    def emit(frames: list[L2Frame], radio_s: float, tuning_id: int) -> None:
        when = start + timedelta(seconds=radio_s)
        la, lo, mode, err = position(when)
        for obs in observations_from_frames(frames, time=when, lat=la, lon=lo, gps_mode=mode,
                                            gps_error_m=err, sensor=sensor):
            mine = [f for f in frames if f.arfcn == obs.arfcn]
            if pseudonymise is not None:
                mine = pseudonymise.all(mine)
            oid = sink.observation(obs, radio_s=radio_s, tuning_id=tuning_id, kind="dwell", frames=mine)
            key = (obs.arfcn, obs.mcc, obs.mnc, obs.lac, obs.cid)
            if key not in cells:
                cells[key] = {"arfcn": obs.arfcn, "bsic": None, "mcc": obs.mcc, "mnc": obs.mnc,
                              "lac": obs.lac, "cid": obs.cid,
                              "identity_s": round(radio_s, 3) if obs.cid is not None else None,
                              "si_complete_s": None}
            if detector is not None:
                for alert in detector.observe(obs, oid) or []:
                    say(f"ALERT {getattr(alert, 'severity', '')}: {getattr(alert, 'text', alert)}")
        sink.flush()

    def tuning(radio_s: float, dwell_s: float, arfcns: list[int], decoded: int) -> int:
        rec = TuningRecord(radio_s=radio_s, time=start + timedelta(seconds=radio_s), center_freq_hz=freq,
                           sample_rate_hz=rate, gain_db=spec.gain, dwell_s=dwell_s, kind="decode",
                           arfcns=arfcns, outcome={"decoded": decoded}, band=None,
                           notes=("gr-gsm backend",))
        tunings.append({"center_freq_hz": freq, "sample_rate_hz": rate, "dwell_s": round(dwell_s, 3),
                        "arfcns": arfcns, "outcome": {"decoded": decoded}})
        return int(sink.tuning(rec))

    radio_s = 0.0
    with GrgsmProcess(args) as proc:
        if spec.file is not None:
            frames = list(proc)
            radio_s = float(duration or 0.0)
            tid = tuning(0.0, radio_s, proc.arfcns, len({f.arfcn for f in frames}))
            emit(frames, 0.0, tid)
        else:
            q: queue.Queue[L2Frame | None] = queue.Queue(maxsize=100_000)
            failure: list[BaseException] = []

            def pump() -> None:
                try:
                    for fr in proc:
                        q.put(fr)
                except BaseException as exc:  # reported by the main thread
                    failure.append(exc)
                finally:
                    q.put(None)

            threading.Thread(target=pump, daemon=True).start()
            window: list[L2Frame] = []
            w0 = 0.0
            alive = True
            while alive:
                now = time.monotonic() - t_wall0
                try:
                    item = q.get(timeout=max(0.05, w0 + spec.window_s - now))
                    if item is None:
                        alive = False
                    else:
                        window.append(item)
                except queue.Empty:
                    pass
                now = time.monotonic() - t_wall0
                if now >= w0 + spec.window_s or not alive or (duration is not None and now >= duration):
                    tid = tuning(w0, now - w0, proc.arfcns, len({f.arfcn for f in window}))
                    emit(window, w0, tid)
                    window, w0 = [], now
                    if duration is not None and now >= duration:
                        break
            radio_s = time.monotonic() - t_wall0
            if failure:
                raise failure[0]
    summary = _summary(spec_text, profile, start, radio_s, cpu0, tunings, cells)
    if detector is not None:
        for alert in detector.sweep_done() or []:
            say(f"ALERT {getattr(alert, 'severity', '')}: {getattr(alert, 'text', alert)}")
    sink.run_ended(summary)
    say(f"scan (gr-gsm): {radio_s:.1f} s radio, {len(cells)} cells")
    return summary

