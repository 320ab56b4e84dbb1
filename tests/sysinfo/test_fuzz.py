"""Every parser on random and mutated frames: a value or a clean outcome
(Malformed / Unsupported / L2Fill), never an exception, never a hang."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fbsdetect.sysinfo import L2Fill, Malformed, Unsupported, freqlist
from fbsdetect.sysinfo.dispatch import ALL_PARSERS, PARSERS, _parse_cached
from tests.conftest import shared_data_dir

TYPES = sorted(PARSERS)  # every message type the dispatcher decodes


def _seed_frames() -> list[bytes]:
    frames = [bytes.fromhex(h) for h in (
        "59061a8f6d181080000000000000000000000078b90000", "49061b2bd962f220013ec8070a156009b90000e81f461b",
        "31061c62f220013e6009b90000e81f732b2b2b2b2b2b2b", "010600c0005847eb4a9243406284eb2b2b2b2b2b2b2b2b",
        "01060360000000000004155010000000000aa82b2b2b2b", "05060700e046e508007e5170c1879fe259742c5e182d53",
        "5506198fe900200000000000000000000000007900002b", "550602afe85f7000000ba000000000000000007900002b",
        "1506210001f02b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b", "35063f0178b18207ec1704021fff2b2b2b2b2b2b2b2b2b",
        "050607400004870000b39600d0a02b2b2b2b2b2b2b2b2b")]
    p = shared_data_dir() / "real" / "vf262-02_a725_ts0_frames_grgsm.jsonl"
    if p.exists():
        frames += [bytes.fromhex(json.loads(x)["hex"]) for x in p.read_text().splitlines()[:60]]
    return frames


SEEDS = _seed_frames()
OUTCOMES = (Malformed, Unsupported, L2Fill)


def _check(frame: bytes) -> None:
    for parse in ALL_PARSERS:  # each parser on every frame, whatever its type
        r = parse(frame)  # must not raise
        assert r is not None
    r = _parse_cached.__wrapped__(frame)  # the dispatcher without its cache
    if isinstance(r, Malformed):
        assert "parser error" not in r.reason, r  # a parser raised: a bug


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=30))
def test_random_bytes(frame: bytes) -> None:
    _check(frame)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 22), st.integers(0, 255)), max_size=6),
       st.sampled_from([None, *TYPES]))
def test_mutated_real_frames(seed: bytes, edits: list[tuple[int, int]], mtype: int | None) -> None:
    f = bytearray(seed)
    for pos, val in edits:
        f[pos] = val
    if mtype is not None:
        f[2] = mtype
    _check(bytes(f))


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=16, max_size=16), st.sampled_from(["ccd", "ncd", "ncd2"]))
def test_freqlist_decode_never_raises_otherwise(value: bytes, kind: str) -> None:
    try:
        d = freqlist.decode(value, kind)
    except freqlist.FreqListError:
        return
    assert all(0 <= a <= 1023 for a in d.arfcns)
