"""Scene files (contracts.md section 3): defaults, checking, and one-line
errors that name the table and the key."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fbsdetect.errors import BadInput
from fbsdetect.sim.scene import load_scene, loads_scene

CONTRACT_EXAMPLE = """
[scene]
name = "demo"
seed = 1
duration_s = 4.0
start_time = "2026-03-01T10:00:00Z"

[receiver]
sample_rate = 2400000
center_freq_hz = 947000000
format = "cu8"
gain_db = 30.0
noise_figure_db = 7.0
ppm = 0.0
position = [36.6171, 101.7782]

[propagation]
model = "log-distance"
exponent = 3.2
ref_distance_m = 100.0
shadowing_db = 0.0
fading = "none"

[[cell]]
name = "cmcc-17a"
arfcn = 62
mcc = 460
mnc = 0
lac = 10290
cid = 41021
bsic = 35
position = [36.62, 101.78]
eirp_dbm = 45.0
active = [0.0, 1e9]
ccch = "non-combined"
neighbours = [60, 66, 71]
si2ter = false
si2quater = true
eutran_neighbours = [1300, 1825]
gprs = true
t3212 = 20
att = true
cro = 0
temporary_offset = 0
penalty_time = 0
cell_reselect_hysteresis = 2
rxlev_access_min = 8
ms_txpwr_max_cch = 5
cbq = 0
paging_rate = 2.0
label = "legit"

[[jammer]]
center_freq_hz = 950000000
bandwidth_hz = 10000000
position = [36.621, 101.781]
eirp_dbm = 30.0
active = [1.0, 3.0]
"""

MINIMAL = """
[receiver]
position = [36.6171, 101.7782]

[[cell]]
arfcn = 62
mcc = 460
mnc = 0
lac = 10290
cid = 41021
bsic = 35
position = [36.62, 101.78]
"""


def test_contract_example_parses() -> None:
    s = loads_scene(CONTRACT_EXAMPLE)
    assert s.info.name == "demo" and s.info.seed == 1 and s.info.duration_s == 4.0
    assert s.info.start_time.isoformat() == "2026-03-01T10:00:00+00:00"
    assert s.receiver.sample_rate_hz == 2.4e6 and s.receiver.format == "cu8"
    assert s.receiver.route.position(3.0) == (36.6171, 101.7782)
    c = s.cells[0]
    assert (c.mcc, c.mnc, c.lac, c.cid, c.arfcn, c.bsic) == (460, 0, 10290, 41021, 62, 35)
    assert c.neighbours == (60, 66, 71) and c.eutran_neighbours == (1300, 1825)
    assert s.jammers[0].active == (1.0, 3.0)


def test_defaults_equal_the_contract_example() -> None:
    """Every [[cell]] key except identity and position has the documented default."""
    full = loads_scene(CONTRACT_EXAMPLE).cells[0].params_json()
    minimal = loads_scene(MINIMAL, stem="x").cells[0].params_json()
    full.pop("name")
    minimal.pop("name")
    assert minimal == full


def test_other_tables_default_to_the_contract_example() -> None:
    """The contract makes only [[cell]] defaults binding; [scene], [receiver] and
    [propagation] default to the example's values too (name: the file stem)."""
    full, minimal = loads_scene(CONTRACT_EXAMPLE), loads_scene(MINIMAL, stem="demo")
    assert minimal.info == full.info
    assert minimal.receiver == full.receiver
    assert minimal.propagation == full.propagation


def test_route_interpolates_linearly() -> None:
    s = loads_scene(MINIMAL.replace("position = [36.6171, 101.7782]",
                                    "route = [[36.0, 101.0, 0.0], [36.2, 101.4, 10.0]]"))
    r = s.receiver.route
    assert r.position(-1.0) == (36.0, 101.0)
    assert r.position(5.0) == pytest.approx((36.1, 101.2))
    assert r.position(99.0) == (36.2, 101.4)


