"""The sweep planner: every ARFCN in exactly one grid tuning, off DC, inside the usable span."""

from __future__ import annotations

from fbsdetect.dsp.channelizer import carrier_is_decodable
from fbsdetect.scan.plan import half_span_hz, plan_sweep, rtl_accepts, rtl_actual_rate_hz
from fbsdetect.scan.profile import load_profile


def test_cn_grid_covers_egsm900_off_dc() -> None:
    plan = plan_sweep(load_profile("cn"))
    assert abs(plan.sample_rate_hz - 8 * 1625000 / 6) < 1
    assert rtl_accepts(plan.sample_rate_hz)
    assert abs(rtl_actual_rate_hz(plan.sample_rate_hz) / plan.sample_rate_hz - 1) < 1e-6
    assert len(plan.tunings) == 18
    seen: list[int] = []
    for t in plan.tunings:
        for a in t.arfcns:
            off = plan.freq[(a, t.band)] - t.center_freq_hz
            assert abs(off) >= 100e3 - 1  # the DC spike sits between channels
            assert carrier_is_decodable(off, t.sample_rate_hz)
        seen.extend(t.arfcns)
    assert sorted(seen) == sorted(list(range(975, 1024)) + list(range(0, 125)))
    # DCS1800 and the LTE bands above 1766 MHz are reported, not silently dropped
    assert any(u.band == "DCS1800" and "outside the tuner's range" in u.reason for u in plan.unreachable)
    assert {b for b, _ in plan.lte_unreachable} == {"B3", "B39", "B40", "B41"}
    assert "B8" in plan.lte_covered_by_gsm and plan.lte_tunings  # B5 measured by its own tunings


def test_without_a_tuner_cap_dcs1800_is_planned() -> None:
    from dataclasses import replace

    p = load_profile("cn")
    p = replace(p, radio=replace(p.radio, tuner_max_hz=6e9))
    plan = plan_sweep(p, freq_range_hz=(1e6, 6e9))
    assert not plan.unreachable
    assert any(t.band == "DCS1800" for t in plan.tunings)


def test_cover_is_minimal_and_holds_every_carrier() -> None:
    plan = plan_sweep(load_profile("cn"))
    h = half_span_hz(plan.sample_rate_hz)
    carriers = [(a, "E-GSM900") for a in (975, 980, 984, 3, 50, 51, 52, 124)]
    cov = plan.cover(carriers)
    assert len(cov) == 4  # 975-984 | 3 | 50-52 | 124
    for a, b in carriers:
        assert any(a in t.arfcns and abs(plan.freq[(a, b)] - t.center_freq_hz) <= h for t in cov)
    t = plan.tuning_for(50, "E-GSM900")
    assert abs(plan.freq[(50, "E-GSM900")] - t.center_freq_hz - 100e3) < 1
