"""`lz-ingest irods-lite`: run the local iRODS-protocol server in the foreground."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

import click

from .irods_lite import LiteConfig, LiteServer, ResourceSpec, UserSpec, tls
from .irods_lite.config import DEFAULT_VERSION, ConfigSyntaxError, parse_version
from .irods_lite.server import DataDirInUse
from .settings import state_home


def default_data_dir() -> Path:
    return state_home(os.environ) / "lz-ingest" / "irods-lite"


def build_config(
    host: str,
    port: int,
    zone: str,
    data_dir: Path | None,
    users: tuple[str, ...],
    resources: tuple[str, ...],
    version: str,
    request_log: Path | None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    tls_policy: str | None = None,
) -> LiteConfig:
    try:
        parse_version(version)
        user_specs = tuple(UserSpec.parse(u) for u in users) or (UserSpec("rods", "rods", True),)
        resc_specs = tuple(ResourceSpec.parse(r) for r in resources)
        config = LiteConfig(
            data_dir=data_dir or default_data_dir(),
            host=host,
            port=port,
            zone=zone,
            version=version,
            users=user_specs,
            resources=resc_specs,
            request_log=request_log,
            tls_cert=tls_cert,
            tls_key=tls_key,
            tls_policy=tls_policy or "",
        )
        config.all_resources()
        tls.server_context(config)  # a policy without a certificate, or files that do not load
    except (ConfigSyntaxError, tls.TlsConfigError) as exc:
        raise click.UsageError(str(exc)) from None
    if not zone or "/" in zone:
        raise click.UsageError(f"zone {zone!r}: expected a plain name such as tempZone")
    return config


@click.command("irods-lite")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=1247, show_default=True, type=click.IntRange(0, 65535), help="TCP port (0: any).")
@click.option("--zone", default="tempZone", show_default=True, help="Zone name.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Catalog and vaults (default: $XDG_STATE_HOME/lz-ingest/irods-lite).",
)
@click.option("--user", "users", multiple=True, help="name:password[:rodsadmin]; repeat. Default rods:rods:rodsadmin.")
@click.option("--resource", "resources", multiple=True, help="name[:type[:parent]]; repeat. demoResc always exists.")
@click.option("--server-version", "version", default=DEFAULT_VERSION, show_default=True, help="Version to report.")
@click.option("--request-log", type=click.Path(dir_okay=False, path_type=Path), help="Append one JSON line per call.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), help="PEM certificate (chain): offer TLS.")
@click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), help="PEM private key of --tls-cert.")
@click.option(
    "--tls-policy",
    type=click.Choice([tls.REQUIRE, tls.DONT_CARE]),
    help="Negotiation policy with a certificate (default CS_NEG_REQUIRE); without one: CS_NEG_REFUSE.",
)
def irods_lite_command(**options: object) -> None:
    """Run irods-lite, a local iRODS-protocol server, until interrupted."""
    config = build_config(**options)  # type: ignore[arg-type]
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = LiteServer(config)
    try:
        server.start()
    except DataDirInUse as exc:
        raise click.UsageError(str(exc)) from None
    except OSError as exc:
        raise click.UsageError(f"irods-lite cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
    users = ", ".join(f"{u.name} ({'rodsadmin' if u.admin else 'rodsuser'})" for u in config.users)
    click.echo(
        f"irods-lite {config.version} listening on {config.host}:{server.port}, zone {config.zone}, "
        f"users {users}, data in {config.data_dir}" + (f", TLS {server.tls_policy}" if server.tls_context else "")
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
