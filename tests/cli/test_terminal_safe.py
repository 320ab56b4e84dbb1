"""Text a fake cell sent never drives the investigator's terminal (review, session 4, #23): an SMS with
ESC sequences (clear the screen, hide text, retitle the window) or bidi overrides, quoted in a finding's
evidence, is printed with its control characters as visible escapes; the stored and JSON texts are exact."""

from __future__ import annotations

import io

from fbsdetect.cli.detections import human
from fbsdetect.scan.view import LogView
from fbsdetect.terminal import printable, rich_printable

NASTY = ("Dear customer \x1b[2J\x1b[H\x1b]0;fbsdetect: no detections\x07 verify at http://x.cn "
         "\u202egnp.exe\u202c\n- fake-rule forged line \x9b31m")


def _assert_inert(out: str) -> None:
    bad = [c for c in out
           if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 or "\u202a" <= c <= "\u202e"]
    assert not bad, repr(out)


def test_printable_shows_controls_as_escapes() -> None:
    p = printable(NASTY)
    _assert_inert(p)
    assert "\n" not in p and "\\u001b[2J" in p and "\\u202e" in p and "\\u009b" in p
    assert printable("伪基站 短信 95588") == "伪基站 短信 95588"  # ordinary text, Chinese included, unchanged
    assert rich_printable("[bold red]x[/]") == "\\[bold red]x\\[/]"


def test_detections_listing_and_scan_log_print_no_control_character() -> None:
    d = {"id": 1, "severity": "high", "score": 0.9, "cell": {"arfcn": 62, "bsic": 35, "mcc": 460, "mnc": 0,
                                                           "lac": 1, "cid": 2},
         "rules": [{"id": "sms-unciphered", "score": 0.67, "evidence": f'e.g. from 95533: "{NASTY}"'}],
         "first_seen": "2026-03-01T10:00:00.000Z", "last_seen": "2026-03-01T10:05:00.000Z", "observations": 3,
         "sensors": ["s1"], "position": None,
         "sms": [{"time": "2026-03-01T10:01:00.000Z", "sender": "95533\x1b[8m", "text": NASTY}]}
    out = human(d)
    _assert_inert(out)
    assert len(out.splitlines()) == 5  # identity, seen, position, one rule, one SMS: no forged line
    buf = io.StringIO()
    LogView(stream=buf).log(f"ALERT ARFCN 62 [high] {NASTY}")
    _assert_inert(buf.getvalue())
    assert buf.getvalue().count("\n") == 1
