"""The node's heartbeat (a `health` record every `health_interval_s`): dongle present,
last successful decode, ppm, temperature where readable, disk, outbox depth, version."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RTL_IDS = {("0bda", "2838"), ("0bda", "2832")}


def dongle_present(source_spec: str) -> bool | None:
    """An RTL2832U on the USB bus (None for sources that are not a dongle)."""
    if not source_spec.startswith("rtlsdr"):
        return None
    for d in Path("/sys/bus/usb/devices").glob("*"):
        try:
            ids = ((d / "idVendor").read_text().strip(), (d / "idProduct").read_text().strip())
        except OSError:
            continue
        if ids in RTL_IDS:
            return True
    return False


def temperature_c() -> float | None:
    """The first readable thermal zone (the SoC on a Raspberry Pi), else None."""
    for z in sorted(Path("/sys/class/thermal").glob("thermal_zone*/temp")):
        try:
            return round(int(z.read_text().strip()) / 1000.0, 1)
        except (OSError, ValueError):
            continue
    return None


def heartbeat(*, node: str, source: str, version: str, outbox: Any, sink: Any, uplink: Any,
              ppm: float | None, started: float) -> dict[str, Any]:
    last = getattr(sink, "last_observation", None) if sink is not None else None
    disk = None
    p = outbox.path
    if p is not None:
        u = shutil.disk_usage(p.parent)
        disk = {"free_mb": round(u.free / 1e6, 1), "total_mb": round(u.total / 1e6, 1),
                "outbox_mb": round(sum(f.stat().st_size for f in p.parent.glob(p.name + "*") if f.is_file())
                                   / 1e6, 2)}
    return {"node": node, "time": datetime.now(UTC).isoformat(), "software_version": version,
            "source": source, "dongle_present": dongle_present(source),
            "last_decode": getattr(last, "time", None) if last is not None else None,
            "observations": getattr(sink, "n_observations", 0) if sink is not None else 0,
            "ppm": ppm, "temperature_c": temperature_c(), "disk": disk, "outbox_depth": outbox.depth(),
            "outbox_full": outbox.full,
            "uplink_connected": bool(getattr(uplink.transport, "connected", False)),
            "uplink_sent": uplink.sent, "uplink_failures": uplink.failures,
            "uplink_refused": int(getattr(uplink.transport, "refused", 0)),
            "uptime_s": round(time.monotonic() - started, 1)}
