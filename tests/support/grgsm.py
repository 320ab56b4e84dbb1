"""Debian's gr-gsm as an independent decoder for tests.

Debian bookworm's `grgsm_decode` (gr-gsm 1.0.0~20220727) stops on GNU Radio
3.10 at ``pdu.socket_pdu`` (the block moved to ``gnuradio.network``), and it
binds its private GSMTAP loop-back socket to UDP 4729, which another program
may hold. `decode` therefore writes a patched copy of the installed script
into a temporary folder (the two `socket_pdu` calls point at
``network.socket_pdu`` and a free port) and runs that copy with Debian's
``/usr/bin/python3``; the decoder itself is untouched.

`grgsm_decode`'s input adaptor resamples without an anti-alias filter, so a
capture holding several carriers must first be split with gr-gsm's own
`grgsm_channelize` (rotator + polyphase resampler per ARFCN); `decode` does
that when `channelize=True`, `decode_channels` for several ARFCNs at once.
cu8/ci8 captures are converted to cf32 first, scaled as the project's
recording reader does ((u8 - 127.5) / 127.5, i8 / 128).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fbsdetect.sources.recording import to_complex64

SYSTEM_PYTHON = "/usr/bin/python3"
GRGSM_DECODE = "/usr/bin/grgsm_decode"
GRGSM_CHANNELIZE = "/usr/bin/grgsm_channelize"
_LINE = re.compile(r"^\s*(\d+)\s+(\d+):\s+((?:[0-9a-fA-F]{2}\s*){23})\s*$")


@dataclass(frozen=True)
class GrgsmFrame:
    fn: int  # frame number of the block's first burst, as gr-gsm prints it
    hex: str


def unavailable_reason() -> str | None:
    """None when gr-gsm can run here, else why not."""
    for p in (SYSTEM_PYTHON, GRGSM_DECODE, GRGSM_CHANNELIZE):
        if not os.path.exists(p):
            return f"{p} is not installed (Debian package gr-gsm; scripts/setup --system installs it)"
    r = subprocess.run([SYSTEM_PYTHON, "-c", "from gnuradio import gsm, network"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        return f"gr-gsm's Python modules do not import under {SYSTEM_PYTHON}: {last}"
    return None


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def patched_decoder(folder: Path, name: str = "grgsm_decode_gr310") -> Path:
    """A copy of /usr/bin/grgsm_decode that runs on GNU Radio 3.10 (see module docstring),
    with its own free loop-back port (so that copies can run side by side)."""
    src = Path(GRGSM_DECODE).read_text()
    n_calls = src.count("pdu.socket_pdu(")
    if n_calls != 2 or "from gnuradio import pdu\n" not in src:
        raise RuntimeError(f"{GRGSM_DECODE} is not the version this patch expects "
                           f"({n_calls} socket_pdu calls)")
    port = str(_free_udp_port())
    out = src.replace("from gnuradio import pdu\n",
                      "from gnuradio import pdu\nfrom gnuradio import network\n")
    out = out.replace("pdu.socket_pdu(", "network.socket_pdu(")
    out = out.replace('"127.0.0.1", "4729"', f'"127.0.0.1", "{port}"')
    if out.count(port) != 2:
        raise RuntimeError("could not move grgsm_decode's GSMTAP loop-back port")
    dst = folder / name
    dst.write_text(out)
    return dst


def to_cf32(src: Path, fmt: str, dst: Path, block: int = 1 << 22) -> None:
    """Converts a cu8/ci8 capture to gr-gsm's cfile (complex64), block by block,
    scaled as the project's recording reader does."""
    if fmt not in ("cu8", "ci8"):
        raise ValueError(f"unsupported format {fmt}")
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while chunk := fi.read(block):
            raw = np.frombuffer(chunk, np.uint8 if fmt == "cu8" else np.int8)
            fo.write(to_complex64(raw, fmt).tobytes())


def parse_output(text: str) -> list[GrgsmFrame]:
    out = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            out.append(GrgsmFrame(int(m.group(1)), m.group(3).replace(" ", "").lower()))
    return out


def _as_cfile(path: str | os.PathLike[str], fmt: str, folder: Path) -> Path:
    if fmt in ("cu8", "ci8"):
        cfile = folder / "capture.cf32"
        to_cf32(Path(path), fmt, cfile)
        return cfile
    if fmt not in ("cf32", "cf32_le"):
        raise ValueError(f"unsupported format {fmt}")
    return Path(path)


