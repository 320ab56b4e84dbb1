"""systemd's notify protocol, by hand (no dependency): READY=1, STATUS=..., WATCHDOG=1
written to $NOTIFY_SOCKET (a datagram socket; '@' = the abstract namespace).
Outside systemd (no $NOTIFY_SOCKET) every call does nothing."""

from __future__ import annotations

import os
import socket
import time


class Notifier:
    def __init__(self) -> None:
        self.addr = os.environ.get("NOTIFY_SOCKET") or None
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        self.watchdog_s: float | None = None
        if usec and usec.isdigit() and (not pid or pid == str(os.getpid())):
            self.watchdog_s = int(usec) / 1e6
        self._last_ping = 0.0
        self.sent: list[str] = []  # what was sent (tests)

    def send(self, msg: str) -> bool:
        if not self.addr:
            return False
        addr = "\0" + self.addr[1:] if self.addr.startswith("@") else self.addr
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.connect(addr)
                s.sendall(msg.encode())
        except OSError:
            return False
        self.sent.append(msg)
        return True

    def ready(self, status: str = "") -> None:
        self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def watchdog(self) -> None:
        """WATCHDOG=1, at most every quarter of the watchdog period (called from the scan's
        progress, so a hung scan stops the pings and systemd restarts the node)."""
        if self.watchdog_s is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.watchdog_s / 4:
            self._last_ping = now
            self.send("WATCHDOG=1")
