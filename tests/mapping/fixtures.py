"""A small surveyed district in the store, for the map and export tests: a
drive past a fake cell (its power rises towards it), operator cells, a
registry, a detection with an estimated position and regions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fbsdetect.store import Store
from fbsdetect.store.models import Detection, Finding, Observation, RegistryCell, RegistrySource
from fbsdetect.store.sink import StoreSink
from fbsdetect.types import CellObservation, GpsFix

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
FAKE = (36.6200, 101.7790)  # lat, lon of the fake transmitter
LEGIT = [((36.6235, 101.7745), 92, 10290, 41021), ((36.6100, 101.7800), 93, 10291, 41033),
         ((36.6180, 101.7880), 97, 10291, 41040)]


@dataclass
class _Run:
    source: str = "sim:fixture.toml"
    profile: str = "cn"
    sensor: str = "laptop-1"
    start_time: datetime = T0
    software_version: str = "test"
    learn: bool = False
    config: dict[str, Any] = field(default_factory=dict)


def _route(t: float) -> tuple[float, float]:
    """A drive from south-west to north-east of the fake, 60 s."""
    f = t / 60.0
    return 36.6150 + 0.0040 * f, 101.7700 + 0.0130 * f


def _power(tx: tuple[float, float], rx: tuple[float, float], eirp: float) -> float:
    dn = (tx[0] - rx[0]) * 111_320.0
    de = (tx[1] - rx[1]) * 111_320.0 * math.cos(math.radians(rx[0]))
    d = max(math.hypot(dn, de), 10.0)
    return eirp - 32.4 - 20 * math.log10(0.95e3) - 32 * math.log10(d / 1.0) / 1.0 + 60


def populate(store: Store, n_steps: int = 120, with_detection: bool = True) -> int:
    """Fills the store; returns the detection id (0 without one)."""
    sink = StoreSink(store, sensor="laptop-1")
    sink.run_started(_Run())
    fake_obs: list[int] = []
    for k in range(n_steps):
        t = 60.0 * k / n_steps
        lat, lon = _route(t)
        when = T0 + timedelta(seconds=t)
        sink.fix(GpsFix(when, lat, lon, 3, 2.5, source="scene"))
        iso = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        cells = [(FAKE, 90, 9999, 1234, 63, 60.0)] + [(p, a, lac, cid, 35, 55.0) for p, a, lac, cid in LEGIT]
        for pos, arfcn, lac, cid, bsic, eirp in cells:
            power = round(_power(pos, (lat, lon), eirp), 1)
            obs = CellObservation(arfcn=arfcn, band="P-GSM900", freq_hz=935e6 + arfcn * 200e3, bsic=bsic,
                                  mcc=460, mnc=0, lac=lac, cid=cid, power_dbm=power,
                                  snr_db=25.0, freq_offset_hz=300.0, blocks_ok=10, time=iso, lat=lat, lon=lon,
                                  gps_mode=3, gps_error_m=2.5, sensor="laptop-1")
            oid = sink.observation(obs, radio_s=t, kind="revisit" if arfcn == 90 else "dwell")
            if arfcn == 90:
                fake_obs.append(oid)
    sink.run_ended({"sweeps": 2})
    with store.session() as s:
        src = RegistrySource(name="fixture", kind="opencellid", attribution="OpenCellID, CC BY-SA 4.0")
        s.add(src)
        s.flush()
        for pos, _arfcn, lac, cid in LEGIT:
            s.add(RegistryCell(source_id=src.id, radio="GSM", mcc=460, mnc=0, lac=lac, cid=cid, lat=pos[0],
                               lon=pos[1], range_m=800, samples=40, created=1600000000, updated=1690000000))
        if not with_detection:
            return 0
        ring95 = [[FAKE[1] + 0.003 * math.cos(a), FAKE[0] + 0.002 * math.sin(a)]
                  for a in [2 * math.pi * i / 24 for i in range(24)]]
        ring95.append(ring95[0])
        ring50 = [[FAKE[1] + 0.0012 * math.cos(a), FAKE[0] + 0.0008 * math.sin(a)]
                  for a in [2 * math.pi * i / 24 for i in range(24)]]
        ring50.append(ring50[0])
        rules = [{"id": "unknown-cell", "version": 1, "title": "Cell not in the registry", "score": 0.3,
                  "evidence": "CID 1234 in LAC 9999 is not in the registry (it may be new)"},
                 {"id": "no-si2quater", "version": 1, "title": "No 3G/4G neighbours announced",
                  "score": 0.5,
                  "evidence": "the operator's other cells here announce LTE; this one does not"}]
        det = Detection(mcc=460, mnc=0, lac=9999, cid=1234, arfcn=90, bsic=63, severity="high", score=0.91,
                        first_seen=T0, last_seen=T0 + timedelta(seconds=60), n_observations=len(fake_obs),
                        sensors=["laptop-1"], rules=rules,
                        position={"lat": FAKE[0] + 0.0002, "lon": FAKE[1] - 0.0003, "error_m": 60.0,
                                  "method": "grid-posterior",
                                  "region50": {"type": "Polygon", "coordinates": [ring50]},
                                  "region95": {"type": "Polygon", "coordinates": [ring95]}})
        s.add(det)
        s.flush()
        for oid in fake_obs:
            o = s.get(Observation, oid)
            assert o is not None
            o.detection_id = det.id
        s.add(Finding(detection_id=det.id, observation_id=fake_obs[0], rule_id="unknown-cell", rule_version=1,
                      score=0.3, severity="low", evidence=rules[0]["evidence"]))
        return det.id
