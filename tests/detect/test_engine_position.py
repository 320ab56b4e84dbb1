"""A medium/high detection gets its estimated position from its observations
(fbsdetect.locate), stored in `position` (contracts.md section 5), kept while
its observations do not change."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fbsdetect.detect.engine import locate_detection
from fbsdetect.store import open_store
from fbsdetect.store.models import Detection, Observation, Sensor

TX = (36.6200, 101.7800)


def _power(lat: float, lon: float) -> float:
    dn = (lat - TX[0]) * 111_320.0
    de = (lon - TX[1]) * 111_320.0 * math.cos(math.radians(lat))
    d = max(math.hypot(dn, de), 20.0)
    return 45.0 - 31.5 - 30.0 * math.log10(d)  # log-distance, exponent 3


def test_position_from_a_loop_around_the_transmitter(tmp_path: Path) -> None:
    t0 = datetime(2026, 3, 1, 10, tzinfo=UTC)
    with open_store(f"sqlite:///{tmp_path / 'p.db'}") as store, store.session() as s:
        sensor = Sensor(name="car")
        det = Detection(mcc=460, mnc=0, lac=9999, cid=1, arfcn=90, bsic=37, severity="high", score=0.9)
        s.add_all([sensor, det])
        s.flush()
        for k in range(72):  # a 600 m loop around the transmitter, 10 s a point
            a = 2 * math.pi * k / 72
            lat = TX[0] + 600 * math.cos(a) / 111_320.0
            lon = TX[1] + 600 * math.sin(a) / (111_320.0 * math.cos(math.radians(TX[0])))
            s.add(Observation(time=t0 + timedelta(seconds=10 * k), arfcn=90, lat=lat, lon=lon, gps_mode=3,
                              gps_error_m=3.0, power_dbm=round(_power(lat, lon) + 2.0 * math.sin(7 * a), 1),
                              power_ref="dBm", freq_hz=953e6, sensor_id=sensor.id, detection_id=det.id))
        s.flush()
        pos = locate_detection(s, det.id, None, 72)
        assert pos is not None and pos["n_observations"] == 72 and pos["power_ref"] == "dBm"
        dn = (pos["lat"] - TX[0]) * 111_320.0
        de = (pos["lon"] - TX[1]) * 111_320.0 * math.cos(math.radians(TX[0]))
        assert math.hypot(dn, de) < 100.0 and pos["error_m"] is not None
        assert pos["region95"]["type"] in ("Polygon", "MultiPolygon")
        # the same observations: the stored estimate is kept, not recomputed
        assert locate_detection(s, det.id, {"n_observations": 72, "lat": 0.0}, 72) == {
            "n_observations": 72, "lat": 0.0}


def test_too_few_fixes_leave_position_null(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'q.db'}") as store, store.session() as s:
        det = Detection(mcc=460, mnc=0, lac=1, cid=1, arfcn=90, bsic=1, severity="medium", score=0.5)
        s.add(det)
        s.flush()
        s.add(Observation(time=datetime(2026, 3, 1, tzinfo=UTC), arfcn=90, lat=36.6, lon=101.7, gps_mode=3,
                          power_dbm=-60.0, detection_id=det.id))
        s.flush()
        assert locate_detection(s, det.id, None, 1) is None
