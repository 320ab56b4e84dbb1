"""Issue 17 / review #11: `decode-bursts` prints no subscriber identity in clear.

A real capture (Vodafone 262-02, ARFCN 725, in ../shared/data) pages real
phones; its bursts decoded by `decode-bursts` (timeslot 0 and the followed
SDCCH/8) must carry neither the paged TMSIs/IMSIs nor the TMSI a phone echoes
in the UA of its Paging Response. The identities searched for are read from
gr-gsm's own frames of the same capture (an independent decoder), and a
control run with FBSDETECT_CLEAR_IDENTITIES=1 must show them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import shared_file

BURSTS = "real/vf262-02_a725_all_ts_bursts.jsonl"
GRGSM = "real/vf262-02_a725_ts0_frames_grgsm.jsonl"
UA_ECHO_TMSI = "015c5703"  # the Paging Response echoed in the UA on SDCCH/8 at fn 862261


def _identities() -> set[str]:
    from fbsdetect.sysinfo.paging import PagingRequest, parse

    out = {UA_ECHO_TMSI}
    for line in shared_file(GRGSM).read_text(encoding="utf-8").splitlines():
        m = parse(bytes.fromhex(json.loads(line)["hex"]))
        if isinstance(m, PagingRequest):
            out |= {i.value.lower() for i in m.identities if i.kind in ("tmsi", "imsi") and i.value}
    return {v for v in out if v != "ffffffff"}


def _run(tmp_key: str, clear: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FBSDETECT_")}
    env["FBSDETECT_KEY_FILE"] = tmp_key
    if clear:
        env["FBSDETECT_CLEAR_IDENTITIES"] = "1"
    r = subprocess.run([sys.executable, "-m", "fbsdetect", "decode-bursts", str(shared_file(BURSTS))],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def _in(hexes: list[str], ident: str) -> bool:
    """An identity in a frame's hex: a TMSI as its 8 hex digits, an IMSI as its BCD octets."""
    if len(ident) == 8:  # a TMSI (IMSIs have 14-15 digits)
        needle = ident
    else:
        from tests.privacy.test_identities import _imsi_octets

        needle = _imsi_octets(ident).hex()
    return any(needle in h for h in hexes)


def test_decode_bursts_pseudonymises_paged_and_echoed_identities(tmp_path: Path) -> None:
    ids = _identities()
    assert len(ids) > 30, ids
    key = str(tmp_path / "identity.key")
    mine = _run(key, clear=False)
    theirs = _run(key, clear=True)
    got = [json.loads(x)["hex"] for x in mine.stdout.splitlines()]
    clear = [json.loads(x)["hex"] for x in theirs.stdout.splitlines()]
    assert len(got) == len(clear) > 290
    leaked = sorted(i for i in ids if _in(got, i))
    assert not leaked, f"{len(leaked)} identities in clear, e.g. {leaked[:5]}"
    # the control: as received, the same frames carry them (the search is not vacuous)
    shown = [i for i in ids if _in(clear, i)]
    assert len(shown) > 30 and _in(clear, UA_ECHO_TMSI)
    assert "pseudonyms" in mine.stderr and "pseudonyms" not in theirs.stderr
