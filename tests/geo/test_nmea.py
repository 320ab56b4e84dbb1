"""NMEA logs and devices: fixes by the log's own time; bad sentences skipped and counted."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fbsdetect.errors import BadInput
from fbsdetect.geo import open_gps
from fbsdetect.geo.nmea import parse_nmea_lines
from tests.geo.nmea_gen import epoch, sentence, track

T0 = datetime(2026, 11, 30, 23, 59, 58, tzinfo=UTC)


def test_log_replays_by_its_time_and_crosses_midnight(tmp_path: Path) -> None:
    p = tmp_path / "drive.nmea"
    p.write_text("\r\n".join(track(T0, 5)) + "\r\n")
    g = open_gps(f"nmea:{p}")
    f = g.fix_at(T0 + timedelta(seconds=2.5))  # 00:00:00.5 of the next day
    assert f.mode == 3 and f.source == "nmea"
    assert f.lat == pytest.approx(31.2, abs=1e-6)
    assert f.lon == pytest.approx(121.4 + 2.5e-4, abs=1e-6)
    assert f.error_m == pytest.approx(5.0)  # HDOP 1.0 x 5 m
    assert f.speed_m_s == pytest.approx(10 * 1852 / 3600)
    assert f.alt_m == 50.0
    assert g.fix_at(T0 + timedelta(hours=1)).mode == 0


def test_bad_checksum_and_truncated_sentences_are_skipped_and_counted() -> None:
    good = track(T0, 3)
    bad = good[3][:-2] + ("00" if not good[3].endswith("00") else "01")  # RMC of second 1, wrong sum
    truncated = good[4][:30]  # GGA cut mid-line (no checksum)
    lines = [good[0], good[1], good[2], bad, truncated, good[5], "garbage", *good[6:]]
    fixes, stats = parse_nmea_lines(lines)
    assert stats["bad_checksum"] == 1 and stats["truncated"] == 1 and stats["unparsed"] == 1
    assert [f.time for f in fixes] == [T0, T0 + timedelta(seconds=2)]  # second 1 lost both sentences
    assert all(f.mode == 3 for f in fixes)


def test_no_fix_epochs_are_mode_1() -> None:
    fixes, _ = parse_nmea_lines(epoch(T0, 31.0, 121.0, valid=False))
    assert fixes[0].mode == 1 and fixes[0].lat is None


def test_gga_only_log_uses_the_file_date(tmp_path: Path) -> None:
    gga = [s for s in track(T0 - timedelta(hours=1), 2) if "GGA" in s]
    p = tmp_path / "gga.nmea"
    p.write_text("\n".join(gga))
    mtime = datetime(2025, 6, 1, 12, tzinfo=UTC).timestamp()
    os.utime(p, (mtime, mtime))
    g = open_gps(f"nmea:{p}")
    f = g.fix_at(datetime(2025, 6, 1, 22, 59, 58, tzinfo=UTC))
    assert f.mode == 3  # GGA with altitude, no GSA


def test_not_nmea_is_bad_input(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_text("hello\n")
    with pytest.raises(BadInput, match="not an NMEA log"):
        open_gps(f"nmea:{p}")
    with pytest.raises(BadInput, match="no such"):
        open_gps(f"nmea:{tmp_path / 'missing.nmea'}")


def test_live_device_on_a_pty_and_its_dropout() -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    g = open_gps(f"nmea:{path}@4800")
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        for line in epoch(now, 31.5, 121.5) + epoch(now + timedelta(seconds=1), 31.5, 121.5):
            os.write(master, (line + "\r\n").encode())
        f = None
        for _ in range(100):
            f = g.fix_at(datetime.now(UTC))
            if f.mode == 3:
                break
            time.sleep(0.02)
        assert f is not None and f.mode == 3 and f.lat == pytest.approx(31.5)
        g.stale_s = 0.05  # type: ignore[attr-defined]
        time.sleep(0.1)
        assert g.fix_at(datetime.now(UTC)).mode == 0  # no sentences lately: a dropout, not a stale fix
    finally:
        g.close()
        os.close(master)
        os.close(slave)


def test_sentence_helper_checksum() -> None:
    assert sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,").endswith("*47")


def test_impossible_values_with_a_good_checksum_give_no_position() -> None:
    # NMEA's XOR checksum lets a lat of 95 or a NaN through: not a position, not an error estimate
    lines = [sentence("GPRMC,123519,A,9507.038,N,01131.000,E,022.4,084.4,230394,003.1,W"),
             sentence("GPGGA,123519,9507.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"),
             sentence("GPRMC,123520,A,4807.038,N,19131.000,E,022.4,084.4,230394,003.1,W"),
             sentence("GPRMC,123521,A,4807.038,N,01131.000,E,nan,084.4,230394,003.1,W"),
             sentence("GPGGA,123521,4807.038,N,01131.000,E,1,08,nan,inf,M,46.9,M,,")]
    fixes, _ = parse_nmea_lines(lines)
    assert [(f.lat, f.mode) for f in fixes[:2]] == [(None, 1), (None, 1)]
    f = fixes[2]
    assert f.lat == pytest.approx(48.1173) and (f.error_m, f.alt_m, f.speed_m_s) == (None, None, None)
    assert f.mode == 2  # no usable altitude
