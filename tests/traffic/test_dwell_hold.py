"""Review #3: which conversations hold a scan dwell past its cap (`ReceiverTraffic.busy`). Those going on
when the dwell would end hold it until ciphered or ended; one begun later (a busy legitimate cell starts
new ones all the time, each in clear until its Ciphering Mode Command) holds it until authenticated, then
only once it says in clear what a ciphering network does not (an IMSI asked, an LU Reject, an SMS, too
many messages)."""

from __future__ import annotations

from typing import Any

from fbsdetect.traffic.follower import PRE_CIPHER_MSGS, TrafficFollower, _Conversation
from fbsdetect.traffic.receiver import ReceiverTraffic


def _conv(ts: int) -> _Conversation:
    return _Conversation(ts=ts, sub=0, eight=True, start_fn=0, dec=None)  # type: ignore[arg-type]


def _setup() -> tuple[ReceiverTraffic, Any, TrafficFollower]:
    rt = ReceiverTraffic(keep_ccch=False)
    track = object()
    f = TrafficFollower(20, follow_ciphered=False)
    rt._by_track[id(track)] = f
    return rt, track, f


def test_a_conversation_going_on_at_the_cap_holds_until_ciphered() -> None:
    rt, track, f = _setup()
    a = f._conv[(1, 0)] = _conv(1)
    assert rt.busy(track)
    a.ciphered_at = 100
    assert not rt.busy(track)


def test_a_legit_conversation_begun_after_the_cap_does_not_hold_the_dwell() -> None:
    rt, track, f = _setup()
    assert not rt.busy(track)  # nothing going on when the dwell would end
    b = f._conv[(2, 0)] = _conv(2)  # a new conversation: the phone's request echoed in the UA
    assert rt.busy(track)  # not authenticated yet: an SMS blaster would deliver now
    b.auth, b.n_msgs = True, 2  # Authentication Request: a network that will cipher
    assert not rt.busy(track)
    b.imsi_asked = True  # an IMSI asked in clear: worth listening to
    assert rt.busy(track)


def test_signs_in_clear_make_a_later_conversation_hold() -> None:
    rt, track, f = _setup()
    assert not rt.busy(track)
    c = f._conv[(3, 0)] = _conv(3)
    c.auth = True
    for _ in range(PRE_CIPHER_MSGS + 1):
        assert not rt.busy(track)
        f._message(c, _Blk(), 0, bytes([0x05, 0x18, 0x02]))  # MM Identity Request (IMEI), in clear
    assert c.clear_sign and rt.busy(track) and f.counts.identity_requests["imei"] == PRE_CIPHER_MSGS + 1


class _Blk:
    fn = 500
    ts = 3
    subchannel = 0
    channel = "SDCCH/8"
