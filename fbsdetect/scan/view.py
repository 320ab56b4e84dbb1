"""What a running scan shows on stderr: a rich live table when stderr is a
terminal, else (and for -q, nothing but errors) plain log lines."""

from __future__ import annotations

import sys
import time
from typing import Any

ROWS_MAX = 40


class LogView:
    """Plain lines: the runner's log plus one progress line every `every_s` seconds."""

    def __init__(self, stream: Any = None, every_s: float = 10.0, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.quiet = quiet
        self._last = 0.0

    def log(self, line: str) -> None:
        if not self.quiet:
            print(line, file=self.stream, flush=True)

    def update(self, runner: Any) -> None:
        now = time.monotonic()
        if self.quiet or now - self._last < self.every_s:
            return
        self._last = now
        n_done = sum(1 for c in runner.cells.values() if c.complete)
        self.log(f"[{runner.radio_s():7.1f} s] sweep {runner.sweeps + 1} {runner.phase} "
                 f"{runner.step[0]}/{runner.step[1]}: {len(runner.cells)} cells ({n_done} SI complete), "
                 f"{runner.n_revisits} revisits, {runner.overflows} overflows")

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
        if self.closed:
            self.console.print(line)
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

        t = Table(title=f"fbsdetect scan — {runner.spec} ({runner.profile.name})", expand=False,
                  box=box.SIMPLE, pad_edge=False)
        for col in ("ARFCN", "BSIC", "PLMN", "LAC", "CID", "dBm", "SNR", "SI", "first s", "last s", "rev"):
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
            si = "complete" if c.complete else f"{len(c.si)} +{len(c.wanted())}"
            pw = "" if c.power_dbm is None else f"{c.power_dbm:.1f}" + ("" if c.power_ref == "dBm" else " FS")
            style = "bold red" if c.arfcn in suspects else None
            t.add_row(str(c.arfcn), str(c.bsic), plmn, str(c.lac or "?"), str(c.cid or "?"), pw,
                      "" if c.snr_db is None else f"{c.snr_db:.1f}", si, f"{c.first_seen_s:.1f}",
                      f"{c.last_seen_s:.1f}", str(c.n_revisits), style=style)
        f = runner.last_fix
        gps = "GPS: none" if f is None else (
            f"GPS: mode {f.mode} {f.lat:.5f},{f.lon:.5f} ±{f.error_m or 0:.0f} m" if f.has_position
            else f"GPS: mode {f.mode} (no position)")
        head = Text(f"radio {runner.radio_s():.1f} s  sweep {runner.sweeps + 1} {runner.phase} "
                    f"{runner.step[0]}/{runner.step[1]}  revisits {runner.n_revisits}  "
                    f"overflows {runner.overflows}  {gps}")
        alerts = [Text(f"ALERT ARFCN {getattr(a, 'arfcn', '?')} [{getattr(a, 'severity', '?')}] "
                       f"{getattr(a, 'text', a)}", style="red") for a in runner.alerts[-5:]]
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
