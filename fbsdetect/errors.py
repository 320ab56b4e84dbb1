"""The one error family users see.

Expected failures of the data (a burst that fails its CRC, a frame that does
not parse) are counted outcomes, not exceptions. Exceptions here are for what
the user must act on; each carries what the user needs to fix it, and the CLI
prints it as one line and maps it to an exit code (contracts.md section 1):
2 for bad usage or bad input, 1 for any other failure.
"""

from __future__ import annotations

import os


class FbsdetectError(Exception):
    """Base of every error the CLI reports to the user as one line."""

    exit_code = 1

    def __init__(self, message: str, *, source: str | os.PathLike[str] | None = None) -> None:
        self.message = message
        self.source = os.fspath(source) if source is not None else None
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = f"{self.source}: {self.message}" if self.source else self.message
        return " ".join(text.split())


class BadInput(FbsdetectError):
    """The user gave a file, field or value that is wrong. Exit code 2."""

    exit_code = 2


class BadUsage(FbsdetectError):
    """The command line itself is wrong. Exit code 2."""

    exit_code = 2


class NotAvailable(FbsdetectError):
    """A feature, device or optional package is not there. Exit code 1."""

    exit_code = 1
