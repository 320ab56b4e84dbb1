#!/usr/bin/python3
"""Run by Debian's /usr/bin/python3 (GNU Radio + gr-gsm), not by the venv:
decodes TS0 bursts with gr-gsm's own demapper and control-channel decoder, as
an independent peer for tests/gsm/test_grgsm_peer.py.

stdin: JSON [[fn, ts, "0101..."], ...]; argv[1]: "combined" or "noncombined".
stdout: one JSON line per decoded frame {"fn", "ts", "subtype", "subslot", "hex"}
taken from the GSMTAP header gr-gsm puts in front of every frame.
"""

import json
import sys

from gnuradio import gr, gsm


def main():
    combined = sys.argv[1] == "combined"
    bursts = json.load(sys.stdin)
    tb = gr.top_block()
    src = gsm.burst_source([b[0] for b in bursts], [b[1] for b in bursts], [b[2] for b in bursts])
    demapper = (gsm.gsm_bcch_ccch_sdcch4_demapper(timeslot_nr=0) if combined
                else gsm.gsm_bcch_ccch_demapper(timeslot_nr=0))
    decoder = gsm.control_channels_decoder()
    sink = gsm.message_sink()
    tb.msg_connect(src, "out", demapper, "bursts")
    tb.msg_connect(demapper, "bursts", decoder, "bursts")
    tb.msg_connect(decoder, "msgs", sink, "in")
    tb.run()
    for m in sink.get_messages():
        b = bytes.fromhex(m.replace(" ", ""))
        hdr = b[1] * 4
        print(json.dumps({"fn": int.from_bytes(b[8:12], "big"), "ts": b[3], "subtype": b[12],
                          "subslot": b[14], "hex": b[hdr:].hex()}))


if __name__ == "__main__":
    main()
