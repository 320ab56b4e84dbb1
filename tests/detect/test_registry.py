"""Registry import (OpenCellID/MLS and licensed-site CSV) and the RegistryIndex lookups."""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from fbsdetect.cli.main import main
from fbsdetect.detect import registry_import
from fbsdetect.detect.registry import (
    OPENCELLID_ATTRIBUTION,
    BBox,
    RegistryEntry,
    RegistryIndex,
    import_registry,
)
from fbsdetect.detect.registry_csv import RowError, RowParser, detect_format
from fbsdetect.errors import BadInput, BadUsage
from fbsdetect.store import open_store
from fbsdetect.store.db import Store
from fbsdetect.store.models import RegistryCell, RegistrySource
from tests.conftest import shared_file

SAMPLE = "registry/opencellid_diff_2022-09-10_sample.csv"
HEADER = "radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal\n"
LIC_HEADER = "date_start,date_end,radio,mcc,mnc,lac,ci,lon,lat,azimuth,arfcn,bsic\n"
GOOD = [
    "GSM,460,0,10290,41021,0,101.7800,36.6200,1200,15,1,1600000000,1660000000,0\n",
    "GSM,460,0,10290,41022,0,101.7900,36.6250,900,8,1,1600000000,1660000100,-70\n",
    "GSM,460,1,20001,5001,0,101.7700,36.6100,1500,3,1,1600000000,1650000000,0\n",
    "LTE,460,0,10290,123456789,0,101.7810,36.6210,800,40,1,1600000000,1661000000,0\n",
    "GSM,262,2,852,2521,0,10.948628,50.170324,15762,200,1,1294561074,1662692508,0\n",
]


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode("utf-8")
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text))
    elif path.suffix == ".bz2":
        path.write_bytes(bz2.compress(text))
    else:
        path.write_bytes(text)
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = open_store(f"sqlite:///{tmp_path / 'reg.db'}")
    yield st
    st.close()


@pytest.fixture
def any_store(db_url: str) -> Iterator[Store]:
    st = open_store(db_url)
    yield st
    st.close()


def n_cells(st: Store, source: str | None = None) -> int:
    c, s = RegistryCell.__table__, RegistrySource.__table__
    q = select(func.count()).select_from(c)
    if source is not None:
        q = q.join(s, s.c.id == c.c.source_id).where(s.c.name == source)
    with st.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def many_rows(n: int) -> str:
    return "".join(f"GSM,460,3,{1 + i // 60000},{i % 60000},0,101.0,36.0,1,1,1,1600000000,1660000000,0\n"
                   for i in range(n))


def balanced(rep: registry_import.ImportReport) -> bool:
    return rep.rows_read == rep.imported + rep.updated + rep.rejected + rep.filtered


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# -- the real sample ---------------------------------------------------------------------------------------

def test_real_sample_imports_and_reimport_updates(any_store: Store) -> None:
    path = shared_file(SAMPLE)
    rep = import_registry(any_store, path)
    assert rep.kind == "opencellid" and rep.source_name == "opencellid"
    assert rep.rows_read == 45_745 and rep.rejected == 0
    assert rep.imported == 45_745 and rep.updated == 0 and balanced(rep)
    assert rep.exit_code == 0
    again = import_registry(any_store, path)
    assert again.imported == 0 and again.updated == 45_745
    assert n_cells(any_store) == 45_745          # never duplicated
    with any_store.engine.connect() as conn:
        src = conn.execute(select(RegistrySource.__table__)).mappings().one()
    assert "CC BY-SA 4.0" in src["attribution"] and src["licence"] == "CC-BY-SA-4.0"
    assert src["rows_read"] == 45_745 and src["rows_updated"] == 45_745


def test_real_sample_filters_and_index(store: Store) -> None:
    path = shared_file(SAMPLE)
    rep = import_registry(store, path, mccs=[262], radios=["GSM"], bbox=BBox(47.0, 5.0, 55.5, 15.5))
    assert balanced(rep) and rep.filtered_mcc > 0 and rep.filtered_radio > 0
    assert rep.imported > 20_000
    idx = RegistryIndex.load(store, mccs=[262])
    assert len(idx) == rep.imported
    e = idx.by_cgi(262, 2, 852, 2521)
    assert len(e) == 1 and e[0].lat == pytest.approx(50.170324) and e[0].source == "opencellid"
    assert idx.has_operator_data(262, 2) and not idx.has_operator_data(460, 0)
    assert idx.updated_max is not None and idx.updated_max.year == 2022
    assert idx.sources[0].attribution == OPENCELLID_ATTRIBUTION
    near = idx.near(50.170324, 10.948628, 2000)
    assert near and near[0].cid == 2521


# -- synthetic files ---------------------------------------------------------------------------------------

