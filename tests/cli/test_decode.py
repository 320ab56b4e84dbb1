"""`fbsdetect decode`: output formats of contracts.md sections 1 and 4, the
error contract, GSMTAP outputs."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fbsdetect.cli.main import main
from tests.conftest import require_program, shared_file

OBS_KEYS = {"arfcn", "band", "freq_hz", "bsic", "mcc", "mnc", "lac", "cid", "power_dbm", "snr_db",
            "freq_offset_hz", "blocks_ok", "blocks_bad", "si", "params", "time", "lat", "lon"}
PARAM_KEYS = {"neighbours", "t3212", "att", "cro", "temporary_offset", "penalty_time",
              "cell_reselect_hysteresis", "rxlev_access_min", "ms_txpwr_max_cch", "cbq", "gprs",
              "si2ter", "si2quater", "eutran_neighbours",
              # session 5 (docs/extensions.md): SI3's Control Channel Description, BCCH Ext positions
              "mscr", "ccch_conf", "ccch_timeslots", "ccch_combined", "bs_ag_blks_res", "bs_pa_mfrms",
              "paging_groups", "si2quater_on_bcch_ext", "si13_on_bcch_ext"}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _pub2() -> list[str]:
    return [str(shared_file("refgen/pub2_multi_940M_2400k.cu8")), "--rate", "2.4e6", "--freq", "940e6"]


def test_json_cells(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "decode", *_pub2(), "--json")
    assert code == 0, err
    cells = [json.loads(line) for line in out.splitlines()]
    assert [c["arfcn"] for c in cells] == [20, 23, 26, 29]
    for c in cells:
        assert set(c) == OBS_KEYS | {"power_ref", "ppm"}
        assert list(c)[list(c).index("freq_offset_hz") + 1] == "ppm"
        assert c["power_ref"] == "dBFS"  # a raw file states no gain
        assert set(c["params"]) == PARAM_KEYS
        assert (c["mcc"], c["mnc"]) == (460, 0)
        assert c["band"] == "P-GSM900" and c["time"] is None  # ARFCN 1..124 (bands.py)
        assert set(c["si"]) == {"1", "2", "2quater", "3", "4", "13"}
    assert [c["bsic"] for c in cells] == [38, 12, 57, 5]
    assert len({c["ppm"] for c in cells}) == 1 and abs(cells[0]["ppm"]) < 2  # one capture, refgen ~0 ppm


def test_table_and_counted_outcomes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "decode", *_pub2(), "-v")
    assert code == 0
    assert out.startswith("# 940.000 MHz, 2.4 MS/s, ") and "receiver error" in out.splitlines()[0]
    head = out.splitlines()[1].split()
    assert head[:4] == ["ARFCN", "band", "MHz", "BSIC"]
    assert head[-6:] == ["CRO", "RXmin", "nbr", "2q", "T3212", "SI"]
    assert len(out.splitlines()) == 6
    # what points to a fake cell, at a glance: CRO 0, RXLEV_ACCESS_MIN 1, 6 neighbours, SI2quater, T3212 30
    row = out.splitlines()[2].split()
    assert row[0] == "20" and row[13:18] == ["0", "1", "6", "y", "30"]
    assert "receiver error" in err and err.count("ARFCN") == 4 and "blocks ok 17" in err


def test_frames_and_pcap(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = shared_file("real/gsmsp_953.6M_500k.cf32")
    pcap = tmp_path / "out.pcapng"
    code, out, err = run_cli(capsys, "decode", str(p), "--rate", "5e5", "--freq", "953.6e6", "--frames",
                             "--pcap", str(pcap))
    assert code == 0, err
    frames = [json.loads(line) for line in out.splitlines()]
    assert all(set(f) == {"arfcn", "fn", "ts", "channel", "hex"} for f in frames)
    assert {"arfcn": 93, "fn": 857108, "ts": 0, "channel": "BCCH",
            "hex": "49061b3b2d72f2203aa8d0033c546506b900008020420b"} in frames
    assert pcap.stat().st_size > 100
    tshark = require_program("tshark")
    dis = subprocess.run([tshark, "-r", str(pcap), "-Y", "gsm_a.dtap.msg_rr_type == 0x1b", "-T", "fields",
                          "-e", "e212.lai.mcc", "-e", "gsm_a.bssmap.cell_ci"], capture_output=True, text=True,
                         timeout=60)
    assert dis.returncode == 0
    assert "272" in dis.stdout


def test_gsmtap_udp(capsys: pytest.CaptureFixture[str]) -> None:
    p = shared_file("real/gsmsp_953.6M_500k.cf32")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    port = sock.getsockname()[1]
    code, _out, err = run_cli(capsys, "decode", str(p), "--rate", "5e5", "--freq", "953.6e6",
                              "--gsmtap", f"127.0.0.1:{port}")
    assert code == 0, err
    pkt = sock.recv(2048)
    sock.close()
    assert pkt[0] == 2 and len(pkt) == 16 + 23  # GSMTAP v2 header + one L2 frame


def test_sigmf_power_in_dbm(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """With `fbsdetect:gain_db` the power is referred to the antenna (dBFS - gain)."""
    src = shared_file("refgen/pub1_single_939M_1000k.cf32")
    data = tmp_path / "cell.sigmf-data"
    data.write_bytes(np.fromfile(src, np.complex64)[:1_300_000].tobytes())
    meta = {"global": {"core:datatype": "cf32_le", "core:sample_rate": 1e6, "core:version": "1.0.0",
                       "fbsdetect:gain_db": 40.0,
                       "core:geolocation": {"type": "Point", "coordinates": [101.7782, 36.6171]}},
            "captures": [{"core:sample_start": 0, "core:frequency": 939e6,
                          "core:datetime": "2026-03-01T10:00:00Z"}], "annotations": []}
    (tmp_path / "cell.sigmf-meta").write_text(json.dumps(meta))
    code, out, err = run_cli(capsys, "decode", str(tmp_path / "cell.sigmf-meta"), "--json")
    assert code == 0, err
    (c,) = [json.loads(line) for line in out.splitlines()]
    assert "power_ref" not in c
    assert -45 < c["power_dbm"] < -35  # about 0 dBFS in the file
    assert c["time"].startswith("2026-03-01T10:00:00.") and c["time"].endswith("Z")
    assert (c["lat"], c["lon"]) == (36.6171, 101.7782)


@pytest.mark.parametrize("content,args,needle", [
    (b"\x00" * 1001, ["--rate", "1e6", "--freq", "939e6"], "odd size"),
    (b"", ["--rate", "1e6", "--freq", "939e6"], "empty"),
    (b"\x00" * 1000, [], "--rate"),
])
def test_bad_input_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes,
                             args: list[str], needle: str) -> None:
    p = tmp_path / "x.cf32"
    p.write_bytes(content)
    code, out, err = run_cli(capsys, "decode", str(p), *args)
    assert code == 2 and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_short_and_noise_recordings_give_no_cells(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for n in (8, 20_000, 400_000):
        p = tmp_path / f"n{n}.cu8"
        p.write_bytes(np.random.default_rng(n).integers(100, 156, 2 * n, dtype=np.uint8).tobytes())
        code, out, err = run_cli(capsys, "decode", str(p), "--rate", "2.4e6", "--freq", "940e6", "--json")
        assert code == 0, err
        assert out == ""


def test_sigmf_with_a_retune_is_decoded_per_frequency(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    """Two captures on different frequencies (a sweep): each decoded on its own;
    the second half of the same signal, declared 2 MHz higher, is ARFCN 30."""
    src = shared_file("refgen/pub1_single_939M_1000k.cf32")
    (tmp_path / "sweep.sigmf-data").write_bytes(np.fromfile(src, np.complex64).tobytes())
    meta = {"global": {"core:datatype": "cf32_le", "core:sample_rate": 1e6, "core:version": "1.0.0"},
            "captures": [{"core:sample_start": 0, "core:frequency": 939e6,
                          "core:datetime": "2026-03-01T10:00:00Z"},
                         {"core:sample_start": 1_250_000, "core:frequency": 941e6,
                          "core:datetime": "2026-03-01T10:00:01.25Z"}], "annotations": []}
    (tmp_path / "sweep.sigmf-meta").write_text(json.dumps(meta))
    code, out, err = run_cli(capsys, "decode", str(tmp_path / "sweep.sigmf-data"), "--json", "-v")
    assert code == 0, err
    cells = [json.loads(line) for line in out.splitlines()]
    assert [(c["arfcn"], c["bsic"]) for c in cells] == [(20, 38), (30, 38)]
    assert cells[1]["time"] >= "2026-03-01T10:00:01.250Z"
    assert err.count("capture ") == 2


@pytest.mark.parametrize("spec", ["nohost.invalid", "nohost.invalid:4729"])
def test_gsmtap_unresolvable_host_is_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               spec: str) -> None:
    p = tmp_path / "z.cu8"
    p.write_bytes(b"\x80" * 20_000)
    code, out, err = run_cli(capsys, "decode", str(p), "--rate", "1e6", "--freq", "939e6", "--gsmtap", spec)
    assert code == 2 and out == ""
    assert "cannot resolve GSMTAP host 'nohost.invalid'" in err
    assert len(err.strip().splitlines()) == 1 and "internal error" not in err


GSMSP = "real/gsmsp_953.6M_500k.cf32"


def test_dbfs_reference_on_the_real_recording(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The real GSMSP recording holds unscaled values (|I|, |Q| up to ~17 000):
    relative to the cf32 full scale 1.0 it reads far above 0 dBFS, and decode
    says so; the same samples scaled into full scale never read positive."""
    src = shared_file(GSMSP)
    x = np.fromfile(src, np.complex64)
    file_dbfs = 10 * np.log10(np.mean(np.abs(x) ** 2))
    code, out, err = run_cli(capsys, "decode", str(src), "--rate", "5e5", "--freq", "953.6e6", "--json")
    assert code == 0, err
    (c,) = [json.loads(line) for line in out.splitlines()]
    assert c["power_ref"] == "dBFS" and abs(c["power_dbm"] - file_dbfs) < 1.5 and c["power_dbm"] > 60
    assert "exceeds the cf32 full scale 1.0" in err and "warning" in err
    code, out, _ = run_cli(capsys, "decode", str(src), "--rate", "5e5", "--freq", "953.6e6")
    assert code == 0 and out.splitlines()[0].endswith("power dBFS (0 dBFS = cf32 full scale 1.0)")
    # inside full scale: never positive
    peak = max(np.abs(x.real).max(), np.abs(x.imag).max())
    scaled = tmp_path / "gsmsp_scaled.cf32"
    (x / np.float32(peak * 1.001)).astype(np.complex64).tofile(scaled)
    code, out, err = run_cli(capsys, "decode", str(scaled), "--rate", "5e5", "--freq", "953.6e6", "--json")
    assert code == 0 and "warning" not in err
    (c,) = [json.loads(line) for line in out.splitlines()]
    assert c["bsic"] == 56 and -40 < c["power_dbm"] <= 0.0


