"""Scan profiles (`scanners/*.toml`): what to sweep and what is normal there.

`load_profile("cn")` reads `scanners/cn.toml`; a name is looked up in
$FBSDETECT_SCANNERS (a directory, or several separated by os.pathsep), then in
the repository's `scanners/`; anything with a `/` or ending `.toml` is a path.
Every key is checked: an unknown or mistyped key is `BadInput` naming the
file, the table and the key (exit 2).

Schema (see scanners/README.md)::

    [profile]    name, description, timezone, sources = [citations]
    [radio]      sample_rate_hz, gain_db (number or "auto"), dwell_max_s, identity_dwell_max_s,
                 power_dwell_s, revisit, revisit_dwell_s, tuner_max_hz, tuner_min_hz, settle_s,
                 follow_ccch ("all" | "after-identity" | "after-first-sweep" | "off" | "where-needed"),
                 follow_dwell_max_s, paging_sample_s, paging_every_s,
                 iq_snippet_keep_s, iq_snippet_cell_max_mb, iq_snippet_total_max_mb
    [[band]]     name (a gsm.bands name), arfcns = [[first, last], ...]
    [[lte_band]] name, downlink_hz = [lo, hi], note
    [[operator]] mcc, mnc, mnc_aliases, name, name_zh, ncc, arfcns = {band = [[a, b]]},
                 si2quater_expected, gprs_expected, *_range = [lo, hi], source, note
    [detect]     weights = {rule = w}, disabled = [...], enabled = [...], anything else H4 reads
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fbsdetect.dsp.constants import SYMBOL_RATE_HZ
from fbsdetect.errors import BadInput
from fbsdetect.i18n import _

ENV_DIRS = "FBSDETECT_SCANNERS"
FOLLOW_MODES = ("all", "after-identity", "after-first-sweep", "off", "where-needed")


def scanners_dirs() -> list[Path]:
    """Where profiles are looked up by name: $FBSDETECT_SCANNERS, then the repository's scanners/."""
    out = [Path(p) for p in os.environ.get(ENV_DIRS, "").split(os.pathsep) if p]
    out.append(Path(__file__).resolve().parents[2] / "scanners")
    return out


@dataclass(frozen=True)
class RadioPlan:
    sample_rate_hz: float = SYMBOL_RATE_HZ * 8  # 8 x the GSM symbol rate: 2.1667 MS/s
    gain_db: float | None = None  # None: automatic gain
    dwell_max_s: float = 2.6  # per-tuning cap of a completion dwell (one SI cycle is 1.88 s)
    identity_dwell_max_s: float = 1.3  # cap of an identity dwell (BSIC + SI3: SI3 every 4 multiframes)
    power_dwell_s: float = 0.03  # power pass per tuning
    revisit: bool = True
    revisit_dwell_s: float = 0.05  # FCCH + SCH + power of one carrier
    tuner_min_hz: float = 24e6  # R820T
    tuner_max_hz: float = 1766e6
    settle_s: float = 0.06
    follow_ccch: str = "all"  # CCCH in dwells: all | after-identity | after-first-sweep | off | where-needed
    follow_dwell_max_s: float = 30.0  # a dwell goes on while a followed conversation is in clear, to this
    paging_sample_s: float = 2.5  # from the 2nd sweep, a dwell on a cell due a paging sample lasts this long
    paging_every_s: float = 120.0  # a cell's paging is sampled (frames stored) at most this often
    iq_snippet_keep_s: float = 1.0  # IQ of flagged cells (scan.snippets): look-back kept in a dwell; 0: none
    iq_snippet_cell_max_mb: float = 4.0  # snippets kept per cell and run
    iq_snippet_total_max_mb: float = 256.0  # snippets kept per run


@dataclass(frozen=True)
class Band:
    name: str
    arfcns: tuple[tuple[int, int], ...]

    def arfcn_list(self) -> list[int]:
        out: list[int] = []
        for a, b in self.arfcns:
            out.extend(range(a, b + 1))
        return out


@dataclass(frozen=True)
class LteBand:
    name: str
    downlink_hz: tuple[float, float]
    note: str = ""


@dataclass(frozen=True)
class Operator:
    mcc: int
    mnc: int
    name: str
    name_zh: str = ""
    mnc_aliases: tuple[int, ...] = ()
    ncc: tuple[int, ...] = ()  # empty: not known (any)
    arfcns: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    si2quater_expected: bool | None = None
    gprs_expected: bool | None = None
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # "t3212" -> (lo, hi)
    source: str = ""
    note: str = ""

    def has_arfcn(self, arfcn: int, band: str | None = None) -> bool | None:
        """Whether `arfcn` is inside this operator's allocation (None: none given)."""
        if not self.arfcns:
            return None
        for b, spans in self.arfcns.items():
            if band is not None and b != band:
                continue
            if any(lo <= arfcn <= hi for lo, hi in spans):
                return True
        return False

    def range(self, key: str) -> tuple[float, float] | None:
        """A typical SI parameter range, e.g. `range("t3212")`."""
        return self.ranges.get(key)


