"""irods-lite's configuration: zone, users, resources and the version it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .s3_resource import S3_TYPE, S3Endpoint

DEFAULT_VERSION = "4.3.4"
LEGACY_VERSION = "4.2.12"
LEAF_TYPE = "unixfilesystem"
# The coordinating types irods-lite implements (each picks one child on write); a leaf has a vault.
COORDINATING_TYPES = ("passthru", "random", "roundrobin", "compound", "replication", "load_balanced", "deferred")
RESOURCE_TYPES = (LEAF_TYPE, S3_TYPE, *COORDINATING_TYPES)


class ConfigSyntaxError(ValueError):
    """A user or resource specification that cannot be parsed."""


@dataclass(frozen=True)
class UserSpec:
    name: str
    password: str
    admin: bool = False

    @classmethod
    def parse(cls, text: str) -> UserSpec:
        parts = text.split(":")
        if len(parts) not in (2, 3) or not parts[0] or (len(parts) == 3 and parts[2] not in ("rodsadmin", "rodsuser")):
            raise ConfigSyntaxError(f"user {text!r}: expected name:password[:rodsadmin]")
        return cls(parts[0], parts[1], len(parts) == 3 and parts[2] == "rodsadmin")


@dataclass(frozen=True)
class ResourceSpec:
    """A resource; a leaf (unixfilesystem) has a vault, others coordinate their children; an s3 one's objects
    are read from LiteConfig.s3 (irods_lite/s3_resource.py)."""

    name: str
    type: str = LEAF_TYPE
    parent: str = ""
    vault: str = ""  # an s3 resource's `/bucket/prefix` (a unixfilesystem one's is under data_dir)

    @classmethod
    def parse(cls, text: str) -> ResourceSpec:
        parts = text.split(":")
        if not parts[0] or len(parts) > 3:
            raise ConfigSyntaxError(f"resource {text!r}: expected name[:type[:parent]]")
        rtype = parts[1] if len(parts) > 1 and parts[1] else LEAF_TYPE
        if rtype not in RESOURCE_TYPES:
            raise ConfigSyntaxError(f"resource {text!r}: unknown type {rtype!r} (one of {', '.join(RESOURCE_TYPES)})")
        return cls(parts[0], rtype, parts[2] if len(parts) > 2 else "")


def parse_version(text: str) -> tuple[int, int, int]:
    try:
        major, minor, patch = (int(p) for p in text.split("."))
    except ValueError:
        raise ConfigSyntaxError(f"version {text!r}: expected X.Y.Z") from None
    if (major, minor, patch) <= (4, 2, 8):
        raise ConfigSyntaxError(f"version {text!r}: irods-lite reports 4.2.9 or newer")
    return major, minor, patch


@dataclass(frozen=True)
class LiteConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 1247
    zone: str = "tempZone"
    version: str = DEFAULT_VERSION
    users: tuple[UserSpec, ...] = (UserSpec("rods", "rods", True),)
    resources: tuple[ResourceSpec, ...] = field(default_factory=tuple)
    default_resource: str = "demoResc"
    request_log: Path | None = None
    # TLS (tls.py): a PEM certificate chain and its key; the policy defaults to CS_NEG_REQUIRE with them
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_policy: str = ""
    s3: S3Endpoint | None = None  # where the objects of s3 resources are read from

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        return parse_version(self.version)

    def all_resources(self) -> tuple[ResourceSpec, ...]:
        """demoResc first, then the configured ones, parents before children."""
        specs = [ResourceSpec("demoResc")] + [r for r in self.resources if r.name != "demoResc"]
        for spec in specs:
            if spec.type not in RESOURCE_TYPES:
                raise ConfigSyntaxError(f"resource {spec.name}: unknown type {spec.type!r}")
        ordered: list[ResourceSpec] = []
        pending = list(specs)
        while pending:
            progressed = False
            for spec in list(pending):
                if not spec.parent or any(o.name == spec.parent for o in ordered):
                    ordered.append(spec)
                    pending.remove(spec)
                    progressed = True
            if not progressed:
                raise ConfigSyntaxError(f"resource {pending[0].name}: unknown parent {pending[0].parent!r}")
        return tuple(ordered)
