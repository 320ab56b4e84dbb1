"""A stored finding shows in the reader's language, whatever the language of the run that made
it (review item 8): the evidence is stored in English (the `evidence` column and the JSON of
contracts.md section 5, unchanged for old readers) with its recipe (message ids and parameters,
`fbsdetect.i18n.message`) or, where a rule's text has no faithful recipe, its text in every
language; rows written before carry neither and show as stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fbsdetect import i18n
from fbsdetect.i18n.message import capturing, entry_evidence, evidence_text, render
from tests.detect.test_heuristics import CASES, RULES

TRIGGERS = [(m, fn) for m, k, fn in CASES if k == "trigger"]
# rules whose text (or a piece of it) is not made by gettext + format + concatenation + the separators
# and names of fbsdetect.i18n.message: their findings would be stored with the text of each language
# instead of a recipe (shown the same; re-rendered only for the languages there are). Name each one here
# with what breaks its recipe (none now: every rule's trigger finding has one).
TEXT_ONLY: dict[str, str] = {}


@pytest.mark.parametrize(("mod", "fn"), TRIGGERS, ids=[fn.__name__ for _, fn in TRIGGERS])
def test_a_finding_made_in_chinese_is_stored_in_english_and_shown_in_both(mod: str, fn: Any) -> None:
    rule = RULES[mod]
    cell, ctx = fn()
    with i18n.using("en"):
        plain_en = rule.check(cell, ctx)
    with i18n.using("zh"):
        plain_zh = rule.check(cell, ctx)
        f = rule.run(cell, ctx)  # a run under --lang zh
    assert f is not None and plain_en is not None and plain_zh is not None and f.i18n is not None
    assert f.evidence == plain_en.evidence and type(f.evidence) is str  # English, a plain str, in the row
    assert f.local_evidence == plain_en.evidence
    with i18n.using("zh"):
        assert f.local_evidence == plain_zh.evidence
        assert "可能的正常原因" in f.local_evidence
    if mod in TEXT_ONLY:
        assert set(f.i18n) == {"text"} and f.i18n["text"]["zh"] == plain_zh.evidence
    else:
        assert set(f.i18n) == {"msg"}, (mod, f.i18n)  # the recipe: message ids and parameters
        with i18n.using("zh"):
            assert render(f.i18n["msg"]) == plain_zh.evidence


def test_names_and_separators_follow_the_reader() -> None:
    """An operator's and a band's name, and list separators, are recipe nodes of their own."""
    from fbsdetect.i18n.message import list_separator

    with capturing():
        t = i18n._("ARFCN {arfcn} is outside {operator}'s allocation {ranges}.").format(
            arfcn=110, operator=i18n.operator_name(460, 0, "China Mobile"),
            ranges=list_separator().join(["1-94", "512-561"]))
    assert getattr(t, "tree", None) is not None
    with i18n.using("zh"):
        zh = render(t.tree)
    assert "中国移动" in zh and "1-94，512-561" in zh, zh
    assert render(t.tree) == str(t) and "China Mobile" in str(t) and "1-94, 512-561" in str(t)
    with capturing(), i18n.using("zh"):
        b = i18n.band_name("B5")
    from fbsdetect.i18n.message import Text

    assert isinstance(b, Text)
    with i18n.using("zh"):
        assert render(b.tree) == "LTE B5 频段"
    assert render(b.tree) == "B5"


def test_recipes_are_json_and_parameters_are_kept_as_values() -> None:
    import json

    from fbsdetect.i18n.message import clause_separator

    with capturing():
        head = i18n._("CID {cid} in LAC {lac} ({plmn}) is not in the registry.")
        t = (head.format(cid=7, lac=9, plmn="460-00") + " " + i18n._("Innocent causes: {causes}.").format(
            causes=clause_separator().join([i18n._("a new site"), i18n._("the registry may be incomplete")])))
    tree = json.loads(json.dumps(t.tree))  # survives the JSON column
    assert tree["c"][0]["a"]["cid"] == {"v": 7}
    with i18n.using("zh"):
        zh = render(tree)
    assert zh.startswith("LAC 9（460-00）中的 CID 7 不在基站库中。") and "可能的正常原因" in zh
    assert render(tree) == str(t)


def test_a_recipe_that_lost_a_piece_is_not_kept() -> None:
    """An f-string around a translated piece leaves English inside the recipe: caught by the
    comparison with a real run in the other language, the texts are stored instead."""
    from fbsdetect.i18n.message import localized

    def make() -> str:
        inner = i18n._("the registry may simply lack it (crowd-sourced data is incomplete)")
        return i18n._("Innocent causes: {causes}.").format(causes=f"{inner}")

    with capturing():
        first = make()
    english, stored = localized(make, first, "en")
    assert english.startswith("Innocent causes: the registry may simply lack it") and set(stored) == {"text"}
    assert "可能的正常原因" in stored["text"]["zh"]


def test_old_rows_and_broken_recipes_show_as_stored() -> None:
    old = "CID 1 in LAC 2 is not in the registry"
    assert evidence_text(old, None) == old
    assert entry_evidence({"evidence": "旧的中文证据"}) == "旧的中文证据"  # a row of a zh run, before
    assert evidence_text("stored", {"msg": {"bogus": 1}}) == "stored"
    with i18n.using("zh"):
        assert evidence_text("stored", {"text": {"en": "stored", "zh": "已存"}}) == "已存"
        assert entry_evidence({"evidence": "x", "data": {"evidence_i18n": {"text": {"zh": "甲"}}}}) == "甲"


def test_a_scan_stored_under_zh_lists_in_the_readers_language(tmp_path: Path) -> None:
    """analyze under zh, then `detections` (and the map's popups, the evidence report) in en and zh."""
    from fbsdetect.detect.engine import analyze, list_detections
    from fbsdetect.scan.profile import load_profile
    from fbsdetect.store import open_store
    from tests.mapping.fixtures import populate

    store = open_store(f"sqlite:///{tmp_path / 'f.db'}")
    try:
        populate(store, n_steps=40, with_detection=False)
        with i18n.using("zh"):
            analyze(store, load_profile("cn"))
        dets = list_detections(store)
        assert dets, "the fixture's fake cell is detected"
        rules = [r for d in dets for r in d["rules"]]
        assert rules and all("evidence_i18n" in r for r in rules)
        # contracts.md section 5: `evidence` stays a string, English whatever the scan's language
        assert all(isinstance(r["evidence"], str) and "Innocent causes" in r["evidence"] for r in rules)
        with i18n.using("zh"):
            zh = [entry_evidence(r) for r in rules]
        en = [entry_evidence(r) for r in rules]
        assert all("可能的正常原因" in t for t in zh) and en == [r["evidence"] for r in rules]
        # the CLI's listing in each language
        import contextlib
        import io

        from fbsdetect.cli.main import main

        for lang, want, unwanted in (("en", "Innocent causes", "可能的正常原因"), ("zh", "可能的正常原因",
                                                                                  "Innocent causes")):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                assert main(["--lang", lang, "--db", str(store.url), "detections"]) == 0
            assert want in buf.getvalue() and unwanted not in buf.getvalue(), buf.getvalue()
    finally:
        store.close()