def _run_decoders(arg_lists: list[list[str]], timeout_s: float) -> list[list[GrgsmFrame]]:
    """Runs the decoders side by side (each is mostly one thread) and parses their output."""
    procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for a in arg_lists]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout_s)
        if proc.returncode != 0:
            raise RuntimeError(f"grgsm_decode failed ({proc.returncode}): {err[-2000:]}")
        results.append(parse_output(out))
    return results


def _decoder_args(folder: Path, name: str, mode: str, timeslot: int, ppm: float) -> list[str]:
    args = [SYSTEM_PYTHON, str(patched_decoder(folder, name)), "-m", mode, "-t", str(timeslot), "-v"]
    return [*args, "--ppm", str(ppm)] if ppm else args


def decode(path: str | os.PathLike[str], *, sample_rate_hz: float, center_freq_hz: float,
           fmt: str = "cf32", arfcn: int | None = None, freq_hz: float | None = None,
           channelize: bool = False, mode: str = "BCCH", timeslot: int = 0,
           ppm: float = 0.0, timeout_s: float = 300.0) -> list[GrgsmFrame]:
    """Runs gr-gsm on one carrier of a capture and returns the frames it prints.

    Without `channelize`, `grgsm_decode -c FILE -s RATE -f FREQ` is run on the
    capture as it is (one carrier in the capture). With it, the capture is
    first split by `grgsm_channelize` at ARFCN `arfcn` (see `decode_channels`).
    """
    if channelize:
        if arfcn is None:
            raise ValueError("channelize needs the ARFCN")
        return decode_channels(path, [arfcn], sample_rate_hz=sample_rate_hz,
                               center_freq_hz=center_freq_hz, fmt=fmt, mode=mode, timeslot=timeslot,
                               ppm=ppm, timeout_s=timeout_s)[arfcn]
    with tempfile.TemporaryDirectory(prefix="grgsm_") as tmp:
        t = Path(tmp)
        cfile = _as_cfile(path, fmt, t)
        f = freq_hz if freq_hz is not None else center_freq_hz
        args = [*_decoder_args(t, "grgsm_decode_gr310", mode, timeslot, ppm),
                "-c", str(cfile), "-s", repr(float(sample_rate_hz)), "-f", repr(float(f))]
        return _run_decoders([args], timeout_s)[0]


def decode_channels(path: str | os.PathLike[str], arfcns: list[int], *, sample_rate_hz: float,
                    center_freq_hz: float, fmt: str = "cf32", mode: str = "BCCH", timeslot: int = 0,
                    ppm: float = 0.0, timeout_s: float = 300.0) -> dict[int, list[GrgsmFrame]]:
    """gr-gsm on several carriers of one capture: one `grgsm_channelize` run splits
    it at the ARFCNs (to 1.2 MS/s, or the input rate if lower), then one
    `grgsm_decode -a ARFCN` per channel, run side by side."""
    with tempfile.TemporaryDirectory(prefix="grgsm_") as tmp:
        t = Path(tmp)
        cfile = _as_cfile(path, fmt, t)
        out_rate = 1.2e6 if sample_rate_hz >= 1.2e6 else sample_rate_hz
        (t / "chans").mkdir()
        r = subprocess.run(
            [SYSTEM_PYTHON, GRGSM_CHANNELIZE, "-s", repr(float(sample_rate_hz)), "-f",
             repr(float(center_freq_hz)), "-o", repr(out_rate), "-t", "complex", "-i", str(cfile),
             "-d", str(t / "chans"), *map(str, arfcns)],
            capture_output=True, text=True, timeout=timeout_s)
        chans = [t / "chans" / f"out_{a}.cfile" for a in arfcns]
        if r.returncode != 0 or not all(c.exists() for c in chans):
            raise RuntimeError(f"grgsm_channelize failed ({r.returncode}): {r.stderr[-2000:]}")
        frames = _run_decoders([[*_decoder_args(t, f"grgsm_decode_{a}", mode, timeslot, ppm),
                                 "-c", str(c), "-s", repr(out_rate), "-a", str(a)]
                                for a, c in zip(arfcns, chans, strict=True)], timeout_s)
        return dict(zip(arfcns, frames, strict=True))


def have_program(name: str) -> bool:
    return shutil.which(name) is not None or os.path.exists(f"/usr/bin/{name}")
