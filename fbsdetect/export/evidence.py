"""Evidence packages (`export --format evidence --detection ID -o FILE.zip`)
and their verification (`fbsdetect verify FILE.zip`).

A package is a zip of:

- `detection.json`: the detection as stored (identity, severity, score, rules
  with their evidence, position) and the audit log's head when exported;
- `findings.json`: the rule findings behind it;
- `observations.json` / `observations.csv`: every observation linked to it
  (directly or through a finding), as stored, with GPS position and sensor;
- `frames.pcapng`: their decoded L2 frames as GSMTAP (Wireshark), each with
  time, GPS position and sensor as a packet comment;
- `iq/...`: IQ snippets referenced by the observations (`params["iq_snippet"]`
  or `params["iq_snippets"]`, a path or a list of paths relative to the
  database's folder, SigMF meta and data both taken, under `iq/` + that path),
  when the scan stored them (`fbsdetect.scan.snippets`); references that are
  absolute, climb out of the folder (`..`, a link) or name anything but a
  SigMF file are left out with a note; the manifest says when there are none;
- `map.html`: a map of the detection, when `fbsdetect.mapping` can draw one;
- `report.html` (and `report.pdf` when a converter, wkhtmltopdf or Chromium,
  is installed): the same, readable by a person;
- `public_key.pem`: the signing key's public half;
- `manifest.json`: SHA-256 and size of every file above, and what was left
  out and why; `manifest.sig`: its Ed25519 signature (base64).

The whole archive is signed too: the zip's comment (its last bytes) holds
`fbsdetect-sig:ed25519:<base64>`, a signature over SHA-256 of every byte
before the comment, so that a change anywhere in the file, also in zip
headers that no member's content covers, is found. `verify_package` names
what changed: a file (its hash, or its compressed data no longer inflates),
a missing or added file, the manifest's signature, or the archive's.

Keys: Ed25519 (`cryptography`), made on first use as
`$XDG_CONFIG_HOME/fbsdetect/keys/sensor.ed25519.pem` (default `~/.config`),
mode 0600. A package needs nothing but itself to verify (the public key is
inside; no absolute paths); the key's fingerprint (SHA-256 of the raw public
key) is printed so that it can be compared with the sensor's registered key.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fbsdetect.errors import BadInput, BadUsage, NotAvailable
from fbsdetect.export import ExportFilter, iso_utc, observation_rows
from fbsdetect.i18n import _
from fbsdetect.scan.snippets import sha256_file

FORMAT = "fbsdetect-evidence/1"
SIG_PREFIX = b"fbsdetect-sig:ed25519:"
SIG_LEN = len(SIG_PREFIX) + 88  # base64 of a 64-octet signature
ARCHIVE_CONTEXT = b"fbsdetect evidence archive v1\n"
KEY_FILE = "sensor.ed25519.pem"
CONTROL_FILES = ("manifest.json", "manifest.sig")
MAX_REPORT_ROWS = 500
IQ_KEYS = ("iq_snippet", "iq_snippets")
MAX_CONTROL_BYTES = 64 << 20  # manifest.json, manifest.sig, public_key.pem: read whole, up to this


# -- keys -----------------------------------------------------------------------------

def key_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "fbsdetect" / "keys"


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise NotAvailable(_("evidence packages need the `cryptography` package "
                             "(pip install cryptography)")) from None
    return serialization, ed25519


def load_or_create_key(path: Path | None = None) -> Any:
    """The sensor's Ed25519 private key, made (0600) on first use."""
    serialization, ed25519 = _crypto()
    path = path or key_dir() / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ed25519.Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made by another process meanwhile
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            return key
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise BadInput(_("not an unencrypted PEM private key: {error}").format(
            error=exc), source=path) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise BadInput(_("not an Ed25519 key"), source=path)
    return key


def public_pem(public_key: Any) -> bytes:
    serialization, _ = _crypto()
    pem: bytes = public_key.public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem


def fingerprint(public_key: Any) -> str:
    """'SHA256:' + the SHA-256 of the raw 32-octet public key, hex in groups of 4."""
    serialization, _ = _crypto()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    h = hashlib.sha256(raw).hexdigest()
    return "SHA256:" + " ".join(h[i:i + 4] for i in range(0, 64, 4))


# -- building -------------------------------------------------------------------------

def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return iso_utc(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()
    if isinstance(v, float) and not math.isfinite(v):  # NaN, and the -inf dBFS of a dwell of zeros
        return None
    if isinstance(v, dict):  # JSON columns (si, params, rules) may hold them too
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


def row_dict(row: Any) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in row._mapping.items()}


@dataclass
class EvidenceResult:
    path: Path
    files: dict[str, dict[str, Any]]
    fingerprint: str
    notes: list[str] = field(default_factory=list)


