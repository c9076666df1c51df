"""The container image, built and run with podman: docker/build-and-smoke.sh, as CI runs it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.system_tools import need, need_programs

SCRIPT = Path(__file__).resolve().parents[3] / "docker" / "build-and-smoke.sh"


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_image_builds_runs_non_root_and_a_watcher_container_ingests_a_mounted_landing_zone() -> None:
    need_programs(("podman", "podman"), ("runc", "runc"), ("debootstrap", "debootstrap"))
    if os.geteuid() != 0:
        need("the smoke needs rootful podman and debootstrap: run it as root")
    # from nothing ~4 min on a loaded 2-core machine, ~75 s with the base image cached
    script = subprocess.Popen(["bash", str(SCRIPT)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        log, _ = script.communicate(timeout=1400)
    except subprocess.TimeoutExpired:
        script.terminate()  # its trap removes the containers and the network
        log, _ = script.communicate(timeout=120)
        pytest.fail(f"build-and-smoke.sh timed out:\n{log[-6000:]}")
    assert script.returncode == 0, log[-6000:]
    assert "runs as uid 10001" in log
    assert "demo ingested its sample: 17 objects" in log
    assert "6 dropped files registered" in log and "files_queued=6" in log
