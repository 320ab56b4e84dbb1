"""The receiver: every GSM cell in a recording, IQ in, L2 frames and cell
observations out.

Stages (each counted per carrier, never raised):

1. **Acquisition.** A wideband FCCH search (`dsp.fcch.search_wideband`) over
   the first `search_s` seconds finds the frequency-correction bursts of every
   BCCH carrier in the capture at once; each tone is assigned to the ARFCN
   whose raster point is nearest to ``tone - 67.7 kHz`` (unambiguous for
   receiver errors up to +-100 kHz, i.e. +-100 ppm at 1 GHz). Every FCCH is
   refined on a narrow window centred on its tone (`dsp.fcch.refine`: burst
   start, carrier offset to a few Hz). Beside every newly found carrier a
   narrow search looks for the FCCH of a carrier 200 kHz away that a much
   stronger neighbour's skirt hides from the wideband search (reported only if
   its SCH then decodes). Shorter searches every `research_s` seconds find
   cells that switch on later (a fake base station arriving).
   Carriers too close to the capture's band edges are reported as not
   decodable, never decoded from an aliased band.
2. **SCH.** One frame (1250 symbol periods) after each FCCH the SCH
   (TS 45.002 5.2.5, 6.3.1.3) is located by correlating with its 64-bit
   extended training sequence, demodulated (`dsp.burst.demod_sch`) and decoded
   (`gsm.coding.sch_decode`, TS 45.003 4.7): BSIC and the frame number. A
   cell needs `MIN_SCH` SCHs that agree on BSIC, frame number and timing (one
   10-bit parity check passes on noise once in 1024 tries); a carrier that
   repeats a much stronger one's BSIC and timing is a copy (intermodulation
   or an image in the receiver), not a cell. The receiver's ppm error is
   estimated from the confirmed cells (`dsp.ppm`).
3. **Tracking.** Each chunk's SCHs measure the residual carrier frequency
   (`dsp.burst`), which corrects the carrier's mixing frequency (Doppler,
   oscillator drift). A carrier's TS0 burst of frame ``fn`` starts at
   ``s0 + (fn - fn0) * 1250 * sps_in + r(fn)``: ``sps_in`` is the carrier's own
   symbol clock in input samples (`dsp.ppm.clock_scale`: a base station's
   carrier and clock share one reference, TS 45.010 5.1), ``r`` interpolates
   the residuals measured on every decoded SCH. Blocks before the first FCCH
   are reached by extrapolating backwards, so nothing a cold-starting receiver
   would miss is lost.
4. **Bursts and blocks.** Only TS0 windows that are needed are channelised
   (`dsp.channelizer.WindowChannelizer`): the BCCH Norm block (T3 = 2..5)
   of every 51-multiframe, plus the first CCCH block (BCCH Ext, T3 = 6..9)
   while a type SI3 puts there (SI2quater or SI13 at position 1, TS 44.018
   10.5.2.34) is still wanted, plus every other TS0 block with `all_frames`.
   SI messages (RR message type, TS 44.018 10.4) are collected from BCCH and
   CCCH blocks alike: real cells send SI2quater on BCCH Ext.
   Bursts are equalised (`dsp.burst.demod_normal`, TSC = BCC, TS 45.002
   5.2.3) and blocks decoded (`gsm.coding.xcch_decode`, TS 45.003 4.1).
5. **Early stop.** Without `all_frames`, a carrier is done once every BCCH TC
   position (TS 45.002 6.3.1.3) and every SI type seen or announced in SI3
   (SI2ter, SI2quater, SI13 with GPRS; on BCCH Norm or Ext) has been decoded
   `si_repeats` times.

Processing goes in chunks of `chunk_multiframes` 51-multiframes, batched over
all carriers, so numpy works on arrays of hundreds of bursts at a time.

DC offset. The mean of the first `search_s` seconds is removed from every
window. When it holds more than DC_TRACK_MIN_DB of the capture's power (an
RTL-SDR's LO leakage, which drifts thermally over seconds), windows of
carriers whose filter passes 0 Hz take the offset of their own instant
instead, from 50 ms block means (`dsp.channelizer.DcTrack`, read only where
such windows are): a cell sitting at DC under a drifting -18 dBFS offset
decodes 13 of 13 BCCH blocks instead of 5.
"""

from __future__ import annotations

from fbsdetect.dsp.aci import aci_fraction
from fbsdetect.dsp.channelizer import OUT_SPS
from fbsdetect.dsp.constants import BURST_SYMBOLS, FRAME_SYMBOLS, SYMBOL_RATE_HZ
from fbsdetect.dsp.dc import DC_BAND_HZ, dc_spike_db
from fbsdetect.dsp.dummy import DUMMY_MIN_CORRELATION, dummy_correlation
from fbsdetect.dsp.sch import gmsk_reference, sch_search
from fbsdetect.receiver.config import ReceiverConfig
from fbsdetect.receiver.constants import (
    DC_TRACK_BLOCK_S,
    DC_TRACK_MIN_DB,
    NOISE_PASS_HZ,
    NOISE_STOP_HZ,
    TRACK_MARGIN_SYMBOLS,
)
from fbsdetect.receiver.core import Receiver, ReceiverState
from fbsdetect.receiver.demod import Bursts, Demodulator, MlseDemodulator, default_demodulator
from fbsdetect.receiver.observations import cell_observations
from fbsdetect.receiver.recording import MIN_SEGMENT_S, decode_recording
from fbsdetect.receiver.results import (
    MIN_SCH,
    CarrierResult,
    CarrierStats,
    CarrierStatus,
    DecodeResult,
    SchHit,
)
from fbsdetect.receiver.track import CarrierState, CarrierTrack

__all__ = [
    "BURST_SYMBOLS",
    "DC_BAND_HZ",
    "DC_TRACK_BLOCK_S",
    "DC_TRACK_MIN_DB",
    "DUMMY_MIN_CORRELATION",
    "FRAME_SYMBOLS",
    "MIN_SCH",
    "MIN_SEGMENT_S",
    "NOISE_PASS_HZ",
    "NOISE_STOP_HZ",
    "OUT_SPS",
    "SYMBOL_RATE_HZ",
    "TRACK_MARGIN_SYMBOLS",
    "Bursts",
    "CarrierResult",
    "CarrierState",
    "CarrierStats",
    "CarrierStatus",
    "CarrierTrack",
    "DecodeResult",
    "Demodulator",
    "MlseDemodulator",
    "Receiver",
    "ReceiverConfig",
    "ReceiverState",
    "SchHit",
    "aci_fraction",
    "cell_observations",
    "dc_spike_db",
    "decode_recording",
    "default_demodulator",
    "dummy_correlation",
    "gmsk_reference",
    "sch_search",
]
