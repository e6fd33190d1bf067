"""``serve --tls-cert/--tls-key``: the emulator speaks HTTPS with the given certificate."""

from __future__ import annotations

import datetime
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcapi.emulator import Emulator
from mcapi.emulator._serve import StartFailure, TlsFiles, is_loopback, serve_in_thread, start


def self_signed(directory: Path, name: str = "localhost") -> TlsFiles:
    """A certificate for 127.0.0.1 and localhost and its key, made with ``cryptography`` when it
    is installed, else with the ``openssl`` command."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither the cryptography package nor the openssl command is available")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out",
             str(cert), "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
        return TlsFiles(cert, key)
    import ipaddress

    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TlsFiles(cert, key)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator("sqlite://", kdf_n=2**10)
    yield emu
    emu.close()


def test_a_served_emulator_speaks_https(tmp_path: Path, emulator: Emulator) -> None:
    tls = self_signed(tmp_path)
    creds = emulator.load_demo()
    trusted = ssl.create_default_context(cafile=str(tls.cert))
    with serve_in_thread(emulator, tls=tls) as base_url:
        assert base_url.startswith("https://127.0.0.1:")
        headers = {"Authorization": f"Bearer {creds.admin_token}"}
        answer = httpx.get(f"{base_url}/_emulator/journal", headers=headers, verify=trusted)
        assert answer.status_code == 200
        plain = "http://" + base_url.removeprefix("https://")
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{plain}/_emulator/health", timeout=10)


def test_a_key_that_does_not_match_the_certificate_stops_the_start(tmp_path: Path) -> None:
    one, other = self_signed(tmp_path, "one"), self_signed(tmp_path, "other")
    mismatched = TlsFiles(one.cert, other.key)
    with pytest.raises(StartFailure, match="cannot use the TLS certificate"):
        start(host="127.0.0.1", port=0, db="sqlite://", tls=mismatched)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.0.2.10", False), ("emulator.internal", False)],
)  # fmt: skip
def test_which_hosts_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
