"""Every rule, a triggering and a benign fixture (style.md item 1).

`trigger_<module>()` / `benign_<module>()` build (cell, context) from the
small town of tests/detect/support.py; the test fails when a registered rule
has no fixtures, so adding a rule means adding its two cases here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fbsdetect.detect.baseline import Baseline
from fbsdetect.detect.context import LteSample, PagingStats, RegCell, Seen
from fbsdetect.detect.rules import all_rules
from tests.detect import support as S
from tests.traffic.rule_fixtures import *  # noqa: F403  (the dedicated-channel rules' fixtures, issue 13)

Case = tuple[Seen, Any]


def _mod(rule_id: str) -> str:
    return rule_id.replace("-", "_")


# ------------------------------------------------------------------ identity

def trigger_unknown_cell() -> Case:
    return S.context(S.fake(lac=9999, cid=1))


def benign_unknown_cell() -> Case:
    # a known cell; and an unknown one when the registry has no data for its operator
    town = S.town()
    return S.context(town[0], town[1:])


def benign2_unknown_cell() -> Case:
    return S.context(S.fake(mnc=7, lac=9999, cid=1))


def trigger_lac_unknown() -> Case:
    return S.context(S.fake(lac=9999, cid=1))


def benign_lac_unknown() -> Case:
    return S.context(S.fake(lac=10291, cid=41999))


def trigger_lac_single_cell() -> Case:
    return S.context(S.fake(lac=9999, cid=1))


def benign_lac_single_cell() -> Case:
    return S.context(S.fake(lac=10291, cid=1))


def trigger_lac_changed() -> Case:
    return S.context(S.fake(arfcn=91, lac=9998, cid=41021, bsic=35))


def benign_lac_changed() -> Case:
    town = S.town()
    return S.context(town[0], town[1:])


def trigger_plmn_not_here() -> Case:
    return S.context(S.fake(mcc=999, mnc=99, lac=1, cid=1))


def benign_plmn_not_here() -> Case:
    return S.context(S.fake(mnc=1, arfcn=99, lac=42101, cid=12022))


# ------------------------------------------------------------------ location

def trigger_cell_far_from_registered() -> Case:
    far = RegCell(460, 0, 10290, 41099, 36.80, 101.90, 1000.0)  # ~23 km away
    return S.context(S.fake(), reg=S.registry([far]))


def benign_cell_far_from_registered() -> Case:
    near = RegCell(460, 0, 10290, 41099, 36.625, 101.775, 1000.0)
    return S.context(S.fake(), reg=S.registry([near]))


# ------------------------------------------------------------------ clone

def trigger_cgi_multi_arfcn() -> Case:
    # clone of 41021 (registered on 92) on weak ARFCN 88
    return S.context(S.fake(arfcn=88, lac=10290, cid=41021, bsic=35, power=-85.0))


def benign_cgi_multi_arfcn() -> Case:
    # the original, on its registered carrier, while the clone is heard
    town = S.town()
    return S.context(town[0], [*town[1:], S.fake(arfcn=88, lac=10290, cid=41021, bsic=35, power=-85.0)])


def trigger_arfcn_bsic_mismatch() -> Case:
    town = S.town()
    return S.context(S.fake(arfcn=88, lac=10290, cid=41021, bsic=36), town[1:])


def benign_arfcn_bsic_mismatch() -> Case:
    town = S.town()
    return S.context(town[0], town[1:])


def trigger_arfcn_bsic_collision() -> Case:
    # another CGI on 93 with 93's BSIC, heard in the same sweep
    return S.context(S.fake(arfcn=93, bsic=42, lac=10291, cid=41777))


def benign_arfcn_bsic_collision() -> Case:
    return S.context(S.fake(arfcn=93, bsic=43, lac=10291, cid=41777))


# ------------------------------------------------------------------ allocation

def trigger_ncc_not_operator() -> Case:
    return S.context(S.fake(bsic=63))  # NCC 7


def benign_ncc_not_operator() -> Case:
    return S.context(S.fake(bsic=37))  # NCC 4


def trigger_arfcn_outside_allocation() -> Case:
    return S.context(S.fake(arfcn=110))  # China Unicom's block


def benign_arfcn_outside_allocation() -> Case:
    return S.context(S.fake(arfcn=60))


# ------------------------------------------------------------------ topology

def trigger_not_in_neighbour_ba() -> Case:
    return S.context(S.fake(arfcn=88))


def benign_not_in_neighbour_ba() -> Case:
    town = S.town()
    return S.context(town[1], [town[0], *town[2:]])


def trigger_ba_list_empty() -> Case:
    return S.context(S.fake(neighbours=[90]))


def benign_ba_list_empty() -> Case:
    return S.context(S.fake(neighbours=[92, 93]))


def trigger_ba_list_not_heard() -> Case:
    # a copy of a distant cell's SI: its neighbours are carriers nobody hears here
    return S.context(S.fake(neighbours=[12, 15, 18, 21]))


def benign_ba_list_not_heard() -> Case:
    return S.context(S.fake(neighbours=[92, 93, 94, 12]))


# ------------------------------------------------------------------ parameters

def trigger_si2quater_absent() -> Case:
    return S.context(S.fake(si2quater=False, eutran_neighbours=[]))


def benign_si2quater_absent() -> Case:
    # a 2G-only operator: none of its cells sends SI2quater (the profile agrees or not)
    town = [S.cell(c.arfcn, mnc=c.mnc, lac=c.lac, cid=c.cid, bsic=c.bsic, si2quater=False)
            for c in S.town()]
    return S.context(S.fake(si2quater=False), town)


def trigger_si2ter_absent() -> Case:
    town = [S.cell(c.arfcn, mnc=c.mnc, lac=c.lac, cid=c.cid, bsic=c.bsic, si2ter=True) for c in S.town()]
    return S.context(S.fake(si2ter=False), town)


def benign_si2ter_absent() -> Case:
    return S.context(S.fake(si2ter=False))  # the town sends SI2ter nowhere


def trigger_gprs_absent() -> Case:
    return S.context(S.fake(gprs=False))


def benign_gprs_absent() -> Case:
    return S.context(S.fake(gprs=True))


def trigger_reselect_offset_high() -> Case:
    return S.context(S.fake(cro=40))


def benign_reselect_offset_high() -> Case:
    # operator-typical: the operator's cells all use CRO 10 (20 dB)
    town = [S.cell(c.arfcn, mnc=c.mnc, lac=c.lac, cid=c.cid, bsic=c.bsic, cro=10) for c in S.town()]
    return S.context(S.fake(cro=10), town)


def trigger_reselect_hysteresis_outlier() -> Case:
    return S.context(S.fake(cell_reselect_hysteresis=7))


def benign_reselect_hysteresis_outlier() -> Case:
    return S.context(S.fake(cell_reselect_hysteresis=3))


def trigger_t3212_low() -> Case:
    return S.context(S.fake(t3212=1))


def benign_t3212_low() -> Case:
    return S.context(S.fake(t3212=10))


def trigger_rxlev_access_min_low() -> Case:
    return S.context(S.fake(rxlev_access_min=0))


def benign_rxlev_access_min_low() -> Case:
    return S.context(S.fake(rxlev_access_min=8))


def trigger_ms_txpwr_max_outlier() -> Case:
    return S.context(S.fake(ms_txpwr_max_cch=15))


def benign_ms_txpwr_max_outlier() -> Case:
    return S.context(S.fake(ms_txpwr_max_cch=5))


def _si3(bs_pa_mfrms: int) -> dict[str, str]:
    from fbsdetect.sysinfo.cell import CellSpec, build_cell_si

    return {k: v.hex() for k, v in build_cell_si(CellSpec(460, 0, 10290, 41099, 90, 37,
                                                           bs_pa_mfrms=bs_pa_mfrms)).items()}


def _town_si(bs_pa_mfrms: int) -> list[Any]:
    si = _si3(bs_pa_mfrms)
    return [S.cell(c.arfcn, mnc=c.mnc, lac=c.lac, cid=c.cid, bsic=c.bsic, si=si) for c in S.town()]


def trigger_paging_group_outlier() -> Case:
    return S.context(S.fake(si=_si3(2)), _town_si(4))


def benign_paging_group_outlier() -> Case:
    return S.context(S.fake(si=_si3(4)), _town_si(4))


def trigger_si_announced_missing() -> Case:
    si = _si3(4)
    si.pop("2quater")
    c, ctx = S.context(S.fake(si=si, blocks_ok=24))
    from dataclasses import replace
    c = replace(c, bcch_tc=(2,) * 8)
    return c, replace(ctx, cell=c)


def benign_si_announced_missing() -> Case:
    si = _si3(4)
    si.pop("2quater")
    c, ctx = S.context(S.fake(si=si, blocks_ok=60))  # many blocks, but the cycle was not covered
    from dataclasses import replace
    c = replace(c, bcch_tc=(4, 4, 4, 4, 1, 0, 0, 4))
    return c, replace(ctx, cell=c)


def trigger_param_vector_outlier() -> Case:
    return S.context(S.fake(t3212=1, cro=40, cell_reselect_hysteresis=7, rxlev_access_min=0, gprs=False))


def benign_param_vector_outlier() -> Case:
    return S.context(S.fake(t3212=10))


# ------------------------------------------------------------------ radio

def trigger_power_above_pathloss() -> Case:
    # clone of 41047 (registered 1.3 km away) heard at -25 dBm
    town = S.town()
    return S.context(S.fake(arfcn=94, lac=10291, cid=41047, bsic=19, power=-25.0), town[:2] + town[3:])


def benign_power_above_pathloss() -> Case:
    town = S.town()
    return S.context(town[2], town[:2] + town[3:])


def _track(n: int, moving: bool, step: float = 1.0) -> list[tuple[float, float]]:
    k = step if moving else 0.0
    return [(S.POS[0] + 0.0004 * k * i, S.POS[1] + 0.0008 * k * i) for i in range(n)]


def _history(target_powers: list[float], moving: bool, peer_swing: float = 2.0) -> tuple[Any, list[Any]]:
    track = _track(len(target_powers), moving)
    hist = [S.fake(power=p, t=10.0 * i, pos=track[i]) for i, p in enumerate(target_powers)]
    others = []
    for i, pos in enumerate(track):
        for c in S.town(t=10.0 * i):
            from dataclasses import replace
            others.append(replace(c, lat=pos[0], lon=pos[1],
                                  power_dbm=(c.power_dbm or 0) + (peer_swing if i % 2 else 0.0)))
    return hist, others


def trigger_moving_transmitter() -> Case:
    hist, others = _history([-70, -62, -50, -44, -52, -66], moving=False)
    return S.context(hist[-1], hist[:-1] + others)


def benign_moving_transmitter() -> Case:
    hist, others = _history([-50, -52, -51, -49, -50, -51], moving=False)
    return S.context(hist[-1], hist[:-1] + others)


def benign2_moving_transmitter() -> Case:
    # a moving receiver passing a fixed site: power follows the distance
    import math

    from fbsdetect.detect.context import distance_m

    track = _track(8, True)
    site = (S.POS[0] + 0.004, S.POS[1] + 0.002)
    hist = [S.fake(power=-10 - 30 * math.log10(distance_m(*p, *site)), t=10.0 * i, pos=p)
            for i, p in enumerate(track)]
    return S.context(hist[-1], hist[:-1])


def trigger2_moving_transmitter() -> Case:
    # a receiver driving 6 km with a transmitter that keeps 200 m from it: constant strong power
    hist = [S.fake(power=-30.0 + (1.0 if i % 2 else -1.0), t=10.0 * i, pos=p)
            for i, p in enumerate(_track(8, True, step=8.0))]
    return S.context(hist[-1], hist[:-1])


def trigger_freq_offset_outlier() -> Case:
    return S.context(S.fake(offset_hz=450.0))


def benign_freq_offset_outlier() -> Case:
    return S.context(S.fake(offset_hz=30.0))  # the dongle's 12.5 ppm is common to all


def _freq_baseline(offset_hz: float) -> Baseline:
    b = Baseline()
    for k in range(3):
        b.learn_all([Seen.of(c, tuning_id=k) for c in
                     [*S.town(t=20.0 * k), S.cell(92, lac=10290, cid=41021, bsic=35, t=20.0 * k + 1,
                                                  offset_hz=offset_hz)][1:]])
    return b


def trigger_freq_offset_changed() -> Case:
    # the cell had its carrier where the others put the dongle; now it is 200 Hz off
    town = S.town()
    return S.context(S.cell(92, lac=10290, cid=41021, bsic=35, offset_hz=200.0), town[1:],
                     baseline=_freq_baseline(0.0))


def benign_freq_offset_changed() -> Case:
    town = S.town()
    return S.context(S.cell(92, lac=10290, cid=41021, bsic=35, offset_hz=125.0), town[1:],
                     baseline=_freq_baseline(110.0))


def trigger_power_jump_baseline() -> Case:
    town = S.town()
    b = Baseline()
    for k in range(4):
        b.learn(Seen.of(S.cell(92, lac=10290, cid=41021, bsic=35, power=-75.0 - k)))
    return S.context(S.cell(92, lac=10290, cid=41021, bsic=35, power=-45.0), town[1:], baseline=b)


def benign_power_jump_baseline() -> Case:
    town = S.town()
    b = Baseline()
    for k in range(4):
        b.learn(Seen.of(S.cell(92, lac=10290, cid=41021, bsic=35, power=-57.0 - k)))
    return S.context(town[0], town[1:], baseline=b)


def trigger_strong_unknown_cell() -> Case:
    return S.context(S.fake(lac=9999, cid=1, power=-35.0))


def benign_strong_unknown_cell() -> Case:
    # as strong, but registered (a receiver next to a mast)
    town = S.town()
    return S.context(S.cell(92, lac=10290, cid=41021, bsic=35, power=-35.0), town[1:])


# ------------------------------------------------------------------ lifetime

def _sweeps(target_in: list[int], n: int = 6) -> Case:
    others, sweeps = [], {}
    target = None
    for k in range(n):
        for c in S.town(t=20.0 * k):
            others.append(c)
            sweeps[id(c)] = k
        if k in target_in:
            o = S.fake(t=20.0 * k + 1)
            sweeps[id(o)] = k
            others.append(o)
            target = o
    assert target is not None
    others.remove(target)
    return S.context(target, others, sweeps=sweeps)


def trigger_short_lived() -> Case:
    return _sweeps([2])


def benign_short_lived() -> Case:
    return _sweeps([0, 1, 2, 3, 4, 5])


# ------------------------------------------------------------------ behaviour

def _paging(target: PagingStats, peer: PagingStats) -> Case:
    town = S.town()
    f = S.fake()
    pg = {id(c): peer for c in town}
    pg[id(f)] = target
    return S.context(f, town, paging=pg)


def trigger_paging_rate() -> Case:
    return _paging(PagingStats(80, 40, 60, 8.0), PagingStats(16, 2, 30, 8.0))


def benign_paging_rate() -> Case:
    return _paging(PagingStats(20, 2, 30, 8.0), PagingStats(16, 2, 30, 8.0))


def trigger_paging_imsi_share() -> Case:
    return _paging(PagingStats(30, 30, 5, 8.0), PagingStats(16, 1, 30, 8.0))


def benign_paging_imsi_share() -> Case:
    # an operator paging by IMSI everywhere
    return _paging(PagingStats(30, 30, 5, 8.0), PagingStats(16, 25, 10, 8.0))


# ------------------------------------------------------------------ spectrum

def _lte(rise: float) -> list[LteSample]:
    from fbsdetect.detect.context import iso_to_unix

    t = iso_to_unix(S.T0)
    assert t is not None
    return [LteSample(t + 5.0, "B5", -60.0 + rise, -60.0)]


def trigger_lte_jamming_new_cell() -> Case:
    return S.context(S.fake(lac=9999, cid=1, power=-40.0), lte=_lte(15.0))


def benign_lte_jamming_new_cell() -> Case:
    # the same jamming, but the strong cell is a registered one
    town = S.town()
    return S.context(S.cell(92, lac=10290, cid=41021, bsic=35, power=-40.0), town[1:], lte=_lte(15.0))


# ------------------------------------------------------------------ the tests

FIXTURES: dict[str, dict[str, list[Callable[[], Case]]]] = {}
for _name, _fn in list(globals().items()):
    for _kind in ("trigger", "benign"):
        if _name.startswith(_kind) and callable(_fn) and "_" in _name:
            _mod_name = _name.split("_", 1)[1]
            FIXTURES.setdefault(_mod_name, {"trigger": [], "benign": []})[_kind].append(_fn)

RULES = {_mod(r.id): r for r in all_rules()}


def test_at_least_25_rules() -> None:
    assert len(RULES) >= 25


def _tested_elsewhere(mod: str) -> bool:
    """A rule whose cases live in their own module (tests/**/test_<module>.py) instead of here."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    return any(root.rglob(f"test_{mod}.py"))


