"""Ground truth of a rendered scene (`<name>.truth.json`, contracts.md section 3).

`{"cells": [...], "jammers": [...]}` plus the scene and receiver settings.
Each cell: its resolved scene keys, `label`, `power_dbm` (mean power at the
receiver's antenna over the recording while on the air, fading included),
`snr_db` (that power over the noise in one symbol-rate bandwidth: thermal
noise plus, for cu8/ci8, the rounding noise, i.e. the Eb/N0 a receiver
sees), the carrier as received (`freq_hz` nominal downlink, `freq_error_ppm`
of the BTS; on the recording's frequency scale, dongle ppm included:
`freq_offset_hz` from the nominal downlink, as in a cell observation, and
`offset_from_center_hz` from the capture's centre, `in_band` when its
+-100 kHz lie inside the capture; motion adds Doppler on top), `start_fn` (the frame on the air at t = 0),
`si` (SI type -> hex of the exact 23-octet L2 frame sent), `ccch_fill`, and
`blocks`: every BCCH block and every CCCH block carrying a paging request
whose four bursts all lie inside the recording and the cell's on-air interval, as `{fn, channel, type, hex,
t_s}` (fn of the first burst; t_s its start at the transmitter), so a
decoder can be scored block by block; CCCH blocks not listed carry
`ccch_fill`.

When the scene sets the dongle's front-end impairments, `receiver` lists
them too, with the resulting `image_rejection_db`; `snr_db` leaves them
out (a cell inside the band-edge roll-off, or on the DC spike, sees less).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from fbsdetect import __version__
from fbsdetect.dsp.gmsk import SYMBOL_RATE_HZ
from fbsdetect.gsm.bands import downlink_hz
from fbsdetect.sim.channel import quantisation_noise_fullscale, thermal_noise_dbm
from fbsdetect.sim.render import Renderer
from fbsdetect.sim.scene import Scene
from fbsdetect.sim.transmitter import FRAME_BITS, Block, CellFrames

BURSTS_SPAN_BITS = 3 * FRAME_BITS + 148  # first bit of burst 0 to last bit of burst 3


@dataclass
class BlockLog:
    """Collects the blocks each cell sends inside [0, duration_s]."""

    duration_s: float
    blocks: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    fill_blocks: dict[int, int] = field(default_factory=dict)

    def __call__(self, st: Any, m: int, blocks: list[Block]) -> None:
        fn0 = st.tx.fn_of(m)
        for b in blocks:
            t3 = (b.fn - fn0) % 2715648
            t0 = st.block_time_s(m, t3)
            t1 = t0 + BURSTS_SPAN_BITS / st.symbol_rate_hz
            a, b_end = st.cell.active
            if t0 < max(0.0, a) or t1 > min(self.duration_s, b_end):
                continue  # not entirely inside the recording while the cell is on the air
            if b.channel == "CCCH" and not b.identities:
                self.fill_blocks[st.cell.index] = self.fill_blocks.get(st.cell.index, 0) + 1
                continue
            self.blocks.setdefault(st.cell.index, []).append({
                "fn": b.fn, "channel": b.channel,
                "type": f"SI{b.si_type}" if b.si_type else "PAGING_REQ_1",
                "hex": b.data.hex(), "t_s": round(t0, 7)})


def build_truth(scene: Scene, renderer: Renderer, frames: dict[int, CellFrames], log: BlockLog, *,
                n_samples: int, clipped_values: int) -> dict[str, Any]:
    rx = scene.receiver
    dur = scene.info.duration_s
    thermal_dbm = thermal_noise_dbm(rx.sample_rate_hz, rx.noise_figure_db)
    q_dbm = (10 * math.log10(quantisation_noise_fullscale(rx.format)) - rx.gain_db
             if rx.format in ("cu8", "ci8") else -math.inf)
    noise_dbm = 10 * math.log10(10 ** (thermal_dbm / 10) + 10 ** (q_dbm / 10))
    noise_per_symbol_bw_dbm = noise_dbm - 10 * math.log10(rx.sample_rate_hz / SYMBOL_RATE_HZ)
    e = rx.ppm * 1e-6
    cells = []
    for st in renderer.cells:
        c = st.cell
        d = c.params_json()
        p = st.link.mean_power_dbm(0.0, dur)
        off = (st.freq_hz - rx.center_freq_hz * (1 + e)) / (1 + e)
        d.update({
            "label": c.label,
            "power_dbm": None if p is None else round(p, 2),
            "snr_db": None if p is None else round(p - noise_per_symbol_bw_dbm, 2),
            "freq_hz": downlink_hz(c.arfcn),
            "freq_error_ppm": st.timing.freq_error_ppm,
            "freq_offset_hz": round(off + rx.center_freq_hz - downlink_hz(c.arfcn), 3),
            "offset_from_center_hz": round(off, 3),
            "in_band": abs(off) + 100e3 <= rx.sample_rate_hz / 2,
            "start_fn": st.timing.start_fn,
            "tsc": c.bsic & 7,
            "si": {k: v.hex() for k, v in frames[c.index].si.items()},
            "ccch_fill": frames[c.index].ccch_fill.hex(),
            "ccch_fill_blocks": log.fill_blocks.get(c.index, 0),
            "blocks": sorted(log.blocks.get(c.index, []), key=lambda b: b["t_s"]),
        })
        sched = getattr(st.tx, "dedicated", None)
        if sched is not None:  # only then: a scene without dedicated keys has the truth it always had
            d["traffic"] = sched.truth()
            if sched.truth_sms:
                d["sms"] = sched.truth_sms
        cells.append(d)
    jammers = []
    for j, link in zip(scene.jammers, renderer.jammer_links, strict=True):
        d = j.params_json()
        p = link.mean_power_dbm(0.0, dur)
        d["power_dbm"] = None if p is None else round(p, 2)
        jammers.append(d)
    rxd: dict[str, Any] = {
        "sample_rate": rx.sample_rate_hz, "center_freq_hz": rx.center_freq_hz, "format": rx.format,
        "gain_db": rx.gain_db, "noise_figure_db": rx.noise_figure_db, "ppm": rx.ppm,
        "thermal_noise_dbm": round(thermal_dbm, 2), "noise_dbm": round(noise_dbm, 2),
        "n_samples": n_samples, "clipped_values": clipped_values,
    } | rx.route.place_json()
    imp = renderer.impairments
    if imp is not None:  # only then, so a scene without them has the truth it always had
        rxd |= {"dc_offset_dbfs": imp.dc_offset_dbfs, "iq_imbalance_db": imp.iq_imbalance_db,
                "iq_phase_deg": imp.iq_phase_deg,
                "image_rejection_db": round(imp.image_rejection_db(), 2) if imp.iq else None,
                "band_edge_rolloff_db": imp.band_edge_rolloff_db,
                "band_edge_rolloff_fraction": imp.band_edge_rolloff_fraction}
    return {
        "generator": f"fbsdetect {__version__} simulate",
        "scene": {"name": scene.info.name, "seed": scene.info.seed, "duration_s": dur,
                  "start_time": scene.info.start_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "propagation": scene.propagation.to_json()},
        "snr_definition": "power_dbm / (noise in a 270.833 kHz bandwidth: thermal + 8-bit rounding)",
        "receiver": rxd,
        "cells": cells,
        "jammers": jammers,
    }
