"""From observations to detections: context -> rules -> findings -> incidents.

`Engine` is the in-memory part shared by `analyze` (over the store) and the
scan's live `Detector`: it keeps the `World` of observations, runs the
enabled rules on one observation (`evaluate`), scores findings
(`score.combine`) and groups the findings of one suspect - one identity
`mcc, mnc, lac, cid, arfcn, bsic`, over time and sensors - into an
`Incident` (one `Detection` row: first/last seen, counts, sensors, the best
finding of every rule with its version).

On the store:
- `analyze(store, profile, run_id=None)` re-runs the current rules over the
  stored observations (all, or one scan run), replaces their findings,
  merges the incidents into `detection` rows (a suspect seen in several runs
  stays one detection) and records an `AnalysisRun` with the rule versions;
- `list_detections(store, min_severity=None)` gives the detections as
  contracts.md section 5 objects.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from fbsdetect.detect.baseline import Baseline
from fbsdetect.detect.context import (
    CellKey,
    LteSample,
    PagingStats,
    RegistryView,
    RuleContext,
    Seen,
    World,
    tc_counts,
    unix_to_iso,
)
from fbsdetect.detect.finding import Finding, Severity
from fbsdetect.detect.rules import Rule, all_rules, detect_table, select_rules
from fbsdetect.detect.score import Score, combine

FRAME_S = 120e-3 / 26  # one TDMA frame


@dataclass
class Incident:
    """One suspect's observations and findings."""

    key: CellKey
    seen: list[Seen] = field(default_factory=list)
    findings: list[tuple[Seen, Finding]] = field(default_factory=list)
    score: Score | None = None

    def best(self) -> dict[str, Finding]:
        """The strongest finding of every rule."""
        out: dict[str, Finding] = {}
        for _, f in self.findings:
            if f.rule_id not in out or f.score > out[f.rule_id].score:
                out[f.rule_id] = f
        return out

    @property
    def first_seen(self) -> float | None:
        ts = [s.t_s for s in self.seen if s.t_s is not None]
        return min(ts) if ts else None

    @property
    def last_seen(self) -> float | None:
        ts = [s.t_s for s in self.seen if s.t_s is not None]
        return max(ts) if ts else None

    @property
    def sensors(self) -> list[str]:
        return sorted({s.obs.sensor for s in self.seen if s.obs.sensor})


def rules_json(best: Mapping[str, Finding], weights: Mapping[str, float]) -> list[dict[str, Any]]:
    """The `rules` list of a detection, strongest contribution first."""
    titles = {r.id: r.title for r in all_rules()}
    items = sorted(best.values(), key=lambda f: (-weights.get(f.rule_id, 0.0) * f.score, f.rule_id))
    return [{"id": f.rule_id, "version": f.version, "title": titles.get(f.rule_id, f.rule_id),
             "score": f.score, "evidence": f.evidence, "family": f.family,
             **({"evidence_i18n": f.i18n} if f.i18n is not None else {})} for f in items]


