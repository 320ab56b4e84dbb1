"""Simplified Chinese and English: message catalogs, the user's language, time zone and names.

Every text a person reads goes through gettext with the English text as the
message id (`DOMAIN` "fbsdetect"; catalogs in `fbsdetect/i18n/locale/<ll_CC>/
LC_MESSAGES/`, the compiled `.mo` shipped beside its `.po` so that a plain
`pip install` has them; tests/i18n checks that they match):

- `_("text {name}")` and `ngettext(singular, plural, n)` translate now, into
  the current language; placeholders are `str.format` names, kept identical in
  every language (tests/i18n fails otherwise), filled after translation:
  `_("{n} suspects").format(n=3)`.
- `lazy("text")` is for module-level texts (a CLI module's HELP, a table of
  labels): a `LazyString` translated each time it is turned into a string, so
  the language chosen after import (from `--lang`) applies.
- `N_("text")` only marks a text for extraction and returns it unchanged; the
  translation is looked up where it is shown (`_(variable)`). Rule titles and
  explanations work this way too: a rule module's `title` and docstring stay
  the English message ids (`Rule.title`, `Rule.explanation`, the generated
  docs page), extracted by `fbsdetect.i18n.extract`, and are translated where
  they are shown (`rule_title(rule_id)`, `Rule.text()`).

The language: `set_language()` with the first of `--lang zh|en` (the global CLI
flag), `$FBSDETECT_LANG`, `lang = "zh"` in the config file
(`$XDG_CONFIG_HOME/fbsdetect/config.toml`, default `~/.config`), the locale
(`LC_ALL`, `LC_MESSAGES`, `LANG`, `LANGUAGE`: `zh_CN.UTF-8` -> zh); English
otherwise. The config file may also set `timezone = "Asia/Shanghai"`.
"""

from __future__ import annotations

import gettext as _gettext
import os
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from fbsdetect.i18n import message as _message

DOMAIN = "fbsdetect"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "zh")
DEFAULT = "en"
# the catalog folder of each language (English needs none: the message ids are English)
CATALOG_LOCALE = {"zh": "zh_CN"}
BABEL_LOCALE = {"en": "en_GB", "zh": "zh_Hans_CN"}

# the process's language (set_language: the CLI, a daemon's start) and, above it, a per-context one
# (using(): a block, a server request; asyncio tasks and thread pools that copy the context see it)
_process_lang = DEFAULT
_context_lang: ContextVar[str | None] = ContextVar("fbsdetect_lang", default=None)


class LanguageError(ValueError):
    """An unknown language name (the CLI turns it into one line and exit 2)."""


def normalize(name: str | None) -> str | None:
    """'zh', 'zh_CN.UTF-8', 'zh-Hans', 'en_US' ... -> 'zh' / 'en'; None for
    anything else (C, POSIX, fr_FR, empty)."""
    if not name:
        return None
    n = name.strip().lower().replace("-", "_").split(".")[0].split("@")[0]
    if n in ("zh", "zh_cn", "zh_hans", "zh_hans_cn", "zh_sg", "cn", "chinese"):
        return "zh"
    if n.startswith("zh_") and n not in ("zh_tw", "zh_hk", "zh_mo", "zh_hant"):
        return "zh"
    if n == "en" or n.startswith("en_") or n == "english":
        return "en"
    return None


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "fbsdetect" / "config.toml"


def user_config() -> dict[str, Any]:
    """The user's config file (`config_path()`), {} when there is none or it is unreadable."""
    p = config_path()
    try:
        with p.open("rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def resolve_language(explicit: str | None = None, environ: Mapping[str, str] | None = None,
                     config: Mapping[str, Any] | None = None) -> str:
    """The language to use: `explicit` (--lang; an unknown name is a
    LanguageError), $FBSDETECT_LANG, the config file's `lang`, the locale
    variables, else English."""
    env = os.environ if environ is None else environ
    if explicit:
        lang = normalize(explicit)
        if lang is None:
            raise LanguageError(f"unknown language {explicit!r}: expected one of {', '.join(LANGUAGES)}")
        return lang
    for cand in (env.get("FBSDETECT_LANG"), (user_config() if config is None else config).get("lang")):
        lang = normalize(str(cand)) if cand else None
        if lang:
            return lang
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        v = env.get(var)
        if v:  # the first one set decides (POSIX precedence), even when it is C
            return normalize(v) or DEFAULT
    for part in (env.get("LANGUAGE") or "").split(":"):
        lang = normalize(part)
        if lang:
            return lang
    return DEFAULT


