"""What a running scan shows on stderr: a rich live table when stderr is a
terminal, else (and for -q, nothing but errors) plain log lines."""

from __future__ import annotations

import sys
import time
from typing import Any

from fbsdetect.terminal import printable

ROWS_MAX = 40


class LogView:
    """Plain lines: the runner's log plus one progress line every `every_s` seconds."""

    def __init__(self, stream: Any = None, every_s: float = 10.0, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.quiet = quiet
        self._last = 0.0

    def log(self, line: str) -> None:
        if not self.quiet:  # a line may quote what a cell sent: no control character gets through
            print(printable(line), file=self.stream, flush=True)

    def update(self, runner: Any) -> None:
        now = time.monotonic()
        if self.quiet or now - self._last < self.every_s:
            return
        self._last = now
        n_done = sum(1 for c in runner.cells.values() if c.complete)
        from fbsdetect.i18n import _

        self.log(f"[{runner.radio_s():7.1f} s] " + _(
            "sweep {sweep} {phase} {step}/{steps}: {cells} cells ({done} SI complete), {revisits} revisits, "
            "{overflows} overflows").format(sweep=runner.sweeps + 1, phase=runner.phase, step=runner.step[0],
                                            steps=runner.step[1], cells=len(runner.cells), done=n_done,
                                            revisits=runner.n_revisits, overflows=runner.overflows))

    def close(self) -> None:
        pass


class LiveView:
    """A rich table of cells, the GPS fix, sweep progress, overflows and alerts."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=True)
        self.live = Live(console=self.console, refresh_per_second=2, transient=False)
        self.live.start()
        self.closed = False
        self.lines: list[str] = []
        self._last = 0.0

    def log(self, line: str) -> None:
        line = printable(line)  # a line may quote what a cell sent (terminal.py); no rich markup either
        if self.closed:
            self.console.print(line, markup=False, highlight=False)
        else:
            self.lines = [*self.lines, line][-6:]

    def update(self, runner: Any) -> None:
        now = time.monotonic()
        if now - self._last < 0.4:
            return
        self._last = now
        self.live.update(self._render(runner))

    def _render(self, runner: Any) -> Any:
        from rich import box
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        from fbsdetect.i18n import _, severity_word

        t = Table(title=f"fbsdetect scan — {runner.spec} ({runner.profile.name})", expand=False,
                  box=box.SIMPLE, pad_edge=False)
        for col in ("ARFCN", "BSIC", "PLMN", "LAC", "CID", "dBm", "SNR", "SI", _("first s"), _("last s"),
                    _("rev")):
            t.add_column(col, justify="right", no_wrap=True)
        suspects = set()
        if runner.detector is not None:
            try:
                suspects = set(runner.detector.suspect_arfcns())
            except Exception:
                suspects = set()
        cells = sorted(runner.cells.values(), key=lambda c: (c.arfcn, c.bsic))[:ROWS_MAX]
        for c in cells:
            plmn = f"{c.mcc}-{c.mnc:02d}" if c.mcc is not None and c.mnc is not None else "?"
            si = _("complete") if c.complete else f"{len(c.si)} +{len(c.wanted())}"
            pw = "" if c.power_dbm is None else f"{c.power_dbm:.1f}" + ("" if c.power_ref == "dBm" else " FS")
            style = "bold red" if c.arfcn in suspects else None
            t.add_row(str(c.arfcn), str(c.bsic), plmn, str(c.lac or "?"), str(c.cid or "?"), pw,
                      "" if c.snr_db is None else f"{c.snr_db:.1f}", si, f"{c.first_seen_s:.1f}",
                      f"{c.last_seen_s:.1f}", str(c.n_revisits), style=style)
        f = runner.last_fix
        gps = _("GPS: none") if f is None else (
            _("GPS: mode {mode} {lat:.5f},{lon:.5f} ±{error:.0f} m").format(
                mode=f.mode, lat=f.lat, lon=f.lon, error=f.error_m or 0) if f.has_position
            else _("GPS: mode {mode} (no position)").format(mode=f.mode))
        head = Text(_("radio {radio:.1f} s  sweep {sweep} {phase} {step}/{steps}  revisits {revisits}  "
                      "overflows {overflows}  {gps}").format(
            radio=runner.radio_s(), sweep=runner.sweeps + 1, phase=runner.phase, step=runner.step[0],
            steps=runner.step[1], revisits=runner.n_revisits, overflows=runner.overflows, gps=gps))
        alerts = [
            Text(
                _("ALERT ARFCN {arfcn} [{severity}] {text}").format(
                    arfcn=getattr(a, "arfcn", "?"),
                    severity=severity_word(getattr(a, "severity", "?")),
                    text=printable(getattr(a, "text", a)),
                ),
                style="red",
            )
            for a in runner.alerts[-5:]
        ]
        return Group(head, t, *alerts, *[Text(s, style="dim") for s in self.lines])

    def close(self) -> None:
        self.live.stop()
        self.closed = True


def make_view(quiet: bool = False) -> LogView | LiveView:
    if not quiet and sys.stderr.isatty():
        try:
            return LiveView()
        except ImportError:
            pass
    return LogView(quiet=quiet)
