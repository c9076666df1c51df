"""The TLS part of the iRODS settings: the environment file's SSL keys, the IRODS_* variables that
override them (as for the iCommands), and the checks that turn python-irodsclient's tracebacks into
one line naming the setting.

python-irodsclient 3.3.0 takes these as account attributes (irods/connection.py): it negotiates only
when irods_client_server_negotiation is request_server_negotiation, accepts the policies CS_NEG_REQUIRE
and CS_NEG_REFUSE only, and with TLS reads the four irods_encryption_* settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lz_ingest.errors import ConfigError

NEGOTIATE = "request_server_negotiation"
CLIENT_POLICIES = ("CS_NEG_REQUIRE", "CS_NEG_REFUSE")
VERIFY_MODES = ("hostname", "cert", "none")
ENCRYPTION_INTS = ("irods_encryption_key_size", "irods_encryption_salt_size", "irods_encryption_num_hash_rounds")
ENCRYPTION_KEYS = ("irods_encryption_algorithm", *ENCRYPTION_INTS)
TLS_KEYS = (
    "irods_client_server_negotiation",
    "irods_client_server_policy",
    "irods_ssl_ca_certificate_file",
    "irods_ssl_ca_certificate_path",
    "irods_ssl_verify_server",
    *ENCRYPTION_KEYS,
)


def tls_options(options: Mapping[str, Any], environ: Mapping[str, str], where: str) -> dict[str, Any]:
    """`options` with the IRODS_* TLS variables applied over them, checked; `where` names their source."""
    merged = dict(options)
    for key in TLS_KEYS:
        value = environ.get(key.upper())
        if value:
            merged[key] = value
    for key in ENCRYPTION_INTS:
        if key in merged:
            merged[key] = _positive_int(merged[key], key, where)
    _check(merged, where)
    return merged


def negotiates(options: Mapping[str, Any]) -> bool:
    return options.get("irods_client_server_negotiation") == NEGOTIATE


def _check(options: Mapping[str, Any], where: str) -> None:
    verify = options.get("irods_ssl_verify_server", "hostname")
    if verify not in VERIFY_MODES:
        raise ConfigError(f"irods_ssl_verify_server {verify!r} ({where}): expected one of {', '.join(VERIFY_MODES)}")
    for key in ("irods_ssl_ca_certificate_file", "irods_ssl_ca_certificate_path"):
        path = options.get(key)
        if path and not Path(path).exists():
            raise ConfigError(f"{key} {path} ({where}) does not exist")
    if not negotiates(options):
        return
    policy = options.get("irods_client_server_policy", "CS_NEG_REFUSE")
    if policy not in CLIENT_POLICIES:
        accepted = " or ".join(CLIENT_POLICIES)
        raise ConfigError(f"irods_client_server_policy {policy!r} ({where}): python-irodsclient accepts {accepted}")
    missing = [key for key in ENCRYPTION_KEYS if key not in options]
    if policy == "CS_NEG_REQUIRE" and missing:
        raise ConfigError(f"irods_client_server_policy CS_NEG_REQUIRE ({where}) needs {', '.join(missing)}")


def _positive_int(value: Any, key: str, where: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} {value!r} ({where}): not a number") from None
    if number <= 0:
        raise ConfigError(f"{key} {value!r} ({where}): must be positive")
    return number
