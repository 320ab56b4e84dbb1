"""TLS for real: a throwaway CA and server certificate made in the test's directory
(`cryptography`), `fbsdetect serve` over HTTPS (uvicorn with that certificate) and a second,
private Mosquitto with a TLS listener and the registry's password and ACL files. Real
`fbsdetect node` processes connect with the CA file (`ca_file`): every record arrives
once. With another CA's file the node says so in one clear line and sends nothing; put
right, the same outbox drains: nothing lost, nothing twice."""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("paho.mqtt.client")
pytest.importorskip("fastapi")
x509 = pytest.importorskip("cryptography.x509")

import httpx  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

from fbsdetect.server.auth import register_node  # noqa: E402
from fbsdetect.store import open_store  # noqa: E402
from tests.fleet.support import Mosquitto, Server, node_config, start_node  # noqa: E402
from tests.fleet.test_fleet import check_exactly_once  # noqa: E402


def _name(cn: str) -> Any:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(d: Path, cn: str) -> tuple[Path, Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    path = d / f"{cn}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def make_server_cert(d: Path, ca_key: Any, ca_cert: Any) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    cp, kp = d / "server.crt", d / "server.key"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    kp.chmod(0o600)
    return cp, kp


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    d = tmp_path / "pki"
    d.mkdir()
    ca, ca_key, ca_cert = make_ca(d, "fleet-test-ca")
    wrong, _k, _c = make_ca(d, "some-other-ca")
    cert, key = make_server_cert(d, ca_key, ca_cert)
    return {"ca": ca, "wrong": wrong, "cert": cert, "key": key}


def _tls_lines(cfg: Path) -> list[str]:
    return [ln for ln in cfg.with_suffix(".log").read_text().splitlines() if "TLS:" in ln]


def _wrong_then_right(tmp_path: Path, store: Any, creds: dict[str, dict[str, str]], *, uplink: str,
                      server: str, mqtt: str | None, pki: dict[str, Path]) -> None:
    """A node with the right CA: everything once. One with another CA: one clear line, nothing
    sent; the same node put right: its outbox drains, every record once."""
    good = node_config(tmp_path / f"{uplink}-good.toml", creds["good"], uplink=uplink, server=server,
                       mqtt=mqtt, source="synthetic:20", duration_s=3, ca_file=pki["ca"])
    assert start_node(good, drain_timeout_s=60).wait(timeout=180) == 0, good.with_suffix(".log").read_text()
    check_exactly_once(store, {creds["good"]["node"]: good})
    assert _tls_lines(good) == []

    bad = node_config(tmp_path / f"{uplink}-bad.toml", creds["bad"], uplink=uplink, server=server, mqtt=mqtt,
                      source="synthetic:20", duration_s=3, ca_file=pki["wrong"])
    rc = start_node(bad, drain_timeout_s=6).wait(timeout=180)
    log = bad.with_suffix(".log").read_text()
    assert rc == 1 and "Traceback" not in log, log  # not drained: it could not send
    lines = _tls_lines(bad)
    assert len(lines) == 1, log
    assert "certificate does not verify against the CA in" in lines[0], lines
    assert str(pki["wrong"]) in lines[0], lines
    from tests.fleet.support import node_seqs, server_counts

    assert node_seqs(bad) and server_counts(store, creds["bad"]["node"])[0] == {}  # nothing went out
    bad = node_config(bad, creds["bad"], uplink=uplink, server=server, mqtt=mqtt, source="synthetic:20",
                      duration_s=1, ca_file=pki["ca"])  # put right: the same outbox
    assert start_node(bad, drain_timeout_s=60).wait(timeout=180) == 0, bad.with_suffix(".log").read_text()
    totals = check_exactly_once(store, {creds["bad"]["node"]: bad})
    assert totals[creds["bad"]["node"]] > 40  # both runs' records


def test_https_uplink_with_a_private_ca(tmp_path: Path, pki: dict[str, Path]) -> None:
    db = f"sqlite:///{tmp_path / 'srv.db'}"
    store = open_store(db)
    creds = {"good": register_node(store, "h1"), "bad": register_node(store, "h2")}
    server = Server(db, tmp_path, None, args=("--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"])),
                    https=True)
    server.start()
    try:
        import ssl

        ok, other = (ssl.create_default_context(cafile=str(pki[k])) for k in ("ca", "wrong"))
        assert httpx.get(f"{server.url}/healthz", verify=ok, timeout=30).json()["status"] == "ok"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.url}/healthz", verify=other, timeout=30)
        _wrong_then_right(tmp_path, store, creds, uplink="https", server=server.url, mqtt=None, pki=pki)
    finally:
        server.stop()
        store.close()


def test_mqtt_over_tls_with_a_private_ca(tmp_path: Path, pki: dict[str, Path]) -> None:
    db = f"sqlite:///{tmp_path / 'srv.db'}"
    store = open_store(db)
    creds = {"good": register_node(store, "m1"), "bad": register_node(store, "m2")}
    mosq = Mosquitto(store, tmp_path / "mq", tls=(pki["cert"], pki["key"]))
    mosq.start()
    server = Server(db, tmp_path, mosq.ingest_url, args=("--mqtt-ca", str(pki["ca"])))
    wrong = Server(db, tmp_path, mosq.ingest_url, args=("--mqtt-ca", str(pki["wrong"])))
    server.start()
    wrong.start()
    try:
        deadline = time.monotonic() + 30
        while not httpx.get(f"{server.url}/healthz", timeout=30).json()["mqtt"]["connected"]:
            assert time.monotonic() < deadline, (tmp_path / f"server-{server.port}.log").read_text()
            time.sleep(0.3)
        # the server's own worker with another CA: not connected, one clear line, alive
        h = httpx.get(f"{wrong.url}/healthz", timeout=30).json()["mqtt"]
        assert h == {"connected": False, "worker_alive": True}
        deadline = time.monotonic() + 15
        while True:  # a few connection attempts (1, 2, 4 s apart): still one line
            wrong_log = (tmp_path / f"server-{wrong.port}.log").read_text()
            lines = [ln for ln in wrong_log.splitlines() if "TLS:" in ln]
            if (lines and time.monotonic() > deadline - 10) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert len(lines) == 1 and "mqtt ingest: TLS:" in lines[0] and "some-other-ca" in lines[0], wrong_log
        _wrong_then_right(tmp_path, store, creds, uplink="mqtt", server=server.url, mqtt=mosq.url, pki=pki)
    finally:
        wrong.stop()
        server.stop()
        mosq.stop()
        store.close()
