"""`fbsdetect decode-bursts`: real bursts, synthetic soft bursts, combined
CCCH, stdin, and the bad-input contract (exit 2, one line naming file:line)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from fbsdetect.cli.main import main
from fbsdetect.gsm import bursts, coding, mapping
from fbsdetect.gsm.frames import HYPERFRAME
from tests.conftest import shared_file

REAL = "real/vf262-02_a725_ts0_bursts.jsonl"
GRGSM = "real/vf262-02_a725_ts0_frames_grgsm.jsonl"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_real_bursts_give_grgsm_frames(capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The raw output, not a de-duplicated one, is gr-gsm's: the file repeats 543
    bursts (fn 861004..861546, same bits) after its end; they are decoded once.
    gr-gsm prints the paged identities as received: so does this, asked to."""
    monkeypatch.setenv("FBSDETECT_CLEAR_IDENTITIES", "1")
    code, out, err = run_cli(capsys, "decode-bursts", str(shared_file(REAL)), "--stats")
    assert code == 0
    got = _lines(out)
    assert all(set(d) == {"fn", "ts", "channel", "hex"} for d in got)
    assert all(d["ts"] == 0 and d["channel"] == ("BCCH" if d["fn"] % 51 == 2 else "CCCH") for d in got)
    with open(shared_file(GRGSM)) as f:
        theirs = sorted((d["fn"], d["hex"]) for d in map(json.loads, f))
    assert len(theirs) == 293
    assert sorted((d["fn"], d["hex"]) for d in got) == theirs  # no line twice
    assert f"blocks: {len(got)} ok" in err and "failed parity" in err
    assert "543 duplicate bursts" in err


def test_a_repeated_burst_with_other_bits_is_not_a_duplicate() -> None:
    """Only an exact repeat (same fn, same bits) is dropped; the same fn with
    other bits while its block is pending is a duplicate of the burst kept."""
    from fbsdetect.gsm.ts0decode import Ts0Decoder

    dec = Ts0Decoder()
    a = np.full(148, 1.0, np.float32)
    dec.push(2, 0, a)
    dec.push(2, 0, a)
    dec.push(2, 0, -a)
    assert dec.stats["duplicate"] == 2


def test_sch_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "decode-bursts", str(shared_file(REAL)), "--sch", "--arfcn", "725")
    assert code == 0
    sch = [d for d in _lines(out) if d["channel"] == "SCH"]
    ok = [d for d in sch if d["ok"]]
    assert len(ok) > 0.9 * len(sch) and len(sch) > 140
    assert len({d["fn"] for d in sch}) == len(sch)  # the replayed SCH bursts are not printed again
    assert {d["bsic"] for d in ok} == {48}
    assert all(d["arfcn"] == 725 for d in _lines(out))


def _synthetic(combined: bool, n_mf: int, fn0: int, soft: bool, seed: int, idle_sdcch: bool = False
               ) -> tuple[list[dict], set[tuple[int, str, str]]]:
    """TS0 bursts of n_mf 51-multiframes with random frames in every block,
    as JSON objects (soft with Gaussian noise, or hard), and the expected frames;
    with `idle_sdcch`, SDCCH/4 and SACCH/4 blocks are dummy bursts (idle)."""
    rng = np.random.default_rng(seed)
    lines: list[dict] = []
    expected: set[tuple[int, str, str]] = set()
    starts = {t3: kind for t3, kind, _ in mapping.block_starts(combined)}
    fn = fn0
    while fn < fn0 + 51 * n_mf:
        t3 = fn % 51
        if t3 in starts and idle_sdcch and mapping.ts0_channel(fn % HYPERFRAME, True).kind in (
                mapping.SDCCH4, mapping.SACCH4):
            group = [(fn + i, bursts.DUMMY_BITS) for i in range(4)]
            fn += 4
        elif t3 in starts:
            frame = rng.integers(0, 256, (1, 23), dtype=np.uint8)
            b = bursts.normal_burst(coding.xcch_encode(frame)[0], tsc=3)
            expected.add((fn % HYPERFRAME, starts[t3], bytes(frame[0]).hex()))
            group = [(fn + i, b[i]) for i in range(4)]
            fn += 4
        elif t3 % 10 == 1:
            group = [(fn, bursts.sch_burst(coding.sch_encode([17], [fn % HYPERFRAME]))[0])]
            fn += 1
        else:
            group = [(fn, bursts.FCCH_BITS if t3 % 10 == 0 else bursts.DUMMY_BITS)]
            fn += 1
        for f_raw, bits in group:
            f = f_raw % HYPERFRAME
            if soft:
                x = 2.0 * bits - 1.0 + rng.normal(0, 0.6, 148)
                lines.append({"fn": f, "ts": 0, "soft": [round(float(v), 3) for v in x]})
            else:
                lines.append({"fn": f, "ts": 0, "bits": "".join(map(str, bits))})
    return lines, expected


