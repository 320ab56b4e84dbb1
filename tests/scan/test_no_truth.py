"""Product code never reads a scene's truth (coordination rule): no `label`, no truth.json in scan/."""

from __future__ import annotations

import re
from pathlib import Path

SCAN = Path(__file__).resolve().parents[2] / "fbsdetect" / "scan"


def test_scan_code_does_not_read_truth() -> None:
    files = sorted(SCAN.rglob("*.py"))
    assert files
    for f in files:
        text = f.read_text()
        assert not re.search(r"\blabel\b", text), f"{f} mentions `label`"
        assert "truth" not in text.lower(), f"{f} mentions truth"
