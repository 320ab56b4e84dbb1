"""Combining findings into a score in [0, 1] and a severity.

Each finding contributes `weight x score` (rule weight, finding score). The
findings of one *family* (one independent kind of sign: the registry, the
SI parameters, the radio measurements ...) combine as a noisy-OR and are
capped, so that ten ways of saying "not in the registry" count as one sign;
the families then combine as a noisy-OR into the total.

Severity needs independent signs, not just a high number:
- `low`: anything found (total >= 0.1);
- `medium`: total >= 0.45, from at least two families, at least one "hard"
  (a property of the cell itself: parameters, power, frequency, clone,
  allocation, paging behaviour, dedicated-channel traffic, spectrum), or from three soft
  families at once;
- `high`: total >= 0.75, from at least three families, at least two hard.
"Soft" families (identity, location, topology, lifetime) are what an
incomplete registry, a new site or a drive explain, one or two at a time;
one or two of them never reach medium. Thresholds can be changed in the profile's `[detect]` table
(`medium = 0.45`, `high = 0.75`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fbsdetect.detect.finding import Finding, Severity

# family -> (hard, cap)
FAMILIES: dict[str, tuple[bool, float]] = {
    "identity": (False, 0.35),    # CGI/LAC/PLMN against the registry and the heard cells
    "location": (False, 0.25),    # where the registry puts the cell
    "topology": (False, 0.30),    # the neighbour (BA) lists
    "lifetime": (False, 0.20),    # how long the cell is heard
    "clone": (True, 0.60),        # one identity on two carriers, carrier/BSIC changes
    "allocation": (True, 0.45),   # NCC, ARFCN outside the operator's licence
    "parameters": (True, 0.70),   # SI parameters against the operator's cells
    "power": (True, 0.60),        # received power: path loss, baseline, motion
    "frequency": (True, 0.50),    # the carrier's own frequency error (independent of power)
    "behaviour": (True, 0.45),    # paging
    # what the cell says to phones on its dedicated channels (SMS in clear, IMSI asked then
    # rejected, accepts without authentication): a licensed cell ciphers and authenticates,
    # so this is the most direct sign there is
    "traffic": (True, 0.80),
    "spectrum": (True, 0.45),     # LTE jamming
    "other": (False, 0.20),
}
CONTRIBUTES = 0.06  # a family counts towards the independence test from this family score on

LOW, MEDIUM, HIGH = 0.10, 0.45, 0.75


@dataclass(frozen=True)
class Score:
    score: float
    severity: Severity
    families: dict[str, float] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        """In the current language (`fbsdetect.i18n`); family names stay machine words."""
        from fbsdetect.i18n import _, severity_word

        fams = ", ".join(f"{k} {v:.2f}" for k, v in sorted(self.families.items(), key=lambda kv: -kv[1]))
        return _("score {score:.2f} ({severity}) from {families}").format(
            score=self.score, severity=severity_word(self.severity.word), families=fams or _("nothing"))


def combine(findings: Iterable[Finding], weights: Mapping[str, float],
            table: Mapping[str, Any] | None = None) -> Score:
    """Score of one cell (an observation or an incident) from its findings;
    `weights` is rule id -> effective weight (rules absent there count 0)."""
    table = table or {}
    medium = float(table.get("medium", MEDIUM))
    high = float(table.get("high", HIGH))
    keep: dict[str, float] = {}
    for f in findings:
        w = float(weights.get(f.rule_id, 0.0))
        fam = f.family if f.family in FAMILIES else "other"
        keep[fam] = 1.0 - (1.0 - keep.get(fam, 0.0)) * (1.0 - w * f.score)
    fam_scores = {k: round(min(v, FAMILIES[k][1]), 3) for k, v in keep.items() if v > 0}
    rest = 1.0
    for v in fam_scores.values():
        rest *= 1.0 - v
    total = round(1.0 - rest, 3)
    counting = [k for k, v in fam_scores.items() if v >= CONTRIBUTES]
    hard = [k for k in counting if FAMILIES[k][0]]
    if total >= high and len(counting) >= 3 and len(hard) >= 2:
        sev = Severity.HIGH
    elif total >= medium and ((len(counting) >= 2 and len(hard) >= 1) or len(counting) >= 3):
        sev = Severity.MEDIUM
    elif total >= LOW:
        sev = Severity.LOW
    else:
        sev = Severity.INFO
    return Score(total, sev, fam_scores)
