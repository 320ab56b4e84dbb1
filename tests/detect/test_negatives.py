"""The detector must not cry wolf: legitimate situations that earlier tools
flagged stay below medium (engine level, synthetic; the scenario suite in
tests/corpus/scenes checks the same end to end)."""

from __future__ import annotations

from typing import Any

from fbsdetect.detect.context import RegCell, Seen
from fbsdetect.detect.engine import Engine
from fbsdetect.detect.finding import Severity
from tests.detect import support as S


def _severity(target: Any, others: list[Any], reg: Any = None,
              prof: Any = None) -> tuple[Severity, list[str]]:
    eng = Engine(prof or S.profile(), registry=reg if reg is not None else S.registry())
    seen = [Seen.of(o, run_id=1) for o in [*others, target]]
    for s in seen:
        eng.add(s)
    fs = eng.evaluate(seen[-1])
    return eng.score(fs).severity, [f.evidence for f in fs]


def test_new_strong_site_in_a_new_lac_stays_low() -> None:
    # a new site, 25 dB above every registered cell, in a LAC the registry does not know yet, listed by
    # its neighbours (the network knows it)
    town = [S.cell(c.arfcn, mnc=c.mnc, lac=c.lac, cid=c.cid, bsic=c.bsic, power=c.power_dbm,
                   **({"neighbours": [92, 93, 94, 60]} if c.mnc == 0 else S.CU_PARAMS)) for c in S.town()]
    sev, ev = _severity(S.fake(arfcn=60, lac=10299, cid=41777, power=-30.0), town)
    assert sev <= Severity.LOW, ev


def test_missing_from_registry_stays_low() -> None:
    sev, ev = _severity(S.fake(arfcn=92, lac=10290, cid=41021, bsic=35), S.town()[1:],
                        reg=S.registry(drop={41021}))
    assert sev <= Severity.LOW, ev


def test_two_g_only_operator_stays_low() -> None:
    town = [S.cell(c.arfcn, mnc=c.mnc, lac=c.lac, cid=c.cid, bsic=c.bsic, si2quater=False, gprs=False,
                   eutran_neighbours=[]) for c in S.town()]
    sev, ev = _severity(S.fake(arfcn=92, lac=10290, cid=41021, bsic=35, si2quater=False, gprs=False),
                        town[1:])
    assert sev <= Severity.INFO, ev


def test_operator_typical_unusual_parameters_stay_low() -> None:
    town = [S.cell(c.arfcn, mnc=c.mnc, lac=c.lac, cid=c.cid, bsic=c.bsic, cro=12, t3212=4, rxlev_access_min=2)
            for c in S.town()]
    sev, ev = _severity(S.cell(92, lac=10290, cid=41021, bsic=35, cro=12, t3212=4, rxlev_access_min=2),
                        town[1:])
    assert sev <= Severity.INFO, ev


def test_stale_registry_position_stays_low() -> None:
    reg = S.registry([RegCell(460, 0, 10290, 41099, 36.65, 101.80, 1200.0, samples=4, updated=1500000000)])
    sev, ev = _severity(S.fake(arfcn=90, cid=41099, power=-40.0,
                               neighbours=[92, 93, 94, 98]),
                        [S.cell(c.arfcn, mnc=c.mnc, lac=c.lac, cid=c.cid, bsic=c.bsic,
                                neighbours=[90, 92, 93, 94]) for c in S.town()], reg=reg)
    assert sev <= Severity.LOW, ev


def test_lac_border_on_a_drive_stays_low() -> None:
    # the one cell heard of the next location area, registered, at the border
    reg = S.registry([RegCell(460, 0, 10400, 45001, 36.63, 101.79, 1000.0, samples=50)])
    sev, ev = _severity(S.fake(arfcn=60, lac=10400, cid=45001, neighbours=[92, 61, 62]), S.town(), reg=reg)
    assert sev <= Severity.LOW, ev