class Engine:
    """Rules over a growing world of observations (no I/O)."""

    def __init__(self, profile: Any = None, *, registry: RegistryView | None = None,
                 baseline: Baseline | None = None, config: Mapping[str, Any] | None = None,
                 world: World | None = None) -> None:
        self.profile = profile
        self.table = detect_table(profile, config)
        self.rules: list[Rule] = select_rules(profile, config)
        self.weights = {r.id: r.weight for r in self.rules}
        self.registry = registry
        self.baseline = baseline
        self.world = world or World(
            area_radius_m=float(self.table.get("area_radius_m", 10_000.0)),
            area_window_s=float(self.table.get("area_window_s", 7200.0)),
            sweep_window_s=float(self.table.get("sweep_window_s", 120.0)))
        self.errors: dict[str, int] = {}
        self.last_error: str | None = None

    @property
    def rule_versions(self) -> dict[str, int]:
        return {r.id: r.version for r in self.rules}

    def add(self, s: Seen) -> None:
        self.world.add(s)

    def context(self, s: Seen) -> RuleContext:
        return RuleContext(s, self.world, registry=self.registry, baseline=self.baseline,
                           profile=self.profile, config=self.table)

    def evaluate(self, s: Seen) -> list[Finding]:
        """The findings of every enabled rule on one observation (already added).
        A rule that raises is a bug: counted in `errors`, never fatal."""
        ctx = self.context(s)
        return [f for f in (self.run_rule(r, s, ctx) for r in self.rules) if f is not None]

    def run_rule(self, r: Rule, s: Seen, ctx: RuleContext) -> Finding | None:
        """One rule on one observation: its finding, or None (no finding, a score of 0, or
        the rule raised: counted in `errors`, never fatal)."""
        try:
            f = r.run(s, ctx)
        except Exception as e:  # a rule's bug must not stop a scan or an analysis
            self.errors[r.id] = self.errors.get(r.id, 0) + 1
            self.last_error = f"{r.id}: {type(e).__name__}: {e}"
            return None
        return f if f is not None and f.score > 0 else None

    def score(self, findings: Iterable[Finding]) -> Score:
        return combine(findings, self.weights, self.table)

    def incidents(self, results: Iterable[tuple[Seen, list[Finding]]]) -> list[Incident]:
        """Groups evaluated observations by suspect; keeps those with a finding."""
        by: dict[CellKey, Incident] = {}
        for s, fs in results:
            inc = by.setdefault(s.key, Incident(s.key))
            inc.seen.append(s)
            inc.findings.extend((s, f) for f in fs)
        out = []
        for inc in by.values():
            if not inc.findings:
                continue
            inc.score = self.score(inc.best().values())
            if inc.score.severity >= Severity.LOW:
                out.append(inc)
        out.sort(key=lambda i: (-(i.score.score if i.score else 0.0), str(i.key)))
        return out

    def detection_json(self, inc: Incident, det_id: int | None = None) -> dict[str, Any]:
        """An incident as contracts.md section 5 (position null here: the stored
        detection gets it, `locate_detection`)."""
        k = inc.key
        assert inc.score is not None
        return {"id": det_id, "severity": inc.score.severity.word, "score": inc.score.score,
                "cell": {"arfcn": k.arfcn, "bsic": k.bsic, "mcc": k.mcc, "mnc": k.mnc, "lac": k.lac,
                         "cid": k.cid},
                "rules": rules_json(inc.best(), self.weights),
                "first_seen": unix_to_iso(inc.first_seen), "last_seen": unix_to_iso(inc.last_seen),
                "observations": len(inc.seen), "sensors": inc.sensors, "position": None}


# ===================================================================== the store


@dataclass
class AnalysisSummary:
    analysis_id: int | None
    observations: int
    detections: int
    by_severity: dict[str, int]
    rule_versions: dict[str, int]
    rule_errors: dict[str, int]
    seconds: float
    run_id: int | None = None

    # a mapping too (dict(summary) works like dataclasses.asdict)
    def keys(self) -> list[str]:
        return [f.name for f in fields(self)]

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


def _paging_and_span(frames: Sequence[tuple[int, str, bytes]]) -> PagingStats | None:
    """Paging stats of one observation's frames (fn, channel, data); None when
    the frames cover less than a second or hold no CCCH block (the scan
    kept only the BCCH: paging was not looked at)."""
    if not frames or not any(c in ("CCCH", "PCH") for _, c, _ in frames):
        return None
    fns = [f[0] for f in frames]
    span_s = (max(fns) - min(fns)) * FRAME_S
    if span_s < 1.0:
        return None
    return PagingStats.from_frames(((c, d) for _, c, d in frames), span_s)


def assign_sweeps(seen: list[Seen]) -> list[Seen]:
    """Sweep numbers for stored observations (the store keeps no sweep
    number): per run and sensor, in time order, a dwell on a carrier already
    dwelt on in the current sweep starts the next sweep; revisits belong to
    the current sweep."""
    from dataclasses import replace

    state: dict[tuple[int | None, str | None], tuple[int, set[int | None]]] = {}
    out = []
    for s in sorted(seen, key=lambda x: (x.t_s or 0.0, x.obs_id or 0)):
        k = (s.run_id, s.obs.sensor)
        n, cur = state.get(k, (0, set()))
        if s.kind != "revisit":
            if s.obs.arfcn in cur:
                n, cur = n + 1, set()
            cur.add(s.obs.arfcn)
        state[k] = (n, cur)
        out.append(replace(s, sweep=n))
    return out


