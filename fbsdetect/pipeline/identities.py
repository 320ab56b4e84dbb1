"""Decoded L2 frames with the subscribers' identities pseudonymised, before
they leave the process (`decode --frames`, `--pcap`, `--gsmtap`).

The same keyed pseudonyms as the scan's stored frames (`fbsdetect.l3.identity`,
per-install key): a CCCH Paging Request gets every paged IMSI/TMSI replaced
(`pseudonymise_paging`), a dedicated-channel frame (SDCCH, SACCH, FACCH) the
Mobile Identity of the single-frame message it carries (the UA's echo of the
phone's first message, a TMSI Reallocation, ...: `lapdm.pseudonymise_frame`).
Every other frame (BCCH System Information, assignments) is left as decoded.
One phone keeps one pseudonym across frames and runs of one installation, so
who was paged how often can still be counted; who it was cannot be read.

Clear identities only when the user asked for them (FBSDETECT_CLEAR_IDENTITIES=1,
`l3.identity.clear_requested`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from fbsdetect.types import L2Frame

PAGING_TYPES = (0x21, 0x22, 0x24)  # Paging Request Type 1, 2, 3 (TS 44.018 9.1.22-9.1.24)
CCCH_CHANNELS = ("CCCH", "PCH")  # where paging requests travel (the receiver's and gr-gsm's names)


@dataclass
class FramePseudonymiser:
    """Replaces identities in frames with keyed pseudonyms; `changed` counts
    the frames that carried one. With `key=None` the per-install key is loaded
    (created on first use) when the first frame needs it."""

    key: bytes | None = None
    changed: int = 0

    def _key(self) -> bytes:
        if self.key is None:
            from fbsdetect.l3.identity import load_key

            self.key = load_key()
        return self.key

    def __call__(self, fr: L2Frame) -> L2Frame:
        data = bytes(fr.data)
        ch = (fr.channel or "").upper()
        if ch in CCCH_CHANNELS:
            if len(data) < 3 or data[2] not in PAGING_TYPES:
                return fr
            from fbsdetect.l3.identity import pseudonymise_paging

            new = pseudonymise_paging(data, self._key())
        elif ch.startswith(("SDCCH", "SACCH", "FACCH")):
            from fbsdetect.l3.lapdm import pseudonymise_frame

            new = pseudonymise_frame(data, self._key(), sacch=ch.startswith("SACCH"))
        else:
            return fr
        if new == data:
            return fr
        self.changed += 1
        return replace(fr, data=new)

    def all(self, frames: Iterable[L2Frame]) -> list[L2Frame]:
        return [self(f) for f in frames]


def for_output() -> FramePseudonymiser | None:
    """The pseudonymiser for frames a command writes out, or None when the user
    asked for identities in clear (FBSDETECT_CLEAR_IDENTITIES=1)."""
    from fbsdetect.l3.identity import clear_requested

    return None if clear_requested() else FramePseudonymiser()
