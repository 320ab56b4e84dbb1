"""Recognition of the downlink layer-3 messages that matter on a dedicated
channel (TS 44.018 RR, TS 24.008 MM/CC, TS 24.011 SMS). Hand-written: only
the protocol discriminator, the message type and one or two fields are read,
which is much faster than a full pycrate decode and never raises.

    RR (PD 6): 0x35 Ciphering Mode Command (algorithm A5/(n+1), start
               ciphering bit), 0x27 Paging Response (in the UA: the phone's
               identity), 0x0D Channel Release, 0x2E Assignment Command,
               0x2B Handover Command, 0x1D/0x1E/0x05/0x06 SI5/SI6/5bis/5ter
    MM (PD 5): 0x02 LU Accept, 0x04 LU Reject (cause), 0x08 LU Request,
               0x12 Authentication Request, 0x18 Identity Request (type),
               0x1A TMSI Reallocation, 0x21 CM Service Accept, 0x24 CM Service
               Request, 0x32 MM Information (type masked with 0x3F: N(SD))
    CC (PD 3): names only; SMS (PD 9): `sms.parse_cp`
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fbsdetect.l3 import sms as smsmod

PD_CC, PD_MM, PD_RR, PD_SMS = 0x3, 0x5, 0x6, 0x9

RR_NAMES = {0x35: "Ciphering Mode Command", 0x27: "Paging Response", 0x0D: "Channel Release",
            0x2E: "Assignment Command", 0x2B: "Handover Command", 0x1D: "SI5", 0x1E: "SI6",
            0x05: "SI5bis", 0x06: "SI5ter", 0x32: "Ciphering Mode Complete", 0x16: "Classmark Change",
            0x15: "Measurement Report", 0x29: "Assignment Complete"}
MM_NAMES = {0x01: "IMSI Detach Indication", 0x02: "Location Updating Accept",
            0x04: "Location Updating Reject", 0x08: "Location Updating Request",
            0x11: "Authentication Reject", 0x12: "Authentication Request",
            0x14: "Authentication Response", 0x18: "Identity Request", 0x19: "Identity Response",
            0x1A: "TMSI Reallocation Command", 0x21: "CM Service Accept", 0x22: "CM Service Reject",
            0x24: "CM Service Request", 0x29: "Abort", 0x32: "MM Information"}
CC_NAMES = {0x01: "Alerting", 0x02: "Call Proceeding", 0x05: "Setup", 0x07: "Connect",
            0x25: "Disconnect", 0x2D: "Release", 0x2A: "Release Complete"}
IDENTITY_TYPES = {1: "imsi", 2: "imei", 3: "imeisv", 4: "tmsi"}


@dataclass(frozen=True)
class L3Message:
    pd: int
    msg_type: int
    name: str
    fields: dict[str, object] = field(default_factory=dict)
    sms: smsmod.SmsDeliver | None = None


def mobile_identity(v: bytes) -> tuple[str, str] | None:
    """(kind, value) of a Mobile Identity value (TS 24.008 10.5.1.4), None if malformed."""
    from fbsdetect.sysinfo.common import MalformedError
    from fbsdetect.sysinfo.paging import decode_identity

    try:
        mi = decode_identity(v)
    except (MalformedError, IndexError):
        return None
    return (mi.kind, mi.value) if mi.value else None


def parse_l3(l3: bytes, hasher: Callable[[str, str], str] | None = None) -> L3Message | str:
    """An L3Message, or a string naming why it is malformed. Identities go
    through `hasher` (kind, value) -> stored text; without one they are dropped."""
    if len(l3) < 2:
        return "short"
    pd = l3[0] & 0xF
    if pd == PD_RR:
        mt = l3[1]
        name = RR_NAMES.get(mt, f"RR 0x{mt:02x}")
        f: dict[str, object] = {}
        if mt == 0x35:
            if len(l3) < 3:
                return "Ciphering Mode Command truncated"
            f["start_ciphering"] = bool(l3[2] & 1)
            f["algorithm"] = f"A5/{((l3[2] >> 1) & 7) + 1}" if l3[2] & 1 else None
        elif mt == 0x27 and len(l3) >= 4:
            n = l3[3]
            off = 4 + n
            if off < len(l3) and off + 1 + l3[off] <= len(l3):
                mi = mobile_identity(l3[off + 1:off + 1 + l3[off]])
                if mi and hasher:
                    f["identity"] = hasher(*mi)
                if mi:
                    f["identity_type"] = mi[0]
        return L3Message(pd, mt, name, f)
    if pd == PD_MM:
        mt = l3[1] & 0x3F
        name = MM_NAMES.get(mt, f"MM 0x{mt:02x}")
        f = {}
        if mt == 0x18:
            if len(l3) < 3:
                return "Identity Request truncated"
            f["identity_type"] = IDENTITY_TYPES.get(l3[2] & 7, f"type {l3[2] & 7}")
        elif mt == 0x04:
            if len(l3) < 3:
                return "LU Reject truncated"
            f["cause"] = l3[2]
        elif mt == 0x02 and len(l3) >= 7:
            f["lai"] = l3[2:7].hex()
        return L3Message(pd, mt, name, f)
    if pd == PD_CC:
        mt = l3[1] & 0x3F
        return L3Message(pd, mt, CC_NAMES.get(mt, f"CC 0x{mt:02x}"))
    if pd == PD_SMS:
        try:
            name, deliver = smsmod.parse_cp(l3)
        except smsmod.SmsError as e:
            return f"SMS: {e}"
        return L3Message(pd, l3[1], name, {}, deliver)
    return L3Message(pd, l3[1], f"PD {pd} 0x{l3[1]:02x}")


# builders for the simulator and tests (downlink)

def build_identity_request(kind: str) -> bytes:
    code = {v: k for k, v in IDENTITY_TYPES.items()}[kind]
    return bytes([PD_MM, 0x18, code])


def build_lu_reject(cause: int) -> bytes:
    return bytes([PD_MM, 0x04, cause & 0xFF])


def build_lu_accept(lai: bytes) -> bytes:
    return bytes([PD_MM, 0x02]) + lai


def build_auth_request(rand: bytes, cksn: int = 0) -> bytes:
    return bytes([PD_MM, 0x12, cksn & 7]) + rand[:16]


def build_ciphering_mode_command(algorithm: int = 1) -> bytes:
    """A5/`algorithm`, start ciphering; cipher response: IMEISV not asked."""
    return bytes([PD_RR, 0x35, 0x01 | (((algorithm - 1) & 7) << 1)])


def build_channel_release(cause: int = 0) -> bytes:
    return bytes([PD_RR, 0x0D, cause])


def build_paging_response_tmsi(tmsi: bytes) -> bytes:
    """Paging Response (the UA's echo) with a TMSI identity."""
    return bytes([PD_RR, 0x27, 0x00, 0x03, 0x53, 0x19, 0xA2, 0x05, 0xF4]) + tmsi[:4]


def build_lu_request_tmsi(tmsi: bytes, lai: bytes) -> bytes:
    """Location Updating Request (normal, CKSN 7) with a TMSI identity."""
    return bytes([PD_MM, 0x08, 0x70]) + lai + bytes([0x53, 0x05, 0xF4]) + tmsi[:4]
