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


class KindsSeen(Flags71):
    """A detector that takes the newer keywords and notes the kind it is told."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds: list[str | None] = []

    def observe(self, obs: Any, obs_id: Any, frames: Any = None, traffic: Any = None,
                kind: str | None = None) -> list[Any]:
        self.kinds.append(kind)
        return super().observe(obs, obs_id)


def test_revisit_observation_carries_the_same_fields_as_a_dwells() -> None:
    """A revisit's observation is built like a dwell's (pipeline.observations through
    receiver.carrier_observation, then the cell's state): the cell's SI, identity
    from SI3 and the same params as the cell's dwell (the scene's SI does not change),
    not only power and position; the detector is told it is a revisit."""
    from dataclasses import fields

    from fbsdetect.sysinfo.cell import CellParams
    from fbsdetect.types import CellObservation

    src = SimSource.from_path(SMALL)
    sink = MemorySink()
    det = KindsSeen()
    ScanRunner(src, load_profile("cn"), sink, source_spec="sim", gps=open_gps(None, source=src),
               detector=det).run()
    rows = sorted(sink.observations, key=lambda o: o.radio_s)
    rev = [o for o in rows if o.kind == "revisit"]
    assert len(rev) >= 2
    assert det.kinds == [o.kind for o in sink.observations]  # "dwell" / "revisit", as stored
    for o in rev:
        cell = (o.obs.arfcn, o.obs.bsic)
        dwell = [d for d in rows if d.kind == "dwell" and (d.obs.arfcn, d.obs.bsic) == cell
                 and d.radio_s < o.radio_s][-1]
        a, b = o.obs, dwell.obs
        assert "3" in a.si and a.si == b.si
        assert a.params == b.params and set(CellParams.PARAM_KEYS) <= set(a.params)
        assert a.params["ccch_conf"] is not None and a.params["bs_pa_mfrms"] is not None
        assert (a.mcc, a.mnc, a.lac, a.cid) == (b.mcc, b.mnc, b.lac, b.cid) == (460, a.mnc, a.lac, 20074)
        unset = {f.name for f in fields(CellObservation) if getattr(a, f.name) is None}
        assert unset == {f.name for f in fields(CellObservation) if getattr(b, f.name) is None}
        assert set(a.stats) == set(b.stats)


def test_live_detector_takes_the_kind_it_is_told() -> None:
    """An observation with SI that the scan stores as a revisit stays a revisit for the
    live detector (its sweep re-judgement prefers the sweep's dwell); without `kind`
    an observation without SI still counts as one."""
    from dataclasses import replace

    from fbsdetect.detect.live import Detector
    from tests.detect import support as S

    det = Detector(None, S.profile(), config={}, registry=S.registry())
    c = S.town(t=0.0)[0]
    assert c.params  # SI parameters, like every observation of a scan now
    det.observe(c, None, frames=[], kind="revisit")
    det.observe(c, None, frames=[])
    det.observe(replace(c, si={}, params={}), None)
    assert [s.kind for s in det.sweep_seen] == ["revisit", "dwell", "revisit"]
    det.close()
