"""Every BCCH/CCCH frame of the shared real (and refgen) data: our parse
agrees with tshark field by field, and outcomes are never exceptions."""

from __future__ import annotations

import json
from collections import Counter

from fbsdetect.sysinfo import L2Fill, Malformed, Unsupported, parse_any, si_key
from tests.conftest import require_program, shared_file
from tests.sysinfo.compare import compare
from tests.sysinfo.tshark import dissect


def real_frames() -> list[tuple[str, bytes]]:
    """(source, frame) of every distinct frame in the shared data."""
    out: list[tuple[str, bytes]] = []
    for line in shared_file("real/si_vectors_real_networks.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        src, _, hexs = line.split("|")[:3]
        out.append((src.strip(), bytes.fromhex(hexs.replace(" ", ""))))
    for line in shared_file("real/vf262-02_a725_ts0_frames_grgsm.jsonl").read_text().splitlines():
        out.append(("vf262-02", bytes.fromhex(json.loads(line)["hex"])))
    exp = json.loads(shared_file("real/gsmsp_953.6M_500k.expected.json").read_text())
    out += [("gsmsp", bytes.fromhex(f["hex"])) for f in exp["frames"]]
    for name in ("pub1_single_939M_1000k.cf32", "pub2_multi_940M_2400k.cu8"):
        truth = json.loads(shared_file(f"refgen/{name}.truth.json").read_text())
        for cell in truth["cells"]:
            out += [("refgen", bytes.fromhex(h)) for h in cell["si"].values()]
            out.append(("refgen", bytes.fromhex(cell["ccch_fill"])))
    seen: set[bytes] = set()
    uniq = []
    for src, f in out:
        if f not in seen:
            seen.add(f)
            uniq.append((src, f))
    return uniq


def test_real_frames_match_tshark() -> None:
    tshark = require_program("tshark")
    frames = real_frames()
    assert len(frames) > 80
    dissected = dissect(tshark, [f for _, f in frames])
    kinds: Counter[str] = Counter()
    for (src, frame), d in zip(frames, dissected, strict=True):
        m = parse_any(frame)
        assert not isinstance(m, Malformed), f"{src} {frame.hex()}: {m}"
        if isinstance(m, L2Fill):
            kinds["fill"] += 1
            continue
        if isinstance(m, Unsupported):
            kinds[f"unsupported {m.name}"] += 1
            continue
        try:
            kinds[compare(m, d)] += 1
        except AssertionError as e:
            raise AssertionError(f"{src} frame {frame[:3].hex()}...: {e}") from None
    # every decoded message type of the data was compared
    for k in ("SI1", "SI2", "SI2bis", "SI2ter", "SI2quater", "SI3", "SI4", "SI13", "P1", "P2", "P3", "IA"):
        assert kinds[k] > 0, (k, kinds)
    assert kinds["unsupported Notification/NCH"] >= 1


def test_known_values_of_the_vodafone_cell() -> None:
    """Values stated by the data's README (262-02, LAC 0x013e, CI 0x2bd9)."""
    from fbsdetect.sysinfo.cell import CellParams

    by_type: dict[str, bytes] = {}
    for line in shared_file("real/vf262-02_a725_ts0_frames_grgsm.jsonl").read_text().splitlines():
        f = bytes.fromhex(json.loads(line)["hex"])
        key = si_key(f)
        if key:
            by_type[key] = f
    p = CellParams.from_frames(by_type)
    assert (p.mcc, p.mnc, p.lac, p.cid) == (262, 2, 0x013E, 0x2BD9)
    assert p.gprs is True and p.si2ter is True and p.si2quater is True
    assert p.neighbours is not None and len(p.neighbours) > 5


def test_gsmsp_si3_matches_the_hand_decode() -> None:
    exp = json.loads(shared_file("real/gsmsp_953.6M_500k.expected.json").read_text())
    m = parse_any(bytes.fromhex(exp["frames"][0]["hex"]))
    f = exp["si3_fields"]
    assert (m.cid, m.lai.mcc, m.lai.mnc, m.lai.lac) == (f["cid"], f["mcc"], f["mnc"], f["lac"])  # type: ignore[union-attr]
    assert m.control.bs_ag_blks_res == f["bs_ag_blks_res"]  # type: ignore[union-attr]
    assert m.control.bs_pa_mfrms == f["bs_pa_mfrms_raw"]  # type: ignore[union-attr]
    assert m.control.t3212 == f["t3212"]  # type: ignore[union-attr]
    assert m.selection.rxlev_access_min == f["rxlev_access_min"]  # type: ignore[union-attr]


def test_real_si3_si4_cell_params_match_tshark() -> None:
    """The Control Channel Description and BCCH Ext positions that `CellParams`
    carries (mscr, att, ccch_conf / timeslots / combined, bs_ag_blks_res,
    bs_pa_mfrms, paging_groups, si2quater_on_bcch_ext, si13_on_bcch_ext), from
    every real and refgen SI3 and SI4 frame on its own, against tshark."""
    from fbsdetect.sysinfo import si3, si4
    from fbsdetect.sysinfo.cell import CellParams
    from tests.sysinfo.compare import compare_params

    tshark = require_program("tshark")
    frames = [(src, f, "3" if isinstance(m, si3.SI3) else "4") for src, f in real_frames()
              if isinstance(m := parse_any(f), si3.SI3 | si4.SI4)]
    kinds = Counter(k for _s, _f, k in frames)
    assert kinds["3"] >= 8 and kinds["4"] >= 4, kinds
    values: Counter[tuple[str, object]] = Counter()
    for (src, frame, kind), d in zip(frames, dissect(tshark, [f for _s, f, _k in frames]), strict=True):
        p = CellParams.from_frames({kind: frame})
        try:
            compare_params(p, d, kind)
        except AssertionError as e:
            raise AssertionError(f"{src} SI{kind} {frame.hex()}: {e}") from None
        if kind == "3":
            values.update((k, getattr(p, k)) for k in ("ccch_combined", "bs_ag_blks_res", "mscr"))
    # the data's SI3s are all non-combined (combined and multi-CCCH cells: tests/sysinfo/test_build.py),
    # with two access-grant reservations
    assert values[("ccch_combined", False)] == kinds["3"], values
    assert {v for k, v in values if k == "bs_ag_blks_res"} == {1, 2}, values
