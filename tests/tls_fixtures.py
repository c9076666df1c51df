"""TLS for tests: a CA made on the spot, a server certificate for localhost / 127.0.0.1, irods-lite with it,
and the client settings (environment-file keys) python-irodsclient needs to negotiate TLS with it."""

from __future__ import annotations

import datetime
import ipaddress
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from irods.password_obfuscation import encode

from lz_ingest.irods_lite import LiteConfig, LiteServer

from .irods_fixtures import LITE_RESOURCES, LITE_USERS

# What the iRODS documentation's example environment uses; the server takes whatever the client sends.
ENCRYPTION = {
    "irods_encryption_algorithm": "AES-256-CBC",
    "irods_encryption_key_size": 32,
    "irods_encryption_salt_size": 8,
    "irods_encryption_num_hash_rounds": 16,
}
ENCRYPTION_SETTINGS = ("AES-256-CBC", 32, 8, 16)
NEGOTIATE = "request_server_negotiation"


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA that signed the server's certificate
    other_ca: Path  # a CA that did not
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    path.chmod(0o600)


def _make_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate) -> tuple[Any, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def make_pki(directory: Path) -> Pki:
    """A CA, a server certificate it signed (localhost, 127.0.0.1) and an unrelated second CA, as PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = _make_ca("lz-ingest test CA")
    _, other = _make_ca("some other CA")
    key, cert = _server_cert(ca_key, ca)
    pki = Pki(directory / "ca.pem", directory / "other-ca.pem", directory / "server.pem", directory / "server.key")
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.other_ca.write_bytes(other.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, pki.key)
    return pki


def client_tls_settings(ca: Path, policy: str = "CS_NEG_REQUIRE", verify: str = "hostname") -> dict[str, Any]:
    """The environment-file keys of a client that negotiates (python-irodsclient's keyword form too)."""
    return {
        "irods_client_server_negotiation": NEGOTIATE,
        "irods_client_server_policy": policy,
        "irods_ssl_ca_certificate_file": str(ca),
        "irods_ssl_verify_server": verify,
        **ENCRYPTION,
    }


def write_env_file(home: Path, server: LiteServer, ca: Path, user: str = "rods", password: str = "rods") -> Path:
    """~/.irods/irods_environment.json and .irodsA (iinit's scrambled form) under `home`, for TLS."""
    irods_dir = home / ".irods"
    irods_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "irods_host": "localhost",
        "irods_port": server.port,
        "irods_zone_name": server.config.zone,
        "irods_user_name": user,
        **client_tls_settings(ca),
    }
    env_file = irods_dir / "irods_environment.json"
    env_file.write_text(json.dumps(env, indent=1))
    (irods_dir / ".irodsA").write_text(encode(password))
    return env_file


def start_tls_lite(data_dir: Path, pki: Pki, version: str = "4.3.4", policy: str = "") -> LiteServer:
    config = LiteConfig(
        data_dir=data_dir,
        port=0,
        version=version,
        users=LITE_USERS,
        resources=LITE_RESOURCES,
        tls_cert=pki.cert,
        tls_key=pki.key,
        tls_policy=policy,
    )
    return LiteServer(config).start()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def tls_lite(pki: Pki) -> Iterator[LiteServer]:
    """irods-lite 4.3.4 whose policy is CS_NEG_REQUIRE."""
    with tempfile.TemporaryDirectory(prefix="irods-lite-tls-") as tmp:
        server = start_tls_lite(Path(tmp), pki)
        try:
            yield server
        finally:
            server.stop()