def load_seen(store: Any, run_id: int | None = None) -> tuple[list[Seen], list[LteSample]]:
    """The stored observations (all, or one run's) as `Seen`, with paging
    statistics from their frames and sweep numbers; and the LTE samples of
    the same runs' tunings."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from fbsdetect.store.models import FrameRow, Observation, ScanRun, Tuning

    seen: list[Seen] = []
    lte: list[LteSample] = []
    with store.session() as ses:
        learn_runs = {r for (r,) in ses.execute(select(ScanRun.id).where(ScanRun.learn.is_(True)))}
        q = select(Observation).options(selectinload(Observation.sensor)).order_by(Observation.time,
                                                                                  Observation.id)
        fq = select(FrameRow.observation_id, FrameRow.fn, FrameRow.channel, FrameRow.data).where(
            FrameRow.channel.in_(("CCCH", "PCH")))  # paging; the BCCH is already in the observation
        tq = select(Tuning)
        if run_id is not None:
            q = q.where(Observation.run_id == run_id)
            fq = fq.join(Observation, Observation.id == FrameRow.observation_id).where(
                Observation.run_id == run_id)
            tq = tq.where(Tuning.run_id == run_id)
        frames: dict[int, list[tuple[int, str, bytes]]] = {}
        for oid, fn, ch, data in ses.execute(fq):
            frames.setdefault(oid, []).append((fn, ch, data))
        bq = select(FrameRow.observation_id, FrameRow.fn).where(FrameRow.channel == "BCCH")
        if run_id is not None:
            bq = bq.join(Observation, Observation.id == FrameRow.observation_id).where(
                Observation.run_id == run_id)
        bcch: dict[int, list[int]] = {}
        for oid, fn in ses.execute(bq):
            bcch.setdefault(oid, []).append(fn)
        traffic, sms = _traffic(ses, run_id)
        for row in ses.scalars(q):
            seen.append(Seen.of(row.to_cell(), obs_id=row.id, run_id=row.run_id, tuning_id=row.tuning_id,
                                paging=_paging_and_span(frames.get(row.id, [])),
                                learn=row.run_id in learn_runs, kind=row.kind or "dwell",
                                bcch_tc=tc_counts(bcch[row.id]) if row.id in bcch else None,
                                traffic=traffic.get(row.id), sms=tuple(sms.get(row.id, ()))))
        tunings = list(ses.scalars(tq))
    lte = lte_samples(tunings, quiet=quiet_lte_floors(store, exclude_run=run_id))
    return assign_sweeps(seen), lte


def _traffic(ses: Any, run_id: int | None) -> tuple[dict[int, Any], dict[int, list[dict[str, Any]]]]:
    """Traffic counts and captured SMS per observation id (fbsdetect.traffic)."""
    from sqlalchemy import select

    from fbsdetect.store.models import Observation, SmsRow, TrafficRow

    tq = select(TrafficRow.observation_id, TrafficRow.counts)
    sq = select(SmsRow).order_by(SmsRow.id)
    if run_id is not None:
        tq = tq.join(Observation, Observation.id == TrafficRow.observation_id).where(
            Observation.run_id == run_id)
        sq = sq.join(Observation, Observation.id == SmsRow.observation_id).where(
            Observation.run_id == run_id)
    traffic = {oid: counts for oid, counts in ses.execute(tq)}
    sms: dict[int, list[dict[str, Any]]] = {}
    for r in ses.scalars(sq):
        sms.setdefault(r.observation_id, []).append(
            {"time": _iso(r.time), "sender": r.sender, "text": r.text, "encoding": r.encoding,
             "category": r.category, "parts": r.parts, "complete": r.complete})
    return traffic, sms


def _freq_key(t: Any) -> int:
    return round(float(getattr(t, "center_freq_hz", 0.0)) / 1e5)


def lte_samples(tunings: Sequence[Any], profile: Any = None,
                quiet: Mapping[int, float] | None = None) -> list[LteSample]:
    """LTE-band tunings' noise floors against the quietest floor seen at the
    same frequency before (earlier in the same run, or in a learn run:
    `quiet`, center frequency in 100 kHz -> floor). The first look at a
    band has no reference: a band that was never quiet (a legitimate LTE
    carrier, or a jammer already on) is no evidence."""
    out = []
    low: dict[tuple[Any, int], float] = {}
    lte = [t for t in tunings if getattr(t, "kind", None) == "lte" and getattr(t, "noise_floor_db", None)
           is not None]
    lte.sort(key=lambda t: (getattr(t, "run_id", None) or 0, float(getattr(t, "radio_s", 0.0) or 0.0)))
    for t in lte:
        k = (getattr(t, "run_id", None), _freq_key(t))
        refs = [v for v in (low.get(k), (quiet or {}).get(k[1])) if v is not None]
        floor = float(t.noise_floor_db)
        when = getattr(t, "time", None)
        ts = when.timestamp() if isinstance(when, datetime) else float(getattr(t, "radio_s", 0.0))
        out.append(LteSample(ts, lte_band_name(t, profile), floor, min(refs) if refs else None))
        low[k] = min(floor, low.get(k, floor))
    return out


def quiet_lte_floors(store: Any, exclude_run: int | None = None) -> dict[int, float]:
    """The quietest LTE-tuning floor per centre frequency in the learn runs."""
    from sqlalchemy import select

    from fbsdetect.store.models import ScanRun, Tuning

    out: dict[int, float] = {}
    with store.session() as ses:
        q = (select(Tuning.center_freq_hz, Tuning.noise_floor_db).join(ScanRun, Tuning.run_id == ScanRun.id)
             .where(ScanRun.learn.is_(True), Tuning.kind == "lte", Tuning.noise_floor_db.is_not(None)))
        if exclude_run is not None:
            q = q.where(ScanRun.id != exclude_run)
        for f, n in ses.execute(q):
            k = round(float(f) / 1e5)
            out[k] = min(float(n), out.get(k, float(n)))
    return out


def lte_band_name(t: Any, profile: Any = None) -> str:
    band = getattr(t, "band", None)
    if band:
        return str(band)
    f = float(getattr(t, "center_freq_hz", 0.0))
    for b in getattr(profile, "lte_bands", None) or []:
        lo, hi = b.downlink_hz
        if lo <= f <= hi:
            return str(b.name)
    return f"{f / 1e6:.1f} MHz"


def load_registry(store: Any, seen: Sequence[Seen]) -> RegistryView | None:
    """H3's `RegistryIndex` for the observed area (+50 km) and MCCs."""
    try:
        from fbsdetect.detect.registry import BBox, RegistryIndex
    except ImportError:
        return None
    mccs = {s.obs.mcc for s in seen if s.obs.mcc is not None}
    pos = [s.position for s in seen if s.position is not None]
    bbox = None
    if pos:
        bbox = BBox(min(p[0] for p in pos), min(p[1] for p in pos), max(p[0] for p in pos),
                    max(p[1] for p in pos))
    reg = RegistryIndex.load(store, mccs=mccs or None, bbox=bbox, margin_m=50_000.0)
    return reg if len(reg) else None