@pytest.mark.parametrize("combined", [False, True])
def test_synthetic_soft_bursts(tmp_path: Path, capsys: pytest.CaptureFixture[str], combined: bool) -> None:
    lines, expected = _synthetic(combined, n_mf=3, fn0=51 * 1000, soft=True, seed=int(combined))
    # bursts of another timeslot are skipped, not decoded
    lines.insert(5, {"fn": 51 * 1000 + 2, "ts": 3, "bits": "0" * 148})
    p = tmp_path / "b.jsonl"
    p.write_text("".join(json.dumps(d) + "\n" for d in lines))
    argv = ["decode-bursts", str(p), "--stats"] + (["--combined"] if combined else [])
    code, out, err = run_cli(capsys, *argv)
    assert code == 0
    got = {(d["fn"], d["channel"], d["hex"]) for d in _lines(out)}
    assert got == expected
    kinds = {k for _, k, _ in got}
    assert kinds == ({"BCCH", "CCCH", "SDCCH/4", "SACCH/4"} if combined else {"BCCH", "CCCH"})
    assert "1 bursts of other timeslots skipped" in err


def test_idle_sdcch_dummy_bursts_are_their_own_outcome(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Dummy bursts on idle SDCCH/4 and SACCH/4 sub-channels of a combined CCCH
    are counted as idle blocks, not parity failures."""
    lines, expected = _synthetic(True, n_mf=4, fn0=51 * 2000, soft=True, seed=5, idle_sdcch=True)
    p = tmp_path / "idle.jsonl"
    p.write_text("".join(json.dumps(d) + "\n" for d in lines))
    code, out, err = run_cli(capsys, "decode-bursts", str(p), "--combined", "--stats")
    assert code == 0
    assert {(d["fn"], d["channel"], d["hex"]) for d in _lines(out)} == expected
    assert {c for _, c, _ in expected} == {"BCCH", "CCCH"}
    # 4 multiframes x (4 SDCCH/4 + 2 SACCH/4 of the 102-frame cycle on each half) blocks
    assert "0 failed parity, 24 idle (dummy bursts)" in err


def test_stdin_and_hard_bits(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # the second multiframe wraps past the end of the hyperframe
    lines, expected = _synthetic(False, n_mf=2, fn0=HYPERFRAME - 51, soft=False, seed=3)
    assert min(d["fn"] for d in lines) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(json.dumps(d) for d in lines) + "\n\n"))
    code, out, _ = run_cli(capsys, "decode-bursts", "-")
    assert code == 0
    assert {(d["fn"], d["channel"], d["hex"]) for d in _lines(out)} == expected


def _bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    p = tmp_path / "bad.jsonl"
    p.write_text(text)
    code, _, err = run_cli(capsys, "decode-bursts", str(p))
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


GOOD = json.dumps({"fn": 2, "ts": 0, "bits": "0" * 148}) + "\n"


@pytest.mark.parametrize(("line", "needle"), [
    ("{not json", "not valid JSON"),
    ('[1, 2]', "expected a JSON object"),
    (json.dumps({"fn": 2, "ts": 0, "bits": "0" * 147}), "147 bits, expected 148"),
    (json.dumps({"fn": 2, "ts": 0, "bits": "0" * 147 + "2"}), "'0' and '1'"),
    (json.dumps({"fn": 2, "ts": 0, "soft": [0.5] * 150}), "150 values, expected 148"),
    (json.dumps({"fn": 2, "ts": 0, "soft": [0.5] * 147 + ["x"]}), "finite numbers"),
    (json.dumps({"fn": 2, "ts": 0}), "exactly one of"),
    (json.dumps({"fn": 2, "ts": 0, "bits": "0" * 148, "soft": [0] * 148}), "exactly one of"),
    (json.dumps({"fn": "2", "ts": 0, "bits": "0" * 148}), "'fn' must be an integer"),
    (json.dumps({"fn": 2715648, "ts": 0, "bits": "0" * 148}), "out of range"),
    (json.dumps({"fn": 2, "ts": 8, "bits": "0" * 148}), "'ts' = 8"),
])
def test_bad_lines_are_exit_2_naming_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    line: str, needle: str) -> None:
    err = _bad(tmp_path, capsys, GOOD + "\n" + line + "\n" + GOOD)
    assert "bad.jsonl:3" in err and needle in err


def test_binary_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "x.cu8"
    p.write_bytes(bytes(range(256)) * 4)
    code, _, err = run_cli(capsys, "decode-bursts", str(p))
    assert code == 2 and "x.cu8" in err and err.count("\n") == 1


def test_empty_input_is_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "e.jsonl"
    p.write_text("")
    assert run_cli(capsys, "decode-bursts", str(p)) == (0, "", "")
