"""Scoring: independent signs for medium and high; soft signs alone stay low."""

from __future__ import annotations

from fbsdetect.detect.finding import Finding, Severity
from fbsdetect.detect.score import combine

W = {"a": 0.3, "b": 0.3, "p1": 0.5, "p2": 0.5, "r": 0.5, "s": 0.45, "t": 0.5}


def f(rule: str, family: str, score: float = 1.0) -> Finding:
    return Finding(rule, 1, score, "x", {}, family)


def test_nothing_is_info() -> None:
    assert combine([], W).severity is Severity.INFO


def test_soft_families_alone_stay_low() -> None:
    sc = combine([f("a", "identity"), f("b", "identity"), f("t", "topology")], W)
    assert sc.severity is Severity.LOW and sc.families["identity"] == 0.35


def test_one_hard_family_alone_is_low() -> None:
    sc = combine([f("p1", "parameters"), f("p2", "parameters")], W)
    assert sc.score >= 0.45 and sc.severity is Severity.LOW


def test_medium_needs_two_families_one_hard() -> None:
    assert combine([f("a", "identity"), f("p1", "parameters")], W).severity is Severity.MEDIUM


def test_high_needs_three_families_two_hard() -> None:
    assert combine([f("a", "identity"), f("p1", "parameters"), f("p2", "parameters")], W).severity \
        is Severity.MEDIUM
    sc = combine([f("a", "identity"), f("p1", "parameters"), f("p2", "parameters"), f("r", "power")], W)
    assert sc.severity is Severity.HIGH


def test_thresholds_from_the_detect_table() -> None:
    fs = [f("a", "identity"), f("p1", "parameters")]
    assert combine(fs, W, {"medium": 0.9}).severity is Severity.LOW


def test_severity_order_and_parse() -> None:
    assert Severity.INFO < Severity.LOW < Severity.MEDIUM < Severity.HIGH
    assert Severity.parse("Medium") is Severity.MEDIUM and Severity.HIGH.word == "high"
