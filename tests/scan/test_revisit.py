"""Revisits: after the first sweep, a carrier the detector flags gets short dwells
(power, SCH, position) between the sweep's steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fbsdetect.geo import open_gps
from fbsdetect.scan.profile import load_profile
from fbsdetect.scan.runner import ScanRunner
from fbsdetect.scan.sink import MemorySink
from fbsdetect.sources.sim import SimSource

SMALL = Path(__file__).resolve().parents[2] / "tests" / "corpus" / "sweep" / "small.toml"


class Flags71:
    def __init__(self) -> None:
        self.seen: list[tuple[Any, Any]] = []
        self.sweeps = 0

    def observe(self, obs: Any, obs_id: Any) -> list[Any]:
        self.seen.append((obs, obs_id))
        return []

    def sweep_done(self) -> list[Any]:
        self.sweeps += 1
        return []

    def suspect_arfcns(self) -> set[int]:
        return {71}

    def close(self) -> None:
        pass


def test_suspect_is_revisited_with_power_and_position() -> None:
    src = SimSource.from_path(SMALL)
    sink = MemorySink()
    det = Flags71()
    s = ScanRunner(src, load_profile("cn"), sink, source_spec="sim", gps=open_gps(None, source=src),
                   detector=det).run()
    assert s["sweeps"] >= 1 and det.sweeps == s["sweeps"]
    rev = [o for o in sink.observations if o.kind == "revisit"]
    assert len(rev) >= 2 and all(o.obs.arfcn == 71 for o in rev)
    first_sweep_end = s["sweep_end_s"][0]
    for o in rev:
        assert o.radio_s > first_sweep_end - 0.5
        assert o.obs.power_dbm is not None and o.obs.lat is not None and o.obs.gps_mode == 3
        assert o.obs.bsic == 29 and o.obs.cid == 20074  # identity carried from the cell's dwells
    assert {t.kind for t in sink.tunings} >= {"revisit"}
    assert len({(o.obs.lat, o.obs.lon) for o in rev}) == len(rev)  # a moving receiver
    ids = [i for _o, i in det.seen]
    assert ids == sorted(ids) and len(ids) == len(sink.observations)