def _iq_refs(params: Any) -> list[str]:
    if not isinstance(params, dict):
        return []
    out: list[str] = []
    for k in IQ_KEYS:
        v = params.get(k)
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list):
            out.extend(str(x) for x in v if isinstance(x, str))
    return out


def _sigmf_pair(p: Path) -> list[Path]:
    s = str(p)
    for a, b in ((".sigmf-meta", ".sigmf-data"), (".sigmf-data", ".sigmf-meta")):
        if s.endswith(a):
            return [p, Path(s[: -len(a)] + b)]
    return [p]


def _inside(base: Path, ref: str) -> Path | None:
    """`base / ref` when `ref` is a relative path that stays inside `base` (links resolved);
    None for an absolute path, a drive, `..`, a backslash or a NUL."""
    if not ref or "\x00" in ref or "\\" in ref:
        return None
    p = Path(ref)
    if p.is_absolute() or p.drive or ".." in p.parts:
        return None
    q = base / p
    try:
        q.resolve().relative_to(base.resolve())
    except (ValueError, OSError):
        return None
    return q


def _iq_bound(params: Any) -> tuple[str, dict[str, str]] | None:
    """(reference, {"meta": sha256, "data": sha256}) an observation bound its snippet with
    when the scan wrote it (`params["iq_snippet"]` + `params["iq_sha256"]`), else None."""
    if not isinstance(params, dict):
        return None
    ref, h = params.get("iq_snippet"), params.get("iq_sha256")
    if not isinstance(ref, str) or not isinstance(h, dict):
        return None
    out = {k: str(h[k]).lower() for k in ("meta", "data") if isinstance(h.get(k), str)}
    return (ref, out) if out else None


