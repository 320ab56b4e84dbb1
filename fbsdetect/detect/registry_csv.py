"""Reading registry CSV files, streaming: OpenCellID / MLS exports and
licensed-site lists from operators or regulators. Pure parsing, no database.

Formats (detected from the header line, case-insensitive, any column order,
unknown columns ignored):

- OpenCellID / MLS (contracts.md section 6):
  `radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal`;
  `area` is the LAC (GSM) or TAC, `cell` the cell id, `range` metres,
  `created`/`updated` Unix seconds. Required: radio, mcc, net, area, cell, lon, lat.
  A file without a header whose first line is a 14-field OpenCellID row is read
  in that column order (OpenCellID's own `cell_towers.csv.gz` has a header;
  some mirrors strip it), and the report says so.
- licensed sites: `date_start,date_end,radio,mcc,mnc,lac,ci,lon,lat,azimuth,arfcn,bsic`;
  arfcn/bsic/azimuth/date_* may be absent or empty (`cid` is accepted for `ci`).
  Dates are ISO-8601 (`2024-05-01`, `2024-05-01T00:00:00Z`) or Unix seconds.

Bytes, not text, are read line by line (at most `MAX_LINE_BYTES` a line), so a
40-million-row file, or a binary file without newlines, costs constant memory.
gzip, bzip2 and xz compression are recognised by their magic bytes. The text
must be ASCII/UTF-8 (a UTF-8 BOM is skipped); a UTF-16/32 file is refused as a
whole (`BadInput`: nothing in it can be read as CSV); a line with bytes that
are not UTF-8 (e.g. Latin-1) is rejected on its own, with its line number. A
compressed stream that ends early or is corrupt stops the reading: the rows
before are kept and `LineReader.damage` says after which line it broke.

Every data line comes out of `RowParser.parse` either as a `row` tuple in its
format's column order (`RowParser.columns`: `OPENCELLID_ROW` or `LICENSED_ROW`,
both starting with radio, mcc, mnc, lac, cid, lon, lat) or as a one-line
reason ("mcc 'abc' is not a number").
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import math
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import numpy as np

from fbsdetect.errors import BadInput
from fbsdetect.i18n import _

MAX_LINE_BYTES = 65536
BLOCK_BYTES = 1 << 20   # read at a time by LineReader.blocks (a block's lines are parsed together)

OPENCELLID_COLUMNS = ("radio", "mcc", "net", "area", "cell", "unit", "lon", "lat", "range", "samples",
                      "changeable", "created", "updated", "averageSignal")
LICENSED_COLUMNS = ("date_start", "date_end", "radio", "mcc", "mnc", "lac", "ci", "lon", "lat", "azimuth",
                    "arfcn", "bsic")
_OCID_REQUIRED = ("radio", "mcc", "net", "area", "cell", "lon", "lat")
_LIC_REQUIRED = ("radio", "mcc", "mnc", "lac", "ci", "lon", "lat")

# Columns of one parsed row (the registry_cell columns that the files carry).
# Each format's row carries only the columns the format has (fewer values to bind and store).
OPENCELLID_ROW = ("radio", "mcc", "mnc", "lac", "cid", "lon", "lat", "range_m", "samples", "created",
                  "updated", "average_signal")
LICENSED_ROW = ("radio", "mcc", "mnc", "lac", "cid", "lon", "lat", "arfcn", "bsic", "azimuth_deg",
                "date_start", "date_end")
ROW_COLUMNS = ("radio", "mcc", "mnc", "lac", "cid", "lon", "lat", "range_m", "samples", "created", "updated",
               "arfcn", "bsic", "azimuth_deg", "date_start", "date_end", "average_signal")
KEY_COLUMNS = ("radio", "mcc", "mnc", "lac", "cid")

RADIOS = ("GSM", "UMTS", "LTE", "NR", "CDMA")
_RADIO_ALIASES = {"2G": "GSM", "3G": "UMTS", "WCDMA": "UMTS", "4G": "LTE", "5G": "NR"}
_RADIO = {**{r: r for r in RADIOS}, **_RADIO_ALIASES}
_RADIO.update({k.lower(): v for k, v in list(_RADIO.items())})
_RADIO.update({k.capitalize(): v for k, v in list(_RADIO.items())})

# The store's cell id column is 64-bit (migration 0006); NR cell identities (NCI) are 36 bits.
CID_MAX = 2**36 - 1
AREA_MAX = 2**31 - 1
_GSM_MAX = 65535


@dataclass(frozen=True)
class CsvFormat:
    kind: str                      # "opencellid" | "licensed"
    delimiter: str
    index: dict[str, int]          # canonical column name -> position in a line
    n_fields: int                  # fields of the header (or of line 1 when headerless)
    headerless: bool = False
    ignored: tuple[str, ...] = ()  # header columns that are not read

    @property
    def label(self) -> str:
        return "OpenCellID/MLS" if self.kind == "opencellid" else "licensed-site list"


def _compression(magic: bytes) -> str | None:
    if magic.startswith(b"\x1f\x8b"):
        return "gzip"
    if magic.startswith(b"BZh"):
        return "bzip2"
    if magic.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if magic.startswith(b"PK\x03\x04"):
        return "zip"
    return None


class LineReader:
    """The lines of a (possibly compressed) file as bytes, numbered from 1.

    Iterate `lines()`; afterwards `damage` is None when the end of the file was
    reached normally, else a sentence saying where reading stopped and why."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise BadInput(_("no such registry file"), source=self.path)
        if os.path.isdir(self.path):
            raise BadInput(_("is a directory, expected a registry CSV file"), source=self.path)
        try:
            raw = open(self.path, "rb")
        except OSError as exc:
            raise BadInput(_("cannot be read: {error}").format(error=exc.strerror or exc),
                           source=self.path) from None
        self._raw = raw
        self.compression: str | None = None
        self.damage: str | None = None
        self.line_no = 0
        try:
            magic = raw.read(6)
            raw.seek(0)
        except OSError as exc:
            raw.close()
            raise BadInput(_("cannot be read: {error}").format(error=exc.strerror or exc),
                           source=self.path) from None
        self.compression = _compression(magic)
        self._f: IO[bytes]
        if self.compression == "gzip":
            self._f = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        elif self.compression == "bzip2":
            self._f = bz2.BZ2File(raw, "rb")
        elif self.compression == "xz":
            self._f = lzma.LZMAFile(raw, "rb")
        elif self.compression == "zip":
            raw.close()
            raise BadInput(_("is a zip archive; unzip it and import the CSV inside (gzip, bzip2 and xz are "
                            "read directly)"), source=self.path)
        else:
            self._f = raw

    def bytes_read(self) -> int:
        """Position in the file on disk (compressed bytes), for progress."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def size(self) -> int:
        try:
            return os.fstat(self._raw.fileno()).st_size
        except (OSError, ValueError):
            return 0

    def _broke(self, exc: BaseException) -> None:
        """Reading stopped on `exc`: `damage` says where and why."""
        if isinstance(exc, EOFError):
            self.damage = (f"the {self.compression} data ends abruptly after line {self.line_no} "
                           "(truncated download?); the rows before it were read")
        else:
            what = f"{self.compression} data" if self.compression else "file"
            self.damage = (f"the {what} is corrupt after line {self.line_no} ({exc}); "
                           "the rows before it were read")

    def lines(self) -> Iterator[bytes | None]:
        """Yields each line (without its line end, possibly cut at MAX_LINE_BYTES: then the
        yielded value is None and the rest of the over-long line is skipped)."""
        readline = self._f.readline
        limit = MAX_LINE_BYTES
        while True:
            try:
                b = readline(limit)
            except (EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
                self._broke(exc)
                return
            if not b:
                return
            self.line_no += 1
            if len(b) >= limit and not b.endswith(b"\n"):
                # an over-long line: skip to its end, in bounded pieces
                while True:
                    try:
                        more = readline(limit)
                    except (EOFError, OSError, zlib.error, lzma.LZMAError):
                        more = b""
                    if not more or more.endswith(b"\n"):
                        break
                yield None
                continue
            yield b

    def blocks(self, size: int = BLOCK_BYTES) -> Iterator[tuple[int, int, bytes | None]]:
        """The same lines as `lines()`, many at a time: yields (first line's number, number of
        lines, the lines' bytes each ending with a line feed but perhaps the file's last one), or
        (line number, 1, None) for a line of `MAX_LINE_BYTES` or more (its bytes skipped, in
        bounded pieces). `line_no` counts the lines yielded; `damage` is set as by `lines()`."""
        read = getattr(self._f, "read1", self._f.read)
        limit = MAX_LINE_BYTES
        carry = b""
        skipping = False
        while True:
            try:
                data = read(size)
            except (EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
                self._broke(exc)
                return
            if not data:
                if carry and not skipping:
                    self.line_no += 1
                    yield self.line_no, 1, carry
                return
            if skipping:
                i = data.find(b"\n")
                if i < 0:
                    continue
                data = data[i + 1:]
                skipping = False
            buf = carry + data if carry else data
            last = buf.rfind(b"\n")
            if last < 0:
                carry = buf
            else:
                block = buf[: last + 1]
                carry = buf[last + 1:]
                n = block.count(b"\n")
                yield self.line_no + 1, n, block
                self.line_no += n
            if len(carry) >= limit:
                self.line_no += 1
                yield self.line_no, 1, None
                carry = b""
                skipping = True

    def close(self) -> None:
        try:
            self._f.close()
        finally:
            self._raw.close()

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bad_bytes_reason(b: bytes) -> str:
    try:
        text = b.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = b[exc.start:exc.start + 1].hex()
        return (f"byte 0x{bad} at column {exc.start + 1} is not UTF-8 (a Latin-1 or other 8-bit file? "
                "convert it with iconv -f LATIN1 -t UTF-8)")
    for i, ch in enumerate(text):
        if ord(ch) > 127:
            return f"non-ASCII character {ch!r} at column {i + 1} where only numbers and names are expected"
    return "unreadable bytes"


def decode_line(b: bytes) -> str:
    """Bytes of a line -> text without line end; ValueError with the reason."""
    try:
        s = b.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError(_bad_bytes_reason(b)) from None
    return s.rstrip("\r\n")


def _canon(name: str) -> str:
    n = name.strip().strip('"').strip("'").strip().lower()
    return {"averagesignal": "averageSignal", "cid": "ci", "cellid": "ci", "cell_id": "ci"}.get(n, n)


def _split_header(text: str) -> tuple[str, list[str]]:
    counts = {d: text.count(d) for d in (",", ";", "\t")}
    delim = max(counts, key=lambda d: counts[d])
    if counts[delim] == 0:
        delim = ","
    return delim, next(csv.reader([text], delimiter=delim))


def detect_format(first_line: bytes, *, source: str, forced: str | None = None) -> CsvFormat:
    """The file's format from its first line (BOM already removed). BadInput when it is neither."""
    if b"\x00" in first_line:
        raise BadInput(_("line 1: contains NUL bytes: the file looks like UTF-16/UTF-32 text or binary "
                        "data; registry CSV must be UTF-8 (iconv -f UTF-16 -t UTF-8)"), source=source)
    try:
        text = first_line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise BadInput(_("line 1: the header is not UTF-8 text (binary data, or an 8-bit encoding?): "
                        "expected the OpenCellID header {header}").format(
            header=",".join(OPENCELLID_COLUMNS)), source=source) from None
    if "\r" in text:
        raise BadInput(_("line 1: the lines end with CR only (an old Mac text file?); convert the line ends "
                        "to LF or CRLF"), source=source)
    if not text.strip():
        raise BadInput(_("line 1 is empty: expected the OpenCellID header {header} or a licensed-site header "
                         "{licensed}").format(
            header=",".join(OPENCELLID_COLUMNS), licensed=",".join(LICENSED_COLUMNS)), source=source)
    delim, names = _split_header(text)
    canon = [_canon(n) for n in names]
    lower = {c.lower() for c in canon}
    required: tuple[str, ...]
    known: tuple[str, ...]
    # headerless OpenCellID: 14 fields, a radio name first, numbers after it
    if (forced in (None, "opencellid") and len(names) == len(OPENCELLID_COLUMNS)
            and names[0].strip() in _RADIO and names[1].strip().isdigit()):
        return CsvFormat("opencellid", delim, {c: i for i, c in enumerate(OPENCELLID_COLUMNS)},
                         len(OPENCELLID_COLUMNS), headerless=True)
    if forced == "opencellid" or (forced is None and {"net", "area", "cell"} <= lower):
        kind, required, known = "opencellid", _OCID_REQUIRED, OPENCELLID_COLUMNS
    elif forced == "licensed" or (forced is None and {"mnc", "lac", "ci"} <= lower):
        kind, required, known = "licensed", _LIC_REQUIRED, LICENSED_COLUMNS
    else:
        shown = text if len(text) <= 100 else text[:100] + "..."
        raise BadInput(_("line 1: not a registry header: {shown!r}; expected the OpenCellID/MLS header "
                        "{header} or a licensed-site header {licensed} (arfcn,bsic optional)").format(
            shown=shown, header=",".join(OPENCELLID_COLUMNS), licensed=",".join(LICENSED_COLUMNS)),
            source=source)
    index: dict[str, int] = {}
    ignored: list[str] = []
    for i, c in enumerate(canon):
        if c in known and c not in index:
            index[c] = i
        else:
            ignored.append(names[i].strip())
    missing = [c for c in required if c not in index]
    if missing:
        label = "OpenCellID/MLS" if kind == "opencellid" else "licensed-site"
        raise BadInput(_("line 1: the {label} header lacks column(s) {missing} (expected {expected})").format(
            label=label, missing=", ".join(missing), expected=",".join(known)), source=source)
    return CsvFormat(kind, delim, index, len(names), ignored=tuple(ignored))


