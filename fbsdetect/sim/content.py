"""What each scene cell broadcasts: its SI frames (built by
`fbsdetect.sysinfo.cell.build_cell_si` from the scene's keys), the empty
paging fill (Paging Request type 1 with "no identity", TS 44.018 9.1.22,
as live networks send on idle CCCH blocks) and paging requests (type 1, one
or two identities)."""

from __future__ import annotations

from collections.abc import Sequence

from fbsdetect.errors import BadInput
from fbsdetect.sim.scene import CellConfig
from fbsdetect.sim.transmitter import CellFrames
from fbsdetect.sysinfo import paging
from fbsdetect.sysinfo.cell import CellSpec, build_cell_si


def cell_spec(cell: CellConfig) -> CellSpec:
    return CellSpec(
        mcc=cell.mcc, mnc=cell.mnc, lac=cell.lac, cid=cell.cid, arfcn=cell.arfcn, bsic=cell.bsic,
        ccch=cell.ccch, neighbours=cell.neighbours, si2ter=cell.si2ter, si2quater=cell.si2quater,
        eutran_neighbours=cell.eutran_neighbours, gprs=cell.gprs, t3212=cell.t3212, att=cell.att,
        cro=cell.cro, temporary_offset=cell.temporary_offset, penalty_time=cell.penalty_time,
        cell_reselect_hysteresis=cell.cell_reselect_hysteresis,
        rxlev_access_min=cell.rxlev_access_min, ms_txpwr_max_cch=cell.ms_txpwr_max_cch,
        cbq=cell.cbq, mnc_digits=3 if cell.mnc > 99 else 2)


def _page(ids: Sequence[tuple[str, str]]) -> bytes:
    return paging.build_p1([paging.MobileIdentity(kind, value) for kind, value in ids])


def cell_frames(cell: CellConfig, *, source: str = "scene.toml") -> CellFrames:
    """The frames of a scene cell; BadInput naming the cell when its
    parameters cannot be put into System Information."""
    try:
        si = build_cell_si(cell_spec(cell))
    except ValueError as exc:
        raise BadInput(f"[[cell]] {cell.index + 1} ({cell.name}): cannot build its System "
                       f"Information: {exc}", source=source) from None
    return CellFrames.from_si(si, paging.build_empty(), _page)
