"""`lz-ingest demo`: the main job end to end on embedded defaults (irods-lite and the embedded Redis)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import click

from .cli_jobs import prepare, run_job
from .cli_options import redis_options
from .irods_lite import LiteConfig, LiteServer
from .progress import plural


def make_sample_tree(root: Path) -> int:
    """A small landing zone: a few instruments' runs, some nested, one empty file."""
    count = 0
    for run in ("run-001", "run-002", "calibration/2026-11"):
        for i in range(5):
            path = root / run / f"sample_{i:02d}.dat"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{run} sample {i}\n".encode() * (i + 1))
            count += 1
    (root / "README.txt").write_text("files dropped by the demo instrument\n")
    (root / "empty.marker").write_bytes(b"")
    return count + 2


def show_catalog(host: str, port: int, collection: str) -> None:
    from irods.session import iRODSSession

    with iRODSSession(host=host, port=port, user="rods", password="rods", zone="tempZone") as session:
        for coll, _subs, objects in session.collections.get(collection).walk():
            for obj in objects:
                replica = obj.replicas[0]
                click.echo(f"  {obj.path}  {obj.size:>5} bytes  {replica.resource_name}  <- {replica.path}")
            if not objects:
                click.echo(f"  {coll.path}/")


def write_irods_env(directory: Path, port: int) -> Path:
    """An iCommands-style environment file (and its scrambled password) for the demo's irods-lite: the
    rescan and its worker processes read it (the job records its path), so no variable is set anywhere."""
    from irods.password_obfuscation import encode

    directory.mkdir(parents=True, exist_ok=True)
    auth_file = directory / ".irodsA"
    auth_file.write_text(encode("rods") + "\n")
    auth_file.chmod(0o600)
    env_file = directory / "irods_environment.json"
    env = {
        "irods_host": "127.0.0.1",
        "irods_port": port,
        "irods_user_name": "rods",
        "irods_zone_name": "tempZone",
        "irods_authentication_file": str(auth_file),
    }
    env_file.write_text(json.dumps(env, indent=2) + "\n")
    return env_file


@click.command("demo")
@click.option("--dir", "workdir", type=click.Path(file_okay=False, path_type=Path), help="Keep the demo's files here.")
@click.option("--workers", type=int, default=2, show_default=True, help="Worker processes for the pass.")
@redis_options
def demo_command(workdir: Path | None, workers: int, **values: Any) -> int:
    """Start irods-lite, register a sample landing zone into it with a rescan, show the catalog."""
    with tempfile.TemporaryDirectory(prefix="lz-demo-") as tmp:
        base = workdir or Path(tmp)
        source = base / "landing-zone"
        files = make_sample_tree(source)
        server = LiteServer(LiteConfig(data_dir=base / "irods-lite", port=0)).start()
        try:
            click.echo(f"irods-lite on 127.0.0.1:{server.port}; sample landing zone {source} ({plural(files, 'file')})")
            env_file = write_irods_env(base / "irods", server.port)
            target = "/tempZone/home/rods/landing-zone"
            click.echo(f"$ lz-ingest rescan {source} {target} --workers {workers} --irods-env {env_file}")
            job = {**values, "job_name": "demo", "irods_env": str(env_file), "workers": workers}
            prepared, settings = prepare(str(source), target, None, job)
            status = run_job(prepared, {"synchronous": True, "progress": False, "log": settings.log, **job})
            if status in (0, 1):
                click.echo(f"catalog under {target}:")
                show_catalog("127.0.0.1", server.port, target)
            return status
        finally:
            server.stop()
