"""The monthly report: figures for the month in the profile's time zone,
handovers with dates, CSV beside the HTML, bad input as one line."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fbsdetect.cli.main import main
from fbsdetect.store import open_store
from tests.mapping.fixtures import populate


@pytest.fixture
def surveyed(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'survey.db'}"
    with open_store(url) as store:
        populate(store)
    return url


def test_report_figures_and_files(surveyed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["handover", "1", "--to", "police", "--ref", "XN-2026-031", "--at", "2026-03-05T09:00:00Z",
                 "--db", surveyed]) == 0
    assert main(["handover", "1", "--to", "regulator", "--at", "2026-04-02T09:00:00Z", "--db", surveyed]) == 0
    capsys.readouterr()
    out = tmp_path / "rep"
    assert main(["report", "--month", "2026-03", "-o", str(out), "--db", surveyed]) == 0
    files = capsys.readouterr().out.split()
    assert [Path(f).name for f in files] == ["report-2026-03.html", "detections-2026-03.csv",
                                            "summary-2026-03.csv", "handovers-2026-03.csv"]
    rows = csv.DictReader((out / "summary-2026-03.csv").open())
    summary = {(r["figure"], r["key"]): r["value"] for r in rows}
    assert summary[("suspects_active", "all")] == "1" and summary[("suspects_new", "all")] == "1"
    assert summary[("suspects_active", "severity=high")] == "1"
    assert summary[("observations", "all")] == "480"
    assert summary[("handovers", "recipient=police")] == "1"  # the April one is not in March
    assert ("handovers", "recipient=regulator") not in summary
    dets = list(csv.DictReader((out / "detections-2026-03.csv").open()))
    assert dets[0]["operator"].startswith("China Mobile") and "+0800" in dets[0]["first_seen"]
    assert "police 2026-03-05 (XN-2026-031)" in dets[0]["handed_over"]
    page = (out / "report-2026-03.html").read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in page and "<svg" in page and "Asia/Shanghai" in page
    # the month before holds nothing
    assert main(["report", "--month", "2026-02", "-o", str(tmp_path / "feb"), "--db", surveyed]) == 0
    summary = {(r["figure"], r["key"]): r["value"]
               for r in csv.DictReader((tmp_path / "feb" / "summary-2026-02.csv").open())}
    assert summary[("suspects_active", "all")] == "0"


def test_month_boundary_is_local_time(surveyed: str, tmp_path: Path) -> None:
    from fbsdetect.report.monthly import monthly_figures, zone

    with open_store(surveyed) as store:
        fig = monthly_figures(store, "2026-03", zone("Asia/Shanghai"))
    assert fig.start == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)


def test_bad_input(surveyed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--month", "March", "-o", str(tmp_path), "--db", surveyed]) == 2
    assert "is not YYYY-MM" in capsys.readouterr().err
    assert main(["report", "--month", "2026-03", "--timezone", "Mars/Olympus", "-o", str(tmp_path),
                 "--db", surveyed]) == 2
    assert main(["handover", "999", "--to", "police", "--db", surveyed]) == 2
    assert "no detection 999" in capsys.readouterr().err


@pytest.mark.parametrize("month", ["9999-12", "0001-01"])
def test_months_at_the_calendar_edges_are_bad_input(surveyed: str, tmp_path: Path, month: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--month", month, "-o", str(tmp_path), "--db", surveyed]) == 2
    err = capsys.readouterr().err
    assert "is not YYYY-MM" in err and "internal error" not in err


def test_output_that_is_a_file_is_bad_usage(surveyed: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "report.txt"
    f.write_text("x")
    assert main(["report", "--month", "2026-03", "-o", str(f), "--db", surveyed]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(f) in err and "internal error" not in err


def test_handover_reference_longer_than_its_column_is_bad_usage(surveyed: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # PostgreSQL refuses more than 256 characters (an internal error with the SQL on stderr)
    assert main(["handover", "1", "--to", "police", "--ref", "x" * 300, "--db", surveyed]) == 2
    err = capsys.readouterr().err
    assert "--ref" in err and len(err.strip().splitlines()) == 1
