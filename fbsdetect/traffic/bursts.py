"""The decode-bursts hook: follow Immediate Assignments among bursts given as
JSON lines (`fbsdetect decode-bursts`). Wraps a `TrafficFollower`: the TS0
decoder's CCCH frames go to `on_ccch`, every burst to `on_burst`; the
dedicated-channel frames come back as `L2Frame`s with `channel` SDCCH/8,
SACCH/8 (any timeslot) or SDCCH/4, SACCH/4 (combined TS0, which the TS0
decoder already prints, so they are not returned twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy.typing as npt

from fbsdetect.l3.identity import IdentityHasher
from fbsdetect.traffic.follower import TrafficFollower
from fbsdetect.types import L2Frame


class BurstFollower:
    def __init__(self, arfcn: int | None = None, combined: bool = False,
                 clear_identities: bool | None = None) -> None:
        self.follower = TrafficFollower(arfcn, combined=combined,
                                        hasher=IdentityHasher() if clear_identities is None
                                        else IdentityHasher(clear=clear_identities))

    def push(self, fn: int, ts: int, soft: npt.ArrayLike, decoded: Sequence[Any]) -> list[L2Frame]:
        """The burst just given to the TS0 decoder and what that returned."""
        out = self.follower.on_burst(fn, ts, soft)
        for it in decoded:
            if isinstance(it, L2Frame):
                out += self.follower.on_ccch(it)
        return out

    def flush(self, decoded: Sequence[Any]) -> list[L2Frame]:
        out: list[L2Frame] = []
        for it in decoded:
            if isinstance(it, L2Frame):
                out += self.follower.on_ccch(it)
        return out + self.follower.flush()

    def stats_line(self) -> str:
        c = self.follower.counts
        o = c.other
        return (f"dedicated: {c.assignments} assignments ({c.followed} followed, {c.hopping} hopping, "
                f"{c.not_followed} not followed); blocks {o['blocks_ok']} ok, "
                f"{o['blocks_bad']} failed parity, "
                f"{o['blocks_idle']} idle, {c.ciphered_blocks} ciphered; {len(self.follower.events)} "
                f"messages, {c.sms} SMS\n")
