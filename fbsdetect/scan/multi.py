"""Several dongles at once (`scan --source A --source B`): each source sweeps
its share of the plan (`runner.share_of`: contiguous runs of the grid, the
LTE tunings dealt out), all into one scan run of one store.

Each source has its own `ScanRunner` in its own thread (a dongle's reads
block; the simulator renders with numpy). They share one sink and one
detector through lock-holding proxies: the sink's `run_started` and
`run_ended` are called once, here, for the whole scan (the run's source is
the sources joined by " + "), so that the detector and `analyze` see one run
with every cell; alerts and suspects are common (a suspect found by one
dongle is revisited by the one whose share holds it). The summary
(contracts section 7) merges the runners': per cell the earliest identity
and complete-SI times, tunings and decode tunings of all, the slowest
runner's radio time and sweeps; `sources` lists each runner's own summary.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from fbsdetect.scan.runner import ScanRunner


class _Locked:
    """An object shared by several runners, one call at a time (attributes pass through)."""

    def __init__(self, inner: Any, lock: threading.RLock) -> None:
        self._inner = inner
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*a: Any, **kw: Any) -> Any:
            with self._lock:
                return attr(*a, **kw)

        return call


class _LockedSink(_Locked):
    """The shared sink; run_started/run_ended are the coordinator's."""

    def run_started(self, info: Any) -> None:  # the coordinator's
        pass

    def run_ended(self, summary: dict[str, Any]) -> None:  # the coordinator's
        pass


class _LockedDetector(_Locked):
    """The shared detector."""

    def observe(self, *a: Any, **kw: Any) -> Any:
        with self._lock:
            return self._inner.observe(*a, **kw)


def run_multi(sources: Sequence[Any], specs: Sequence[str], profile: Any, sink: Any, *,
              make_runner: Callable[..., ScanRunner] = ScanRunner, detector: Any = None,
              log: Callable[[str], None] | None = None, **kw: Any) -> dict[str, Any]:
    """Runs one ScanRunner per source on its share of the plan; returns the merged summary."""
    from fbsdetect.scan.sink import RunInfo

    n = len(sources)
    lock = threading.RLock()
    say = log or (lambda _s: None)
    shared = _LockedSink(sink, lock)
    det = _LockedDetector(detector, lock) if detector is not None else None
    runners = []
    for k, (src, spec) in enumerate(zip(sources, specs, strict=True)):
        def tagged(s: str, _k: int = k) -> None:
            say(f"[{specs[_k]}] {s}")

        runners.append(make_runner(src, profile, shared, source_spec=spec, detector=det, share=(k, n),
                                   log=tagged, **kw))
    first = runners[0]
    cfg = {"sources": [{"source": spec, "share": [k, n], "tunings": len(r.plan.tunings),
                        "lte_tunings": len(r.plan.lte_tunings)} for k, (spec, r) in
                       enumerate(zip(specs, runners, strict=True))]}
    sink.run_started(RunInfo(source=" + ".join(specs), profile=profile.name, sensor=first.sensor,
                             start_time=first.start_time, software_version=first.version,
                             learn=first.learn, config=cfg))
    summaries: list[dict[str, Any] | None] = [None] * n
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            summaries[i] = runners[i].run()
        except BaseException as e:  # one dongle's failure ends the scan, with what was stored
            errors.append(e)
            for r in runners:
                r.stop_requested = True

    threads = [threading.Thread(target=work, args=(i,), name=f"scan-{i}", daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    except KeyboardInterrupt:
        for r in runners:
            r.stop_requested = True
        for t in threads:
            t.join()
    summary = merge_summaries([s for s in summaries if s is not None], specs)
    try:
        with lock:
            sink.flush()
    finally:
        sink.run_ended(summary)
    if errors:
        raise errors[0]
    return summary


def merge_summaries(parts: Sequence[dict[str, Any]], specs: Sequence[str]) -> dict[str, Any]:
    """One summary (contracts section 7) of several runners' (see module docstring)."""
    if not parts:
        return {"source": " + ".join(specs), "sources": [], "cells": [], "tunings": [], "decode_tunings": [],
                "radio_s": 0.0, "sweeps": 0, "overflows": 0, "alerts": []}
    out = dict(parts[0])
    out["source"] = " + ".join(specs)
    out["sources"] = list(parts)
    for k in ("radio_s",):
        out[k] = max(p[k] for p in parts)
    out["sweeps"] = min(p["sweeps"] for p in parts)
    for k in ("cpu_s", "source_cpu_s", "overflows", "dropped_s", "stale_reads", "revisits", "revisit_s",
              "followed_s"):
        if all(k in p for p in parts):
            out[k] = round(sum(p[k] for p in parts), 3)
    out["interrupted"] = any(p.get("interrupted") for p in parts)
    out["tunings"] = [t for p in parts for t in p["tunings"]]
    out["decode_tunings"] = [t for p in parts for t in p["decode_tunings"]]
    out["unreachable"] = sorted({u for p in parts for u in p.get("unreachable", [])})
    out["alerts"] = [a for p in parts for a in p.get("alerts", [])]
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    for p in parts:
        for c in p["cells"]:
            key = (c["arfcn"], c["bsic"])
            have = cells.get(key)
            if have is None:
                cells[key] = dict(c)
                continue
            for t in ("identity_s", "si_complete_s", "first_seen_s"):
                vals = [v for v in (have.get(t), c.get(t)) if v is not None]
                have[t] = min(vals) if vals else None
            have["last_seen_s"] = max(have["last_seen_s"], c["last_seen_s"])
            have["observations"] += c["observations"]
            have["revisits"] += c["revisits"]
            have["si"] = sorted(set(have["si"]) | set(c["si"]))
            have["si_missing"] = sorted(set(have["si_missing"]) & set(c["si_missing"]))
    out["cells"] = [cells[k] for k in sorted(cells)]
    return out
