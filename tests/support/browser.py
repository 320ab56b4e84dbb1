"""Headless Chromium for tests that look at pages: a screenshot, the console
messages (JavaScript errors) and every network request the page made (from
Chromium's own net log), without a driver or a CDP client."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--no-pings",
         "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,"
         "AutofillServerCommunication,CertificateTransparencyComponentUpdater"]


@dataclass
class PageRun:
    screenshot: Path
    console: list[str]  # console messages and uncaught errors
    errors: list[str]  # the error-level ones
    urls: list[str]  # every URL the page requested (net log; the browser's own requests left out)


def chromium() -> str:
    for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
        if os.path.exists(p):
            return p
    pytest.skip("chromium is not installed (scripts/setup --system installs it)")


def render(page: Path | str, screenshot: Path, *, width: int = 1280, height: int = 900,
           wait_ms: int = 4000) -> PageRun:
    url = page if isinstance(page, str) else page.resolve().as_uri()
    with tempfile.TemporaryDirectory() as prof:
        netlog = Path(prof) / "net.json"
        cmd = [chromium(), *FLAGS, f"--user-data-dir={prof}", "--enable-logging=stderr", "--v=0",
               f"--log-net-log={netlog}", "--net-log-capture-mode=Default",
               f"--window-size={width},{height}", f"--virtual-time-budget={wait_ms}",
               f"--screenshot={screenshot}", url]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        console = [ln for ln in p.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
        errors = [ln for ln in console if re.search(r"Uncaught|Error|error", ln)]
        urls: list[str] = []
        if netlog.exists():
            text = netlog.read_text(errors="replace")
            try:
                log = json.loads(text)
            except json.JSONDecodeError:  # chromium killed before closing the JSON array
                log = json.loads(text.rstrip().rstrip(",") + "]}")
            start_job = log.get("constants", {}).get("logEventTypes", {}).get("URL_REQUEST_START_JOB")
            for ev in log.get("events", []):
                params = ev.get("params") or {}
                u = params.get("url")
                # requests the browser makes for itself (updates, time, accounts) have no
                # initiating origin; everything the page loads has one ("null" for file:)
                if (isinstance(u, str) and ev.get("type") == start_job
                        and params.get("initiator") != "not an origin"):
                    urls.append(u)
        if not screenshot.exists():
            raise AssertionError(f"chromium made no screenshot: {p.stderr[-2000:]}")
    return PageRun(screenshot, console, errors, sorted(set(urls)))


def external(urls: list[str]) -> list[str]:
    """The URLs that leave this machine (anything but file:, data:, localhost and 127.x)."""
    out = []
    for u in urls:
        if re.match(r"^(file:|data:|blob:|about:|chrome:|chrome-error:|http://(127\.|localhost|\[::1\]))", u):
            continue
        out.append(u)
    return out
