"""Text from the air, made safe to print on an investigator's terminal.

A fake base station chooses the SMS it sends, its sender and, through them, parts of
the findings that quote them. Printed raw, control characters in that text drive the
terminal: ESC sequences hide text, clear the screen, rewrite the lines above (a HIGH
detection) or retitle the window; bidirectional overrides reorder what is read. Every
plain-text output that can carry received text passes it through `printable`: C0 and
C1 controls (newlines included: a received line break could forge a line of output)
and the bidi controls become visible `\\uXXXX` escapes. The exact text stays in the
database, the JSON output (escaped there by JSON itself) and sms.json.
"""

from __future__ import annotations

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_TABLE = {c: f"\\u{c:04x}" for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI)}


def printable(text: object) -> str:
    """`text` (str() of it) with every terminal control character shown as a `\\uXXXX` escape."""
    return str(text).translate(_TABLE)


def rich_printable(text: object) -> str:
    """`printable`, and rich's markup escaped (the live view renders `[...]` as style and links)."""
    from rich.markup import escape

    return escape(printable(text))