def test_cu8_full_scale_tone_reads_at_most_0_dbfs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The strongest carrier of a cu8 recording near full scale stays <= 0 dBFS."""
    src = shared_file("refgen/pub2_multi_940M_2400k.cu8")
    raw = np.fromfile(src, np.uint8).astype(np.float32) - 127.5
    loud = tmp_path / "loud.cu8"
    (np.clip(raw * (127.0 / np.abs(raw).max()), -127.5, 127.5) + 127.5).round().astype(np.uint8).tofile(loud)
    code, out, err = run_cli(capsys, "decode", str(loud), "--rate", "2.4e6", "--freq", "940e6", "--json")
    assert code == 0, err
    powers = [json.loads(line)["power_dbm"] for line in out.splitlines()]
    assert powers and max(powers) <= 0.0


@pytest.mark.parametrize("what", ["cu8-as-cf32", "random-bytes"])
def test_wrong_cf32_format_is_named_without_numpy_warnings(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                           what: str) -> None:
    import warnings

    if what == "cu8-as-cf32":
        args = [str(shared_file("refgen/pub2_multi_940M_2400k.cu8")), "--format", "cf32"]
    else:
        p = tmp_path / "noise.cf32"
        p.write_bytes(np.random.default_rng(3).integers(0, 256, 8 * 300_000, dtype=np.uint8).tobytes())
        args = [str(p)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run_cli(capsys, "decode", *args, "--rate", "2.4e6", "--freq", "940e6")
    assert not caught and "Warning" not in err
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "not cf32 samples" in err and "--format" in err


def test_wrong_format_by_byte_count(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(b"\x80" * 1002)
    code, _, err = run_cli(capsys, "decode", str(p), "--rate", "1e6", "--freq", "939e6", "--format", "cf32")
    assert code == 2 and "not a whole number of cf32_le samples" in err and "format right" in err


@pytest.mark.parametrize("rate,freq,needle", [
    ("2e6", "940e6", "is the sample rate (--rate) right?"),
    ("2.4e6", "1800e6", "no GSM downlink channel lies inside the capture's span"),
    ("2.4e6", "940.05e6", "is the centre frequency (--freq) right?"),
])
def test_wrong_rate_or_freq_gets_a_hint(capsys: pytest.CaptureFixture[str], rate: str, freq: str,
                                        needle: str) -> None:
    code, out, err = run_cli(capsys, "decode", str(shared_file("refgen/pub2_multi_940M_2400k.cu8")),
                             "--rate", rate, "--freq", freq)
    assert code == 0
    assert needle in err and len(err.strip().splitlines()) == 1
    if needle.startswith("is the sample rate"):
        assert out == "no GSM cell found\n"
        assert "FCCH candidate(s) on 4 carrier(s), SCH decoded 0 of" in err
    if freq == "940.05e6":  # decoded, 50 kHz off: the ppm error gives it away
        assert "-53." in err and len(out.splitlines()) == 6


def test_random_bytes_get_a_hint(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "rand.cu8"
    p.write_bytes(np.random.default_rng(9).integers(0, 256, 2 * 600_000, dtype=np.uint8).tobytes())
    code, out, err = run_cli(capsys, "decode", str(p), "--rate", "2.4e6", "--freq", "940e6")
    assert code == 0 and out == "no GSM cell found\n"
    assert "0 FCCH candidate(s)" in err and "random bytes, a wrong --format" in err
    code, out, err = run_cli(capsys, "decode", str(p), "--rate", "2.4e6", "--freq", "940e6", "-q")
    assert err == ""


def test_sigmf_with_a_conflicting_rate_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "c.sigmf-data").write_bytes(b"\x80" * 40_000)
    meta = {"global": {"core:datatype": "cu8", "core:sample_rate": 1e6, "core:version": "1.0.0"},
            "captures": [{"core:sample_start": 0, "core:frequency": 939e6}], "annotations": []}
    (tmp_path / "c.sigmf-meta").write_text(json.dumps(meta))
    code, out, err = run_cli(capsys, "decode", str(tmp_path / "c.sigmf-meta"), "--rate", "2.4e6")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--rate 2.4e+06 (core:sample_rate 1e+06) contradicts the SigMF metadata" in err


def test_sigmf_checksum_mismatch_is_a_warning(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import hashlib

    src = shared_file("refgen/pub1_single_939M_1000k.cf32")
    data = np.fromfile(src, np.complex64)[:1_300_000].tobytes()
    (tmp_path / "cell.sigmf-data").write_bytes(data)
    meta = {"global": {"core:datatype": "cf32_le", "core:sample_rate": 1e6, "core:version": "1.0.0",
                       "core:sha512": hashlib.sha512(data).hexdigest()},
            "captures": [{"core:sample_start": 0, "core:frequency": 939e6}], "annotations": []}
    (tmp_path / "cell.sigmf-meta").write_text(json.dumps(meta))
    code, out, err = run_cli(capsys, "decode", str(tmp_path / "cell.sigmf-meta"), "--json")
    assert code == 0 and "sha512" not in err and len(out.splitlines()) == 1
    with open(tmp_path / "cell.sigmf-data", "r+b") as f:  # one sample changed after recording
        f.seek(8 * 1000)
        f.write(np.zeros(1, np.complex64).tobytes())
    code, out, err = run_cli(capsys, "decode", str(tmp_path / "cell.sigmf-meta"), "--json")
    assert code == 0 and len(out.splitlines()) == 1
    assert "warning: cell.sigmf-data does not match the core:sha512 of cell.sigmf-meta" in err


FBSDETECT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "fbsdetect"


def test_decode_from_stdin_through_a_pipe(tmp_path: Path) -> None:
    """`cat FILE | fbsdetect decode - ...` (as `rtl_sdr ... - | ...`): the same cell as from the file;
    --max-s bounds what is read."""
    src = shared_file("refgen/pub1_single_939M_1000k.cf32")
    if not FBSDETECT.exists():
        pytest.skip(f"{FBSDETECT} is not installed (scripts/setup)")
    results = []
    for extra in ([], ["--max-s", "0.5", "-v"]):
        cat = subprocess.Popen(["cat", str(src)], stdout=subprocess.PIPE)
        r = subprocess.run([str(FBSDETECT), "decode", "-", "--rate", "1e6", "--freq", "939e6", "--format",
                            "cf32", "--json", *extra], stdin=cat.stdout, capture_output=True, text=True,
                           timeout=120)
        assert cat.stdout is not None
        cat.stdout.close()
        cat.wait()
        assert r.returncode == 0, r.stderr
        results.append((r.stdout, r.stderr))
    (c,) = [json.loads(line) for line in results[0][0].splitlines()]
    assert (c["arfcn"], c["bsic"], c["mcc"]) == (20, 38, 460)
    assert "0.50 s" in results[1][1]  # only half a second was read


def test_stdin_needs_rate_and_freq(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "decode", "-", "--freq", "939e6")
    assert code == 2 and "needs --rate HZ and --freq HZ" in err and len(err.strip().splitlines()) == 1


def test_stdin_empty_is_bad_input(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import types

    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=io.BytesIO(b"\x80")))
    code, _, err = run_cli(capsys, "decode", "-", "--rate", "1e6", "--freq", "939e6")
    assert code == 2 and "<stdin>: no samples on standard input" in err


def test_idle_sdcch_of_a_combined_cell_is_not_bad_crc(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    """A combined-CCCH cell's idle SDCCH/4 and SACCH/4 sub-channels carry dummy
    bursts: counted as idle blocks, not CRC failures."""
    from fbsdetect.sim.output import simulate
    from fbsdetect.sim.scene import load_scene
    from tests.sim.scenes import FOUR_CELLS

    scene = tmp_path / "four.toml"
    scene.write_text(FOUR_CELLS.format(duration=1.5))
    rendered = simulate(load_scene(scene), tmp_path / "out")
    code, _, err = run_cli(capsys, "decode", str(rendered.meta_path), "--frames", "-v")
    assert code == 0, err
    line = next(x for x in err.splitlines() if "ARFCN   23" in x)
    assert "bad-crc 0 idle " in line and " idle 0 " not in line
    others = [x for x in err.splitlines() if x.strip().startswith("ARFCN") and "ARFCN   23" not in x]
    assert others and all(" idle 0 " in x for x in others)
