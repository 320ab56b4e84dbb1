"""gr-gsm as an independent peer for the combined and non-combined TS0
mapping: bursts made by our coder and `mapping` are demapped and decoded by
gr-gsm's own blocks (gsm_bcch_ccch[_sdcch4]_demapper, control_channels_decoder),
which must return every frame on the channel and sub-channel we put it on
(including the SACCH/4 sub-channels 0/1 and 2/3 of even and odd multiframes).

gr-gsm lives in Debian's Python (/usr/bin/python3), so it runs as a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fbsdetect.gsm import bursts, coding, mapping

PEER = Path(__file__).with_name("grgsm_peer.py")
SYSTEM_PYTHON = "/usr/bin/python3"
# GSMTAP channel sub-types (libosmocore gsmtap.h) that gr-gsm writes
GSMTAP = {"BCCH": 0x01, "CCCH": 0x02, "SDCCH/4": 0x07, "SACCH/4": 0x80 | 0x07}

pytestmark = pytest.mark.external


def _have_grgsm() -> bool:
    try:
        r = subprocess.run([SYSTEM_PYTHON, "-c", "from gnuradio import gsm"], capture_output=True,
                           timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


@pytest.fixture(scope="module")
def grgsm() -> None:
    if not _have_grgsm():
        pytest.skip("gr-gsm for /usr/bin/python3 is not installed (scripts/setup --system)")


def _stream(combined: bool, n_mf: int, fn0: int, seed: int) -> tuple[list[list], set[tuple]]:
    rng = np.random.default_rng(seed)
    out: list[list] = []
    expected: set[tuple] = set()
    for fn in range(fn0, fn0 + 51 * n_mf):
        slot = mapping.ts0_channel(fn, combined)
        if slot.kind in ("FCCH", "SCH", "IDLE") or slot.burst != 0:
            continue
        frame = rng.integers(0, 256, (1, 23), dtype=np.uint8)
        b = bursts.normal_burst(coding.xcch_encode(frame)[0], tsc=2)
        # gr-gsm's GSMTAP sub-slot: the SDCCH/4 or SACCH/4 sub-channel, else the block index
        sub = slot.subchannel if slot.subchannel is not None else slot.block
        expected.add((fn, GSMTAP[slot.kind], sub, bytes(frame[0]).hex()))
        out += [[fn + i, 0, "".join(map(str, b[i]))] for i in range(4)]
    return out, expected


def _peer(stream: list[list], combined: bool) -> set[tuple]:
    r = subprocess.run([SYSTEM_PYTHON, str(PEER), "combined" if combined else "noncombined"],
                       input=json.dumps(stream), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    got = set()
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            got.add((d["fn"], d["subtype"], d["subslot"], d["hex"]))
    return got


@pytest.mark.parametrize("combined", [False, True])
def test_grgsm_demaps_and_decodes_our_bursts(grgsm: None, combined: bool) -> None:
    # 4 multiframes starting on an odd one: both halves of the SACCH/4 102-frame cycle
    stream, expected = _stream(combined, n_mf=4, fn0=51 * 1234567 % 2715648, seed=int(combined))
    got = _peer(stream, combined)
    assert len(expected) == 40
    assert got == expected
