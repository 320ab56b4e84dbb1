"""The detector the scan runs as it goes: `Detector`.

    det = Detector(store_or_None, profile, config={})
    alerts = det.observe(obs, obs_id)     # each new observation -> alerts
    alerts = det.sweep_done()             # after each sweep: rules that need history
    det.suspect_arfcns()                  # carriers worth a revisit
    det.close()                           # stored detections from the same engine as `analyze`

Optional, when the scan can give them: `observe(obs, obs_id, frames=...)`
(the observation's L2 frames, for the paging rules) and `tuning(rec)` (a
`TuningRecord`: LTE-band noise floors for the jamming rule).

Alerts are raised once per suspect and severity level reached (a suspect
that goes from low to medium alerts again). With a store, `close()` (and
every `persist_every_s` seconds of sweeps) runs `engine.analyze` over the
scan's run, so that the stored detections, findings and rule versions are
exactly what `fbsdetect analyze` would record; the registry is the store's
(H3's `RegistryIndex`) and the baseline its learn runs.
"""

from __future__ import annotations

import re
import time as _time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fbsdetect.detect.baseline import Baseline
from fbsdetect.detect.context import CellKey, LteSample, RegistryView, Seen, tc_counts
from fbsdetect.detect.engine import Engine, _paging_and_span, analyze, lte_band_name
from fbsdetect.detect.finding import Finding, Severity
from fbsdetect.types import CellObservation


@dataclass(frozen=True)
class Alert:
    arfcn: int | None
    severity: str  # "low" | "medium" | "high"
    text: str
    score: float = 0.0
    cell: tuple[Any, ...] = ()  # mcc, mnc, lac, cid, arfcn, bsic

    def __str__(self) -> str:
        return f"[{self.severity}] ARFCN {self.arfcn}: {self.text}"


