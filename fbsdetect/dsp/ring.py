"""A bounded look-back over a sample stream: the last `capacity` samples in
a circular buffer, addressed by absolute sample index, read as a
`dsp.channelizer.Reader` (windows gathered at once, zero outside what is
kept; reads of samples already dropped are counted as `stale_reads`, reads
past the newest sample as `reads_ahead`).

Samples are complex64, or, for 8-bit formats (`cu8`, `ci8`), the raw I/Q byte
pairs as 16-bit words converted on reading through a table of all 65536 pairs
(`samples.to_complex64`'s scaling): a stream is then copied once as 2 bytes a
sample and only the windows read are converted, as `recording_reader` does.
Non-finite complex samples (a damaged float recording) read as 0.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from fbsdetect.dsp.samples import to_complex64

ComplexArray = npt.NDArray[np.complex64]


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


def _finite(x: ComplexArray) -> ComplexArray:
    if x.size and not np.isfinite(x).all():
        x = np.where(np.isfinite(x), x, np.complex64(0)).astype(np.complex64)
    return x


class SampleRing:
    def __init__(self, capacity: int, datatype: str | None = None) -> None:
        self.capacity = max(1, int(capacity))
        self.datatype = datatype
        self._table: ComplexArray | None = None
        if datatype in ("cu8", "ci8"):
            v = np.arange(1 << 16, dtype=np.uint16).view(np.uint8)
            self._table = to_complex64(v.view(np.uint8 if datatype == "cu8" else np.int8), datatype)
            self._buf: np.ndarray = np.zeros(self.capacity, np.uint16)
        else:
            self._buf = np.zeros(self.capacity, np.complex64)
        self.end = 0  # absolute index of the next sample
        self.valid_from = 0  # samples before this were skipped (`skip`) or dropped
        self.stale_reads = 0
        self.reads_ahead = 0

    @property
    def lo(self) -> int:
        """Absolute index of the oldest sample kept."""
        return max(0, self.end - self.capacity, self.valid_from)

    def skip(self, n: int) -> None:
        """Moves past `n` samples nobody will read (a recording seeked forward):
        they, and everything before, read as zeros."""
        self.end += max(0, int(n))
        self.valid_from = self.end

    def push(self, x: np.ndarray) -> int:
        """Appends samples (complex64; raw interleaved bytes for cu8/ci8); returns how many."""
        if self._table is not None:
            raw = np.ascontiguousarray(x).reshape(-1)
            x = raw[: raw.size & ~1].view(np.uint16)
        else:
            x = np.asarray(x, dtype=np.complex64).reshape(-1)
        n = x.size
        if n >= self.capacity:
            x = x[n - self.capacity:]
            a = (self.end + n - self.capacity) % self.capacity
            self._buf[a:] = x[: self.capacity - a]
            self._buf[: a] = x[self.capacity - a:]
        elif n:
            a = self.end % self.capacity
            m = min(n, self.capacity - a)
            self._buf[a:a + m] = x[:m]
            self._buf[: n - m] = x[m:]
        self.end += n
        return n

    def push_from(self, f: Readable, n: int) -> int:
        """Appends up to `n` samples read from the binary file `f` (raw bytes in
        the buffer's layout: 8-bit pairs, or complex64) straight into the
        buffer; returns how many (fewer at the end of the file)."""
        got = 0
        n = min(int(n), self.capacity)
        while got < n:
            a = self.end % self.capacity
            m = min(n - got, self.capacity - a)
            view = memoryview(self._buf[a:a + m]).cast("B")  # type: ignore[arg-type]
            k = 0
            while k < len(view):
                r = f.readinto(view[k:])
                if not r:
                    break
                k += r
            whole = k // self._buf.itemsize
            self.end += whole
            got += whole
            if whole < m:
                break
        return got

    def zeros(self, n: int) -> None:
        """Appends `n` zero samples (a gap the source dropped)."""
        z = np.zeros(min(int(n), self.capacity), self._buf.dtype)
        if self._table is not None and self.datatype == "cu8":
            z[:] = 0x8080  # (128, 128): ~0 after the cu8 offset
        left = int(n)
        while left > 0:
            k = min(left, z.size)
            self._push_raw(z[:k])
            left -= k

    def _push_raw(self, x: np.ndarray) -> None:
        n = x.size
        a = self.end % self.capacity
        m = min(n, self.capacity - a)
        self._buf[a:a + m] = x[:m]
        self._buf[: n - m] = x[m:]
        self.end += n

    def _convert(self, v: np.ndarray) -> ComplexArray:
        """Samples of the buffer's `v` (a copy of it, never a view of the buffer)."""
        if self._table is not None:
            return self._table[v]
        return _finite(np.asarray(v, dtype=np.complex64))

    def __call__(self, starts: npt.NDArray[np.int64], length: int) -> ComplexArray:
        starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        length = int(length)
        if starts.size == 0 or length <= 0:
            return np.zeros((starts.size, max(length, 0)), np.complex64)
        lo, end, cap = self.lo, self.end, self.capacity
        s_min, s_max = int(starts.min()), int(starts.max()) + length
        if s_max > end:
            self.reads_ahead += int(np.count_nonzero(starts + length > end))
        if s_min < lo and lo > 0:
            self.stale_reads += int(np.count_nonzero(starts < lo))
        if s_min >= lo and s_max <= end:  # all inside: one gather
            if starts.size == 1:
                a = s_min % cap
                if a + length <= cap:  # a copy: readers modify what they get (the channeliser's DC)
                    return self._convert(self._buf[a:a + length].copy())[None, :]
            base = (s_min // cap) * cap
            if s_max - 1 < base + cap:  # no window wraps around the buffer's end: no modulo
                return self._convert(self._buf[(starts - base)[:, None] + np.arange(length)[None, :]])
            idx = (starts[:, None] + np.arange(length)[None, :]) % cap
            return self._convert(self._buf[idx])
        out = np.zeros((starts.size, length), np.complex64)
        for j, s in enumerate(starts.tolist()):
            a, b = max(s, lo), min(s + length, end)
            if b > a:
                ra = a % cap
                idx = (ra + np.arange(b - a)) % cap
                out[j, a - s: b - s] = self._convert(self._buf[idx])
        return out
