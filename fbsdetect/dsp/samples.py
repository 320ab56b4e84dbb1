"""Sample formats and their conversion to complex64: the one definition that
recordings (`sources.recording`), live sources, the channeliser (`dsp`) and the
simulator (`sim`) share, below all of them (numpy only)."""

from __future__ import annotations

import numpy as np

from fbsdetect.errors import BadInput
from fbsdetect.i18n import _

# Sample formats: name -> (numpy dtype of one I or Q value, bytes per complex sample)
FORMATS: dict[str, tuple[str, int]] = {
    "cu8": ("u1", 2),
    "ci8": ("i1", 2),
    "ci16_le": ("<i2", 4),
    "cf32_le": ("<f4", 8),
}
# Aliases accepted on the command line and in scene files.
FORMAT_ALIASES = {"cu8": "cu8", "ci8": "ci8", "cs8": "ci8", "ci16": "ci16_le", "ci16_le": "ci16_le",
                  "cf32": "cf32_le", "cf32_le": "cf32_le", "cfile": "cf32_le"}
RAW_EXTENSIONS = {".cu8": "cu8", ".cs8": "ci8", ".ci8": "ci8", ".cfile": "cf32_le", ".cf32": "cf32_le",
                  ".cs16": "ci16_le", ".ci16": "ci16_le"}

FULL_SCALE = {
    "cu8": "cu8 full scale, (v - 127.5) / 127.5",
    "ci8": "ci8 full scale, v / 128",
    "ci16_le": "ci16 full scale, v / 32768",
    "cf32_le": "cf32 full scale 1.0",
}
"""What 0 dBFS means for each format: dBFS = 10 log10 of the mean |I + jQ|^2 of
the samples as `to_complex64` scales them, so a complex tone whose I and Q
swing over the whole range of the format reads 0 dBFS and a recording inside
full scale never reads above it (+3 dB at most, for I and Q both at the rails)."""


def normalise_format(name: str, *, source: str | None = None) -> str:
    try:
        return FORMAT_ALIASES[name.lower()]
    except KeyError:
        raise BadInput(_("unknown sample format {name!r} (expected one of cu8, ci8, ci16_le, cf32)").format(
            name=name),
                       source=source) from None


def to_complex64(raw: np.ndarray, datatype: str) -> np.ndarray:
    """Interleaved I/Q values of `datatype` -> complex64 scaled to about [-1, 1]
    (`FULL_SCALE`)."""
    x = raw.astype(np.float32)
    if datatype == "cu8":
        x = (x - 127.5) * np.float32(1 / 127.5)
    elif datatype == "ci8":
        x *= np.float32(1 / 128)
    elif datatype == "ci16_le":
        x *= np.float32(1 / 32768)
    return x.view(np.complex64)
