"""The dedicated-channel rules on their fixtures (tests/traffic/rule_fixtures.py),
and end to end: a stored scan's SMS and traffic counts reach the rules through
detect.engine.load_seen."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fbsdetect.detect.rules import all_rules
from tests.traffic import rule_fixtures as F

RULES = {r.id.replace("-", "_"): r for r in all_rules()}
MINE = ("sms_unciphered", "imsi_request_then_reject", "no_auth_before_accept", "spoofed_sender",
        "assignments_without_paging")
CASES = [(m, name, getattr(F, name)) for m in MINE for name in dir(F)
         if name.startswith(("trigger_", "benign")) and name.split("_", 1)[1] == m]


def test_each_rule_has_both() -> None:
    for m in MINE:
        kinds = {n.split("_", 1)[0].rstrip("2") for mod, n, _fn in CASES if mod == m}
        assert kinds == {"trigger", "benign"}, m


@pytest.mark.parametrize(("mod", "name", "fn"), CASES, ids=[c[1] for c in CASES])
def test_fixture(mod: str, name: str, fn: Callable[[], F.Case]) -> None:
    rule = RULES[mod]
    cell, ctx = fn()
    f = rule.run(cell, ctx)
    if name.startswith("trigger"):
        assert f is not None and 0 < f.score <= 1 and "Innocent causes" in f.evidence
    else:
        assert f is None, f.evidence if f else ""
