"""`fbsdetect doctor`: each check against a prepared tree or service, and the
whole command on this machine (no dongle here: it must say so, not crash)."""

from __future__ import annotations

import json
import os
import socket
import threading
import types
from pathlib import Path

import pytest

from fbsdetect.cli import doctor
from fbsdetect.cli.doctor import Paths
from fbsdetect.cli.main import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def paths(tmp_path: Path) -> Paths:
    (tmp_path / "modprobe.d").mkdir()
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "usb").mkdir()
    (tmp_path / "dev").mkdir()
    return Paths(proc_modules=str(tmp_path / "modules"), modprobe_dirs=(str(tmp_path / "modprobe.d"),),
                 udev_dirs=(str(tmp_path / "rules.d"),), sysfs_usb=str(tmp_path / "usb"),
                 dev_usb=str(tmp_path / "dev"))


def test_dvb_driver_loaded_blacklisted_or_neither(tmp_path: Path) -> None:
    p = paths(tmp_path)
    Path(p.proc_modules).write_text("dvb_usb_rtl28xxu 45056 0 - Live 0x0\nrtl2832 28672 1 - Live 0x0\n")
    c = doctor.check_dvb_driver(p)
    assert c.status == "FAIL" and "modprobe -r dvb_usb_rtl28xxu" in c.fix
    Path(p.proc_modules).write_text("ext4 1 0 - Live 0x0\n")
    assert doctor.check_dvb_driver(p).status == "WARN"
    (tmp_path / "modprobe.d" / "rtl.conf").write_text("# no DVB\nblacklist dvb_usb_rtl28xxu\n")
    assert doctor.check_dvb_driver(p).status == "OK"


def test_udev_rules(tmp_path: Path) -> None:
    p = paths(tmp_path)
    assert doctor.check_udev(p).status in ("WARN", "FAIL")  # WARN as root, FAIL for a user
    (tmp_path / "rules.d" / "99-fbsdetect-rtlsdr.rules").write_text("# rules\n")
    assert doctor.check_udev(p).status == "OK"


def test_usb_dongle_and_its_node(tmp_path: Path) -> None:
    p = paths(tmp_path)
    c = doctor.check_usb(p)
    assert c.status == "WARN" and "plug a dongle in" in c.fix
    d = tmp_path / "usb" / "1-1.2"
    d.mkdir()
    for name, value in [("idVendor", "0bda"), ("idProduct", "2838"), ("busnum", "1"), ("devnum", "5"),
                        ("product", "RTL2838UHIDIR")]:
        (d / name).write_text(value + "\n")
    (tmp_path / "dev" / "001").mkdir()
    node = tmp_path / "dev" / "001" / "005"
    node.write_bytes(b"")
    c = doctor.check_usb(p)
    assert c.status == "OK" and "RTL2838UHIDIR" in c.detail and str(node) in c.detail
    if os.geteuid() != 0:
        node.chmod(0o400)
        assert doctor.check_usb(p).status == "FAIL"


def fake_rtlsdr(serials: list[str]) -> types.ModuleType:
    class RtlSdr:
        @staticmethod
        def get_device_serial_addresses() -> list[str]:
            return serials

    mod = types.ModuleType("rtlsdr")
    mod.RtlSdr = RtlSdr  # type: ignore[attr-defined]
    return mod


def test_dongles_none_one_and_duplicates() -> None:
    c = doctor.check_dongles(fake_rtlsdr([]))
    assert c.status == "WARN" and "no RTL-SDR dongle" in c.detail and "sim:" in c.fix
    c = doctor.check_dongles(fake_rtlsdr(["00000101"]), opener=lambda i: ("00000101", "R820T"))
    assert c.status == "OK" and "serial 00000101 tuner R820T" in c.detail
    c = doctor.check_dongles(fake_rtlsdr(["00000001", "00000001"]), opener=lambda i: ("00000001", "R828D"))
    assert c.status == "WARN" and "rtl_eeprom" in c.fix

    def busy(i: int) -> tuple[str, str]:
        raise OSError("usb_claim_interface error -6")

    assert doctor.check_dongles(fake_rtlsdr(["1"]), opener=busy).status == "FAIL"
    assert doctor.check_dongles(None).status == "WARN"


def test_gpsd_reachable_or_not() -> None:
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def greet() -> None:
        conn, _ = srv.accept()
        conn.sendall(b'{"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3}\n')
        conn.close()

    threading.Thread(target=greet, daemon=True).start()
    c = doctor.check_gpsd(("127.0.0.1", port))
    srv.close()
    assert c.status == "OK" and "gpsd 3.22" in c.detail
    c = doctor.check_gpsd(("127.0.0.1", port))
    assert c.status == "WARN" and "--gps" in c.fix


def test_database_missing_migrated_unreachable(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    c = doctor.check_database(f"sqlite:///{db}")
    assert c.status == "WARN" and "db upgrade" in c.fix and not db.exists()  # never created by the doctor
    from fbsdetect.store import open_store

    open_store(f"sqlite:///{db}").close()
    assert doctor.check_database(f"sqlite:///{db}").status == "OK"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = doctor.check_database(f"postgresql://nobody@127.0.0.1:{port}/nothing")
    assert c.status == "FAIL" and "not reachable" in c.detail


def test_database_check_never_shows_the_password() -> None:
    for url in ("postgresql://u:s3cr3t@127.0.0.1:port/x", "mysql://u:s3cr3t@127.0.0.1/x"):
        c = doctor.check_database(url)
        assert c.status == "FAIL" and "s3cr3t" not in c.detail, c.detail


def test_whole_command_on_this_machine(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, "doctor", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    lines = out.strip().splitlines()
    assert code in (0, 1) and "Traceback" not in err
    assert len(lines) >= 8 and all(line.split()[0] in ("OK", "WARN", "FAIL") for line in lines)
    names = [line.split()[1] for line in lines]
    assert {"pyrtlsdr", "dvb", "udev", "usb", "dongles", "gpsd", "database"} <= set(names)
    assert code == (1 if any(line.startswith("FAIL") for line in lines) else 0)


def test_gps_option(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _code, out, _ = run_cli(capsys, "doctor", "--json", "--gps", "fixed:31.2,121.4",
                           "--db", f"sqlite:///{tmp_path / 'none.db'}")
    checks = [json.loads(line) for line in out.splitlines()]
    gps = next(c for c in checks if c["name"] == "gps")
    assert gps["status"] == "OK" and "31.20000" in gps["detail"]


def test_a_gpx_that_is_not_xml_is_exit_2_with_one_line(capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path) -> None:
    bad = tmp_path / "track.gpx"
    bad.write_text("not xml at all\n")
    code, _, err = run_cli(capsys, "doctor", "--gps", f"gpx:{bad}", "--db", f"sqlite:///{tmp_path / 'n.db'}")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and str(bad) in err and "Traceback" not in err
