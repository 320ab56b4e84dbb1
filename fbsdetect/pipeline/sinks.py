"""Where decoded L2 frames go: a `FrameSink` takes one frame with its absolute
time (Unix seconds) and the receiver's position, and is closed at the end.
Adapters for the pcapng writer and the GSMTAP sender (`fbsdetect.export`) and
for any callable (the store's writer, a test), and `open_sinks` for the CLI
flags (a bad path or address is one line, exit 2, before any work)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from fbsdetect.i18n import _
from fbsdetect.types import L2Frame


class FrameSink(Protocol):
    def write(self, frame: L2Frame, time_unix_s: float, lat: float | None, lon: float | None) -> None: ...

    def close(self) -> None: ...


class PcapSink:
    """Frames into a pcapng file (GSMTAP in each packet, the position as a comment)."""

    def __init__(self, path: str) -> None:
        from fbsdetect.errors import BadInput
        from fbsdetect.export.pcap import PcapngWriter

        try:
            self._w = PcapngWriter(path)
        except OSError as exc:
            raise BadInput(_("cannot write pcap: {error}").format(error=exc.strerror), source=path) from None

    def write(self, frame: L2Frame, time_unix_s: float, lat: float | None, lon: float | None) -> None:
        self._w.write_frame(frame, time_unix_s, lat, lon)

    def close(self) -> None:
        self._w.close()


class GsmtapSink:
    """Frames as GSMTAP/UDP datagrams to HOST:PORT (Wireshark's live view)."""

    def __init__(self, address: str) -> None:
        from fbsdetect.errors import BadUsage
        from fbsdetect.export.gsmtap import GsmtapSender, parse_address

        try:
            host, port = parse_address(address)
        except ValueError as exc:
            raise BadUsage(_("--gsmtap {address!r}: {error}").format(address=address, error=exc)) from None
        self._s = GsmtapSender(host, port)

    def write(self, frame: L2Frame, time_unix_s: float, lat: float | None, lon: float | None) -> None:
        self._s.send(frame)

    def close(self) -> None:
        self._s.close()


class CallableSink:
    """Frames to a function `fn(frame, time_unix_s, lat, lon)` (the store's writer, a test)."""

    def __init__(self, fn: Callable[[L2Frame, float, float | None, float | None], Any],
                 close: Callable[[], Any] | None = None) -> None:
        self._fn, self._close = fn, close

    def write(self, frame: L2Frame, time_unix_s: float, lat: float | None, lon: float | None) -> None:
        self._fn(frame, time_unix_s, lat, lon)

    def close(self) -> None:
        if self._close is not None:
            self._close()


def open_sinks(*, pcap: str | None = None, gsmtap: str | None = None) -> list[FrameSink]:
    """The sinks the CLI flags ask for (each fails at once, before any decoding)."""
    sinks: list[FrameSink] = []
    try:
        if pcap:
            sinks.append(PcapSink(pcap))
        if gsmtap:
            sinks.append(GsmtapSink(gsmtap))
    except BaseException:
        close_all(sinks)
        raise
    return sinks


def emit(sinks: Iterable[FrameSink], frames: Iterable[L2Frame], t0_unix_s: float,
         lat: float | None = None, lon: float | None = None) -> None:
    """Every frame into every sink, at `t0_unix_s` plus the frame's own time."""
    sinks = list(sinks)
    for fr in frames:
        for s in sinks:
            s.write(fr, t0_unix_s + (fr.time_s or 0.0), lat, lon)


def close_all(sinks: Iterable[FrameSink]) -> None:
    for s in sinks:
        s.close()
