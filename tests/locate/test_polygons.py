"""Grid-cell regions traced into rings: counter-clockwise exteriors,
clockwise holes, diagonal cells apart."""

from __future__ import annotations

import numpy as np

from fbsdetect.locate.polygons import ellipse_ring, mask_rings, multipolygon, point_in_ring, signed_area
from fbsdetect.locate.samples import LocalFrame


def test_square_and_hole() -> None:
    m = np.zeros((5, 5), dtype=bool)
    m[1:4, 1:4] = True
    (ring,) = mask_rings(m)
    assert ring[0] == ring[-1] and len(ring) == 5
    assert signed_area([(float(a), float(b)) for a, b in ring]) == 9.0
    m[2, 2] = False
    rings = mask_rings(m)
    areas = sorted(signed_area([(float(a), float(b)) for a, b in r]) for r in rings)
    assert areas == [-1.0, 9.0]
    mp = multipolygon([[(float(a), float(b)) for a, b in r] for r in rings], LocalFrame(36.6, 101.7))
    assert mp is not None and len(mp["coordinates"]) == 1 and len(mp["coordinates"][0]) == 2


def test_diagonal_cells_are_two_rings() -> None:
    m = np.array([[True, False], [False, True]])
    rings = mask_rings(m)
    assert len(rings) == 2 and all(signed_area([(float(a), float(b)) for a, b in r]) == 1.0 for r in rings)


def test_ellipse() -> None:
    r = ellipse_ring(0.0, 0.0, np.diag([100.0, 25.0]), 5.991)
    assert signed_area(r) > 0
    assert point_in_ring(20.0, 0.0, r) and not point_in_ring(0.0, 20.0, r)
