"""A recording (`sources.recording.Recording`) through the receiver."""

from __future__ import annotations

from fbsdetect.dsp.channelizer import recording_reader
from fbsdetect.receiver.config import ReceiverConfig
from fbsdetect.receiver.core import Receiver
from fbsdetect.receiver.demod import Demodulator
from fbsdetect.receiver.results import DecodeResult
from fbsdetect.sources.recording import Capture, Recording

MIN_SEGMENT_S = 0.03
"""Capture segments shorter than this (less than an FCCH period) are skipped."""


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
        reader = recording_reader(rec._raw, info.datatype, n, offset=start)
        rx = Receiver(reader, n, info.sample_rate_hz, cap.center_freq_hz, config=config,
                      demodulator=demodulator, time_offset_s=start / info.sample_rate_hz)
        out.append(rx.run())
    return out
