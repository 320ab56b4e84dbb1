"""The sensor's own idea of normal, learned from its observations.

Learning happens in runs flagged `learn` (`fbsdetect scan --learn`) and,
when the `[detect]` table sets `baseline_auto_sweeps = N`, during the first
N sweeps of an area the baseline has never seen (cells that already score
medium or more are not learned). It records:
- the cells seen (by CGI) with their ARFCNs and BSICs;
- the power of each cell per position grid square (about 250 m);
- per operator, each cell's SI parameter values (what "typical" is here);
- the residual carrier-frequency offsets (after the common ppm) of each cell
  and of the operator's cells;
- the area covered (about 2 km squares).

A baseline is data, not code: `to_json`/`from_json`, and `from_store` reads
the learn runs of a store. Nothing here reads a scene's truth.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import fmean, pstdev
from typing import Any

from fbsdetect.detect.context import Seen

GRID_DEG = 0.0025      # ~250 m power squares
AREA_DEG = 0.02        # ~2 km coverage squares
PARAMS = ("t3212", "cro", "temporary_offset", "penalty_time", "cell_reselect_hysteresis",
          "rxlev_access_min", "ms_txpwr_max_cch", "gprs", "si2ter", "si2quater", "att", "cbq")

Cgi = tuple[int, int, int, int]


def grid(lat: float, lon: float, step: float = GRID_DEG) -> tuple[int, int]:
    return (math.floor(lat / step), math.floor(lon / step))


@dataclass
class CellStats:
    arfcns: set[int] = field(default_factory=set)
    bsics: set[int] = field(default_factory=set)
    n: int = 0


@dataclass
class Baseline:
    cells: dict[Cgi, CellStats] = field(default_factory=dict)
    power: dict[tuple[Cgi, tuple[int, int]], list[float]] = field(default_factory=dict)
    grid_max: dict[tuple[int, int], float] = field(default_factory=dict)
    op_params: dict[tuple[int, int], dict[str, dict[Cgi, Any]]] = field(default_factory=dict)
    freq_residual_hz: dict[tuple[int, int], list[float]] = field(default_factory=dict)
    cell_freq_hz: dict[Cgi, list[float]] = field(default_factory=dict)  # per cell, after the common ppm
    areas: set[tuple[int, int]] = field(default_factory=set)
    observations: int = 0

    # ---------------------------------------------------------------- learning
    def learn(self, s: Seen, freq_residual_hz: float | None = None) -> None:
        o = s.obs
        self.observations += 1
        pos = s.position
        if pos is not None:
            self.areas.add(grid(*pos, step=AREA_DEG))
        c = s.cgi
        if c is None:
            return
        st = self.cells.setdefault(c, CellStats())
        st.n += 1
        if o.arfcn is not None:
            st.arfcns.add(o.arfcn)
        if o.bsic is not None:
            st.bsics.add(o.bsic)
        p = s.power_dbm
        if p is not None and pos is not None:
            g = grid(*pos)
            self.power.setdefault((c, g), []).append(p)
            self.grid_max[g] = max(self.grid_max.get(g, -1e9), p)
        plmn = (c[0], c[1])
        ops = self.op_params.setdefault(plmn, {})
        for name in PARAMS:
            v = o.params.get(name)
            if v is not None:
                ops.setdefault(name, {})[c] = v
        if freq_residual_hz is not None:
            self.freq_residual_hz.setdefault(plmn, []).append(freq_residual_hz)
            self.cell_freq_hz.setdefault(c, []).append(freq_residual_hz)

    def learn_all(self, seen: Iterable[Seen]) -> Baseline:
        """Learns every observation, with its carrier's residual frequency
        offset against the other cells of the same tuning (or of the same run
        within 30 s)."""
        from fbsdetect.detect.heuristics.freq_offset_outlier import residual_hz

        items = list(seen)
        groups: dict[Any, list[Seen]] = {}
        for s in items:
            g = ("t", s.tuning_id) if s.tuning_id is not None else \
                ("r", s.run_id, s.obs.sensor, int((s.t_s or 0.0) // 30))
            groups.setdefault(g, []).append(s)
        for s in items:
            g = ("t", s.tuning_id) if s.tuning_id is not None else \
                ("r", s.run_id, s.obs.sensor, int((s.t_s or 0.0) // 30))
            r = residual_hz(s, groups[g]) if s.kind != "revisit" else None
            self.learn(s, None if r is None else r[0])
        return self

    def freq_stats(self, cgi: Cgi | None) -> tuple[float, float, int] | None:
        v = self.cell_freq_hz.get(cgi) if cgi is not None else None
        if not v:
            return None
        return (fmean(v), pstdev(v) if len(v) > 1 else 0.0, len(v))

    # ---------------------------------------------------------------- lookups
    @property
    def empty(self) -> bool:
        return not self.cells

    def covers(self, pos: tuple[float, float] | None) -> bool:
        """True when the baseline learned around `pos` (or, without a position, learned anything)."""
        if pos is None:
            return bool(self.cells)
        return grid(*pos, step=AREA_DEG) in self.areas

    def knows(self, cgi: Cgi | None) -> bool:
        return cgi is not None and cgi in self.cells

    def cell(self, cgi: Cgi | None) -> CellStats | None:
        return None if cgi is None else self.cells.get(cgi)

    def power_stats(self, cgi: Cgi, pos: tuple[float, float]) -> tuple[float, float, int] | None:
        v = self.power.get((cgi, grid(*pos)))
        if not v:
            return None
        return (fmean(v), pstdev(v) if len(v) > 1 else 0.0, len(v))

    def strongest_at(self, pos: tuple[float, float]) -> float | None:
        return self.grid_max.get(grid(*pos))

    def operator_values(self, plmn: tuple[int, int], name: str, exclude: Cgi | None = None) -> list[Any]:
        d = self.op_params.get(plmn, {}).get(name, {})
        return [v for c, v in d.items() if c != exclude]

    # ---------------------------------------------------------------- as data
    def to_json(self) -> dict[str, Any]:
        def k(c: Cgi) -> str:
            return "-".join(map(str, c))
        return {
            "observations": self.observations,
            "cells": {k(c): {"arfcns": sorted(s.arfcns), "bsics": sorted(s.bsics), "n": s.n}
                      for c, s in self.cells.items()},
            "power": [[k(c), list(g), v] for (c, g), v in self.power.items()],
            "op_params": {f"{p[0]}-{p[1]}": {n: {k(c): v for c, v in d.items()} for n, d in ps.items()}
                          for p, ps in self.op_params.items()},
            "freq_residual_hz": {f"{p[0]}-{p[1]}": v for p, v in self.freq_residual_hz.items()},
            "cell_freq_hz": {k(c): v for c, v in self.cell_freq_hz.items()},
            "areas": sorted(list(a) for a in self.areas),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Baseline:
        def c(s: str) -> Cgi:
            a, b, x, y = (int(v) for v in s.split("-"))
            return (a, b, x, y)

        def p(s: str) -> tuple[int, int]:
            a, b = (int(v) for v in s.split("-"))
            return (a, b)
        b = cls(observations=int(d.get("observations", 0)))
        for key, v in d.get("cells", {}).items():
            b.cells[c(key)] = CellStats(set(v["arfcns"]), set(v["bsics"]), int(v["n"]))
        for key, g, vals in d.get("power", []):
            gg = (int(g[0]), int(g[1]))
            b.power[(c(key), gg)] = [float(x) for x in vals]
            b.grid_max[gg] = max([b.grid_max.get(gg, -1e9), *vals])
        for pk, ps in d.get("op_params", {}).items():
            b.op_params[p(pk)] = {n: {c(ck): v for ck, v in dd.items()} for n, dd in ps.items()}
        for pk, v in d.get("freq_residual_hz", {}).items():
            b.freq_residual_hz[p(pk)] = [float(x) for x in v]
        for ck, v in d.get("cell_freq_hz", {}).items():
            b.cell_freq_hz[c(ck)] = [float(x) for x in v]
        b.areas = {(int(a[0]), int(a[1])) for a in d.get("areas", [])}
        return b

    @classmethod
    def from_store(cls, store: Any, *, exclude_run: int | None = None) -> Baseline:
        """Learned from every observation of the store's runs flagged `learn`."""
        from sqlalchemy import select

        from fbsdetect.store.models import Observation, ScanRun

        b = cls()
        seen: list[Seen] = []
        with store.session() as s:
            q = (select(Observation).join(ScanRun, Observation.run_id == ScanRun.id)
                 .where(ScanRun.learn.is_(True)).order_by(Observation.time, Observation.id))
            if exclude_run is not None:
                q = q.where(ScanRun.id != exclude_run)
            for row in s.scalars(q):
                seen.append(Seen.of(row.to_cell(), obs_id=row.id, run_id=row.run_id, tuning_id=row.tuning_id,
                                    learn=True, kind=row.kind or "dwell"))
        return b.learn_all(seen)
