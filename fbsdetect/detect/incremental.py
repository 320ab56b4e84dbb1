"""Incremental re-analysis of a growing store (the server's periodic analyzer).

`IncrementalAnalyzer.run(store)` gives the same stored findings and detections as
`engine.analyze(store, profile)` (a full analysis), evaluating only what new
observations can change:

- nothing changed since the last run (observation count and highest id, the
  registry's, the tunings' and the frames' counts): nothing is loaded or run
  (`mode = "skipped"`);
- else the whole store is loaded as the rules' world (as `analyze` does: ~85 us an
  observation, against ~7 ms evaluating one), the observations that are new or whose
  inputs changed (frames, traffic, sweep number: a fingerprint of each `Seen`) are
  found, and each rule runs only on the observations whose result it can change
  (`REACH`, below); the other findings come from the last run's, kept in memory for
  every observation (also those too weak to be stored: an incident below `low` stores
  nothing, yet adds up once more evidence arrives). The incidents of every suspect
  touched are rebuilt from all their observations and persisted with that scope;
- a full analysis (and a new memory) when anything else changed: the registry (or the
  part of it the observed area selects), learn runs (the baseline), LTE tunings, an
  observation removed or without a time, a rule of unknown reach; and at the first run.

What a rule's result on observation `o` can depend on (read from context.py and the
rules), and so which observations a changed observation `n` re-evaluates:
- "window": other observations within the area window (`area_window_s`, nearest per
  cell, same CGI/CID elsewhere), its sweep (same run, sensor and sweep number), its
  own looks within 60 s, the receiver's path within 30 s, LTE samples within 300 s:
  every `o` within `max(area_window_s, 300 s)` of `n` or of a sweep-mate of `n`; and
  when `n` precedes its cell's first observation or is its cell's first one carrying SI
  parameters (`World.nearest_in_time` prefers those; `by_key` order), every `o` within
  that window of any observation of that cell;
- "key": "window" plus the cell's whole history (paging and traffic summed over all
  of it, the cell's first appearance): when `n` carries paging, traffic or SMS, or
  precedes its cell's first observation, every observation of that cell and every `o`
  within the window of one (peers' paging);
- "run" (`short-lived`: the sweeps of the receiver's whole run and the last
  observation of every cell; `moving-transmitter`: the run's whole history of the cell
  and of the cells around it): every observation of a (run, sensor) `n` belongs to,
  of the runs that held the previous last observation of `n`'s cell, and within the
  window of an observation of `n`'s (cell, run, sensor). These two are memoised:
  `short-lived` is a function of (cell, run, sensor), `moving-transmitter` of those
  and the cells around (`MEMO`), so each distinct case runs once.
A rule outside `REACH` (a plug-in) runs on every observation.
"""

from __future__ import annotations

import bisect
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fbsdetect.detect.context import CellKey, RuleContext, Seen
from fbsdetect.detect.engine import Engine, Incident, load_registry, load_seen, persist
from fbsdetect.detect.finding import Finding

KEY_RULES = ("paging-rate", "paging-imsi-share", "assignments-without-paging", "imsi-request-then-reject",
             "no-auth-before-accept", "sms-unciphered", "spoofed-sender", "cgi-multi-arfcn", "lac-changed")
RUN_RULES = ("short-lived", "moving-transmitter")
WINDOW_RULES = (
    "arfcn-bsic-collision", "arfcn-bsic-mismatch", "arfcn-outside-allocation", "ba-list-empty",
    "ba-list-not-heard", "cell-far-from-registered", "freq-offset-changed", "freq-offset-outlier",
    "gprs-absent", "lac-single-cell", "lac-unknown", "lte-jamming-new-cell", "ms-txpwr-max-outlier",
    "ncc-not-operator",
    "not-in-neighbour-ba", "paging-group-outlier", "param-vector-outlier", "plmn-not-here",
    "power-above-pathloss", "power-jump-baseline", "reselect-hysteresis-outlier", "reselect-offset-high",
    "rxlev-access-min-low", "si-announced-missing", "si2quater-absent", "si2ter-absent",
    "strong-unknown-cell", "t3212-low", "unknown-cell")
REACH: dict[str, str] = {**{r: "window" for r in WINDOW_RULES}, **{r: "key" for r in KEY_RULES},
                         **{r: "run" for r in RUN_RULES}}

LOOK_S = 300.0  # the longest fixed window a rule looks through (LTE samples; looks 60 s, path 30 s)


def _memo_short_lived(s: Seen, ctx: RuleContext) -> Any:
    return (s.key, s.run_id, s.obs.sensor)