@dataclass(frozen=True)
class Profile:
    name: str
    path: str
    description: str = ""
    timezone: str = "UTC"
    sources: tuple[str, ...] = ()
    radio: RadioPlan = field(default_factory=RadioPlan)
    bands: tuple[Band, ...] = ()
    lte_bands: tuple[LteBand, ...] = ()
    operators: tuple[Operator, ...] = ()
    detect: dict[str, Any] = field(default_factory=dict)

    def operator(self, mcc: int | None, mnc: int | None) -> Operator | None:
        for op in self.operators:
            if op.mcc == mcc and (op.mnc == mnc or mnc in op.mnc_aliases):
                return op
        return None

    def arfcns(self) -> list[tuple[int, str]]:
        """Every (ARFCN, band) swept."""
        return [(a, b.name) for b in self.bands for a in b.arfcn_list()]


# --------------------------------------------------------------------------- loading

_RADIO_KEYS = {f: type(getattr(RadioPlan(), f)) for f in RadioPlan.__dataclass_fields__}
_ZERO_OK = ("tuner_min_hz", "iq_snippet_keep_s", "paging_sample_s")  # 0: none / off
# upper bounds of knobs whose cost grows with them: the snippet look-back holds references to every
# sample of that span per dwell (2.4 MS/s x 8 B: ~19 MB a second; 60 s would be 1.15 GB)
_RADIO_MAX = {"iq_snippet_keep_s": 10.0}
_RADIO_MAX_WHY = {"iq_snippet_keep_s": "the look-back is held in memory: ~19 MB a second at 2.4 MS/s"}
_OP_RANGE_SUFFIX = "_range"
_OP_KEYS = {"mcc", "mnc", "name", "name_zh", "mnc_aliases", "ncc", "arfcns", "si2quater_expected",
            "gprs_expected", "source", "note"}


