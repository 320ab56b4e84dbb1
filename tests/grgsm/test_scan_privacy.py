"""`scan --source grgsm:...` stores the frames gr-gsm decoded; the paged subscribers' identities in them
are pseudonymised as in the native scan (review, session 4, #12: they were stored as decoded).

gr-gsm's part is replaced by what its flowgraph printed for the shared real capture (Vodafone DE,
ARFCN 725, `real/vf262-02_a725_ts0_frames_grgsm.jsonl`), so the test needs no gr-gsm; what is under
test is fbsdetect's handling of the frames after gr-gsm."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_file

REAL_TMSI = "014FAF9A"  # a TMSI paged in the capture (gr-gsm's own frames hold it twice)


class _GrgsmFrames:
    """Stands in for `GrgsmProcess`: yields the frames gr-gsm printed for the capture."""

    def __init__(self, path: Path) -> None:
        self.path, self.arfcns, self.frames = path, [725], 0

    def __call__(self, *_a: Any, **_kw: Any) -> _GrgsmFrames:
        return self

    def __enter__(self) -> _GrgsmFrames:
        return self

    def __exit__(self, *_a: object) -> None:
        return None

    def __iter__(self) -> Iterator[Any]:
        from fbsdetect.sysinfo.dispatch import si_key
        from fbsdetect.types import L2Frame

        for line in self.path.read_text().splitlines():
            r = json.loads(line)
            d = bytes.fromhex(r["hex"])
            yield L2Frame(arfcn=725, fn=r["fn"], ts=0, channel="BCCH" if si_key(d) else "CCCH", data=d,
                          time_s=None, power_dbm=-60.0, snr_db=None)


def _scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    import fbsdetect.grgsm.scan as gs
    from fbsdetect.store import open_store
    from fbsdetect.store.sink import StoreSink

    frames = shared_file("real/vf262-02_a725_ts0_frames_grgsm.jsonl")
    rec = shared_file("refgen/pub1_single_939M_1000k.cf32")  # any recording: only its metadata is read
    monkeypatch.setattr(gs, "GrgsmProcess", _GrgsmFrames(frames))
    db = tmp_path / f"g{len(list(tmp_path.iterdir()))}.db"
    store = open_store(f"sqlite:///{db}")
    try:
        gs.run_grgsm_scan(f"grgsm:file={rec},rate=1000000,freq=939000000,format=cf32",
                          StoreSink(store, sensor="t"), profile="cn", sensor="t", software_version="test")
    finally:
        store.close()
    c = sqlite3.connect(db)
    n = c.execute("select count(*) from frame").fetchone()[0]
    hits = c.execute("select count(*) from frame where hex(data) like ?", (f"%{REAL_TMSI}%",)).fetchone()[0]
    c.close()
    return int(n), int(hits)


def test_grgsm_scan_stores_no_paged_identity_in_clear(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FBSDETECT_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("FBSDETECT_CLEAR_IDENTITIES", "1")
    n_clear, hits_clear = _scan(tmp_path, monkeypatch)
    assert n_clear > 100 and hits_clear >= 1  # control: the capture does page this TMSI
    monkeypatch.delenv("FBSDETECT_CLEAR_IDENTITIES")
    n, hits = _scan(tmp_path, monkeypatch)
    assert n == n_clear and hits == 0
