"""The receiver's tuning constants (the GSM ones are `dsp.constants`')."""

from __future__ import annotations

SCH_T3 = (1, 11, 21, 31, 41)
BCCH_T3 = 2
FCCH_MARGIN_SYMBOLS = 40  # coarse FCCH timing is +- half an STFT hop
FCCH_PASS_HZ = 15_000.0  # FCCH refinement filter around the tone (coarse error < 2.5 kHz)
FCCH_STOP_HZ = 35_000.0
DC_SPIKE_DB = 6.0
"""A DC spike counts when its density stands this far above its surroundings."""
DC_OVERLAP_HZ = 100_000.0
"""A carrier within this of 0 Hz has the spike in its band."""
DC_TRACK_BLOCK_S = 0.05
"""Block of the DC track's means (`dsp.channelizer.DcTrack`): long against a
burst (a GSM carrier at 0 Hz puts its density at 0 Hz over 20 Hz, ~-39 dB of
its power, into each mean; 20 ms blocks, ~-35 dB, cost a 38 dB-SNR cell at DC
several dB of its measured SNR), short against an RTL-SDR offset's thermal
drift (seconds: linear interpolation between means 50 ms apart leaves ~-60 dB
of a +-0.3 rad wander of period 2 s)."""
DC_TRACK_MIN_DB = -40.0
"""The DC offset is tracked when the capture's mean holds at least this much
of its power (dB): without an offset the mean of 0.15 s of noise holds ~-55 dB,
of a GSM carrier at 0 Hz ~-43 dB."""
NEIGHBOUR_PASS_HZ = 5_000.0  # narrow band searched for a weak neighbour's FCCH, around its tone
NEIGHBOUR_STOP_HZ = 12_000.0
NEIGHBOUR_LAG_SYMBOLS = 32
NEIGHBOUR_COHERENCE = 0.5
"""A tone's correlation with itself 32 symbols later, normalised (1: a clean
tone), that a weak neighbour's FCCH must exceed. Narrow-band noise passes it
now and then (few independent samples), so such a carrier is reported only
when its SCH decodes (`CarrierResult.speculative`)."""
NEIGHBOUR_MAX_ERROR_HZ = 2_000.0
"""Its tone within this of where the found carrier's tone +-200 kHz puts it
(one operator's carriers share the receiver's error; BTS errors are 0.05 ppm)."""
NOISE_PASS_HZ = 15_000.0  # noise window centred on the carrier during its FCCH (tone at 67.7 kHz)
NOISE_STOP_HZ = 30_000.0
NOISE_EDGE_SYMBOLS = 34  # left out at each end of the FCCH (filter transients, the ramps)
SCH_MARGIN_SYMBOLS = 24  # refined FCCH start (and the tone's spill into guard bits) is +- ~10
TRACK_MARGIN_SYMBOLS = 10  # burst.py searches +-4 symbols and needs 5 more (channel taps)
FREQ_TRACK_GAIN = 0.7  # fraction of the SCHs' median residual frequency corrected per chunk
FREQ_TRACK_MAX_HZ = 300.0
MAX_BLOCKS_PER_BATCH = 128
COPY_MARGIN_DB = 15.0
"""A carrier with the BSIC and frame timing of one this much stronger is a copy
(receiver intermodulation, an image), not a cell."""
BCCH_EXT_T3 = 6
"""BCCH Ext: the first CCCH block (T3 = 6..9, TS 45.002 6.3.1.3 and 7 table 3),
where SI3 may put SI2quater and the GPRS indicator SI13 (position 1)."""
