"""The node's configuration file (TOML, contracts.md section 9; template in firmware/node.toml).

Required: `node` (its name), `server` (URL), `token` (the node's bearer token),
`uplink` ("mqtt" or "https"), `source`, `profile`, `db` (the outbox: a SQLite file).
Optional: `mqtt` (broker URL, default mqtt://<server host>:1883; mqtts:// for TLS),
`mqtt_username` (default: the node name), `mqtt_password`, `ca_file` (TLS CA for
both uplinks), `gps`, `health_interval_s` (60), `batch` (records per HTTPS batch / MQTT
window, 200), `outbox_max_mb` (1024), `min_free_mb` (200), `keep_sent_s` (86400),
`iq_dir` (raw IQ recordings the node may delete first when the disk fills),
`duration_s` (stop after this much radio time; default: forever, a sim: scene's length).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fbsdetect.errors import BadInput
from fbsdetect.i18n import _

REQUIRED = ("node", "server", "token", "uplink", "source", "profile", "db")


@dataclass
class NodeConfig:
    path: str
    node: str
    server: str
    token: str
    uplink: str
    source: str
    profile: str
    db: str
    mqtt: str | None = None
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    ca_file: str | None = None
    gps: str | None = None
    health_interval_s: float = 60.0
    batch: int = 200
    outbox_max_mb: float = 1024.0
    min_free_mb: float = 200.0
    keep_sent_s: float = 86400.0
    iq_dir: str | None = None
    duration_s: float | None = None

    @property
    def db_url(self) -> str:
        return self.db if "://" in self.db else f"sqlite:///{self.db}"

    @property
    def mqtt_url(self) -> str:
        if self.mqtt:
            return self.mqtt
        from urllib.parse import urlparse

        return f"mqtt://{urlparse(self.server).hostname or '127.0.0.1'}:1883"


# the largest value that makes sense for each number (ten years of seconds, a 10 TB outbox)
MAX_NUMBER = {"health_interval_s": 86_400.0, "outbox_max_mb": 1e7, "min_free_mb": 1e7,
              "keep_sent_s": 10 * 365.25 * 86_400.0, "duration_s": 10 * 365.25 * 86_400.0}


def load_config(path: str) -> NodeConfig:
    from fbsdetect.server.auth import NAME_RE

    p = Path(path)
    try:
        raw: dict[str, Any] = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(_("{path}: no such file").format(path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(_("{path}: cannot read: {error}").format(path=path, error=exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(_("{path}: not TOML: {error}").format(path=path, error=exc)) from None
    for k in REQUIRED:
        if not isinstance(raw.get(k), str) or not raw[k]:
            raise BadInput(_("{path}: field {field!r}: a non-empty string is required").format(
                path=path, field=k))
    fields = NodeConfig.__dataclass_fields__
    unknown = sorted(set(raw) - set(fields) - {"path"})
    if unknown:
        known = ", ".join(f for f in fields if f != "path")
        raise BadInput(_("{path}: field {field!r}: unknown (known: {known})").format(
            path=path, field=unknown[0], known=known))
    if not NAME_RE.match(raw["node"]):
        raise BadInput(_("{path}: field 'node': 1-64 characters of A-Z a-z 0-9 _ . -").format(path=path))
    if raw["uplink"] not in ("mqtt", "https"):
        raise BadInput(_("{path}: field 'uplink': 'mqtt' or 'https'").format(path=path))
    if not raw["server"].startswith(("http://", "https://")):
        raise BadInput(_("{path}: field 'server': an http:// or https:// URL").format(path=path))
    for k in ("health_interval_s", "outbox_max_mb", "min_free_mb", "keep_sent_s", "duration_s"):
        # TOML has nan and inf: keep_sent_s = inf switched the disk policy off, nan stopped heartbeats
        if k in raw and (not isinstance(raw[k], int | float) or isinstance(raw[k], bool)
                         or not math.isfinite(raw[k]) or raw[k] <= 0 or raw[k] > MAX_NUMBER[k]):
            raise BadInput(_("{path}: field {field!r}: a positive number up to {top:g}").format(
                path=path, field=k, top=MAX_NUMBER[k]))
    if "batch" in raw and (not isinstance(raw["batch"], int) or not 1 <= raw["batch"] <= 1000):
        raise BadInput(_("{path}: field 'batch': an integer in 1..1000").format(path=path))
    for k in ("mqtt", "mqtt_username", "mqtt_password", "ca_file", "gps", "iq_dir"):
        if k in raw and not isinstance(raw[k], str):
            raise BadInput(_("{path}: field {field!r}: a string").format(path=path, field=k))
    if "ca_file" in raw and not Path(raw["ca_file"]).is_file():
        raise BadInput(_("{path}: field 'ca_file': {ca_file}: no such file").format(
            path=path, ca_file=raw['ca_file']))
    return NodeConfig(path=str(p), **raw)
