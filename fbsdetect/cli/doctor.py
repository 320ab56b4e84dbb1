"""`fbsdetect doctor`: is this machine ready to scan? One line per check,
OK / WARN / FAIL, and for anything not OK what to do. Exit 0 when nothing
FAILs (a missing dongle or gpsd is a WARN: a `sim:` or `file:` scan still
works), 1 otherwise; a bad `--gps` spec or file is exit 2 as everywhere.

Checks: pyrtlsdr and the librtlsdr it loads (pyrtlsdrlib's bundled build or
the system's, and whether it has the bias-tee call), the kernel's DVB-T
driver (loaded? blacklisted in /etc/modprobe.d?), the udev rules of `udev/`,
RTL2832U dongles on USB (sysfs, 0bda:2838/2832) and access to their
/dev/bus/usb nodes, dongles librtlsdr can open (serial, tuner), gpsd on
127.0.0.1:2947, and the database (reachable, at the newest schema revision;
never created or migrated by the doctor). With `--gps SPEC` it also opens that
GPS and reports the fix it gives within a few seconds.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from fbsdetect.i18n import _, lazy

NAME = "doctor"
HELP = lazy("check drivers, permissions, dongles, gpsd and the database, each with what to fix")

RTL_USB_IDS = {("0bda", "2838"), ("0bda", "2832")}
DVB_MODULES = ("dvb_usb_rtl28xxu", "rtl2832", "rtl2832_sdr")
UDEV_RULES = "99-fbsdetect-rtlsdr.rules"
UDEV_DIRS = ("/etc/udev/rules.d", "/lib/udev/rules.d", "/usr/lib/udev/rules.d")
GPSD_ADDR = ("127.0.0.1", 2947)


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "OK" | "WARN" | "FAIL"
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4} {self.name:<10} {self.detail}"
        return f"{text} -> {self.fix}" if self.fix else text


@dataclass
class Paths:
    """Where the checks look (tests point them at temporary trees)."""

    proc_modules: str = "/proc/modules"
    modprobe_dirs: tuple[str, ...] = ("/etc/modprobe.d", "/lib/modprobe.d", "/usr/lib/modprobe.d")
    udev_dirs: tuple[str, ...] = UDEV_DIRS
    sysfs_usb: str = "/sys/bus/usb/devices"
    dev_usb: str = "/dev/bus/usb"


# -- checks -------------------------------------------------------------------
def check_pyrtlsdr() -> tuple[Check, object | None]:
    try:
        import rtlsdr
    except ImportError:
        return Check(
            "pyrtlsdr",
            "FAIL",
            _("not installed"),
            _("pip install 'fbsdetect[sdr]' (pyrtlsdr + pyrtlsdrlib's librtlsdr builds)"),
        ), None
    except (OSError, AttributeError) as exc:
        return Check(
            "pyrtlsdr",
            "FAIL",
            _("installed but librtlsdr is not usable: {error}").format(error=exc),
            _("pip install pyrtlsdrlib (bundled librtlsdr), or apt install librtlsdr0 >= 2.0"),
        ), None
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("pyrtlsdr")
    except PackageNotFoundError:
        ver = "?"
    return Check("pyrtlsdr", "OK", f"pyrtlsdr {ver}"), rtlsdr


def check_librtlsdr(rtlsdr_mod: object | None) -> Check:
    if rtlsdr_mod is None:
        return Check(
            "librtlsdr", "FAIL", _("not loaded (pyrtlsdr missing or broken)"), "pip install 'fbsdetect[sdr]'"
        )
    import importlib

    try:
        lib = importlib.import_module("rtlsdr.librtlsdr").librtlsdr  # the ctypes CDLL pyrtlsdr loaded
    except Exception:
        lib = None
    path = str(getattr(lib, "_name", "?"))
    bundled = "pyrtlsdrlib" in path
    bias = lib is not None and hasattr(lib, "rtlsdr_set_bias_tee")
    where = _("pyrtlsdrlib's bundled build") if bundled else _("the system's")
    detail = _("{path} ({where}; bias tee {bias})").format(
        path=path, where=where, bias=_("yes") if bias else _("no")
    )
    if not bias:
        return Check(
            "librtlsdr", "WARN", detail, _("no bias tee call: pip install pyrtlsdrlib for a newer librtlsdr")
        )
    return Check("librtlsdr", "OK", detail)


def _blacklisted(paths: Paths) -> list[str]:
    found = []
    for d in paths.modprobe_dirs:
        for f in sorted(glob.glob(os.path.join(d, "*.conf"))):
            try:
                text = Path(f).read_text(errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                words = line.split("#", 1)[0].split()
                if len(words) >= 2 and words[0] == "blacklist" and words[1] == "dvb_usb_rtl28xxu":
                    found.append(f)
    return found


def check_dvb_driver(paths: Paths) -> Check:
    try:
        loaded = {line.split()[0] for line in Path(paths.proc_modules).read_text().splitlines() if line}
    except OSError:
        loaded = None
    black = _blacklisted(paths)
    fix_bl = "sudo cp udev/blacklist-rtl28xxu.conf /etc/modprobe.d/"
    if loaded is not None and "dvb_usb_rtl28xxu" in loaded:
        return Check(
            "dvb",
            "FAIL",
            _("the DVB-T driver dvb_usb_rtl28xxu is loaded and claims RTL2832U dongles"),
            f"sudo modprobe -r dvb_usb_rtl28xxu{'' if black else '; ' + fix_bl}",
        )
    if black:
        return Check(
            "dvb",
            "OK",
            _("dvb_usb_rtl28xxu blacklisted ({file})").format(file=black[0])
            + ("" if loaded is not None else _("; loaded modules not readable")),
        )
    where = (
        _("not loaded now")
        if loaded is not None
        else _("({file} not readable)").format(file=paths.proc_modules)
    )
    return Check(
        "dvb",
        "WARN",
        _(
            "the DVB-T driver dvb_usb_rtl28xxu is {where} but not blacklisted: plugging in "
            "a dongle loads it (usb_claim_interface error -6)"
        ).format(where=where),
        fix_bl,
    )


def check_udev(paths: Paths) -> Check:
    for d in paths.udev_dirs:
        if os.path.exists(os.path.join(d, UDEV_RULES)):
            return Check("udev", "OK", _("{file} installed").format(file=os.path.join(d, UDEV_RULES)))
        for f in glob.glob(os.path.join(d, "*.rules")):
            try:
                text = Path(f).read_text(errors="replace")
            except OSError:
                continue
            if "0bda" in text and ("2838" in text or "2832" in text):
                return Check("udev", "OK", _("RTL-SDR rules in {file}").format(file=f))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Check(
            "udev",
            "WARN",
            _("no RTL-SDR udev rules (fine while running as root, not for a user)"),
            f"sudo cp udev/{UDEV_RULES} /etc/udev/rules.d/ && sudo udevadm control --reload",
        )
    return Check(
        "udev",
        "FAIL",
        _("no RTL-SDR udev rules: a normal user cannot open the dongle"),
        f"sudo cp udev/{UDEV_RULES} /etc/udev/rules.d/ && sudo udevadm control --reload "
        "&& sudo udevadm trigger; sudo usermod -aG plugdev $USER",
    )


def usb_dongles(paths: Paths) -> list[tuple[str, str, str]]:
    """(sysfs name, /dev/bus/usb node, product string) of RTL2832U devices on USB."""
    out = []
    for d in sorted(glob.glob(os.path.join(paths.sysfs_usb, "*"))):
        try:
            vid = Path(d, "idVendor").read_text().strip().lower()
            pid = Path(d, "idProduct").read_text().strip().lower()
        except OSError:
            continue
        if (vid, pid) not in RTL_USB_IDS:
            continue
        try:
            bus = int(Path(d, "busnum").read_text())
            dev = int(Path(d, "devnum").read_text())
            node = os.path.join(paths.dev_usb, f"{bus:03d}", f"{dev:03d}")
        except (OSError, ValueError):
            node = ""
        try:
            product = Path(d, "product").read_text().strip()
        except OSError:
            product = f"{vid}:{pid}"
        out.append((os.path.basename(d), node, product))
    return out


def check_usb(paths: Paths) -> Check:
    found = usb_dongles(paths)
    if not found:
        where = (
            paths.sysfs_usb
            if os.path.isdir(paths.sysfs_usb)
            else _("{path} (absent)").format(path=paths.sysfs_usb)
        )
        return Check(
            "usb",
            "WARN",
            _("no RTL2832U dongle (USB 0bda:2838/2832) in {where}").format(where=where),
            _("plug a dongle in (a container or VM needs the USB device passed through)"),
        )
    denied = [node for _, node, _ in found if node and not os.access(node, os.R_OK | os.W_OK)]
    names = ", ".join(
        _("{product} at {node}").format(product=product, node=node or name) for name, node, product in found
    )
    if denied:
        return Check(
            "usb",
            "FAIL",
            _("{names}; no read/write access to {nodes}").format(names=names, nodes=", ".join(denied)),
            _("install udev/{rules}, join the plugdev group and replug the dongle").format(rules=UDEV_RULES),
        )
    return Check("usb", "OK", names)


def check_dongles(rtlsdr_mod: object | None, opener: Callable[[int], tuple[str, str]] | None = None) -> Check:
    if rtlsdr_mod is None:
        return Check(
            "dongles", "WARN", _("not checked (pyrtlsdr not usable)"), "pip install 'fbsdetect[sdr]'"
        )
    rtl = rtlsdr_mod.RtlSdr  # type: ignore[attr-defined]
    try:
        serials = list(rtl.get_device_serial_addresses())
    except Exception as exc:
        return Check(
            "dongles",
            "FAIL",
            _("librtlsdr cannot list devices: {error}").format(error=exc),
            _("check the USB permissions (udev rules) and the DVB driver above"),
        )
    if not serials:
        return Check(
            "dongles",
            "WARN",
            _("librtlsdr finds no RTL-SDR dongle"),
            _("plug one in; a scan can still run on sim:SCENE.toml or file:RECORDING"),
        )

    def open_one(i: int) -> tuple[str, str]:
        from fbsdetect.sources.rtlsdr import TUNER_NAMES

        dev = rtl(device_index=i)
        try:
            return serials[i], TUNER_NAMES.get(int(dev.get_tuner_type()), "unknown")
        finally:
            dev.close()

    parts, failed = [], []
    for i, serial in enumerate(serials):
        try:
            s, tuner = (opener or open_one)(i)
            parts.append(_("#{i} serial {serial} tuner {tuner}").format(i=i, serial=s, tuner=tuner))
        except Exception as exc:
            failed.append(_("#{i} serial {serial}: {error}").format(i=i, serial=serial, error=exc))
    warn = len({s for s in serials}) < len(serials)
    if warn:
        parts.append(_("(duplicate serials: set unique ones with rtl_eeprom -s to tell dongles apart)"))
    if failed:
        return Check(
            "dongles",
            "FAIL",
            "; ".join(parts + failed),
            _("in use by another program, or claimed by the DVB driver (see above)"),
        )
    tuners = " ".join(parts)
    return Check("dongles", "WARN" if warn else "OK", tuners, "rtl_eeprom -d N -s UNIQUE" if warn else "")


def check_gpsd(addr: tuple[str, int] = GPSD_ADDR) -> Check:
    host, port = addr
    try:
        with socket.create_connection(addr, timeout=1.0) as s:
            s.settimeout(1.0)
            first = s.recv(4096).decode("utf-8", errors="replace").splitlines()
    except OSError as exc:
        return Check(
            "gpsd",
            "WARN",
            _("gpsd not reachable on {host}:{port} ({error})").format(
                host=host, port=port, error=exc.strerror or exc
            ),
            _(
                "apt install gpsd and point it at the receiver, or scan with --gps nmea:/dev/ttyACM0, "
                "gpx:FILE or fixed:LAT,LON"
            ),
        )
    release = "?"
    for line in first:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("class") == "VERSION":
            release = str(msg.get("release", "?"))
    if release == "?":
        return Check(
            "gpsd",
            "WARN",
            _("something listens on {host}:{port} but it does not greet like gpsd").format(
                host=host, port=port
            ),
        )
    return Check(
        "gpsd", "OK", _("gpsd {release} on {host}:{port}").format(release=release, host=host, port=port)
    )


def check_database(url: str) -> Check:
    from sqlalchemy.engine import make_url

    try:
        u = make_url(url)
    except Exception as exc:
        from fbsdetect.store.db import shown_url

        return Check(
            "database",
            "FAIL",
            _("{db}: not a database URL ({error})").format(db=shown_url(url), error=exc),
            _("give --db sqlite:///FILE or postgresql://USER@HOST/DB"),
        )
    shown = u.render_as_string(hide_password=True)
    if (
        u.drivername.startswith("sqlite")
        and u.database not in (None, "", ":memory:")
        and not os.path.exists(u.database or "")
    ):
        return Check(
            "database",
            "WARN",
            _("{db} does not exist yet").format(db=shown),
            _("fbsdetect db upgrade (a scan also creates it)"),
        )
    try:
        from fbsdetect.store import db as store_db
    except ImportError:
        return Check("database", "WARN", _("{db}: not checked (the store is not built)").format(db=shown))
    engine = None
    try:
        engine = store_db.make_engine(url)
        current = store_db.current_revision(engine)
        head = store_db.head_revision()
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        why = reason[0] if reason else type(exc).__name__
        return Check(
            "database",
            "FAIL",
            _("{db} not reachable: {error}").format(db=shown, error=why),
            _("start the database server or fix --db / $FBSDETECT_DB"),
        )
    finally:
        if engine is not None:
            engine.dispose()
    if current == head:
        return Check("database", "OK", _("{db} at schema {head}").format(db=shown, head=head))
    if current is None:
        return Check(
            "database",
            "WARN",
            _("{db} reachable, no fbsdetect schema yet").format(db=shown),
            "fbsdetect db upgrade",
        )
    return Check(
        "database",
        "WARN",
        _("{db} at schema {current}, newest is {head}").format(db=shown, current=current, head=head),
        "fbsdetect db upgrade",
    )


def check_gps(spec: str, wait_s: float) -> Check:
    """Opens the GPS (bad specs and files raise BadUsage/BadInput: exit 2) and waits briefly for a fix."""
    from datetime import UTC, datetime

    from fbsdetect.geo import open_gps
    from fbsdetect.geo.gps import TrackReplay

    g = open_gps(spec)
    try:
        if isinstance(g, TrackReplay):
            if not g.fixes:
                return Check("gps", "WARN", _("{spec}: the log holds no fix").format(spec=spec))
            good = sum(1 for f in g.fixes if f.has_position)
            skipped = {
                k: v for k, v in g.stats.items() if k in ("bad_checksum", "truncated", "unparsed") and v
            }
            return Check(
                "gps",
                "OK",
                _("{spec}: {n} fixes ({good} with a position) from {start} to {end} UTC").format(
                    spec=spec,
                    n=len(g.fixes),
                    good=good,
                    start=f"{g.start:%Y-%m-%d %H:%M:%S}",
                    end=f"{g.end:%H:%M:%S}",
                )
                + (_("; skipped {what}").format(what=skipped) if skipped else ""),
            )
        deadline = time.monotonic() + wait_s
        fix = g.fix_at(datetime.now(UTC))
        while fix.mode < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            fix = g.fix_at(datetime.now(UTC))
        if fix.mode >= 2:
            err = _(", error {m:.0f} m").format(m=fix.error_m) if fix.error_m is not None else ""
            return Check(
                "gps",
                "OK",
                _("{spec}: {mode}D fix {lat:.5f}, {lon:.5f}{error}").format(
                    spec=spec, mode=fix.mode, lat=fix.lat, lon=fix.lon, error=err
                ),
            )
        return Check(
            "gps",
            "WARN",
            _("{spec}: no fix within {s:.0f} s (mode {mode})").format(spec=spec, s=wait_s, mode=fix.mode),
            _("give the antenna open sky; a scan runs anyway, its observations marked gps_mode 0"),
        )
    finally:
        g.close()


def run_checks(args: argparse.Namespace, paths: Paths | None = None) -> Iterator[Check]:
    paths = paths or Paths()
    pyr, mod = check_pyrtlsdr()
    yield pyr
    yield check_librtlsdr(mod)
    yield check_dvb_driver(paths)
    yield check_udev(paths)
    yield check_usb(paths)
    yield check_dongles(mod)
    yield check_gpsd()
    if getattr(args, "gps", None):
        yield check_gps(args.gps, args.gps_wait)
    from fbsdetect.cli._common import db_url

    yield check_database(db_url(args))


# -- CLI ----------------------------------------------------------------------
def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--gps",
        metavar="SPEC",
        help=_(
            "also open this GPS (gpsd[:HOST:PORT], nmea:FILE_OR_DEVICE, gpx:FILE, fixed:LAT,LON) "
            "and report its fix"
        ),
    )
    p.add_argument(
        "--gps-wait",
        type=float,
        default=5.0,
        metavar="S",
        help=_("how long to wait for a live GPS fix (default 5 s)"),
    )
    p.add_argument("--json", action="store_true", help=_("one JSON object per check on stdout"))


def run(args: argparse.Namespace) -> int:
    failed = False
    for check in run_checks(args):
        failed |= check.status == "FAIL"
        if args.json:
            print(json.dumps(asdict(check)), flush=True)
        else:
            print(check.line(), flush=True)
    if not args.json:
        print(
            _("not ready: fix the FAIL lines above") if failed else _("ready (WARN lines are worth a look)"),
            file=sys.stderr,
        )
    return 1 if failed else 0
