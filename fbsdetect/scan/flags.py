"""Which cells the live detector flagged, and how badly: the highest alert
severity per cell identity (ARFCN, BSIC, and the CGI when the alert and the
cell both know it), not per ARFCN. ARFCN reuse is the rule in a drive scan
and a fake usually picks a locally used ARFCN: a legitimate cell on the
fake's ARFCN with another BSIC or CGI is not flagged (no IQ snippets, no
long look-back, no CCCH following on its account, no severity word of
somebody else). An alert that names no BSIC flags its whole ARFCN. One book
is shared by the runners of a multi-source scan (thread-safe)."""

from __future__ import annotations

import threading
from typing import Any

SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3}

Cgi = tuple[int, int, int, int]


def cgi_of(mcc: Any, mnc: Any, lac: Any, cid: Any) -> Cgi | None:
    """(MCC, MNC, LAC, CI) when all four are known, else None."""
    v = (mcc, mnc, lac, cid)
    return tuple(int(x) for x in v) if all(isinstance(x, int) for x in v) else None  # type: ignore[return-value]


class CellFlags:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # ARFCN -> {(BSIC or None, CGI or None): highest severity}
        self._by_arfcn: dict[int, dict[tuple[int | None, Cgi | None], str]] = {}

    def note(self, alert: Any) -> None:
        """Remembers `alert` (`detect.live.Alert`: arfcn, severity, cell = (mcc, mnc, lac, cid, arfcn,
        bsic))."""
        arfcn, sev = getattr(alert, "arfcn", None), str(getattr(alert, "severity", ""))
        cell = tuple(getattr(alert, "cell", ()) or ())
        if len(cell) >= 6 and isinstance(cell[4], int):
            arfcn = cell[4]
        if not isinstance(arfcn, int) or sev not in SEVERITY_RANK:
            return
        bsic = cell[5] if len(cell) >= 6 and isinstance(cell[5], int) else None
        cgi = cgi_of(*cell[:4]) if len(cell) >= 4 else None
        with self._lock:
            d = self._by_arfcn.setdefault(arfcn, {})
            k = (bsic, cgi)
            if SEVERITY_RANK[sev] > SEVERITY_RANK.get(d.get(k, ""), -1):
                d[k] = sev

    def severity(self, arfcn: int, bsic: int | None, cgi: Cgi | None = None) -> str | None:
        """The highest severity of the alerts that cover the cell (ARFCN, BSIC, CGI), None if none."""
        with self._lock:
            d = dict(self._by_arfcn.get(arfcn, {}))
        best: str | None = None
        for (b, c), sev in d.items():
            if b is not None and bsic is not None and b != bsic:
                continue
            if c is not None and cgi is not None and c != cgi:
                continue
            if best is None or SEVERITY_RANK[sev] > SEVERITY_RANK[best]:
                best = sev
        return best
