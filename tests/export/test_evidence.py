"""Evidence packages (issue 11): an untouched package verifies, also on
"another machine" (another folder, no key store, another working
directory); flipping any byte of it, replacing, adding or removing a file is
reported by `fbsdetect verify` with what changed, exit 1, one line each, no
traceback; IQ snippets the observations refer to are packed, their absence
is said in the manifest."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from fbsdetect.cli.main import main
from fbsdetect.export.evidence import build_evidence, verify_package
from fbsdetect.store import open_store
from tests.export.test_exports import Built, build_store

pytest.importorskip("cryptography", reason="evidence packages are signed with `cryptography`")


@pytest.fixture(scope="module")
def keys_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("config")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory, keys_home: Path) -> tuple[Built, Path]:
    d = tmp_path_factory.mktemp("evidence")
    b = build_store(f"sqlite:///{d / 'fbsdetect.db'}", n=12)
    out = d / "detection.zip"
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CONFIG_HOME", str(keys_home))
    try:
        assert main(["--db", b.url, "export", "--format", "evidence", "--detection", str(b.detection_id),
                     "--no-pdf", "-o", str(out)]) == 0
    finally:
        mp.undo()
    return b, out


def test_package_holds_frames_observations_findings_report_and_signed_manifest(
        package: tuple[Built, Path], keys_home: Path) -> None:
    b, path = package
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {"manifest.json", "manifest.sig", "public_key.pem", "detection.json", "findings.json",
                "observations.json", "observations.csv", "frames.pcapng", "report.html"} <= names
        assert all(not n.startswith("/") and ".." not in n for n in names)
        manifest = json.loads(zf.read("manifest.json"))
        obs = json.loads(zf.read("observations.json"))
        det = json.loads(zf.read("detection.json"))
        report = zf.read("report.html").decode()
        everything = b"".join(zf.read(n) for n in names)
    assert set(manifest["files"]) == names - {"manifest.json", "manifest.sig"}
    assert len(obs) == len(b.fake_obs_ids) and {o["id"] for o in obs} == set(b.fake_obs_ids)
    assert all(o["sensor"] == "laptop-1" for o in obs)
    assert len(det["findings"]) == len(b.fake_obs_ids)
    assert det["detection"]["severity"] == "high" and det["audit_head"]["seq"] > 0
    assert "no IQ snippets" in " ".join(manifest["notes"])
    import fbsdetect.mapping

    if hasattr(fbsdetect.mapping, "write_map"):  # the map of the detection, offline (no CDN)
        assert "map.html" in names, manifest["notes"]
    assert "lac_unknown" in report and "LAC 10999 is not in the registry" in report
    assert manifest["signature"]["fingerprint"] in report
    # nothing machine-specific: no absolute path of the database, the key store or a temp folder
    for p in (str(path.parent), str(keys_home), "/tmp/"):
        assert p.encode() not in everything
    assert (keys_home / "fbsdetect" / "keys" / "sensor.ed25519.pem").stat().st_mode & 0o077 == 0


def test_untouched_package_verifies_on_another_machine(package: tuple[Built, Path], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    _, path = package
    other = tmp_path / "elsewhere" / "copy.zip"
    other.parent.mkdir()
    shutil.copyfile(path, other)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-keys-here"))
    monkeypatch.delenv("FBSDETECT_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["verify", str(other)]) == 0
    out = capsys.readouterr().out
    assert "OK, untouched" in out and "signing key: SHA256:" in out
    assert not (tmp_path / "no-keys-here").exists()  # verifying needs no local key
    fp = verify_package(other).fingerprint
    assert fp is not None
    assert main(["verify", str(other), "--fingerprint", fp]) == 0
    assert main(["verify", str(other), "--fingerprint", "SHA256:" + "0" * 64]) == 1


def _flipped(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]


def test_any_flipped_byte_is_reported(package: tuple[Built, Path], tmp_path: Path) -> None:
    _, path = package
    data = path.read_bytes()
    n = len(data)
    eocd = data.rfind(b"PK\x05\x06")
    central = int.from_bytes(data[eocd + 16:eocd + 20], "little")  # the central directory's offset
    # a sample of the members' data, and every byte of the zip's structure at the end (central
    # directory, end record, signature); every bit of every byte was checked once by hand
    positions = sorted(set(range(0, central, max(1, central // 150))) | set(range(central, n))
                       | set(range(0, 64)))
    with zipfile.ZipFile(path) as zf:
        members = set(zf.namelist())
    target = tmp_path / "flipped.zip"
    named_file = 0
    for i in positions:
        target.write_bytes(_flipped(data, i))
        rep = verify_package(target)
        assert not rep.ok, f"flipping byte {i} of {n} went unnoticed"
        assert rep.problems and all(isinstance(p, str) and "\n" not in p for p in rep.problems)
        named_file += i < central and any(p.split(":")[0] in members for p in rep.problems)
    in_members = sum(i < central for i in positions)
    assert named_file > in_members // 2  # most flips inside the members name the file they hit


def test_cli_reports_a_flip_and_a_corrupt_zip_in_one_line(package: tuple[Built, Path], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _, path = package
    data = path.read_bytes()
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("observations.json")
    bad.write_bytes(_flipped(data, info.header_offset + 30 + len(info.filename) + 5))
    assert main(["verify", str(bad)]) == 1
    cap = capsys.readouterr()
    assert "observations.json: changed" in cap.err and "Traceback" not in cap.err
    bad.write_bytes(data[: len(data) // 2])  # truncated: no zip directory left
    assert main(["verify", str(bad)]) == 1
    cap = capsys.readouterr()
    assert len(cap.err.strip().splitlines()) == 1 and "not a readable zip archive" in cap.err
    bad.write_bytes(b"")
    assert main(["verify", str(bad)]) == 1
    assert main(["verify", str(tmp_path / "absent.zip")]) == 2


def _rezip(src: Path, dst: Path, change: dict[str, bytes | None], add: dict[str, bytes] | None = None,
           stored: bool = False) -> None:
    """A copy of the package with members replaced (None: removed) or added, comment kept."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            out = copy.copy(info)
            if stored:
                out.compress_type = zipfile.ZIP_STORED
            if info.filename in change:
                new = change[info.filename]
                if new is not None:
                    zout.writestr(out, new)
            else:
                zout.writestr(out, zin.read(info))
        for name, body in (add or {}).items():
            zout.writestr(name, body)
        zout.comment = zin.comment


