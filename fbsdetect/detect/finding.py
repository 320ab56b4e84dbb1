"""What a rule says about one observation: a `Finding`, with an ordered `Severity`.

A finding names its rule and the rule's version, a score in [0, 1] (how
strongly this one sign points at a fake cell, before the rule's weight), the
evidence as text a regulator can read (including the usual innocent causes; in
English, with `i18n` to show it in the reader's language) and the same evidence
as data (numbers the text was made from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """Ordered: INFO < LOW < MEDIUM < HIGH. Detections are low, medium or high."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def word(self) -> str:
        """"low", "medium", "high" (as stored and in the JSON)."""
        return self.name.lower()

    @classmethod
    def parse(cls, name: str | Severity | None) -> Severity | None:
        """`"low"`/`"medium"`/`"high"`/`"info"` (any case) -> Severity; None -> None."""
        if name is None or isinstance(name, Severity):
            return name
        try:
            return cls[str(name).strip().upper()]
        except KeyError:
            raise ValueError(f"severity {name!r}: expected info, low, medium or high") from None


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one observation of a cell."""

    rule_id: str
    version: int
    score: float  # 0..1, the strength of this sign alone (the rule's weight is applied by score.py)
    evidence: str  # plain language, naming the usual innocent causes
    data: dict[str, Any] = field(default_factory=dict)
    family: str = "other"  # independent sign families: see score.FAMILIES
    # the severity of this sign on its own: at most LOW (severity above low needs independent signs,
    # which only score.combine can see); INFO for a trace of a sign
    severity: Severity = Severity.LOW
    # the evidence in every language (fbsdetect.i18n.message): {"msg": recipe} or {"text": {lang: text}};
    # None for a finding made outside Rule.run (then `evidence` is all there is)
    i18n: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "score", round(min(1.0, max(0.0, float(self.score))), 3))
        if self.severity > Severity.LOW:
            object.__setattr__(self, "severity", Severity.LOW)

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.rule_id, "version": self.version, "score": self.score,
               "evidence": self.evidence, "data": self.data, "family": self.family,
               "severity": self.severity.word}
        if self.i18n is not None:
            out["evidence_i18n"] = self.i18n
        return out

    @property
    def local_evidence(self) -> str:
        """The evidence in the current language (`evidence` is English when `i18n` is set)."""
        from fbsdetect.i18n.message import evidence_text

        return evidence_text(self.evidence, self.i18n)


def ramp(x: float, lo: float, hi: float) -> float:
    """0 at or below `lo`, 1 at or above `hi`, linear between (scores of graded signs)."""
    if hi == lo:
        return 1.0 if x >= hi else 0.0
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))
