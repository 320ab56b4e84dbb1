#!/usr/bin/python3
"""gr-gsm's receiver as fbsdetect's backend: a GNU Radio flowgraph run by
Debian's /usr/bin/python3 (GNU Radio 3.10 + gr-gsm), as a subprocess of
fbsdetect (`fbsdetect.grgsm.backend`). It never imports fbsdetect (whose
virtual environment the system Python does not see).

One flowgraph decodes every carrier of a capture at once: the source (a
cfile/cu8/ci8 file, or an osmosdr device) feeds one branch per ARFCN:
frequency-translating low-pass filter (the carrier to 0 Hz, +-180 kHz, which
gr-gsm's own input adaptor lacks: its resampler has no anti-alias filter),
gr-gsm's input adaptor (resampling to 4 samples per symbol, steered by its
clock-offset control), receiver (FCCH/SCH sync, equaliser), dummy-burst and
timeslot-0 filters, BCCH/CCCH demapper and control-channel decoder. The
decoded frames come out of each branch as GSMTAP PDUs; a small sink block
writes each as one JSON line on stdout:

    {"arfcn": 62, "fn": 2566029, "ts": 0, "channel": "BCCH", "hex": "...",
     "signal_dbm": -61, "snr_db": 0, "sub_type": 1}

Which ARFCNs: those given with --arfcn, else (files) the channels whose
power in the first half second stands 6 dB above the capture's median, else
every channel in the capture's usable span. A final line
{"event": "end", "branches": N} says the flowgraph finished (end of file).
"""

import argparse
import json
import math
import signal
import sys

# fbsdetect.dsp.constants.SYMBOL_RATE_HZ, repeated on purpose: this script runs under Debian's
# Python and never imports fbsdetect.
SYMBOL_RATE = 1625000.0 / 6.0
CHANNEL_SUBTYPE = {0x01: "BCCH", 0x02: "CCCH", 0x03: "RACH", 0x04: "CCCH", 0x05: "CCCH",
                   0x06: "SDCCH", 0x07: "SDCCH/4", 0x08: "SDCCH/8", 0x0D: "CBCH/51"}


def downlink_hz(arfcn):
    if 0 <= arfcn <= 124:
        return 935e6 + 0.2e6 * arfcn
    if 975 <= arfcn <= 1023:
        return 925.2e6 + 0.2e6 * (arfcn - 975)
    if 955 <= arfcn <= 974:
        return 921.2e6 + 0.2e6 * (arfcn - 955)
    if 512 <= arfcn <= 885:
        return 1805.2e6 + 0.2e6 * (arfcn - 512)
    if 128 <= arfcn <= 251:
        return 869.2e6 + 0.2e6 * (arfcn - 128)
    raise ValueError(arfcn)


def arfcns_in_span(fc, fs, edge_hz=150e3):
    lo, hi = fc - fs / 2 + edge_hz, fc + fs / 2 - edge_hz
    out = []
    for a in list(range(0, 125)) + list(range(975, 1024)) + list(range(955, 975)) + \
            list(range(512, 886)) + list(range(128, 252)):
        f = downlink_hz(a)
        if lo <= f <= hi:
            out.append(a)
    return sorted(set(out), key=downlink_hz)


