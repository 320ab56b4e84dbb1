"""Issue 17: victims' identities never appear in clear in what fbsdetect writes.

The demo scene (shortened) is scanned with the cn profile; then every output a
user can make of it is written: the SQLite database, the command logs (stdout and
stderr at -v), `detections --json`, CSV, GeoJSON, KML, GPX, pcapng, the evidence
package (every member, unzipped), the offline map and the monthly report. Each is
searched for the identities of the scene's simulated phones, which the test gets
from the simulator itself (the same seeded transmitters the virtual dongle runs):
every IMSI and TMSI paged on any cell, and every TMSI a phone gave in its first
message on the fake's dedicated channel (echoed in the downlink UA). Forms
searched: IMSI digits, TMSI hex (either case) in every file, and in binary files
(database, pcapng, package members) also the raw octets as they travel in a
Mobile Identity / Paging Request. The scene's phones have no MSISDN on the air
(an SMS-DELIVER names the sender and the SMS centre, not the recipient).

Identities are pseudonymised by default (fbsdetect.l3.identity);
FBSDETECT_CLEAR_IDENTITIES=1 is the user's explicit opt-in and is not set here.
A control makes sure the search is not vacuous: the stored paging frames are the
scene's own paging frames with the identities replaced by their keyed pseudonyms
(the test knows the key), so the scan did capture the pages it is searched for."""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

DURATION_S = 40.0


def _tmsi_octets(hex8: str) -> bytes:
    return bytes.fromhex(hex8)


def _imsi_octets(digits: str) -> bytes:
    """The Mobile Identity value of an IMSI (TS 24.008 10.5.1.4), as paged."""
    odd = len(digits) % 2
    out = bytearray([(int(digits[0]) << 4) | (odd << 3) | 1])
    rest = digits[1:]
    for i in range(0, len(rest), 2):
        lo = int(rest[i])
        hi = int(rest[i + 1]) if i + 1 < len(rest) else 0xF
        out.append((hi << 4) | lo)
    return bytes(out)


def scene_identities(scene_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, set[str]],
                                                                               list[bytes]]:
    """The identities the scene's phones have on the air, from the simulator's own
    transmitters: {"imsi": {...}, "tmsi": {...}}, and the paging frames sent."""
    import fbsdetect.sim.dedicated as ded
    from fbsdetect.sim.content import cell_frames
    from fbsdetect.sim.render import _CellState
    from fbsdetect.sim.scene import load_scene
    from fbsdetect.sim.transmitter import MF_BITS

    ids: dict[str, set[str]] = {"imsi": set(), "tmsi": set()}
    frames_sent: list[bytes] = []
    real_pr, real_lu = ded.messages.build_paging_response_tmsi, ded.messages.build_lu_request_tmsi

    def pr(tmsi: bytes, *a: Any, **k: Any) -> bytes:
        ids["tmsi"].add(tmsi.hex())
        return real_pr(tmsi, *a, **k)

    def lu(tmsi: bytes, *a: Any, **k: Any) -> bytes:
        ids["tmsi"].add(tmsi.hex())
        return real_lu(tmsi, *a, **k)

    monkeypatch.setattr(ded.messages, "build_paging_response_tmsi", pr)
    monkeypatch.setattr(ded.messages, "build_lu_request_tmsi", lu)
    scene = load_scene(scene_path)
    for cell in scene.cells:
        cf = cell_frames(cell)
        page = cf.paging

        def paging(identities: Any, page: Any = page) -> bytes:
            for kind, value in identities:
                ids[kind].add(value)
            frame = bytes(page(identities))
            frames_sent.append(frame)
            return frame

        st = _CellState(scene, cell, dataclasses.replace(cf, paging=paging), (0.0, 0.0))
        n_mf = int(scene.info.duration_s * 1625000 / 6 / MF_BITS) + 4
        for m in range(-1, n_mf):
            st.tx.multiframe(m)
    monkeypatch.undo()
    return ids, frames_sent


