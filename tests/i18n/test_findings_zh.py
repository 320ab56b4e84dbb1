"""Every rule's finding, made under `--lang zh`, reads in Chinese: the trigger
fixtures of tests/detect (and tests/traffic) run in Chinese; each evidence text
names its innocent causes in Chinese, keeps no English sentence (three English
words in a row, codes and units aside) and no unfilled placeholder."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from fbsdetect import i18n
from tests.detect.test_heuristics import CASES, RULES

TRIGGERS = [(m, fn) for m, k, fn in CASES if k == "trigger"]
# three words of latin letters in a row that are not codes (upper case, digits) or units
_ENGLISH = re.compile(r"\b[a-z][a-z']+\s+[a-z][a-z']+\s+[a-z][a-z']+\b")


@pytest.mark.parametrize(("mod", "fn"), TRIGGERS, ids=[fn.__name__ for _, fn in TRIGGERS])
def test_finding_in_chinese(mod: str, fn: Callable[[], Any]) -> None:
    rule = RULES[mod]
    with i18n.using("zh"):
        cell, ctx = fn()
        f = rule.run(cell, ctx)
    assert f is not None
    with i18n.using("zh"):
        text = f.local_evidence  # stored in English with its recipe: shown in the reader's language
    assert "可能的正常原因：" in text, text
    assert not re.search(r"\{[a-z_]+[:!}]", text), text  # a placeholder left unfilled
    english = [m for m in _ENGLISH.findall(text) if "e.g" not in m]
    assert not english, (rule.id, english, text)
    en = rule.run(*fn())
    assert en is not None and "Innocent causes" in en.evidence  # the language is not left switched


def test_two_explanations_side_by_side() -> None:
    """The two explanations quoted in the session notes, as the catalog has them."""
    for rid in ("sms-unciphered", "imsi-request-then-reject"):
        en = i18n.rule_explanation(rid)
        with i18n.using("zh"):
            zh = i18n.rule_explanation(rid)
        assert en.startswith(("SMS delivered", "Identity Request")) and "可能的正常原因" in zh