def _memo_moving(s: Seen, ctx: RuleContext) -> Any:
    return (s.key, s.run_id, s.obs.sensor, s.obs.power_ref, s.obs.freq_hz,
            tuple((a.key, a.run_id, a.obs.sensor, a.obs.power_ref, a.obs.freq_hz) for a in ctx.area))


MEMO: dict[str, Callable[[Seen, RuleContext], Any]] = {"short-lived": _memo_short_lived,
                                                       "moving-transmitter": _memo_moving}


def _fingerprint(s: Seen) -> int:
    """Everything a rule can read of one observation (its row, frames, traffic, sweep)."""
    return hash(repr((s.obs, s.t_s, s.run_id, s.tuning_id, s.sweep, s.paging, s.learn, s.kind, s.bcch_tc,
                      s.traffic, s.sms)))


def store_signature(store: Any) -> tuple[Any, ...]:
    """Cheap counts that change when anything the analysis reads is added or removed."""
    from sqlalchemy import func, select

    from fbsdetect.store.models import (
        FrameRow,
        Observation,
        RegistryCell,
        RegistrySource,
        ScanRun,
        SmsRow,
        TrafficRow,
        Tuning,
    )

    with store.session() as ses:
        out: list[Any] = []
        # the observations first, the registry's part next (`_plan` compares it)
        for col in (Observation.id, RegistryCell.id, RegistrySource.id, Tuning.id, FrameRow.id, SmsRow.id,
                    TrafficRow.id, ScanRun.id):
            out.extend(ses.execute(select(func.count(col), func.max(col))).one())
        out.append(ses.scalar(select(func.max(RegistrySource.imported_at))))
        out.append(ses.scalar(select(func.count(ScanRun.id)).where(ScanRun.learn.is_(True))))
    return tuple(out)