def _run(args: list[str], env: dict[str, str], logs: list[str]) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([sys.executable, "-m", "fbsdetect", *args], env=env, capture_output=True, text=True,
                       timeout=900, cwd=ROOT)
    logs.append(r.stdout)
    logs.append(r.stderr)
    assert r.returncode == 0, (args, r.stderr[-3000:])
    return r


@pytest.mark.slow
def test_no_identity_in_clear_after_a_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = (ROOT / "scanners" / "demo.toml").read_text(encoding="utf-8")
    scene_path = tmp_path / "demo.toml"
    scene_path.write_text(re.sub(r"(?m)^duration_s\s*=.*$", f"duration_s = {DURATION_S}", src, count=1),
                          encoding="utf-8")
    key = tmp_path / "identity.key"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FBSDETECT_")}
    env.update(FBSDETECT_KEY_FILE=str(key), FBSDETECT_DB=f"sqlite:///{tmp_path / 'fb.db'}")
    logs: list[str] = []
    out = tmp_path / "out"
    out.mkdir()
    _run(["registry", "import", str(ROOT / "scanners" / "demo-registry.csv")], env, logs)
    _run(["-v", "scan", "--source", f"sim:{scene_path}", "--profile", "cn", "--sensor", "car",
          "--summary-json", str(out / "summary.json")], env, logs)
    _run(["detections"], env, logs)
    dets = _run(["detections", "--json"], env, logs).stdout
    (out / "detections.jsonl").write_text(dets, encoding="utf-8")
    top = re.match(r'\{"id": (\d+)', dets)
    assert top, "the scan flagged nothing"
    assert '"sms": [{' in dets, "the fake's SMS were not captured: the scene would not test the SDCCH path"
    for fmt, name in (("csv", "obs.csv"), ("geojson", "obs.geojson"), ("kml", "obs.kml"), ("gpx", "obs.gpx"),
                      ("pcap", "frames.pcapng")):
        _run(["export", "--format", fmt, "-o", str(out / name)], env, logs)
    _run(["export", "--format", "evidence", "--detection", top.group(1), "-o", str(out / "evidence.zip")],
         env, logs)
    _run(["map", "-o", str(out / "map.html"), "--offline"], env, logs)
    _run(["report", "--month", "2026-03", "-o", str(out / "report")], env, logs)
    (out / "logs.txt").write_text("\n".join(logs), encoding="utf-8")
    with zipfile.ZipFile(out / "evidence.zip") as z:
        z.extractall(out / "evidence")

    ids, frames_sent = scene_identities(scene_path, monkeypatch)
    assert len(ids["tmsi"]) > 100 and len(ids["imsi"]) > 10, {k: len(v) for k, v in ids.items()}

    # control: the database holds the scene's paging frames, pseudonymised with the install's key
    from fbsdetect.l3.identity import pseudonymise_paging

    k = key.read_bytes()
    expected = {pseudonymise_paging(f, k) for f in frames_sent}
    con = sqlite3.connect(tmp_path / "fb.db")
    stored = {bytes(d) for (d,) in con.execute("select data from frame where channel in ('PCH', 'CCCH')")}
    con.close()
    assert len(stored & expected) >= 10, "the scan stored none of the scene's paging frames"

    # a TMSI of decimal digits only (~2 %) is left out of the text search: 8-digit runs of coordinates
    # and times would match by chance; its octets are still searched in binary files
    hex_tmsis = {t for t in ids["tmsi"] if re.search("[a-f]", t)}
    text_needles = set(ids["imsi"]) | hex_tmsis | {t.upper() for t in hex_tmsis}
    bin_needles = {_tmsi_octets(t) for t in ids["tmsi"]} | {_imsi_octets(v) for v in ids["imsi"]}
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "identity.key"
             and not p.name.endswith(".sigmf-data") and p.suffix != ".zip"]
    assert any(p.name == "fb.db" for p in files) and any(p.name.endswith(".pcapng") for p in files)
    found: list[str] = []
    binary_suffixes = {".db", ".pcapng", ".pcap", ".db-wal"}
    for p in files:
        raw = p.read_bytes()
        low = raw.decode("latin-1")
        for n in text_needles:
            if n in low:
                found.append(f"{p.relative_to(tmp_path)}: {n}")
        if p.suffix in binary_suffixes or b"\x00" in raw[:4096]:
            for b in bin_needles:
                if b in raw:
                    found.append(f"{p.relative_to(tmp_path)}: octets {b.hex()}")
    assert not found, f"{len(found)} identities in clear, e.g. {found[:8]}"


