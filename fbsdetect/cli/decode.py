"""`fbsdetect decode RECORDING`: every GSM carrier in a recording, one cell
observation per cell."""

from __future__ import annotations

import argparse

from fbsdetect.cli._common import not_built

NAME = "decode"
HELP = "decode every GSM carrier in a recording (SigMF or raw cu8/ci8/cf32)"


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", metavar="RECORDING",
                   help="SigMF file (meta or data) or raw .cu8/.cs8/.ci8/.cfile/.cf32")
    p.add_argument("--rate", type=float, metavar="HZ", help="sample rate of a raw recording")
    p.add_argument("--freq", type=float, metavar="HZ", help="centre frequency of a raw recording")
    p.add_argument("--format", choices=("cu8", "ci8", "cs8", "cf32", "cfile", "ci16"),
                   help="sample format of a raw recording (default: from the file name)")
    p.add_argument("--json", action="store_true", help="one JSON cell observation per line")
    p.add_argument("--frames", action="store_true",
                   help="print every decoded L2 frame as a JSON line instead of cells")
    p.add_argument("--pcap", metavar="FILE", help="also write every decoded frame as GSMTAP (pcapng)")
    p.add_argument("--gsmtap", metavar="HOST:PORT", help="also stream decoded frames as GSMTAP/UDP")


def run(args: argparse.Namespace) -> int:
    from fbsdetect.sources.recording import inspect

    inspect(args.recording, sample_rate_hz=args.rate, center_freq_hz=args.freq, fmt=args.format)
    raise not_built(NAME, "receiver")
