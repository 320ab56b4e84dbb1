"""Helpers of the dedicated-channel rules (issue 13): the observations of a
cell with their traffic counts and captured SMS (`Seen.traffic`, `Seen.sms`,
filled from `fbsdetect.traffic`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fbsdetect.detect.context import RuleContext, Seen


def observations(cell: Seen, ctx: RuleContext) -> list[Seen]:
    """This cell's observations so far (the current one included once)."""
    h = ctx.history
    return h if any(s is cell for s in h) else [*h, cell]


def total(cell: Seen, ctx: RuleContext, key: str) -> int:
    return sum(int((s.traffic or {}).get(key, 0) or 0) for s in observations(cell, ctx))


def sms(cell: Seen, ctx: RuleContext) -> list[Mapping[str, Any]]:
    return [m for s in observations(cell, ctx) for m in s.sms]