def analyze(store: Any, profile: Any = None, *, run_id: int | None = None,
            config: Mapping[str, Any] | None = None, registry: RegistryView | None = None) -> AnalysisSummary:
    """Re-runs the current rules over stored observations (all, or one run's),
    replaces their findings, merges incidents into detections and records an
    `AnalysisRun` with the rule versions used."""
    from fbsdetect.store.models import AnalysisRun

    t0 = _time.monotonic()
    started = datetime.now(UTC)
    seen, lte = load_seen(store, run_id)
    if registry is None:
        registry = load_registry(store, seen)
    baseline = Baseline.from_store(store, exclude_run=run_id)
    eng = Engine(profile, registry=registry, baseline=baseline, config=config)
    for s in seen:
        eng.add(s)
    for x in lte:
        eng.world.add_lte(x)
    results = [(s, eng.evaluate(s)) for s in seen]
    incidents = eng.incidents(results)
    n_det = persist(store, eng, incidents, [s.obs_id for s in seen if s.obs_id is not None])
    sev: dict[str, int] = {}
    for inc in incidents:
        assert inc.score is not None
        sev[inc.score.severity.word] = sev.get(inc.score.severity.word, 0) + 1
    with store.session() as ses:
        ar = AnalysisRun(started_at=started, ended_at=datetime.now(UTC), rule_versions=eng.rule_versions,
                         observations=len(seen), detections=n_det)
        ses.add(ar)
        ses.flush()
        aid = ar.id
    return AnalysisSummary(aid, len(seen), n_det, sev, eng.rule_versions, dict(eng.errors),
                           round(_time.monotonic() - t0, 3), run_id)


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


