"""Prints the scenario table (tests/e2e/runner.py) at the end of a session that ran scenarios."""

from __future__ import annotations

from typing import Any

RESULTS: list[Any] = []  # runner.CaseResult, or (case, why it did not run)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    from tests.e2e import runner

    terminalreporter.section("detection scenarios (tests/corpus/scenes)")
    terminalreporter.write_line(runner.table(RESULTS))