def _registry_part(sig: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    return None if sig is None else (*sig[2:6], sig[-2])


@dataclass
class _Memory:
    """What the last analysis left, per observation id: its fingerprint, its sweep
    (run, sensor, sweep number), its cell, and every finding of every rule."""

    rule_versions: dict[str, int]
    fingerprint: dict[int, int] = field(default_factory=dict)
    sweep: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    findings: dict[int, list[Finding]] = field(default_factory=dict)
    registry_size: int | None = None
    lte: tuple[Any, ...] = ()


@dataclass
class RunSummary:
    mode: str  # "full" | "incremental" | "skipped"
    analysis_id: int | None
    observations: int  # in the store
    changed: int  # new or changed observations found
    evaluated: int  # observations at least one rule ran on
    rule_runs: int  # rule evaluations
    detections: int
    by_severity: dict[str, int]
    rule_errors: dict[str, int]
    seconds: float
    reason: str = ""


class IncrementalAnalyzer:
    """Keeps the last analysis in memory and analyses what changed since (see the module)."""

    def __init__(self, profile: Any = None, *, config: Mapping[str, Any] | None = None) -> None:
        self.profile = profile
        self.config = config
        self.memory: _Memory | None = None
        self.signature: tuple[Any, ...] | None = None
        self.rule_runs_total = 0
        self.last: RunSummary | None = None

    def run(self, store: Any, *, full: bool = False) -> RunSummary:
        t0 = _time.monotonic()
        sig = store_signature(store)
        if not full and self.memory is not None and sig == self.signature and self.last is not None:
            self.last = RunSummary("skipped", self.last.analysis_id, self.last.observations, 0, 0, 0,
                                   self.last.detections, dict(self.last.by_severity), {},
                                   round(_time.monotonic() - t0, 3), "no change since the last analysis")
            return self.last
        started = datetime.now(UTC)
        seen, lte = load_seen(store)
        registry = load_registry(store, seen)
        from fbsdetect.detect.baseline import Baseline

        baseline = Baseline.from_store(store)
        eng = Engine(self.profile, registry=registry, baseline=baseline, config=self.config)
        for s in seen:
            eng.add(s)
        for x in lte:
            eng.world.add_lte(x)
        reason = "" if not full else "asked"
        plan = None if full else self._plan(eng, seen, lte, registry)
        if plan is not None and not isinstance(plan, str) and _registry_part(sig) != _registry_part(
                self.signature):
            plan = "the registry changed"
        if isinstance(plan, str):
            reason, plan = plan, None
        if plan is None:
            summary = self._full(store, eng, seen, lte, registry, started, reason or "first analysis")
        else:
            summary = self._incremental(store, eng, seen, plan, started)
        self.signature = sig
        summary.seconds = round(_time.monotonic() - t0, 3)
        self.last = summary
        return summary

    # ---------------------------------------------------------------- full
    def _full(self, store: Any, eng: Engine, seen: list[Seen], lte: list[Any], registry: Any,
              started: datetime, reason: str) -> RunSummary:
        mem = _Memory(eng.rule_versions, registry_size=None if registry is None else len(registry),
                      lte=tuple(lte))
        results = []
        for s in seen:
            fs = eng.evaluate(s)
            results.append((s, fs))
            assert s.obs_id is not None
            mem.fingerprint[s.obs_id] = _fingerprint(s)
            mem.sweep[s.obs_id] = (s.run_id, s.obs.sensor, s.sweep)
            mem.findings[s.obs_id] = fs
        incidents = eng.incidents(results)
        persist(store, eng, incidents, [s.obs_id for s in seen if s.obs_id is not None])
        self.memory = mem
        n = len(seen) * len(eng.rules)
        self.rule_runs_total += n
        return self._summary(store, eng, "full", len(seen), len(seen), len(seen), n, started, reason)

    # ---------------------------------------------------------------- planning
    def _plan(self, eng: Engine, seen: list[Seen], lte: list[Any], registry: Any) -> dict[str, Any] | str:
        """What changed and which observations each rule re-runs on; a reason string when
        only a full analysis is exact."""
        mem = self.memory
        if mem is None:
            return "first analysis"
        if mem.rule_versions != eng.rule_versions:
            return "rule versions changed"
        if (None if registry is None else len(registry)) != mem.registry_size:
            return "the registry (or the part of it the observed area selects) changed"
        if tuple(lte) != mem.lte:
            return "LTE tunings changed"
        ids = {s.obs_id for s in seen}
        if any(i not in ids for i in mem.fingerprint):
            return "observations were removed"
        if any(s.t_s is None or s.obs_id is None for s in seen):
            return "an observation without a time"
        changed = [s for s in seen if mem.fingerprint.get(s.obs_id) != _fingerprint(s)]  # type: ignore[arg-type]
        if any(s.learn for s in changed):
            return "learn-run observations changed (the baseline)"
        return {"changed": changed}

    def _incremental(self, store: Any, eng: Engine, seen: list[Seen], plan: dict[str, Any],
                     started: datetime) -> RunSummary:
        mem = self.memory
        assert mem is not None
        world = eng.world
        changed: list[Seen] = plan["changed"]
        changed_ids = {s.obs_id for s in changed}
        win = max(float(world.area_window_s), LOOK_S)
        times = [s.t_s or 0.0 for s in seen]  # seen is in time order (assign_sweeps)
        by_sweep_new: dict[tuple[Any, ...], list[Seen]] = {}
        by_sweep_old: dict[tuple[Any, ...], list[int]] = {}
        by_run: dict[tuple[Any, ...], list[Seen]] = {}
        by_group: dict[tuple[Any, ...], list[Seen]] = {}
        for s in seen:
            by_sweep_new.setdefault((s.run_id, s.obs.sensor, s.sweep), []).append(s)
            by_run.setdefault((s.run_id, s.obs.sensor), []).append(s)
            by_group.setdefault((s.key, s.run_id, s.obs.sensor), []).append(s)
        for oid, sw in mem.sweep.items():
            by_sweep_old.setdefault(sw, []).append(oid)
        id_of = {s.obs_id: s for s in seen}

        def window(centres: Iterable[float]) -> set[int]:
            """Ids of the observations within `win` of any of the times."""
            spans = sorted((t - win, t + win) for t in centres)
            merged: list[list[float]] = []
            for a, b in spans:
                if merged and a <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], b)
                else:
                    merged.append([a, b])
            out: set[int] = set()
            for a, b in merged:
                i, j = bisect.bisect_left(times, a), bisect.bisect_right(times, b)
                out.update(seen[k].obs_id for k in range(i, j))  # type: ignore[misc]
            return out

        def old_of(lst: Sequence[Seen]) -> list[Seen]:
            return [x for x in lst if x.obs_id not in changed_ids]

        # window: the changed observations, their sweep-mates now and before
        centres: list[Seen] = list(changed)
        for s in changed:
            centres.extend(by_sweep_new.get((s.run_id, s.obs.sensor, s.sweep), []))
            old = mem.sweep.get(s.obs_id)  # type: ignore[arg-type]
            if old is not None:
                centres.extend(id_of[i] for i in by_sweep_old.get(old, []) if i in id_of)
        whole_window: set[CellKey] = set()  # cells whose every observation's window counts
        whole_key: set[CellKey] = set()  # cells whose every observation re-runs (history)
        for s in changed:
            hist = world.by_key.get(s.key, [])
            before = old_of(hist)
            if before and (s.t_s or 0.0, s.obs_id or 0) < (before[0].t_s or 0.0, before[0].obs_id or 0):
                whole_window.add(s.key)
                whole_key.add(s.key)
            if s.obs.params and before and not any(x.obs.params for x in before):
                whole_window.add(s.key)
            if s.paging is not None or s.traffic or s.sms:
                whole_window.add(s.key)
                whole_key.add(s.key)
        key_centres = [x.t_s or 0.0 for k in whole_window for x in world.by_key.get(k, [])]
        e_window = window([x.t_s or 0.0 for x in centres] + key_centres) | changed_ids
        e_key = set(e_window)
        for k in whole_key:
            e_key.update(x.obs_id for x in world.by_key.get(k, []))
        # run: the changed observations' runs, the runs of their cells' previous last observations,
        # and the window around their (cell, run, sensor)
        runs: set[tuple[Any, ...]] = set()
        groups: set[tuple[Any, ...]] = set()
        for s in changed:
            runs.add((s.run_id, s.obs.sensor))
            groups.add((s.key, s.run_id, s.obs.sensor))
            before = old_of(world.by_key.get(s.key, []))
            if before:
                runs.add((before[-1].run_id, before[-1].obs.sensor))
        e_run = set(e_key)
        for run in runs:
            e_run.update(x.obs_id for x in by_run.get(run, []))
        e_run |= window(x.t_s or 0.0 for g in groups for x in by_group.get(g, []))
        reach_sets = {"window": e_window, "key": e_key, "run": e_run}
        everything = {s.obs_id for s in seen}

        # evaluate: each observation the rules that can change there; the others' findings as they were
        new_find: dict[int, list[Finding]] = {}
        memo: dict[tuple[str, Any], Finding | None] = {}
        rule_runs = 0
        evaluated = 0
        order = {r.id: i for i, r in enumerate(eng.rules)}
        for s in seen:
            sid = s.obs_id
            assert sid is not None
            todo = [r for r in eng.rules if sid in reach_sets.get(REACH.get(r.id, ""), everything)]
            if not todo:
                continue
            evaluated += 1
            ctx = eng.context(s)
            ids = {r.id for r in todo}
            keep = [f for f in mem.findings.get(sid, []) if f.rule_id not in ids]
            fresh: list[Finding] = []
            for r in todo:
                mk = MEMO.get(r.id)
                key = (r.id, mk(s, ctx)) if mk is not None else None
                if key is not None and key in memo:
                    f = memo[key]
                else:
                    rule_runs += 1
                    f = eng.run_rule(r, s, ctx)
                    if key is not None:
                        memo[key] = f
                if f is not None:
                    fresh.append(f)
            new_find[sid] = sorted([*keep, *fresh], key=lambda f: order.get(f.rule_id, 0))
        # the suspects whose findings may have changed, rebuilt from all their observations
        keys = {id_of[i].key for i in new_find}
        results = []
        scope = []
        for s in seen:
            if s.key in keys:
                assert s.obs_id is not None
                results.append((s, new_find.get(s.obs_id, mem.findings.get(s.obs_id, []))))
                scope.append(s.obs_id)
        incidents: list[Incident] = eng.incidents(results)
        persist(store, eng, incidents, scope)
        for s in changed:
            assert s.obs_id is not None
            mem.fingerprint[s.obs_id] = _fingerprint(s)
        for s in seen:
            assert s.obs_id is not None
            mem.sweep[s.obs_id] = (s.run_id, s.obs.sensor, s.sweep)
        mem.findings.update(new_find)
        self.rule_runs_total += rule_runs
        return self._summary(store, eng, "incremental", len(seen), len(changed), evaluated, rule_runs,
                             started, "")

    # ---------------------------------------------------------------- summary
    def _summary(self, store: Any, eng: Engine, mode: str, n_obs: int, changed: int, evaluated: int,
                 rule_runs: int, started: datetime, reason: str) -> RunSummary:
        from sqlalchemy import func, select

        from fbsdetect.store.models import AnalysisRun, Detection

        with store.session() as ses:
            sev = {str(k): int(v) for k, v in ses.execute(
                select(Detection.severity, func.count(Detection.id)).group_by(Detection.severity))}
            n_det = sum(sev.values())
            ar = AnalysisRun(started_at=started, ended_at=datetime.now(UTC), rule_versions=eng.rule_versions,
                             observations=evaluated, detections=n_det)
            ses.add(ar)
            ses.flush()
            aid = ar.id
        return RunSummary(mode, aid, n_obs, changed, evaluated, rule_runs, n_det, sev, dict(eng.errors), 0.0,
                          reason)
