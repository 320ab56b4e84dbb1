"""`open_source(spec)`: the one place a `--source` string becomes an `IqSource`.

Specs (contracts.md section 1):

- `rtlsdr`: the first RTL-SDR dongle (`sources/rtlsdr.py`).
- `rtlsdr:SERIAL` / `rtlsdr:INDEX`: the dongle with that serial (as `rtl_eeprom`
  sets it), or at that device index (one or two digits: `rtlsdr:0`; longer
  numbers are serials, e.g. `rtlsdr:00000001`).
- `rtltcp:HOST:PORT`: an `rtl_tcp` server (`sources/rtltcp.py`); `rtltcp:PORT`
  and `rtltcp` mean 127.0.0.1 (port 1234).
- `file:PATH`: a recording replayed as if live (`sources/replay.py`).
- `sim:SCENE.toml`: the scene simulator's virtual dongle (`sources/sim.py`).
- `grgsm[:ARGS]`: not built yet (issue 15).

Dongle options follow the spec after commas: `rtlsdr:00000001,bias-tee,ppm=-3`
(`bias-tee` powers an active antenna or LNA from the dongle, RTL-SDR Blog V3/V4
and rtl_tcp servers that support command 0x0e; `ppm=N` is the tuner's frequency
correction). Every returned source has `exhausted` (False for dongles) and
`serial` (None when the device has none).
"""

from __future__ import annotations

from typing import Any

from fbsdetect.errors import BadUsage, NotAvailable
from fbsdetect.i18n import _, gettext
from fbsdetect.sources.base import IqSource

SPECS_HELP = "rtlsdr[:SERIAL|:INDEX], rtltcp:HOST:PORT, file:PATH, sim:SCENE.toml"
DEFAULT_RTLTCP_PORT = 1234


def _options(parts: list[str], spec: str) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for part in parts:
        key, _, value = part.strip().partition("=")
        key = key.strip().lower().replace("_", "-")
        if key == "bias-tee" and not value:
            opts["bias_tee"] = True
        elif key == "ppm" and value:
            try:
                opts["ppm"] = int(value)
            except ValueError:
                raise BadUsage(gettext("--source {spec!r}: ppm must be an integer, got {value!r}").format(
                    spec=spec, value=value)) from None
        else:
            raise BadUsage(gettext("--source {spec!r}: unknown option {part!r} (expected bias-tee or "
                                   "ppm=N)").format(spec=spec, part=part))
    return opts


def parse_host_port(text: str, spec: str, *, default_port: int) -> tuple[str, int]:
    """`HOST:PORT`, `HOST`, `PORT` or `[V6ADDR]:PORT` -> (host, port)."""
    text = text.strip()
    host, port_text = "127.0.0.1", ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.lstrip(":")
    elif text.isdigit():
        port_text = text
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif text:
        host = text
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise BadUsage(gettext("--source {spec!r}: port {port_text!r} is not a number").format(
            spec=spec, port_text=port_text)) from None
    if not 0 < port < 65536 or not host:
        raise BadUsage(gettext("--source {spec!r}: expected HOST:PORT with a port 1-65535").format(spec=spec))
    return host, port


def open_source(spec: str, **kwargs: Any) -> IqSource:
    """The source a `--source` spec names (module docstring). Keyword arguments
    go to the source's constructor (e.g. `sample_rate_hz`, `center_freq_hz`,
    `gain_db`); options inside the spec win over them."""
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "rtlsdr":
        head, *opt_parts = rest.split(",") if sep else [""]
        kwargs.update(_options(opt_parts, spec))
        head = head.strip()
        from fbsdetect.sources.rtlsdr import RtlSdrSource

        if head.isdigit() and len(head) <= 2:
            return RtlSdrSource(index=int(head), **kwargs)
        return RtlSdrSource(head or None, **kwargs)
    if kind == "rtltcp":
        head, *opt_parts = rest.split(",") if sep else [""]
        kwargs.update(_options(opt_parts, spec))
        host, port = parse_host_port(head, spec, default_port=DEFAULT_RTLTCP_PORT)
        from fbsdetect.sources.rtltcp import RtlTcpSource

        return RtlTcpSource(host, port, **kwargs)
    if kind == "file":
        from fbsdetect.sources.replay import ReplaySource

        if not rest.strip():
            raise BadUsage(_("--source {spec!r}: expected file:PATH").format(spec=spec))
        return ReplaySource.open(rest.strip(), **kwargs)
    if kind == "sim":
        from fbsdetect.sources.sim import SimSource

        if not rest.strip():
            raise BadUsage(_("--source {spec!r}: expected sim:SCENE.toml").format(spec=spec))
        return SimSource.from_path(rest.strip(), **kwargs)
    if kind == "grgsm":
        raise NotAvailable(_("the gr-gsm source (grgsm[:ARGS]) is not built yet (issue 15); use rtlsdr, "
                            "rtltcp:HOST:PORT, file:PATH or sim:SCENE.toml"))
    raise BadUsage(_("--source {spec!r} is not a source: expected {expected}").format(
        spec=spec, expected=SPECS_HELP))