PG_PERSIST_LOCK_KEY = 0x46425344  # "FBSD": the advisory lock of `persist` on PostgreSQL


def persist(store: Any, eng: Engine, incidents: Sequence[Incident], scope_obs: Sequence[int]) -> int:
    """Replaces the findings of the observations in `scope_obs` by the
    incidents' and merges each incident into the detection of the same
    suspect (created when new); detections left without findings are
    removed. Returns the number of detections touched.

    Only what changed is written: a finding the analysis finds again as it was
    (same observation, rule, version, score, severity, evidence and data) keeps
    its row, and an observation keeps its detection when it stays in it. A
    re-analysis of unchanged data therefore writes nothing, and the audit log
    grows with what changed, not with every analysis of everything."""
    from sqlalchemy import delete, select, text, update

    from fbsdetect.store.models import Detection, Observation
    from fbsdetect.store.models import Finding as FindingRow

    scope = list(scope_obs)
    touched: set[int] = set()
    with store.session() as ses:
        if ses.get_bind().dialect.name == "postgresql":
            # one persist at a time (SQLite serialises writers itself): two analyses at once (a server's
            # periodic analyzer and a worker's, `analyze` beside a live detector) would each delete only
            # the findings they saw and insert their own, storing every finding twice
            ses.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_PERSIST_LOCK_KEY})
        old_det: dict[int, int | None] = {}  # observation id -> its detection now
        old_find: dict[tuple[Any, ...], list[int]] = {}  # a finding's content -> its row ids
        for i in range(0, len(scope), 500):
            chunk = scope[i:i + 500]
            for oid, did in ses.execute(select(Observation.id, Observation.detection_id).where(
                    Observation.id.in_(chunk))):
                old_det[int(oid)] = did
            for row in ses.execute(select(FindingRow.id, FindingRow.detection_id, FindingRow.observation_id,
                                          FindingRow.rule_id, FindingRow.rule_version, FindingRow.score,
                                          FindingRow.severity, FindingRow.evidence, FindingRow.data)
                                   .where(FindingRow.observation_id.in_(chunk))):
                old_find.setdefault(_finding_key(*row[1:]), []).append(int(row[0]))
        touched |= {d for d in old_det.values() if d is not None}
        new_det: dict[int, int] = {}
        new_rows: list[dict[str, Any]] = []
        for inc in incidents:
            k = inc.key
            det = ses.scalars(select(Detection).where(
                *(getattr(Detection, c) == v if v is not None else getattr(Detection, c).is_(None)
                  for c, v in k._asdict().items()))).first()
            if det is None:
                det = Detection(mcc=k.mcc, mnc=k.mnc, lac=k.lac, cid=k.cid, arfcn=k.arfcn, bsic=k.bsic,
                                severity="low", score=0.0)
                ses.add(det)
                ses.flush()
            touched.add(det.id)
            for s in inc.seen:
                if s.obs_id is not None:
                    new_det[s.obs_id] = det.id
            for s, f in inc.findings:
                extra = {"evidence_i18n": f.i18n} if f.i18n else {}  # the evidence in every language
                new_rows.append(dict(detection_id=det.id, observation_id=s.obs_id, rule_id=f.rule_id,
                                     rule_version=f.version, score=f.score, severity=f.severity.word,
                                     evidence=f.evidence, data={**f.data, "family": f.family, **extra}))
        # findings: keep the rows found again unchanged, delete the others, insert the new ones
        keep: set[int] = set()
        insert_rows = []
        for r in new_rows:
            same = old_find.get(_finding_key(r["detection_id"], r["observation_id"], r["rule_id"],
                                              r["rule_version"], r["score"], r["severity"], r["evidence"],
                                              r["data"]))
            if same:
                keep.add(same.pop())
            else:
                insert_rows.append(r)
        gone = sorted(fid for ids in old_find.values() for fid in ids if fid not in keep)
        for i in range(0, len(gone), 500):
            ses.execute(delete(FindingRow).where(FindingRow.id.in_(gone[i:i + 500])))
        # observations: only those whose detection changes (None: in no incident now)
        moves: dict[int | None, list[int]] = {}
        for oid in scope:
            want = new_det.get(oid)
            if oid in old_det and old_det[oid] != want:
                moves.setdefault(want, []).append(oid)
        for oid, want in new_det.items():
            if oid not in old_det:  # outside the scope (the incident's own observations): as before
                moves.setdefault(want, []).append(oid)
        for want, ids in moves.items():
            for j in range(0, len(ids), 500):
                ses.execute(update(Observation).where(Observation.id.in_(ids[j:j + 500]))
                            .values(detection_id=want))
        for r in insert_rows:
            ses.add(FindingRow(**r))
        ses.flush()
        for det_id in sorted(touched):
            refresh_detection(ses, det_id, eng)
    return len({i.key for i in incidents})


