"""How an S3 source is reached (S3Settings), recorded in the job as the query of its `s3://` URI.

The URI carries the endpoint, region, addressing style, proxy, TLS verification, multipart chunk size and
the PATH of a key pair file, never a key: a worker reads the key pair file itself, or uses boto3's standard
chain (environment, shared profile, instance role) from its own environment. The old options map here:
`--s3_endpoint_domain` (host[:port], https unless `--s3_insecure_connection`), `--s3_region_name`,
`--s3_proxy_url`, `--s3_insecure_connection` (plain http; with an https URL, no certificate check),
`--s3_multipart_chunksize_in_mib`, `--s3_keypair FILE` (first line the access key, second the secret).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from lz_ingest.errors import ConfigError

ADDRESSING = ("auto", "path", "virtual")
DEFAULT_CHUNK_MIB = 8  # boto3's multipart_chunksize: the fallback part size for ETag checks


@dataclass(frozen=True)
class S3Settings:
    """Where and how to reach a bucket; every field is safe to record and print."""

    endpoint_url: str | None = None
    region: str | None = None
    addressing: str = "auto"
    proxy_url: str | None = None
    verify_tls: bool = True
    multipart_chunk_mib: int = DEFAULT_CHUNK_MIB
    keypair: str | None = None  # absolute path of the key pair file

    def query(self) -> str:
        """The URI query recording the settings that differ from the defaults."""
        default = S3Settings()
        pairs = [
            (f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)
        ]
        return urlencode([(name, _text(value)) for name, value in pairs], quote_via=quote)

    @classmethod
    def from_query(cls, query: str, uri: str) -> S3Settings:
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
            if name not in known:
                raise ConfigError(f"source {uri}: unknown S3 setting {name!r} (known: {', '.join(sorted(known))})")
            values[name] = value
        if "verify_tls" in values:
            values["verify_tls"] = values["verify_tls"] == "true"
        if "multipart_chunk_mib" in values:
            values["multipart_chunk_mib"] = _positive(values["multipart_chunk_mib"], "multipart_chunk_mib")
        return cls(**values).checked()

    def checked(self) -> S3Settings:
        if self.addressing not in ADDRESSING:
            raise ConfigError(f"--s3-addressing {self.addressing}: choose from {', '.join(ADDRESSING)}")
        for name, url in (("--s3-endpoint-url", self.endpoint_url), ("--s3_proxy_url", self.proxy_url)):
            if url is not None:
                _check_url(name, url)
        if self.multipart_chunk_mib <= 0:
            raise ConfigError(f"--s3_multipart_chunksize_in_mib {self.multipart_chunk_mib}: must be positive")
        return self

    def credentials(self) -> tuple[str, str] | None:
        """(access key, secret key) from the key pair file; None for boto3's standard chain."""
        if self.keypair is None:
            return None
        try:
            lines = Path(self.keypair).read_text().splitlines()
        except OSError as exc:
            raise ConfigError(f"--s3_keypair {self.keypair}: {exc.strerror or exc}") from None
        keys = [line.strip() for line in lines if line.strip()]
        if len(keys) < 2:
            raise ConfigError(f"--s3_keypair {self.keypair}: expected the access key and the secret key on two lines")
        return keys[0], keys[1]


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _positive(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} {value!r}: not a whole number") from None
    return number


def _check_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} {url}: expected http://host[:port] or https://host[:port]")
    if parts.username or parts.password:
        raise ConfigError(f"{name}: credentials do not belong in the URL (they would be recorded in the job)")


def from_options(values: Mapping[str, Any]) -> S3Settings:
    """The settings the command-line options give (old spellings included); unset options keep defaults."""
    settings = S3Settings()
    insecure = bool(values.get("s3_insecure_connection"))
    endpoint = values.get("s3_endpoint_url")
    domain = values.get("s3_endpoint_domain")
    if endpoint and domain:
        raise ConfigError("--s3-endpoint-url and --s3_endpoint_domain: give one of them")
    if domain:
        endpoint = f"{'http' if insecure else 'https'}://{domain}"
    changes: dict[str, Any] = {
        "endpoint_url": endpoint or None,
        "region": values.get("s3_region_name") or None,
        "addressing": values.get("s3_addressing") or "auto",
        "proxy_url": values.get("s3_proxy_url") or None,
        "verify_tls": not (insecure and (endpoint or "").startswith("https:")),
        "keypair": os.path.abspath(values["s3_keypair"]) if values.get("s3_keypair") else None,
    }
    if values.get("s3_multipart_chunksize_in_mib") is not None:
        changes["multipart_chunk_mib"] = int(values["s3_multipart_chunksize_in_mib"])
    return replace(settings, **changes).checked()


def uses_s3(values: Mapping[str, Any]) -> bool:
    """Whether any S3 option is given (the old `/bucket/prefix` form needs --s3_keypair, as before)."""
    return bool(values.get("s3_keypair"))


def source_uri(source: str, values: Mapping[str, Any]) -> str:
    """The job's source URI for a command-line SOURCE: `s3://bucket/prefix`, or the old `/bucket/prefix` with
    `--s3_keypair`, gets the S3 options as its query; any other source is returned as it is."""
    if not (source.startswith("s3://") or uses_s3(values)):
        return source
    if "?" in source or "#" in source:
        raise ConfigError(f"source {source}: give S3 settings as options (--s3-endpoint-url, ...), not in the URI")
    path = source.removeprefix("s3://").strip("/")
    if not path:
        raise ConfigError(f"source {source}: no bucket (expected s3://bucket/prefix)")
    query = from_options(values).query()
    return f"s3://{path}" + (f"?{query}" if query else "")