def busy_arfcns(path, fmt, fs, fc, candidates, seconds=0.5, margin_db=6.0):
    """Channels with power in the first `seconds` (numpy FFT): a scanner's power pass."""
    import numpy as np

    n = int(seconds * fs)
    if fmt == "cf32":
        x = np.fromfile(path, np.complex64, count=n)
    else:
        raw = np.fromfile(path, np.uint8 if fmt == "cu8" else np.int8, count=2 * n).astype(np.float32)
        if fmt == "cu8":
            raw = (raw - 127.5) / 127.5
        else:
            raw = raw / 128.0
        x = raw[0::2] + 1j * raw[1::2]
    if x.size < 4096:
        return candidates
    nfft = 4096
    segs = x[: (x.size // nfft) * nfft].reshape(-1, nfft)
    psd = np.fft.fftshift((np.abs(np.fft.fft(segs * np.hanning(nfft), axis=1)) ** 2).mean(axis=0))
    freqs = fc + (np.arange(nfft) - nfft // 2) * fs / nfft
    floor = float(np.median(psd))
    out = []
    for a in candidates:
        f = downlink_hz(a)
        sel = np.abs(freqs - f) < 90e3
        if sel.any() and 10 * math.log10(psd[sel].mean() / floor) > margin_db:
            out.append(a)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--file", help="capture to decode (cfile complex64, cu8 or ci8)")
    p.add_argument("--format", default="cf32", choices=("cf32", "cu8", "ci8"))
    p.add_argument("--osmosdr", metavar="ARGS", help="live: osmosdr device arguments, e.g. rtl=0")
    p.add_argument("--rate", type=float, required=True, help="sample rate in Hz")
    p.add_argument("--freq", type=float, required=True, help="centre frequency in Hz")
    p.add_argument("--gain", type=float, default=None, help="live: gain in dB (default automatic)")
    p.add_argument("--ppm", type=float, default=0.0, help="receiver frequency error in ppm")
    p.add_argument("--arfcn", type=int, action="append", help="decode this ARFCN (repeatable)")
    p.add_argument("--all-channels", action="store_true", help="every channel in the span (no power pass)")
    a = p.parse_args()
    if (a.file is None) == (a.osmosdr is None):
        p.error("give exactly one of --file and --osmosdr")

    import pmt
    from gnuradio import blocks, filter, gr, gsm
    from gnuradio.filter import firdes

    candidates = a.arfcn or arfcns_in_span(a.freq, a.rate)
    if a.file and not a.arfcn and not a.all_channels:
        candidates = busy_arfcns(a.file, a.format, a.rate, a.freq, candidates)

    class JsonSink(gr.basic_block):
        """GSMTAP PDUs from control_channels_decoder -> JSON lines on stdout."""

        def __init__(self):
            gr.basic_block.__init__(self, name="fbsdetect_json_sink", in_sig=None, out_sig=None)
            self.message_port_register_in(pmt.intern("msgs"))
            self.set_msg_handler(pmt.intern("msgs"), self.handle)

        def handle(self, msg):
            data = bytes(pmt.u8vector_elements(pmt.cdr(msg)))
            if len(data) < 16:
                return
            hdr_len = data[1] * 4
            arfcn_raw = (data[4] << 8) | data[5]
            signal_dbm = data[6] - 256 if data[6] > 127 else data[6]
            snr = data[7] - 256 if data[7] > 127 else data[7]
            fn = int.from_bytes(data[8:12], "big")
            sub = data[12]
            base = CHANNEL_SUBTYPE.get(sub & 0x7F, f"0x{sub:02x}")
            chan = ("SACCH/" + base.split("/")[1]) if sub & 0x80 and "/" in base else base
            rec = {"arfcn": arfcn_raw & 0x3FFF, "fn": fn, "ts": data[3], "channel": chan,
                   "hex": data[hdr_len:].hex(), "signal_dbm": signal_dbm, "snr_db": snr, "sub_type": sub,
                   "uplink": bool(arfcn_raw & 0x4000)}
            sys.stdout.write(json.dumps(rec) + "\n")
            sys.stdout.flush()

    tb = gr.top_block()
    if a.file:
        if a.format == "cf32":
            src = blocks.file_source(gr.sizeof_gr_complex, a.file, False)
            head = src
        elif a.format == "cu8":
            src = blocks.file_source(gr.sizeof_char, a.file, False)
            to_f = blocks.uchar_to_float()
            shift = blocks.add_const_ff(-127.5)
            scale = blocks.multiply_const_ff(1.0 / 127.5)
            deint = blocks.deinterleave(gr.sizeof_float)
            to_c = blocks.float_to_complex()
            tb.connect(src, to_f, shift, scale, deint)
            tb.connect((deint, 0), (to_c, 0))
            tb.connect((deint, 1), (to_c, 1))
            head = to_c
        else:
            src = blocks.file_source(gr.sizeof_char, a.file, False)
            head = blocks.interleaved_char_to_complex(False, 128.0)
            tb.connect(src, head)
    else:
        import osmosdr

        head = osmosdr.source(args=a.osmosdr)
        head.set_sample_rate(a.rate)
        head.set_center_freq(a.freq)
        head.set_freq_corr(a.ppm)
        if a.gain is None:
            head.set_gain_mode(True)
        else:
            head.set_gain_mode(False)
            head.set_gain(a.gain)
    decim = max(1, int(a.rate // (4 * SYMBOL_RATE * 1.05)))
    rate_out = a.rate / decim
    taps = firdes.low_pass(1.0, a.rate, 180e3, 100e3)
    sink = JsonSink()
    keep = [sink]
    for arfcn in candidates:
        f = downlink_hz(arfcn)
        xl = filter.freq_xlating_fir_filter_ccf(decim, taps, f - a.freq, a.rate)
        adapt = gsm.gsm_input(ppm=a.ppm, osr=4, fc=f, samp_rate_in=rate_out)
        offset = gsm.clock_offset_control(f, rate_out)
        rx = gsm.receiver(4, [arfcn], [], False)
        dummy = gsm.dummy_burst_filter()
        ts0 = gsm.burst_timeslot_filter(0)
        demap = gsm.gsm_bcch_ccch_demapper(0)
        dec = gsm.control_channels_decoder()
        tb.connect(head, xl, adapt, rx)
        tb.msg_connect(offset, "ctrl", adapt, "ctrl_in")
        tb.msg_connect(rx, "measurements", offset, "measurements")
        tb.msg_connect(rx, "C0", dummy, "in")
        tb.msg_connect(dummy, "out", ts0, "in")
        tb.msg_connect(ts0, "out", demap, "bursts")
        tb.msg_connect(demap, "bursts", dec, "bursts")
        tb.msg_connect(dec, "msgs", sink, "msgs")
        keep += [xl, adapt, offset, rx, dummy, ts0, demap, dec]
    sys.stdout.write(json.dumps({"event": "start", "arfcns": candidates, "rate_out": rate_out}) + "\n")
    sys.stdout.flush()
    if not candidates:
        sys.stdout.write(json.dumps({"event": "end", "branches": 0}) + "\n")
        return 0

    def stop(_sig, _frame):
        tb.stop()
        tb.wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tb.start()
    tb.wait()
    sys.stdout.write(json.dumps({"event": "end", "branches": len(candidates)}) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