def _checked(lang: str) -> str:
    n = normalize(lang)
    if n is None:
        raise LanguageError(f"unknown language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    return n


def set_language(lang: str) -> str:
    """Makes `lang` ('zh' or 'en', or a locale name) the process's language; returns it."""
    global _process_lang
    _process_lang = _checked(lang)
    return _process_lang


def current() -> str:
    return _context_lang.get() or _process_lang


@contextmanager
def using(lang: str) -> Iterator[str]:
    """`lang` within the block, for this context only (a request of a threaded server gets its own)."""
    token = _context_lang.set(_checked(lang))
    try:
        yield current()
    finally:
        _context_lang.reset(token)


def accept_language(header: str | None, default: str | None = None) -> str:
    """The language for an HTTP Accept-Language header ('zh-CN,zh;q=0.9,en;q=0.8' -> 'zh'),
    by its q-values; `default` (else English) when it names neither."""
    best, best_q = _checked(default) if default else DEFAULT, -1.0
    for part in (header or "").split(","):
        name, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = normalize(name)
        if lang and q > best_q:
            best, best_q = lang, q
    return best


@lru_cache(maxsize=8)
def translations(lang: str) -> _gettext.NullTranslations:
    loc = CATALOG_LOCALE.get(lang)
    if loc is None:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[loc], fallback=True)


def gettext(message: str) -> str:
    if not message:
        return message
    out = translations(current()).gettext(message)
    if _message.is_capturing():  # a finding's evidence being made: keep the recipe (i18n.message)
        return _message.Text(out, {"m": message})
    return out


def ngettext(singular: str, plural: str, n: int) -> str:
    out = translations(current()).ngettext(singular, plural, n)
    if _message.is_capturing():
        return _message.Text(out, {"n": [singular, plural, n]})
    return out


_ = gettext


def N_(message: str) -> str:
    """Marks `message` for extraction; returns it untranslated."""
    return message


