"""GSMTAP version 2 header and a UDP sender (Wireshark's `gsmtap` dissector).

Header layout (16 octets, network byte order; osmocom `gsmtap.h`, the format
Wireshark and gr-gsm use)::

    0  version        = 2
    1  hdr_len        = 4   (in 32-bit words)
    2  type           = 1   (GSMTAP_TYPE_UM: GSM Um air interface)
    3  timeslot       0..7
    4  arfcn          uint16: bits 0..13 ARFCN, bit 14 uplink, bit 15 PCS band
    6  signal_dbm     int8
    7  snr_db         int8
    8  frame_number   uint32
    12 sub_type       channel type (BCCH 0x01, CCCH 0x02, ... below)
    13 antenna_nr     uint8
    14 sub_slot       uint8: the SDCCH/4 or SACCH/4 sub-channel 0..3 of a
                      combined TS0, the SDCCH/8 or SACCH/8 sub-channel 0..7
                      (TS 45.002 clause 7 table 3), else 0
    15 res            0

followed by the 23-octet L2 frame. UDP destination port 4729 (IANA `gsmtap`).
Hand-written with `struct`: 16 fixed octets need no library; tshark reads
every field back in tests/export.
"""

from __future__ import annotations

import socket
import struct
from types import TracebackType

from fbsdetect.errors import BadInput
from fbsdetect.gsm.mapping import SACCH4, SDCCH4, ts0_channel
from fbsdetect.i18n import gettext
from fbsdetect.types import L2Frame

GSMTAP_PORT = 4729
GSMTAP_VERSION = 2
GSMTAP_TYPE_UM = 0x01
ARFCN_F_PCS = 0x8000
ARFCN_F_UPLINK = 0x4000

# GSMTAP_CHANNEL_* sub-types
CHANNEL_SUBTYPE: dict[str, int] = {
    "UNKNOWN": 0x00,
    "BCCH": 0x01,
    "CCCH": 0x02,
    "RACH": 0x03,
    "AGCH": 0x04,
    "PCH": 0x05,
    "SDCCH": 0x06,
    "SDCCH/4": 0x07,
    "SDCCH/8": 0x08,
    "TCH/F": 0x09,
    "TCH/H": 0x0A,
    "PACCH": 0x0B,
    "CBCH52": 0x0C,
    "PDCH": 0x0D,
    "PTCCH": 0x0E,
    "CBCH51": 0x0F,
}
ACCH_FLAG = 0x80  # e.g. SACCH/4 = SDCCH/4 | ACCH


def subtype_for_channel(channel: str) -> int:
    """GSMTAP sub-type of an `L2Frame.channel` name ("BCCH", "CCCH", "SACCH/4" ...)."""
    name = channel.upper()
    if name.startswith("SACCH"):
        base = "SDCCH" + name[len("SACCH"):]
        return CHANNEL_SUBTYPE.get(base, CHANNEL_SUBTYPE["SDCCH"]) | ACCH_FLAG
    return CHANNEL_SUBTYPE.get(name, CHANNEL_SUBTYPE["UNKNOWN"])


def _int8(value: float | None) -> int:
    if value is None:
        return 0
    return max(-128, min(127, round(value)))


def gsmtap_header(arfcn: int | None, timeslot: int, fn: int, sub_type: int, *,
                  signal_dbm: float | None = None, snr_db: float | None = None,
                  uplink: bool = False, pcs: bool = False, sub_slot: int = 0,
                  antenna: int = 0) -> bytes:
    """The 16-octet GSMTAP v2 header."""
    a = (arfcn or 0) & 0x3FFF
    if uplink:
        a |= ARFCN_F_UPLINK
    if pcs:
        a |= ARFCN_F_PCS
    return struct.pack(">BBBBHbbIBBBB", GSMTAP_VERSION, 4, GSMTAP_TYPE_UM, timeslot & 0xFF, a,
                       _int8(signal_dbm), _int8(snr_db), fn & 0xFFFFFFFF, sub_type & 0xFF,
                       antenna & 0xFF, sub_slot & 0xFF, 0)


def sub_slot_of(frame: L2Frame) -> int:
    """The sub-channel of an SDCCH/4 or SACCH/4 block on TS0, from the frame
    number of its first burst (the sub-channel is not in the L2 frame); 0 for
    every other channel."""
    if frame.channel in ("SDCCH/8", "SACCH/8"):  # any timeslot (fbsdetect.gsm.dedicated);
        from fbsdetect.gsm.dedicated import sdcch8_channel  # Wireshark reassembles LAPDm per sub-slot

        return sdcch8_channel(frame.fn).subchannel or 0
    if frame.ts != 0 or frame.channel not in (SDCCH4, SACCH4):
        return 0
    return ts0_channel(frame.fn, combined=True).subchannel or 0


def gsmtap_packet(frame: L2Frame, *, pcs: bool = False) -> bytes:
    """GSMTAP header + L2 frame for one decoded frame (signal level and SNR
    from the frame when known)."""
    return gsmtap_header(frame.arfcn, frame.ts, frame.fn, subtype_for_channel(frame.channel),
                         signal_dbm=frame.power_dbm, snr_db=frame.snr_db, pcs=pcs,
                         sub_slot=sub_slot_of(frame)) + frame.data


def parse_address(text: str, default_port: int = GSMTAP_PORT) -> tuple[str, int]:
    """'HOST:PORT', 'HOST', ':PORT', '[IPv6]:PORT', '[IPv6]' or a bare IPv6
    literal -> (host, port); raises ValueError."""
    if text.startswith("[") and text.endswith("]"):
        return text[1:-1], default_port
    host, sep, port = text.rpartition(":")
    if not sep or (":" in host and not host.startswith("[")):  # no port, or a bare IPv6 literal
        return text or "127.0.0.1", default_port
    p = int(port)
    if not 0 < p < 65536:
        raise ValueError(f"port {p} out of range")
    return host.strip("[]") or "127.0.0.1", p


class GsmtapSender:
    """Streams frames as GSMTAP over UDP (default 127.0.0.1:4729). The host is
    resolved once, here: a name that does not resolve raises `BadInput`."""

    def __init__(self, host: str = "127.0.0.1", port: int = GSMTAP_PORT) -> None:
        try:
            family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except (socket.gaierror, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else str(exc)
            raise BadInput(gettext("cannot resolve GSMTAP host {host!r}: {reason}").format(
                host=host, reason=reason),
                           source=f"--gsmtap {host}:{port}") from None
        self.address = sockaddr
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sent = 0

    def send(self, frame: L2Frame) -> None:
        self.send_packet(gsmtap_packet(frame))

    def send_packet(self, packet: bytes) -> None:
        self._sock.sendto(packet, self.address)
        self.sent += 1

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> GsmtapSender:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
