"""gpsd through gpsfake (Debian's gpsd package): an NMEA log made here is
replayed by a real gpsd, read through open_gps("gpsd:127.0.0.1:PORT"); then gpsd
goes away and fixes drop to mode 0 without blocking."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fbsdetect.geo import open_gps
from fbsdetect.geo.gpsd import tpv_to_fix
from tests.conftest import require_program
from tests.geo.nmea_gen import track


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tpv_fields() -> None:
    f = tpv_to_fix({"class": "TPV", "mode": 2, "time": "2026-12-01T20:49:42.000Z", "lat": 1.5,
                    "lon": 2.5, "epx": 3.0, "epy": 4.0, "speed": 1.0, "track": 45.0})
    assert (f.mode, f.lat, f.lon, f.error_m, f.course_deg, f.alt_m) == (2, 1.5, 2.5, 5.0, 45.0, None)
    assert f.time == datetime(2026, 12, 1, 20, 49, 42, tzinfo=UTC)
    assert tpv_to_fix({"mode": 1, "lat": 1.0, "lon": 2.0}).lat is None


def test_gpsfake_fixes_then_dropout(tmp_path: Path) -> None:
    gpsfake = require_program("gpsfake")
    log = tmp_path / "drive.nmea"
    start = datetime.now(UTC).replace(microsecond=0)
    log.write_text("\r\n".join(track(start, 200)) + "\r\n")
    port = free_port()
    proc = subprocess.Popen([gpsfake, "-q", "-n", "-1", "-c", "0.02", "-P", str(port), str(log)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    g = open_gps(f"gpsd:127.0.0.1:{port}")
    try:
        fix = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            fix = g.fix_at(datetime.now(UTC))
            if fix.mode == 3:
                break
            time.sleep(0.05)
        assert fix is not None and fix.mode == 3, "no 3D fix from gpsfake within 15 s"
        assert fix.source == "gpsd" and fix.lat == pytest.approx(31.2, abs=1e-6)
        assert 121.4 <= (fix.lon or 0) <= 121.4 + 200e-4
        assert fix.error_m is not None and fix.error_m > 0  # gpsd's eph
        g.stale_s = 0.5  # type: ignore[attr-defined]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    time.sleep(1.0)
    t0 = time.monotonic()
    assert g.fix_at(datetime.now(UTC)).mode == 0  # gpsd gone: a dropout
    assert time.monotonic() - t0 < 0.05  # and never blocks
    g.close()
