"""The dongle's front-end impairments in the simulator (`[receiver]`
dc_offset_dbfs, iq_imbalance_db, iq_phase_deg, band_edge_rolloff_db,
band_edge_rolloff_fraction; model in fbsdetect/sim/channel.py):

(a) they are in the rendered IQ with the magnitude the scene asks for: the
    0 Hz component's power and narrowness, the image-rejection ratio of a
    single carrier against the textbook formula, the roll-off mask as the
    ratio of spectra rendered with and without it; off by default and
    checked like every other key;
(b) end to end, the receiver still decodes every cell above 9 dB SNR
    bit-exact with a realistic (and a harsh) DC spike and IQ imbalance,
    invents no cell (none at the image of a strong carrier), and a cell
    right at DC is decoded CRC-correct or reported not decodable.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import scipy.signal

from fbsdetect.errors import BadInput
from fbsdetect.receiver import DecodeResult, cell_observations, decode_recording
from fbsdetect.sim.channel import dequantise
from fbsdetect.sim.content import cell_frames
from fbsdetect.sim.output import simulate
from fbsdetect.sim.render import Renderer
from fbsdetect.sim.scene import Scene, loads_scene
from fbsdetect.sources.recording import Recording
from fbsdetect.sources.sim import SimSource

HEAD = """
[scene]
name = "dongle"
seed = {seed}
duration_s = {duration}
[receiver]
sample_rate = {fs:.0f}
center_freq_hz = {fc:.0f}
format = "{fmt}"
gain_db = 40.0
ppm = {ppm}
position = [36.6171, 101.7782]
{extra}
"""

CELL = """
[[cell]]
arfcn = {arfcn}
mcc = 460
mnc = {mnc}
lac = {lac}
cid = {cid}
bsic = {bsic}
position = [{lat}, 101.7782]
eirp_dbm = {eirp}
"""


def _scene(extra: str = "", cells: str = "", *, fs: float = 2.4e6, fmt: str = "cf32",
           duration: float = 1.0, ppm: float = 0.0, seed: int = 4, fc: float = 947e6) -> Scene:
    return loads_scene(HEAD.format(seed=seed, duration=duration, fs=fs, fc=fc, fmt=fmt, ppm=ppm,
                                   extra=extra) + cells)


def _cell(arfcn: int, bsic: int, cid: int, lat: float, eirp_dbm: float) -> str:
    return CELL.format(arfcn=arfcn, mnc=arfcn % 2, lac=10000 + cid, cid=cid, bsic=bsic, lat=lat,
                       eirp=eirp_dbm)


def _render(scene: Scene, seconds: float) -> tuple[npt.NDArray[np.complex64], Renderer]:
    r = Renderer(scene, {c.index: cell_frames(c) for c in scene.cells})
    n = round(seconds * scene.receiver.sample_rate_hz)
    parts, got = [], 0
    while got < n:
        y = r.next_block()
        parts.append(y)
        got += y.size
    return np.concatenate(parts)[:n], r


# ----------------------------------------------------------------------- keys


def test_defaults_are_off_and_explicit_zeros_change_nothing() -> None:
    cells = _cell(62, 35, 1, 36.6220, 40.0)
    plain = _scene(cells=cells)
    zeros = _scene("iq_imbalance_db = 0.0\niq_phase_deg = 0.0\nband_edge_rolloff_db = 0.0\n"
                   "band_edge_rolloff_fraction = 0.2", cells)
    rx = plain.receiver
    assert (rx.dc_offset_dbfs, rx.iq_imbalance_db, rx.iq_phase_deg, rx.band_edge_rolloff_db,
            rx.band_edge_rolloff_fraction) == (None, 0.0, 0.0, 0.0, 0.1)
    a, ra = _render(plain, 0.1)
    b, rb = _render(zeros, 0.1)
    assert ra.impairments is None and rb.impairments is None
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize(("key", "value", "what"), [
    ("dc_offset_dbfs", "3.0", "out of range"),
    ("dc_offset_dbfs", '"-30"', "must be a number"),
    ("iq_imbalance_db", "7.5", "out of range"),
    ("iq_imbalance_db", "true", "must be a number"),
    ("iq_phase_deg", "nan", "must be finite"),
    ("iq_phase_deg", "-31", "out of range"),
    ("band_edge_rolloff_db", "-1.0", "out of range"),
    ("band_edge_rolloff_db", "[3]", "must be a number"),
    ("band_edge_rolloff_fraction", "0.0", "out of range"),
    ("band_edge_rolloff_fraction", "0.51", "out of range"),
])
def test_bad_values_name_the_key(key: str, value: str, what: str) -> None:
    with pytest.raises(BadInput) as exc:
        _scene(f"{key} = {value}")
    msg = str(exc.value)
    assert f"[receiver] '{key}'" in msg and what in msg, msg


# ------------------------------------------------------- (a) magnitudes in the IQ


def test_dc_offset_power_narrow_spike_and_slow_drift() -> None:
    """No cells, 1 MS/s cf32: the 0 Hz component of 100 ms chunks has the
    asked power (within the +-0.5 dB drift), wanders a little, and in a 1 s
    periodogram (1 Hz bins) stands tens of dB over the noise in a few bins."""
    fs = 1e6
    y, r = _render(_scene("dc_offset_dbfs = -30.0", fs=fs, duration=3.0), 3.0)
    chunks = y.reshape(-1, 100_000).mean(axis=1)
    p_db = 10 * np.log10(np.abs(chunks) ** 2)
    assert abs(10 * math.log10(float(np.mean(np.abs(chunks) ** 2))) - (-30.0)) < 0.5
    assert np.all(np.abs(p_db + 30.0) < 0.6)
    assert 0.05 < float(p_db.max() - p_db.min()) < 1.1  # it drifts, slowly and by little
    # the rest is the white noise it always was (first differences: blind to the slow DC)
    noise_dbfs = 10 * math.log10(float(np.mean(np.abs(np.diff(y)) ** 2)) / 2)
    assert abs(noise_dbfs - 10 * math.log10(r.noise_fs)) < 0.1
    spec = np.abs(np.fft.fft(y[: int(fs)])) ** 2
    f = np.fft.fftfreq(int(fs), 1 / fs)
    floor = float(np.median(spec))
    assert 10 * math.log10(spec[0] / floor) > 60  # -30 dBFS against ~-120 dBFS per 1 Hz bin
    excess = spec - floor
    near, wide = excess[np.abs(f) <= 5].sum(), excess[np.abs(f) <= 2000].sum()
    assert near / wide > 0.99  # narrow: the drift spreads it over a few hertz at most
    # the virtual dongle shows it as well (cu8 path)
    src = SimSource(_scene("dc_offset_dbfs = -30.0", fs=fs, fmt="cu8", duration=3.0))
    x = src.read(200_000)
    assert abs(10 * math.log10(abs(complex(np.mean(x))) ** 2) + 30.0) < 0.8


def _band_power(f: npt.NDArray[np.float64], psd: npt.NDArray[np.float64], center_hz: float,
                floor: float) -> float:
    return float((psd[np.abs(f - center_hz) < 90e3] - floor).sum())


@pytest.mark.parametrize(("gain_db", "phase_deg"), [(0.5, 2.0), (1.0, 0.0), (0.0, -3.0), (-2.0, 5.0)])
def test_image_rejection_ratio_of_a_single_carrier(gain_db: float, phase_deg: float) -> None:
    """One cell 400 kHz above the centre, strong (about 60 dB over the noise
    in its band): the power at -400 kHz over that at +400 kHz (noise floor
    removed) is the textbook image rejection of a gain ratio g and phase
    error phi, (1 + 2 g cos phi + g^2) / (1 - 2 g cos phi + g^2)."""
    fs = 2.4e6
    scene = _scene(f"iq_imbalance_db = {gain_db}\niq_phase_deg = {phase_deg}",
                   _cell(62, 35, 1, 36.6200, 45.0), fs=fs)
    y, r = _render(scene, 0.5)
    f, psd = scipy.signal.welch(y, fs=fs, nperseg=4096, return_onesided=False, detrend=False)
    floor = float(np.median(psd))
    off = 400e3  # ARFCN 62 is 947.4 MHz, the centre 947.0 MHz, no ppm
    wanted, image = _band_power(f, psd, off, floor), _band_power(f, psd, -off, floor)
    g, phi = 10 ** (gain_db / 20), math.radians(phase_deg)
    textbook = 10 * math.log10((1 + 2 * g * math.cos(phi) + g * g) / (1 - 2 * g * math.cos(phi) + g * g))
    measured = 10 * math.log10(wanted / image)
    assert abs(measured - textbook) < 0.3, (measured, textbook)
    assert r.impairments is not None
    assert abs(r.impairments.image_rejection_db() - textbook) < 1e-6
    # the image is a mirror: its peak sits at -f, and it stands well over the noise
    assert 10 * math.log10(psd[np.abs(f + off) < 50e3].mean() / floor) > 15
    # realistic dongle values give the -25..-40 dB of the brief
    if (gain_db, phase_deg) == (0.5, 2.0):
        assert 25 < measured < 40


def test_band_edge_rolloff_mask() -> None:
    """The same scene (cells near both edges and noise) rendered with and
    without a 20 dB roll-off over the outer 10 %: the ratio of their spectra
    is the mask, 0 dB inside, 10 dB half way, 20 dB at +-fs/2."""
    fs = 2.4e6
    cells = _cell(55, 9, 1, 36.6200, 40.0) + _cell(65, 17, 2, 36.6200, 40.0)
    plain, _ = _render(_scene("", cells, fs=fs), 0.5)
    rolled, r = _render(_scene("band_edge_rolloff_db = 20.0", cells, fs=fs), 0.5)
    kw: dict[str, Any] = {"fs": fs, "nperseg": 2048, "return_onesided": False, "detrend": False}
    f, p0 = scipy.signal.welch(plain, **kw)
    _, p1 = scipy.signal.welch(rolled, **kw)
    ratio_db = 10 * np.log10(p1 / p0)
    assert r.impairments is not None
    want = -r.impairments.rolloff_db(f, fs)
    inner = np.abs(f) < 0.38 * fs
    assert np.max(np.abs(ratio_db[inner])) < 0.05
    edge = np.abs(f) >= 0.4 * fs
    assert np.max(np.abs(ratio_db[edge] - want[edge])) < 0.5
    for frac, db in ((0.45, -10.0), (0.4995, -20.0)):  # the mask's own values
        assert abs(float(-r.impairments.rolloff_db(frac * fs, fs)) - db) < 0.01
        k = int(np.argmin(np.abs(np.abs(f) - frac * fs)))
        assert abs(ratio_db[k] - db) < 0.5


# ------------------------------------------------------------- (b) the receiver

REALISTIC = ("dc_offset_dbfs = -32.0\niq_imbalance_db = 0.6\niq_phase_deg = 2.5\n"
             "band_edge_rolloff_db = 8.0\nband_edge_rolloff_fraction = 0.08")
HARSH = ("dc_offset_dbfs = -18.0\niq_imbalance_db = 1.0\niq_phase_deg = 4.0\n"
         "band_edge_rolloff_db = 15.0")
# 2.4 MS/s cu8 at 947 MHz, dongle 4 ppm off: a strong cell (~44 dB) at +0.8 MHz whose
# image falls on the empty ARFCN 56, a weak one (~10 dB) at -0.4 MHz, one (~25 dB) at
# -1.0 MHz in the roll-off, and one (~28 dB) right at DC (ARFCN 60 = 947.0 MHz).
CELLS = (_cell(64, 35, 1, 36.6220, 40.0) + _cell(58, 12, 2, 36.6400, 28.0)
         + _cell(55, 50, 3, 36.6300, 35.0) + _cell(60, 44, 5, 36.6280, 36.0))
STRONG, IMAGE_ARFCN, DC_ARFCN = 64, 56, 60


@pytest.fixture(scope="module", params=["realistic", "harsh"])
def decoded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[DecodeResult, dict[str, Any]]:
    extra = REALISTIC if request.param == "realistic" else HARSH
    out = simulate(_scene(extra, CELLS, fmt="cu8", duration=3.0, ppm=4.0, seed=7),
                   tmp_path_factory.mktemp(request.param))
    truth = out.truth
    assert truth["receiver"]["dc_offset_dbfs"] is not None
    assert 20 < truth["receiver"]["image_rejection_db"] < 35
    (res,) = decode_recording(Recording.open(out.meta_path))
    return res, truth


def _sent(truth: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {c["arfcn"]: c for c in truth["cells"]}


def test_receiver_decodes_every_cell_above_9_db_bit_exact(
        decoded: tuple[DecodeResult, dict[str, Any]]) -> None:
    res, truth = decoded
    obs = {o.arfcn: o for o in cell_observations(res)}
    must = [c for c in truth["cells"]
            if c["snr_db"] > 9.0 and abs(c["offset_from_center_hz"]) > 100e3]
    assert {c["arfcn"] for c in must} == {64, 58, 55}
    assert min(c["snr_db"] for c in must) < 12  # the weak one is really weak
    for c in must:
        assert c["arfcn"] in obs, f"ARFCN {c['arfcn']} at {c['snr_db']} dB SNR not decoded"
        o = obs[c["arfcn"]]
        assert (o.bsic, o.mcc, o.mnc, o.lac, o.cid) == (c["bsic"], c["mcc"], c["mnc"], c["lac"], c["cid"])
        assert {k: o.si.get(k) for k in c["si"]} == c["si"], "every SI type bit-exact"


def test_receiver_invents_no_cell_at_the_images(decoded: tuple[DecodeResult, dict[str, Any]]) -> None:
    res, truth = decoded
    sent = _sent(truth)
    obs = cell_observations(res)
    assert {o.arfcn for o in obs} <= set(sent), "invented cells"
    for o in obs:  # whatever is reported is the cell that is there
        assert o.arfcn is not None
        c = sent[o.arfcn]
        assert (o.bsic, o.cid) == (c["bsic"], c["cid"])
    assert not any(r.is_cell for r in res.carriers if r.arfcn == IMAGE_ARFCN)
    assert [o.arfcn for o in obs if o.bsic == sent[STRONG]["bsic"]] == [STRONG]


def test_cell_at_dc_is_decoded_crc_correct_or_reported_not_decodable(
        decoded: tuple[DecodeResult, dict[str, Any]]) -> None:
    res, truth = decoded
    c = _sent(truth)[DC_ARFCN]
    assert abs(c["offset_from_center_hz"]) < 10e3
    obs = {o.arfcn: o for o in cell_observations(res)}
    if DC_ARFCN in obs:
        o = obs[DC_ARFCN]
        assert (o.bsic, o.mcc, o.mnc, o.lac, o.cid) == (c["bsic"], c["mcc"], c["mnc"], c["lac"], c["cid"])
        assert o.si and all(c["si"].get(k) == v for k, v in o.si.items()), "a reported SI differs"
    else:
        listed = [r for r in res.carriers if r.arfcn == DC_ARFCN]
        assert listed and all(r.status != "decoded" for r in listed), \
            "the cell at DC is neither decoded nor reported as not decodable"


def test_image_of_the_strong_cell_is_in_the_recording(tmp_path: Path) -> None:
    """Guards the test above: the image the receiver must not take for a cell
    is really there, well above the noise (cu8, as decoded)."""
    fs = 2.4e6
    scene = _scene(REALISTIC, _cell(64, 35, 1, 36.6220, 40.0), fmt="cu8", duration=0.5, ppm=4.0, seed=7)
    out = simulate(scene, tmp_path)
    x = dequantise(out.data_path.read_bytes(), "cu8")
    f, psd = scipy.signal.welch(x, fs=fs, nperseg=4096, return_onesided=False, detrend=False)
    floor = float(np.median(psd))
    off = out.truth["cells"][0]["offset_from_center_hz"]
    img_db = 10 * math.log10(psd[np.abs(f + off) < 50e3].mean() / floor)
    assert img_db > 10, img_db


def _decode(scene: Scene, out_dir: Path) -> tuple[DecodeResult, dict[int, dict[str, Any]]]:
    out = simulate(scene, out_dir)
    assert out.clipped_values == 0
    (res,) = decode_recording(Recording.open(out.meta_path))
    return res, _sent(out.truth)


def test_image_exactly_on_the_channel_grid_is_not_a_cell(tmp_path: Path) -> None:
    """Dongle without ppm error: the image of a ~54 dB cell at +600 kHz lies
    on ARFCN 57 exactly, about 30 dB over the noise. Spectrally inverted, its
    FCCH reads as a carrier 135 kHz lower; whatever the receiver makes of it,
    only the real cell is reported."""
    scene = _scene("iq_imbalance_db = 1.0\niq_phase_deg = 4.0", _cell(63, 35, 1, 36.6200, 43.0),
                   fmt="cu8", duration=3.0, seed=7)
    res, sent = _decode(scene, tmp_path)
    assert sent[63]["snr_db"] > 50
    obs = cell_observations(res)
    assert [(o.arfcn, o.bsic) for o in obs] == [(63, 35)]
    assert {k: obs[0].si.get(k) for k in sent[63]["si"]} == sent[63]["si"]
    assert not any(r.is_cell for r in res.carriers if r.arfcn != 63)


def test_cells_in_the_band_edge_rolloff(tmp_path: Path) -> None:
    """A 40 dB roll-off over the outer 15 %: cells at +-1.0 MHz (25 dB SNR
    before the filter) are still decoded bit-exact; the ones at +-1.2 MHz,
    half outside the band, are not invented into anything else."""
    cells = (_cell(65, 35, 1, 36.6300, 35.0) + _cell(55, 36, 2, 36.6300, 35.0)
             + _cell(66, 37, 3, 36.6300, 45.0) + _cell(54, 38, 4, 36.6300, 45.0))
    scene = _scene("band_edge_rolloff_db = 40.0\nband_edge_rolloff_fraction = 0.15", cells,
                   fmt="cu8", duration=3.0, seed=7)
    res, sent = _decode(scene, tmp_path)
    obs = {o.arfcn: o for o in cell_observations(res) if o.arfcn is not None}
    assert {55, 65} <= set(obs) <= set(sent)
    assert len(obs) == len(cell_observations(res))
    for arfcn, o in obs.items():
        c = sent[arfcn]
        assert (o.bsic, o.cid) == (c["bsic"], c["cid"])
        assert all(c["si"].get(k) == v for k, v in o.si.items())
        if arfcn in (55, 65):
            assert {k: o.si.get(k) for k in c["si"]} == c["si"]


def test_cell_at_dc_survives_a_drifting_dc_offset(tmp_path: Path) -> None:
    scene = _scene("dc_offset_dbfs = -18.0", _cell(60, 44, 5, 36.6280, 36.0), fmt="cu8", duration=3.0,
                   ppm=4.0, seed=7)
    res, sent = _decode(scene, tmp_path)
    c = sent[60]
    assert c["snr_db"] > 25
    obs = {o.arfcn: o for o in cell_observations(res)}
    assert 60 in obs
    assert {k: obs[60].si.get(k) for k in c["si"]} == c["si"], "every SI type bit-exact"
    assert obs[60].blocks_bad <= 1