def _finding_key(detection_id: Any, observation_id: Any, rule_id: Any, version: Any, score: Any,
                 severity: Any, evidence: Any, data: Any) -> tuple[Any, ...]:
    """What makes two findings the same (the data as canonical JSON, scores to 1e-9)."""
    import json

    return (detection_id, observation_id, rule_id, int(version), round(float(score), 9), severity, evidence,
            json.dumps(data, sort_keys=True, default=str, allow_nan=True))


def refresh_detection(ses: Any, det_id: int, eng: Engine) -> None:
    """Recomputes one detection row from its finding rows and observations
    (so that findings of other runs and of this analysis add up)."""
    from sqlalchemy import delete, func, select

    from fbsdetect.store.models import Detection, Observation, Sensor
    from fbsdetect.store.models import Finding as FindingRow

    det = ses.get(Detection, det_id)
    if det is None:
        return
    rows = list(ses.scalars(select(FindingRow).where(FindingRow.detection_id == det_id)))
    if not rows:
        ses.execute(delete(Detection).where(Detection.id == det_id))
        return
    fam = {r.id: r.family for r in all_rules()}
    best: dict[str, Finding] = {}
    for r in rows:
        stored = (r.data or {}).get("evidence_i18n")
        f = Finding(r.rule_id, r.rule_version, r.score, r.evidence,
                    {k: v for k, v in (r.data or {}).items() if k not in ("family", "evidence_i18n")},
                    fam.get(r.rule_id, (r.data or {}).get("family", "other")),
                    i18n=stored if isinstance(stored, dict) else None)
        if f.rule_id not in best or f.score > best[f.rule_id].score:
            best[f.rule_id] = f
    sc = eng.score(best.values())
    n, first, last = ses.execute(select(func.count(Observation.id), func.min(Observation.time),
                                        func.max(Observation.time)).where(
        Observation.detection_id == det_id)).one()
    sensors = sorted({name for (name,) in ses.execute(
        select(Sensor.name).join(Observation, Observation.sensor_id == Sensor.id)
        .where(Observation.detection_id == det_id).distinct()) if name})
    det.severity = max(sc.severity, Severity.LOW).word
    det.score = sc.score
    det.rules = rules_json(best, eng.weights)
    det.n_observations = int(n or 0)
    det.first_seen, det.last_seen = first, last
    det.sensors = sensors
    if det.severity in ("medium", "high"):
        det.position = locate_detection(ses, det_id, det.position, int(n or 0))
    det.updated_at = datetime.now(UTC)