BAD = [
    # (replace this, with this, expected message fragment)
    ("eirp_dbm = 45.0", "eirp = 45.0", "[[cell]] 2 'eirp': unknown key"),
    ("bsic = 7", "bsic = 64", "[[cell]] 2 'bsic': 64 is out of range (0..63)"),
    ("bsic = 7", "bsic = 7.5", "[[cell]] 2 'bsic': must be an integer"),
    ("bsic = 7", "bsic = true", "[[cell]] 2 'bsic': must be an integer"),
    ("arfcn = 20", "arfcn = 300", "[[cell]] 2 'arfcn': 300 is not a GSM ARFCN"),
    ("arfcn = 20", "", "[[cell]] 2 'arfcn': missing"),
    ("ccch = \"combined\"", "ccch = \"mixed\"", "[[cell]] 2 'ccch': must be one of"),
    ("label = \"fake\"", "label = \"evil\"", "[[cell]] 2 'label'"),
    ("position = [36.63, 101.79]", "position = [96.63, 101.79]", "[[cell]] 2 'position': latitude"),
    ("position = [36.63, 101.79]", "", "[[cell]] 2 'position': missing"),
    ("position = [36.63, 101.79]", "route = [[36.6, 101.7, 5.0], [36.6, 101.8, 1.0]]",
     "[[cell]] 2 'route': waypoint 2: times must increase"),
    ("neighbours = [20, 62]", "neighbours = [20, 20]", "[[cell]] 2 'neighbours': has duplicate"),
    ("neighbours = [20, 62]", "neighbours = [20, 5000]", "[[cell]] 2 'neighbours': entry 5000"),
    ("active = [0.0, 1e9]", "active = [3.0, 1.0]", "[[cell]] 2 'active'"),
    # truth.json is strict JSON, which has no Infinity
    ("active = [0.0, 1e9]", "active = [0.0, inf]", "[[cell]] 2 'active': must be finite"),
    ("t3212 = 30", "t3212 = 256", "[[cell]] 2 't3212'"),
    ("cro = 0", "cro = -1", "[[cell]] 2 'cro'"),
    ("format = \"cu8\"", "format = \"cs16\"", "[receiver] 'format': must be one of cu8, ci8, cf32"),
    ("sample_rate = 2400000", "sample_rate = -5", "[receiver] 'sample_rate'"),
    ("ppm = 0.0", "ppm = nan", "[receiver] 'ppm': must be finite"),
    ("ppm = 0.0", "ppm = \"12\"", "[receiver] 'ppm': must be a number"),
    ("ppm = 0.0", "ppmm = 0.0", "[receiver] 'ppmm': unknown key"),
    ("fading = \"none\"", "fading = \"nakagami\"", "[propagation] 'fading'"),
    ("seed = 1", "seed = -1", "[scene] 'seed'"),
    ("duration_s = 4.0", "duration_s = 0", "[scene] 'duration_s'"),
    ("start_time = \"2026-03-01T10:00:00Z\"", "start_time = \"yesterday\"", "[scene] 'start_time'"),
    ("[propagation]", "[propagaton]", "'propagaton': unknown key"),
    ("bandwidth_hz = 10000000", "bandwidth = 10000000", "[[jammer]] 1 'bandwidth'"),
    ("name = \"b\"", "name = \"a\"", "[[cell]] 2 'name': 'a' is already the name of [[cell]] 1"),
]

TWO_CELLS = """
[scene]
seed = 1
duration_s = 4.0
start_time = "2026-03-01T10:00:00Z"
[receiver]
sample_rate = 2400000
format = "cu8"
ppm = 0.0
position = [36.6171, 101.7782]
[propagation]
fading = "none"
[[cell]]
name = "a"
arfcn = 62
mcc = 460
mnc = 0
lac = 1
cid = 1
bsic = 1
position = [36.62, 101.78]
[[cell]]
name = "b"
arfcn = 20
mcc = 460
mnc = 1
lac = 2
cid = 2
bsic = 7
eirp_dbm = 45.0
ccch = "combined"
label = "fake"
neighbours = [20, 62]
t3212 = 30
cro = 0
active = [0.0, 1e9]
position = [36.63, 101.79]
[[jammer]]
center_freq_hz = 950000000
bandwidth_hz = 10000000
position = [36.621, 101.781]
eirp_dbm = 30.0
"""


