"""`open_source(spec)`: every --source spec, and what a bad one says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fbsdetect.errors import BadUsage, NotAvailable
from fbsdetect.sources.base import IqSource
from fbsdetect.sources.open import open_source, parse_host_port
from tests.sim.scenes import ONE_CELL


def test_sim_spec(tmp_path: Path) -> None:
    scene = tmp_path / "one.toml"
    scene.write_text(ONE_CELL.format(duration=1.0))
    src = open_source(f"sim:{scene}")
    assert isinstance(src, IqSource)
    assert src.serial is None and not src.exhausted  # type: ignore[attr-defined]
    src.close()


def test_file_spec(tmp_path: Path) -> None:
    p = tmp_path / "x_950M_1000k.cu8"
    p.write_bytes(np.full(2000, 128, np.uint8).tobytes())
    src = open_source(f"file:{p}")
    assert src.sample_rate_hz == 1e6 and src.center_freq_hz == 950e6
    assert src.serial is None and not src.exhausted  # type: ignore[attr-defined]


@pytest.mark.parametrize("spec", ["", "nonsense", "usrp:1", "file:", "sim:", "rtlsdr:0,frob",
                                  "rtltcp:host:notaport", "rtltcp:h:70000", "rtlsdr:0,ppm=x"])
def test_bad_specs_are_bad_usage_with_one_line(spec: str) -> None:
    with pytest.raises(BadUsage) as err:
        open_source(spec)
    assert "\n" not in str(err.value)


def test_grgsm_is_not_available_yet() -> None:
    with pytest.raises(NotAvailable, match="issue 15"):
        open_source("grgsm:--args=rtl")


def test_no_dongle_here_is_not_available() -> None:
    with pytest.raises(NotAvailable):
        open_source("rtlsdr:0")


def test_host_port() -> None:
    assert parse_host_port("10.0.0.2:1235", "s", default_port=1234) == ("10.0.0.2", 1235)
    assert parse_host_port("", "s", default_port=1234) == ("127.0.0.1", 1234)
    assert parse_host_port("1240", "s", default_port=1234) == ("127.0.0.1", 1240)
    assert parse_host_port("[::1]:5", "s", default_port=1234) == ("::1", 5)
    assert parse_host_port("pi.local", "s", default_port=1234) == ("pi.local", 1234)
