"""The receiver follows Immediate Assignments in a rendered recording
(`decode --frames`): every SDCCH/8 / SACCH/8 (TS1) or SDCCH/4 frame the
simulated fake cell sent is decoded, and the SMS are read back exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fbsdetect.dsp.gmsk import SYMBOL_RATE_HZ
from fbsdetect.receiver import ReceiverConfig, decode_recording
from fbsdetect.sim.dedicated import schedule_for
from fbsdetect.sim.output import simulate
from fbsdetect.sim.scene import load_scene
from fbsdetect.sources.recording import Recording
from tests.sim.test_dedicated import scene_text


@pytest.fixture(autouse=True)
def _key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FBSDETECT_KEY_FILE", str(tmp_path / "key"))


def _render(tmp_path: Path, **kw: object) -> tuple[object, dict, Path]:
    p = tmp_path / "ded.toml"
    p.write_text(scene_text(duration=6.0, ppm=20.0, **kw))  # type: ignore[arg-type]
    scene = load_scene(p)
    out = simulate(scene, tmp_path)
    return scene, json.loads(Path(out.truth_path).read_text()), Path(out.meta_path)


@pytest.mark.parametrize(("mode", "ccch"), [("sdcch8", "non-combined"), ("sdcch4", "combined")])
def test_receiver_follows(tmp_path: Path, mode: str, ccch: str) -> None:
    scene, truth, meta = _render(tmp_path, mode=mode, ccch=ccch)
    cell = truth["cells"][0]
    res = decode_recording(Recording.open(meta), config=ReceiverConfig(all_frames=True))[0]
    (car,) = [c for c in res.carriers if c.is_cell]
    sched = schedule_for(scene, scene.cells[0], cell["start_fn"],
                         SYMBOL_RATE_HZ * (1 + cell["freq_error_ppm"] * 1e-6))
    want = {(sched.fn_of(m, t3), data.hex()) for m, blocks in sched.blocks.items()
            for (t3, _, data) in blocks if data is not None}
    ded = {(f.fn, f.hex) for f in car.frames
           if f.channel in ("SDCCH/8", "SACCH/8", "SDCCH/4", "SACCH/4")}
    lo = min(fn for fn, _ in ded)
    hi = max(f.fn for f in car.frames)
    inside = {w for w in want if lo <= w[0] <= hi}
    assert len(inside) >= 30 and inside <= ded, sorted(inside - ded)[:4]
    if mode == "sdcch8":
        assert {f.ts for f in car.frames if f.channel.startswith(("SDCCH", "SACCH"))} == {1}
    fol = car.traffic
    got = sorted((s.sender, s.text, s.fn) for s in fol.sms if s.complete)
    assert got == sorted((s["sender"], s["text"], s["fn"]) for s in cell["sms"])
    phones = [c for c in cell["traffic"]["conversations"]
              if c["kind"] == "phone" and c["first_sdcch_fn"] + 51 * c["blocks"] < hi]
    assert fol.counts.lu_rejects >= len(phones) and fol.counts.other["blocks_bad"] <= 2


def test_decode_frames_cli(tmp_path: Path) -> None:
    _, _truth, meta = _render(tmp_path)
    p = subprocess.run([sys.executable, "-m", "fbsdetect", "decode", str(meta), "--frames"],
                       capture_output=True, text=True, check=True)
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    chans = {(x["ts"], x["channel"]) for x in lines if x["ts"] != 0}
    assert chans == {(1, "SDCCH/8"), (1, "SACCH/8")}


def test_scan_mode_pseudonymises_identities(tmp_path: Path) -> None:
    """With follow_ccch (the scan's dwells) the UA frames carry pseudonyms; with
    all_frames (decode --frames) they are printed as received."""
    from fbsdetect.l3 import identity, lapdm

    _, _truth, meta = _render(tmp_path)

    def uas(cfg: ReceiverConfig) -> list[bytes]:
        res = decode_recording(Recording.open(meta), config=cfg)[0]
        (car,) = [c for c in res.carriers if c.is_cell]
        out = []
        for f in car.frames:
            p = lapdm.parse_frame(f.data) if f.channel == "SDCCH/8" else "x"
            if not isinstance(p, str) and p.name == "UA" and p.info:
                off = identity._mi_offset(p.info)
                assert off is not None
                out.append(bytes(p.info[off + 2:off + 6]))
        return out

    raw = uas(ReceiverConfig(all_frames=True))
    scan = uas(ReceiverConfig(follow_ccch=True, si_repeats=1, research_s=0.0, chunk_multiframes=1))
    assert raw and scan and not set(raw) & set(scan)
