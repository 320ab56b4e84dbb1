"""Malformed LAPDm / layer-3 / SMS payloads never raise: they are counted."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fbsdetect.gsm import coding
from fbsdetect.gsm.bursts import normal_burst
from fbsdetect.l3 import lapdm, messages, sms
from fbsdetect.traffic.follower import TrafficFollower


@settings(max_examples=600, deadline=None)
@given(st.binary(min_size=0, max_size=200))
def test_parse_l3_never_raises(b: bytes) -> None:
    messages.parse_l3(b, lambda k, v: k)
    for pd in (0x05, 0x06, 0x09, 0x19, 0x03):
        messages.parse_l3(bytes([pd]) + b, lambda k, v: k)
    messages.parse_l3(bytes([0x09, 0x01]) + b)


@settings(max_examples=400, deadline=None)
@given(st.binary(min_size=0, max_size=180), st.integers(0, 255), st.booleans())
def test_sms_layers_count_or_parse(b: bytes, first: int, udhi: bool) -> None:
    for data in (b, bytes([0x09, 0x01, len(b)]) + b,
                 bytes([0x09, 0x01, len(b) + 2, 0x01, 0x00]) + b,
                 bytes([first | (0x40 if udhi else 0)]) + b):
        try:
            sms.parse_cp(data)
        except sms.SmsError:
            pass
        try:
            sms.parse_deliver(data)
        except sms.SmsError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=23, max_size=23), max_size=12), st.booleans())
def test_reassembler_never_raises(frames: list[bytes], sacch: bool) -> None:
    r = lapdm.Reassembler()
    for f in frames:
        for _, l3 in r.push(f, sacch):
            assert isinstance(messages.parse_l3(l3), messages.L3Message | str)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=23, max_size=23), min_size=1, max_size=8))
def test_follower_counts_malformed(frames: list[bytes]) -> None:
    """Random 23-octet frames correctly coded on an assigned SDCCH/8: the
    follower decodes them, counts what does not parse, never raises."""
    f = TrafficFollower(1, hasher=lambda k, v: k)
    bits = coding.xcch_encode(np.frombuffer(b"".join(frames), dtype=np.uint8).reshape(-1, 23))
    f.follow(0, 1, 1, True)
    for k in range(len(frames)):
        b = normal_burst(bits[k], 0)
        for j in range(4):
            fn = 51 * k + 4 + j
            f.on_burst(fn, 1, 2.0 * b[j].astype(np.float32) - 1.0)
    f.flush()
    assert f.counts.other["blocks_ok"] == len(frames)