def test_replaced_added_and_removed_files_are_named(package: tuple[Built, Path], tmp_path: Path) -> None:
    _, path = package
    dst = tmp_path / "x.zip"
    with zipfile.ZipFile(path) as zf:
        obs = json.loads(zf.read("observations.json"))
    obs[0]["power_dbm"] = -20.0
    _rezip(path, dst, {"observations.json": json.dumps(obs).encode()})
    assert verify_package(dst).problems == ["observations.json: changed (SHA-256 differs from the manifest)"]
    _rezip(path, dst, {"frames.pcapng": None})
    assert verify_package(dst).problems == ["frames.pcapng: missing from the package"]
    _rezip(path, dst, {}, add={"extra.txt": b"hello"})
    assert verify_package(dst).problems == ["extra.txt: added (not in the manifest)"]
    # a re-written manifest (hash of the edited file updated) no longer matches its signature
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    body = json.dumps(obs).encode()
    manifest["files"]["observations.json"]["sha256"] = hashlib.sha256(body).hexdigest()
    _rezip(path, dst, {"observations.json": body, "manifest.json": json.dumps(manifest).encode()})
    assert verify_package(dst).problems == [
        "manifest.sig: the manifest's signature does not match (manifest.json or manifest.sig was changed)"]
    # the same contents re-packed (stored instead of deflated): only the archive's signature notices
    _rezip(path, dst, {})
    assert dst.read_bytes() == path.read_bytes()  # (packing is deterministic)
    _rezip(path, dst, {}, stored=True)
    (p,) = verify_package(dst).problems
    assert p.startswith("archive: changed outside the files' contents")


