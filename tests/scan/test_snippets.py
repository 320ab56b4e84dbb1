"""IQ snippets of flagged cells (issue 11, `fbsdetect.scan.snippets`): a scan
of a scene with a fake cell keeps SigMF recordings around the fake's decoded
bursts (none for the legitimate cells); the evidence package of its
detection carries them; `sigmf` validates them; `verify` passes, and fails
when a byte of the snippet changes. Plus the keeper's bounds."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from fbsdetect.scan.snippets import SampleTap, SnippetKeeper
from fbsdetect.types import L2Frame

SCENE = """
[scene]
name = "snip"
seed = 5
duration_s = 9.0
start_time = "2026-03-02T09:00:00Z"
[receiver]
sample_rate = 2166666.6666666665
center_freq_hz = 939400000
format = "cu8"
gain_db = 40.0
position = [31.23, 121.47]
[propagation]
model = "log-distance"
exponent = 3.0
[[cell]]
name = "fake"
arfcn = 20
mcc = 460
mnc = 0
lac = 7777
cid = 4321
bsic = 11
position = [31.231, 121.471]
eirp_dbm = 25.0
label = "fake"
ciphering = false
identity_request = "imsi"
lu_reject_cause = 13
phones_per_min = 20.0
[[cell.sms]]
at_s = 0.3
sender = "95588"
text = "Your account is locked: call 4001234567"
encoding = "gsm7"
[[cell.sms]]
at_s = 2.0
sender = "95533"
text = "Refund ready: visit http://tax-back.top now"
encoding = "gsm7"
[[cell.sms]]
at_s = 4.5
sender = "95599"
text = "Prize: you won 5000 yuan, claim at http://gift-cn.top"
encoding = "gsm7"
[[cell.sms]]
at_s = 6.8
sender = "10086"
text = "Your number will be suspended today, call 4009876543"
encoding = "gsm7"
[[cell]]
name = "legit-a"
arfcn = 23
mcc = 460
mnc = 0
lac = 10201
cid = 20037
bsic = 40
position = [31.236, 121.476]
eirp_dbm = 40.0
label = "legit"
ciphering = true
phones_per_min = 30.0
[[cell]]
name = "legit-b"
arfcn = 26
mcc = 460
mnc = 0
lac = 10201
cid = 20074
bsic = 29
position = [31.226, 121.466]
eirp_dbm = 40.0
label = "legit"
ciphering = true
phones_per_min = 30.0
"""

PROFILE = (Path(__file__).resolve().parents[1] / "traffic" / "fake_sms_profile.toml").read_text(
    encoding="utf-8")


def _fbs(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fbsdetect", *args], capture_output=True, text=True, env=env,
                          check=check, timeout=900)


@pytest.mark.slow
def test_scan_keeps_sigmf_snippets_of_the_fake_cell_and_the_evidence_package_carries_them(
        tmp_path: Path) -> None:
    import os

    import sigmf

    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "FBSDETECT_KEY_FILE": str(tmp_path / "idkey")}
    scene = tmp_path / "snip.toml"
    scene.write_text(SCENE, encoding="utf-8")
    prof = tmp_path / "prof.toml"
    prof.write_text(PROFILE.replace("dwell_max_s = 30.0", "dwell_max_s = 2.6")
                    .replace("identity_dwell_max_s = 30.0", "identity_dwell_max_s = 1.3"), encoding="utf-8")
    db = tmp_path / "data" / "scan.db"
    db.parent.mkdir()
    url = f"sqlite:///{db}"
    _fbs("scan", "--source", f"sim:{scene}", "--profile", str(prof), "--db", url,
         "--summary-json", str(tmp_path / "sum.json"), env=env)
    summary = json.loads((tmp_path / "sum.json").read_text())
    assert summary["iq_snippets"]["written"] >= 1
    metas = sorted((db.parent / "scan.db.iq").rglob("*.sigmf-meta"))
    assert metas and all(m.name.startswith("a20-b11-") for m in metas)  # the fake only
    # referenced from the fake's observations, relative to the database's folder
    import sqlite3

    con = sqlite3.connect(db)
    refs = con.execute("SELECT arfcn, json_extract(params, '$.iq_snippet') FROM observation "
                       "WHERE json_extract(params, '$.iq_snippet') IS NOT NULL").fetchall()
    con.close()
    assert refs and {a for a, _ in refs} == {20}
    assert all(not r.startswith("/") and ".." not in r and (db.parent / r).is_file() for _, r in refs)
    dets = [json.loads(x) for x in _fbs("detections", "--json", "--db", url, env=env).stdout.splitlines()]
    (fake,) = [d for d in dets if d["cell"]["arfcn"] == 20]
    assert fake["severity"] in ("medium", "high")
    zpath = tmp_path / "ev.zip"
    _fbs("export", "--format", "evidence", "--detection", str(fake["id"]), "-o", str(zpath), "--no-pdf",
         "--db", url, env=env)
    out = tmp_path / "unz"
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        zf.extractall(out)
    packed = [n for n in names if n.startswith("iq/") and n.endswith(".sigmf-meta")]
    assert packed
    channels: set[str] = set()
    for n in packed:
        assert n[: -len("-meta")] + "-data" in names
        m = sigmf.sigmffile.fromfile(str(out / n))
        m.validate()  # the sigmf library's schema check and the data file's SHA-512
        g = m.get_global_info()
        lon, lat = g["core:geolocation"]["coordinates"]
        assert g["core:geolocation"]["type"] == "Point"
        assert abs(lat - 31.23) < 0.01 and abs(lon - 121.47) < 0.01
        assert g["fbsdetect:cell"]["cid"] == 4321 and g["fbsdetect:cell"]["arfcn"] == 20
        assert g["core:sample_rate"] == pytest.approx(1625000.0 / 6.0 * 4)
        caps, anns = m.get_captures(), m.get_annotations()
        assert caps and len(anns) == len(caps)
        assert all(c["core:frequency"] == pytest.approx(939.0e6) for c in caps)
        assert all(c["core:datetime"].startswith("2026-03-02T09:00:0") for c in caps)
        x = m.read_samples()
        assert x.size > 0 and np.all(np.isfinite(x)) and float(np.mean(np.abs(x))) > 0.01
        channels |= {a["fbsdetect:channel"] for a in anns}  # each annotation names a decoded block
    # the dedicated channels (what the fake said to phones) are among what was kept
    assert any(c.startswith(("SDCCH", "SACCH")) for c in channels)
    assert _fbs("verify", str(zpath), env=env, check=False).returncode == 0
    # one flipped byte in a snippet's samples: verify names it
    from tests.export.test_evidence import _rezip

    data_name = packed[0][: -len("-meta")] + "-data"
    raw = bytearray((out / data_name).read_bytes())
    raw[len(raw) // 2] ^= 0x01
    bad = tmp_path / "bad.zip"
    _rezip(zpath, bad, {data_name: bytes(raw)})
    r = _fbs("verify", str(bad), env=env, check=False)
    assert r.returncode == 1 and data_name in (r.stdout + r.stderr)


# --------------------------------------------------------------------------- the keeper's bounds


class _Src:
    sample_rate_hz = 2166666.6666666665

    def __init__(self) -> None:
        self.time_s = 0.0
        self.rng = np.random.default_rng(1)

    def read(self, n: int) -> np.ndarray:
        x = (self.rng.standard_normal(n) + 1j * self.rng.standard_normal(n)).astype(np.complex64) * 0.1
        self.time_s += n / self.sample_rate_hz
        return x


@dataclass
class _Carrier:
    arfcn: int
    bsic: int
    freq_hz: float = 939.0e6
    offset_hz: float = 0.0
    band: str = "P-GSM900"
    frames: list[L2Frame] = field(default_factory=list)


def _tap_with(seconds: float) -> SampleTap:
    tap = SampleTap(_Src(), keep_s=seconds)
    for _ in range(int(seconds / 0.02)):
        tap.read(int(0.02 * _Src.sample_rate_hz))
    return tap


def _carrier(arfcn: int, n: int) -> _Carrier:
    fr = [L2Frame(arfcn, 51 * k + 2, 0, "BCCH", bytes(23), time_s=0.05 + 0.0235 * k) for k in range(n)]
    return _Carrier(arfcn, 11, frames=fr)


def test_tap_keeps_only_its_look_back_and_a_window_outside_it_is_none() -> None:
    tap = _tap_with(1.0)
    assert tap.window(0.1, 0.12) is not None
    for _ in range(60):  # 1.2 s more
        tap.read(int(0.02 * _Src.sample_rate_hz))
    assert tap.window(0.1, 0.12) is None
    assert tap.window(2.0, 2.02) is not None
    assert tap.window(2.19, 2.5) is None  # not read yet


def test_per_cell_and_total_bounds_skip_and_drop_counted(tmp_path: Path) -> None:
    tz = datetime(2026, 3, 2, tzinfo=UTC)
    one = 8 * 22_000 * 8  # ~8 block windows of ~20 ms at 1.08 MS/s, cf32
    k = SnippetKeeper(tmp_path, cell_max_bytes=int(2.5 * one), total_max_bytes=int(3.8 * one))
    tap = _tap_with(1.0)
    refs = [k.save(tap, _carrier(20, 20), 939.0e6, time_zero=tz) for _ in range(4)]
    assert all(refs[:3]) and refs[3] is None  # the cell's cap: its first snippets kept
    assert k.counts["skipped"] == 1
    assert all(not r.startswith("/") and (tmp_path / r).is_file() for r in refs[:3] if r)
    r2 = k.save(tap, _carrier(30, 20), 939.0e6, time_zero=tz)
    r3 = k.save(tap, _carrier(31, 20), 939.0e6, time_zero=tz)
    assert r2 and r3
    assert k.counts["dropped"] >= 1  # the fullest cell gave up its oldest snippet
    assert not (tmp_path / refs[0]).exists() and (tmp_path / refs[2]).exists()
    assert k.total_bytes <= k.total_max_bytes
    on_disk = sum(p.stat().st_size for p in tmp_path.rglob("*.sigmf-*"))
    assert on_disk == k.total_bytes


def test_bounds_count_the_meta_file_too(tmp_path: Path) -> None:
    """Review #5: the per-cell and per-run bounds hold for data + meta bytes, not the data alone."""
    from fbsdetect.scan.snippets import meta_estimate

    tz = datetime(2026, 3, 2, tzinfo=UTC)
    tap = _tap_with(1.0)
    probe = SnippetKeeper(tmp_path / "probe")
    ref = probe.save(tap, _carrier(20, 8), 939.0e6, time_zero=tz)
    assert ref
    meta = (tmp_path / "probe" / ref).stat().st_size
    data = probe.counts["bytes"] - meta
    assert meta <= meta_estimate(8)  # the reserve covers a full snippet's meta
    k = SnippetKeeper(tmp_path / "k", cell_max_bytes=data + meta // 2, total_max_bytes=10 * data)
    assert k.save(tap, _carrier(20, 8), 939.0e6, time_zero=tz)
    assert k.total_bytes <= k.cell_max_bytes
    t = SnippetKeeper(tmp_path / "t", cell_max_bytes=10 * data, total_max_bytes=2 * data + meta // 2)
    for arfcn in (20, 20, 30):
        t.save(tap, _carrier(arfcn, 8), 939.0e6, time_zero=tz)
    assert t.total_bytes <= t.total_max_bytes


def test_meta_has_the_tuning_the_measured_offset_and_only_a_trusted_position(tmp_path: Path) -> None:
    from fbsdetect.types import GpsFix

    tz = datetime(2026, 3, 2, tzinfo=UTC)
    tap = _tap_with(1.0)
    k = SnippetKeeper(tmp_path)
    c = _carrier(20, 2)
    c.offset_hz = 1234.5
    no_fix = GpsFix(time=tz, mode=1, lat=31.2, lon=121.4)
    fix3 = GpsFix(time=tz, mode=3, lat=31.2, lon=121.4, alt_m=12.3)
    g = [json.loads((tmp_path / str(k.save(tap, c, 938.8e6, time_zero=tz, fix=f))).read_text())["global"]
         for f in (no_fix, fix3)]
    assert "core:geolocation" not in g[0]
    assert g[1]["core:geolocation"]["coordinates"] == [121.4, 31.2, 12.3]
    assert g[1]["fbsdetect:tuner_center_hz"] == 938.8e6 and g[1]["fbsdetect:freq_offset_hz"] == 1234.5
    assert g[1]["fbsdetect:mix_hz"] == pytest.approx(939.0e6 + 1234.5 - 938.8e6)
