"""Fuzz: random bytes and random lines into the registry import never give a
traceback: the outcome is a BadInput (the file as a whole) or a report whose
counts add up."""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fbsdetect.detect.registry import import_registry
from fbsdetect.detect.registry_csv import RowError, RowParser, detect_format
from fbsdetect.errors import BadInput
from fbsdetect.store import open_store
from fbsdetect.store.db import Store

HEADER = "radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal\n"
LIC_HEADER = "date_start,date_end,radio,mcc,mnc,lac,ci,lon,lat,azimuth,arfcn,bsic\n"
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as d:
        s = open_store(f"sqlite:///{Path(d) / 'fuzz.db'}")
        yield s
        s.close()


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def _check(store: Store, path: Path) -> None:
    try:
        rep = import_registry(store, path)
    except BadInput as exc:
        assert exc.one_line() and "\n" not in exc.one_line()
        return
    assert rep.rows_read == rep.imported + rep.updated + rep.rejected + rep.filtered
    assert rep.exit_code in (0, 2)
    rep.text()
    rep.to_json()


@SETTINGS
@given(data=st.binary(max_size=2000), gz=st.booleans())
def test_random_bytes(store: Store, workdir: Path, data: bytes, gz: bool) -> None:
    p = workdir / ("f.csv.gz" if gz else "f.csv")
    p.write_bytes(gzip.compress(data)[: max(1, len(data))] if gz else data)
    _check(store, p)


_field = st.one_of(st.text(alphabet="0123456789.-+eE_ nN\"'x,;", max_size=8), st.integers().map(str),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from(
                       ["GSM", "UMTS", "LTE", "NR", "CDMA", "gsm", "2G", "", "é", "\x00", "\ufeff"]))


@SETTINGS
@given(rows=st.lists(st.lists(_field, min_size=0, max_size=16), max_size=30),
       header=st.sampled_from([HEADER, LIC_HEADER, "\ufeff" + HEADER, ""]),
       eol=st.sampled_from(["\n", "\r\n"]), encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_random_rows(store: Store, workdir: Path, rows: list[list[str]], header: str, eol: str,
                     encoding: str) -> None:
    text = header + "".join(",".join(r) + eol for r in rows)
    p = workdir / "r.csv"
    p.write_bytes(text.encode(encoding, errors="replace"))
    _check(store, p)


@settings(max_examples=400, deadline=None)
@given(line=st.text(max_size=200), licensed=st.booleans())
def test_parser_gives_a_row_or_a_reason(line: str, licensed: bool) -> None:
    fmt = detect_format((LIC_HEADER if licensed else HEADER).encode(), source="x")
    p = RowParser(fmt)
    try:
        row = p.parse(line)
    except RowError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert len(row) == len(p.columns) and row[0] in ("GSM", "UMTS", "LTE", "NR", "CDMA")
    if p.fast_line is not None:   # the fast path agrees with the careful one
        fast = p.fast_line(line)
        assert fast is None or fast == row