# -- row parsing ---------------------------------------------------------------------------------------------

class RowError(ValueError):
    pass


def _show(s: str) -> str:
    """A field's value for a reason: quoted, at most 24 characters of it."""
    return repr(s) if len(s) <= 24 else repr(s[:24]) + "..."


def _int(name: str, s: str, lo: int, hi: int, *, hint: str = "") -> int:
    t = s.strip()
    if not t:
        raise RowError(f"{name} is empty")
    if not (t.isdigit() or (t[0] in "+-" and t[1:].isdigit())):
        # OpenCellID writes integers; accept "12.0" but not "12.5"
        if "_" in t:
            raise RowError(f"{name} {_show(s)} is not a number")
        try:
            v = float(t)
        except ValueError:
            raise RowError(f"{name} {_show(s)} is not a number") from None
        if not math.isfinite(v) or v != int(v):
            raise RowError(f"{name} {_show(s)} is not a whole number")
        iv = int(v)
    else:
        if len(t) > 20:
            raise RowError(f"{name} {_show(s)} is out of range {lo}..{hi}{hint}")
        iv = int(t)
    if not lo <= iv <= hi:
        raise RowError(f"{name} {iv} is out of range {lo}..{hi}{hint}")
    return iv


def _opt_int(name: str, s: str, lo: int, hi: int) -> int | None:
    return None if not s.strip() else _int(name, s, lo, hi)


