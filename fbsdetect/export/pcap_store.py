"""`export --format pcap`: the stored frames (`frame` rows) as a GSMTAP pcapng
for Wireshark, streamed, one Enhanced Packet Block per frame in store order
(observation, then frame id), each with a packet comment naming where and by
whom it was received::

    time=2026-03-01T10:00:01.234Z lat=36.617100 lon=101.778200 gps_mode=3 gps_error_m=2.5
    sensor=laptop-1 observation=12 cell=460-0-10290-41021 arfcn=62 bsic=35 fn=2566029 ts=0 channel=BCCH

(`lat`/`lon` only with a fix; `sensor` when known). A frame's time is its own
when stored, else its observation's. The writer is `export.pcap.PcapngWriter`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, BinaryIO

from fbsdetect.export import ALL, YIELD_PER, ExportFilter, _observation_where, iso_utc, valid_position
from fbsdetect.export.pcap import PcapngWriter
from fbsdetect.types import L2Frame


def frame_rows(store: Any, flt: ExportFilter = ALL) -> Iterator[Any]:
    """Frames with their observation's position, identity and sensor, streamed."""
    from sqlalchemy import select

    from fbsdetect.store.models import FrameRow, Observation, Sensor

    f, o = FrameRow, Observation
    stmt = (select(f.id, f.observation_id, f.fn, f.ts, f.channel, f.data, f.time, f.power_dbm, f.snr_db,
                   o.time.label("obs_time"), o.arfcn, o.bsic, o.mcc, o.mnc, o.lac, o.cid, o.lat, o.lon,
                   o.gps_mode, o.gps_error_m, Sensor.name.label("sensor"))
            .select_from(f).join(o, o.id == f.observation_id)
            .outerjoin(Sensor, Sensor.id == o.sensor_id))
    stmt = _observation_where(stmt, flt).order_by(f.observation_id, f.id)
    with store.engine.connect() as conn:
        yield from conn.execution_options(stream_results=True, yield_per=YIELD_PER).execute(stmt)


def frame_comment(r: Any) -> str:
    t = r.time or r.obs_time
    parts = [f"time={iso_utc(t)}" if t is not None else "time=unknown"]
    if valid_position(r.lat, r.lon):
        parts.append(f"lat={r.lat:.6f} lon={r.lon:.6f}")
    if r.gps_mode is not None:
        parts.append(f"gps_mode={r.gps_mode}")
    if r.gps_error_m is not None:
        parts.append(f"gps_error_m={r.gps_error_m:g}")
    if r.sensor:
        parts.append(f"sensor={r.sensor}")
    cgi = "-".join("?" if x is None else str(x) for x in (r.mcc, r.mnc, r.lac, r.cid))
    parts.append(f"observation={r.observation_id} cell={cgi} arfcn={r.arfcn} bsic={r.bsic}")
    parts.append(f"fn={r.fn} ts={r.ts} channel={r.channel}")
    return " ".join(parts)


def write_pcap(store: Any, target: str | os.PathLike[str] | BinaryIO,
               flt: ExportFilter = ALL) -> int:
    """Writes the frames as GSMTAP pcapng; returns the number of packets."""
    from fbsdetect.export.gsmtap import gsmtap_packet
    from fbsdetect.export.pcap import ipv4_udp

    with PcapngWriter(target) as w:
        for r in frame_rows(store, flt):
            t = r.time or r.obs_time
            frame = L2Frame(arfcn=r.arfcn, fn=int(r.fn), ts=int(r.ts), channel=r.channel, data=bytes(r.data),
                            power_dbm=r.power_dbm, snr_db=r.snr_db)
            w.write_packet(ipv4_udp(gsmtap_packet(frame)), t.timestamp() if t is not None else 0.0,
                           frame_comment(r))
        return w.packets
