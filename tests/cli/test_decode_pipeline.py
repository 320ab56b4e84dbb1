"""The pipeline layer under `decode`: one observation builder for every
decoder, frame sinks behind one protocol, frame powers that say their unit."""

from __future__ import annotations

from typing import Any

import numpy as np

from fbsdetect.grgsm.observe import observations_from_frames
from fbsdetect.pipeline.sinks import CallableSink, close_all, emit
from fbsdetect.receiver import Receiver, ReceiverConfig, cell_observations
from tests.conftest import shared_file


def _pub1() -> Any:
    x = np.fromfile(shared_file("refgen/pub1_single_939M_1000k.cf32"), np.complex64)
    return Receiver(1e6, 939e6, config=ReceiverConfig(all_frames=True)).run(x)


def test_native_and_frame_only_observations_come_from_one_builder() -> None:
    """The receiver's observation and the one built from its frames alone (as
    for gr-gsm's) agree on everything the frames carry: identity, SI, params."""
    res = _pub1()
    (native,) = cell_observations(res)
    (frames_only,) = observations_from_frames(res.carriers[0].frames)
    for k in ("arfcn", "band", "freq_hz", "mcc", "mnc", "lac", "cid", "si", "params"):
        assert getattr(native, k) == getattr(frames_only, k), k
    assert native.bsic == 38 and frames_only.bsic is None and frames_only.power_ref == "dBFS"
    assert native.power_ref == "dBFS" and native.si and native.params


def test_frames_say_their_power_unit_and_reach_every_sink() -> None:
    res = _pub1()
    frames = res.carriers[0].frames
    assert frames and all(f.power_ref == "dBFS" and f.power_dbm is not None for f in frames)
    got: list[tuple[Any, ...]] = []
    closed: list[int] = []
    sinks = [CallableSink(lambda f, t, la, lo: got.append((f.fn, t, la, lo)), lambda: closed.append(1)),
             CallableSink(lambda f, t, la, lo: got.append((f.fn, t, la, lo)))]
    emit(sinks, frames[:3], 1000.0, 36.6, 101.7)
    close_all(sinks)
    assert len(got) == 6 and closed == [1]
    assert got[0] == (frames[0].fn, 1000.0 + (frames[0].time_s or 0.0), 36.6, 101.7)