def locate_detection(ses: Any, det_id: int, previous: dict[str, Any] | None,
                     n_obs: int) -> dict[str, Any] | None:
    """The suspect's estimated position (`fbsdetect.locate.locate`: grid posterior
    with 50/95 % regions, a track when the fixed-site model fits badly) from its
    observations with a 2D/3D fix, in one power reference (dBm when the sensors
    were calibrated, else dBFS). Kept as it is while the number of observations
    has not changed (the estimate costs up to seconds)."""
    from sqlalchemy import select

    from fbsdetect.locate import locate
    from fbsdetect.locate.samples import PowerSample
    from fbsdetect.store.models import Observation, Sensor

    if previous is not None and previous.get("n_observations") == n_obs:
        return previous
    rows = ses.execute(
        select(Observation.time, Observation.lat, Observation.lon, Observation.power_dbm,
               Observation.power_ref, Observation.gps_mode, Observation.gps_error_m, Observation.freq_hz,
               Sensor.name)
        .join(Sensor, Observation.sensor_id == Sensor.id, isouter=True)
        .where(Observation.detection_id == det_id)).all()
    refs: dict[str, int] = {}
    for r in rows:
        refs[r.power_ref] = refs.get(r.power_ref, 0) + 1
    if not refs:
        return None
    ref = max(refs, key=lambda k: refs[k])
    samples = [PowerSample(time=r.time.timestamp(), lat=r.lat, lon=r.lon, power_dbm=r.power_dbm,
                           gps_mode=r.gps_mode, gps_error_m=r.gps_error_m, sensor=r.name or "")
               for r in rows if r.power_ref == ref and r.time is not None and r.lat is not None
               and r.lon is not None and r.power_dbm is not None and (r.gps_mode or 0) >= 2]
    freq = next((r.freq_hz for r in rows if r.freq_hz), 947e6)
    est = locate(samples, freq_hz=freq)
    pos = est.position_json()
    if pos is not None:
        pos["n_observations"] = n_obs
        pos["power_ref"] = ref
    return pos


def _iso(d: datetime | None) -> str | None:
    if d is None:
        return None
    d = d.astimezone(UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def list_detections(store: Any, min_severity: str | Severity | None = None) -> list[dict[str, Any]]:
    """The stored detections as contracts.md section 5 objects, most severe
    first (then by score), at or above `min_severity` (default: all)."""
    from sqlalchemy import select

    from fbsdetect.store.models import Detection

    floor = Severity.parse(min_severity) or Severity.LOW
    out = []
    with store.session() as ses:
        for d in ses.scalars(select(Detection)):
            sev = Severity.parse(d.severity) or Severity.LOW
            if sev < floor:
                continue
            out.append({
                "id": d.id, "severity": sev.word, "score": round(float(d.score), 3),
                "cell": {"arfcn": d.arfcn, "bsic": d.bsic, "mcc": d.mcc, "mnc": d.mnc, "lac": d.lac,
                         "cid": d.cid},
                "rules": [{"id": r.get("id"), "version": r.get("version"), "title": r.get("title"),
                           "score": r.get("score"), "evidence": r.get("evidence"),
                           **({"evidence_i18n": r["evidence_i18n"]} if r.get("evidence_i18n") else {})}
                          for r in (d.rules or [])],
                "first_seen": _iso(d.first_seen), "last_seen": _iso(d.last_seen),
                "observations": d.n_observations, "sensors": list(d.sensors or []),
                "position": d.position, "status": d.status})
        from fbsdetect.traffic.store import detection_extras  # SMS, traffic (contracts.md 5)

        extras = detection_extras(ses, [x["id"] for x in out])
        for x in out:
            x.update(extras.get(x["id"], {}))
    out.sort(key=lambda x: (-int(Severity.parse(x["severity"]) or 0), -x["score"], x["id"]))
    return out
