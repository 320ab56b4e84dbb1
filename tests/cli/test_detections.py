"""`fbsdetect detections`: the human table of a detection, whatever its stored position holds."""

from __future__ import annotations

from typing import Any

import pytest

from fbsdetect.cli.detections import human


def _det(position: Any) -> dict[str, Any]:
    return {"id": 7, "severity": "high", "score": 0.94,
            "cell": {"arfcn": 62, "bsic": 35, "mcc": 460, "mnc": 0, "lac": 10290, "cid": 41021},
            "rules": [{"id": "unknown-cell", "score": 0.6, "evidence": "not in the registry"}],
            "first_seen": "2026-03-01T10:00:00.000Z", "last_seen": "2026-03-01T10:01:00.000Z",
            "observations": 14, "sensors": ["laptop-1"], "position": position}


def test_a_located_detection_shows_its_position() -> None:
    text = human(_det({"lat": 36.6203, "lon": 101.7811, "error_m": 85.0}))
    assert "position: 36.62030, 101.78110 ±85 m" in text


@pytest.mark.parametrize("position", [None, {}, {"lat": None, "lon": None}, {"region50": [[1, 2]]},
                                      {"lat": 36.6, "lon": 101.7, "error_m": None},
                                      {"lat": "36.6", "lon": 101.7}])
def test_a_position_without_usable_coordinates_is_not_a_crash(position: Any) -> None:
    text = human(_det(position))
    assert "#7  HIGH" in text and "unknown-cell" in text
