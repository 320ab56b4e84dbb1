"""The one small interface every live IQ source implements (style.md 7:
sources only yield data).

A live source is something that can be tuned: the RTL-SDR dongle
(`sources/rtlsdr.py`), a dongle behind rtl_tcp (`sources/rtltcp.py`), a
recording replayed as one (`sources/replay.py`) and the scene simulator's
virtual dongle (`sources/sim.py`). Recordings are read through
`sources/recording.py`. `TunedSource` holds what they all share (the tuning
properties); `StreamedSource` what the two real dongles share (a bounded queue
of blocks from a reader thread, source time over a `SampleQueue`, reopening
with a back-off).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

RETUNE_SETTLE_S = 0.060
"""Samples a dongle delivers after a retune or rate change that are stale (they sit
in the driver's buffers) and are discarded; the simulated dongle skips as much
scene time (design.md)."""
FIRST_BACKOFF_S = 0.5
"""A lost dongle or server is reopened after this long, doubling up to a maximum."""


@runtime_checkable
class IqSource(Protocol):
    """A tunable source of complex baseband samples (complex64, about [-1, 1])."""

    @property
    def sample_rate_hz(self) -> float: ...

    @property
    def center_freq_hz(self) -> float: ...

    @property
    def gain_db(self) -> float | None: ...

    @property
    def time_s(self) -> float:
        """Source time of the next sample to be read, in seconds since the source started."""
        ...

    def tune(self, center_freq_hz: float) -> None:
        """Retunes; samples read afterwards are from the new frequency (stale ones discarded)."""
        ...

    def set_sample_rate(self, sample_rate_hz: float) -> None: ...

    def set_gain(self, gain_db: float | None) -> None:
        """Sets a manual gain in dB, or automatic gain with None."""
        ...

    def read(self, n_samples: int) -> np.ndarray:
        """The next `n_samples` samples as complex64."""
        ...

    def position(self) -> tuple[float, float] | None:
        """(lat, lon) of the receiver when the source knows it (the simulator does)."""
        ...

    def close(self) -> None: ...


class SampleQueue:
    """Samples that come in blocks (USB transfers, rendered segments) and are read
    in any sizes: what a block brings beyond a read waits for the next one, so
    the stream a caller reads has no gaps."""

    def __init__(self) -> None:
        self._q = np.zeros(0, np.complex64)

    @property
    def size(self) -> int:
        return int(self._q.size)

    def clear(self) -> None:
        self._q = np.zeros(0, np.complex64)

    def take(self, n_samples: int, produce: Callable[[int], np.ndarray]) -> np.ndarray:
        """The next `n_samples`: the queued ones, then blocks from `produce(missing)`."""
        if n_samples < 0:
            raise ValueError("n_samples must be >= 0")
        parts = [self._q]
        have = self._q.size
        while have < n_samples:
            block = produce(n_samples - have)
            parts.append(block)
            have += block.size
        both = np.concatenate(parts) if len(parts) > 1 else self._q
        out, self._q = both[:n_samples].copy(), both[n_samples:]
        return out


class TunedSource:
    """What every `IqSource` here shares: its tuning kept in `_rate`, `_freq` and `_gain`
    (set by the subclass) and shown as the protocol's properties; no position."""

    _rate: float
    _freq: float
    _gain: float | None

    @property
    def sample_rate_hz(self) -> float:
        return self._rate

    @property
    def center_freq_hz(self) -> float:
        return self._freq

    @property
    def gain_db(self) -> float | None:
        return self._gain

    def position(self) -> tuple[float, float] | None:
        return None  # a dongle knows no position; the scan pairs it with a GPS source


class Lost(Exception):
    """The device or server went away during a read (internal: triggers a reopen)."""


class StreamedSource(TunedSource):
    """A live dongle whose samples arrive in blocks from a reader thread (librtlsdr's async
    transfers, an rtl_tcp socket): the block queue, source time and reopening they share.

    - Blocks are queued, tagged with their tuning generation and source time, in a queue of at
      most `queue_blocks`; when the consumer is behind, new blocks are dropped and counted
      (`overflows`, `dropped_samples`) and `time_s` jumps over them.
    - Every retune, rate change or reopen bumps the generation (`_gen`): blocks of an older
      one are stale and dropped; `_skip` samples are dropped after a reopen (settling).
    - `time_s` counts every sample taken since the source was opened and settled.
    - `_back_off` retries a reopen, sleeping `FIRST_BACKOFF_S` doubling to `max_backoff_s`.

    A subclass sets `_rate` (and the tuning) before calling `_init_stream`, and provides
    `_produce(n_missing)` (the next block, reopening when lost)."""

    def _init_stream(self, queue_blocks: int, *, max_backoff_s: float,
                     sleep: Callable[[float], None]) -> None:
        self._max_backoff_s = max_backoff_s
        self._sleep = sleep
        self.overflows = 0  # blocks dropped because the consumer was behind
        self.dropped_samples = 0
        self._t_s = 0.0  # source time of the end of the samples taken
        self._t0 = 0.0
        self._cb_t = 0.0  # source time of the next sample the reader will deliver
        self._gen = 0  # bumped by every retune / rate change / reopen
        self._skip = 0  # samples still to drop after a reopen (settling)
        self._queue = SampleQueue()  # taken, not yet read
        self._blocks: queue.Queue[tuple[int, float, bytes]] = queue.Queue(maxsize=max(1, queue_blocks))
        self._lost = threading.Event()
        self._closing = False
        self._reader: threading.Thread | None = None
        self._stream_id = 0  # blocks of an abandoned stream are ignored

    def _settled(self, seconds: float) -> None:
        """After opening: drops `seconds` of samples and makes the next sample time 0."""
        self._discard(seconds)
        self._t0 = 0.0
        self._t0 = self.time_s

    @property
    def time_s(self) -> float:
        return self._t_s - self._queue.size / self._rate - self._t0

    def read(self, n_samples: int) -> np.ndarray:
        return self._queue.take(n_samples, self._produce)

    def _produce(self, n_missing: int) -> np.ndarray:
        raise NotImplementedError

    def _new_blocks(self) -> None:
        """An empty block queue of the same bound (a new stream)."""
        self._blocks = queue.Queue(maxsize=self._blocks.maxsize)

    def _queue_block(self, data: bytes) -> None:
        """The reader thread's: tag and queue a block without waiting (dropped and counted
        when the queue is full)."""
        n = len(data) // 2
        t = self._cb_t
        self._cb_t = t + n / self._rate
        try:
            self._blocks.put_nowait((self._gen, t, data))
        except queue.Full:
            self.overflows += 1
            self.dropped_samples += n

    def _take_block(self, stall_s: float | None = None) -> np.ndarray:
        """The next block of the current generation as complex64 (older ones are stale:
        dropped); `Lost` when the stream has ended, or delivered nothing for `stall_s`."""
        from fbsdetect.dsp.samples import to_complex64

        waited = 0.0
        while True:
            try:
                gen, t, data = self._blocks.get(timeout=0.05)
            except queue.Empty:
                if self._lost.is_set():
                    raise Lost(self._ended_reason) from None
                waited += 0.05
                if stall_s is not None and waited >= stall_s:
                    raise Lost(f"no samples for {stall_s:.0f} s") from None
                continue
            if gen != self._gen:
                continue
            iq = to_complex64(np.frombuffer(data, dtype=np.uint8), "cu8")
            self._t_s = t + iq.size / self._rate
            return iq

    _ended_reason = "the sample stream ended"

    def _drop_skipped(self, iq: np.ndarray) -> np.ndarray:
        """`iq` without the samples still to be skipped (settling after a reopen)."""
        if self._skip:
            k = min(self._skip, iq.size)
            self._skip -= k
            iq = iq[k:]
        return iq

    def _discard(self, seconds: float) -> None:
        """Drops what is queued (from before the change) and `seconds` of new samples."""
        self._queue.clear()
        self._queue.take(int(seconds * self._rate), self._produce)

    def _back_off(self, attempt: Callable[[float], None], errors: tuple[type[BaseException], ...], *,
                  timeout_s: float | None, not_back: Callable[[BaseException, float], None],
                  gave_up: str) -> float:
        """Calls `attempt(waited)` after sleeping `FIRST_BACKOFF_S`, doubling to
        `max_backoff_s`, until it raises none of `errors`; `not_back(exc, next_delay)` after
        each failure; NotAvailable(`gave_up`) once `timeout_s` have passed. Returns the time
        waited."""
        from fbsdetect.errors import NotAvailable

        delay, waited = FIRST_BACKOFF_S, 0.0
        while True:
            self._sleep(delay)
            waited += delay
            try:
                attempt(waited)
                return waited
            except errors as exc:
                not_back(exc, min(self._max_backoff_s, delay * 2))
                if timeout_s is not None and waited >= timeout_s:
                    raise NotAvailable(gave_up) from None
                delay = min(self._max_backoff_s, delay * 2)
