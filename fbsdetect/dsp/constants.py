"""GSM air-interface constants the DSP and the receiver share, defined once.

TS 45.010 / 45.004: 1625/6 k symbols per second; TS 45.002 4.3 and 5.2: a TDMA
frame of 8 timeslots of 156.25 symbol periods, a burst of 148 bits (its
length comes from `gsm.bursts.BURST_BITS`, the burst layouts' own constant);
TS 45.002 5.2.4: the FCCH tone a quarter of the symbol rate above the carrier;
TS 45.005 2: the 200 kHz channel raster.
"""

from __future__ import annotations

from fbsdetect.gsm.bursts import BURST_BITS

SYMBOL_RATE_HZ = 1625000.0 / 6.0
"""GSM symbol rate, 270833.33 symbols/s."""
SLOT_SYMBOLS = 156.25
"""A timeslot, in symbol periods."""
FRAME_SYMBOLS = 1250
"""A TDMA frame: 8 timeslots of 156.25 symbol periods."""
FRAME_RATE_HZ = SYMBOL_RATE_HZ / FRAME_SYMBOLS
"""TDMA frames per second (216.67)."""
BURST_SYMBOLS = BURST_BITS
"""Bits (symbols) of a normal, FCCH, SCH or dummy burst, without guard (148)."""
FCCH_TONE_HZ = SYMBOL_RATE_HZ / 4.0
"""The FCCH tone lies this far above the carrier (67 708.3 Hz)."""
CHANNEL_SPACING_HZ = 200_000.0
"""The GSM channel raster."""
