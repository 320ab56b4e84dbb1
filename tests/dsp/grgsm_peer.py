"""gr-gsm's GMSK modulator as an independent peer, run with Debian's
/usr/bin/python3 in a subprocess (GNU Radio + gr-gsm are not in our venv).

The block is ``gnuradio.gsm.gsm_gmsk_mod(BT=0.3, pulse_duration=4, sps)``, the
one gr-gsm's TRX uses (diff_decoder_bb(2) -> +-1 -> digital.gmskmod_bc). Its
output lags ours (bit i centred on sample i*sps) by ``2*sps - 0.5`` samples.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

SYSTEM_PYTHON = Path("/usr/bin/python3")

_SCRIPT = """
import sys
import numpy as np
from gnuradio import gr, blocks, gsm
bits = np.frombuffer(sys.stdin.buffer.read(), dtype=np.uint8)
tb = gr.top_block()
src = blocks.vector_source_b(bits.tolist(), False)
mod = gsm.gsm_gmsk_mod(BT=0.3, pulse_duration=4, sps=int(sys.argv[1]))
snk = blocks.vector_sink_c()
tb.connect(src, mod, snk)
tb.run()
sys.stdout.buffer.write(np.asarray(snk.data(), dtype=np.complex64).tobytes())
"""


def grgsm_delay_samples(sps: int) -> float:
    """Delay of gr-gsm's modulator output relative to gmsk_modulate, in samples."""
    return 2.0 * sps - 0.5


def require_grgsm() -> None:
    if not SYSTEM_PYTHON.exists():
        pytest.skip("/usr/bin/python3 is absent: gr-gsm peer unavailable")
    probe = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "from gnuradio import gsm, blocks, digital"],
        capture_output=True,
        timeout=120,
    )
    if probe.returncode != 0:
        pytest.skip("Debian's /usr/bin/python3 lacks GNU Radio / gr-gsm (apt install gr-gsm)")


def grgsm_modulate(bits: npt.ArrayLike, sps: int) -> npt.NDArray[np.complex64]:
    """Modulate a bit stream with gr-gsm (one stream; the differential decoder
    starts from state 0 and runs across the whole stream)."""
    require_grgsm()
    data = np.asarray(bits, dtype=np.uint8).tobytes()
    run = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", _SCRIPT, str(int(sps))],
        input=data,
        capture_output=True,
        timeout=300,
    )
    if run.returncode != 0:
        raise RuntimeError(f"gr-gsm modulator failed: {run.stderr.decode(errors='replace')[-500:]}")
    return np.frombuffer(run.stdout, dtype=np.complex64).copy()
