"""Review #17: alerts flag a cell (ARFCN, BSIC, CGI when known), not its ARFCN: a legitimate cell reusing the
fake's ARFCN gets no IQ snippet, no fake's severity label and no CCCH following on the fake's account."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fbsdetect.detect.live import Alert
from fbsdetect.scan.flags import CellFlags
from fbsdetect.scan.plan import Tuning
from fbsdetect.scan.profile import load_profile
from fbsdetect.scan.runner import CellState, ScanRunner
from fbsdetect.scan.sink import MemorySink
from fbsdetect.sources.sim import SimSource
from fbsdetect.types import CellObservation

SMALL = Path(__file__).resolve().parents[2] / "tests" / "corpus" / "sweep" / "small.toml"
FAKE = Alert(20, "high", "fake", 9.0, (460, 0, 7777, 4321, 20, 11))


class _Keeper:
    def __init__(self) -> None:
        self.saved: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.sha256: dict[str, Any] = {}

    def flagged(self, severity: str | None) -> bool:
        return severity in ("medium", "high")

    def save(self, tap: Any, r: Any, centre: float, **kw: Any) -> str:
        self.saved.append(kw["cell"])
        return "x.sigmf-meta"


def _runner() -> tuple[ScanRunner, _Keeper]:
    src = SimSource.from_path(SMALL)
    runner = ScanRunner(src, load_profile("cn"), MemorySink(), source_spec="sim")
    keeper = _Keeper()
    runner.snippets, runner._tap = keeper, SimpleNamespace()  # type: ignore[assignment]
    runner._alerts([FAKE])
    return runner, keeper


def _obs(bsic: int, lac: int, cid: int) -> CellObservation:
    return CellObservation(arfcn=20, band="EGSM900", freq_hz=939.4e6, mcc=460, mnc=0, lac=lac, cid=cid,
                           bsic=bsic)


def test_a_legit_cell_on_the_fakes_arfcn_gets_no_snippet_nor_the_fakes_severity() -> None:
    runner, keeper = _runner()
    d = SimpleNamespace(t0_s=0.0, tuning=SimpleNamespace(center_freq_hz=939e6))
    legit = SimpleNamespace(arfcn=20, bsic=40, band="EGSM900", first_seen_s=0.0)
    runner._keep_snippet(legit, d, 7, _obs(40, 10201, 20037))  # type: ignore[arg-type]
    assert keeper.saved == []
    same_bsic_other_cgi = SimpleNamespace(arfcn=20, bsic=11, band="EGSM900", first_seen_s=0.0)
    runner._keep_snippet(same_bsic_other_cgi, d, 8, _obs(11, 10201, 20099))  # type: ignore[arg-type]
    assert keeper.saved == []
    fake = SimpleNamespace(arfcn=20, bsic=11, band="EGSM900", first_seen_s=0.0)
    runner._keep_snippet(fake, d, 9, _obs(11, 7777, 4321))  # type: ignore[arg-type]
    assert [c["severity"] for c in keeper.saved] == ["high"] and keeper.saved[0]["bsic"] == 11


def test_where_needed_following_is_not_switched_on_by_a_co_channel_fake() -> None:
    runner, _ = _runner()
    prof = runner.profile
    runner.profile = replace(prof, radio=replace(prof.radio, follow_ccch="where-needed"))
    t = Tuning(939e6, 2.17e6, "EGSM900", (20,))
    runner.cells = {(20, 40): CellState(arfcn=20, bsic=40, band="EGSM900", mcc=460, mnc=0, lac=10201,
                                        cid=20037)}
    assert runner._follow("refresh", t) is False
    runner.cells[(20, 11)] = CellState(arfcn=20, bsic=11, band="EGSM900")  # the fake, CGI not read yet
    assert runner._follow("refresh", t) is None


def test_flags_without_a_bsic_cover_the_arfcn_and_keep_the_highest() -> None:
    f = CellFlags()
    f.note(Alert(30, "medium", "no cell"))
    f.note(FAKE)
    f.note(Alert(20, "low", "later, lower", 1.0, FAKE.cell))
    assert f.severity(30, 5) == "medium" and f.severity(20, 11, (460, 0, 7777, 4321)) == "high"
    assert f.severity(20, 11) == "high" and f.severity(20, 40) is None and f.severity(21, 11) is None


def test_the_observation_binds_its_snippet_by_sha256(tmp_path: Path) -> None:
    """Review #11: the snippet's hashes go into the observation's params (audited) when it is written."""
    from datetime import UTC, datetime

    from fbsdetect.scan.snippets import SnippetKeeper, sha256_file
    from tests.scan.test_snippets import _carrier, _tap_with

    runner, _ = _runner()
    runner.snippets, runner._tap = SnippetKeeper(tmp_path), _tap_with(1.0)
    runner.time_zero = datetime(2026, 3, 2, tzinfo=UTC)
    stored: dict[int, dict[str, Any]] = {}
    runner.sink = SimpleNamespace(update_params=lambda oid, extra: stored.setdefault(oid, extra) is not None)
    fake = _carrier(20, 8)
    fake.first_seen_s = 0.0  # type: ignore[attr-defined]
    d = SimpleNamespace(t0_s=0.0, tuning=SimpleNamespace(center_freq_hz=939e6))
    runner._keep_snippet(fake, d, 9, _obs(11, 7777, 4321))  # type: ignore[arg-type]
    p = stored[9]
    meta = tmp_path / p["iq_snippet"]
    data = meta.with_name(meta.name.replace(".sigmf-meta", ".sigmf-data"))
    assert p["iq_sha256"] == {"meta": sha256_file(meta), "data": sha256_file(data)}
