"""The system's time zone is taken by name, so each instant is shown with the
offset in force then (summer time), not with today's offset."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from fbsdetect import i18n


def test_tz_names_the_zone_and_summer_time_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-fbsdetect-config")
    zone = i18n.user_zone(None)
    assert zone == ZoneInfo("Europe/Berlin")
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert i18n.format_datetime(summer, zone).endswith("14:00 UTC+02:00")
    assert i18n.format_datetime(winter, zone).endswith("13:00 UTC+01:00")


def test_colon_prefix_and_unknown_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", ":Asia/Shanghai")
    assert i18n.system_zone() == ZoneInfo("Asia/Shanghai")
    monkeypatch.setenv("TZ", "Not/AZone")
    z = i18n.system_zone()  # falls through to /etc/localtime, /etc/timezone or today's offset: never raises
    assert datetime(2026, 1, 1, tzinfo=UTC).astimezone(z).utcoffset() is not None
