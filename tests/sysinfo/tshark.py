"""Run tshark on frames wrapped in GSMTAP (our pcapng writer) and collect,
per packet, every dissected field's shown value (PDML), so tests compare our
parsers with Wireshark's field by field. Batched: one tshark run per call."""

from __future__ import annotations

import builtins
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fbsdetect.export.pcap import PcapngWriter
from fbsdetect.types import L2Frame


@dataclass
class Dissected:
    fields: dict[str, list[str]] = field(default_factory=dict)
    shownames: dict[str, list[str]] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    protos: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # expert infos above "Comment"

    def one(self, name: str) -> str:
        vals = self.fields.get(name, [])
        assert len(vals) == 1, f"{name}: {vals}"
        return vals[0]

    def int(self, name: str) -> builtins.int:  # (this method shadows `int` in the class body)
        v = self.one(name)
        return int(v, 16) if v.startswith("0x") else int(v)

    def ints(self, name: str) -> list[builtins.int]:
        return [int(v, 16) if v.startswith("0x") else int(v) for v in self.fields.get(name, [])]

    def arfcn_lists(self) -> list[list[builtins.int]]:
        out = []
        for s in self.shownames.get("gsm_a.rr.arfcn_list", []):
            _, _, nums = s.partition("=")
            out.append(sorted(int(x) for x in nums.split()))
        return out


def dissect(tshark: str, frames: Sequence[bytes], channel: str = "BCCH") -> list[Dissected]:
    """Each frame wrapped in GSMTAP (our pcapng writer), dissected by tshark."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frames.pcapng"
        with PcapngWriter(path) as w:
            for i, frame in enumerate(frames):
                w.write_frame(L2Frame(1, i, 0, channel, bytes(frame)), 1.7e9 + i)
        result = dissect_file(tshark, path)
    assert len(result) == len(frames)
    return result


def dissect_file(tshark: str, path: Path) -> list[Dissected]:
    """Every packet of a capture file as tshark dissects it (one PDML run)."""
    out = subprocess.run([tshark, "-n", "-r", str(path), "-T", "pdml"], capture_output=True,
                         check=True, timeout=120).stdout
    root = ET.fromstring(out)
    result = []
    for pkt in root.iter("packet"):
        d = Dissected()
        for proto in pkt.iter("proto"):
            d.protos.append(proto.get("name", ""))
        for f in pkt.iter("field"):
            name = f.get("name", "")
            show = f.get("show", "")
            if name:
                d.fields.setdefault(name, []).append(show)
                d.shownames.setdefault(name, []).append(f.get("showname", ""))
            else:
                d.texts.append(show)
            if name == "_ws.expert.severity" and int(show) > 1048576:  # above Comment
                d.warnings.append(f.get("showname", ""))
            if name == "_ws.malformed":
                d.warnings.append("malformed")
        result.append(d)
    return result
