"""Regions as polygons: the boundary of a set of grid cells, traced into
rings (GeoJSON's right-hand rule: exteriors counter-clockwise, holes
clockwise), and ellipses for least-squares fits."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsdetect.locate.samples import LocalFrame

Ring = list[tuple[float, float]]  # (x, y) metres, closed (first == last)

# directions (d_col, d_row) and the turn preference at a vertex with two ways on
_LEFT = {(1, 0): (0, 1), (0, 1): (-1, 0), (-1, 0): (0, -1), (0, -1): (1, 0)}


def mask_rings(mask: npt.NDArray[np.bool_]) -> list[list[tuple[int, int]]]:
    """Boundary rings of the True cells of `mask` (rows = y, cols = x) as
    lattice vertices (col, row), interior on the left (exteriors CCW in x-east
    y-north axes, holes CW), closed, collinear vertices removed."""
    m = np.pad(np.asarray(mask, dtype=bool), 1)
    out_edges: dict[tuple[int, int], list[tuple[int, int]]] = {}

    def add(a: tuple[int, int], b: tuple[int, int]) -> None:
        out_edges.setdefault(a, []).append(b)

    rows, cols = np.nonzero(m)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        i, j = r - 1, c - 1  # cell in the unpadded mask; its corners (j, i) .. (j+1, i+1)
        if not m[r - 1, c]:
            add((j, i), (j + 1, i))  # bottom, eastward
        if not m[r, c + 1]:
            add((j + 1, i), (j + 1, i + 1))  # right, northward
        if not m[r + 1, c]:
            add((j + 1, i + 1), (j, i + 1))  # top, westward
        if not m[r, c - 1]:
            add((j, i + 1), (j, i))  # left, southward
    rings = []
    while out_edges:
        start = next(iter(out_edges))
        ring = [start]
        cur, prev_dir = start, None
        while True:
            nexts = out_edges[cur]
            if len(nexts) == 1 or prev_dir is None:
                nxt = nexts[0]
            else:  # a saddle: turn left, so diagonal cells stay separate rings
                want = (cur[0] + _LEFT[prev_dir][0], cur[1] + _LEFT[prev_dir][1])
                nxt = want if want in nexts else nexts[0]
            nexts.remove(nxt)
            if not nexts:
                del out_edges[cur]
            prev_dir = (nxt[0] - cur[0], nxt[1] - cur[1])
            cur = nxt
            ring.append(cur)
            if cur == start:
                break
        rings.append(_simplify(ring))
    return rings


def _simplify(ring: list[tuple[int, int]]) -> list[tuple[int, int]]:
    pts = ring[:-1]
    keep = []
    n = len(pts)
    for k in range(n):
        a, b, c = pts[k - 1], pts[k], pts[(k + 1) % n]
        if (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]) != 0:
            keep.append(b)
    return [*keep, keep[0]] if keep else ring


def signed_area(ring: Ring) -> float:
    a = 0.0
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        a += x1 * y2 - x2 * y1
    return a / 2.0


def point_in_ring(x: float, y: float, ring: Ring) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def grid_rings(mask: npt.NDArray[np.bool_], x0: float, y0: float, dx: float, dy: float) -> list[Ring]:
    """Rings (metres) of a mask over the grid whose cell (row i, col j) spans
    x0 + j dx .. x0 + (j+1) dx, y0 + i dy .. y0 + (i+1) dy."""
    return [[(x0 + c * dx, y0 + r * dy) for c, r in ring] for ring in mask_rings(mask)]


def multipolygon(rings: list[Ring], frame: LocalFrame, digits: int = 6) -> dict[str, Any] | None:
    """A GeoJSON MultiPolygon (lon, lat) of exterior rings (CCW) and their holes
    (CW), each hole placed in the smallest exterior that holds it."""
    if not rings:
        return None
    ext = [r for r in rings if signed_area(r) > 0]
    holes = [r for r in rings if signed_area(r) < 0]
    polys: list[list[Ring]] = [[r] for r in ext]
    for h in holes:
        best, best_a = None, math.inf
        for k, r in enumerate(ext):
            a = signed_area(r)
            if a < best_a and point_in_ring(h[0][0] + 1e-6, h[0][1] + 1e-6, r):
                best, best_a = k, a
        if best is not None:
            polys[best].append(h)

    def ll(r: Ring) -> list[list[float]]:
        x = np.array([p[0] for p in r])
        y = np.array([p[1] for p in r])
        lat, lon = frame.to_latlon(x, y)
        return [[round(float(a), digits), round(float(b), digits)] for a, b in zip(lon, lat, strict=True)]

    return {"type": "MultiPolygon", "coordinates": [[ll(r) for r in poly] for poly in polys]}


def ellipse_ring(cx: float, cy: float, cov: npt.NDArray[np.float64], chi2: float, n: int = 48) -> Ring:
    """The ellipse ``(p - c)' cov^-1 (p - c) = chi2``, counter-clockwise."""
    w, v = np.linalg.eigh(cov)
    w = np.maximum(w, 1e-6)
    a = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    pts = (v @ (np.sqrt(w * chi2)[:, None] * np.stack([np.cos(a), np.sin(a)]))).T
    ring = [(cx + float(p[0]), cy + float(p[1])) for p in pts]
    if signed_area([*ring, ring[0]]) < 0:
        ring.reverse()
    return [*ring, ring[0]]


def multipolygon_area_m2(rings: list[Ring]) -> float:
    return float(sum(signed_area(r) for r in rings))