class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path

    def bad(self, where: str, msg: str) -> BadInput:
        return BadInput(f"[{where}] {msg}", source=self.path)

    def keys(self, d: dict[str, Any], allowed: set[str], where: str, required: tuple[str, ...] = ()) -> None:
        for k in d:
            if k not in allowed and not (where.startswith("operator") and k.endswith(_OP_RANGE_SUFFIX)):
                raise self.bad(where, f"unknown key {k!r} (allowed: {', '.join(sorted(allowed))})")
        for k in required:
            if k not in d:
                raise self.bad(where, f"missing key {k!r}")

    def number(self, v: Any, where: str, key: str) -> float:
        # TOML has nan and inf: a non-finite duration or size would fail mid-scan, so it is bad input here
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.bad(where, f"{key} must be a finite number, not {v!r}")
        return float(v)

    def integer(self, v: Any, where: str, key: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.bad(where, f"{key} must be an integer, not {v!r}")
        return v

    def spans(self, v: Any, where: str, key: str) -> tuple[tuple[int, int], ...]:
        if not isinstance(v, list) or not v:
            raise self.bad(where, f"{key} must be a list of [first, last] ARFCN pairs")
        out = []
        for s in v:
            if (not isinstance(s, list) or len(s) != 2
                    or not all(isinstance(x, int) and not isinstance(x, bool) for x in s) or s[0] > s[1]):
                raise self.bad(where, f"{key}: {s!r} is not a [first, last] ARFCN pair")
            out.append((int(s[0]), int(s[1])))
        return tuple(out)

    def pair(self, v: Any, where: str, key: str) -> tuple[float, float]:
        if not isinstance(v, list) or len(v) != 2:
            raise self.bad(where, f"{key} must be [low, high]")
        lo, hi = (self.number(x, where, key) for x in v)
        if lo > hi:
            raise self.bad(where, f"{key}: low {lo} above high {hi}")
        return lo, hi


def resolve_profile_path(name_or_path: str | os.PathLike[str]) -> Path:
    s = os.fspath(name_or_path)
    if "/" in s or os.sep in s or s.endswith(".toml"):
        p = Path(s)
        if not p.is_file():
            raise BadInput(_("no such scan profile file"), source=s)
        return p
    for d in scanners_dirs():
        p = d / f"{s}.toml"
        if p.is_file():
            return p
    where = ", ".join(str(d) for d in scanners_dirs())
    raise BadInput(_("no scan profile named {name!r} (looked in {where})").format(
        name=s, where=where), source=s)


def load_profile(name_or_path: str | os.PathLike[str]) -> Profile:
    """The profile `name_or_path` (see module docstring); BadInput naming the key when wrong."""
    path = resolve_profile_path(name_or_path)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise BadInput(_("not valid TOML: {error}").format(error=e), source=path) from None
    except OSError as e:
        raise BadInput(_("cannot read: {error}").format(error=e.strerror), source=path) from None
    return parse_profile(doc, str(path))


def parse_profile(doc: dict[str, Any], path: str) -> Profile:
    from fbsdetect.gsm.bands import BandError, downlink_hz

    c = _Checker(path)
    c.keys(doc, {"profile", "radio", "band", "lte_band", "operator", "detect"}, "top level",
           ("profile", "band"))
    prof = doc["profile"]
    if not isinstance(prof, dict):
        raise c.bad("profile", "must be a table")
    c.keys(prof, {"name", "description", "timezone", "sources"}, "profile", ("name",))
    if "timezone" in prof:
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(str(prof["timezone"]))
        except Exception:
            raise c.bad("profile", f"timezone {prof['timezone']!r} is not a known IANA zone") from None
    # radio
    radio_d = doc.get("radio", {})
    if not isinstance(radio_d, dict):
        raise c.bad("radio", "must be a table")
    c.keys(radio_d, set(_RADIO_KEYS), "radio")
    kw: dict[str, Any] = {}
    for k, v in radio_d.items():
        if k == "follow_ccch":
            if v not in FOLLOW_MODES:
                raise c.bad("radio", f"follow_ccch must be one of {', '.join(FOLLOW_MODES)}, not {v!r}")
            kw[k] = v
        elif k == "gain_db":
            if v == "auto":
                kw[k] = None
            else:
                kw[k] = c.number(v, "radio", k)
        elif _RADIO_KEYS[k] is bool:
            if not isinstance(v, bool):
                raise c.bad("radio", f"{k} must be true or false")
            kw[k] = v
        else:
            kw[k] = c.number(v, "radio", k)
            if kw[k] < 0 or (kw[k] == 0 and k not in _ZERO_OK):
                raise c.bad("radio", f"{k} must be positive")
            if k in _RADIO_MAX and kw[k] > _RADIO_MAX[k]:
                raise c.bad("radio", f"{k} = {kw[k]:g} is more than {_RADIO_MAX[k]:g} ({_RADIO_MAX_WHY[k]})")
    radio = RadioPlan(**kw)
    # bands
    bands = []
    raw_bands = doc["band"]
    if not isinstance(raw_bands, list) or not raw_bands:
        raise c.bad("band", "at least one [[band]] is needed")
    for i, b in enumerate(raw_bands):
        where = f"band {i + 1}"
        c.keys(b, {"name", "arfcns", "note"}, where, ("name", "arfcns"))
        spans = c.spans(b["arfcns"], where, "arfcns")
        for lo, hi in spans:
            for a in (lo, hi):
                try:
                    downlink_hz(a, str(b["name"]))
                except (BandError, ValueError, KeyError) as e:
                    raise c.bad(where, f"arfcns: ARFCN {a} is not in band {b['name']!r} ({e})") from None
        bands.append(Band(str(b["name"]), spans))
    lte = []
    for i, b in enumerate(doc.get("lte_band", [])):
        where = f"lte_band {i + 1}"
        c.keys(b, {"name", "downlink_hz", "note"}, where, ("name", "downlink_hz"))
        lte.append(LteBand(str(b["name"]), c.pair(b["downlink_hz"], where, "downlink_hz"),
                           str(b.get("note", ""))))
    ops = []
    for i, o in enumerate(doc.get("operator", [])):
        where = f"operator {i + 1}"
        c.keys(o, _OP_KEYS, where, ("mcc", "mnc", "name"))
        arf: dict[str, tuple[tuple[int, int], ...]] = {}
        if "arfcns" in o:
            if not isinstance(o["arfcns"], dict):
                raise c.bad(where, "arfcns must be a table {band = [[first, last], ...]}")
            for bn, sp in o["arfcns"].items():
                arf[bn] = c.spans(sp, where, f"arfcns.{bn}")
        ranges = {k[: -len(_OP_RANGE_SUFFIX)]: c.pair(v, where, k) for k, v in o.items()
                  if k.endswith(_OP_RANGE_SUFFIX)}
        ncc = tuple(c.integer(x, where, "ncc") for x in o.get("ncc", []))
        if any(not 0 <= x <= 7 for x in ncc):
            raise c.bad(where, "ncc values are 0..7")
        for k in ("si2quater_expected", "gprs_expected"):
            if k in o and not isinstance(o[k], bool):
                raise c.bad(where, f"{k} must be true or false")
        ops.append(Operator(
            mcc=c.integer(o["mcc"], where, "mcc"), mnc=c.integer(o["mnc"], where, "mnc"), name=str(o["name"]),
            name_zh=str(o.get("name_zh", "")),
            mnc_aliases=tuple(c.integer(x, where, "mnc_aliases") for x in o.get("mnc_aliases", [])),
            ncc=ncc, arfcns=arf, si2quater_expected=o.get("si2quater_expected"),
            gprs_expected=o.get("gprs_expected"), ranges=ranges, source=str(o.get("source", "")),
            note=str(o.get("note", ""))))
    det = doc.get("detect", {})
    if not isinstance(det, dict):
        raise c.bad("detect", "must be a table")
    srcs = prof.get("sources", [])
    if not isinstance(srcs, list):
        raise c.bad("profile", "sources must be a list of strings")
    return Profile(name=str(prof["name"]), path=path, description=str(prof.get("description", "")),
                   timezone=str(prof.get("timezone", "UTC")), sources=tuple(str(s) for s in srcs),
                   radio=radio, bands=tuple(bands), lte_bands=tuple(lte), operators=tuple(ops), detect=det)
