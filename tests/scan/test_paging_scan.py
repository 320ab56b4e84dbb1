"""CCCH paging on scans (issue 9): the scan stores a bounded sample of each
cell's paging blocks (PCH, identities pseudonymised) and per-dwell paging
counts, so that the paging rules fire through `scan` + `detections`; SI
changes between visits are events that make a cell "changed" for revisits."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from fbsdetect.scan.runner import CellState, ScanRunner
from fbsdetect.types import L2Frame

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
def test_a_cell_paging_far_more_than_its_peers_fires_the_paging_rate_rule(tmp_path: Path) -> None:
    from fbsdetect.sysinfo.paging import PagingRequest, parse

    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "FBSDETECT_KEY_FILE": str(tmp_path / "idkey")}
    db = tmp_path / "p.db"
    url = f"sqlite:///{db}"
    summ = tmp_path / "s.json"
    scene = HERE / "paging_scene.toml"
    subprocess.run([sys.executable, "-m", "fbsdetect", "scan", "--source", f"sim:{scene}", "--profile", "cn",
                    "--db", url, "--summary-json", str(summ)],
                   check=True, capture_output=True, text=True, env=env, timeout=900)
    cells = {c["arfcn"]: c for c in json.loads(summ.read_text())["cells"]}
    peers = max(cells[23]["paging"]["rate_hz"], cells[26]["paging"]["rate_hz"])
    assert cells[20]["paging"]["rate_hz"] > 3 * peers
    con = sqlite3.connect(db)
    pch = [bytes(d) for (d,) in con.execute("SELECT data FROM frame WHERE channel = 'PCH'")]
    per_obs = con.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM frame WHERE channel = 'PCH' "
                          "GROUP BY observation_id)").fetchone()[0]
    params = [json.loads(p) for (p,) in con.execute("SELECT params FROM observation WHERE kind = 'dwell'")]
    con.close()
    assert pch and all(isinstance(parse(d), PagingRequest) for d in pch)  # a sample, still paging requests
    assert per_obs <= 400
    stored = [p["paging"] for p in params if p.get("paging", {}).get("stored")]
    assert stored and all(p["stored_span_s"] >= 1.0 and p["requests"] >= 0 for p in stored)
    dets = [json.loads(x) for x in subprocess.run(
        [sys.executable, "-m", "fbsdetect", "detections", "--json", "--db", url], check=True,
        capture_output=True, text=True, env=env).stdout.splitlines()]
    rules = {d["cell"]["arfcn"]: {r["id"] for r in d["rules"]} for d in dets}
    assert "paging-rate" in rules[20]
    assert all("paging-rate" not in rules.get(a, set()) for a in (23, 26))


def test_paging_identities_are_pseudonymised_with_their_kinds_kept() -> None:
    from fbsdetect.l3.identity import pseudonymise_paging
    from fbsdetect.sysinfo.paging import MobileIdentity, build_p1, build_p2, build_p3, parse

    key = bytes(range(32))
    imsi, tmsi = MobileIdentity("imsi", "460001234567890"), MobileIdentity("tmsi", "deadbeef")
    for f in (build_p1([imsi, tmsi]), build_p2("01020304", "05060708", imsi),
              build_p3(["01020304", "05060708", "0a0b0c0d", "11223344"])):
        m0, m1 = parse(f), parse(pseudonymise_paging(f, key))
        assert [i.kind for i in m0.identities] == [i.kind for i in m1.identities]  # type: ignore[union-attr]
        for a, b in zip(m0.identities, m1.identities, strict=True):  # type: ignore[union-attr]
            assert a.value != b.value
            if a.kind == "imsi":
                assert b.value[:5] == a.value[:5]  # the home network stays
        assert pseudonymise_paging(f, key) == pseudonymise_paging(f, key)


def _runner_stub(sweeps: int) -> SimpleNamespace:
    stub = SimpleNamespace(sweeps=sweeps, logged=[], cells={}, detector=None,
                           profile=SimpleNamespace(radio=SimpleNamespace(revisit=True)))
    stub.radio_s = lambda t=None: 0.0 if t is None else t
    stub.log = stub.logged.append
    return stub


def test_an_si_change_between_visits_is_an_event_and_makes_the_cell_changed() -> None:
    from fbsdetect.sysinfo.cell import CellSpec, build_cell_si

    si_a = build_cell_si(CellSpec(mcc=460, mnc=0, lac=1, cid=2, bsic=11, arfcn=20, neighbours=(23, 26)))
    si_b = build_cell_si(CellSpec(mcc=460, mnc=0, lac=1, cid=2, bsic=11, arfcn=20, neighbours=(23, 27)))
    st = CellState(20, 11, "P-GSM900", si={"2": si_a["2"], "3": si_a["3"]})
    same = SimpleNamespace(frames=[L2Frame(20, 51 + 2, 0, "BCCH", si_a["2"], time_s=1.0)])
    stub = _runner_stub(1)
    assert ScanRunner._si_change_events(stub, st, same) == []  # type: ignore[arg-type]
    changed = SimpleNamespace(frames=[L2Frame(20, 51 * 9 + 2, 0, "BCCH", si_b["2"], time_s=2.0)])
    ev = ScanRunner._si_change_events(stub, st, changed)  # type: ignore[arg-type]
    assert [e["si"] for e in ev] == ["2"]
    assert ev[0]["was"] == si_a["2"].hex() and ev[0]["now"] == si_b["2"].hex()
    assert st.changed_sweep == 1 and st.n_si_changes == 1 and stub.logged
    stub.cells = {(20, 11): st}
    stub.sweeps = 2
    assert ScanRunner.revisit_candidates(stub) == [st]  # type: ignore[arg-type]


def test_after_an_si_change_the_observation_carries_the_new_parameters() -> None:
    """Review (session 4) #7: once a cell (same ARFCN, BSIC and CGI) sent a new SI3 and an SI2 that
    dropped its neighbours, every later observation still stored the first SI3's T3212/CRO and the
    union of the BA lists, so the rules never saw the change. The merged parameters follow the
    newest frame of each single-instance type."""
    from fbsdetect.sysinfo import si2, si3
    from fbsdetect.sysinfo.common import CellSelection, Lai, RachControl, SelectionParameters
    from fbsdetect.types import CellObservation

    def s3(t3212: int, cro: int) -> bytes:
        return si3.build(41021, Lai(460, 0, 10290), si3.ControlChannel(t3212=t3212), si3.CellOptions(),
                         CellSelection(2, 5, 0, 0, 8), RachControl(),
                         si3.SI3Rest(selection=SelectionParameters(cbq=0, cell_reselect_offset=cro,
                                                                   temporary_offset=0, penalty_time=0)))

    stub = _runner_stub(1)
    stub.source = SimpleNamespace(time_s=0.0)
    stub._si_change_events = lambda st, r: ScanRunner._si_change_events(stub, st, r)
    o = CellObservation(arfcn=62, band="E-GSM900", freq_hz=947.4e6, bsic=35, mcc=460, mnc=0, lac=10290,
                        cid=41021)

    def visit(t: float, *frames: bytes) -> CellObservation:
        fr = [L2Frame(62, 51 * (i + 1) + 2, 0, "BCCH", f, time_s=t + i * 0.2) for i, f in enumerate(frames)]
        r = SimpleNamespace(arfcn=62, bsic=35, band="E-GSM900", first_seen_s=t,
                            si={"3": frames[0], "2": frames[1]}, frames=fr)
        st = ScanRunner._absorb(stub, r, o)  # type: ignore[arg-type]
        return ScanRunner._with_state(stub, o, st)  # type: ignore[arg-type]

    first = visit(1.0, s3(30, 0), si2.build([60, 66, 71]))
    assert first.params["t3212"] == 30 and first.params["cro"] == 0
    assert first.params["neighbours"] == [60, 66, 71]
    later = visit(5.0, s3(1, 40), si2.build([]))
    assert later.params["t3212"] == 1 and later.params["cro"] == 40 and later.params["neighbours"] == []
    assert later.si["3"] == s3(1, 40).hex()


def test_remember_instance_keeps_one_frame_per_si2quater_index() -> None:
    from fbsdetect.sysinfo import si2quater
    from fbsdetect.sysinfo.cell import remember_instance

    inst: dict[str, list[bytes]] = {}
    q0, q1 = si2quater.build(index=0, count=1), si2quater.build(index=1, count=1)
    q0b = si2quater.build(index=0, count=1, thresh_priority_search=5)
    assert q0 != q0b
    assert remember_instance(inst, "2quater", q0) and remember_instance(inst, "2quater", q1)
    assert not remember_instance(inst, "2quater", q0)
    assert remember_instance(inst, "2quater", q0b) and inst["2quater"] == [q1, q0b]
    assert remember_instance(inst, "3", b"a" * 23) and remember_instance(inst, "3", b"b" * 23)
    assert inst["3"] == [b"b" * 23]
