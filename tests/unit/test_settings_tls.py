"""The TLS settings: environment-file keys and IRODS_* variables reach python-irodsclient, checked first."""

from __future__ import annotations

from pathlib import Path

import pytest
from irods.session import iRODSSession

from lz_ingest.errors import ConfigError
from lz_ingest.settings import load_irods_settings
from tests.unit.test_settings import SSL_KEYS, VARIABLES, icommands_home


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_tls_variables_override_the_environment_file(home: Path, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not parsed here")
    environ = icommands_home(home, **SSL_KEYS)
    environ.update(IRODS_SSL_CA_CERTIFICATE_FILE=str(ca), IRODS_SSL_VERIFY_SERVER="hostname")
    options = load_irods_settings(environ).options
    assert options["irods_ssl_ca_certificate_file"] == str(ca)
    assert options["irods_ssl_verify_server"] == "hostname"
    assert options["irods_client_server_policy"] == "CS_NEG_REQUIRE"  # the file's, not overridden


def test_tls_from_variables_alone_reaches_the_client_account(tmp_path: Path) -> None:
    environ = {
        **VARIABLES,
        "IRODS_CLIENT_SERVER_NEGOTIATION": "request_server_negotiation",
        "IRODS_CLIENT_SERVER_POLICY": "CS_NEG_REQUIRE",
        "IRODS_ENCRYPTION_ALGORITHM": "AES-256-CBC",
        "IRODS_ENCRYPTION_KEY_SIZE": "32",
        "IRODS_ENCRYPTION_SALT_SIZE": "8",
        "IRODS_ENCRYPTION_NUM_HASH_ROUNDS": "16",
    }
    irods = load_irods_settings(environ)
    session = iRODSSession(**irods.session_kwargs())
    try:
        account = session.pool.account
        assert account.client_server_negotiation == "request_server_negotiation"
        assert (account.encryption_key_size, account.encryption_salt_size) == (32, 8)  # numbers, as os.urandom needs
        assert account.encryption_num_hash_rounds == 16
    finally:
        session.cleanup()


@pytest.mark.parametrize(
    "extra, culprits",
    [
        ({"irods_client_server_policy": "CS_NEG_DONT_CARE"}, ["CS_NEG_DONT_CARE", "CS_NEG_REQUIRE or CS_NEG_REFUSE"]),
        ({"irods_encryption_key_size": "big"}, ["irods_encryption_key_size", "'big'"]),
        ({"irods_encryption_salt_size": 0}, ["irods_encryption_salt_size", "positive"]),
        ({"irods_ssl_verify_server": "yes"}, ["irods_ssl_verify_server", "'yes'"]),
        ({"irods_ssl_ca_certificate_file": "/no/such/ca.pem"}, ["/no/such/ca.pem", "does not exist"]),
    ],
)
def test_tls_settings_that_cannot_work_name_the_key_and_the_file(
    home: Path, extra: dict[str, object], culprits: list[str]
) -> None:
    environ = icommands_home(home, **{**SSL_KEYS, **extra})
    with pytest.raises(ConfigError) as raised:
        load_irods_settings(environ)
    message = str(raised.value)
    for culprit in [*culprits, str(home / ".irods" / "irods_environment.json")]:
        assert culprit in message, (culprit, message)


def test_requiring_tls_without_the_encryption_settings_names_them(home: Path) -> None:
    keys = {k: v for k, v in SSL_KEYS.items() if not k.startswith("irods_encryption_")}
    with pytest.raises(ConfigError, match="needs irods_encryption_algorithm, irods_encryption_key_size"):
        load_irods_settings(icommands_home(home, **keys))


def test_refusing_tls_needs_no_encryption_settings(home: Path) -> None:
    keys = {
        "irods_client_server_negotiation": "request_server_negotiation",
        "irods_client_server_policy": "CS_NEG_REFUSE",
    }
    assert load_irods_settings(icommands_home(home, **keys)).options["irods_client_server_policy"] == "CS_NEG_REFUSE"
