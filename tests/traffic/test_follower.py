"""The follower's bookkeeping of Immediate Assignments: hopping ones and TCH
are counted and left; SDCCH/8 on any timeslot is followed; repeats counted once."""

from __future__ import annotations

from fbsdetect.traffic.follower import TrafficFollower
from fbsdetect.types import L2Frame


def _ia(chan_octet: int, hopping: bool = False, tsc: int = 3) -> bytes:
    body = bytes([0x06, 0x3F, 0x00, chan_octet, (tsc << 5) | (0x10 if hopping else 0), 0x14,
                  0x12, 0x34, 0x56, 0x01, 0x00])
    f = bytes([(len(body) << 2) | 1]) + body
    return f + b"\x2b" * (23 - len(f))


def test_assignment_kinds() -> None:
    f = TrafficFollower(20, hasher=lambda k, v: k)
    f.on_ccch(L2Frame(20, 102, 0, "CCCH", _ia((0b01011 << 3) | 2)))          # SDCCH/8 sub 3 on TS2
    f.on_ccch(L2Frame(20, 102, 0, "CCCH", _ia((0b01011 << 3) | 2)))          # the same block again
    f.on_ccch(L2Frame(20, 153, 0, "CCCH", _ia((0b01000 << 3) | 1, hopping=True)))
    f.on_ccch(L2Frame(20, 204, 0, "CCCH", _ia((0b00001 << 3) | 3)))          # TCH/F: not followed
    f.on_ccch(L2Frame(20, 255, 0, "BCCH", _ia((0b01000 << 3) | 1)))          # not a CCCH block
    c = f.counts
    assert (c.assignments, c.followed, c.hopping, c.not_followed) == (3, 1, 1, 1)
    assert f.active() and f.busy()
    assert f.wanted_blocks(0, 51 * 3)[0] == (51 + 12, 2, 3)  # from one multiframe before the IA
    f.flush()
    assert not f.active()