def test_bad_rows_are_reported_with_line_numbers_and_good_rows_kept(store: Store, tmp_path: Path) -> None:
    lines = [HEADER, GOOD[0],
             "GSM,abc,0,10290,41030,0,101.78,36.62,1200,15,1,1600000000,1660000000,0\n",   # line 3
             "GSM,460,0,10290,41031,0,101.78,96.62,1200,15,1,1600000000,1660000000,0\n",   # line 4: lat
             "GSM,460,0,10290,41032,0,101.78\n",                                           # line 5: short
             "FOO,460,0,10290,41033,0,101.78,36.62,1200,15,1,1600000000,1660000000,0\n",   # line 6
             "GSM,460,0,70000,41034,0,101.78,36.62,1200,15,1,1600000000,1660000000,0\n",   # line 7: LAC
             "\n",                                                                          # blank: not a row
             GOOD[1]]
    rep = import_registry(store, write(tmp_path / "bad.csv", "".join(lines)))
    assert rep.rows_read == 7 and rep.blank_lines == 1
    assert rep.imported == 2 and rep.rejected == 5 and balanced(rep)
    reasons = dict(rep.rejects)
    assert reasons[3] == "mcc 'abc' is not a number"
    assert "lat 96.62 is outside -90..90" in reasons[4]
    assert "7 fields, expected 14 (line cut short?)" in reasons[5]
    assert "radio 'FOO'" in reasons[6]
    assert "area (LAC) 70000 is out of range 0..65535 for GSM" in reasons[7]
    assert rep.exit_code == 0
    text = rep.text()
    assert "line 3: mcc 'abc' is not a number" in text
    assert rep.reject_reasons["mcc is not a number"] == 1


def test_reject_list_is_capped_but_counted(store: Store, tmp_path: Path) -> None:
    bad = "GSM,x,0,1,1,0,1,1,1,1,1,1,1,0\n" * 50
    rep = import_registry(store, write(tmp_path / "b.csv", HEADER + bad + GOOD[0]), max_rejects=3)
    assert rep.rejected == 50 and len(rep.rejects) == 3 and rep.imported == 1
    assert "... and 47 more" in rep.text()


def test_every_row_bad_is_exit_2(store: Store, tmp_path: Path) -> None:
    rep = import_registry(store, write(tmp_path / "b.csv", HEADER + "GSM,x,0,1,1,0,1,1,1,1,1,1,1,0\n"))
    assert rep.rejected == 1 and rep.exit_code == 2