@pytest.mark.parametrize("mod", sorted(RULES))
def test_every_rule_has_both_fixtures(mod: str) -> None:
    f = FIXTURES.get(mod, {})
    if not f and _tested_elsewhere(mod):
        return
    assert f.get("trigger") and f.get("benign"), (
        f"rule {RULES[mod].id} lacks a trigger_/benign_ fixture here or a tests/**/test_{mod}.py")


CASES = [(m, k, fn) for m, d in sorted(FIXTURES.items()) for k in ("trigger", "benign") for fn in d[k]]


@pytest.mark.parametrize(("mod", "kind", "fn"), CASES, ids=[f"{fn.__name__}" for _, _, fn in CASES])
def test_rule_fixture(mod: str, kind: str, fn: Callable[[], Case]) -> None:
    rule = RULES[mod]
    cell, ctx = fn()
    f = rule.run(cell, ctx)
    if kind == "trigger":
        assert f is not None, f"{rule.id} did not fire on {fn.__name__}"
        assert f.rule_id == rule.id and f.version == rule.version and 0 < f.score <= 1
        assert "Innocent causes" in f.evidence, f.evidence
        print(rule.id, "->", f.evidence)
    else:
        assert f is None, f"{rule.id} fired on {fn.__name__}: {f.evidence if f else ''}"
