"""A cell's System Information as one value, both directions.

`CellSpec` holds the `[[cell]]` fields of a scene (contracts.md section 3)
that reach the air; `build_cell_si(spec)` renders them into the 23-octet SI
frames a BTS broadcasts; `CellParams.from_frames(frames)` merges received SI
frames back into the `params` object of a cell observation (contracts.md
section 4) plus mcc/mnc/lac/cid.

Where each scene field goes:

    mcc mnc lac            LAI in SI3 and SI4
    cid                    SI3 cell identity
    arfcn, cell_allocation SI1 Cell Channel Description ({arfcn} by default)
    neighbours             SI2 BA list (bit map 0 if all in 1..124, else the
                           smallest range format that holds them)
    ccch                   SI3 CCCH_CONF (0 non-combined, 1 combined)
    t3212, att, mscr, bs_ag_blks_res, bs_pa_mfrms
                           SI3 Control Channel Description
    cell_reselect_hysteresis, ms_txpwr_max_cch, rxlev_access_min
                           Cell Selection Parameters of SI3 and SI4
    cbq, cro, temporary_offset, penalty_time
                           selection parameters of SI3/SI4 rest octets (sent
                           only when one of them is non-zero: absent = all 0)
    gprs                   GPRS indicator in SI3/SI4 rest octets + SI13
    si2ter                 SI3 rest-octet indicator + SI2ter (BA extension
                           `neighbours_ext`, empty by default)
    si2quater, eutran_neighbours
                           SI3 rest-octet indicator + SI2quater listing the
                           EARFCNs (serving priority 0, E-UTRAN priority 5);
                           SI2quater and SI13 on BCCH Norm (position 0)
    bsic                   not in SI (it is on the SCH); NCC permitted in SI2
                           includes the cell's own NCC

Messages and fields: TS 44.018 9.1.31-9.1.36 and 9.1.43a (see each module).
Hand-written glue over the message modules.

Reading back, `neighbours` is the whole BA(BCCH) list: SI2 plus its SI2bis
and SI2ter extensions when those frames are given. SI3's Control Channel
Description (10.5.2.11) is read as `mscr`, `att`, `t3212`, `ccch_conf` (raw
0..7) with its meaning `ccch_timeslots` (BS_CC_CHANS, 1..4) and
`ccch_combined` (BS_CCCH_SDCCH_COMB), `bs_ag_blks_res` (blocks reserved for
access grants), `bs_pa_mfrms` (multiframes, 2..9) and `paging_groups` (TS
45.002 6.5.2); the rest octets' (10.5.2.34) SI2quater position as
`si2quater_on_bcch_ext`, and the GPRS indicator's SI13 position (SI3, else
SI4) as `si13_on_bcch_ext`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fbsdetect.sysinfo import si1, si2, si2quater, si2ter, si3, si4, si13
from fbsdetect.sysinfo.common import (
    CellSelection,
    GprsIndicator,
    Lai,
    RachControl,
    SelectionParameters,
)
from fbsdetect.sysinfo.dispatch import parse_any


@dataclass(frozen=True)
class CellSpec:
    """The SI-relevant parameters of one cell; defaults as in contracts.md section 3."""

    mcc: int
    mnc: int
    lac: int
    cid: int
    arfcn: int
    bsic: int
    ccch: str = "non-combined"
    neighbours: tuple[int, ...] = (60, 66, 71)
    si2ter: bool = False
    si2quater: bool = True
    eutran_neighbours: tuple[int, ...] = (1300, 1825)
    gprs: bool = True
    t3212: int = 20
    att: bool = True
    cro: int = 0
    temporary_offset: int = 0
    penalty_time: int = 0
    cell_reselect_hysteresis: int = 2
    rxlev_access_min: int = 8
    ms_txpwr_max_cch: int = 5
    cbq: int = 0
    # not scene keys (yet); defaults chosen to look like an ordinary operator cell
    cell_allocation: tuple[int, ...] | None = None  # SI1 CA; None = (arfcn,)
    neighbours_ext: tuple[int, ...] = ()             # SI2ter extended BA list
    mnc_digits: int = 2
    bs_ag_blks_res: int = 1  # CCCH blocks reserved for access grants, 0..7
    bs_pa_mfrms: int = 4   # multiframes between paging sub-channel repeats, 2..9
    mscr: int = 1          # 1 = the MSC is Release 99 onwards
    rac: int = 0
    ra_colour: int = 0
    rach: RachControl = field(default_factory=RachControl)

    def __post_init__(self) -> None:
        # accept lists from TOML
        for name in ("neighbours", "eutran_neighbours", "neighbours_ext"):
            object.__setattr__(self, name, tuple(int(x) for x in getattr(self, name)))
        if self.cell_allocation is not None:
            object.__setattr__(self, "cell_allocation", tuple(int(x) for x in self.cell_allocation))
        if self.ccch not in ("non-combined", "combined"):
            raise ValueError(f"ccch = {self.ccch!r}: expected 'non-combined' or 'combined'")
        if not 2 <= self.bs_pa_mfrms <= 9:
            raise ValueError(f"bs_pa_mfrms = {self.bs_pa_mfrms} outside 2..9")
        if not 0 <= self.bsic <= 63:
            raise ValueError(f"bsic = {self.bsic} outside 0..63")

    @property
    def ncc(self) -> int:
        return self.bsic >> 3

    @property
    def selection_parameters(self) -> SelectionParameters | None:
        sp = SelectionParameters(self.cbq, self.cro, self.temporary_offset, self.penalty_time)
        return None if sp == SelectionParameters() else sp


def build_cell_si(spec: CellSpec) -> dict[str, bytes]:
    """The SI frames of a cell: keys "1", "2", "3", "4" always; "2ter",
    "2quater", "13" when the cell announces them. Raises ValueError for a
    parameter out of range or a list that no format can hold."""
    lai = Lai(spec.mcc, spec.mnc, spec.lac, spec.mnc_digits)
    sel = CellSelection(spec.cell_reselect_hysteresis, spec.ms_txpwr_max_cch, 0, 1,
                        spec.rxlev_access_min)
    gprs = GprsIndicator(spec.ra_colour, 0) if spec.gprs else None
    ca = spec.cell_allocation if spec.cell_allocation is not None else (spec.arfcn,)
    out = {
        "1": si1.build(ca, spec.rach),
        "2": si2.build(spec.neighbours, ncc_permitted=0xFF, rach=spec.rach),
        "3": si3.build(
            spec.cid, lai,
            si3.ControlChannel(mscr=spec.mscr, att=spec.att, bs_ag_blks_res=spec.bs_ag_blks_res,
                               ccch_conf=0 if spec.ccch == "non-combined" else 1,
                               bs_pa_mfrms=spec.bs_pa_mfrms - 2, t3212=spec.t3212),
            si3.CellOptions(), sel, spec.rach,
            si3.SI3Rest(selection=spec.selection_parameters, si2ter=spec.si2ter, gprs=gprs,
                        si2quater_position=0 if spec.si2quater else None)),
        "4": si4.build(lai, sel, spec.rach, si4.SI4Rest(spec.selection_parameters, None, gprs)),
    }
    if spec.si2ter:
        out["2ter"] = si2ter.build(spec.neighbours_ext)
    if spec.si2quater:
        out["2quater"] = si2quater.build(spec.eutran_neighbours)
    if spec.gprs:
        out["13"] = si13.build(rac=spec.rac)
    return out


@dataclass(frozen=True)
class CellParams:
    """What a cell's SI frames say; None where no frame told us."""

    mcc: int | None = None
    mnc: int | None = None
    lac: int | None = None
    cid: int | None = None
    neighbours: tuple[int, ...] | None = None
    t3212: int | None = None
    att: bool | None = None
    cro: int | None = None
    temporary_offset: int | None = None
    penalty_time: int | None = None
    cell_reselect_hysteresis: int | None = None
    rxlev_access_min: int | None = None
    ms_txpwr_max_cch: int | None = None
    cbq: int | None = None
    gprs: bool | None = None
    si2ter: bool | None = None
    si2quater: bool | None = None
    eutran_neighbours: tuple[int, ...] | None = None
    # SI3 Control Channel Description (TS 44.018 10.5.2.11)
    mscr: int | None = None  # 0: MSC of Release 98 or older, 1: Release 99 onwards
    ccch_conf: int | None = None  # raw 0..7 (3, 5, 7 reserved)
    ccch_timeslots: int | None = None  # BS_CC_CHANS: C0 timeslots with a CCCH (0, 2, 4, 6), 1..4
    ccch_combined: bool | None = None  # BS_CCCH_SDCCH_COMB: CCCH and SDCCH/4 share TS0
    bs_ag_blks_res: int | None = None  # CCCH blocks of a 51-multiframe reserved for access grants
    bs_pa_mfrms: int | None = None  # multiframes between two blocks of one paging group, 2..9
    paging_groups: int | None = None  # TS 45.002 6.5.2: BS_CC_CHANS x N
    # BCCH Ext (the first CCCH block) instead of BCCH Norm: SI3 rest octets' SI2quater
    # position (None when SI2quater is not announced), the GPRS indicator's SI13 position
    si2quater_on_bcch_ext: bool | None = None
    si13_on_bcch_ext: bool | None = None
    malformed: tuple[str, ...] = ()  # SI keys whose frame did not parse

    PARAM_KEYS = ("neighbours", "t3212", "att", "cro", "temporary_offset", "penalty_time",
                  "cell_reselect_hysteresis", "rxlev_access_min", "ms_txpwr_max_cch", "cbq",
                  "gprs", "si2ter", "si2quater", "eutran_neighbours",
                  "mscr", "ccch_conf", "ccch_timeslots", "ccch_combined", "bs_ag_blks_res", "bs_pa_mfrms",
                  "paging_groups", "si2quater_on_bcch_ext", "si13_on_bcch_ext")

    def params(self) -> dict[str, Any]:
        """The `params` object of contracts.md section 4 (lists as lists)."""
        d: dict[str, Any] = {}
        for k in self.PARAM_KEYS:
            v = getattr(self, k)
            d[k] = list(v) if isinstance(v, tuple) else v
        return d

    @classmethod
    def from_frames(cls, frames: Mapping[str, bytes | str | Sequence[bytes]]) -> CellParams:
        """Merge SI frames keyed by SI type ("1", "2", "2bis", "2ter", "2quater",
        "3", "4", "13"; values bytes or hex; "2quater" may be a list of
        instances). Keys name what the caller believes; each frame is parsed
        on its own message type."""
        msgs: dict[str, list[Any]] = {}
        bad: list[str] = []
        for key, value in frames.items():
            items: Sequence[Any] = value if isinstance(value, list | tuple) else [value]
            for item in items:
                b = bytes.fromhex(item) if isinstance(item, str) else bytes(item)
                m = parse_any(b)
                kind = _kind(m)
                if kind is None:
                    bad.append(str(key))
                else:
                    msgs.setdefault(kind, []).append(m)
        d: dict[str, Any] = {}
        s3: si3.SI3 | None = msgs.get("3", [None])[0]
        s4: si4.SI4 | None = msgs.get("4", [None])[0]
        lai = s3.lai if s3 else (s4.lai if s4 else None)
        if lai is not None:
            d.update(mcc=lai.mcc, mnc=lai.mnc, lac=lai.lac)
        if s3:
            c = s3.control
            d.update(cid=s3.cid, t3212=c.t3212, att=c.att, mscr=c.mscr, ccch_conf=c.ccch_conf,
                     ccch_timeslots=si3.ccch_timeslots(c.ccch_conf),
                     ccch_combined=si3.ccch_combined(c.ccch_conf), bs_ag_blks_res=c.bs_ag_blks_res,
                     bs_pa_mfrms=c.bs_pa_mfrms + 2,
                     paging_groups=si3.paging_groups(c.ccch_conf, c.bs_ag_blks_res, c.bs_pa_mfrms),
                     si2quater_on_bcch_ext=None if s3.rest.si2quater_position is None
                     else s3.rest.si2quater_position == 1)
        sel = s3.selection if s3 else (s4.selection if s4 else None)
        if sel is not None:
            d.update(cell_reselect_hysteresis=sel.cell_reselect_hysteresis,
                     rxlev_access_min=sel.rxlev_access_min, ms_txpwr_max_cch=sel.ms_txpwr_max_cch)
        rest_sel = None
        have_rest = False
        if s3:
            rest_sel, have_rest = s3.rest.selection, True
        elif s4:
            rest_sel, have_rest = s4.rest.selection, True
        if have_rest:
            sp = rest_sel or SelectionParameters()
            d.update(cbq=sp.cbq, cro=sp.cell_reselect_offset, temporary_offset=sp.temporary_offset,
                     penalty_time=sp.penalty_time)
        gprs_ind = s3.rest.gprs if s3 else (s4.rest.gprs if s4 else None)
        if gprs_ind is not None:
            d["si13_on_bcch_ext"] = gprs_ind.si13_position == 1
        if gprs_ind is not None or "13" in msgs:
            d["gprs"] = True
        elif s3 or s4:
            d["gprs"] = False
        if s3:
            d["si2ter"] = s3.rest.si2ter or "2ter" in msgs
            d["si2quater"] = s3.rest.si2quater or "2quater" in msgs
        else:
            if "2ter" in msgs:
                d["si2ter"] = True
            if "2quater" in msgs:
                d["si2quater"] = True
        ba: set[int] = set()
        have_ba = False
        for k in ("2", "2bis", "2ter"):
            for m in msgs.get(k, []):
                ba.update(m.arfcns)
                have_ba = have_ba or k == "2"
        if have_ba:
            d["neighbours"] = tuple(sorted(ba))
        if "2quater" in msgs:
            e: list[int] = []
            for m in sorted(msgs["2quater"], key=lambda m: m.index):
                e.extend(x for x in m.eutran_earfcns if x not in e)
            d["eutran_neighbours"] = tuple(e)
        elif s3 is not None and not s3.rest.si2quater:
            d["eutran_neighbours"] = ()
        return cls(**d, malformed=tuple(bad))


