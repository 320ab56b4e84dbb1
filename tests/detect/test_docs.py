"""docs/heuristics.md is generated from the registered rules (style.md item 10)."""

from __future__ import annotations

from pathlib import Path

from fbsdetect.detect.docs import render
from fbsdetect.detect.rules import all_rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "heuristics.md"


def test_heuristics_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/heuristics.md is out of date: run `python -m fbsdetect.detect.docs > docs/heuristics.md`")


def test_every_rule_has_a_section_and_an_explanation() -> None:
    text = DOC.read_text(encoding="utf-8")
    for r in all_rules():
        assert f"\n### {r.id}\n" in text, r.id
        assert len(r.explanation) > 80 and "innocent" in r.explanation.lower(), r.id
