"""rtltcp:HOST:PORT against a small fake rtl_tcp server on 127.0.0.1 that speaks
rtl_tcp's protocol (12-byte RTL0 header, 5-byte big-endian commands, a cu8 stream).
Its samples: I = a running counter (mod 256), Q = the MHz (mod 256) it was tuned to."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator

import numpy as np
import pytest

from fbsdetect.errors import NotAvailable
from fbsdetect.sources.base import IqSource
from fbsdetect.sources.open import open_source
from fbsdetect.sources.rtltcp import RtlTcpSource

RATE = 1_000_000.0


class FakeRtlTcp:
    def __init__(self, tuner: int = 5, gains: int = 29, magic: bytes = b"RTL0") -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.header = struct.pack(">4sII", magic, tuner, gains)
        self.connections: list[list[tuple[int, int]]] = []  # commands, per connection
        self.freq = 100_000_000
        self.rate = 2_048_000
        self._client: socket.socket | None = None
        self._stop = threading.Event()
        self.paused = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            cmds: list[tuple[int, int]] = []
            self.connections.append(cmds)
            self._client = conn
            conn.sendall(self.header)
            threading.Thread(target=self._commands, args=(conn, cmds), daemon=True).start()
            self._stream(conn)

    def _commands(self, conn: socket.socket, cmds: list[tuple[int, int]]) -> None:
        buf = b""
        while True:
            try:
                chunk = conn.recv(64)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 5:
                cmd, value = struct.unpack(">BI", buf[:5])
                buf = buf[5:]
                cmds.append((cmd, value))
                if cmd == 0x01:
                    self.freq = value
                elif cmd == 0x02:
                    self.rate = value

    def _stream(self, conn: socket.socket) -> None:
        counter, pending = 0, deque[bytes]()
        n = 8192
        while not self._stop.is_set():
            if self.paused.is_set():
                time.sleep(0.01)
                continue
            i = (np.arange(counter, counter + n) % 256).astype(np.uint8)
            counter += n
            q = np.full(n, (self.freq // 1_000_000) % 256, np.uint8)
            pending.append(np.stack([i, q], axis=1).tobytes())
            if len(pending) > 2:  # two blocks in rtl_tcp's own buffers
                try:
                    conn.sendall(pending.popleft())
                except OSError:
                    return
            time.sleep(n / max(self.rate, 1))

    def drop_client(self) -> None:
        if self._client is not None:
            try:
                self._client.shutdown(socket.SHUT_RDWR)  # a FIN even while a thread sits in recv()
            except OSError:
                pass
            self._client.close()

    def stop(self) -> None:
        self._stop.set()
        self.drop_client()
        self.listener.close()


@pytest.fixture
def server() -> Iterator[FakeRtlTcp]:
    s = FakeRtlTcp()
    yield s
    s.stop()


def tags(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.rint(x.real * 127.5 + 127.5).astype(int), np.rint(x.imag * 127.5 + 127.5).astype(int)


def test_header_settings_and_a_contiguous_stream(server: FakeRtlTcp) -> None:
    src = open_source(f"rtltcp:127.0.0.1:{server.port},bias-tee,ppm=-3", sample_rate_hz=RATE,
                      center_freq_hz=939e6, gain_db=20.0)
    try:
        assert isinstance(src, IqSource) and isinstance(src, RtlTcpSource)
        assert src.tuner == "R820T" and src.gain_count == 29 and src.gain_db == 19.7
        assert src.serial is None and not src.exhausted
        cmds = server.connections[0]
        assert cmds[:2] == [(0x02, 1_000_000), (0x01, 939_000_000)]
        assert (0x05, (-3) & 0xFFFFFFFF) in cmds and (0x03, 1) in cmds and (0x04, 197) in cmds
        assert (0x08, 0) in cmds and (0x0E, 1) in cmds
        assert src.time_s == 0.0
        x = np.concatenate([src.read(30_000), src.read(7), src.read(40_000)])
        i, q = tags(x)
        assert np.all(np.diff(i) % 256 == 1) and np.all(q == 939 % 256)
        assert src.time_s == pytest.approx(x.size / RATE) and src.overflows == 0
        src.set_gain(None)
        time.sleep(0.05)
        assert server.connections[0][-1] == (0x03, 0)
    finally:
        src.close()


def test_retune_discards_stale_samples(server: FakeRtlTcp) -> None:
    src = RtlTcpSource("127.0.0.1", server.port, sample_rate_hz=RATE, center_freq_hz=939e6)
    try:
        src.read(20_000)
        src.tune(951.2e6)
        assert (0x01, 951_200_000) in server.connections[0]
        _, q = tags(src.read(50_000))
        assert np.all(q == 951 % 256)
    finally:
        src.close()


def test_overflow_when_decoding_is_slow(server: FakeRtlTcp) -> None:
    src = RtlTcpSource("127.0.0.1", server.port, sample_rate_hz=RATE, queue_blocks=2)
    try:
        n = src.read(10_000).size
        lag0 = src.time_s * RATE - n
        time.sleep(0.3)  # ~300 000 samples arrive, two blocks fit
        n += src.read(100_000).size
        assert src.overflows > 0
        assert src.time_s * RATE - n - lag0 == pytest.approx(src.dropped_samples, abs=1.0)
    finally:
        src.close()


def test_reconnects_and_resends_the_settings(server: FakeRtlTcp) -> None:
    src = RtlTcpSource("127.0.0.1", server.port, sample_rate_hz=RATE, center_freq_hz=939e6,
                       gain_db=30.0, sleep=lambda s: time.sleep(0.01))
    try:
        src.read(10_000)
        server.drop_client()
        x = src.read(100_000)
        assert x.size == 100_000 and src.reconnects == 1
        assert len(server.connections) == 2
        assert server.connections[1][:2] == [(0x02, 1_000_000), (0x01, 939_000_000)]
        assert (0x04, 297) in server.connections[1]
        _, q = tags(x[-20_000:])
        assert np.all(q == 939 % 256)
    finally:
        src.close()


def test_not_an_rtl_tcp_server() -> None:
    s = FakeRtlTcp(magic=b"HTTP")
    try:
        with pytest.raises(NotAvailable, match="RTL0"):
            RtlTcpSource("127.0.0.1", s.port, sample_rate_hz=RATE)
    finally:
        s.stop()


def test_nothing_listening_is_not_available() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(NotAvailable, match="cannot reach rtl_tcp"):
        RtlTcpSource("127.0.0.1", port)


def test_a_stalled_server_is_reconnected(server: FakeRtlTcp, monkeypatch: pytest.MonkeyPatch) -> None:
    import fbsdetect.sources.rtltcp as mod

    monkeypatch.setattr(mod, "STALL_S", 0.3)
    src = RtlTcpSource("127.0.0.1", server.port, sample_rate_hz=RATE, sleep=lambda s: time.sleep(0.01))
    try:
        src.read(10_000)
        server.paused.set()  # the server stops sending but keeps the connection
        threading.Timer(0.5, server.paused.clear).start()
        threading.Timer(0.45, server.drop_client).start()  # (rtl_tcp serves one client: free it)
        assert src.read(50_000).size == 50_000 and src.reconnects >= 1
    finally:
        src.close()
