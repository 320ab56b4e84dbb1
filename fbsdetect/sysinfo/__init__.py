"""System Information and CCCH messages (TS 44.018): one module per message
type with a pure `parse` and a `build`, plus a dispatch table on the RR
message type and GSMTAP output."""

from fbsdetect.sysinfo.common import L2Fill, Malformed, Unsupported
from fbsdetect.sysinfo.dispatch import Message, Outcome, parse_any, si_key

__all__ = ["L2Fill", "Malformed", "Message", "Outcome", "Unsupported", "parse_any", "si_key"]