def _iq_mismatch(files: list[Path], expected: dict[str, str] | None) -> str | None:
    """Why the SigMF files of one snippet are not what was captured, or None: a SHA-256
    that differs from the one the observation stored at capture (`expected`), or data
    that disagrees with the meta's own `core:sha512`."""
    meta = next((q for q in files if q.name.endswith(".sigmf-meta")), None)
    data = next((q for q in files if q.name.endswith(".sigmf-data")), None)
    for kind, q in (("meta", meta), ("data", data)):
        if expected and kind in expected and q is not None and sha256_file(q) != expected[kind]:
            return _("{file} has SHA-256 {got}..., the observation stored {want}... when it was "
                     "written").format(file=q.name, got=sha256_file(q)[:16], want=expected[kind][:16])
        if expected and kind in expected and q is None:
            return _("its {file} is missing").format(file=f".sigmf-{kind}")
    if meta is not None and data is not None and meta.stat().st_size <= MAX_CONTROL_BYTES:
        try:
            want = json.loads(meta.read_bytes()).get("global", {}).get("core:sha512")
        except (ValueError, UnicodeDecodeError, AttributeError):
            want = None
        if isinstance(want, str):
            h = hashlib.sha512()
            with open(data, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != want.lower():
                return _("{data} does not match the core:sha512 of {meta}").format(
                    data=data.name, meta=meta.name)
    return None


def _is_sigmf(p: Path) -> bool:
    return p.name.endswith((".sigmf-meta", ".sigmf-data")) and len(p.name) > len(".sigmf-meta")


def snippet_home(store: Any) -> tuple[Path, str] | None:
    """Where a database's IQ snippets live, the same for `scan` and `export`, whatever the
    current directory: (the folder references are relative to, the database's subfolder).
    A SQLite file: (its folder, `<file name>.iq`). Another database (PostgreSQL):
    (`$FBSDETECT_IQ_DIR`, else `$XDG_DATA_HOME/fbsdetect/iq` (`~/.local/share/...`),
    `<dialect>-<host>-<port>-<database>`), so two databases never share run folders.
    None for an in-memory database: it is gone at exit, no snippet could be referenced."""
    url = store.engine.url
    db = getattr(url, "database", None)
    if store.engine.dialect.name == "sqlite":
        if not db or db == ":memory:" or str(db).startswith("file::memory:"):
            return None
        p = Path(db).expanduser().resolve()
        return p.parent, f"{p.name}.iq"
    env = os.environ.get("FBSDETECT_IQ_DIR")
    if env:
        base = Path(env).expanduser()
    else:
        data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
        base = Path(data) / "fbsdetect" / "iq"
    ident = f"{store.engine.dialect.name}-{url.host or 'local'}-{url.port or ''}-{db or ''}"
    return base.resolve(), re.sub(r"[^A-Za-z0-9._-]", "_", ident)


def db_dir(store: Any) -> Path | None:
    """The folder IQ snippet references are relative to (`snippet_home`); None in memory."""
    return _db_dir(store)


def _db_dir(store: Any) -> Path | None:
    home = snippet_home(store)
    return home[0] if home is not None else None


def _pdf_converter() -> list[str] | None:
    exe = shutil.which("wkhtmltopdf")
    if exe:
        return [exe, "--quiet"]
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        exe = shutil.which(name)
        if exe:
            return [exe, "--headless", "--disable-gpu", "--no-sandbox", "--no-pdf-header-footer"]
    return None


def _make_pdf(html_path: Path, pdf_path: Path) -> str | None:
    """Converts the report; None when done, else why not."""
    cmd = _pdf_converter()
    if cmd is None:
        return _("no PDF: no HTML-to-PDF converter (wkhtmltopdf or chromium) is installed")
    if "--headless" in cmd:
        args = [*cmd, f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
    else:
        args = [*cmd, str(html_path), str(pdf_path)]
    try:
        with tempfile.TemporaryDirectory() as profile:
            if "--headless" in cmd:
                args.insert(1, f"--user-data-dir={profile}")
            subprocess.run(args, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return _("no PDF: {program} failed ({error})").format(
            program=Path(cmd[0]).name, error=type(exc).__name__)
    if not pdf_path.exists() or pdf_path.stat().st_size == 0:
        return _("no PDF: {program} wrote nothing").format(program=Path(cmd[0]).name)
    return None


def _make_map(store: Any, detection_id: int, out: Path) -> str | None:
    """The map of the detection via `fbsdetect.mapping` when it offers a writer; None when done."""
    try:
        import importlib

        mapping = importlib.import_module("fbsdetect.mapping")
    except ImportError:
        return _("no map: fbsdetect.mapping is not installed")
    writer = None
    for name in ("write_map", "render_map", "make_map"):
        writer = getattr(mapping, name, None)
        if callable(writer):
            break
    if not callable(writer):
        return _("no map: fbsdetect.mapping offers no map writer (write_map) yet")
    import inspect

    kwargs: dict[str, Any] = {}
    try:
        params = inspect.signature(writer).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    if "detection_id" in params:
        kwargs["detection_id"] = detection_id
    if "offline" in params:
        kwargs["offline"] = True
    try:
        writer(store, out, **kwargs)
    except Exception as exc:
        return _("no map: the map writer failed ({error})").format(error=f"{type(exc).__name__}: {exc}")
    if not out.exists():
        return _("no map: the map writer wrote nothing")
    return None


def _write_json_stream(path: Path, items: Iterable[dict[str, Any]]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("[")
        for it in items:
            f.write(",\n" if n else "\n")
            f.write(json.dumps(it, ensure_ascii=False, sort_keys=True, allow_nan=False))
            n += 1
        f.write("\n]\n")
    return n


def _observation_json(r: Any) -> dict[str, Any]:
    d = row_dict(r)
    d["time"] = iso_utc(r.time)
    return d


def build_evidence(store: Any, detection_id: int, out: str | os.PathLike[str], *, pdf: bool | None = None,
                   draw_map: bool = True, key_path: Path | None = None,
                   software_version: str | None = None) -> EvidenceResult:
    """Writes the evidence package of one detection (pdf None: when a converter is present)."""
    from sqlalchemy import select

    from fbsdetect import __version__
    from fbsdetect.export.csv_export import write_csv
    from fbsdetect.export.pcap_store import write_pcap
    from fbsdetect.store.audit import chain_head
    from fbsdetect.store.models import Detection, Finding

    out = Path(out)
    if out.is_dir():
        raise BadUsage(_("-o {path} is a directory: give the package's file name (e.g. {example})").format(
            path=out, example=f"detection-{detection_id}.zip"))
    if not out.parent.is_dir():
        raise BadUsage(_("-o {path}: folder {folder} does not exist").format(path=out, folder=out.parent))
    key = load_or_create_key(key_path)
    pub = key.public_key()
    fp = fingerprint(pub)
    notes: list[str] = []
    created = datetime.now(UTC).replace(microsecond=0)
    flt = ExportFilter(detection_id=detection_id)

    with store.engine.connect() as conn:
        det = conn.execute(select(Detection.__table__).where(Detection.id == detection_id)).first()
        if det is None:
            raise BadUsage(_("--detection {id}: no such detection in {url}").format(
                id=detection_id, url=store.url))
        findings = [row_dict(r) for r in conn.execute(
            select(Finding.__table__).where(Finding.detection_id == detection_id).order_by(Finding.id))]
        head_seq, head_hash = chain_head(conn)
    det_d = row_dict(det)

    with tempfile.TemporaryDirectory(prefix="fbsdetect-evidence-") as tmp:
        d = Path(tmp)
        (d / "detection.json").write_text(json.dumps(
            {"detection": det_d, "findings": findings,
             "audit_head": {"seq": head_seq, "hash": head_hash}},
            ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        (d / "findings.json").write_text(json.dumps(findings, ensure_ascii=False, indent=1, sort_keys=True)
                                         + "\n", encoding="utf-8")
        from fbsdetect.traffic.store import detection_extras

        with store.session() as ses:  # what the cell said to phones (issue 13), when it was followed
            traffic = detection_extras(ses, [detection_id]).get(detection_id)
        if traffic:
            (d / "sms.json").write_text(json.dumps(_jsonable(traffic), ensure_ascii=False, indent=1,
                                                   sort_keys=True) + "\n", encoding="utf-8")

        # observations: one streaming pass (JSON), collecting a summary and the IQ references
        summary: dict[str, Any] = {"n": 0, "first": None, "last": None, "sensors": set(), "located": 0,
                                   "max_power": None, "runs": set()}
        iq_refs: list[str] = []
        iq_bound: dict[str, dict[str, str]] = {}  # reference -> SHA-256 at capture (params.iq_sha256)
        report_rows: list[dict[str, Any]] = []

        def obs_items() -> Iterable[dict[str, Any]]:
            for r in observation_rows(store, flt, full=True):
                o = _observation_json(r)
                summary["n"] += 1
                if r.time is not None:
                    summary["first"] = min(summary["first"] or r.time, r.time)
                    summary["last"] = max(summary["last"] or r.time, r.time)
                if r.sensor:
                    summary["sensors"].add(r.sensor)
                if r.run_id is not None:
                    summary["runs"].add(r.run_id)
                if r.lat is not None and r.lon is not None:
                    summary["located"] += 1
                if r.power_dbm is not None:
                    mp = summary["max_power"]
                    summary["max_power"] = r.power_dbm if mp is None else max(mp, r.power_dbm)
                for ref in _iq_refs(r.params):
                    if ref not in iq_refs:
                        iq_refs.append(ref)
                bound = _iq_bound(r.params)
                if bound is not None and bound[0] not in iq_bound:
                    iq_bound[bound[0]] = bound[1]
                if len(report_rows) < MAX_REPORT_ROWS:
                    report_rows.append(o)
                yield o

        n_obs = _write_json_stream(d / "observations.json", obs_items())
        with open(d / "observations.csv", "w", newline="", encoding="utf-8") as f:
            write_csv(store, f, flt)
        n_frames = write_pcap(store, d / "frames.pcapng", flt)
        if n_frames == 0:
            notes.append(_("frames.pcapng holds no frames: none were stored for these observations"))

        # IQ snippets referenced by the observations
        iq_files: list[str] = []
        unbound: list[str] = []
        base = _db_dir(store)
        for ref in iq_refs:
            if base is None:
                notes.append(_("IQ snippet {ref} is referenced but the database is in memory: no snippet "
                               "folder to take it from").format(ref=ref))
                continue
            # a reference is relative to the database's folder and stays inside it: an absolute
            # path, a drive, `..` or a link leading out would let a stored row (a fleet node's,
            # as ingested) pull any file of this machine into a package
            p = _inside(base, ref)
            if p is None:
                notes.append(_("IQ snippet {ref} is not a path inside the database's folder: "
                               "left out").format(ref=ref))
                continue
            take: list[tuple[Path, str]] = []
            for q in _sigmf_pair(p):
                name = "iq/" + q.relative_to(base).as_posix()
                if name in iq_files:
                    continue
                # the references are data (a fleet node's, as ingested): only SigMF recordings are
                # taken, never another file of this machine (the signing key, /etc/...) by its
                # name or through a link
                if not _is_sigmf(q) or (q.exists() and (not _is_sigmf(q.resolve())
                                                        or _inside(base, q.relative_to(base).as_posix())
                                                        is None)):
                    notes.append(_("IQ snippet {ref} is not a SigMF recording (.sigmf-meta/.sigmf-data): "
                                   "left out").format(ref=ref))
                    continue
                if not q.is_file():
                    notes.append(_("IQ snippet {ref} is referenced but {file} is not on this machine").format(
                        ref=ref, file=q.name))
                    continue
                take.append((q, name))
            why = _iq_mismatch([q for q, _ in take], iq_bound.get(ref))
            if why:
                notes.append(_("IQ snippet {ref} left out, not the recording captured: {why}").format(
                    ref=ref, why=why))
                continue
            if take and ref not in iq_bound:
                unbound.append(ref)
            for q, name in take:
                (d / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(q, d / name)
                iq_files.append(name)
        if unbound:
            more = " ..." if len(unbound) > 5 else ""
            notes.append(_("IQ snippets with no SHA-256 from their capture (params.iq_sha256), vouched for "
                           "from this export on only: {refs}").format(refs=", ".join(unbound[:5]) + more))
        iq_note = (_("{n} IQ snippet file(s) under iq/").format(n=len(iq_files)) if iq_files else
                   _("no IQ snippets: none were stored for this detection's observations"))
        notes.append(iq_note)

        map_note = _make_map(store, detection_id, d / "map.html") if draw_map else _("no map: not asked for")
        if map_note:
            notes.append(map_note)
            (d / "map.html").unlink(missing_ok=True)

        (d / "public_key.pem").write_bytes(public_pem(pub))
        data_files = sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())
        hashes = {name: sha256_file(d / name) for name in data_files}
        report = _report_html(det_d, findings, summary, report_rows, n_obs, n_frames, hashes, notes, fp,
                              (head_seq, head_hash), created, software_version or __version__, traffic)
        (d / "report.html").write_text(report, encoding="utf-8")
        want_pdf = pdf if pdf is not None else _pdf_converter() is not None
        if want_pdf:
            why = _make_pdf(d / "report.html", d / "report.pdf")
            if why:
                notes.append(why)
                (d / "report.pdf").unlink(missing_ok=True)
        elif pdf is None:
            notes.append(_("no PDF: no HTML-to-PDF converter (wkhtmltopdf or chromium) is installed"))

        names = sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())
        files = {n: {"sha256": sha256_file(d / n), "size": (d / n).stat().st_size} for n in names}
        manifest = {
            "format": FORMAT, "created_at": iso_utc(created),
            "software": f"fbsdetect {software_version or __version__}",
            "detection": {k: det_d.get(k) for k in ("id", "mcc", "mnc", "lac", "cid", "arfcn", "bsic",
                                                    "severity", "score", "first_seen", "last_seen")},
            "observations": n_obs, "frames": n_frames, "iq_snippets": iq_files or None,
            "audit_head": {"seq": head_seq, "hash": head_hash},
            "files": files, "notes": notes,
            "signature": {"algorithm": "Ed25519", "public_key": "public_key.pem", "fingerprint": fp,
                          "manifest_signature": "manifest.sig",
                          "archive_signature": "zip comment: fbsdetect-sig:ed25519:<base64>, over "
                                               "SHA-256 of the bytes before the comment"},
        }
        mbytes = (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
        msig = base64.b64encode(key.sign(mbytes)) + b"\n"
        _write_zip(out, d, names, mbytes, msig, created, key)
    return EvidenceResult(out, files, fp, notes)


def _write_zip(out: Path, d: Path, names: list[str], mbytes: bytes, msig: bytes, created: datetime,
               key: Any) -> None:
    dt = created.timetuple()[:6]
    tmp_out = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp_out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.comment = SIG_PREFIX + b"=" * (SIG_LEN - len(SIG_PREFIX))  # placeholder, same length
        for name, data in (("manifest.json", mbytes), ("manifest.sig", msig)):
            zi = zipfile.ZipInfo(name, date_time=dt)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, data)
        for name in names:
            zi = zipfile.ZipInfo(name, date_time=dt)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            big = (d / name).stat().st_size > (1 << 31)
            with open(d / name, "rb") as src, zf.open(zi, "w", force_zip64=big) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    size = tmp_out.stat().st_size
    digest = _prefix_digest(tmp_out, size - SIG_LEN)
    sig = SIG_PREFIX + base64.b64encode(key.sign(ARCHIVE_CONTEXT + digest))
    assert len(sig) == SIG_LEN
    with open(tmp_out, "r+b") as f:
        f.seek(size - SIG_LEN)
        f.write(sig)
    os.replace(tmp_out, out)


def _prefix_digest(path: Path, n: int) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        left = n
        while left > 0:
            block = f.read(min(1 << 20, left))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h.digest()


def _report_html(det: dict[str, Any], findings: list[dict[str, Any]], summary: dict[str, Any],
                 rows: list[dict[str, Any]], n_obs: int, n_frames: int, hashes: dict[str, str],
                 notes: list[str], fp: str, head: tuple[int, str], created: datetime, version: str,
                 traffic: dict[str, Any] | None = None) -> str:
    e = html.escape

    def v(x: Any) -> str:
        return "" if x is None else e(str(x))

    cgi = "-".join(v(det.get(k)) or "?" for k in ("mcc", "mnc", "lac", "cid"))
    from fbsdetect.i18n import _, html_lang, rule_title, severity_word
    from fbsdetect.i18n.message import entry_evidence

    parts = [
        f"<!DOCTYPE html><html lang='{html_lang()}'><head><meta charset='utf-8'>",
        "<title>" + e(_("Evidence: detection {id}").format(id=det.get("id"))) + "</title>",
        "<style>body{font-family:\"Noto Sans CJK SC\",\"Noto Sans\",sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;"
        "font-size:90%}td,th{border:1px solid #999;padding:2px 6px;text-align:left}"
        "th{background:#eee}.mono{font-family:monospace}table.obs{font-size:75%}"
        "table.obs td{white-space:nowrap}</style></head><body>",
        "<h1>" + e(_("Suspected fake base station: detection {id}").format(id=det.get("id"))) + "</h1>",
        "<p>" + e(_("Package created {time} by fbsdetect {version}.").format(time=iso_utc(created) or "",
                                                                          version=version)) + "</p>",
        "<h2>" + e(_("The cell")) + "</h2><table>",
    ]
    for label, val in (
        (_("Cell identity (MCC-MNC-LAC-CID)"), cgi),
        ("ARFCN", v(det.get("arfcn"))),
        ("BSIC", v(det.get("bsic"))),
        (_("Severity"), e(severity_word(det.get("severity")))),
        (_("Score"), v(det.get("score"))),
        (_("First seen (UTC)"), v(det.get("first_seen"))),
        (_("Last seen (UTC)"), v(det.get("last_seen"))),
        (_("Observations"), v(n_obs)),
        (_("Decoded frames"), v(n_frames)),
        (_("Sensors"), e(", ".join(sorted(summary["sensors"])) or _("unknown"))),
        (_("Scan runs"), e(", ".join(str(x) for x in sorted(summary["runs"])) or _("unknown"))),
        (_("Located observations"), v(summary["located"])),
        (_("Strongest power"), v(summary["max_power"])),
        (
            _("Estimated position"),
            e(json.dumps(det.get("position"))) if det.get("position") else e(_("not estimated")),
        ),
        (_("Status"), v(det.get("status"))),
    ):
        parts.append(f"<tr><th>{e(label)}</th><td>{val}</td></tr>")
    parts.append("</table><h2>" + e(_("Why it is suspected")) + "</h2>")
    rules = det.get("rules") or []
    if rules:
        parts.append(
            "<table><tr>"
            + "".join(
                f"<th>{e(h)}</th>" for h in (_("rule"), _("version"), _("title"), _("score"), _("evidence"))
            )
            + "</tr>"
        )
        for r in rules if isinstance(rules, list) else []:
            if isinstance(r, dict):
                parts.append(
                    f"<tr><td>{v(r.get('id'))}</td><td>{v(r.get('version'))}</td>"
                    f"<td>{e(rule_title(str(r.get('id')), r.get('title')))}</td><td>{v(r.get('score'))}</td>"
                    f"<td>{e(entry_evidence(r))}</td></tr>"
                )
        parts.append("</table>")
    else:
        parts.append("<p>" + e(_("No rule summary is stored with the detection.")) + "</p>")
    parts.append("<h3>" + e(_("Rule findings ({n})").format(n=len(findings))) + "</h3>")
    if findings:
        parts.append(
            "<table><tr>"
            + "".join(
                f"<th>{e(h)}</th>"
                for h in (
                    _("finding"),
                    _("observation"),
                    _("rule"),
                    _("version"),
                    _("severity"),
                    _("score"),
                    _("evidence"),
                )
            )
            + "</tr>"
        )
        for f in findings:
            parts.append(
                f"<tr><td>{v(f.get('id'))}</td><td>{v(f.get('observation_id'))}</td>"
                f"<td>{v(f.get('rule_id'))}</td><td>{v(f.get('rule_version'))}</td>"
                f"<td>{e(severity_word(f.get('severity')))}</td><td>{v(f.get('score'))}</td>"
                f"<td>{e(entry_evidence(f))}</td></tr>"
            )
        parts.append("</table>")
    if traffic:
        t = traffic.get("traffic") or {}
        ids = ", ".join(f"{k} {n}" for k, n in (t.get("identity_requests") or {}).items()) or _("none")
        parts.append(
            "<h2>"
            + e(_("What the cell sent to phones"))
            + "</h2><p>"
            + e(
                _(
                    "{assignments} channel assignments followed, {ciphered} ciphered blocks (counted, never "
                    "decrypted), identity requests: {ids}, {rejects} location-update rejects. Victims' "
                    "identities "
                    "are kept only as keyed hashes."
                ).format(
                    assignments=t.get("assignments", 0),
                    ciphered=t.get("ciphered", 0),
                    ids=ids,
                    rejects=t.get("lu_rejects", 0),
                )
            )
            + "</p>"
        )
        sms = traffic.get("sms") or []
        if sms:
            parts.append(
                "<table><tr>"
                + "".join(
                    f"<th>{e(h)}</th>"
                    for h in (
                        _("time (UTC)"),
                        _("sender"),
                        _("category"),
                        _("text ({n} SMS, all in sms.json)").format(n=len(sms)),
                    )
                )
                + "</tr>"
            )
            for m in sms:
                parts.append(
                    f"<tr><td>{v(m.get('time'))}</td><td>{v(m.get('sender'))}</td>"
                    f"<td>{v(m.get('category'))}</td><td>{v(m.get('text'))}</td></tr>"
                )
            parts.append("</table>")
    parts.append("<h2>" + e(_("Observations ({n})").format(n=n_obs)) + "</h2>")
    if n_obs > len(rows):
        parts.append(
            "<p>"
            + e(
                _("The first {n} are listed; all are in observations.json and observations.csv.").format(
                    n=len(rows)
                )
            )
            + "</p>"
        )
    cols = (
        "id",
        "time",
        "sensor",
        "lat",
        "lon",
        "gps_mode",
        "gps_error_m",
        "arfcn",
        "bsic",
        "mcc",
        "mnc",
        "lac",
        "cid",
        "power_dbm",
        "snr_db",
        "freq_offset_hz",
    )
    parts.append("<table class='obs'><tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>")
    for r in rows:
        parts.append("<tr>" + "".join(f"<td>{v(r.get(c))}</td>" for c in cols) + "</tr>")
    parts.append(
        "</table><h2>"
        + e(_("Files of this package"))
        + "</h2><table><tr><th>"
        + e(_("file"))
        + "</th><th>SHA-256</th></tr>"
    )
    for name, h in hashes.items():
        parts.append(f"<tr><td>{e(name)}</td><td class='mono'>{h}</td></tr>")
    parts.append(
        "</table><p>"
        + e(
            _(
                "manifest.json lists every file (this report too) with its SHA-256; "
                "manifest.sig and the archive's comment are Ed25519 signatures. Check "
                "them with {command}."
            )
        ).format(command="<code>fbsdetect verify PACKAGE.zip</code>")
        + "</p>"
    )
    parts.append(
        "<p>" + e(_("Signing key fingerprint: {fp}")).format(fp=f"<span class='mono'>{e(fp)}</span>") + "</p>"
    )
    parts.append(
        "<p>"
        + e(_("Database audit log head when exported: entry {seq}, {hash}")).format(
            seq=head[0], hash=f"<span class='mono'>{e(head[1])}</span>"
        )
        + "</p>"
    )
    if notes:
        parts.append(
            "<h2>" + e(_("Notes")) + "</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>"
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


# -- verifying ------------------------------------------------------------------------

@dataclass
class PackageReport:
    ok: bool
    problems: list[str]
    fingerprint: str | None = None
    detection: dict[str, Any] | None = None
    files: int = 0


def _archive_signature(data: bytes) -> tuple[bytes | None, str | None]:
    """(signature, None) from the zip comment at the end, or (None, why not)."""
    if len(data) < SIG_LEN + 22:
        return None, "too short for a signed package"
    eocd = data.rfind(b"PK\x05\x06", 0, len(data) - SIG_LEN - 22 + 4)
    if eocd < 0:
        return None, "no end-of-archive record before the signature"
    comment_len = int.from_bytes(data[eocd + 20:eocd + 22], "little")
    if eocd + 22 + comment_len != len(data) or comment_len != SIG_LEN:
        return None, "the archive's comment is not where the signature belongs"
    comment = data[-SIG_LEN:]
    if not comment.startswith(SIG_PREFIX):
        return None, "the archive's signature is malformed"
    try:
        sig = base64.b64decode(comment[len(SIG_PREFIX):], validate=True)
    except ValueError:
        return None, "the archive's signature is malformed"
    if len(sig) != 64:
        return None, "the archive's signature is malformed"
    return sig, None


def verify_package(path: str | os.PathLike[str], *, expect_fingerprint: str | None = None) -> PackageReport:
    """Checks a package; every problem is one line naming what changed."""
    try:
        return _verify_package(path, expect_fingerprint)
    except (BadInput, NotAvailable):
        raise
    except Exception as exc:  # whatever a damaged archive makes the zip reader raise: a finding, not a crash
        return PackageReport(False, [f"{Path(path).name}: corrupt package ({type(exc).__name__}: {exc})"])


def _verify_package(path: str | os.PathLike[str], expect_fingerprint: str | None) -> PackageReport:
    serialization, ed25519 = _crypto()
    from cryptography.exceptions import InvalidSignature

    p = Path(path)
    if not p.is_file():
        raise BadInput(_("no such evidence package"), source=p)
    data = p.read_bytes()
    problems: list[str] = []
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # BadZipFile, NotImplementedError (a flipped version field), ValueError ...
        return PackageReport(False, [f"{p.name}: not a readable zip archive (corrupt, or not a package): "
                                     f"{exc}"])

    def read(name: str, limit: int = MAX_CONTROL_BYTES) -> bytes | None:
        """A member's bytes; None (a problem noted) when missing, corrupt or over `limit` bytes."""
        out = bytearray()
        return bytes(out) if stream(name, out.extend, limit) else None

    def sha256_of(name: str, size: Any) -> str | None:
        """A member's SHA-256, inflated in chunks and never beyond the manifest's size (a zip bomb
        stops there), or None (a problem noted)."""
        h = hashlib.sha256()
        limit = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
        return h.hexdigest() if stream(name, h.update, limit) else None

    def stream(name: str, sink: Any, limit: int | None) -> bool:
        n = 0
        try:
            with zf.open(name) as f:
                while chunk := f.read(1 << 20):
                    n += len(chunk)
                    if limit is not None and n > limit:
                        problems.append(f"{name}: changed (inflates to more than the {limit} bytes "
                                        "the manifest gives)")
                        return False
                    sink(chunk)
            return True
        except KeyError:
            problems.append(f"{name}: missing from the package")
        except Exception as exc:  # BadZipFile (bad CRC, header mismatch), zlib.error, EOFError ...
            problems.append(f"{name}: changed (its stored data is corrupt: {type(exc).__name__}: {exc})")
        return False

    with zf:
        try:
            members = [i.filename for i in zf.infolist()]
        except Exception as exc:
            return PackageReport(False, [f"{p.name}: corrupt zip directory: {exc}"])
        mbytes = read("manifest.json")
        msig = read("manifest.sig")
        pem = read("public_key.pem")
        manifest: dict[str, Any] | None = None
        if mbytes is not None:
            try:
                manifest = json.loads(mbytes.decode("utf-8"))
                if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
                    raise ValueError("no files list")
            except (ValueError, UnicodeDecodeError) as exc:
                problems.append(f"manifest.json: changed (no longer a valid manifest: {exc})")
                manifest = None
        pub = None
        fp = None
        if pem is not None:
            try:
                pub = serialization.load_pem_public_key(pem)
                if not isinstance(pub, ed25519.Ed25519PublicKey):
                    raise ValueError("not an Ed25519 key")
                fp = fingerprint(pub)
            except (ValueError, TypeError) as exc:
                problems.append(f"public_key.pem: changed (not a valid Ed25519 public key: {exc})")
                pub = None
        if manifest is not None:
            files: dict[str, Any] = manifest["files"]
            for name in sorted(files):
                entry = files[name] if isinstance(files[name], dict) else {}
                want = entry.get("sha256")
                if name in ("public_key.pem",) and pem is not None:
                    got: str | None = hashlib.sha256(pem).hexdigest()
                else:
                    got = sha256_of(name, entry.get("size"))
                if got is not None and got != want:
                    problems.append(f"{name}: changed (SHA-256 differs from the manifest)")
            for name in members:
                if name not in files and name not in CONTROL_FILES:
                    problems.append(f"{name}: added (not in the manifest)")
            if len(set(members)) != len(members):
                problems.append("the archive holds two members with the same name")
        if pub is not None and mbytes is not None and msig is not None:
            try:
                pub.verify(base64.b64decode(msig.strip(), validate=True), mbytes)
            except (InvalidSignature, ValueError):
                problems.append("manifest.sig: the manifest's signature does not match "
                                "(manifest.json or manifest.sig was changed)")
        if pub is not None:
            sig, why = _archive_signature(data)
            archive_ok = False
            if sig is not None:
                digest = hashlib.sha256(data[:-SIG_LEN]).digest()
                try:
                    pub.verify(sig, ARCHIVE_CONTEXT + digest)
                    archive_ok = True
                except InvalidSignature:
                    why = "the archive's signature does not match"
            if not archive_ok and not problems:
                problems.append(f"archive: changed outside the files' contents (zip headers, names, "
                                f"dates or the signature in the zip comment): {why}")
        if expect_fingerprint is not None and fp is not None:
            norm = "".join(expect_fingerprint.lower().removeprefix("sha256:").split())
            if norm != "".join(fp.lower().removeprefix("sha256:").split()):
                problems.append(f"public_key.pem: signed by key {fp}, not by the expected "
                                f"{expect_fingerprint}")
    det = manifest.get("detection") if manifest is not None else None
    nfiles = len(manifest["files"]) if manifest is not None else 0
    return PackageReport(not problems, problems, fp, det if isinstance(det, dict) else None, nfiles)
