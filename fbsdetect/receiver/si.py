"""What a cell's SI3 tells the receiver, read in one place (TS 44.018 9.1.35):
the CCCH combination (Control Channel Description, 10.5.2.11), the SI types on
BCCH Ext (rest octets 10.5.2.34: SI2quater at position 1, SI13 at position 1
in the GPRS indicator) and the SI types it announces (SI2ter, SI2quater, SI13
through the GPRS indicator; `sysinfo.cell.CellParams`). Parsed once per
distinct SI3 frame."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Si3Info:
    combined: bool | None  # CCCH_CONF = 1: BCCH + SDCCH/4 on TS0
    ext_types: frozenset[str]  # SI types SI3 puts on BCCH Ext
    announced: frozenset[str]  # SI types SI3 announces

    @staticmethod
    @functools.lru_cache(maxsize=64)
    def from_frame(frame: bytes) -> Si3Info:
        from fbsdetect.sysinfo import parse_any
        from fbsdetect.sysinfo.cell import CellParams
        from fbsdetect.sysinfo.si3 import SI3

        # CCCH_CONF: low 3 bits of the Control Channel Description's 2nd octet
        # (octet 10 of the SI3 frame); 1 = combined
        combined = (frame[10] & 0x07) == 1 if len(frame) > 10 else None
        ext: set[str] = set()
        m = parse_any(frame)
        if isinstance(m, SI3):
            if m.rest.si2quater_position == 1:
                ext.add("2quater")
            if m.rest.gprs is not None and m.rest.gprs.si13_position == 1:
                ext.add("13")
        p = CellParams.from_frames({"3": frame})
        announced = {k for k, on in (("2ter", p.si2ter), ("2quater", p.si2quater), ("13", p.gprs)) if on}
        return Si3Info(combined, frozenset(ext), frozenset(announced))


def si3_info(si: dict[str, bytes]) -> Si3Info | None:
    """The `Si3Info` of the carrier's last SI3 (None before one was decoded)."""
    frame = si.get("3")
    return None if frame is None else Si3Info.from_frame(frame)


def ext_wanted(si: dict[str, bytes], si_count: Counter[str], repeats: int) -> bool:
    """Whether the first CCCH block must be decoded for BCCH Ext: a type SI3
    puts there has not been seen `repeats` times yet. Every multiframe's is
    decoded (TS 45.002 gives each type a TC there, but a cell may use more)."""
    info = si3_info(si)
    return info is not None and any(si_count[s] < repeats for s in info.ext_types)


def announced(si: dict[str, bytes]) -> frozenset[str]:
    """SI types that the carrier's SI3 announces (empty before an SI3)."""
    info = si3_info(si)
    return frozenset() if info is None else info.announced
