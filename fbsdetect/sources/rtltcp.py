"""An `rtl_tcp` server as an `IqSource` (`rtltcp:HOST:PORT`).

The protocol, as osmocom rtl-sdr's `src/rtl_tcp.c` speaks it:

- On connect the server sends a 12-byte header, `dongle_info_t`: the magic
  `b"RTL0"`, then the tuner type and the tuner's gain count, each a big-endian
  uint32 (tuner types as librtlsdr's enum: 1 E4000, 2 FC0012, 3 FC0013,
  4 FC2580, 5 R820T, 6 R828D).
- Then an endless stream of interleaved unsigned 8-bit I/Q bytes (cu8).
- The client sends 5-byte commands: one command byte, then a big-endian
  uint32 parameter: 0x01 centre frequency (Hz), 0x02 sample rate (Hz), 0x03
  gain mode (0 automatic, 1 manual), 0x04 tuner gain (tenths of dB), 0x05
  frequency correction (ppm, signed), 0x08 RTL2832 AGC (0/1), 0x0d gain by
  index, 0x0e bias tee (0/1).

The server cannot say which gains its tuner accepts, only how many; manual
gains are snapped to librtlsdr's table for the tuner type it reports (R820T/
R828D, E4000), else sent as asked.

A reader thread drains the socket into a bounded queue of blocks
(`queue_blocks` x `BLOCK_BYTES`); when decoding falls behind, blocks are
dropped and counted (`overflows`, `dropped_samples`) and `time_s` jumps over
them (rtl_tcp itself would otherwise buffer without bound). After a retune or
a rate change, everything received before the command was sent is stale and
dropped, and so is `RETUNE_SETTLE_S` plus what the socket buffers may still
hold of the old frequency (the receive buffer's size in samples; on a LAN
with a client that keeps up, little). A lost connection (reset, EOF, or
nothing for `STALL_S`) is reconnected with a back-off (0.5 s doubling to
`max_backoff_s`), every setting re-sent, counted in `reconnects`; the outage
counts as source time. rtl_tcp serves one client at a time.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Callable

import numpy as np

from fbsdetect.errors import NotAvailable
from fbsdetect.i18n import _
from fbsdetect.sources.base import RETUNE_SETTLE_S, Lost, StreamedSource
from fbsdetect.sources.rtlsdr import (
    DEFAULT_SAMPLE_RATE_HZ,
    MAX_BACKOFF_S,
    QUEUE_BLOCKS,
    TUNER_NAMES,
    check_frequency,
    check_sample_rate,
)

log = logging.getLogger(__name__)

MAGIC = b"RTL0"
HEADER = struct.Struct(">4sII")
COMMAND = struct.Struct(">BI")
CMD_FREQ, CMD_RATE, CMD_GAIN_MODE, CMD_GAIN, CMD_PPM = 0x01, 0x02, 0x03, 0x04, 0x05
CMD_AGC, CMD_GAIN_INDEX, CMD_BIAS_TEE = 0x08, 0x0D, 0x0E
BLOCK_BYTES = 2 * 16384
CONNECT_TIMEOUT_S = 5.0
STALL_S = 3.0

# librtlsdr's tuner gain tables (tenths of dB)
R82XX_GAINS = (0, 9, 14, 27, 37, 77, 87, 125, 144, 157, 166, 197, 207, 229, 254, 280, 297, 328,
               338, 364, 372, 386, 402, 421, 434, 439, 445, 480, 496)
E4K_GAINS = (-10, 15, 40, 65, 90, 115, 140, 165, 190, 215, 240, 290, 340, 420)
TUNER_GAINS = {1: E4K_GAINS, 5: R82XX_GAINS, 6: R82XX_GAINS}


class RtlTcpSource(StreamedSource):
    """A dongle behind rtl_tcp (module docstring)."""

    exhausted = False
    serial: str | None = None  # rtl_tcp does not tell the dongle's serial

    def __init__(self, host: str = "127.0.0.1", port: int = 1234, *,
                 sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ, center_freq_hz: float = 947.4e6,
                 gain_db: float | None = None, ppm: int = 0, bias_tee: bool = False, agc: bool = False,
                 queue_blocks: int = QUEUE_BLOCKS, max_backoff_s: float = MAX_BACKOFF_S,
                 reconnect_timeout_s: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.host, self.port = host, int(port)
        self.name = f"rtltcp:{host}:{port}"
        self._rate = check_sample_rate(sample_rate_hz)
        self._freq = check_frequency(center_freq_hz)
        self._gain: float | None = gain_db
        self._ppm = int(ppm)
        self._bias_tee = bool(bias_tee)
        self._agc = bool(agc)
        self._reconnect_timeout_s = reconnect_timeout_s
        self.reconnects = 0
        self.tuner = "unknown"
        self.gain_count = 0
        self._tuner_type = 0
        self._init_stream(queue_blocks, max_backoff_s=max_backoff_s, sleep=sleep)
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._rcvbuf = 0
        try:
            self._connect()
        except OSError as exc:
            raise NotAvailable(_("cannot reach rtl_tcp at {host}:{port}: {error} (is rtl_tcp running there, "
                                "started with -a 0.0.0.0 for remote clients?)").format(
                host=host, port=port, error=exc)) from None
        self._settled(RETUNE_SETTLE_S)

    # -- IqSource (the tuning properties, time_s, read, position: StreamedSource) --
    @property
    def stats(self) -> dict[str, int]:
        return {"reconnects": self.reconnects, "overflows": self.overflows,
                "dropped_samples": self.dropped_samples}

    def tune(self, center_freq_hz: float) -> None:
        self._freq = check_frequency(center_freq_hz)
        self._gen += 1
        self._command(CMD_FREQ, round(self._freq))
        self._discard(self._stale_s())

    def set_sample_rate(self, sample_rate_hz: float) -> None:
        rate = check_sample_rate(sample_rate_hz)
        self._queue.clear()
        self._gen += 1
        self._rate = rate
        self._command(CMD_RATE, round(rate))
        self._discard(self._stale_s())

    def set_gain(self, gain_db: float | None) -> None:
        self._gain = gain_db
        for cmd, value in self._gain_commands():
            self._command(cmd, value)

    def close(self) -> None:
        self._closing = True
        self._disconnect()

    # -- protocol ----------------------------------------------------------------
    def _gain_commands(self) -> list[tuple[int, int]]:
        if self._gain is None:
            return [(CMD_GAIN_MODE, 0)]
        table = TUNER_GAINS.get(self._tuner_type)
        tenths = round(self._gain * 10)
        if table:
            tenths = min(table, key=lambda g: abs(g - tenths))
            self._gain = tenths / 10
        return [(CMD_GAIN_MODE, 1), (CMD_GAIN, tenths & 0xFFFFFFFF)]

    def _settings(self) -> list[tuple[int, int]]:
        cmds = [(CMD_RATE, round(self._rate)), (CMD_FREQ, round(self._freq))]
        if self._ppm:
            cmds.append((CMD_PPM, self._ppm & 0xFFFFFFFF))
        cmds += self._gain_commands()
        cmds.append((CMD_AGC, int(self._agc)))
        if self._bias_tee:
            cmds.append((CMD_BIAS_TEE, 1))
        return cmds

    def _command(self, cmd: int, value: int) -> None:
        sock = self._sock
        try:
            if sock is None:
                raise OSError("not connected")
            with self._send_lock:
                sock.sendall(COMMAND.pack(cmd, value))
        except OSError as exc:
            if self._closing:
                return
            log.warning("%s: command 0x%02x failed (%s); reconnecting", self.name, cmd, exc)
            self._reconnect()  # re-sends every setting, this one included

    def _connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT_S)
        try:
            header = b""
            while len(header) < HEADER.size:
                chunk = sock.recv(HEADER.size - len(header))
                if not chunk:
                    raise OSError("closed before the RTL0 header")
                header += chunk
            magic, tuner, gains = HEADER.unpack(header)
            if magic != MAGIC:
                raise OSError(f"not an rtl_tcp server (header {header[:4]!r}, expected b'RTL0')")
            self._tuner_type, self.gain_count = int(tuner), int(gains)
            self.tuner = TUNER_NAMES.get(self._tuner_type, "unknown")
            sock.settimeout(0.25)
            self._rcvbuf = int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
            self._sock = sock
            for cmd, value in self._settings():
                sock.sendall(COMMAND.pack(cmd, value))
        except BaseException:
            sock.close()
            self._sock = None
            raise
        self._lost.clear()
        self._stream_id += 1
        self._reader = threading.Thread(target=self._reader_main, args=(sock, self._stream_id),
                                        name=self.name, daemon=True)
        self._reader.start()

    def _disconnect(self) -> None:
        sock, self._sock = self._sock, None
        self._stream_id += 1  # whatever the old reader still delivers is ignored
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        reader, self._reader = self._reader, None
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=1.0)

    def _reader_main(self, sock: socket.socket, stream_id: int) -> None:
        carry = b""
        idle = 0.0
        try:
            while stream_id == self._stream_id:
                try:
                    chunk = sock.recv(BLOCK_BYTES)
                except TimeoutError:
                    idle += 0.25
                    if idle >= STALL_S:
                        raise OSError(f"no samples for {STALL_S:.0f} s") from None
                    continue
                if not chunk:
                    raise OSError("the server closed the connection")
                idle = 0.0
                data = carry + chunk
                if len(data) & 1:
                    data, carry = data[:-1], data[-1:]
                else:
                    carry = b""
                if data and stream_id == self._stream_id:
                    self._queue_block(data)
        except OSError as exc:
            if stream_id == self._stream_id and not self._closing:
                log.warning("%s: %s", self.name, exc)
        finally:
            if stream_id == self._stream_id:
                self._lost.set()

    # -- samples -----------------------------------------------------------------
    def _stale_s(self) -> float:
        """Settling plus what the socket's receive buffer can still hold of the old tuning."""
        return RETUNE_SETTLE_S + self._rcvbuf / 2 / self._rate

    _ended_reason = "connection lost"

    def _produce(self, _n_missing: int) -> np.ndarray:
        while True:
            try:
                iq = self._take_block()   # a stall is the reader thread's to notice
            except Lost as lost:
                if self._closing:
                    raise NotAvailable(_("{name}: the source is closed").format(name=self.name)) from None
                log.warning("%s lost (%s); reconnecting", self.name, lost)
                self._reconnect()
                continue
            if self._skip:
                iq = self._drop_skipped(iq)
                if not iq.size:
                    continue
            return iq

    def _reconnect(self) -> None:
        self._disconnect()
        self._queue.clear()
        base_t = max(self._t_s, self._cb_t)

        def attempt(waited: float) -> None:
            self._gen += 1
            self._new_blocks()
            self._cb_t = base_t + waited
            self._connect()

        def not_back(exc: BaseException, _next_delay_s: float) -> None:
            log.info("%s not back yet (%s)", self.name, exc)

        timeout = self._reconnect_timeout_s
        waited = self._back_off(attempt, (OSError,), timeout_s=timeout, not_back=not_back,
                                gave_up=f"{self.name}: connection lost and not back within "
                                        f"{timeout or 0:.0f} s")
        self.reconnects += 1
        self._t_s = self._cb_t
        self._skip = int(self._stale_s() * self._rate)
        log.warning("%s reconnected after %.1f s", self.name, waited)