MULTI_INSTANCE = ("2ter", "2quater")  # SI types sent as several instances, each with its index
MAX_INSTANCES = 16  # SI2quater_INDEX has 4 bits


def remember_instance(instances: dict[str, list[bytes]], key: str, frame: bytes) -> bool:
    """Records `frame` as a current instance of SI type `key` in `instances` (the
    frames `CellParams.from_frames` merges); True when it was not there yet.

    A cell's parameters are what it sends now: a single-instance type keeps only
    its newest frame, so a changed SI3 (T3212, CRO, ...) or an SI2 that drops a
    neighbour replaces the old one instead of being merged with it. SI2ter and
    SI2quater come in instances (TS 44.018 10.5.2.33a, 10.5.2.33b: an index and a
    count in the rest octets); a frame replaces the earlier one of its index,
    and those whose index cannot be read are kept side by side, the newest 16."""
    inst = instances.setdefault(key, [])
    if frame in inst:
        return False
    if key not in MULTI_INSTANCE:
        inst[:] = [frame]
        return True
    idx = _instance_index(frame)
    if idx is not None:
        inst[:] = [f for f in inst if _instance_index(f) != idx]
    inst.append(frame)
    del inst[:-MAX_INSTANCES]
    return True


def _instance_index(frame: bytes) -> int | None:
    m = parse_any(bytes(frame))
    idx = getattr(m, "index", None) if isinstance(m, si2ter.SI2ter | si2quater.SI2quater) else None
    return idx if isinstance(idx, int) else None


_SI_KEY_OF_TYPE: dict[type, str] = {si1.SI1: "1", si2ter.SI2ter: "2ter", si2quater.SI2quater: "2quater",
                                    si3.SI3: "3", si4.SI4: "4", si13.SI13: "13"}


def _kind(m: Any) -> str | None:
    """The SI key of a parsed message (SI2 and SI2bis share one class); None
    for anything else (a Malformed frame, paging ...)."""
    if isinstance(m, si2.SI2):
        return "2bis" if m.bis else "2"
    return _SI_KEY_OF_TYPE.get(type(m))
