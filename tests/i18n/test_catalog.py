"""The catalogs: every message id of the sources has a Chinese translation with the
same placeholders, the shipped .mo matches its .po, the language and time helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog

from fbsdetect import i18n
from fbsdetect.i18n import extract
from fbsdetect.i18n.check import catalog_problems, placeholders


@pytest.fixture(scope="module")
def template() -> Catalog:
    return extract.template()


def test_every_msgid_has_a_chinese_translation_with_the_same_placeholders(template: Catalog) -> None:
    probs = catalog_problems(template, extract.read_catalog("zh_CN"), "zh_CN")
    assert not probs, "\n".join(probs[:40]) + "\n(translate, then: python -m fbsdetect.i18n.extract compile)"


def test_shipped_mo_matches_po() -> None:
    mo = extract.po_path("zh_CN").with_suffix(".mo")
    assert mo.read_bytes() == extract.mo_bytes(extract.read_catalog("zh_CN")), (
        "stale .mo: python -m fbsdetect.i18n.extract compile"
    )


def test_rule_titles_and_explanations_are_extracted(template: Catalog) -> None:
    from fbsdetect.detect.rules import all_rules

    for r in all_rules():
        assert template.get(r.title) is not None, r.id
        assert template.get(r.explanation) is not None, r.id


def test_the_check_fails_on_missing_fuzzy_and_placeholder_mismatch() -> None:
    tmpl = Catalog(locale=None)
    tmpl.add("{n} cells on ARFCN {arfcn}")
    tmpl.add("plain text")
    tmpl.add("fuzzy text")
    tmpl.add("not translated")
    tmpl.add(("one cell", "{n} cells"))
    tmpl.add("%(count)d pages", flags=["python-format"])
    cat = Catalog(locale="zh_CN")
    cat.add("{n} cells on ARFCN {arfcn}", "ARFCN {arfcn} 上有 {count} 个小区")  # wrong name
    cat.add("plain text", "纯文本")
    cat.add("fuzzy text", "模糊", flags=["fuzzy"])
    cat.add(("one cell", "{n} cells"), ("{n} 个小区",))
    cat.add("%(count)d pages", "%(count)s 次寻呼")
    probs = catalog_problems(tmpl, cat, "zh_CN")
    text = "\n".join(probs)
    assert "cells on ARFCN" in text and "placeholders" in text
    assert "fuzzy text" in text and "not translated" in text and "pages" in text
    assert "plain text" not in text and "one cell" not in text
    assert len(probs) == 4


def test_placeholders() -> None:
    assert placeholders("{a} and {b:.1f} of 50 %") == (["{a}", "{b:.1f}"], [])
    assert placeholders("%(x)s and %d") == ([], ["%(x)s", "%d"])


def test_language_resolution() -> None:
    r = i18n.resolve_language
    assert r("zh", environ={}, config={}) == "zh"
    assert r("en", environ={"LANG": "zh_CN.UTF-8"}, config={}) == "en"
    assert r(None, environ={"LANG": "zh_CN.UTF-8"}, config={}) == "zh"
    assert r(None, environ={"LANG": "de_DE.UTF-8"}, config={}) == "en"
    assert r(None, environ={"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, config={}) == "en"
    assert r(None, environ={"LANG": "en_US.UTF-8"}, config={"lang": "zh"}) == "zh"
    assert r(None, environ={"FBSDETECT_LANG": "en"}, config={"lang": "zh"}) == "en"
    assert r(None, environ={}, config={}) == "en"
    with pytest.raises(i18n.LanguageError):
        r("fr", environ={}, config={})


def test_config_file(tmp_path, monkeypatch) -> None:
    (tmp_path / "fbsdetect").mkdir()
    (tmp_path / "fbsdetect" / "config.toml").write_text('lang = "zh"\ntimezone = "Asia/Shanghai"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert i18n.resolve_language(None, environ={}) == "zh"
    assert str(i18n.user_zone(None)) == "Asia/Shanghai"


def test_translation_lazy_and_names() -> None:
    lz = i18n.lazy("Cell not in the registry or the baseline")
    with i18n.using("zh"):
        assert i18n.rule_title("unknown-cell") == "小区不在基站库或基线中"
        assert str(lz) == "小区不在基站库或基线中"
        assert i18n.severity_word("high") == "高"
        assert i18n.operator_name(460, 1) == "中国联通"
        assert i18n.operator_name(460, 0) == "中国移动"
        assert i18n.operator_name(460, 3) == "中国电信"
        assert i18n.operator_name(999, 9, "Test Net") == "Test Net"
    assert str(lz) == "Cell not in the registry or the baseline"
    assert i18n.operator_name(460, 1) == "China Unicom"
    assert i18n.severity_word("high") == "high"


def test_times_shown_in_the_users_zone_with_offset() -> None:
    t = datetime(2026, 3, 31, 18, 30, tzinfo=UTC)  # 02:30 on 1 April in Shanghai
    sh = ZoneInfo("Asia/Shanghai")
    assert i18n.format_datetime(t, sh) == "2026-04-01 02:30 UTC+08:00"
    with i18n.using("zh"):
        assert i18n.format_datetime(t, sh) == "2026年4月1日 02:30 UTC+08:00"
        assert i18n.format_month(2026, 4) == "2026年4月"
        assert i18n.format_date(t, sh) == "2026年4月1日"
    assert i18n.format_datetime(t.replace(tzinfo=None), ZoneInfo("UTC")) == "2026-03-31 18:30 UTC+00:00"


def test_context_language_is_per_thread_of_a_pool() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def in_lang(lang: str) -> str:
        with i18n.using(lang):
            import time

            time.sleep(0.05)
            return i18n.severity_word("high")

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(in_lang, ["zh", "en", "zh", "en"]))
    assert got == ["高", "high", "高", "high"]
    assert i18n.current() == "en"


def test_accept_language() -> None:
    assert i18n.accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert i18n.accept_language("en-US,en;q=0.9,zh-CN;q=0.5") == "en"
    assert i18n.accept_language("fr-FR") == "en"
    assert i18n.accept_language(None) == "en"
