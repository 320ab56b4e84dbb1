"""A recording (`sources.recording.Recording`) through the receiver."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fbsdetect.dsp.samples import FORMATS, to_complex64
from fbsdetect.receiver.config import ReceiverConfig
from fbsdetect.receiver.core import Receiver
from fbsdetect.receiver.demod import Demodulator
from fbsdetect.receiver.results import DecodeResult
from fbsdetect.sources.recording import Capture, Recording

MIN_SEGMENT_S = 0.03
"""Capture segments shorter than this (less than an FCCH period) are skipped."""
BLOCK_S = 0.1
"""A recording is pushed in blocks of this (the receiver works them through in smaller pieces)."""


def decode_recording(rec: Recording, *, config: ReceiverConfig | None = None,
                     demodulator: Demodulator | None = None) -> list[DecodeResult]:
    """Decodes a `fbsdetect.sources.recording.Recording`, one result per
    capture segment (a SigMF recording may retune between captures)."""
    info = rec.info
    caps = list(info.captures) or [Capture(0, info.center_freq_hz)]
    # consecutive captures on one frequency (a moving receiver's position
    # updates) are one segment
    caps = [c for k, c in enumerate(caps) if k == 0 or c.center_freq_hz != caps[k - 1].center_freq_hz]
    out = []
    for k, cap in enumerate(caps):
        start = cap.sample_start
        end = caps[k + 1].sample_start if k + 1 < len(caps) else info.n_samples
        n = end - start
        if n < MIN_SEGMENT_S * info.sample_rate_hz:
            continue
        fmt = info.datatype
        eight_bit = fmt in ("cu8", "ci8")  # kept as raw byte pairs, converted only where read
        rx = Receiver(info.sample_rate_hz, cap.center_freq_hz, config=config, demodulator=demodulator,
                      time_offset_s=start / info.sample_rate_hz, sample_format=fmt if eight_bit else None)
        block = max(1, int(BLOCK_S * info.sample_rate_hz))
        if eight_bit or fmt == "cf32_le":  # the file's bytes are the look-back's layout: read into it
            per = FORMATS[fmt][1]
            with open(info.data_path, "rb", buffering=0) as f:
                f.seek(start * per)
                while rx.n_samples < n:
                    want = rx.next_needed()  # a recording is seekable: what no one needs is not read
                    if want is None:
                        break
                    if want > rx.n_samples:
                        rx.skip_to(min(want, n))
                        f.seek((start + rx.n_samples) * per)
                        continue
                    k = min(block, n - rx.n_samples)
                    if rx.push_file(f, k) < k:
                        break
        else:
            raw = rec._raw
            for a in range(0, n, block):
                b = min(n, a + block)
                rx.push(to_complex64(np.asarray(raw[2 * (start + a): 2 * (start + b)]), fmt))
                if rx.all_done:
                    break
        out.append(replace(rx.flush(), duration_s=n / info.sample_rate_hz))
    return out