def test_iq_snippets_referenced_by_observations_are_packed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    iq = tmp_path / "iq"
    iq.mkdir()
    (iq / "snip1.sigmf-meta").write_text(json.dumps({"global": {"core:datatype": "ci8"}}))
    (iq / "snip1.sigmf-data").write_bytes(bytes(range(256)))
    b = build_store(f"sqlite:///{tmp_path / 'fbsdetect.db'}", n=6,
                    params_extra={"iq_snippet": "iq/snip1.sigmf-meta", "iq_snippets": ["iq/gone.sigmf-data"]})
    store = open_store(b.url)
    try:
        res = build_evidence(store, b.detection_id, tmp_path / "p.zip", pdf=False, draw_map=False)
    finally:
        store.close()
    assert {"iq/iq/snip1.sigmf-meta", "iq/iq/snip1.sigmf-data"} <= set(res.files)
    notes = " ".join(res.notes)
    assert "1 IQ snippet" not in notes and "2 IQ snippet file(s)" in notes
    assert "iq/gone.sigmf-data is referenced but gone.sigmf-data is not on this machine" in notes
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        assert zf.read("iq/iq/snip1.sigmf-data") == bytes(range(256))
    assert verify_package(tmp_path / "p.zip").ok


def test_unknown_detection_is_bad_usage(package: tuple[Built, Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    b, _ = package
    assert main(["--db", b.url, "export", "--format", "evidence", "--detection", "999",
                 "-o", str(tmp_path / "x.zip")]) == 2
    assert "no such detection" in capsys.readouterr().err


@pytest.mark.slow
def test_pdf_report_where_a_converter_exists(package: tuple[Built, Path], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from fbsdetect.export.evidence import _pdf_converter

    if _pdf_converter() is None:
        pytest.skip("no HTML-to-PDF converter (wkhtmltopdf or chromium) is installed")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    b, _ = package
    store = open_store(b.url)
    try:
        res = build_evidence(store, b.detection_id, tmp_path / "p.zip", draw_map=False)
    finally:
        store.close()
    assert "report.pdf" in res.files, res.notes
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        assert zf.read("report.pdf").startswith(b"%PDF")
    assert verify_package(tmp_path / "p.zip").ok



def test_iq_references_to_files_that_are_not_sigmf_are_not_packed(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # observation params can come from a fleet node (server ingest stores them as sent): a reference
    # must never pull the signing key, or any other file of the exporting machine, into a package
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    secret = tmp_path / "config" / "fbsdetect" / "keys" / "sensor.ed25519.pem"
    (tmp_path / "iq").mkdir()
    link = tmp_path / "iq" / "evil.sigmf-data"
    link.symlink_to(tmp_path / "passwd")
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    b = build_store(f"sqlite:///{tmp_path / 'fbsdetect.db'}", n=6,
                    params_extra={"iq_snippets": [str(secret), "../passwd", "iq/evil.sigmf-data"]})
    store = open_store(b.url)
    try:
        res = build_evidence(store, b.detection_id, tmp_path / "p.zip", pdf=False, draw_map=False)
    finally:
        store.close()
    assert secret.exists()  # made by this export
    assert not [f for f in res.files if f.startswith("iq/")]
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        for name in zf.namelist():
            assert b"PRIVATE KEY" not in zf.read(name) and b"root:x:0:0" not in zf.read(name)
    assert "not a SigMF recording" in " ".join(res.notes)
    # absolute paths and climbs out of the database's folder are refused by their form
    assert f"IQ snippet {secret} is not a path inside the database's folder" in " ".join(res.notes)
    assert "IQ snippet ../passwd is not a path inside the database's folder" in " ".join(res.notes)


def test_a_zip_bomb_member_is_reported_without_inflating_it_into_memory(package: tuple[Built, Path],
                                                                        tmp_path: Path) -> None:
    # packages come from the field to whoever verifies them: a member that inflates to far more than
    # the manifest says must be a finding, not hundreds of MB in memory
    import tracemalloc

    _, path = package
    dst = tmp_path / "bomb.zip"
    _rezip(path, dst, {"frames.pcapng": b"\0" * (96 << 20)})
    assert dst.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        rep = verify_package(dst)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not rep.ok and any(p.startswith("frames.pcapng: changed") for p in rep.problems), rep.problems
    assert peak < 24 << 20, peak


def test_infinite_and_nan_values_are_null_in_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    # a dwell of zeros reads -inf dBFS: the package must still be written (valid JSON, null)
    import sqlite3

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    b = build_store(f"sqlite:///{tmp_path / 'fbsdetect.db'}", n=6, params_extra={"ratio_db": float("nan")})
    con = sqlite3.connect(tmp_path / "fbsdetect.db")
    con.execute("UPDATE observation SET snr_db = 9e999, power_dbm = -9e999")
    con.commit()
    con.close()
    store = open_store(b.url)
    try:
        build_evidence(store, b.detection_id, tmp_path / "p.zip", pdf=False, draw_map=False)
    finally:
        store.close()
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        obs = json.loads(zf.read("observations.json"), parse_constant=lambda c: pytest.fail(c))
        json.loads(zf.read("detection.json"), parse_constant=lambda c: pytest.fail(c))
    assert obs[0]["snr_db"] is None and obs[0]["power_dbm"] is None
    assert verify_package(tmp_path / "p.zip").ok


def _snippet_store(tmp_path: Path) -> tuple[Built, Path, Path]:
    """A store whose observations reference a snippet written by the scan's keeper, bound by its SHA-256."""
    from datetime import UTC, datetime

    from fbsdetect.scan.snippets import SnippetKeeper
    from tests.scan.test_snippets import _carrier, _tap_with

    k = SnippetKeeper(tmp_path, subdir="fbsdetect.db.iq", run_tag="run1")
    ref = k.save(_tap_with(1.0), _carrier(20, 11), 939.0e6, time_zero=datetime(2026, 3, 2, tzinfo=UTC))
    assert ref and set(k.sha256[ref]) == {"meta", "data"}
    b = build_store(f"sqlite:///{tmp_path / 'fbsdetect.db'}", n=6,
                    params_extra={"iq_snippet": ref, "iq_sha256": k.sha256[ref]})
    meta = tmp_path / ref
    return b, meta, meta.with_name(meta.name.replace(".sigmf-meta", ".sigmf-data"))


def _export(b: Built, out: Path) -> Any:
    store = open_store(b.url)
    try:
        return build_evidence(store, b.detection_id, out, pdf=False, draw_map=False)
    finally:
        store.close()


def test_a_snippet_bound_at_capture_is_packed_and_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    b, meta, data = _snippet_store(tmp_path)
    res = _export(b, tmp_path / "p.zip")
    assert {"iq/" + p.relative_to(tmp_path).as_posix() for p in (meta, data)} <= set(res.files)
    assert not [n for n in res.notes if "not the recording captured" in n or "no SHA-256" in n]
    assert verify_package(tmp_path / "p.zip").ok


@pytest.mark.parametrize("swap", ["data and its core:sha512", "data", "meta"])
def test_a_snippet_swapped_on_disk_before_export_is_not_presented_as_genuine(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap: str) -> None:
    """Review #11: replacing the snippet's files between the scan and the export (even consistently, with
    the SigMF core:sha512 rewritten) must not give a package that presents them as the captured IQ."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    b, meta, data = _snippet_store(tmp_path)
    forged = bytes(reversed(data.read_bytes()))
    if swap.startswith("data"):
        data.write_bytes(forged)
    if swap == "data and its core:sha512" or swap == "meta":
        m = json.loads(meta.read_text())
        now = forged if swap != "meta" else data.read_bytes()
        m["global"]["core:sha512"] = hashlib.sha512(now).hexdigest()
        m["global"]["core:description"] = "forged"
        meta.write_text(json.dumps(m))
    res = _export(b, tmp_path / "p.zip")
    assert not [f for f in res.files if f.startswith("iq/")]
    assert any("not the recording captured" in n for n in res.notes), res.notes
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        assert all(forged not in zf.read(n) for n in zf.namelist() if n.startswith("iq/"))


def test_data_that_disagrees_with_its_meta_sha512_is_left_out_even_unbound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    _b0, meta, data = _snippet_store(tmp_path / "a")
    b = build_store(f"sqlite:///{tmp_path / 'a' / 'other.db'}", n=6,
                    params_extra={"iq_snippet": meta.relative_to(tmp_path / "a").as_posix()})
    data.write_bytes(b"\0" * 64)
    res = _export(b, tmp_path / "p.zip")
    assert not [f for f in res.files if f.startswith("iq/")]
    assert any("core:sha512" in n for n in res.notes), res.notes
