"""gr-gsm as a subprocess backend (issue 15): discovery, the process's life,
and its frames as `L2Frame`s for the same sysinfo -> detect -> store path as
the native receiver's.

The flowgraph (`flowgraph.py` beside this file) runs under Debian's
/usr/bin/python3 with GNU Radio 3.10 and gr-gsm; it prints one JSON line per
decoded frame on stdout (no UDP port, so two runs never fight over one).

Process hygiene: the child runs in its own session (Ctrl-C in the terminal
reaches only fbsdetect, which then stops it), with the kernel's parent-death
signal set, so that it dies with fbsdetect even when fbsdetect is killed
with SIGKILL; `GrgsmProcess` sends SIGTERM to the child's whole process
group on exit, then SIGKILL after a grace period, and reaps it (no
zombies). While it runs, SIGTERM to fbsdetect is turned into a clean stop.
A child that prints nothing for `hang_s` seconds is killed and reported as
hung; one that exits with an error is reported with the tail of its stderr.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fbsdetect.errors import BadUsage, NotAvailable
from fbsdetect.i18n import N_, _, gettext
from fbsdetect.types import L2Frame

log = logging.getLogger(__name__)

SYSTEM_PYTHON = "/usr/bin/python3"
FLOWGRAPH = Path(__file__).with_name("flowgraph.py")
INSTALL_HINT = N_("install Debian's gr-gsm (apt-get install gr-gsm) or use the native receiver")


@dataclass(frozen=True)
class GrgsmInfo:
    python: str
    gnuradio_version: str
    grgsm_version: str


_INFO: GrgsmInfo | None = None


def find_grgsm(python: str | None = None) -> GrgsmInfo:
    """Checks that GNU Radio and gr-gsm import under the system Python; BadUsage (exit 2) if not."""
    global _INFO
    if _INFO is not None and python is None:
        return _INFO
    py = python or os.environ.get("FBSDETECT_GRGSM_PYTHON", SYSTEM_PYTHON)
    if not os.path.exists(py):
        raise BadUsage(gettext("gr-gsm backend: {py} not found; {install_hint}").format(
            py=py, install_hint=gettext(INSTALL_HINT)))
    code = ("from gnuradio import gr, gsm; import sys; "
            "sys.stdout.write(gr.version() + ' ' + '.'.join(map(str, (gsm.major_version(), "
            "gsm.api_version(), gsm.minor_version()))))")
    try:
        r = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadUsage(gettext("gr-gsm backend: {py} does not run ({error}); {install_hint}").format(
            py=py, error=exc, install_hint=gettext(INSTALL_HINT))) from None
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        raise BadUsage(gettext("gr-gsm backend: GNU Radio / gr-gsm do not import under {py} ({last}); "
                              "{install_hint}").format(
            py=py, last=last, install_hint=gettext(INSTALL_HINT)))
    gr_v, _, gsm_v = r.stdout.strip().partition(" ")
    if not gr_v.startswith("3.10") and not gr_v.startswith("3.9"):
        log.warning("gr-gsm backend: GNU Radio %s is untested (3.10 expected)", gr_v)
    info = GrgsmInfo(py, gr_v, gsm_v)
    if python is None:
        _INFO = info
    return info


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class GrgsmProcess:
    """One run of the flowgraph; iterate it for L2Frames (see module docstring)."""

    def __init__(self, args: list[str], *, hang_s: float = 60.0, grace_s: float = 3.0,
                 python: str | None = None) -> None:
        self.info = find_grgsm(python)
        self.cmd = [self.info.python, str(FLOWGRAPH), *args]
        self.hang_s = hang_s
        self.grace_s = grace_s
        self.arfcns: list[int] = []
        self.frames = 0
        self.proc: subprocess.Popen[str] | None = None
        self._stderr: list[str] = []
        self._old_term: Any = None

    def __enter__(self) -> GrgsmProcess:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True, preexec_fn=_set_pdeathsig, bufsize=1)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        if threading.current_thread() is threading.main_thread():
            self._old_term = signal.signal(signal.SIGTERM, self._on_term)
        return self

    def _on_term(self, _sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            if "avx" in line or "CPU Features" in line:
                continue
            self._stderr.append(line.rstrip())
            del self._stderr[:-40]

    def __iter__(self) -> Iterator[L2Frame]:
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout
        last = [time.monotonic()]
        done = threading.Event()

        def watchdog() -> None:
            while not done.wait(1.0):
                if time.monotonic() - last[0] > self.hang_s and self.proc is not None \
                        and self.proc.poll() is None:
                    log.error("gr-gsm printed nothing for %.0f s: stopping it", self.hang_s)
                    self._kill_group(signal.SIGKILL)
                    return

        threading.Thread(target=watchdog, daemon=True).start()
        ended = False
        try:
            for line in out:
                last[0] = time.monotonic()
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if rec.get("event") == "start":
                    self.arfcns = list(rec.get("arfcns", []))
                    continue
                if rec.get("event") == "end":
                    ended = True
                    continue
                if rec.get("uplink"):
                    continue
                try:
                    data = bytes.fromhex(rec["hex"])
                except (KeyError, ValueError):
                    continue
                if len(data) != 23:
                    continue
                self.frames += 1
                yield L2Frame(arfcn=int(rec["arfcn"]), fn=int(rec["fn"]), ts=int(rec["ts"]),
                              channel=str(rec["channel"]), data=data, time_s=None,
                              power_dbm=float(rec["signal_dbm"]), snr_db=None)
        finally:
            done.set()
        rc = self.proc.wait()
        if not ended:
            tail = " | ".join(self._stderr[-3:]) or "no message"
            if rc == -signal.SIGKILL or rc == 137:
                raise NotAvailable(_("gr-gsm hung (no output for {hang_s:.0f} s) and was stopped").format(
                    hang_s=self.hang_s))
            raise NotAvailable(_("gr-gsm stopped with exit code {rc}: {tail}").format(rc=rc, tail=tail))

    def _kill_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def __exit__(self, *exc: object) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self._kill_group(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=self.grace_s)
                except subprocess.TimeoutExpired:
                    self._kill_group(signal.SIGKILL)
                    self.proc.wait(timeout=10)
            # whatever the flowgraph left in its group (it should leave nothing)
            self._kill_group(signal.SIGKILL)
            if self.proc is not None:
                for f in (self.proc.stdout, self.proc.stderr):
                    if f is not None:
                        f.close()
        finally:
            if self._old_term is not None:
                signal.signal(signal.SIGTERM, self._old_term)
                self._old_term = None


def file_args(path: str | os.PathLike[str], *, fmt: str, sample_rate_hz: float, center_freq_hz: float,
              arfcns: list[int] | None = None, ppm: float = 0.0) -> list[str]:
    """Flowgraph arguments for a capture file (cf32/cfile, cu8 or ci8)."""
    fmts = {"cf32": "cf32", "cfile": "cf32", "cf32_le": "cf32", "cu8": "cu8", "ci8": "ci8", "cs8": "ci8"}
    if fmt not in fmts:
        raise BadUsage(_("the gr-gsm backend reads cf32, cu8 and ci8 captures, not {fmt}").format(fmt=fmt))
    args = ["--file", os.fspath(path), "--format", fmts[fmt], "--rate", repr(float(sample_rate_hz)),
            "--freq", repr(float(center_freq_hz)), "--ppm", repr(float(ppm))]
    for a in arfcns or []:
        args += ["--arfcn", str(a)]
    return args


def device_args(osmosdr: str, *, sample_rate_hz: float, center_freq_hz: float, gain_db: float | None,
                ppm: float = 0.0, arfcns: list[int] | None = None) -> list[str]:
    args = ["--osmosdr", osmosdr, "--rate", repr(float(sample_rate_hz)),
            "--freq", repr(float(center_freq_hz)), "--ppm", repr(float(ppm))]
    if gain_db is not None:
        args += ["--gain", repr(float(gain_db))]
    for a in arfcns or []:
        args += ["--arfcn", str(a)]
    return args
