"""A sample rate no GSM recording can have is bad input (review, session 4, #21): at 1 S/s a small file
held "hours" for the receiver to work through, memory growing all the while; a two-channel SigMF was
read as one channel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fbsdetect.cli.main import main


def _sigmf(tmp_path: Path, **glob: object) -> Path:
    np.zeros(20_000, dtype=np.complex64).tofile(tmp_path / "r.sigmf-data")
    meta = {"global": {"core:datatype": "cf32_le", "core:sample_rate": 1e6, "core:version": "1.0.0", **glob},
            "captures": [{"core:sample_start": 0, "core:frequency": 940e6}], "annotations": []}
    p = tmp_path / "r.sigmf-meta"
    p.write_text(json.dumps(meta))
    return p


@pytest.mark.parametrize("glob, said", [
    ({"core:sample_rate": 1}, "outside"),
    ({"core:sample_rate": 1e300}, "outside"),
    ({"core:num_channels": 2}, "core:num_channels"),
])
def test_a_rate_no_gsm_recording_has_is_one_line_exit_2(glob: dict[str, object], said: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    meta = _sigmf(tmp_path, **glob)
    try:
        code = main(["decode", str(meta)])
    except SystemExit as e:
        code = int(e.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1, err


def test_a_raw_file_at_an_absurd_rate_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "r.cf32"
    np.zeros(20_000, dtype=np.complex64).tofile(raw)
    try:
        code = main(["decode", str(raw), "--rate", "10", "--freq", "940e6"])
    except SystemExit as e:
        code = int(e.code or 0)
    assert code == 2 and "outside" in capsys.readouterr().err
