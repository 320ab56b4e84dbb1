"""`verify --db --head SEQ:HASH` (review, session 4, #4): the audit chain is not keyed, so an edit of a row
followed by an appended `update` entry leaves the chain valid and the row matching its newest entry. Against
a head recorded earlier (an evidence package's audit_head), that change is named, column by column."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from fbsdetect.cli.main import main
from fbsdetect.types import CellObservation


def _verify(capsys: pytest.CaptureFixture[str], url: str, *extra: str) -> tuple[int, str, str]:
    try:
        code = main(["verify", "--db", url, *extra])
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _store_with_three(tmp_path: Path) -> tuple[object, str]:
    from fbsdetect.scan.sink import RunInfo
    from fbsdetect.store import open_store
    from fbsdetect.store.sink import StoreSink

    url = f"sqlite:///{tmp_path / 'a.db'}"
    store = open_store(url)
    sink = StoreSink(store, sensor="s1")
    sink.run_started(RunInfo(source="test", profile="cn", sensor="s1",
                             start_time=datetime(2026, 3, 1, tzinfo=UTC), software_version="t"))
    for k in range(3):
        sink.observation(CellObservation(arfcn=10 + k, band="P-GSM900", freq_hz=937e6, bsic=1, mcc=460, mnc=0,
                                         lac=1, cid=100 + k, power_dbm=-60.0, lat=31.2, lon=121.4,
                                         time="2026-03-01T10:00:00.000Z"),
                         radio_s=float(k), tuning_id=None, kind="dwell", frames=[])
    sink.flush()
    sink.run_ended({})
    return store, url


def test_a_change_hidden_by_an_appended_entry_is_named_against_the_recorded_head(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fbsdetect.store import audit

    store, url = _store_with_three(tmp_path)
    code, out, _err = _verify(capsys, url, "--json")
    rep = json.loads(out)
    assert code == 0 and rep["ok"]
    head = f"{rep['head_seq']}:{rep['head_hash']}"
    # the bookkeeping of a later analysis is no change of evidence
    from fbsdetect.detect.engine import analyze

    analyze(store)
    code, out, err = _verify(capsys, url, "--head", head)
    assert code == 0 and "nothing recorded then has changed" in out, (out, err)
    # plain SQL moves observation 2 by 5 km and makes it 20 dB stronger, then appends an entry for it
    with store.engine.begin() as c:  # type: ignore[attr-defined]
        c.execute(text("UPDATE observation SET lat = lat + 0.045, power_dbm = -40 WHERE id = 2"))
        audit.record_rows(c, [("observation", 2, "update")])
    code, out, _err = _verify(capsys, url)
    assert code == 0 and "OK, untouched" in out  # the chain alone cannot see it ...
    code, out, err = _verify(capsys, url, "--head", head)
    # ... the head can
    assert code == 1 and "observation 2: lat, power_dbm changed after the recorded head" in err
    code, out, _err = _verify(capsys, url, "--head", head, "--json")
    j = json.loads(out)
    assert code == 1 and not j["ok"] and j["since_head"]["problems"] == 1
    # a rewritten log before the head, and a head the log does not hold
    code, _out, err = _verify(capsys, url, "--head", f"{rep['head_seq']}:{'0' * 16}")
    assert code == 1 and "rewritten" in err
    code, _out, err = _verify(capsys, url, "--head", f"{rep['head_seq'] + 10**6}:{'0' * 16}")
    assert code == 1 and "not in this log" in err
    store.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("head", ["12", "x:1c96f2d97eb953e0", "12:abc", ""])
def test_a_malformed_head_is_a_usage_error(head: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    store, url = _store_with_three(tmp_path)
    store.close()  # type: ignore[attr-defined]
    code, _out, err = _verify(capsys, url, "--head", head)
    assert code == 2 and "--head" in err and "Traceback" not in err


@pytest.mark.parametrize("forgery", ["insert", "old-fields"])
def test_a_forged_entry_cannot_hide_a_change_from_the_head(forgery: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Review (session 4) #16: the appended entry is the forger's own, labelled "insert" rather than
    "update", or an "update" carrying the edited row's true digest but the head-time column digests: the
    comparison is with the row as it is now."""
    from sqlalchemy import insert

    from fbsdetect.store import audit

    store, url = _store_with_three(tmp_path)
    code, out, _err = _verify(capsys, url, "--json")
    rep = json.loads(out)
    head = f"{rep['head_seq']}:{rep['head_hash']}"
    with store.engine.begin() as c:  # type: ignore[attr-defined]
        old_fields = c.execute(text("SELECT fields FROM audit_log WHERE table_name = 'observation' "
                                    "AND row_id = 2 ORDER BY seq DESC LIMIT 1")).scalar()
        c.execute(text("UPDATE observation SET lat = lat + 0.045, power_dbm = -40 WHERE id = 2"))
        if forgery == "insert":
            audit.record_rows(c, [("observation", 2, "insert")])
        else:
            seq, h = c.execute(text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")).first()
            digest = audit._current_digests(c, "observation", [2])[2][0]
            now = datetime.now(UTC)
            eh = audit.entry_hash(h, seq + 1, now, "observation", 2, "update", digest, old_fields)
            c.execute(insert(audit.AUDIT_TABLE), [{"seq": seq + 1, "time": now, "table_name": "observation",
                                                   "row_id": 2, "action": "update", "row_digest": digest,
                                                   "fields": old_fields, "prev_hash": h, "hash": eh}])
    code, out, _err = _verify(capsys, url)
    assert code == 0  # the chain alone still sees nothing
    code, out, err = _verify(capsys, url, "--head", head)
    assert code == 1 and "observation 2: lat, power_dbm changed after the recorded head" in err, (out, err)
    store.close()  # type: ignore[attr-defined]


def test_a_handover_record_edited_behind_fbsdetect_s_back_is_found(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Review (session 4) #18: the chain of custody (who received which detection, when, under which case
    number) was outside the audit chain: rewritten with plain SQL, verify still said untouched."""
    from fbsdetect.report.monthly import add_handover
    from fbsdetect.store.models import Detection

    store, url = _store_with_three(tmp_path)
    with store.session() as s:  # type: ignore[attr-defined]
        det = Detection(mcc=460, mnc=0, lac=1, cid=100, arfcn=10, bsic=1, severity="high", score=0.9)
        s.add(det)
        s.flush()
        det_id = det.id
    add_handover(store, det_id, "police", reference="CASE-2026-0815",  # type: ignore[arg-type]
                 handed_at=datetime(2026, 2, 17, 9, tzinfo=UTC))
    code, out, _err = _verify(capsys, url, "--json")
    rep = json.loads(out)
    assert code == 0 and rep["rows"]["handover"] == 1
    head = f"{rep['head_seq']}:{rep['head_hash']}"
    with store.engine.begin() as c:  # type: ignore[attr-defined]
        c.execute(text("UPDATE handover SET reference = 'CASE-2026-0999'"))
    code, _out, err = _verify(capsys, url)
    assert code == 1 and "handover 1: row edited after audit entry" in err and "reference" in err
    from fbsdetect.store import audit

    with store.engine.begin() as c:  # type: ignore[attr-defined]
        audit.record_rows(c, [("handover", 1, "update")])  # ... and the forger appends an entry for it
    code, _out, err = _verify(capsys, url, "--head", head)
    assert code == 1 and "handover 1: reference changed after the recorded head" in err
    store.close()  # type: ignore[attr-defined]
