"""The SI frames the simulator sends, wrapped in GSMTAP (export/gsmtap.py,
export/pcap.py) and dissected by Debian's tshark: no malformed packets, and
MCC/MNC/LAC/CI/BA list/T3212 equal the scene's values."""

from __future__ import annotations

import pytest

from fbsdetect.sim.content import cell_frames
from fbsdetect.sim.scene import load_scene
from tests.conftest import ROOT, require_program
from tests.sysinfo.tshark import dissect

pytestmark = pytest.mark.external


def test_demo_scene_si_as_tshark_sees_it() -> None:
    tshark = require_program("tshark")
    scene = load_scene(ROOT / "scanners" / "demo.toml")
    sis = [cell_frames(cell).si for cell in scene.cells]
    keys = [(i, t) for i, si in enumerate(sis) for t in sorted(si)]
    dissected = dict(zip(keys, dissect(tshark, [sis[i][t] for i, t in keys]), strict=True))  # one run
    for i, (cell, si) in enumerate(zip(scene.cells, sis, strict=True)):
        ds = {t: d for (j, t), d in dissected.items() if j == i}
        for t, d in ds.items():
            assert not d.warnings, f"{cell.name} SI{t}: {d.warnings}"
            assert "gsm_a.ccch" in d.protos, d.protos
        si3, si4 = ds["3"], ds["4"]
        for d in (si3, si4):
            assert d.int("e212.lai.mcc") == cell.mcc
            assert d.int("e212.lai.mnc") == cell.mnc
            assert d.int("gsm_a.lac") == cell.lac
        assert si3.int("gsm_a.bssmap.cell_ci") == cell.cid
        assert si3.int("gsm_a.rr.t3212") == cell.t3212
        assert ds["2"].arfcn_lists() == [sorted(cell.neighbours)]
        assert ("2quater" in si) == cell.si2quater
