"""The Control Channel Description keys of a scene cell (ccch, bs_ag_blks_res,
bs_pa_mfrms, mscr, att): they reach SI3 as the scene says (tshark agrees), the
simulator pages only in the CCCH blocks the reservation leaves, and a rendered
recording decodes back to the same observation `params`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fbsdetect.errors import BadInput
from fbsdetect.sim.content import cell_frames
from fbsdetect.sim.scene import loads_scene
from fbsdetect.sysinfo.cell import CellParams
from tests.conftest import require_program
from tests.sim.scenes import ONE_CELL
from tests.sysinfo.compare import compare_params
from tests.sysinfo.tshark import dissect

KEYS = ("ccch", "bs_ag_blks_res", "bs_pa_mfrms", "mscr", "att")
CASES = [
    ({}, dict(ccch_conf=0, ccch_timeslots=1, ccch_combined=False, bs_ag_blks_res=1, bs_pa_mfrms=4, mscr=1,
              att=True, paging_groups=8 * 4)),
    (dict(ccch='"combined"', bs_ag_blks_res=2, bs_pa_mfrms=9, mscr=0, att="false"),
     dict(ccch_conf=1, ccch_timeslots=1, ccch_combined=True, bs_ag_blks_res=2, bs_pa_mfrms=9, mscr=0,
          att=False, paging_groups=1 * 9)),
    (dict(bs_ag_blks_res=0, bs_pa_mfrms=2),
     dict(ccch_conf=0, bs_ag_blks_res=0, bs_pa_mfrms=2, paging_groups=18)),
    (dict(bs_ag_blks_res=7, bs_pa_mfrms=6), dict(bs_ag_blks_res=7, bs_pa_mfrms=6, paging_groups=2 * 6)),
]


def _scene(keys: dict[str, object], duration: float = 1.0) -> str:
    return ONE_CELL.format(duration=duration) + "".join(f"{k} = {v}\n" for k, v in keys.items())


@pytest.mark.parametrize(("keys", "want"), CASES)
def test_scene_keys_reach_si3_and_tshark_agrees(keys: dict[str, object], want: dict[str, object]) -> None:
    cell = loads_scene(_scene(keys)).cells[0]
    si = cell_frames(cell).si
    p = CellParams.from_frames(si)
    assert {k: getattr(p, k) for k in want} == want
    assert p.si2quater_on_bcch_ext is False and p.si13_on_bcch_ext is False  # the simulator's BCCH Norm
    assert {k: cell.params_json()[k] for k in KEYS} == {
        "ccch": "combined" if p.ccch_combined else "non-combined", "bs_ag_blks_res": p.bs_ag_blks_res,
        "bs_pa_mfrms": p.bs_pa_mfrms, "mscr": p.mscr, "att": p.att}  # truth.json's resolved keys
    (d,) = dissect(require_program("tshark"), [si["3"]])
    assert not d.warnings, d.warnings
    compare_params(p, d, "3")


@pytest.mark.parametrize(("key", "value"), [("bs_ag_blks_res", 8), ("bs_pa_mfrms", 1), ("bs_pa_mfrms", 10),
                                            ("mscr", 2)])
def test_out_of_range_keys_are_bad_input(key: str, value: int) -> None:
    with pytest.raises(BadInput) as e:
        loads_scene(_scene({key: value}))
    assert f"'{key}'" in str(e.value)


def test_paging_leaves_the_reserved_access_grant_blocks(tmp_path: Path) -> None:
    """A rendered cell pages only in CCCH blocks past BS_AG_BLKS_RES (TS 45.002 6.5.1:
    the first ones of a 51-multiframe are the access grants'), and its recording decodes
    to the scene's Control Channel Description in the observation's params."""
    from fbsdetect.receiver import cell_observations, decode_recording
    from fbsdetect.sim.output import simulate
    from fbsdetect.sources.recording import Recording
    from fbsdetect.sysinfo import paging, parse_any

    text = _scene(dict(bs_ag_blks_res=3, bs_pa_mfrms=5, mscr=0), duration=2.5)
    scene = loads_scene(text.replace("paging_rate = 4.0", "paging_rate = 40.0"), stem="ag3")
    out = simulate(scene, tmp_path)
    truth = json.loads(Path(out.truth_path).read_text())
    (cell,) = truth["cells"]
    assert (cell["bs_ag_blks_res"], cell["bs_pa_mfrms"], cell["mscr"]) == (3, 5, 0)
    # non-combined CCCH blocks start at T3 2 (BCCH), 6, 12, 16, 22, 26, 32, 36, 42, 46: the first 3
    # CCCH blocks (T3 6, 12, 16) are reserved for access grants
    pages = [b for b in cell["blocks"] if b["channel"] == "CCCH"
             and isinstance(m := parse_any(bytes.fromhex(b["hex"])), paging.PagingRequest) and not m.is_empty]
    assert len(pages) > 20
    assert {b["fn"] % 51 for b in pages} <= {22, 26, 32, 36, 42, 46}
    (res,) = decode_recording(Recording.open(out.meta_path))
    (o,) = cell_observations(res)
    assert {k: o.params[k] for k in ("ccch_conf", "ccch_timeslots", "ccch_combined", "bs_ag_blks_res",
                                     "bs_pa_mfrms", "mscr", "paging_groups", "si2quater_on_bcch_ext",
                                     "si13_on_bcch_ext")} == {
        "ccch_conf": 0, "ccch_timeslots": 1, "ccch_combined": False, "bs_ag_blks_res": 3, "bs_pa_mfrms": 5,
        "mscr": 0, "paging_groups": 6 * 5, "si2quater_on_bcch_ext": False, "si13_on_bcch_ext": False}