def _float(name: str, s: str, lo: float, hi: float) -> float:
    t = s.strip()
    if not t:
        raise RowError(f"{name} is empty")
    if "_" in t:
        raise RowError(f"{name} {_show(s)} is not a number")
    try:
        v = float(t)
    except ValueError:
        raise RowError(f"{name} {_show(s)} is not a number") from None
    if not math.isfinite(v):
        raise RowError(f"{name} {_show(s)} is not a finite number")
    if not lo <= v <= hi:
        raise RowError(f"{name} {v:g} is outside {lo:g}..{hi:g}")
    return v


def _opt_float(name: str, s: str, lo: float, hi: float) -> float | None:
    return None if not s.strip() else _float(name, s, lo, hi)


def _radio(s: str) -> str:
    r = _RADIO.get(s.strip())
    if r is None:
        r = _RADIO.get(s.strip().upper())
    if r is None:
        shown = s if len(s) <= 20 else s[:20] + "..."
        raise RowError(f"radio {shown!r} is not one of {', '.join(RADIOS)}")
    return r


def _date(name: str, s: str) -> str | None:
    t = s.strip()
    if not t:
        return None
    if t.isdigit():
        try:
            return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (OverflowError, OSError, ValueError):
            raise RowError(f"{name} {_show(s)} is not a date") from None
    try:
        d = datetime.fromisoformat(t.replace("Z", "+00:00") if t.endswith("Z") else t)
    except ValueError:
        shown = s if len(s) <= 32 else s[:32] + "..."
        raise RowError(f"{name} {shown!r} is not an ISO date (YYYY-MM-DD)") from None
    if len(t) <= 10:
        return d.strftime("%Y-%m-%d")
    if d.tzinfo is not None:
        d = d.astimezone(UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


_TIME_MAX = 2**31 - 1  # 2038-01-19: the store's created/updated are 32-bit integers (as is samples)

# LineReader.blocks + RowParser.vector_block: a radio name at a line's start -> its code in VectorRows
_VECTOR_RADIOS = tuple((r.encode(), str(i + 1).encode()) for i, r in enumerate(RADIOS))
_RADIO_NAMES = np.array(RADIOS, dtype=object)
_VECTOR_BYTES = b"0123456789.-+eE,\n" + bytes(sorted(set("".join(RADIOS).encode())))
_VECTOR_RADIO_PATTERNS = tuple(np.frombuffer(r.encode() + b",", dtype=np.uint8) for r in RADIOS)
# the number columns read (unit and changeable are not read, as by `fast`); the radio's code goes first
_VECTOR_USECOLS = (1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13)
_VECTOR_INT_COLUMNS = [1, 2, 3, 4, 8, 9, 10]   # mcc, net, area, cell, samples, created, updated


@dataclass(frozen=True)
class VectorRows:
    """A block's lines parsed by `RowParser.vector_block`: one row of `values` a line, the
    `OPENCELLID_ROW` columns with the radio as its code (1 + its index in RADIOS); `ok` False
    for a line that must take the careful path."""

    values: Any      # numpy float64 array (lines, 12)
    ok: Any          # numpy bool array (lines,)

    def rows(self, keep: Any) -> list[tuple[Any, ...]]:
        """The row tuples (`OPENCELLID_ROW`) of the lines where `keep` is True, in line order."""
        v = self.values if keep is None else self.values[keep]
        if not len(v):
            return []
        radio = _RADIO_NAMES[v[:, 0].astype(np.intp) - 1].tolist()
        i = v[:, [1, 2, 3, 4, 8, 9, 10]].astype(np.int64).T
        f = v[:, [5, 6, 7, 11]].T
        return list(zip(radio, *(c.tolist() for c in i[:4]), *(c.tolist() for c in f[:3]),
                        *(c.tolist() for c in i[4:]), f[3].tolist(), strict=True))


class RowParser:
    """Turns the fields of one data line into a row tuple (`columns` order)."""

    def __init__(self, fmt: CsvFormat) -> None:
        self.fmt = fmt
        self.delimiter = fmt.delimiter
        self.columns: tuple[str, ...] = OPENCELLID_ROW if fmt.kind == "opencellid" else LICENSED_ROW
        self._ocid_careful: Callable[[list[str]], tuple[Any, ...]] | None = None
        # fast_line(line with its line end) -> row, or None: "take the careful path" (parse()),
        # which gives the reason; only for the OpenCellID format
        self.fast_line: Callable[[str], tuple[Any, ...] | None] | None = None
        self._parse: Callable[[list[str]], tuple[Any, ...]] = (
            self._make_ocid() if fmt.kind == "opencellid" else self._make_licensed())
        self._vector = (fmt.kind == "opencellid" and fmt.delimiter == "," and not fmt.ignored
                        and fmt.n_fields == len(OPENCELLID_COLUMNS)
                        and fmt.index == {c: i for i, c in enumerate(OPENCELLID_COLUMNS)})

    def split(self, line: str) -> list[str]:
        if '"' in line:
            try:
                return next(csv.reader([line], delimiter=self.delimiter, strict=True))
            except (csv.Error, StopIteration) as exc:
                raise RowError(f"unreadable CSV quoting ({exc})") from None
        return line.split(self.delimiter)

    def parse(self, line: str) -> tuple[Any, ...]:
        """RowError with the reason when the line is not a valid row."""
        fields = self.split(line)
        if len(fields) < self.fmt.n_fields:
            raise RowError(f"{len(fields)} fields, expected {self.fmt.n_fields} (line cut short?)")
        if len(fields) > self.fmt.n_fields:
            raise RowError(f"{len(fields)} fields, expected {self.fmt.n_fields} (an unquoted "
                           f"{self.delimiter!r} in a value?)")
        if self._ocid_careful is None:
            return self._parse(fields)
        row = self._parse(fields) if "_" not in line else None
        return row if row is not None else self._ocid_careful(fields)

    def _make_ocid(self) -> Callable[[list[str]], tuple[Any, ...]]:
        ix = self.fmt.index
        i_radio, i_mcc, i_net, i_area, i_cell = ix["radio"], ix["mcc"], ix["net"], ix["area"], ix["cell"]
        i_lon, i_lat = ix["lon"], ix["lat"]
        i_range, i_samples = ix.get("range"), ix.get("samples")
        i_created, i_updated, i_avg = ix.get("created"), ix.get("updated"), ix.get("averageSignal")
        fast_radio = {k: v for k, v in _RADIO.items()}

        def fast(f: list[str]) -> tuple[Any, ...] | None:
            # the common, clean case; None sends the row to the careful path for its reason
            try:
                radio = fast_radio[f[i_radio]]
                mcc = int(f[i_mcc])
                mnc = int(f[i_net])
                lac = int(f[i_area])
                cid = int(f[i_cell])
                lon = float(f[i_lon])
                lat = float(f[i_lat])
                rng = float(f[i_range]) if i_range is not None and f[i_range] else None
                samples = int(f[i_samples]) if i_samples is not None and f[i_samples] else None
                created = int(f[i_created]) if i_created is not None and f[i_created] else None
                updated = int(f[i_updated]) if i_updated is not None and f[i_updated] else None
                avg = float(f[i_avg]) if i_avg is not None and f[i_avg] else None
            except (KeyError, ValueError):
                return None
            if not (0 <= mcc <= 999 and 0 <= mnc <= 999 and 0 <= lac <= AREA_MAX and 0 <= cid <= CID_MAX
                    and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                return None
            if radio == "GSM" and (lac > _GSM_MAX or cid > _GSM_MAX):
                return None
            if rng is not None and not 0.0 <= rng <= 1e7:
                return None
            if samples is not None and not 0 <= samples <= 2**31 - 1:
                return None
            if created is not None and not 0 <= created <= _TIME_MAX:
                return None
            if updated is not None and not 0 <= updated <= _TIME_MAX:
                return None
            if avg is not None and not -1e4 <= avg <= 1e4:
                return None
            return (radio, mcc, mnc, lac, cid, lon, lat, rng, samples, created, updated, avg)

        def careful(f: list[str]) -> tuple[Any, ...]:
            radio = _radio(f[i_radio])
            mcc = _int("mcc", f[i_mcc], 0, 999)
            mnc = _int("net (MNC)", f[i_net], 0, 999)
            gsm = radio == "GSM"
            lac = _int("area (LAC)" if gsm else "area", f[i_area], 0, _GSM_MAX if gsm else AREA_MAX,
                       hint=" for GSM" if gsm else "")
            cid = _int("cell", f[i_cell], 0, _GSM_MAX if gsm else CID_MAX, hint=" for GSM" if gsm else "")
            lon = _float("lon", f[i_lon], -180.0, 180.0)
            lat = _float("lat", f[i_lat], -90.0, 90.0)
            rng = _opt_float("range", f[i_range], 0.0, 1e7) if i_range is not None else None
            samples = _opt_int("samples", f[i_samples], 0, 2**31 - 1) if i_samples is not None else None
            created = _opt_int("created", f[i_created], 0, _TIME_MAX) if i_created is not None else None
            updated = _opt_int("updated", f[i_updated], 0, _TIME_MAX) if i_updated is not None else None
            avg = _opt_float("averageSignal", f[i_avg], -1e4, 1e4) if i_avg is not None else None
            return (radio, mcc, mnc, lac, cid, lon, lat, rng, samples, created, updated, avg)

        n_fields = self.fmt.n_fields
        delim = self.delimiter

        def fast_line(line: str) -> tuple[Any, ...] | None:
            if '"' in line or "_" in line:
                return None
            f = line.split(delim)
            if len(f) != n_fields:
                return None
            return fast(f)

        self._ocid_careful = careful
        self.fast_line = fast_line
        return fast  # type: ignore[return-value]

    def vector_block(self, block: bytes, n: int) -> VectorRows | None:
        """The `n` lines of `block` (`LineReader.blocks`) parsed together with numpy, or None when
        the block is not the plain case (then each line goes through `fast_line`/`parse`).

        The plain case: OpenCellID columns in their own order, comma-separated, every line
        starting with a radio name as OpenCellID writes it (GSM, UMTS, LTE, NR, CDMA) and
        otherwise only digits, signs, points, exponents and commas (no quotes, blanks, spaces,
        underscores, hex or other text), every field present. Numbers are read by numpy's
        text parser (correctly rounded, as Python's float()); the checks are `fast`'s, row by
        row; a row that fails one is marked not `ok` and goes to `parse` for its reason."""
        if not self._vector:
            return None
        if not block.isascii():
            return None
        b = block if block.endswith(b"\n") else block + b"\n"
        if b"\r" in b:
            b = b.replace(b"\r\n", b"\n")
        if b.translate(None, _VECTOR_BYTES) or b"\n\n" in b or b",," in b or b",\n" in b:
            return None
        u = np.frombuffer(b, dtype=np.uint8)
        ends = np.flatnonzero(u == 10)
        if len(ends) != n or b[0] == 10:
            return None   # a lone CR, or a blank line
        starts = np.empty(n, dtype=np.intp)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        # each line starts with a radio name and its comma: code = 1 + its index in RADIOS, else 0
        code = np.zeros(n, dtype=np.float64)
        pad = np.concatenate([u, np.zeros(8, dtype=np.uint8)])
        head = pad[starts[:, None] + np.arange(5)]
        for i, pat in enumerate(_VECTOR_RADIO_PATTERNS):
            k = len(pat)
            code[(head[:, :k] == pat).all(axis=1)] = i + 1
        if not code.all():
            return None
        try:
            x = np.loadtxt(io.BytesIO(b), delimiter=",", dtype=np.float64, comments=None, ndmin=2,
                           usecols=_VECTOR_USECOLS)
        except ValueError:
            return None
        if x.shape != (n, len(_VECTOR_USECOLS)):
            return None
        a = np.empty((n, 1 + len(_VECTOR_USECOLS)), dtype=np.float64)
        a[:, 0] = code
        a[:, 1:] = x
        radio, mcc, mnc, lac, cid = a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4]
        lon, lat, rng, samples = a[:, 5], a[:, 6], a[:, 7], a[:, 8]
        created, updated, avg = a[:, 9], a[:, 10], a[:, 11]
        ints = a[:, _VECTOR_INT_COLUMNS]
        ok = (ints == np.floor(ints)).all(axis=1)
        gsm = radio == 1.0
        ok &= (mcc >= 0) & (mcc <= 999) & (mnc >= 0) & (mnc <= 999)
        ok &= (lac >= 0) & (lac <= np.where(gsm, _GSM_MAX, AREA_MAX))
        ok &= (cid >= 0) & (cid <= np.where(gsm, _GSM_MAX, CID_MAX))
        ok &= (lon >= -180.0) & (lon <= 180.0) & (lat >= -90.0) & (lat <= 90.0)
        ok &= (rng >= 0.0) & (rng <= 1e7) & (samples >= 0) & (samples <= 2**31 - 1)
        ok &= (created >= 0) & (created <= _TIME_MAX) & (updated >= 0) & (updated <= _TIME_MAX)
        ok &= (avg >= -1e4) & (avg <= 1e4)
        return VectorRows(a, ok)

    def _make_licensed(self) -> Callable[[list[str]], tuple[Any, ...]]:
        ix = self.fmt.index
        g = ix.get

        def parse(f: list[str]) -> tuple[Any, ...]:
            def opt(name: str) -> str:
                i = g(name)
                return f[i] if i is not None else ""

            radio = _radio(f[ix["radio"]])
            gsm = radio == "GSM"
            mcc = _int("mcc", f[ix["mcc"]], 0, 999)
            mnc = _int("mnc", f[ix["mnc"]], 0, 999)
            lac = _int("lac", f[ix["lac"]], 0, _GSM_MAX if gsm else AREA_MAX, hint=" for GSM" if gsm else "")
            cid = _int("ci", f[ix["ci"]], 0, _GSM_MAX if gsm else CID_MAX, hint=" for GSM" if gsm else "")
            lon = _opt_float("lon", f[ix["lon"]], -180.0, 180.0)
            lat = _opt_float("lat", f[ix["lat"]], -90.0, 90.0)
            if (lon is None) != (lat is None):
                raise RowError("lon and lat must both be given or both be empty")
            azimuth = _opt_float("azimuth", opt("azimuth"), 0.0, 360.0)
            arfcn = _opt_int("arfcn", opt("arfcn"), 0, 1023 if gsm else 2**22)
            bsic = _opt_int("bsic", opt("bsic"), 0, 63)
            d0 = _date("date_start", opt("date_start"))
            d1 = _date("date_end", opt("date_end"))
            if d0 is not None and d1 is not None and d1 < d0:
                raise RowError(f"date_end {d1} is before date_start {d0}")
            return (radio, mcc, mnc, lac, cid, lon, lat, arfcn, bsic, azimuth, d0, d1)

        return parse


@dataclass(frozen=True)
class BBox:
    south: float
    west: float
    north: float
    east: float

    @classmethod
    def parse(cls, text: str) -> BBox:
        from fbsdetect.errors import BadUsage

        parts = text.split(",")
        try:
            s, w, n, e = (float(p) for p in parts)
        except ValueError:
            raise BadUsage(_("--bbox {text!r}: expected S,W,N,E in degrees, e.g. "
                             "39.4,115.4,41.1,117.5").format(text=text)) from None
        if not all(math.isfinite(v) for v in (s, w, n, e)):
            raise BadUsage(_("--bbox {text!r}: values must be finite").format(text=text))
        if not (-90 <= s <= 90 and -90 <= n <= 90 and -180 <= w <= 180 and -180 <= e <= 180):
            raise BadUsage(_("--bbox {text!r}: latitudes must be within -90..90, longitudes "
                             "-180..180").format(text=text))
        if s > n:
            raise BadUsage(_("--bbox {text!r}: south {s:g} is north of north {n:g} (order is "
                             "S,W,N,E)").format(text=text, s=s, n=n))
        return cls(s, w, n, e)

    def contains(self, lat: float, lon: float) -> bool:
        if not self.south <= lat <= self.north:
            return False
        if self.west <= self.east:
            return self.west <= lon <= self.east
        return lon >= self.west or lon <= self.east   # crosses the antimeridian

    def as_list(self) -> list[float]:
        return [self.south, self.west, self.north, self.east]