class LazyString:
    """A message translated when it is used (str(), format, %, +, in, ==)."""

    __slots__ = ("msgid",)

    def __init__(self, msgid: str) -> None:
        self.msgid = msgid

    def __str__(self) -> str:
        return gettext(self.msgid)

    def __repr__(self) -> str:
        return f"lazy({self.msgid!r})"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __mod__(self, other: Any) -> str:
        return str(self) % other

    def __add__(self, other: Any) -> str:
        return str(self) + str(other)

    def __radd__(self, other: Any) -> str:
        return str(other) + str(self)

    def __contains__(self, item: str) -> bool:
        return item in str(self)

    def __len__(self) -> int:
        return len(str(self))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyString):
            return self.msgid == other.msgid
        return str(self) == other

    def __hash__(self) -> int:
        return hash(self.msgid)

    def format(self, *args: Any, **kwargs: Any) -> str:
        return str(self).format(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # str methods (split, strip, ...) on the translation
        return getattr(str(self), name)


def lazy(message: str) -> LazyString:
    return LazyString(message)


# ---------------------------------------------------------------- names

# Chinese operators by MCC-MNC (the profile's `name` is the English one); both names for every code
OPERATORS: dict[tuple[int, int], tuple[str, str]] = {
    (460, 0): ("China Mobile", "中国移动"), (460, 2): ("China Mobile", "中国移动"),
    (460, 4): ("China Mobile", "中国移动"), (460, 7): ("China Mobile", "中国移动"),
    (460, 8): ("China Mobile", "中国移动"),
    (460, 1): ("China Unicom", "中国联通"), (460, 6): ("China Unicom", "中国联通"),
    (460, 9): ("China Unicom", "中国联通"),
    (460, 3): ("China Telecom", "中国电信"), (460, 5): ("China Telecom", "中国电信"),
    (460, 11): ("China Telecom", "中国电信"),
    (460, 15): ("China Broadnet", "中国广电"),
    (460, 20): ("China Railway (GSM-R)", "中国铁路 (GSM-R)"),
}
_OPERATOR_ZH_BY_NAME = {en: zh for en, zh in OPERATORS.values()}


def operator_name(mcc: int | None, mnc: int | None, english: str | None = None) -> str | None:
    """The operator's name in the current language: the table above by code,
    else `english` (the profile's name) translated by name; None when neither knows it."""
    known = OPERATORS.get((mcc, mnc)) if mcc is not None and mnc is not None else None
    en = known[0] if known else english
    if en is None:
        return None
    name = (known[1] if known else _OPERATOR_ZH_BY_NAME.get(en, en)) if current() == "zh" else en
    return _message.name_text(name, {"op": [mcc, mnc, english]})


def band_name(name: str | None) -> str:
    """A band's name in the current language: 'E-GSM900' / 'E-GSM900 频段', LTE 'B3' / 'LTE B3 频段'
    (the 3GPP designation itself is kept: it is what licences and equipment say)."""
    n = str(name or "")
    if not n or current() != "zh":
        return _message.name_text(n, {"band": n}) if n else n
    lte = len(n) > 1 and n[0] == "B" and n[1:].isdigit()
    return _message.name_text(f"LTE {n} 频段" if lte else f"{n} 频段", {"band": n})


def pgettext(context: str, message: str) -> str:
    out = translations(current()).pgettext(context, message)
    if _message.is_capturing():
        return _message.Text(out, {"m": message, "x": context})
    return out


def severity_word(word: Any) -> str:
    """'high' / 'medium' / 'low' / 'info' (a word or a Severity) in the current language;
    unknown words unchanged."""
    w = str(getattr(word, "word", word) or "").lower()
    words = {"high": pgettext("severity", "high"), "medium": pgettext("severity", "medium"),
             "low": pgettext("severity", "low"), "info": pgettext("severity", "info")}
    return words.get(w, str(word or ""))


def rule_title(rule_id: str, stored: str | None = None) -> str:
    """A rule's title in the current language, by id (a stored title when the
    rule is no longer registered)."""
    from fbsdetect.detect.rules import all_rules

    for r in all_rules():
        if r.id == rule_id:
            return gettext(r.title)
    return gettext(stored) if stored else rule_id


def rule_explanation(rule_id: str) -> str:
    from fbsdetect.detect.rules import all_rules

    for r in all_rules():
        if r.id == rule_id:
            return gettext(r.explanation)
    return ""


# ---------------------------------------------------------------- time

def user_zone(profile_zone: str | None = None, explicit: str | None = None) -> tzinfo:
    """The zone times are shown in: `explicit`, else the config file's
    `timezone`, else the profile's (Asia/Shanghai for cn), else the system's."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    for name in (explicit, user_config().get("timezone"), profile_zone):
        if name:
            try:
                return ZoneInfo(str(name))
            except (ZoneInfoNotFoundError, ValueError):
                if name is explicit:
                    raise LanguageError(f"unknown time zone {name!r} (e.g. Asia/Shanghai, UTC)") from None
    return system_zone()


def system_zone() -> tzinfo:
    """The system's zone by name, so that summer time applies to each instant
    shown: `$TZ` (a zone name, optionally after ':'), else the zone the
    /etc/localtime link names, else /etc/timezone; only when none of them
    names a known zone, the fixed offset in force now."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    names: list[str] = []
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        names.append(tz)
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            names.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    try:
        names.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        pass
    for name in names:
        if not name or name.startswith("/"):
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return datetime.now(UTC).astimezone().tzinfo or UTC


def _offset(dt: datetime) -> str:
    off = dt.utcoffset()
    if off is None:
        return "UTC"
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_datetime(t: datetime | None, tz: tzinfo | None = None, *, seconds: bool = False) -> str:
    """A stored (UTC) time in zone `tz` (default: unchanged), with its offset
    visible: '2026-03-05 14:03 UTC+08:00', in Chinese '2026年3月5日 14:03 UTC+08:00'.
    Naive times are taken as UTC (as stored)."""
    if t is None:
        return ""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    if tz is not None:
        t = t.astimezone(tz)
    hm = "HH:mm:ss" if seconds else "HH:mm"
    if current() == "zh":
        from babel.dates import format_datetime as babel_dt

        text = babel_dt(t, f"y年M月d日 {hm}", locale=BABEL_LOCALE["zh"])
    else:
        text = t.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {_offset(t)}"



def format_stored_time(t: Any, tz: tzinfo | None = None) -> str:
    """A stored time as it comes from the store or a detection's JSON (a datetime, or ISO
    text in UTC with 'Z' or an offset) shown as `format_datetime` does; text that is not
    ISO is returned as it is, anything else is '-'."""
    if isinstance(t, str):
        try:
            t = datetime.fromisoformat(t.replace("Z", "+00:00"))
        except ValueError:
            return t
    return format_datetime(t, tz) if isinstance(t, datetime) else "-"

def format_date(t: datetime, tz: tzinfo | None = None) -> str:
    """The date alone in the current language ('2026-03-05' / '2026年3月5日')."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    if tz is not None:
        t = t.astimezone(tz)
    if current() == "zh":
        from babel.dates import format_date as babel_date

        return babel_date(t.date(), "long", locale=BABEL_LOCALE["zh"])
    return t.strftime("%Y-%m-%d")


def format_month(year: int, month: int) -> str:
    """'2026-03' / '2026年3月'."""
    if current() == "zh":
        from datetime import date

        from babel.dates import format_date as babel_date

        return babel_date(date(year, month, 1), "y年M月", locale=BABEL_LOCALE["zh"])
    return f"{year:04d}-{month:02d}"


def html_lang() -> str:
    """The value of <html lang=...> for the current language."""
    return "zh-CN" if current() == "zh" else "en"
