"""GSMTAP captures for Wireshark: pcapng (with a per-packet comment holding
time and GPS position) and plain pcap.

Each packet is IPv4/UDP to port 4729 carrying GSMTAP v2 (`export.gsmtap`),
link type LINKTYPE_IPV4 (228), 127.0.0.1 -> 127.0.0.1, UDP checksum 0 (allowed
for IPv4). pcapng blocks (IETF draft-ietf-opsawg-pcapng): Section Header
Block, one Interface Description Block (microsecond timestamps), then one
Enhanced Packet Block per frame with an `opt_comment` such as
``time=2026-03-01T10:00:00.123Z lat=36.617100 lon=101.778200 arfcn=62 fn=2566029 channel=BCCH``.
Classic pcap: the libpcap file format (24-octet header, 16-octet record
headers). Hand-written with `struct` (three block types; no dependency such as
scapy needed); tshark reads the files back in tests/export.
"""

from __future__ import annotations

import os
import struct
from datetime import UTC, datetime
from types import TracebackType
from typing import BinaryIO

from fbsdetect.export.gsmtap import GSMTAP_PORT, gsmtap_packet
from fbsdetect.types import L2Frame

LINKTYPE_IPV4 = 228
SRC_PORT = 40000


def _ipv4_checksum(header: bytes) -> int:
    s = sum(struct.unpack(f">{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_udp(payload: bytes, dst_port: int = GSMTAP_PORT, src_port: int = SRC_PORT,
             src: bytes = b"\x7f\x00\x00\x01", dst: bytes = b"\x7f\x00\x00\x01") -> bytes:
    """An IPv4 datagram carrying `payload` in UDP."""
    udp = struct.pack(">HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, src, dst)
    hdr = hdr[:10] + struct.pack(">H", _ipv4_checksum(hdr)) + hdr[12:]
    return hdr + udp


def iso_time(time_unix_s: float) -> str:
    dt = datetime.fromtimestamp(time_unix_s, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def frame_comment(frame: L2Frame, time_unix_s: float, lat: float | None, lon: float | None) -> str:
    parts = [f"time={iso_time(time_unix_s)}"]
    if lat is not None and lon is not None:
        parts.append(f"lat={lat:.6f} lon={lon:.6f}")
    parts.append(f"arfcn={frame.arfcn} fn={frame.fn} channel={frame.channel}")
    return " ".join(parts)


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


class _Writer:
    def __init__(self, target: str | os.PathLike[str] | BinaryIO) -> None:
        if isinstance(target, str | os.PathLike):
            self._f: BinaryIO = open(target, "wb")
            self._own = True
        else:
            self._f = target
            self._own = False
        self.packets = 0

    def write_frame(self, frame: L2Frame, time_unix_s: float, lat: float | None = None,
                    lon: float | None = None) -> None:
        """One decoded frame as GSMTAP/UDP/IPv4, stamped `time_unix_s` (UTC)."""
        self.write_packet(ipv4_udp(gsmtap_packet(frame)), time_unix_s,
                          frame_comment(frame, time_unix_s, lat, lon))

    def write_packet(self, packet: bytes, time_unix_s: float, comment: str | None = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._f.flush()
        if self._own:
            self._f.close()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class PcapngWriter(_Writer):
    """pcapng file of GSMTAP packets with per-packet comments."""

    def __init__(self, target: str | os.PathLike[str] | BinaryIO,
                 application: str = "fbsdetect") -> None:
        super().__init__(target)
        opt = _pad4(application.encode())
        shb_opts = struct.pack("<HH", 4, len(application.encode())) + opt + struct.pack("<HH", 0, 0)
        body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + shb_opts
        self._block(0x0A0D0D0A, body)
        idb = struct.pack("<HHI", LINKTYPE_IPV4, 0, 0) + struct.pack("<HHB", 9, 1, 6) + b"\0\0\0"
        idb += struct.pack("<HH", 0, 0)
        self._block(0x00000001, idb)

    def _block(self, btype: int, body: bytes) -> None:
        total = 12 + len(body)
        self._f.write(struct.pack("<II", btype, total) + body + struct.pack("<I", total))

    def write_packet(self, packet: bytes, time_unix_s: float, comment: str | None = None) -> None:
        ts = round(time_unix_s * 1e6)
        body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(packet), len(packet))
        body += _pad4(packet)
        if comment:
            c = comment.encode("utf-8")
            body += struct.pack("<HH", 1, len(c)) + _pad4(c) + struct.pack("<HH", 0, 0)
        self._block(0x00000006, body)
        self.packets += 1


class PcapWriter(_Writer):
    """Classic pcap (microsecond timestamps); no comments."""

    def __init__(self, target: str | os.PathLike[str] | BinaryIO) -> None:
        super().__init__(target)
        self._f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_IPV4))

    def write_packet(self, packet: bytes, time_unix_s: float, comment: str | None = None) -> None:
        us = round(time_unix_s * 1e6)
        self._f.write(struct.pack("<IIII", us // 1_000_000, us % 1_000_000, len(packet), len(packet)))
        self._f.write(packet)
        self.packets += 1