def test_two_cells_base_is_valid() -> None:
    s = loads_scene(TWO_CELLS)
    assert [c.name for c in s.cells] == ["a", "b"] and s.cells[1].combined


@pytest.mark.parametrize(("old", "new", "fragment"), BAD)
def test_bad_scene_names_the_key(old: str, new: str, fragment: str) -> None:
    assert old in TWO_CELLS, old
    text = TWO_CELLS.replace(old, new, 1) if old != "name = \"b\"" else TWO_CELLS.replace(old, new)
    with pytest.raises(BadInput) as exc:
        loads_scene(text, source="scene.toml")
    msg = str(exc.value)
    assert msg.startswith("scene.toml: ") and fragment in msg, msg
    assert "\n" not in msg


def test_missing_receiver() -> None:
    with pytest.raises(BadInput, match=r"\[receiver\]: missing"):
        loads_scene("[scene]\nseed = 1\n")


def test_not_toml_and_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_bytes(b"[receiver\nposition = 1")
    with pytest.raises(BadInput, match="not valid TOML"):
        load_scene(p)
    p.write_bytes(b"\xff\xfe[scene]")
    with pytest.raises(BadInput, match="not UTF-8"):
        load_scene(p)
    with pytest.raises(BadInput, match="no such scene file"):
        load_scene(tmp_path / "absent.toml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzzed_scenes_raise_only_badinput(data: st.DataObject) -> None:
    """Random edits of a valid scene either parse or raise BadInput, never anything else."""
    text = TWO_CELLS
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["delete", "insert", "replace_value"]))
        if kind == "delete" and text:
            i = data.draw(st.integers(0, len(text) - 1))
            n = data.draw(st.integers(1, 20))
            text = text[:i] + text[i + n:]
        elif kind == "insert":
            i = data.draw(st.integers(0, len(text)))
            s = data.draw(st.text(alphabet=string.printable, max_size=12))
            text = text[:i] + s + text[i:]
        else:
            lines = text.splitlines()
            j = data.draw(st.integers(0, len(lines) - 1))
            if "=" in lines[j]:
                key = lines[j].split("=", 1)[0]
                val = data.draw(st.sampled_from(
                    ["-1", "1e400", "\"x\"", "[]", "[[1, 2]]", "true", "{a = 1}", "0.5", "99999999999",
                     "[1, 2, 3]", "nan", "-inf", "\"2026-13-01\""]))
                lines[j] = f"{key}= {val}"
            text = "\n".join(lines)
    try:
        loads_scene(text)
    except BadInput as exc:
        assert "\n" not in str(exc)


def _parses_or_bad_input(raw: bytes) -> None:
    """A scene's bytes either give cells whose SI can be built, or BadInput in one line."""
    from fbsdetect.sim.content import cell_frames

    try:
        for c in loads_scene(raw).cells:
            cell_frames(c)
    except BadInput as exc:
        assert "\n" not in str(exc)


def test_every_truncation_of_a_scene_is_handled() -> None:
    raw = CONTRACT_EXAMPLE.encode()
    for n in range(len(raw)):
        _parses_or_bad_input(raw[:n])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=6))
def test_byte_flipped_scenes_raise_only_badinput(flips: list[tuple[float, int]]) -> None:
    raw = bytearray(CONTRACT_EXAMPLE.encode())
    for pos, byte in flips:
        raw[int(pos * len(raw))] = byte
    _parses_or_bad_input(bytes(raw))
