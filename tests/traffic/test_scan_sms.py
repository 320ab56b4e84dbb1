"""Acceptance: a fake cell delivers 20 SMS (UCS2 Chinese, one concatenated,
GSM 7-bit English) to simulated phones next to legitimate cells whose
dedicated channels are ciphered; `fbsdetect scan --profile cn` (the shipped
profile, 1.3/2.6 s dwell caps) stores all 20 texts and
senders exactly and none from the legitimate cells; tshark dissects the
exported pcapng's SMS with the same senders and texts.

Texts: the FBS Spam SMS Dataset of Zhang et al., "Lies in the Air:
Characterizing Fake-base-station Spam Ecosystem in China", ACM CCS 2020
(doi 10.1145/3372297.3417257), via ../shared/data/fbs_sms."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fbsdetect.sim.dedicated import unsegment
from tests.conftest import require_program, shared_file

HERE = Path(__file__).resolve().parent
ZH_LONG = ("【中国建设银行】尊敬的用户您好，您的信用卡额度已提升至五万元，为保障您的资金安全，请在二十四小时"
           "内登录我行官方网站 ccb-vip.top 完成身份验证并领取提额礼包，逾期未验证将冻结账户，谢谢合作。")
EN = ["Your parcel is held at customs: pay 2 EUR at http://dhl-fee.top/x today",
      "ICBC: your card ending 8812 is locked. Call 4001234567 to unlock [ref 55]"]

CELL = """
[[cell]]
name = "{name}"
arfcn = {arfcn}
mcc = 460
mnc = 0
lac = {lac}
cid = {cid}
bsic = {bsic}
position = {pos}
eirp_dbm = {eirp}
label = "{label}"
ciphering = {ciph}
identity_request = "{ident}"
lu_reject_cause = {cause}
phones_per_min = {ppm}
"""


FIRST_SMS_S = 2.4
"""The fake's first SMS: after the cn profile's first power pass (18 E-GSM900 tunings, ~1.6 s)
has brought the scan to the fake's tuning. An SMS whose Immediate Assignment went out before a
receiver first listened to the carrier cannot be captured by any receive-only instrument; from
then on the scan keeps its dwell going while conversations in clear are followed (`[radio]
follow_dwell_max_s`), so that none of the 20 is lost to the end of a dwell."""


def _scene(texts: list[tuple[str, str, str]]) -> str:
    head = """
