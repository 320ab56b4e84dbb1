"""Every scenario scene renders, and the receiver decodes every one of its cells with the right
identity from a few seconds of it (tests/e2e/scene_check.py): the suite's cells are really there
for the scan to find. Needs only the simulator and `fbsdetect decode`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import scene_check

PATHS = scene_check.scene_paths()


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=[f"{p.parent.name}/{p.stem}" for p in PATHS])
def test_every_cell_decodes(path: Path) -> None:
    results = scene_check.check_scene(path, duration_s=4.0)
    bad = [f"{r.name} ARFCN {r.arfcn}: {r.detail}" for r in results if not r.ok]
    assert not bad, "\n".join(bad)
