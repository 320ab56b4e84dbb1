"""System Information and CCCH messages (TS 44.018): one module per message
type with a pure `parse` and a `build`, plus a dispatch table on the RR
message type (`parse_any`) and the cell-level view (`cell`).

What is hand-written and what uses pycrate (each module docstring says why):

    bits, freqlist, common     hand-written (pycrate has no frequency-list
                               encoder, and its decoder returns [] for most
                               1024-range, 512-range and variable bit map lists)
    si1, si2 (+2bis), si2ter,  hand-written fixed layouts and short linear rest
    si3, si4, paging,          octets: 10-700x faster than pycrate on the
    immediate_assignment       frames parsed most often (bench/bench_sysinfo.py)
    si2quater, si13            parse: pycrate CSN.1 decoder walked by field name
                               (deep CSN.1); build: hand-written bit writer

Every parser is checked field by field against tshark on all real frames of
the shared data, every builder's output is dissected by tshark without
warnings and re-encoded byte-identically by pycrate (tests/sysinfo)."""

from fbsdetect.sysinfo.common import L2Fill, Malformed, Unsupported
from fbsdetect.sysinfo.dispatch import Message, Outcome, parse_any, si_key

__all__ = ["L2Fill", "Malformed", "Message", "Outcome", "Unsupported", "parse_any", "si_key"]
