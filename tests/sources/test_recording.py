"""Recordings read back: SigMF metadata that is wrong in any way is BadInput in
one line naming the file (contracts.md section 2), never a crash, and what is
accepted is physically meaningful."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fbsdetect.errors import BadInput
from fbsdetect.sources import recording

META: dict[str, Any] = {
    "global": {"core:datatype": "cu8", "core:sample_rate": 1000000, "core:version": "1.0.0",
               "core:geolocation": {"type": "Point", "coordinates": [101.7782, 36.6171]},
               "fbsdetect:gain_db": 30.0},
    "captures": [{"core:sample_start": 0, "core:frequency": 939000000,
                  "core:datetime": "2026-03-01T10:00:00.000Z"},
                 {"core:sample_start": 500, "core:frequency": 939000000,
                  "core:geolocation": {"type": "Point", "coordinates": [101.78, 36.62]}}],
    "annotations": [],
}


def _write(folder: Path, meta: object, n_bytes: int = 2000) -> Path:
    p = folder / "r.sigmf-meta"
    p.write_text(json.dumps(meta))
    (folder / "r.sigmf-data").write_bytes(bytes(range(256)) * (n_bytes // 256) + bytes(n_bytes % 256))
    return p


def test_valid_metadata(tmp_path: Path) -> None:
    info = recording.inspect(_write(tmp_path, META))
    assert (info.datatype, info.sample_rate_hz, info.n_samples) == ("cu8", 1e6, 1000)
    assert info.center_freq_hz == 939e6
    assert (info.lat, info.lon, info.gain_db) == (36.6171, 101.7782, 30.0)
    assert [(c.sample_start, c.lat) for c in info.captures] == [(0, 36.6171), (500, 36.62)]
    x = recording.Recording(info).read(0, 2)
    assert np.allclose(x, [(0 - 127.5) / 127.5 + 1j * (1 - 127.5) / 127.5,
                           (2 - 127.5) / 127.5 + 1j * (3 - 127.5) / 127.5])


@pytest.mark.parametrize(("where", "key", "value", "fragment"), [
    ("global", "core:sample_rate", math.inf, "core:sample_rate"),
    ("global", "core:sample_rate", math.nan, "core:sample_rate"),
    ("capture", "core:frequency", math.inf, "core:frequency"),
    ("global", "fbsdetect:gain_db", math.nan, "fbsdetect:gain_db"),
    ("global", "fbsdetect:gain_db", True, "fbsdetect:gain_db"),
    ("global", "core:datatype", "cs64", "core:datatype"),
    ("capture", "core:sample_start", 1000, "past the end"),
])
def test_bad_values_name_the_field(tmp_path: Path, where: str, key: str, value: object,
                                   fragment: str) -> None:
    meta = copy.deepcopy(META)
    (meta["global"] if where == "global" else meta["captures"][-1])[key] = value
    with pytest.raises(BadInput) as exc:
        recording.inspect(_write(tmp_path, meta))
    assert fragment in str(exc.value) and "r.sigmf-meta" in str(exc.value)


def test_data_of_an_odd_size(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="truncated or odd size"):
        recording.inspect(_write(tmp_path, META, n_bytes=2001))


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                        st.text(max_size=8), st.lists(st.integers(), max_size=3),
                        st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 30), st.text(max_size=3), JSON_VALUES), min_size=1, max_size=3))
def test_fuzzed_metadata_is_bad_input_or_meaningful(tmp_path: Path,
                                                    edits: list[tuple[int, str, object]]) -> None:
    meta = copy.deepcopy(META)
    for where, suffix, value in edits:
        targets: list[dict[str, Any]] = [meta["global"], *meta["captures"]]
        keys = [(t, k) for t in targets for k in list(t)]
        t, k = keys[where % len(keys)]
        if suffix:  # sometimes a key that is not there (or a nested one)
            t[k + suffix] = value
        else:
            t[k] = value
    try:
        info = recording.inspect(_write(tmp_path, meta))
    except BadInput as exc:
        assert "\n" not in str(exc)
        return
    assert math.isfinite(info.sample_rate_hz) and info.sample_rate_hz > 0
    assert all(math.isfinite(c.center_freq_hz) and c.center_freq_hz > 0 for c in info.captures)
    assert info.gain_db is None or math.isfinite(info.gain_db)


def test_survey_full_scale_and_non_samples(tmp_path: Path) -> None:
    from fbsdetect.sources.recording import Recording, check_values, survey

    p = tmp_path / "tone.cu8"
    t = np.arange(100_000)
    x = np.exp(2j * np.pi * 0.01 * t)
    iq = np.empty(2 * t.size)
    iq[0::2], iq[1::2] = x.real, x.imag
    (iq * 127 + 127.5).round().astype(np.uint8).tofile(p)
    sv = survey(Recording.open(p, sample_rate_hz=1e6, center_freq_hz=939e6))
    assert not sv.exceeds_full_scale and sv.power_dbfs is not None and -0.2 < sv.power_dbfs <= 0.0
    assert sv.reference.startswith("cu8 full scale")
    loud = tmp_path / "loud.cf32"
    (x * 3).astype(np.complex64).tofile(loud)
    sv = check_values(Recording.open(loud, sample_rate_hz=1e6, center_freq_hz=939e6))
    assert sv.exceeds_full_scale and abs(sv.power_dbfs - 9.54) < 0.01  # type: ignore[operator]
    bad = tmp_path / "bad.cf32"
    np.full(2000, np.nan, np.float32).tofile(bad)
    with pytest.raises(BadInput, match="not cf32 samples"):
        check_values(Recording.open(bad, sample_rate_hz=1e6, center_freq_hz=939e6))


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"sample_rate_hz": 2e6}, "--rate 2e+06 (core:sample_rate 1e+06)"),
    ({"center_freq_hz": 940e6}, "--freq 9.4e+08 (core:frequency 9.39e+08)"),
    ({"fmt": "cf32"}, "--format cf32 (core:datatype cu8)"),
])
def test_sigmf_refuses_conflicting_raw_options(tmp_path: Path, kwargs: dict[str, Any], fragment: str) -> None:
    from fbsdetect.errors import BadUsage

    p = _write(tmp_path, META)
    with pytest.raises(BadUsage) as exc:
        recording.inspect(p, **kwargs)
    assert fragment in str(exc.value) and "contradicts the SigMF metadata" in str(exc.value)
    # the same values as the metadata are accepted
    info = recording.inspect(p, sample_rate_hz=1e6, center_freq_hz=939e6, fmt="cu8")
    assert info.sample_rate_hz == 1e6


def test_sha512_verified_when_stated(tmp_path: Path) -> None:
    import hashlib

    meta = copy.deepcopy(META)
    p = _write(tmp_path, meta)
    assert recording.checksum_status(recording.inspect(p)) == "absent"
    with pytest.raises(recording.ChecksumMismatch, match="states no core:sha512"):
        recording.verify_checksum(recording.inspect(p), required=True)
    good = hashlib.sha512((tmp_path / "r.sigmf-data").read_bytes()).hexdigest()
    meta["global"]["core:sha512"] = good.upper()
    info = recording.inspect(_write(tmp_path, meta))
    assert recording.checksum_status(info) == "ok"
    recording.verify_checksum(info, required=True)
    meta["global"]["core:sha512"] = "0" * 128
    info = recording.inspect(_write(tmp_path, meta))
    assert recording.checksum_status(info) == "mismatch"
    with pytest.raises(recording.ChecksumMismatch, match="does not match core:sha512") as exc:
        recording.verify_checksum(info)
    assert isinstance(exc.value, BadInput) and exc.value.exit_code == 2
    meta["global"]["core:sha512"] = "abc"
    with pytest.raises(BadInput, match="core:sha512 must be 128 hexadecimal digits"):
        recording.inspect(_write(tmp_path, meta))


def test_simulated_recordings_state_a_matching_sha512(tmp_path: Path) -> None:
    """fbsdetect writes SigMF through `sim.output`, which states core:sha512."""
    from fbsdetect.sim.output import simulate
    from fbsdetect.sim.scene import load_scene
    from tests.sim.scenes import ONE_CELL

    scene_path = tmp_path / "one.toml"
    scene_path.write_text(ONE_CELL.format(duration=0.2))
    rendered = simulate(load_scene(scene_path), tmp_path / "out")
    info = recording.inspect(rendered.meta_path)
    assert info.sha512 is not None and recording.checksum_status(info) == "ok"