def test_header_only_is_nothing_to_do(store: Store, tmp_path: Path) -> None:
    rep = import_registry(store, write(tmp_path / "h.csv", HEADER))
    assert rep.rows_read == 0 and rep.exit_code == 0


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("name,value\nfoo,1\n", "not a registry header"),
    ("radio,mcc,net,area,cell,unit,range\n", "lacks column(s) lon, lat"),
    ("\n" + HEADER, "line 1 is empty"),
])
def test_file_level_bad_input(store: Store, tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_registry(store, write(tmp_path / "x.csv", content))


def test_bad_file_leaves_earlier_import_intact(store: Store, tmp_path: Path) -> None:
    import_registry(store, write(tmp_path / "good.csv", HEADER + "".join(GOOD)))
    assert n_cells(store) == 5
    with pytest.raises(BadInput):
        import_registry(store, write(tmp_path / "x.csv", b"\xff\xfeu\x00n\x00"))
    with pytest.raises(BadInput):
        import_registry(store, write(tmp_path / "y.csv", "not,a,registry\n"))
    assert n_cells(store) == 5


def test_missing_file_and_directory(store: Store, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such registry file"):
        import_registry(store, tmp_path / "nope.csv")
    with pytest.raises(BadInput, match="is a directory"):
        import_registry(store, tmp_path)


def test_utf8_bom_is_accepted(store: Store, tmp_path: Path) -> None:
    rep = import_registry(store, write(tmp_path / "bom.csv", b"\xef\xbb\xbf" + (HEADER + GOOD[0]).encode()))
    assert rep.imported == 1 and "byte order mark" in " ".join(rep.notes)


def test_utf16_is_refused_as_a_whole(store: Store, tmp_path: Path) -> None:
    data = (HEADER + GOOD[0]).encode("utf-16")
    with pytest.raises(BadInput, match="UTF-16"):
        import_registry(store, write(tmp_path / "u16.csv", data))
    with pytest.raises(BadInput, match="UTF-16"):   # without a BOM: NUL bytes
        import_registry(store, write(tmp_path / "u16le.csv", (HEADER + GOOD[0]).encode("utf-16-le")))


def test_latin1_line_is_rejected_alone(store: Store, tmp_path: Path) -> None:
    bad = "GSM,460,0,10290,41040,0,101.78,36.62,1200,15,1,1600000000,1660000000,0 caf\xe9\n".encode("latin-1")
    data = (HEADER + GOOD[0]).encode() + bad + GOOD[1].encode()
    rep = import_registry(store, write(tmp_path / "l1.csv", data))
    assert rep.imported == 2 and rep.rejected == 1
    assert rep.rejects[0][0] == 3 and "not UTF-8" in rep.rejects[0][1] and "0xe9" in rep.rejects[0][1]


def test_gzip_and_bzip2(store: Store, tmp_path: Path) -> None:
    rep = import_registry(store, write(tmp_path / "a.csv.gz", HEADER + "".join(GOOD)))
    assert rep.compression == "gzip" and rep.imported == 5
    rep = import_registry(store, write(tmp_path / "b.csv.bz2", HEADER + "".join(GOOD)), source_name="other")
    assert rep.compression == "bzip2" and rep.imported == 5
    assert n_cells(store) == 10 and n_cells(store, "other") == 5


def test_truncated_gzip_keeps_what_was_read(store: Store, tmp_path: Path) -> None:
    import_registry(store, write(tmp_path / "first.csv", HEADER + GOOD[4]), source_name="earlier")
    rows = [f"GSM,460,0,{1 + i // 60000},{i % 60000},0,101.78,36.62,1200,15,1,1600000000,1660000000,0\n"
            for i in range(20_000)]
    blob = gzip.compress((HEADER + "".join(rows)).encode())
    p = tmp_path / "cut.csv.gz"
    p.write_bytes(blob[: len(blob) // 2])
    rep = import_registry(store, p)
    assert rep.damage is not None and "ends abruptly after line" in rep.damage
    last_line = int(rep.damage.split("after line ")[1].split()[0])
    assert rep.rows_read == last_line - 1 and 1000 < rep.rows_read < 20_000
    assert rep.imported == rep.rows_read and rep.exit_code == 2
    assert n_cells(store, "opencellid") == rep.rows_read and n_cells(store, "earlier") == 1


def test_corrupt_gzip_before_first_line(store: Store, tmp_path: Path) -> None:
    p = tmp_path / "c.csv.gz"
    p.write_bytes(gzip.compress(b"x")[:12])
    with pytest.raises(BadInput):
        import_registry(store, p)
    p.write_bytes(b"\x1f\x8b" + b"\x00" * 30)
    with pytest.raises(BadInput):
        import_registry(store, p)


def test_zip_is_refused_with_advice(store: Store, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="unzip"):
        import_registry(store, write(tmp_path / "z.zip", b"PK\x03\x04" + b"\x00" * 40))


def test_duplicates_in_one_file_update(any_store: Store, tmp_path: Path) -> None:
    moved = GOOD[0].replace("36.6200", "36.7000")
    rep = import_registry(any_store, write(tmp_path / "d.csv", HEADER + GOOD[0] + GOOD[1] + moved))
    assert rep.imported == 2 and rep.updated == 1 and balanced(rep)
    idx = RegistryIndex.load(any_store)
    [e] = idx.by_cgi(460, 0, 10290, 41021)
    assert e.lat == pytest.approx(36.70)      # the later row wins


def test_filters(any_store: Store, tmp_path: Path) -> None:
    p = write(tmp_path / "f.csv", HEADER + "".join(GOOD))
    rep = import_registry(any_store, p, mccs=[460], bbox=BBox(36.615, 101.775, 36.63, 101.80), radios=["GSM"])
    assert rep.filtered_mcc == 1 and rep.filtered_radio == 1 and rep.filtered_bbox == 1
    assert rep.imported == 2 and balanced(rep)


def test_bbox_across_the_antimeridian() -> None:
    b = BBox.parse("-20,170,-10,-170")
    assert b.contains(-15, 175) and b.contains(-15, -175) and not b.contains(-15, 0)
    with pytest.raises(BadUsage):
        BBox.parse("10,0,5,1")
    with pytest.raises(BadUsage):
        BBox.parse("a,b,c,d")


def test_licensed_site_list(any_store: Store, tmp_path: Path) -> None:
    text = (LIC_HEADER
            + "2021-01-01,,GSM,460,0,10290,41021,101.78,36.62,120,62,35\n"
            + "2021-01-01,2022-06-30,GSM,460,0,10290,41022,101.79,36.625,240,,\n"
            + "2021-01-01,,GSM,460,0,10290,41023,101.79,36.625,240,62,99\n"          # line 4: bsic
            + "2023-01-01,2022-01-01,GSM,460,0,10290,41024,101.79,36.625,0,62,1\n")  # line 5: dates
    rep = import_registry(any_store, write(tmp_path / "cmcc_sites.csv", text))
    assert rep.kind == "licensed" and rep.source_name == "licensed:cmcc_sites"
    assert rep.imported == 2 and rep.rejected == 2
    reasons = dict(rep.rejects)
    assert "bsic 99 is out of range 0..63" in reasons[4]
    assert "before date_start" in reasons[5]
    idx = RegistryIndex.load(any_store)
    [e] = idx.by_cgi(460, 0, 10290, 41021)
    assert (e.arfcn, e.bsic, e.azimuth_deg, e.kind) == (62, 35, 120.0, "licensed")
    assert e.date_start == "2021-01-01" and e.date_end is None
    [e2] = idx.by_cgi(460, 0, 10290, 41022)
    from datetime import UTC, datetime
    assert e2.arfcn is None and not e2.active_at(datetime(2023, 1, 1, tzinfo=UTC))
    assert e2.active_at(datetime(2022, 6, 30, 12, tzinfo=UTC))
    assert idx.sources[0].attribution is None


def test_licensed_list_without_arfcn_bsic_semicolons(store: Store, tmp_path: Path) -> None:
    text = ("date_start;date_end;radio;mcc;mnc;lac;ci;lon;lat;azimuth\n"
            "2021-01-01;;GSM;460;1;20001;5001;101.77;36.61;90\n")
    rep = import_registry(store, write(tmp_path / "cu.csv", text), source_name="cu",
                          attribution="China Unicom")
    assert rep.imported == 1
    assert RegistryIndex.load(store).sources[0].attribution == "China Unicom"


def test_headerless_opencellid(store: Store, tmp_path: Path) -> None:
    rep = import_registry(store, write(tmp_path / "nh.csv", "".join(GOOD)))
    assert rep.headerless and rep.imported == 5 and rep.rows_read == 5


def test_quoted_fields_and_overlong_line(store: Store, tmp_path: Path) -> None:
    quoted = '"GSM","460","0","10290","41050","0","101.78","36.62","1200","15","1","1600000000","1","0"\n'
    long_line = "GSM," + "9" * 70_000 + "\n"
    rep = import_registry(store, write(tmp_path / "q.csv", HEADER + quoted + long_line + GOOD[0]))
    assert rep.imported == 2 and rep.rejected == 1 and "64 KiB" in rep.rejects[0][1]
    assert rep.rejects[0][0] == 3


def test_failure_during_merge_keeps_earlier_imports_and_indexes(store: Store, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import_registry(store, write(tmp_path / "a.csv", HEADER + "".join(GOOD)))
    monkeypatch.setattr(registry_import, "DEFER_LATLON_INDEX_ROWS", 1)   # the index-dropping path
    real = registry_import._count_source_rows
    calls = {"n": 0}

    def failing(conn, cells, sid):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:        # after the merge statement, before commit
            raise RuntimeError("disk on fire")
        return real(conn, cells, sid)

    monkeypatch.setattr(registry_import, "_count_source_rows", failing)
    rows = "".join(f"GSM,460,3,1,{i},0,101.0,36.0,1,1,1,1,1,0\n" for i in range(100))
    with pytest.raises(RuntimeError):
        import_registry(store, write(tmp_path / "b.csv", HEADER + rows))
    assert n_cells(store) == 5
    names = {ix["name"] for ix in inspect(store.engine).get_indexes("registry_cell")}
    assert "ix_registry_cell_latlon" in names
    monkeypatch.setattr(registry_import, "_count_source_rows", real)
    rep = import_registry(store, write(tmp_path / "b.csv", HEADER + rows))
    assert rep.imported == 100 and rep.latlon_index_deferred
    names = {ix["name"] for ix in inspect(store.engine).get_indexes("registry_cell")}
    assert "ix_registry_cell_latlon" in names


def test_interrupt_stores_nothing_of_the_file(store: Store, tmp_path: Path) -> None:
    import_registry(store, write(tmp_path / "a.csv", HEADER + GOOD[0]))
    rows = many_rows(60_000)

    def progress(rep: registry_import.ImportReport, phase: str) -> None:
        raise KeyboardInterrupt

    rep = import_registry(store, write(tmp_path / "b.csv", HEADER + rows), progress=progress)
    assert rep.interrupted and rep.stored == 0 and "none of this file" in rep.text()
    assert n_cells(store) == 1


def test_progress_reports_rows(store: Store, tmp_path: Path) -> None:
    rows = many_rows(60_000)
    seen: list[tuple[int, str]] = []
    rep = import_registry(store, write(tmp_path / "b.csv", HEADER + rows),
                          progress=lambda r, phase: seen.append((r.rows_read, phase)))
    assert rep.imported == 60_000
    assert any(ph == "read" and n >= 50_000 for n, ph in seen) and seen[-1][1] == "merge"


# -- the parser alone --------------------------------------------------------------------------------------

def test_parser_reasons() -> None:
    p = RowParser(detect_format(HEADER.encode(), source="x"))
    assert p.parse(GOOD[0].strip())[:5] == ("GSM", 460, 0, 10290, 41021)
    for line, reason in [
        ("GSM,460,0,1,1,0,nan,1,1,1,1,1,1,0", "lon 'nan' is not a finite number"),
        ("GSM,460,0,1_0,1,0,1,1,1,1,1,1,1,0", "area (LAC) '1_0' is not a number"),
        ("GSM,460,0,1,1.5,0,1,1,1,1,1,1,1,0", "cell '1.5' is not a whole number"),
        ("GSM,4600,0,1,1,0,1,1,1,1,1,1,1,0", "mcc 4600 is out of range 0..999"),
        ("GSM,460,0,1,1,0,1,1,-5,1,1,1,1,0", "range -5 is outside 0..1e+07"),
        ("GSM,460,0,1,1,0,1,1,1,1,1,1,1,0,9", "15 fields, expected 14"),
        ("GSM,460,0,,1,0,1,1,1,1,1,1,1,0", "area (LAC) is empty"),
    ]:
        with pytest.raises(RowError) as ei:
            p.parse(line)
        assert reason in str(ei.value), (line, str(ei.value))
    # optional fields may be empty; OpenCellID's integers written as floats are accepted
    row = p.parse("umts,460,0,1,300000,0,1,1,,,,,,")
    assert row[0] == "UMTS" and row[4] == 300000 and row[7] is None
    assert p.parse("GSM,460,0,1,1.0,0,1,1,1,1,1,1,1,0")[4] == 1


def test_entries_are_frozen_and_index_from_entries() -> None:
    a = RegistryEntry("ocid", "opencellid", "GSM", 460, 0, 10290, 41021, 36.62, 101.78)
    b = RegistryEntry("ops", "licensed", "GSM", 460, 0, 10291, 41021, 36.63, 101.78, arfcn=62, bsic=35)
    c = RegistryEntry("ocid", "opencellid", "LTE", 460, 0, 10290, 41021, 36.62, 101.78)
    far = RegistryEntry("ocid", "opencellid", "GSM", 460, 1, 1, 1, -36.0, -70.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.lac = 1  # type: ignore[misc]
    idx = RegistryIndex.from_entries([a, b, c, far])
    assert idx.by_cgi(460, 0, 10290, 41021) == [a]          # GSM rows only
    assert set(idx.by_cid(460, 0, 41021)) == {a, b}
    assert idx.lacs(460, 0) == {10290, 10291}
    assert [s.name for s in idx.sources] == ["ocid", "ops"]
    near = idx.near(36.62, 101.78, 1500)
    assert near[0] in (a, c) and b in near and far not in near
    assert idx.near(36.62, 101.78, 1500, radio="LTE") == [c]
    assert idx.near(float("nan"), 0, 10) == []
    assert len(RegistryIndex.empty()) == 0 and not RegistryIndex.empty().has_operator_data(460, 0)


def test_index_load_bbox_and_margin(store: Store, tmp_path: Path) -> None:
    import_registry(store, write(tmp_path / "a.csv", HEADER + "".join(GOOD)))
    idx = RegistryIndex.load(store, bbox=BBox(36.60, 101.76, 36.63, 101.80))
    assert len(idx) == 4
    assert len(RegistryIndex.load(store, bbox=BBox(36.60, 101.76, 36.63, 101.80), radios=["GSM"])) == 3
    assert len(RegistryIndex.load(store, bbox=BBox(50.0, 10.0, 50.1, 10.9))) == 0
    assert len(RegistryIndex.load(store, bbox=BBox(50.0, 10.0, 50.1, 10.9), margin_m=20_000)) == 1


# -- the command line --------------------------------------------------------------------------------------

def test_cli_import_json_and_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    p = write(tmp_path / "c.csv", HEADER + "".join(GOOD) + "GSM,abc,0,1,1,0,1,1,1,1,1,1,1,0\n")
    code, out, err = run_cli(capsys, "--db", db, "registry", "import", str(p), "--json", "--mcc", "460")
    assert code == 0 and err == ""
    rep = json.loads(out)
    assert rep["imported"] == 4 and rep["rejected"] == 1 and rep["filtered"] == 1
    assert rep["rejects"] == [{"line": 7, "reason": "mcc 'abc' is not a number"}]
    code, out, _ = run_cli(capsys, "--db", db, "registry", "import", str(p))
    assert code == 0 and "updated 4" in out and "line 7: mcc 'abc' is not a number" in out
    code, out, _ = run_cli(capsys, "--db", db, "registry", "stats", "--json")
    [s] = [json.loads(x) for x in out.splitlines()]
    assert s["name"] == "opencellid" and s["cells"] == 5 and "CC BY-SA 4.0" in s["attribution"]
    code, out, _ = run_cli(capsys, "--db", db, "registry", "stats")
    assert code == 0 and "CC BY-SA 4.0" in out and "5 cells" in out


@pytest.mark.parametrize("content", ["", "a,b\n1,2\n", b"\xff\xfe\x00\x00"])
def test_cli_bad_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         content: str | bytes) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    p = write(tmp_path / "bad.csv", content)
    code, _, err = run_cli(capsys, "--db", db, "registry", "import", str(p))
    assert code == 2 and err.count("\n") == 1 and "bad.csv" in err and "Traceback" not in err


def test_cli_directory_and_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    code, _, err = run_cli(capsys, "--db", db, "registry", "import", str(tmp_path))
    assert code == 2 and "is a directory" in err and err.count("\n") == 1
    p = write(tmp_path / "c.csv", HEADER + GOOD[0])
    code, _, err = run_cli(capsys, "--db", db, "registry", "import", str(p), "--bbox", "1,2,3")
    assert code == 2 and "--bbox" in err
    code, _, err = run_cli(capsys, "--db", db, "registry", "import", str(p), "--mcc", "1000")
    assert code == 2 and "--mcc" in err


def test_cli_truncated_gzip_exit_2_with_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    rows = many_rows(20_000)
    blob = gzip.compress((HEADER + rows).encode())
    p = tmp_path / "cut.csv.gz"
    p.write_bytes(blob[: len(blob) // 2])
    code, out, err = run_cli(capsys, "--db", db, "registry", "import", str(p))
    assert code == 2 and "ends abruptly after line" in err and err.count("\n") == 1
    assert "imported" in out


def test_headerless_rejects_keep_line_numbers(store: Store, tmp_path: Path) -> None:
    text = GOOD[0] + "GSM,x,0,1,1,0,1,1,1,1,1,1,1,0\n" + GOOD[1]
    rep = import_registry(store, write(tmp_path / "nh.csv", text))
    assert rep.headerless and rep.imported == 2 and rep.rejects == [(2, "mcc 'x' is not a number")]


def test_cli_source_options_and_radio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    p = write(tmp_path / "mls.csv", HEADER + "".join(GOOD))
    code, out, _ = run_cli(capsys, "--db", db, "registry", "import", str(p), "--radio", "gsm", "--json",
                           "--source-name", "mls-2024", "--attribution", "Mozilla Location Service",
                           "--licence", "CC0-1.0")
    rep = json.loads(out)
    assert code == 0 and rep["imported"] == 4 and rep["filtered_by"]["radio"] == 1
    assert rep["source"] == "mls-2024"
    code, out, _ = run_cli(capsys, "--db", db, "registry", "stats", "--json")
    [s] = [json.loads(x) for x in out.splitlines()]
    assert (s["attribution"], s["licence"]) == ("Mozilla Location Service", "CC0-1.0")
    assert s["radios"] == {"GSM": 4}


def test_huge_values_and_cr_only_line_ends(store: Store, tmp_path: Path) -> None:
    huge = "GSM,460,0,1,1,0," + "9" * 5000 + ",1,1,1,1,1,1,0\n"
    short = "GSM," + "9" * 5000 + ",0\n"
    rep = import_registry(store, write(tmp_path / "h.csv", HEADER + huge + short + GOOD[0]))
    assert rep.imported == 1 and rep.rejected == 2
    assert all(len(r) < 200 for _, r in rep.rejects)
    with pytest.raises(BadInput, match="CR only"):
        import_registry(store, write(tmp_path / "mac.csv", (HEADER + GOOD[0]).replace("\n", "\r")))


def test_direct_upsert_path(any_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-batch path (PostgreSQL drivers other than psycopg 3): same counts, batches committed."""
    monkeypatch.setattr(registry_import, "FORCE_DIRECT_UPSERT", True)
    moved = GOOD[0].replace("36.6200", "36.7000")
    p = write(tmp_path / "d.csv", HEADER + "".join(GOOD) + moved)
    rep = import_registry(any_store, p, batch_rows=2)
    assert (rep.imported, rep.updated, rep.rejected) == (5, 1, 0) and balanced(rep)
    again = import_registry(any_store, p, batch_rows=2)
    assert (again.imported, again.updated) == (0, 6) and n_cells(any_store) == 5
    [e] = RegistryIndex.load(any_store).by_cgi(460, 0, 10290, 41021)
    assert e.lat == pytest.approx(36.70)


def test_values_beyond_the_stores_32_bit_columns_are_rejected_rows(any_store: Store, tmp_path: Path) -> None:
    # created/updated/samples are 32-bit integers in the store: on PostgreSQL one such value aborted
    # the whole import (NumericValueOutOfRange, exit 1) instead of being one rejected row
    lines = [HEADER, GOOD[0],
             "GSM,460,0,10290,41040,0,101.78,36.62,1200,15,1,3000000000,1660000000,0\n",   # line 3
             "GSM,460,0,10290,41041,0,101.78,36.62,1200,15,1,1600000000,2200000000,0\n",   # line 4
             "GSM,460,0,10290,41042,0,101.78,36.62,1200,3000000000,1,1600000000,1660000000,0\n",  # line 5
             GOOD[1]]
    rep = import_registry(any_store, write(tmp_path / "far.csv", "".join(lines)))
    assert rep.imported == 2 and rep.rejected == 3 and balanced(rep)
    reasons = dict(rep.rejects)
    assert "created 3000000000 is out of range" in reasons[3]
    assert "updated 2200000000 is out of range" in reasons[4]
    assert "samples 3000000000 is out of range" in reasons[5]


@pytest.mark.parametrize("option", [["--licence", "Creative Commons Attribution-ShareAlike 4.0 International "
                                                  "Public License"], ["--source-name", "x" * 300]])
def test_cli_options_longer_than_their_columns_are_bad_usage(db_url: str, tmp_path: Path, option: list[str],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # on PostgreSQL they were an internal error (StringDataRightTruncation, the SQL on stderr) at the
    # end of the import, exit 1
    p = write(tmp_path / "c.csv", HEADER + GOOD[0])
    code, _, err = run_cli(capsys, "--db", db_url, "registry", "import", str(p), *option)
    assert code == 2 and option[0] in err and err.count("\n") == 1


def _stored(st: Store) -> list[tuple[object, ...]]:
    c = RegistryCell.__table__
    cols = [c.c[n] for n in ("radio", "mcc", "mnc", "lac", "cid", "lon", "lat", "range_m", "samples",
                             "created", "updated", "average_signal")]
    with st.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*cols).order_by(*cols[:5]))]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("filters", [{}, {"mccs": [460], "radios": ["GSM", "LTE"],
                                          "bbox": BBox(30.0, 100.0, 40.0, 102.5)}])
def test_blocks_parsed_with_numpy_equal_the_line_by_line_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               eol: str, filters: dict[str, object]) -> None:
    """The numpy path (a block of plain lines at once) stores and reports exactly what the
    line-by-line path does, bad and odd lines among good ones included (each in its place)."""
    rows = []
    for i in range(20_000):
        radio = ("GSM", "LTE", "UMTS", "NR", "CDMA")[i % 5]
        mcc = (460, 262)[i % 2]
        rows.append(f"{radio},{mcc},{i % 7},{1 + i % 900},{i},0,{100 + i / 1000:.6f},{35 + i / 1000:.5f},"
                    f"{100 + i},{i % 50},1,{1_600_000_000 + i},{1_660_000_000 + i},{-(i % 90)}")
    odd = {17: "GSM,460,0,70000,1,0,101.0,36.0,1,1,1,1,1,0",        # GSM LAC out of range
           40: "GSM,460,0,12.0,41021,0,101.0,36.0,1,1,1,1,1,0",     # a whole number written 12.0: good
           41: "GSM,460,0,12,41021,0,101.5,36.5,1,1,1,1,1,0",       # the same key again: the later wins
           99: "GSM,460,0,1,2,0,101.0,36.0,,1,1,1,1,0",             # empty range: good
           500: "gsm,460,0,1,3,0,101.0,36.0,1,1,1,1,1,0",           # radio in lower case: good
           777: "GSM,460,0,1,4,0,101.0,96.0,1,1,1,1,1,0",           # lat
           1500: "GSM,460,0,1,5,0,1e3,36.0,1,1,1,1,1,0",            # lon 1000
           2000: "",                                                # blank
           2001: "GSM,460,0,1,6,0,nan,36.0,1,1,1,1,1,0",            # not finite
           2500: "GSM,460,0,1,7,0,101.0,36.0,1,1,1,1,1.5,0"}        # updated not whole
    for k, v in odd.items():
        rows[k] = v
    text = HEADER.replace("\n", eol) + "".join(r + eol for r in rows)
    p = write(tmp_path / "mixed.csv", text)
    a = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    b = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        real = RowParser.vector_block
        taken: list[int] = []

        def counting(self: RowParser, block: bytes, n: int) -> object:
            vr = real(self, block, n)
            if vr is not None:
                taken.append(n)
            return vr

        monkeypatch.setattr(RowParser, "vector_block", counting)
        ra = import_registry(a, p, **filters)  # type: ignore[arg-type]
        assert sum(taken) > 15_000     # the numpy path read most lines (in pieces around the odd ones)
        monkeypatch.setattr(RowParser, "vector_block", lambda self, block, n: None)
        rb = import_registry(b, p, **filters)  # type: ignore[arg-type]
        ja, jb = ra.to_json(), rb.to_json()
        for k in ("elapsed_s", "rows_per_s", "merge_s", "cpu_s"):
            ja.pop(k), jb.pop(k)
        assert ja == jb and balanced(ra)
        assert ra.rejected == 5 and ra.blank_lines == 1 and ra.rejects[0][0] == 19
        assert _stored(a) == _stored(b) and len(_stored(a)) == ra.imported > 0
        if not filters:
            [e] = RegistryIndex.load(a).by_cgi(460, 0, 12, 41021)
            assert e.lat == pytest.approx(36.5)
    finally:
        a.close()
        b.close()


def test_nr_cell_ids_of_36_bits_are_stored(any_store: Store, tmp_path: Path) -> None:
    # the cell id was a 32-bit column: on PostgreSQL an NR identity (36 bits) could not be stored
    nci = 2**36 - 1
    lines = [HEADER, GOOD[0],
             f"NR,460,0,123456,{nci},0,101.78,36.62,500,3,1,1600000000,1660000000,0\n",
             f"NR,460,0,123456,{nci + 1},0,101.78,36.62,500,3,1,1600000000,1660000000,0\n"]   # line 4
    rep = import_registry(any_store, write(tmp_path / "nr.csv", "".join(lines)))
    assert rep.imported == 2 and rep.rejected == 1 and balanced(rep)
    assert rep.rejects[0][0] == 4 and "cell 68719476736 is out of range" in rep.rejects[0][1]
    [e] = [x for x in RegistryIndex.load(any_store, radios=["NR"])]
    assert e.cid == nci and e.radio == "NR"


def _report_without_times(rep: registry_import.ImportReport) -> dict[str, object]:
    j = rep.to_json()
    for k in ("elapsed_s", "rows_per_s", "merge_s", "cpu_s", "source_id"):
        j.pop(k)
    return j


def test_child_reader_gives_what_this_process_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A big file is read and parsed by a child process (registry_reader) while this one writes:
    the same rows, counts, rejects with line numbers, damage and progress as reading in-process."""
    rows = [f"GSM,460,3,{1 + i // 60000},{i % 60000},0,101.0,36.0,1,1,1,1600000000,1660000000,0\n"
            for i in range(70_000)]
    rows[10] = "GSM,abc,0,1,1,0,101.0,36.0,1,1,1,1,1,0\n"
    rows[20] = "\n"
    rows[30_000] = "GSM,460,3,1,30000,0,101.0,36.0,,1,1,1,1,0\n"       # an empty range: good
    rows[40_000] = "GSM,460,3,1,5,0,101.5,36.5,1,1,1,1600000000,1660000000,0\n"   # line 7's key again
    rows[50_000] = '"LTE","460","3","7","123456789","0","101.0","36.0","1","1","1","1","1","0"\n'
    rows[60_000] = "UMTS,262,1,9,99,0,9.0,50.0,1,1,1,1,1,0\n"
    blob = gzip.compress((HEADER + "".join(rows)).encode())
    files = {"plain.csv": (HEADER + "".join(rows)).encode(), "cut.csv.gz": blob[: len(blob) // 2],
             "headerless.csv": "".join(rows[:100]).encode()}
    real = registry_import._read_rows_in_child
    calls: list[str] = []
    monkeypatch.setattr(registry_import, "_read_rows_in_child", _spy(real, calls))
    for name, data in files.items():
        p = tmp_path / name
        p.write_bytes(data)
        for filters in ({}, {"mccs": [460], "radios": ["GSM", "LTE"]}):
            results = []
            for child in (False, True):
                monkeypatch.setattr(registry_import, "CHILD_READER_MIN_BYTES", 0 if child else None)
                calls.clear()
                st = open_store(f"sqlite:///{tmp_path / f'{name}.{child}.{len(filters)}.db'}")
                try:
                    seen: list[tuple[int, str]] = []

                    def progress(r: registry_import.ImportReport, ph: str,
                                 seen: list[tuple[int, str]] = seen) -> None:
                        seen.append((r.rows_read, ph))

                    rep = import_registry(st, p, progress=progress, **filters)  # type: ignore[arg-type]
                    stored = _stored(st)
                    results.append((_report_without_times(rep), stored,
                                    [tuple(type(v).__name__ for v in r) for r in stored], seen[-1]))
                    assert bool(calls) == child and balanced(rep)
                    assert any(ph == "read" for _, ph in seen) == (rep.rows_read > 50_000)
                finally:
                    st.close()
            assert results[0] == results[1], name
            if name == "plain.csv" and not filters:
                assert results[0][0]["updated"] == 1
                assert (("GSM", 460, 3, 1, 5, 101.5, 36.5, 1.0, 1, 1600000000, 1660000000, 0.0)
                        in results[0][1])
    monkeypatch.setattr(registry_import, "CHILD_READER_MIN_BYTES", 0)
    st = open_store(f"sqlite:///{tmp_path / 'int.db'}")
    try:
        def interrupt(rep: registry_import.ImportReport, phase: str) -> None:
            raise KeyboardInterrupt

        rep = import_registry(st, tmp_path / "plain.csv", progress=interrupt)
        assert rep.interrupted and rep.stored == 0 and n_cells(st) == 0
    finally:
        st.close()


def _spy(fn, calls):  # type: ignore[no-untyped-def]
    def wrapped(*a, **k):  # type: ignore[no-untyped-def]
        calls.append(fn.__name__)
        return fn(*a, **k)
    return wrapped
