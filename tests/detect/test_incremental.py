"""The incremental analysis (the server's periodic analyzer) stores exactly what a full
`analyze` stores: observations added in steps to a store of two receivers' runs (a fixed
one and a drive, the town's cells, a fake that comes and goes), each step analysed
incrementally and compared with a full analysis of a copy of the same store."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fbsdetect.detect.engine import Engine, analyze, list_detections
from fbsdetect.detect.incremental import IncrementalAnalyzer
from fbsdetect.store import open_store
from tests.detect import support as S
from tests.detect.test_engine import CHINESE, _registry_rows

SWEEP_S = 600.0  # the area window (7 200 s) spans 12 sweeps: most of the store is outside a new one's


class Receivers:
    """One open scan run per sensor, written to step by step (as a node's run grows)."""

    def __init__(self, store: Any) -> None:
        from fbsdetect.scan.sink import RunInfo
        from fbsdetect.store.sink import StoreSink

        self.sinks = {}
        for sensor in ("fixed", "drive"):
            sink = StoreSink(store, sensor=sensor)
            sink.run_started(RunInfo(source="test", profile="cn-test", sensor=sensor,
                                     start_time=datetime(2026, 3, 1, 10, tzinfo=UTC), software_version="t",
                                     learn=False))
            self.sinks[sensor] = sink

    def one(self, sensor: str, c: Any) -> None:
        self.sinks[sensor].observation(c, radio_s=0.0, tuning_id=None, kind="dwell", frames=[])
        self.sinks[sensor].flush()

    def sweep(self, k: int, *, fake: bool = True, extra: list[Any] | None = None) -> None:
        for sensor, sink in self.sinks.items():
            t = SWEEP_S * k + (0.0 if sensor == "fixed" else 7.0)
            pos = S.POS if sensor == "fixed" else (S.POS[0] + 0.0004 * (k % 9), S.POS[1] + 0.0007 * (k % 5))
            cells = [S.replace(c, sensor=sensor, lat=pos[0], lon=pos[1]) for c in S.town(t=t)]
            if fake:
                cells.append(S.replace(S.fake(t=t + 3, **CHINESE), sensor=sensor, lat=pos[0], lon=pos[1]))
            for c in extra or []:
                cells.append(S.replace(c, sensor=sensor, lat=pos[0], lon=pos[1]))
            for c in cells:
                sink.observation(c, radio_s=SWEEP_S * k, tuning_id=None, kind="dwell", frames=[])
            sink.flush()


def _content(store: Any) -> tuple[list[Any], set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """(detections without their ids, findings as (observation, rule, version, score, severity,
    evidence, detection's cell), observations' detection cells)."""
    from sqlalchemy import select

    from fbsdetect.store.models import Detection, Finding, Observation

    dets = [{k: v for k, v in d.items() if k != "id"} for d in list_detections(store)]
    with store.session() as s:
        cell = {d.id: (d.mcc, d.mnc, d.lac, d.cid, d.arfcn, d.bsic) for d in s.scalars(select(Detection))}
        finds = {(f.observation_id, f.rule_id, f.rule_version, round(f.score, 9), f.severity, f.evidence,
                  cell.get(f.detection_id)) for f in s.scalars(select(Finding))}
        members = {(o.id, cell.get(o.detection_id)) for o in s.scalars(select(Observation))
                   if o.detection_id is not None}
    return sorted(dets, key=repr), finds, members


def _full_on_copy(db: Path, tmp: Path, step: int) -> tuple[Any, ...]:
    copy = tmp / f"full-{step}.db"
    src, dst = sqlite3.connect(db), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    other = open_store(f"sqlite:///{copy}")
    try:
        analyze(other, S.profile())
        return _content(other)
    finally:
        other.close()


def _town_store(tmp_path: Path) -> tuple[Path, Any, Receivers]:
    """A SQLite store with the town's registry rows and the two receivers' open runs."""
    db = tmp_path / "fb.db"
    store = open_store(f"sqlite:///{db}")
    _registry_rows(store)
    return db, store, Receivers(store)


def test_incremental_steps_store_what_a_full_analysis_stores(tmp_path: Path) -> None:
    db, store, rx = _town_store(tmp_path)
    inc = IncrementalAnalyzer(S.profile())
    n_rules = len(Engine(S.profile()).rules)
    ghost = S.cell(99, mnc=1, lac=42101, cid=12099, bsic=14, power=-75.0, **S.CU_PARAMS)  # heard early only
    for k in range(14):
        rx.sweep(k, fake=k % 4 != 3, extra=[S.replace(ghost, time=S.t_iso(SWEEP_S * k + 1))] if k < 3 else [])
    first = inc.run(store)
    assert first.mode == "full"
    assert _content(store) == _full_on_copy(db, tmp_path, 0)
    # a clone of an old cell's CGI on another ARFCN (cgi-multi-arfcn on the old cell's observations too),
    # a new sweep, and a late upload between old sweeps (the runs' sweeps renumbered)
    # the fake's CGI on a second carrier, one the town's cells name as neighbour: the old one is the suspect
    clone = S.fake(arfcn=98, **{k: v for k, v in CHINESE.items() if k != "arfcn"})
    steps: list[Any] = [
        lambda: rx.sweep(14),
        lambda: rx.sweep(15, extra=[S.replace(clone, time=S.t_iso(SWEEP_S * 15 + 5))]),
        lambda: [rx.sweep(16, fake=False), rx.sweep(17, fake=False)],
        lambda: rx.sweep(6, extra=[S.replace(clone, time=S.t_iso(SWEEP_S * 6 + 300))]),  # late, out of order
        lambda: [rx.sweep(k) for k in range(30, 33)],  # after a gap longer than the window
        # one new cell alone, late, on a carrier of the current sweep: the run's next sweep, so the early
        # cell's share of sweeps (short-lived) changes far outside the window
        lambda: rx.one("drive", S.cell(98, mnc=1, lac=42101, cid=12077, bsic=15, power=-70.0, t=SWEEP_S * 33,
                                      **S.CU_PARAMS)),
    ]
    changed_old = False
    for i, step in enumerate(steps, start=1):
        before = _content(store)
        step()
        r = inc.run(store)
        assert r.mode == "incremental", (i, r)
        assert r.rule_runs < r.observations * n_rules, (i, r)  # not every rule on everything
        got = _content(store)
        assert got == _full_on_copy(db, tmp_path, i), f"step {i}"
        old_ids = {f[0] for f in before[1]}
        changed_old |= {f for f in got[1] if f[0] in old_ids} != {f for f in before[1] if f[0] in old_ids}
        if i == 2:  # the second carrier flags the fake's old observations on ARFCN 90 too
            assert any(f[1] == "cgi-multi-arfcn" and f[6] is not None and f[6][4] == 90 for f in got[1]
                       if f[0] in old_ids)
    assert changed_old  # new observations changed old observations' findings, and it was seen
    # nothing new: nothing loaded, no rule run, the last result kept and said so
    runs, prev = inc.rule_runs_total, inc.last
    r = inc.run(store)
    assert r.mode == "skipped" and r.rule_runs == 0 and r.evaluated == 0 and inc.rule_runs_total == runs
    assert prev is not None and (r.detections, r.analysis_id) == (prev.detections, prev.analysis_id)
    assert r.reason
    store.close()


def test_server_analyzer_is_incremental_and_full_again_when_due(tmp_path: Path) -> None:
    from fbsdetect.server.fusion import Analyzer

    db, store, rx = _town_store(tmp_path)
    for k in range(4):
        rx.sweep(k)
    a = Analyzer(store, S.profile(), 0, full_every_s=3600.0)
    assert a.run_once()["mode"] == "full"
    rx.sweep(4)
    assert a.run_once()["mode"] == "incremental"
    last = a.run_once()
    assert last["mode"] == "skipped" and last["rule_runs"] == 0
    a._last_full = (a._last_full or 0.0) - 3600.0  # an hour later: the safety net
    assert a.run_once()["mode"] == "full"
    assert _content(store) == _full_on_copy(db, tmp_path, 9)
    store.close()


def test_every_built_in_rule_has_a_reach() -> None:
    """A new rule must say what its result depends on (`incremental.REACH`); unlisted it runs on every
    observation at every interval (exact, but the analyzer no longer saves its cost)."""
    from fbsdetect.detect.incremental import REACH
    from fbsdetect.detect.rules import all_rules

    assert sorted(r.id for r in all_rules() if r.module.startswith("fbsdetect.")) == sorted(REACH)
