"""What each scene cell broadcasts: its SI frames (built by
`fbsdetect.sysinfo.cell.build_cell_si` from the scene's keys), the empty
paging fill (Paging Request type 1 with "no identity", TS 44.018 9.1.22,
as live networks send on idle CCCH blocks) and paging requests (type 1, one
or two identities)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from fbsdetect.errors import BadInput
from fbsdetect.i18n import _
from fbsdetect.sim.scene import CELL_KEYS, CellConfig
from fbsdetect.sim.transmitter import CellFrames
from fbsdetect.sysinfo import paging
from fbsdetect.sysinfo.cell import CellSpec, build_cell_si


def cell_spec(cell: CellConfig) -> CellSpec:
    """The SI parameters of a scene cell: every scene key that is a `CellSpec` field."""
    keys = {f.name for f in fields(CellSpec)} & set(CELL_KEYS)
    return CellSpec(**{k: getattr(cell, k) for k in keys}, mnc_digits=3 if cell.mnc > 99 else 2)


def _page(ids: Sequence[tuple[str, str]]) -> bytes:
    return paging.build_p1([paging.MobileIdentity(kind, value) for kind, value in ids])


def cell_frames(cell: CellConfig, *, source: str = "scene.toml") -> CellFrames:
    """The frames of a scene cell; BadInput naming the cell when its
    parameters cannot be put into System Information."""
    try:
        si = build_cell_si(cell_spec(cell))
    except ValueError as exc:
        raise BadInput(_("[[cell]] {n} ({name}): cannot build its System Information: {error}").format(
            n=cell.index + 1, name=cell.name, error=exc), source=source) from None
    return CellFrames.from_si(si, paging.build_empty(), _page)
