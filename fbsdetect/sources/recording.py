"""IQ recordings: SigMF (meta + data) and raw files (rtl_sdr `.cu8`, signed
8-bit `.cs8`/`.ci8`, gr-gsm `.cfile`/`.cf32`).

Reading is memory-mapped and block-wise, so a long recording is never held in
memory. Everything wrong with a file (missing, unknown type, truncated, odd
byte count, metadata that contradicts the data) raises `BadInput` naming the
file and the problem. SigMF metadata is read as plain JSON here, with the
checks that matter to a decoder, because the `sigmf` package's reader raises
its own exception types for the same faults and needs its schema at hand;
`sim` writes recordings through the `sigmf` package.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TypeGuard

import numpy as np

from fbsdetect.dsp.samples import FORMAT_ALIASES as FORMAT_ALIASES  # the converters live below dsp/ and sim/
from fbsdetect.dsp.samples import FORMATS as FORMATS
from fbsdetect.dsp.samples import FULL_SCALE as FULL_SCALE
from fbsdetect.dsp.samples import RAW_EXTENSIONS as RAW_EXTENSIONS
from fbsdetect.dsp.samples import normalise_format as normalise_format
from fbsdetect.dsp.samples import to_complex64 as to_complex64
from fbsdetect.errors import BadInput, BadUsage
from fbsdetect.i18n import _

SIGMF_META = ".sigmf-meta"
SIGMF_DATA = ".sigmf-data"


CF32_MAX_PLAUSIBLE = 1e9
"""Larger cf32 values (or NaN/inf) are not samples: bytes of another format
read as float32 give NaN/inf and values up to 3e38 (unscaled 16-bit integers
stored as floats reach 32768)."""


@dataclass(frozen=True)
class Capture:
    """One SigMF capture segment: from `sample_start` on, these apply."""

    sample_start: int
    center_freq_hz: float
    datetime: datetime | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class RecordingInfo:
    data_path: Path
    meta_path: Path | None
    datatype: str  # a key of FORMATS
    sample_rate_hz: float
    center_freq_hz: float
    n_samples: int
    start_time: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    gain_db: float | None = None  # receiver gain, when the recording states it
    captures: tuple[Capture, ...] = field(default_factory=tuple)
    sha512: str | None = None  # SigMF core:sha512 of the data file, lower-case hex, when stated

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz


def _is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number (Python's json reads NaN and Infinity too; true/false are not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _parse_time(value: object, source: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(_("core:datetime must be an ISO-8601 string, got {value!r}").format(
            value=value), source=source)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(_("core:datetime {value!r} is not ISO-8601").format(
            value=value), source=source) from None


def _parse_geolocation(value: object, source: str) -> tuple[float | None, float | None]:
    if value is None:
        return None, None
    try:
        assert isinstance(value, dict) and value.get("type") == "Point"
        coords = value["coordinates"]
        lon, lat = float(coords[0]), float(coords[1])
    except (AssertionError, KeyError, IndexError, TypeError, ValueError):
        raise BadInput(_("core:geolocation must be a GeoJSON Point [lon, lat]"), source=source) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadInput(_("core:geolocation out of range: lon {lon}, lat {lat}").format(
            lon=lon, lat=lat), source=source)
    return lat, lon


def _read_sigmf(meta_path: Path) -> RecordingInfo:
    src = str(meta_path)
    try:
        text = meta_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(_("SigMF metadata is not UTF-8 text"), source=src) from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(_("SigMF metadata is not valid JSON (line {lineno}: {error})").format(
            lineno=exc.lineno, error=exc.msg),
                       source=src) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("global"), dict):
        raise BadInput(_("SigMF metadata has no 'global' object"), source=src)
    glob = meta["global"]
    dt = glob.get("core:datatype")
    if not isinstance(dt, str):
        raise BadInput(_("SigMF metadata lacks core:datatype"), source=src)
    if dt not in FORMATS:
        raise BadInput(_("unsupported core:datatype {datatype!r} (supported: {items})").format(
            datatype=dt, items=', '.join(FORMATS)),
                       source=src)
    rate = glob.get("core:sample_rate")
    if not _is_number(rate) or not rate > 0:
        raise BadInput(_("core:sample_rate must be a positive number, got {rate!r}").format(
            rate=rate), source=src)
    _check_rate(float(rate), src, "core:sample_rate")
    channels = glob.get("core:num_channels", 1)
    if channels != 1:
        raise BadInput(_("core:num_channels is {n!r}: only single-channel recordings are read").format(
            n=channels), source=src)
    caps_raw = meta.get("captures")
    if not isinstance(caps_raw, list) or not caps_raw:
        raise BadInput(_("SigMF metadata has no captures"), source=src)
    g_lat, g_lon = _parse_geolocation(glob.get("core:geolocation"), src)
    captures = []
    for i, c in enumerate(caps_raw):
        if not isinstance(c, dict):
            raise BadInput(_("captures[{i}] is not an object").format(i=i), source=src)
        freq = c.get("core:frequency")
        if not _is_number(freq) or not freq > 0:
            raise BadInput(_("captures[{i}] core:frequency must be a positive number, got {freq!r}").format(
                i=i, freq=freq),
                           source=src)
        start = c.get("core:sample_start", 0)
        if not isinstance(start, int) or start < 0:
            raise BadInput(_("captures[{i}] core:sample_start must be a non-negative integer").format(i=i),
                           source=src)
        lat, lon = _parse_geolocation(c.get("core:geolocation"), src)
        captures.append(Capture(start, float(freq), _parse_time(c.get("core:datetime"), src),
                                lat if lat is not None else g_lat, lon if lon is not None else g_lon))
    if captures[0].sample_start != 0:
        raise BadInput(_("the first capture must start at sample 0"), source=src)
    if any(b.sample_start <= a.sample_start for a, b in itertools.pairwise(captures)):
        raise BadInput(_("captures are not in increasing core:sample_start order"), source=src)
    data_path = meta_path.with_name(meta_path.name[: -len(SIGMF_META)] + SIGMF_DATA)
    n = _count_samples(data_path, dt)
    if captures[-1].sample_start >= n:
        raise BadInput(_("a capture starts at sample {sample_start}, past the end of the data ({n} "
                         "samples)").format(sample_start=captures[-1].sample_start, n=n), source=src)
    sha = glob.get("core:sha512")
    if sha is not None and not (isinstance(sha, str) and len(sha) == 128
                                and all(ch in "0123456789abcdefABCDEF" for ch in sha)):
        raise BadInput(_("core:sha512 must be 128 hexadecimal digits (the SHA-512 of the data file)"),
                       source=src)
    gain = glob.get("fbsdetect:gain_db")
    if gain is not None and not _is_number(gain):
        raise BadInput(_("fbsdetect:gain_db must be a number of dB, got {gain!r}").format(
            gain=gain), source=src)
    return RecordingInfo(
        data_path=data_path, meta_path=meta_path, datatype=dt, sample_rate_hz=float(rate),
        center_freq_hz=captures[0].center_freq_hz, n_samples=n, start_time=captures[0].datetime,
        lat=captures[0].lat, lon=captures[0].lon,
        gain_db=None if gain is None else float(gain), captures=tuple(captures),
        sha512=None if sha is None else sha.lower())


class ChecksumMismatch(BadInput):
    """The data file's SHA-512 differs from the metadata's core:sha512."""


def sha512_of(path: str | os.PathLike[str], block_bytes: int = 1 << 22) -> str:
    """SHA-512 (hex) of a file, read in blocks."""
    import hashlib  # lazily: OpenSSL's load is start-up time most decodes do not need

    h = hashlib.sha512()
    with open(path, "rb") as f:
        while chunk := f.read(block_bytes):
            h.update(chunk)
    return h.hexdigest()


def checksum_status(info: RecordingInfo) -> str:
    """"absent" (no core:sha512 stated, or a raw file), "ok" or "mismatch"."""
    if info.sha512 is None:
        return "absent"
    return "ok" if sha512_of(info.data_path) == info.sha512 else "mismatch"


def verify_checksum(info: RecordingInfo, *, required: bool = False) -> None:
    """Raises ChecksumMismatch when the data file does not match core:sha512
    (for `verify` and evidence export, where a mismatch is an error; `decode`
    only warns, through `checksum_status`); with `required`, a recording
    that states no checksum is an error too."""
    status = checksum_status(info)
    if status == "mismatch":
        raise ChecksumMismatch("the data file does not match core:sha512 of its metadata (modified, "
                               "truncated or another recording's data)", source=str(info.data_path))
    if status == "absent" and required:
        raise ChecksumMismatch("the recording states no core:sha512 to verify", source=str(info.data_path))


def _count_samples(data_path: Path, datatype: str, hint: str = "") -> int:
    if not data_path.exists():
        raise BadInput(_("recording data file is missing"), source=str(data_path))
    size = data_path.stat().st_size
    per = FORMATS[datatype][1]
    if size == 0:
        raise BadInput(_("recording is empty"), source=str(data_path))
    if size % per:
        raise BadInput(_("truncated or odd size: {size} bytes is not a whole number of {datatype} samples "
                        "({per} bytes each){hint}").format(
            size=size, datatype=datatype, per=per, hint=hint), source=str(data_path))
    return size // per


def _refuse_conflicts(info: RecordingInfo, sample_rate_hz: float | None, center_freq_hz: float | None,
                      fmt: str | None) -> None:
    """A SigMF recording states its own rate, frequency and format: a value
    given besides (--rate/--freq/--format) that differs is refused, not
    silently ignored nor silently applied; one that agrees is accepted."""
    src = str(info.meta_path)
    given = []
    if sample_rate_hz is not None and float(sample_rate_hz) != info.sample_rate_hz:
        given.append(f"--rate {sample_rate_hz:g} (core:sample_rate {info.sample_rate_hz:g})")
    if center_freq_hz is not None and float(center_freq_hz) != info.center_freq_hz:
        given.append(f"--freq {center_freq_hz:g} (core:frequency {info.center_freq_hz:g})")
    if fmt is not None and normalise_format(fmt, source=src) != info.datatype:
        given.append(f"--format {fmt} (core:datatype {info.datatype})")
    if given:
        raise BadUsage(_("{src}: {items} contradicts the SigMF metadata; --rate, --freq and --format are "
                        "for raw recordings (leave them out, or correct the metadata)").format(
            src=src, items=', '.join(given)))


def inspect(path: str | os.PathLike[str], *, sample_rate_hz: float | None = None,
            center_freq_hz: float | None = None, fmt: str | None = None) -> RecordingInfo:
    """Identifies and checks a recording; raises BadInput/BadUsage when it is wrong.
    `sample_rate_hz`, `center_freq_hz` and `fmt` describe a raw recording; with
    a SigMF one they must agree with its metadata (BadUsage otherwise)."""
    p = Path(path)
    src = str(p)
    if not p.exists():
        raise BadInput(_("no such file"), source=src)
    if p.is_dir():
        raise BadInput(_("is a directory, expected a recording"), source=src)
    name = p.name
    if name.endswith(SIGMF_META) or name.endswith(SIGMF_DATA):
        meta = p if name.endswith(SIGMF_META) else p.with_name(name[: -len(SIGMF_DATA)] + SIGMF_META)
        if not meta.exists():
            raise BadInput(_("SigMF metadata file is missing"), source=str(meta))
        info = _read_sigmf(meta)
        _refuse_conflicts(info, sample_rate_hz, center_freq_hz, fmt)
        return info
    ext = p.suffix.lower()
    if fmt is not None:
        datatype = normalise_format(fmt, source=src)
    elif ext in RAW_EXTENSIONS:
        datatype = RAW_EXTENSIONS[ext]
    else:
        raise BadInput(_("not a recording: unknown file type {value!r} (expected .sigmf-meta, .sigmf-data, "
                        ".cu8, .cs8, .ci8, .cfile or .cf32, or give --format)").format(
            value=ext or '(none)'), source=src)
    if sample_rate_hz is None or center_freq_hz is None:
        raise BadUsage(_("{src}: a raw recording needs --rate HZ and --freq HZ").format(src=src))
    if not sample_rate_hz > 0 or not center_freq_hz > 0:
        raise BadUsage(_("--rate and --freq must be positive"))
    _check_rate(float(sample_rate_hz), src, "--rate")
    n = _count_samples(p, datatype, _("; is the format right?") if fmt is not None else "")
    return RecordingInfo(data_path=p, meta_path=None, datatype=datatype,
                         sample_rate_hz=float(sample_rate_hz), center_freq_hz=float(center_freq_hz),
                         n_samples=n, captures=(Capture(0, float(center_freq_hz)),))


@dataclass(frozen=True)
class ValueSurvey:
    """What the samples of a recording hold, from blocks spread over it."""

    datatype: str
    n_values: int  # I and Q values examined
    non_finite: int  # NaN or inf among them (cf32 only)
    peak: float  # largest |I| or |Q| of the finite values, in full-scale units
    power_dbfs: float | None  # 10 log10 mean |x|^2 of the finite samples (None: all zero)

    @property
    def exceeds_full_scale(self) -> bool:
        return self.peak > 1.0 + 1e-6

    @property
    def reference(self) -> str:
        return FULL_SCALE[self.datatype]


def survey(rec: Recording, *, blocks: int = 16, block_samples: int = 1 << 15) -> ValueSurvey:
    """Examines `blocks` blocks of samples spread evenly over the recording
    (the whole of a short one): value range, NaN/inf, mean power. No numpy
    warnings (overflow, invalid) escape, whatever the bytes."""
    n = rec.info.n_samples
    if n <= blocks * block_samples:
        starts = [0]
        block_samples = n
    else:
        starts = [round(k * (n - block_samples) / (blocks - 1)) for k in range(blocks)]
    values = 0
    bad = 0
    peak = 0.0
    power = 0.0
    count = 0
    with np.errstate(all="ignore"):
        for st in starts:
            v = to_complex64(np.asarray(rec._raw[2 * st: 2 * (st + block_samples)]), rec.info.datatype)
            pair = v.view(np.float32).reshape(-1, 2).astype(np.float64)
            values += pair.size
            ok = np.isfinite(pair).all(axis=1)
            bad += int(pair.size - np.count_nonzero(np.isfinite(pair)))
            good = pair[ok]
            if good.size:
                peak = max(peak, float(np.max(np.abs(good))))
                power += float(np.sum(good * good))
                count += good.shape[0]
    p = power / count if count else 0.0
    return ValueSurvey(rec.info.datatype, values, bad, peak,
                       10 * math.log10(p) if p > 0 and math.isfinite(p) else None)


def check_values(rec: Recording) -> ValueSurvey:
    """`survey`, raising BadInput when a cf32 recording's values cannot be
    samples (NaN/inf, or beyond CF32_MAX_PLAUSIBLE): the bytes are of another
    format (a cu8 file given as cf32, random data)."""
    sv = survey(rec)
    if rec.info.datatype == "cf32_le" and (sv.non_finite or sv.peak > CF32_MAX_PLAUSIBLE):
        share = 100.0 * sv.non_finite / max(sv.n_values, 1)
        raise BadInput(_("the values are not cf32 samples ({share:.2g} % NaN/inf, magnitudes up to "
                        "{peak:.3g} in {n_values} values examined): the file is of another format (cu8 or "
                        "ci8?); give the right --format or file extension").format(
            share=share, peak=sv.peak, n_values=sv.n_values),
                       source=str(rec.info.data_path))
    return sv


STDIN_CHUNK_BYTES = 1 << 20


def spool_stream(stream: BinaryIO, dest: Path, fmt: str, *, max_bytes: int) -> int:
    """Copies raw samples from `stream` (a pipe: `rtl_sdr ... -`) into the file
    `dest`, in chunks of STDIN_CHUNK_BYTES, until end of stream or `max_bytes`
    (rounded down to whole samples), so that the recording can be memory-mapped
    like a file; a trailing partial sample (a stream cut mid-sample) is dropped.
    Returns the number of samples; BadInput naming <stdin> when there are none."""
    datatype = normalise_format(fmt, source="<stdin>")
    per = FORMATS[datatype][1]
    limit = max(per, max_bytes - max_bytes % per)
    done = 0
    try:
        with open(dest, "wb") as f:
            while done < limit:
                chunk = stream.read(min(STDIN_CHUNK_BYTES, limit - done))
                if not chunk:
                    break
                f.write(chunk)
                done += len(chunk)
            f.truncate(done - done % per)
    except OSError as exc:
        raise BadInput(_("cannot buffer the samples: {error}").format(
            error=exc.strerror), source=str(dest)) from None
    if done < per:
        raise BadInput(_("no samples on standard input"), source="<stdin>")
    return done // per


class Recording:
    """A checked recording, read block by block without loading it whole."""

    def __init__(self, info: RecordingInfo) -> None:
        self.info = info
        dtype, _ = FORMATS[info.datatype]
        self._raw = np.memmap(info.data_path, dtype=dtype, mode="r", shape=(2 * info.n_samples,))

    @classmethod
    def open(cls, path: str | os.PathLike[str], **kwargs: object) -> Recording:
        return cls(inspect(path, **kwargs))  # type: ignore[arg-type]

    def read(self, start: int, count: int) -> np.ndarray:
        """Samples [start, start+count) as complex64 (shorter at the end)."""
        start = max(0, start)
        stop = min(self.info.n_samples, start + max(0, count))
        if stop <= start:
            return np.zeros(0, np.complex64)
        return to_complex64(np.asarray(self._raw[2 * start: 2 * stop]), self.info.datatype)

    def blocks(self, block_samples: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first sample index, samples) for consecutive blocks of the whole recording."""
        for start in range(0, self.info.n_samples, block_samples):
            yield start, self.read(start, block_samples)


RATE_MIN_HZ = 200e3  # below GSM's 270.833 kBd no recording holds a carrier (the simulator's bound too)
RATE_MAX_HZ = 62e6  # the widest single-channel SDRs (bladeRF, USRP B2x0: 61.44 MS/s)


def _check_rate(rate_hz: float, src: str, what: str) -> None:
    """A sample rate no GSM recording can have is bad input: a rate of a few samples a second would
    have the receiver work through "hours" of a small file (memory growing all the while)."""
    if not (math.isfinite(rate_hz) and RATE_MIN_HZ <= rate_hz <= RATE_MAX_HZ):
        msg = _("{what} {rate:g} Hz is outside {lo:g}..{hi:g} Hz: not a GSM recording's rate")
        raise BadInput(msg.format(what=what, rate=rate_hz, lo=RATE_MIN_HZ, hi=RATE_MAX_HZ), source=src)
