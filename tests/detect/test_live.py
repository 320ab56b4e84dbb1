"""The scan's live Detector: alerts as observations come, once per level."""

from __future__ import annotations

from fbsdetect.detect.live import Detector
from tests.detect import support as S
from tests.detect.test_engine import CHINESE


def test_alerts_for_the_fake_and_not_the_town() -> None:
    det = Detector(None, S.profile(), config={}, registry=S.registry())
    alerts = []
    for k in range(3):
        for c in S.town(t=20.0 * k):
            alerts += det.observe(c, None)
        alerts += det.observe(S.fake(t=20.0 * k + 3, **CHINESE), None)
        alerts += det.sweep_done()
    severe = [a for a in alerts if a.severity in ("medium", "high")]
    assert severe and all(a.arfcn == 90 for a in severe), alerts
    assert len([a for a in alerts if a.arfcn == 90 and a.severity == "high"]) == 1  # once per level
    assert det.suspect_arfcns() >= {90}
    det.close()


def test_lte_tunings_feed_the_jamming_rule() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    det = Detector(None, S.profile(), config={}, registry=S.registry())
    t = datetime(2026, 3, 1, 10, 0, 2, tzinfo=UTC)
    # the band quiet first, then 15 dB up (a jammer switched on)
    det.tuning(SimpleNamespace(kind="lte", noise_floor_db=-60.0, gain_db=20.0, time=t, band="B5",
                               center_freq_hz=881.5e6))
    det.tuning(SimpleNamespace(kind="lte", noise_floor_db=-45.0, gain_db=20.0, time=t, band="B5",
                               center_freq_hz=881.5e6))
    for c in S.town():
        det.observe(c, None)
    det.observe(S.fake(lac=9999, cid=1, power=-40.0), None)
    det.sweep_done()
    assert "lte-jamming-new-cell" in det.findings[next(k for k in det.findings if k.cid == 1)]


def test_close_stores_what_analyze_would(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from fbsdetect.detect.engine import list_detections
    from fbsdetect.scan.sink import RunInfo
    from fbsdetect.store.sink import StoreSink
    from tests.detect.test_engine import _registry_rows, _store

    store = _store(tmp_path)
    _registry_rows(store)
    sink = StoreSink(store, sensor="s1")
    sink.run_started(RunInfo(source="test", profile="cn-test", sensor="s1",
                             start_time=datetime(2026, 3, 1, 10, tzinfo=UTC), software_version="t"))
    det = Detector(store, S.profile(), config={})
    for k in range(3):
        for c in [*S.town(t=20.0 * k), S.fake(t=20.0 * k + 3, **CHINESE)]:
            oid = sink.observation(c, radio_s=20.0 * k, tuning_id=None, kind="dwell", frames=[])
            det.observe(c, oid)
        sink.flush()
        det.sweep_done()
    sink.run_ended({})
    det.close()
    d = list_detections(store, min_severity="medium")
    assert [x["cell"]["cid"] for x in d] == [1] and d[0]["severity"] == "high"


def test_a_band_never_quiet_is_no_jamming() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    det = Detector(None, S.profile(), config={}, registry=S.registry())
    t = datetime(2026, 3, 1, 10, 0, 2, tzinfo=UTC)
    for _ in range(3):  # a legitimate LTE carrier, there from the first look
        det.tuning(SimpleNamespace(kind="lte", noise_floor_db=-45.0, gain_db=20.0, time=t, band="B5",
                                   center_freq_hz=881.5e6))
    for c in S.town():
        det.observe(c, None)
    det.observe(S.fake(lac=9999, cid=1, power=-40.0), None)
    det.sweep_done()
    k = next(k for k in det.findings if k.cid == 1)
    assert "lte-jamming-new-cell" not in det.findings[k]


def test_traffic_of_a_followed_dwell_feeds_the_live_rules() -> None:
    """The scan hands the dwell's traffic follower to `observe`: an SMS in clear raises the
    dedicated-channel rules live, not only in a later `analyze`."""
    from types import SimpleNamespace

    det = Detector(None, S.profile(), config={}, registry=S.registry())
    counts = SimpleNamespace(assignments=3, to_json=lambda: {
        "assignments": 3, "ciphered": 0, "sms": 1, "identity_requests": {"imsi": 2}, "lu_rejects": 2,
        "lu_accepts": 0, "auth_requests": 0, "paging_requests": 0})
    sms = SimpleNamespace(to_json=lambda: {"sender": "95588", "text": "您的账户异常", "encoding": "ucs2"})
    follower = SimpleNamespace(counts=counts, sms=[sms])
    for c in S.town():
        det.observe(c, None)
    det.observe(S.fake(lac=9999, cid=1), None, traffic=follower)
    det.sweep_done()
    found = det.findings[next(k for k in det.findings if k.cid == 1)]
    assert "sms-unciphered" in found and found["sms-unciphered"].family == "traffic"


def test_the_live_paging_rate_is_over_the_sample_s_own_span_as_in_analyze() -> None:
    """Review (session 4) #27: the live detector divided a bounded paging sample by the span of all the
    dwell's frames (BCCH over a 30 s followed dwell), ~3x under the rate analyze stores."""
    from fbsdetect.detect.engine import _paging_and_span
    from fbsdetect.detect.live import Detector
    from fbsdetect.scan.profile import load_profile
    from fbsdetect.sysinfo.paging import MobileIdentity, build_p1
    from fbsdetect.types import CellObservation, L2Frame

    si3 = "49061b" + "00" * 20
    bcch = [L2Frame(arfcn=62, fn=51 * k + 2, ts=0, channel="BCCH", data=bytes.fromhex(si3))
            for k in range(0, 128, 4)]
    pch = [L2Frame(arfcn=62, fn=51 * (k // 4) + 6 + 10 * (k % 4), ts=0, channel="PCH",
                   data=build_p1([MobileIdentity("tmsi", f"{k:08x}")])) for k in range(400)]
    obs = CellObservation(arfcn=62, band="E-GSM900", freq_hz=947.4e6, bsic=35, mcc=460, mnc=0, lac=1, cid=2,
                          si={"3": si3}, params={"t3212": 30})
    det = Detector(None, load_profile("cn"))
    det.observe(obs, 1, frames=bcch + pch)
    live = next(iter(det.latest.values())).paging
    stored = _paging_and_span([(f.fn, f.channel, f.data) for f in pch])
    assert live is not None and stored is not None
    assert live.requests == stored.requests == 400 and live.duration_s == stored.duration_s
