"""`lz-ingest demo`: the main job end to end on embedded defaults (irods-lite and the embedded Redis)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from .irods_lite import LiteConfig, LiteServer


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


@click.command("demo")
@click.option("--dir", "workdir", type=click.Path(file_okay=False, path_type=Path), help="Keep the demo's files here.")
@click.option("--workers", type=int, default=2, show_default=True, help="Worker processes for the pass.")
def demo_command(workdir: Path | None, workers: int) -> int:
    """Start irods-lite, register a sample landing zone into it with a rescan, show the catalog."""
    from .cli import main

    with tempfile.TemporaryDirectory(prefix="lz-demo-") as tmp:
        base = workdir or Path(tmp)
        source = base / "landing-zone"
        files = make_sample_tree(source)
        server = LiteServer(LiteConfig(data_dir=base / "irods-lite", port=0)).start()
        try:
            click.echo(f"irods-lite on 127.0.0.1:{server.port}; sample landing zone {source} ({files} files)")
            os.environ.update(
                IRODS_HOST="127.0.0.1",
                IRODS_PORT=str(server.port),
                IRODS_USER_NAME="rods",
                IRODS_ZONE_NAME="tempZone",
                IRODS_PASSWORD="rods",
            )
            target = "/tempZone/home/rods/landing-zone"
            click.echo(f"$ lz-ingest rescan {source} {target} --workers {workers}")
            status = main(["rescan", str(source), target, "--workers", str(workers), "--job_name", "demo"])
            if status in (0, 1):
                click.echo(f"catalog under {target}:")
                show_catalog("127.0.0.1", server.port, target)
            return status
        finally:
            server.stop()
