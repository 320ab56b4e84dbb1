from __future__ import annotations

import ctypes

import pytest

from fbsdetect.errors import BadInput
from fbsdetect.gsm import bands as b


def test_known_channels() -> None:
    assert b.downlink_hz(62) == 947.4e6 and b.uplink_hz(62) == 902.4e6
    assert b.downlink_hz(0) == 935.0e6
    assert b.downlink_hz(975) == 925.2e6 and b.downlink_hz(1023) == 934.8e6
    assert b.downlink_hz(955) == 921.2e6
    assert b.downlink_hz(725) == 1847.8e6  # the Vodafone cell of shared/data
    assert b.downlink_hz(512) == 1805.2e6 and b.downlink_hz(885) == 1879.8e6
    assert b.downlink_hz(512, "PCS1900") == 1930.2e6 and b.uplink_hz(810, "PCS1900") == 1909.8e6
    assert b.downlink_hz(128) == 869.2e6 and b.downlink_hz(251) == 893.8e6
    assert b.downlink_hz(259) == 460.6e6 and b.downlink_hz(306) == 489.0e6


def test_band_of_arfcn() -> None:
    # the narrowest 900 MHz band (3GPP TS 45.005 clause 2, as gr-gsm's scanner labels them)
    assert b.band_of_arfcn(62) == "P-GSM900"
    assert b.band_of_arfcn(1) == "P-GSM900" and b.band_of_arfcn(124) == "P-GSM900"
    assert b.band_of_arfcn(0) == "E-GSM900"
    assert b.band_of_arfcn(1000) == "E-GSM900"
    assert b.band_of_arfcn(975) == "E-GSM900" and b.band_of_arfcn(1023) == "E-GSM900"
    assert b.band_of_arfcn(960) == "R-GSM900"
    assert b.band_of_arfcn(955) == "R-GSM900" and b.band_of_arfcn(974) == "R-GSM900"
    assert b.band_of_arfcn(700) == "DCS1800" and b.band_of_arfcn(700, pcs=True) == "PCS1900"
    assert b.band_of_arfcn(850, pcs=True) == "DCS1800"  # beyond PCS's 810
    assert b.band_of_arfcn(200) == "GSM850"
    assert b.band_of_arfcn(260) == "GSM450" and b.band_of_arfcn(320) == "GSM480"


@pytest.mark.parametrize("arfcn", [-1, 125, 252, 300, 400, 886, 954, 1024, 5000])
def test_invalid_arfcns(arfcn: int) -> None:
    with pytest.raises(BadInput, match=str(arfcn)):
        b.downlink_hz(arfcn)
    with pytest.raises(ValueError):  # BandError is also a ValueError
        b.band_of_arfcn(arfcn)


def test_invalid_band_and_mismatch() -> None:
    with pytest.raises(b.BandError, match="unknown band"):
        b.downlink_hz(62, "GSM1900")
    with pytest.raises(b.BandError, match="P-GSM900"):
        b.downlink_hz(0, "P-GSM900")
    with pytest.raises(b.BandError, match="PCS1900"):
        b.downlink_hz(811, "PCS1900")
    with pytest.raises(b.BandError, match="integer"):
        b.downlink_hz("x")  # type: ignore[arg-type]


def test_900_bands_agree() -> None:
    for n in range(1, 125):
        f = b.downlink_hz(n, "P-GSM900")
        assert f == b.downlink_hz(n, "E-GSM900") == b.downlink_hz(n, "R-GSM900") == b.downlink_hz(n)


def test_frequency_to_arfcn() -> None:
    assert b.arfcn_from_downlink_hz(947.4e6) == (62, "P-GSM900")
    assert b.arfcn_from_downlink_hz(947.4e6 + 99e3) == (62, "P-GSM900")
    assert b.arfcn_from_downlink_hz(947.4e6 - 60e3) == (62, "P-GSM900")
    assert b.arfcn_from_downlink_hz(935.0e6) == (0, "E-GSM900")
    assert b.arfcn_from_downlink_hz(925.2e6) == (975, "E-GSM900")
    assert b.arfcn_from_downlink_hz(1847.8e6) == (725, "DCS1800")
    assert b.arfcn_from_downlink_hz(1950.0e6) is None
    assert b.arfcn_from_downlink_hz(1950.0e6, pcs=True) == (611, "PCS1900")
    assert b.arfcn_from_downlink_hz(900e6) is None
    assert b.arfcn_from_downlink_hz(1880.0e6) is None  # 200 kHz above DCS ARFCN 885
    assert b.arfcn_from_downlink_hz(960.2e6) is None  # above ARFCN 124 (959.8) by 400 kHz
    for name in b.BAND_NAMES:
        for n in b.get_band(name).arfcns():
            got = b.arfcn_from_downlink_hz(b.downlink_hz(n, name), pcs=name == "PCS1900")
            assert got is not None and got[0] == n
            assert got[1] == b.band_of_arfcn(n, pcs=name == "PCS1900")


def test_arfcns_in_span() -> None:
    got = b.arfcns_in_span(939e6, 941e6)
    assert got == [(n, "P-GSM900") for n in range(20, 31)]
    assert b.arfcns_in_span(924.9e6, 925.3e6) == [(974, "R-GSM900"), (975, "E-GSM900")]
    assert b.arfcns_in_span(934.7e6, 935.3e6) == [(1023, "E-GSM900"), (0, "E-GSM900"), (1, "P-GSM900")]
    # naming a band still gives all of its ARFCNs under its own name
    assert b.arfcns_in_span(934.9e6, 935.3e6, bands=["E-GSM900"]) == [(0, "E-GSM900"), (1, "E-GSM900")]
    assert b.arfcns_in_span(1930e6, 1931e6) == []
    assert b.arfcns_in_span(1930e6, 1931e6, bands=["PCS1900"]) == [(n, "PCS1900") for n in range(512, 517)]
    assert [a for a, _ in b.arfcns_in_span(935e6, 935.4e6, bands=["P-GSM900"])] == [1, 2]
    with pytest.raises(b.BandError):
        b.arfcns_in_span(2e9, 1e9)
    every = b.arfcns_in_span(0, 3e9)
    assert len(every) == len({f for f in every}) == 35 + 35 + 124 + (125 + 69) + 374


def _osmogsm() -> ctypes.CDLL | None:
    for name in ("libosmogsm.so.18", "libosmogsm.so.20", "libosmogsm.so.21", "libosmogsm.so"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.gsm_arfcn2freq10.argtypes = [ctypes.c_uint16, ctypes.c_int]
        lib.gsm_arfcn2freq10.restype = ctypes.c_uint16
        return lib
    return None


def test_against_libosmogsm() -> None:
    """Every ARFCN of every band against libosmocore's gsm_arfcn2freq10 (100 kHz units)."""
    lib = _osmogsm()
    if lib is None:
        pytest.skip("libosmogsm is absent (apt install libosmogsm18)")
    pcs_flag = 0x8000
    for name in b.BAND_NAMES:
        for n in b.get_band(name).arfcns():
            q = n | (pcs_flag if name == "PCS1900" else 0)
            assert lib.gsm_arfcn2freq10(q, 0) * 1e5 == pytest.approx(b.downlink_hz(n, name)), (name, n)
            assert lib.gsm_arfcn2freq10(q, 1) * 1e5 == pytest.approx(b.uplink_hz(n, name)), (name, n)