class Detector:
    def __init__(self, store: Any, profile: Any, *, config: Mapping[str, Any] | None = None,
                 registry: RegistryView | None = None, baseline: Baseline | None = None) -> None:
        self.store = store
        self.profile = profile
        self.config = dict(config or {})
        self._registry_pending = registry is None and store is not None
        if baseline is None and store is not None:
            try:
                baseline = Baseline.from_store(store)
            except Exception:
                baseline = None
        self.engine = Engine(profile, registry=registry, baseline=baseline, config=self.config)
        self.table = self.engine.table
        self.min_alert = Severity.parse(str(self.table.get("alert_min_severity", "low"))) or Severity.LOW
        self.persist_every_s = float(self.table.get("persist_every_s", 60.0))
        self.auto_sweeps = int(self.table.get("baseline_auto_sweeps", 0))
        self.sweep = 0
        self.findings: dict[CellKey, dict[str, Finding]] = {}
        self.latest: dict[CellKey, Seen] = {}
        self.sweep_seen: list[Seen] = []
        self.alerted: dict[CellKey, Severity] = {}
        self.obs_ids: list[int] = []
        self.lte_quiet: dict[int, float] = {}  # centre frequency (100 kHz) -> quietest floor seen
        if store is not None:
            try:
                from fbsdetect.detect.engine import quiet_lte_floors

                self.lte_quiet = quiet_lte_floors(store)
            except Exception:
                self.lte_quiet = {}
        self._last_persist = _time.monotonic()
        self.persisted = 0

    # ------------------------------------------------------------------ inputs
    def _load_registry(self, obs: CellObservation) -> None:
        """The store's registry cells of the profile's MCCs within 50 km of the
        first position (all of them when there is none yet), loaded once."""
        self._registry_pending = False
        try:
            from fbsdetect.detect.registry import BBox, RegistryIndex

            mccs = {op.mcc for op in getattr(self.profile, "operators", None) or []} or None
            bbox = None if obs.lat is None or obs.lon is None else BBox(obs.lat, obs.lon, obs.lat, obs.lon)
            reg = RegistryIndex.load(self.store, mccs=mccs, bbox=bbox, margin_m=50_000.0)
            self.engine.registry = reg if len(reg) else None
        except Exception as e:  # no registry is a weaker detector, not a failed scan
            self.engine.last_error = f"registry: {type(e).__name__}: {e}"

    def observe(self, obs: CellObservation, obs_id: int | None,
                frames: Sequence[Any] | None = None, traffic: Any = None,
                kind: str | None = None) -> list[Any]:
        """One observation (with its frames, and the traffic follower of its dwell
        when the cell's dedicated channels were followed: fbsdetect.traffic); `kind`
        "dwell" | "revisit" as the scan stores it (None: a revisit is an observation
        without SI, as the scan's revisits were before they carried the cell's SI)."""
        if self._registry_pending and (obs.lat is not None or len(self.latest) >= 3):
            self._load_registry(obs)
        # the paging rate over the paging sample's own span, as analyze reads it from the store (the
        # dwell's BCCH frames may cover far more time than the bounded sample of paging blocks)
        paging = _paging_and_span([(int(getattr(f, "fn", 0)), f.channel, f.data) for f in frames or ()
                                   if getattr(f, "channel", "") in ("CCCH", "PCH")])
        if kind is None:
            kind = "revisit" if not obs.params and not obs.si else "dwell"
        tc = tc_counts(int(getattr(f, "fn", 0)) for f in frames if getattr(f, "channel", "") == "BCCH") \
            if frames else None
        counts: dict[str, Any] | None = None
        sms: tuple[dict[str, Any], ...] = ()
        if traffic is not None and (traffic.counts.assignments or traffic.sms):
            counts = traffic.counts.to_json()
            sms = tuple(m.to_json() for m in traffic.sms)
        s = Seen.of(obs, obs_id=obs_id, sweep=self.sweep, paging=paging, kind=kind, bcch_tc=tc,
                    traffic=counts, sms=sms)
        self.engine.add(s)
        if obs_id is not None:
            self.obs_ids.append(obs_id)
        self.sweep_seen.append(s)
        return self._judge(s)

    def tuning(self, rec: Any) -> None:
        """A scan tuning: an LTE tuning's floor against the quietest seen at its frequency."""
        floor = getattr(rec, "noise_floor_db", None)
        if floor is None or getattr(rec, "kind", None) != "lte":
            return
        k = round(float(getattr(rec, "center_freq_hz", 0.0)) / 1e5)
        ref = self.lte_quiet.get(k)
        t = getattr(rec, "time", None)
        ts = t.timestamp() if t is not None else _time.time()
        self.engine.world.add_lte(LteSample(ts, lte_band_name(rec, self.profile), float(floor), ref))
        self.lte_quiet[k] = min(float(floor), ref if ref is not None else float(floor))

    def _judge(self, s: Seen) -> list[Alert]:
        fs = self.engine.evaluate(s)
        self.latest[s.key] = s
        if not fs:
            return []
        best = self.findings.setdefault(s.key, {})
        for f in fs:
            if f.rule_id not in best or f.score > best[f.rule_id].score:
                best[f.rule_id] = f
        sc = self.engine.score(best.values())
        if sc.severity < self.min_alert or sc.severity <= self.alerted.get(s.key, Severity.INFO):
            return []
        self.alerted[s.key] = sc.severity
        top = sorted(best.values(), key=lambda f: -self.engine.weights.get(f.rule_id, 0) * f.score)[:3]
        reasons = "; ".join(f"{f.rule_id}: {_first_sentence(f.local_evidence)}" for f in top)
        text = f"{s.key.text()}: score {sc.score:.2f}; {reasons}"
        return [Alert(s.obs.arfcn, sc.severity.word, text, sc.score, tuple(s.key))]

    def sweep_done(self) -> list[Any]:
        """Re-judges this sweep's cells now that the sweep is complete (rules on
        the sweep's other cells, history, LTE floors) and persists periodically."""
        alerts: list[Any] = []
        last: dict[CellKey, Seen] = {}
        for s in self.sweep_seen:
            if s.kind != "revisit" or s.key not in last:
                last[s.key] = s
        for s in last.values():
            alerts.extend(self._judge(s))
        if self.auto_sweeps and self.sweep < self.auto_sweeps and self.engine.baseline is not None:
            self._auto_learn(list(last.values()))
        self.sweep_seen = []
        self.sweep += 1
        if self.store is not None and _time.monotonic() - self._last_persist >= self.persist_every_s:
            self._persist()
        return alerts

    def _auto_learn(self, seen: list[Seen]) -> None:
        b = self.engine.baseline
        assert b is not None
        if self.sweep == 0 and any(b.covers(s.position) for s in seen):
            self.auto_sweeps = 0  # a known area: no automatic learning
            return
        for s in seen:
            if self.alerted.get(s.key, Severity.INFO) < Severity.MEDIUM:
                b.learn(s)

    def suspect_arfcns(self) -> set[int]:
        return {k.arfcn for k, sev in self.alerted.items() if k.arfcn is not None}

    # ------------------------------------------------------------------ store
    def _run_id(self) -> int | None:
        if not self.obs_ids or self.store is None:
            return None
        from sqlalchemy import select

        from fbsdetect.store.models import Observation

        with self.store.session() as ses:
            return ses.scalar(select(Observation.run_id).where(Observation.id == self.obs_ids[-1]))

    def _persist(self) -> None:
        self._last_persist = _time.monotonic()
        run = self._run_id()
        if run is None:
            return
        try:
            s = analyze(self.store, self.profile, run_id=run, config=self.config,
                        registry=self.engine.registry)
            self.persisted = s.detections
        except Exception as e:  # e.g. the database briefly locked by the scan's writer: next time
            self.engine.last_error = f"persist: {type(e).__name__}: {e}"

    def close(self) -> None:
        if self.store is not None:
            self._persist()


_SENTENCE_END = re.compile(r"(?<=\.)\s|(?<=。)")


def _first_sentence(text: str) -> str:
    """The first sentence of a finding's evidence, English ('. ') or Chinese ('。'), for a one-line alert."""
    return _SENTENCE_END.split(text, maxsplit=1)[0].rstrip(".。 ")
