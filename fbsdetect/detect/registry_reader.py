"""The child process that reads and parses a big registry file while the importing process
writes (`registry_import._read_rows_in_child`): `python -m fbsdetect.detect.registry_reader`."""

from __future__ import annotations

if __name__ == "__main__":
    from fbsdetect.detect.registry_import import child_reader_main

    raise SystemExit(child_reader_main())
