"""gr-gsm as a subprocess backend, against the native receiver on the same
recordings: the same cells with the same identities and SI frames where
gr-gsm decodes them (differences are listed, not hidden); process hygiene
(no gr-gsm left behind, hung or missing gr-gsm reported in one line)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fbsdetect.errors import BadUsage, NotAvailable
from tests.conftest import ROOT, shared_file
from tests.support.grgsm import unavailable_reason

pytestmark = pytest.mark.external


@pytest.fixture(scope="module")
def grgsm() -> None:
    why = unavailable_reason()
    if why:
        pytest.skip(why)


def _native(path: Path, **kw: float | str) -> dict[int, dict[str, object]]:
    from fbsdetect.receiver import ReceiverConfig, cell_observations, decode_recording
    from fbsdetect.sources.recording import Recording, inspect

    info = inspect(path, **kw)  # type: ignore[arg-type]
    res = decode_recording(Recording(info), config=ReceiverConfig(si_repeats=2))
    return {c.arfcn: c.to_json() for r in res for c in cell_observations(r) if c.arfcn is not None}


def _grgsm(path: Path, fmt: str, rate: float, freq: float) -> dict[int, dict[str, object]]:
    from fbsdetect.grgsm.backend import GrgsmProcess, file_args
    from fbsdetect.grgsm.observe import observations_from_frames

    with GrgsmProcess(file_args(path, fmt=fmt, sample_rate_hz=rate, center_freq_hz=freq)) as p:
        frames = list(p)
    return {c.arfcn: c.to_json() for c in observations_from_frames(frames) if c.arfcn is not None}


def _compare(native: dict[int, dict[str, object]], peer: dict[int, dict[str, object]]) -> list[str]:
    """The differences, in words (printed by the test)."""
    diffs = []
    for a in sorted(set(native) | set(peer)):
        n, g = native.get(a), peer.get(a)
        if n is None or g is None:
            diffs.append(f"ARFCN {a}: only {'gr-gsm' if n is None else 'fbsdetect'} reports it")
            continue
        for k in ("mcc", "mnc", "lac", "cid"):
            if n[k] != g[k]:
                diffs.append(f"ARFCN {a}: {k} {n[k]} (fbsdetect) vs {g[k]} (gr-gsm)")
        ns, gs = n["si"], g["si"]
        assert isinstance(ns, dict) and isinstance(gs, dict)
        for t in sorted(set(ns) | set(gs)):
            if t not in gs:
                diffs.append(f"ARFCN {a}: SI{t} decoded by fbsdetect only")
            elif t not in ns:
                diffs.append(f"ARFCN {a}: SI{t} decoded by gr-gsm only")
            elif ns[t] != gs[t] and t not in ("2quater",):  # instances may differ in which came last
                diffs.append(f"ARFCN {a}: SI{t} differs")
    return diffs


@pytest.mark.slow
def test_refgen_four_cells_both_backends(grgsm: None) -> None:
    path = shared_file("refgen/pub2_multi_940M_2400k.cu8")
    native = _native(path, sample_rate_hz=2.4e6, center_freq_hz=940e6, fmt="cu8")
    peer = _grgsm(path, "cu8", 2.4e6, 940e6)
    diffs = _compare(native, peer)
    print("\n".join(["differences fbsdetect vs gr-gsm:", *(diffs or ["none"])]))
    assert set(peer) == set(native) == {20, 23, 26, 29}
    # every identity and every SI frame gr-gsm decodes, fbsdetect decodes bit-exact
    assert not [d for d in diffs if "differs" in d or "gr-gsm only" in d or " vs " in d], diffs


@pytest.mark.slow
def test_refgen_single_cf32(grgsm: None) -> None:
    path = shared_file("refgen/pub1_single_939M_1000k.cf32")
    native = _native(path, sample_rate_hz=1e6, center_freq_hz=939e6, fmt="cf32")
    peer = _grgsm(path, "cf32", 1e6, 939e6)
    diffs = _compare(native, peer)
    print("\n".join(["differences fbsdetect vs gr-gsm:", *(diffs or ["none"])]))
    assert set(peer) == set(native) == {20}
    assert not [d for d in diffs if "differs" in d or "gr-gsm only" in d or " vs " in d], diffs


def test_missing_grgsm_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fbsdetect.grgsm import backend

    monkeypatch.setattr(backend, "_INFO", None)
    monkeypatch.setenv("FBSDETECT_GRGSM_PYTHON", str(tmp_path / "no-python"))
    with pytest.raises(BadUsage, match="apt-get install gr-gsm"):
        backend.find_grgsm()
    fake = tmp_path / "python-without-gnuradio"
    fake.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named gnuradio' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("FBSDETECT_GRGSM_PYTHON", str(fake))
    with pytest.raises(BadUsage, match="do not import"):
        backend.find_grgsm()


def test_hung_and_crashing_grgsm_are_reported(tmp_path: Path) -> None:
    from fbsdetect.grgsm.backend import GrgsmProcess

    # a stand-in "python" that passes the version check, then hangs or crashes as the flowgraph
    for mode, match in (("hang", "hung"), ("crash", "exit code 3")):
        fake = tmp_path / f"python-{mode}"
        body = "sleep 600" if mode == "hang" else "echo 'RuntimeError: bad things' >&2; exit 3"
        fake.write_text("#!/bin/sh\n"
                        'if [ "$1" = "-c" ]; then printf "3.10.5.1 1.0.0"; exit 0; fi\n'
                        f"{body}\n")
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
        t = time.monotonic()
        with pytest.raises(NotAvailable, match=match), GrgsmProcess(["--x"], hang_s=2.0,
                                                                      python=str(fake)) as p:
            list(p)
        assert time.monotonic() - t < 30


def _flowgraphs() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines() if "fbsdetect/grgsm/flowgraph.py" in ln]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_leave_no_grgsm_behind(grgsm: None, tmp_path: Path, sig: signal.Signals) -> None:
    path = shared_file("refgen/pub2_multi_940M_2400k.cu8")
    assert not _flowgraphs()
    cmd = [sys.executable, "-m", "fbsdetect", "scan", "--source",
           f"grgsm:file={path},rate=2400000,freq=940000000,format=cu8", "--db",
           f"sqlite:///{tmp_path / 'g.db'}", "--sensor", "t"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                         env=dict(os.environ))
    deadline = time.monotonic() + 60
    while not _flowgraphs() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _flowgraphs(), "gr-gsm never started"
    time.sleep(1.0)  # inside the flowgraph's run
    p.send_signal(sig)
    p.communicate(timeout=60)
    time.sleep(0.5)
    assert not _flowgraphs(), _flowgraphs()
    assert p.returncode in (130, 143, 1), p.returncode


@pytest.mark.slow
def test_scan_grgsm_stores_observations(grgsm: None, tmp_path: Path) -> None:
    from sqlalchemy import select

    from fbsdetect.cli.main import main
    from fbsdetect.store import open_store
    from fbsdetect.store.models import Observation

    path = shared_file("refgen/pub2_multi_940M_2400k.cu8")
    db = f"sqlite:///{tmp_path / 'g.db'}"
    assert main(["scan", "--source", f"grgsm:file={path},rate=2400000,freq=940000000,format=cu8",
                 "--db", db, "--sensor", "grgsm-test", "--summary-json", str(tmp_path / "s.json")]) == 0
    with open_store(db) as store, store.session() as s:
        rows = s.scalars(select(Observation)).all()
        got = {(o.arfcn, o.mcc, o.mnc, o.lac, o.cid) for o in rows}
    native = _native(path, sample_rate_hz=2.4e6, center_freq_hz=940e6, fmt="cu8")
    assert got == {(a, c["mcc"], c["mnc"], c["lac"], c["cid"]) for a, c in native.items()}





@pytest.mark.slow
def test_decode_backend_grgsm_cli(grgsm: None, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from fbsdetect.cli.main import main

    path = shared_file("refgen/pub1_single_939M_1000k.cf32")
    raw = ["--rate", "1e6", "--freq", "939e6"]
    assert main(["decode", str(path), *raw, "--backend", "grgsm", "--json"]) == 0
    peer = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert main(["decode", str(path), "--rate", "1e6", "--freq", "939e6", "--json"]) == 0
    native = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(c["arfcn"], c["mcc"], c["mnc"], c["lac"], c["cid"]) for c in peer] == \
        [(c["arfcn"], c["mcc"], c["mnc"], c["lac"], c["cid"]) for c in native]
    assert peer[0]["si"]["3"] == native[0]["si"]["3"] and peer[0]["bsic"] is None


@pytest.mark.slow
def test_simulated_scene_both_backends(grgsm: None, tmp_path: Path) -> None:
    """The demo district rendered for 6 s: gr-gsm's cells are a subset of ours with the same
    identities and SI (its front end loses cells next to strong neighbours; listed, not hidden)."""
    import re

    from fbsdetect.cli.main import main

    scene = (ROOT / "scanners" / "demo.toml").read_text(encoding="utf-8")
    (tmp_path / "demo.toml").write_text(re.sub(r"(?m)^duration_s\s*=.*$", "duration_s = 6.0", scene, count=1),
                                        encoding="utf-8")
    assert main(["simulate", str(tmp_path / "demo.toml"), "-o", str(tmp_path)]) == 0
    meta = tmp_path / "demo.sigmf-meta"
    native = _native(meta)
    import json

    m = json.loads(meta.read_text())
    peer = _grgsm(tmp_path / "demo.sigmf-data", "cu8", float(m["global"]["core:sample_rate"]),
                  float(m["captures"][0]["core:frequency"]))
    diffs = _compare(native, peer)
    print("\n".join(["differences fbsdetect vs gr-gsm:", *(diffs or ["none"])]))
    assert peer and set(peer) <= set(native)
    assert not [d for d in diffs if "differs" in d or "gr-gsm only" in d or " vs " in d], diffs
