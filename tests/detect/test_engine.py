"""The engine on a store: observations written by the scan's StoreSink ->
analyze -> detections (contracts.md section 5), incidents, re-analysis."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fbsdetect.detect.engine import Engine, analyze, list_detections
from fbsdetect.detect.finding import Severity
from tests.detect import support as S

CHINESE = dict(arfcn=90, lac=9999, cid=1, bsic=37, power=-38.0, t3212=1, rxlev_access_min=0, cro=40,
               cell_reselect_hysteresis=7, si2quater=False, eutran_neighbours=[], gprs=False,
               offset_hz=420.0)


def _store(tmp_path: Path) -> Any:
    from fbsdetect.store import open_store

    return open_store(f"sqlite:///{tmp_path / 'fb.db'}")


def _write(store: Any, sweeps: list[list[Any]], sensor: str = "s1", learn: bool = False) -> None:
    from fbsdetect.scan.sink import RunInfo
    from fbsdetect.store.sink import StoreSink

    sink = StoreSink(store, sensor=sensor)
    sink.run_started(RunInfo(source="test", profile="cn-test", sensor=sensor,
                             start_time=datetime(2026, 3, 1, 10, tzinfo=UTC), software_version="t",
                             learn=learn))
    for k, cells in enumerate(sweeps):
        for c in cells:
            sink.observation(c, radio_s=20.0 * k, tuning_id=None, kind="dwell", frames=[])
    sink.flush()
    sink.run_ended({})


def _registry_rows(store: Any) -> None:
    from fbsdetect.store.models import RegistryCell, RegistrySource

    with store.session() as s:
        src = RegistrySource(name="test", kind="licensed")
        s.add(src)
        s.flush()
        for c, mnc in [(c, 0) for c in S.CMCC] + [(c, 1) for c in S.CU]:
            s.add(RegistryCell(source_id=src.id, radio="GSM", mcc=460, mnc=mnc, lac=c["lac"], cid=c["cid"],
                               lat=c["site"][0], lon=c["site"][1], range_m=1000.0, arfcn=c["arfcn"],
                               bsic=c["bsic"]))


def _counts(store: Any) -> tuple[int, int]:
    """(findings, detections) stored."""
    from sqlalchemy import func, select

    from fbsdetect.store.models import Detection, Finding

    with store.session() as s:
        n_find = s.scalar(select(func.count(Finding.id))) or 0
        n_det = s.scalar(select(func.count(Detection.id))) or 0
    return int(n_find), int(n_det)


def _sweeps(n: int, fake: dict[str, Any] | None, clean: bool = False) -> list[list[Any]]:
    out = []
    for k in range(n):
        cells = S.town(t=20.0 * k)
        if fake is not None:
            cells.append(S.fake(t=20.0 * k + 3, **fake))
        out.append(cells)
    return out


def test_chinese_pattern_is_one_high_detection(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _registry_rows(store)
    _write(store, _sweeps(3, CHINESE))
    summary = analyze(store, S.profile())
    assert summary.observations == 3 * 7 and summary.analysis_id is not None
    assert summary.rule_errors == {}
    dets = list_detections(store)
    assert len(dets) >= 1
    d = dets[0]
    assert d["cell"] == {"arfcn": 90, "bsic": 37, "mcc": 460, "mnc": 0, "lac": 9999, "cid": 1}
    assert d["severity"] == "high", d
    assert d["observations"] == 3 and d["sensors"] == ["s1"] and d["position"] is None
    ids = {r["id"] for r in d["rules"]}
    assert {"unknown-cell", "si2quater-absent", "t3212-low", "rxlev-access-min-low",
            "reselect-offset-high", "freq-offset-outlier"} <= ids
    assert all(r["version"] >= 1 and r["evidence"] for r in d["rules"])
    # legitimate cells stay below medium
    assert all(x["severity"] == "low" for x in dets[1:]), dets[1:]


def test_reanalysis_replaces_and_records_versions(tmp_path: Path) -> None:
    from sqlalchemy import select

    from fbsdetect.store.models import AnalysisRun

    store = _store(tmp_path)
    _registry_rows(store)
    _write(store, _sweeps(2, CHINESE))
    analyze(store, S.profile())
    n_find, n_det = _counts(store)
    analyze(store, S.profile())
    assert _counts(store) == (n_find, n_det)
    with store.session() as s:
        runs = list(s.scalars(select(AnalysisRun)))
        assert len(runs) == 2 and runs[-1].rule_versions and runs[-1].rule_versions["unknown-cell"] == 1


def test_clean_town_no_detection_at_medium(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _registry_rows(store)
    _write(store, _sweeps(3, None))
    analyze(store, S.profile())
    assert list_detections(store, min_severity="medium") == []


def test_incident_spans_sensors_and_runs(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _registry_rows(store)
    _write(store, _sweeps(2, CHINESE), sensor="s1")
    _write(store, _sweeps(2, CHINESE), sensor="s2")
    analyze(store, S.profile())
    d = list_detections(store, min_severity="medium")
    assert len(d) == 1 and d[0]["sensors"] == ["s1", "s2"] and d[0]["observations"] == 4


def test_unknown_cell_alone_is_low() -> None:
    eng = Engine(S.profile(), registry=S.registry())
    from fbsdetect.detect.context import Seen

    town = [Seen.of(c) for c in S.town()]
    new = Seen.of(S.fake(cid=41777, arfcn=60))  # a new legitimate site: in no registry, otherwise ordinary
    for s in [*town, new]:
        eng.add(s)
    fs = eng.evaluate(new)
    assert {f.rule_id for f in fs} >= {"unknown-cell"}
    sc = eng.score(fs)
    assert sc.severity <= Severity.LOW, (sc, [f.evidence for f in fs])


def test_disabled_rules_and_weights_from_profile() -> None:
    p = S.profile()
    p.detect = {"disabled": ["unknown-cell"], "weights": {"t3212-low": 0.9}}
    eng = Engine(p)
    assert "unknown-cell" not in eng.weights and eng.weights["t3212-low"] == 0.9
    p.detect = {"disabled": ["no-such-rule"]}
    with pytest.raises(ValueError, match="no-such-rule"):
        Engine(p)


def test_paging_from_stored_ccch_frames(tmp_path: Path) -> None:
    """Paging statistics come from the observation's stored CCCH frames."""
    from fbsdetect.scan.sink import RunInfo
    from fbsdetect.store.sink import StoreSink
    from fbsdetect.sysinfo.paging import MobileIdentity, build_p1
    from fbsdetect.types import L2Frame

    def frames(n_pages: int, imsi: bool) -> list[L2Frame]:
        ident = MobileIdentity("imsi", "460001234567890") if imsi else MobileIdentity("tmsi", "0badcafe")
        p = build_p1([ident])
        # 8 s of CCCH: 1734 TDMA frames; pages spread over it
        return [L2Frame(90, 6 + k * (1734 // max(1, n_pages)), 0, "CCCH", p) for k in range(n_pages)] + \
            [L2Frame(90, 1740, 0, "CCCH", build_p1([MobileIdentity("none")]))]

    store = _store(tmp_path)
    _registry_rows(store)
    sink = StoreSink(store, sensor="s1")
    sink.run_started(RunInfo(source="test", profile="cn-test", sensor="s1",
                             start_time=datetime(2026, 3, 1, 10, tzinfo=UTC), software_version="t"))
    for c in S.town():
        sink.observation(c, radio_s=0.0, tuning_id=None, kind="dwell", frames=frames(8, False))
    f = S.fake(lac=10290, cid=41099)
    sink.observation(f, radio_s=0.0, tuning_id=None, kind="dwell", frames=frames(80, True))
    sink.flush()
    sink.run_ended({})
    analyze(store, S.profile())
    d = [x for x in list_detections(store) if x["cell"]["cid"] == 41099]
    ids = {r["id"] for r in d[0]["rules"]}
    assert {"paging-rate", "paging-imsi-share"} <= ids, d


def test_lte_rise_is_against_the_bands_own_quiet_floor() -> None:
    from types import SimpleNamespace

    from fbsdetect.detect.engine import lte_samples

    def t(radio_s: float, floor: float, f: float = 881.5e6, run: int = 1) -> Any:
        return SimpleNamespace(kind="lte", noise_floor_db=floor, center_freq_hz=f, radio_s=radio_s,
                               run_id=run, time=None, band="B5")

    # a jammer switching on: quiet, then 20 dB up
    s = lte_samples([t(1, -70.0), t(5, -50.0)])
    assert s[0].rise_db is None and s[1].rise_db == 20.0
    # a carrier there from the first look: never quiet, no rise
    assert all(x.rise_db in (None, 0.0) for x in lte_samples([t(1, -50.0), t(5, -50.0)]))
    # a learn run saw the band quiet
    assert lte_samples([t(1, -50.0)], quiet={8815: -70.0})[0].rise_db == 20.0


def test_two_analyses_at_once_on_postgresql_store_each_finding_once(pg_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Review (session 4) #13: two analyses persisting at the same time (a server's periodic analyzer and
    a worker's, `analyze` beside a live detector) each deleted only the findings they saw and inserted
    their own: every finding twice. Both persists are made to start together here."""
    import threading

    from fbsdetect.detect import engine as E
    from fbsdetect.store import open_store

    store = open_store(pg_url)
    try:
        _registry_rows(store)
        _write(store, _sweeps(3, CHINESE))
        analyze(store, S.profile())
        n_find, n_det = _counts(store)
        assert n_find and n_det
        together = threading.Barrier(2, timeout=60)
        real = E.persist

        def persist_together(*a: Any, **kw: Any) -> int:
            together.wait()
            return real(*a, **kw)

        monkeypatch.setattr(E, "persist", persist_together)
        errors: list[BaseException] = []

        def one() -> None:
            try:
                analyze(store, S.profile())
            except BaseException as e:
                errors.append(e)

        for _round in range(3):

            threads = [threading.Thread(target=one) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            assert not errors, errors
            assert _counts(store) == (n_find, n_det)
    finally:
        store.close()


def test_a_reanalysis_of_unchanged_data_writes_nothing(tmp_path: Path) -> None:
    """Review (session 4) #17: every analysis deleted and re-inserted every finding and set every
    observation's detection to NULL and back: ~2.4 audit entries per observation per analysis, whatever
    changed. Unchanged findings and detections now stay as they are; a change still shows."""
    from sqlalchemy import func, select

    from fbsdetect.store.models import AuditEntry, Finding

    store = _store(tmp_path)
    _registry_rows(store)
    _write(store, _sweeps(3, CHINESE))
    analyze(store, S.profile())
    with store.session() as s:
        n_audit = s.scalar(select(func.count(AuditEntry.seq)))
        ids = sorted(s.scalars(select(Finding.id)))
    before = list_detections(store)
    analyze(store, S.profile())
    with store.session() as s:
        assert sorted(s.scalars(select(Finding.id))) == ids  # the same rows, not copies
        grown = s.scalar(select(func.count(AuditEntry.seq))) - n_audit
    assert list_detections(store) == before
    assert grown <= len(before), grown  # at most the detections' own refresh, not one per observation
    # new data: the analysis adds what it finds and keeps the rest
    _write(store, _sweeps(1, CHINESE))
    analyze(store, S.profile())
    with store.session() as s:
        assert set(ids) < set(s.scalars(select(Finding.id)))