@pytest.mark.slow
def test_decode_frames_of_a_recording_carry_no_identity_in_clear(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`decode --frames` and `--pcap` (the gr-gsm-like raw views) pseudonymise paged and echoed
    identities by default; FBSDETECT_CLEAR_IDENTITIES=1 gives the frames as received (the control:
    the same frames, the identities in clear, each pseudonymised frame the keyed pseudonym of its
    clear twin)."""
    import json

    from fbsdetect.l3.identity import pseudonymise_paging
    from fbsdetect.l3.lapdm import pseudonymise_frame

    src = (ROOT / "scanners" / "demo.toml").read_text(encoding="utf-8")
    scene_path = tmp_path / "demo.toml"
    scene_path.write_text(re.sub(r"(?m)^duration_s\s*=.*$", "duration_s = 5.0", src, count=1),
                          encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FBSDETECT_")}
    env["FBSDETECT_KEY_FILE"] = str(tmp_path / "identity.key")
    logs: list[str] = []
    _run(["simulate", str(scene_path), "-o", str(tmp_path)], env, logs)
    rec = str(tmp_path / "demo.sigmf-data")
    run = _run(["decode", rec, "--frames", "--pcap", str(tmp_path / "d.pcapng")], env, logs)
    clear = _run(["decode", rec, "--frames", "--pcap", str(tmp_path / "clear.pcapng")],
                 {**env, "FBSDETECT_CLEAR_IDENTITIES": "1"}, logs)
    ids, _ = scene_identities(scene_path, monkeypatch)
    assert len(ids["tmsi"]) > 50, ids

    def leaks(text: str, pcap: bytes) -> tuple[list[str], list[str]]:
        return ([t for t in ids["tmsi"] if t in text],
                [t for t in ids["tmsi"] if _tmsi_octets(t) in pcap]
                + [v for v in ids["imsi"] if _imsi_octets(v) in pcap])

    in_text, in_pcap = leaks(run.stdout, (tmp_path / "d.pcapng").read_bytes())
    assert not in_text and not in_pcap, \
        f"{len(in_text)} TMSIs in the frames' hex, {len(in_pcap)} identities in the pcapng"
    assert "pseudonyms" in run.stderr and "FBSDETECT_CLEAR_IDENTITIES=1" in run.stderr
    # the control: in clear, the same decode shows them (so the search above is not vacuous)
    c_text, c_pcap = leaks(clear.stdout, (tmp_path / "clear.pcapng").read_bytes())
    assert len(c_text) > 20 and len(c_pcap) > 20, (len(c_text), len(c_pcap))
    assert "pseudonyms" not in clear.stderr
    # frame for frame: the same frames, only the identities replaced, by the install's keyed pseudonyms
    key = (tmp_path / "identity.key").read_bytes()
    mine = [json.loads(x) for x in run.stdout.splitlines()]
    theirs = [json.loads(x) for x in clear.stdout.splitlines()]
    assert len(mine) == len(theirs) > 100
    changed = 0
    for a, b in zip(mine, theirs, strict=True):
        assert {k: v for k, v in a.items() if k != "hex"} == {k: v for k, v in b.items() if k != "hex"}
        raw = bytes.fromhex(b["hex"])
        if b["channel"] in ("CCCH", "PCH") and len(raw) > 2 and raw[2] in (0x21, 0x22, 0x24):
            want = pseudonymise_paging(raw, key)
        elif b["channel"].startswith(("SDCCH", "SACCH")):
            want = pseudonymise_frame(raw, key, sacch=b["channel"].startswith("SACCH"))
        else:
            want = raw
        assert bytes.fromhex(a["hex"]) == want, (a, b)
        changed += want != raw
    assert changed > 20 and f"{changed} frame(s)" in run.stderr