[scene]
name = "fake_sms"
seed = 13
duration_s = 24.0
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
"""
    out = head
    out += CELL.format(name="fake", arfcn=20, lac=7777, cid=4321, bsic=11, pos="[31.231, 121.471]",
                       eirp=25.0, label="fake", ciph="false", ident="imsi", cause=13, ppm=10.0)
    for k, (sender, text, enc) in enumerate(texts):
        out += f'[[cell.sms]]\nat_s = {FIRST_SMS_S + 0.9 * k:.2f}\nsender = "{sender}"\ntext = "{text}"\n' \
               f'encoding = "{enc}"\n'
    out += CELL.format(name="legit-a", arfcn=23, lac=10201, cid=20037, bsic=40, pos="[31.236, 121.476]",
                       eirp=40.0, label="legit", ciph="true", ident="none", cause=0, ppm=30.0)
    out += "sms_from_dataset = 3\n"
    out += CELL.format(name="legit-b", arfcn=26, lac=10202, cid=20074, bsic=29, pos="[31.226, 121.466]",
                       eirp=40.0, label="legit", ciph="true", ident="none", cause=0, ppm=30.0)
    return out


def _texts() -> list[tuple[str, str, str]]:
    lines = shared_file("fbs_sms/fbs_sms_train.jsonl").read_text(encoding="utf-8").splitlines()
    zh = []
    for ln in lines:
        t = unsegment(json.loads(ln)["text"]).replace('"', "'").replace("\\", "/")
        if 20 <= len(t) <= 60 and any("\u4e00" <= ch <= "\u9fff" for ch in t):
            zh.append(t)
        if len(zh) == 17:
            break
    senders = ["95588", "95533", "10086", "95599", "1069012345"]
    out = [(senders[k % len(senders)], t, "ucs2") for k, t in enumerate(zh)]
    out.insert(5, ("95555", ZH_LONG, "ucs2"))
    out.insert(9, ("DHL", EN[0], "gsm7"))
    out.append(("+8613912345678", EN[1], "gsm7"))
    assert len(out) == 20
    return out


@pytest.mark.slow
def test_scan_stores_the_fake_cells_sms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FBSDETECT_KEY_FILE", str(tmp_path / "key"))
    texts = _texts()
    scene = tmp_path / "fake_sms.toml"
    scene.write_text(_scene(texts), encoding="utf-8")
    db = tmp_path / "scan.db"
    env = {"FBSDETECT_KEY_FILE": str(tmp_path / "key")}
    import os

    env = {**os.environ, **env}
    run = subprocess.run([sys.executable, "-m", "fbsdetect", "scan", "--source", f"sim:{scene}",
                          "--profile", "cn", "--db", f"sqlite:///{db}",
                          "--summary-json", str(tmp_path / "summary.json")],
                         check=True, capture_output=True, text=True, env=env, timeout=1200)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["profile"] == "cn" and summary["followed_s"] > 0  # the dwell went on for them
    con = sqlite3.connect(db)
    rows = con.execute("SELECT o.arfcn, s.sender, s.text, s.encoding, s.parts, s.complete, s.category "
                       "FROM sms s JOIN observation o ON o.id = s.observation_id").fetchall()
    assert all(r[6] for r in rows)  # categorised (fbsdetect.sms)
    got = {(r[1], r[2]) for r in rows if r[5]}
    assert {r[0] for r in rows} == {20}  # nothing from the ciphered legitimate cells
    assert got == {(s, t) for s, t, _ in texts}
    assert any(r[4] == 2 and r[2] == ZH_LONG for r in rows)
    n_traffic = con.execute("SELECT count(*) FROM traffic").fetchone()[0]
    assert n_traffic >= 1
    # tshark reads the same SMS from the exported pcapng
    tshark = require_program("tshark")
    pcap = tmp_path / "out.pcapng"
    subprocess.run([sys.executable, "-m", "fbsdetect", "export", "--format", "pcap", "-o", str(pcap),
                    "--db", f"sqlite:///{db}"], check=True, capture_output=True, text=True, env=env)
    p = subprocess.run([tshark, "-r", str(pcap), "-Y", "gsm_sms.sms_text", "-T", "fields",
                        "-E", "separator=\x1f", "-e", "gsm_sms.tp-oa", "-e", "gsm_sms.sms_text"],
                       capture_output=True, text=True, check=True)
    seen = {tuple(ln.split("\x1f")) for ln in p.stdout.splitlines() if ln}
    for sender, text, _ in texts:
        if text == ZH_LONG:
            continue  # two parts: each dissected on its own
        assert (sender.lstrip("+"), text) in seen or (sender, text) in seen, (sender, text)
    # the detection carries the SMS and the traffic counts; the rules fire
    subprocess.run([sys.executable, "-m", "fbsdetect", "analyze", "--db", f"sqlite:///{db}"], check=True,
                   capture_output=True, text=True, env=env)
    dets = [json.loads(x) for x in subprocess.run(
        [sys.executable, "-m", "fbsdetect", "detections", "--json", "--db", f"sqlite:///{db}"], check=True,
        capture_output=True, text=True, env=env).stdout.splitlines()]
    (fake,) = [d for d in dets if d["cell"]["arfcn"] == 20]
    assert {(m["sender"], m["text"]) for m in fake["sms"]} == {(s, t) for s, t, _ in texts}
    assert {"sms-unciphered", "imsi-request-then-reject"} <= {r["id"] for r in fake["rules"]}
    assert fake["traffic"]["lu_rejects"] >= 1 and fake["traffic"]["identity_requests"]["imsi"] >= 1
    assert all(not d.get("sms") for d in dets if d["cell"]["arfcn"] != 20)
    # the evidence package of the fake carries every SMS (sms.json and the report)
    import zipfile

    zpath = tmp_path / "evidence.zip"
    subprocess.run([sys.executable, "-m", "fbsdetect", "export", "--format", "evidence", "--detection",
                    str(fake["id"]), "-o", str(zpath), "--no-pdf", "--db", f"sqlite:///{db}"], check=True,
                   capture_output=True, text=True, env=env)
    with zipfile.ZipFile(zpath) as zf:
        packed = json.loads(zf.read("sms.json"))
        report = zf.read("report.html").decode("utf-8")
        zip_bytes = b"".join(zf.read(n) for n in zf.namelist())
    assert {(m["sender"], m["text"]) for m in packed["sms"]} == {(s, t) for s, t, _ in texts}
    assert all(s in report for s, _t, _ in texts)
    # no simulated phone's TMSI in clear in the database, the exports or the logs
    tmsis = _phone_tmsis(scene)
    assert len(tmsis) >= 20
    blobs = [db.read_bytes(), pcap.read_bytes(), (run.stdout + run.stderr).encode(), zip_bytes]
    for t in tmsis:
        for b in blobs:
            assert t not in b and t.hex().encode() not in b


def _phone_tmsis(scene_path: Path) -> list[bytes]:
    """The TMSIs the simulated phones announce (UA echo of their first message)."""
    from fbsdetect.dsp.gmsk import SYMBOL_RATE_HZ
    from fbsdetect.l3 import identity, lapdm
    from fbsdetect.sim.dedicated import schedule_for
    from fbsdetect.sim.render import cell_timing
    from fbsdetect.sim.scene import load_scene

    sc = load_scene(scene_path)
    out = []
    for c in sc.cells:
        tm = cell_timing(sc, c)
        sched = schedule_for(sc, c, tm.start_fn, SYMBOL_RATE_HZ * (1 + tm.freq_error_ppm * 1e-6))
        for blocks in sched.blocks.values():
            for _t3, _ts, data in blocks:
                f = lapdm.parse_frame(data) if data is not None else "x"
                if not isinstance(f, str) and f.name == "UA" and f.info:
                    off = identity._mi_offset(f.info)
                    assert off is not None
                    out.append(bytes(f.info[off + 2:off + 6]))
    return out
