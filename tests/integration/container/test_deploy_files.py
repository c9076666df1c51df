"""docker/compose.yaml, docker/k8s/ and docker/systemd/ parse, and every lz-ingest command they run exists.

No image can be pulled here, so compose and Kubernetes are checked statically (the smoke script's
multi-container run is the end-to-end proof); the systemd units go through `systemd-analyze verify`
and the logrotate file through a real rotation of a log that lz-ingest's logging is writing.
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cli_check import check_invocation, substitute
from tests.support.system_tools import need_programs

DOCKER = Path(__file__).resolve().parents[3] / "docker"
SYSTEMD = DOCKER / "systemd"
K8S = DOCKER / "k8s"
IMAGE_NAMES = ("lz-ingest", "${LZ_IMAGE:-localhost/lz-ingest:latest}")


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, comments and blank lines skipped (systemd EnvironmentFile, compose --env-file)."""
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


# -- the checker itself can fail ------------------------------------------------------------------


def test_checker_accepts_real_invocations_and_refuses_unknown_commands_options_and_bad_values() -> None:
    check_invocation(["worker", "-c", "4", "--redis-url", "redis://r:6379/0"], "here")
    check_invocation(["start", "/data", "/tempZone/home/rods/x", "--files_per_task", "10"], "here")
    with pytest.raises(AssertionError, match="no command 'no-such-role'"):
        check_invocation(["no-such-role"], "here")
    with pytest.raises(AssertionError, match="--no-such-option"):
        check_invocation(["worker", "--no-such-option"], "here")
    with pytest.raises(AssertionError, match="'many' is not a valid integer"):
        check_invocation(["worker", "-c", "many"], "here")
    with pytest.raises(AssertionError, match="Missing argument"):
        check_invocation(["start", "/data"], "here")
    with pytest.raises(AssertionError, match=r"\$UNDEFINED"):
        substitute("${UNDEFINED}", {}, "here")
    assert substitute("-c ${N:-4} $(M)", {"M": "2"}, "here") == "-c 4 2"


# -- compose --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def lz_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if s.get("image") in IMAGE_NAMES}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """container path -> mode ("ro" or "rw") of each volume."""
    out = {}
    for volume in service.get("volumes", []):
        parts = volume.rsplit(":", 2) if volume.count(":") >= 2 else [*volume.split(":"), "rw"]
        out[parts[1]] = parts[2]
    return out


def test_compose_runs_real_lz_ingest_commands_with_both_variable_sets(compose: dict[str, Any]) -> None:
    trial = env_file(DOCKER / "trial.env")
    services = lz_services(compose)
    assert {"watcher", "worker", "scheduler", "irods-lite"} <= set(services)
    for values in ({}, trial):
        for name, service in services.items():
            command = [substitute(word, values, f"compose.yaml {name}") for word in service["command"]]
            check_invocation(command, f"compose.yaml service {name}")


def test_compose_redis_persists_workers_scale_and_the_zone_and_irods_environment_are_read_only(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    redis = services["redis"]
    assert "--appendonly" in redis["command"] and redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert mounts(redis)["/data"] == "rw" and redis["volumes"][0].split(":")[0] in compose["volumes"]
    worker = services["worker"]
    # --scale worker=N needs no fixed name and no host port
    assert "container_name" not in worker and "ports" not in worker
    for name, service in lz_services(compose).items():
        modes = mounts(service)
        if "/data/zone" in modes:
            assert modes["/data/zone"] == "ro", name
        for read_only in ("/home/lz/.irods", "/etc/lz-ingest/handlers"):
            if read_only in modes:
                assert modes[read_only] == "ro", f"{name}: {read_only}"
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        if name != "irods-lite":
            assert service["environment"]["LZ_INGEST_REDIS_URL"] == "redis://redis:6379/0", name
    assert mounts(worker)["/data/zone"] == "ro"
    assert services["irods-lite"]["profiles"] == ["trial"]
    assert not [n for n in ("watcher", "worker", "scheduler") if "profiles" in services[n]]
    assert mounts(services["watcher"])["/data/zone"] == "ro"
    assert services["watcher"]["command"][:2] == ["watcher", "/data/zone"], "the watcher watches the mounted zone"


def test_trial_env_points_every_service_at_irods_lite(compose: dict[str, Any]) -> None:
    trial = env_file(DOCKER / "trial.env")
    lite = compose["services"]["irods-lite"]["command"]
    assert trial["IRODS_HOST"] == "irods-lite"
    assert trial["IRODS_PORT"] == lite[lite.index("--port") + 1]
    assert {"IRODS_USER_NAME", "IRODS_ZONE_NAME", "IRODS_PASSWORD"} <= set(trial)


# -- Kubernetes -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk, "kustomization.yaml lists exactly the manifests in docker/k8s"
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    for doc in docs:
        assert doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"), doc
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {**by_kind(docs, "Deployment"), **by_kind(docs, "StatefulSet")}


def test_k8s_workloads_are_consistent_and_run_real_lz_ingest_commands(manifests: list[dict[str, Any]]) -> None:
    config = by_kind(manifests, "ConfigMap")
    claims = by_kind(manifests, "PersistentVolumeClaim")
    for name, workload in workloads(manifests).items():
        spec = workload["spec"]["template"]["spec"]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for volume in volumes.values():
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, name
        templates = {t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}
        for container in spec["containers"]:
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes or mount["name"] in templates, f"{name}: {mount['name']}"
            values: dict[str, str] = {}
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    values |= config[source["configMapRef"]["name"]]["data"]
            if container["image"] == "lz-ingest":
                assert spec["securityContext"]["runAsNonRoot"] is True, name
                args = [substitute(a, values, f"k8s {name}") for a in container["args"]]
                check_invocation(args, f"k8s {name}")
    for name, service in by_kind(manifests, "Service").items():
        selected = service["spec"]["selector"].items()
        pods = [w["spec"]["template"]["metadata"]["labels"].items() for w in workloads(manifests).values()]
        assert any(selected <= labels for labels in pods), f"Service {name} selects no workload"
        assert name in config["lz-ingest"]["data"]["LZ_INGEST_REDIS_URL"], "the Redis URL names the Service"


def test_k8s_worker_scales_the_watcher_is_single_and_both_mount_the_zone_read_only(
    manifests: list[dict[str, Any]],
) -> None:
    worker = by_kind(manifests, "Deployment")["lz-ingest-worker"]
    spec = worker["spec"]["template"]["spec"]
    assert worker["spec"]["replicas"] >= 1
    assert not any(p.get("hostPort") for c in spec["containers"] for p in c.get("ports", []))
    for path in ("/data/zone", "/etc/lz-ingest/handlers"):
        (mount,) = [m for m in spec["containers"][0]["volumeMounts"] if m["mountPath"] == path]
        assert mount["readOnly"] is True, path
    watcher = by_kind(manifests, "Deployment")["lz-ingest-watcher"]
    # one watcher per job: never two at once, not even during a rollout
    assert watcher["spec"]["replicas"] == 1 and watcher["spec"]["strategy"]["type"] == "Recreate"
    container = watcher["spec"]["template"]["spec"]["containers"][0]
    (zone,) = [m for m in container["volumeMounts"] if m["name"] == "landing-zone"]
    assert zone["mountPath"] == "/data/zone" and zone["readOnly"] is True
    assert container["args"][:2] == ["watcher", "/data/zone"]
    redis = by_kind(manifests, "StatefulSet")["redis"]
    assert "--appendonly" in redis["spec"]["template"]["spec"]["containers"][0]["args"]


# -- systemd and logrotate ------------------------------------------------------------------------


def unit_values(path: Path) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


UNITS = sorted(SYSTEMD.glob("*.service"))


def test_systemd_units_run_real_commands_as_the_service_account_with_restart_and_env_file() -> None:
    expected = {"lz-ingest-watcher.service", "lz-ingest-worker.service", "lz-ingest-scheduler.service"}
    assert {u.name for u in UNITS} >= expected
    env = env_file(SYSTEMD / "lz-ingest.env")
    sysusers = (SYSTEMD / "lz-ingest.sysusers.conf").read_text()
    for unit in UNITS:
        values = unit_values(unit)
        assert values["User"] == ["lz-ingest"] and f"u {values['User'][0]} " in sysusers, unit.name
        assert values["Restart"] == ["always"] and values["EnvironmentFile"] == ["/etc/lz-ingest/lz-ingest.env"]
        (exec_start,) = values["ExecStart"]
        binary, *args = shlex.split(exec_start)
        assert binary == "/opt/lz-ingest/bin/lz-ingest", unit.name
        check_invocation([substitute(a, env, unit.name) for a in args], unit.name)
        assert "--log_filename" in args and args[args.index("--log_filename") + 1].startswith("/var/log/lz-ingest/")
        assert "--log_when" not in args, "logrotate rotates these logs; --log_when would rotate them twice"


def test_the_example_zones_file_loads_and_each_zone_is_a_valid_watcher_invocation() -> None:
    from lz_ingest.cli_watcher import load_config

    (exec_start,) = unit_values(SYSTEMD / "lz-ingest-watcher.service")["ExecStart"]
    args = shlex.split(exec_start)
    assert args[args.index("--config") + 1] == "/etc/lz-ingest/zones.yaml"
    zones = load_config(str(SYSTEMD / "zones.yaml"))
    assert len(zones) >= 2
    for source, target, options in zones:
        check_invocation(["watcher", source, target, *options], f"zones.yaml zone {source}")


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    need_programs(("systemd-analyze", "systemd"))
    lz_ingest = Path(sys.executable).parent / "lz-ingest"
    for unit in UNITS:
        # verify checks that the binary exists: point it at this venv's lz-ingest
        text = unit.read_text().replace("/opt/lz-ingest/bin/lz-ingest", str(lz_ingest))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *[str(tmp_path / u.name) for u in UNITS]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ours = [line for line in (result.stdout + result.stderr).splitlines() if "lz-ingest" in line]
    assert not ours, ours


LOGGER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import structlog
    from lz_ingest.logs import configure_logging
    from lz_ingest.settings import LogSettings

    configure_logging(LogSettings(log_filename=Path(sys.argv[1])))
    log = structlog.get_logger("lz_ingest.test")
    for line in sys.stdin:
        log.info("tick", mark=line.strip())
        print("logged", flush=True)
    """
)


def test_logrotate_config_rotates_a_log_that_lz_ingest_keeps_writing(tmp_path: Path) -> None:
    need_programs(("logrotate", "logrotate"))
    logs = tmp_path / "log"
    logs.mkdir()
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    config = (SYSTEMD / "lz-ingest.logrotate").read_text()
    directives = [line.split()[0] for line in config.splitlines() if line.strip() and not line.startswith("#")]
    assert "copytruncate" not in directives, "the rename is what lz-ingest's handler follows"
    config = config.replace("/var/log/lz-ingest", str(logs)).replace("lz-ingest lz-ingest", f"{user} {group}")
    (tmp_path / "logrotate.conf").write_text(config)
    log_file = logs / "worker.log"
    writer = subprocess.Popen(
        [sys.executable, "-c", LOGGER, str(log_file)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdin is not None and writer.stdout is not None
    try:
        for mark in ("before", "after"):
            writer.stdin.write(mark + "\n")
            writer.stdin.flush()
            assert writer.stdout.readline().strip() == "logged"
            if mark == "before":
                rotate = ["logrotate", "--force", "--state", str(tmp_path / "state"), str(tmp_path / "logrotate.conf")]
                result = subprocess.run(rotate, capture_output=True, text=True, check=False)
                assert result.returncode == 0, result.stderr
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)
    rotated = logs / "worker.log.1"  # delaycompress: the newest rotation stays plain
    assert '"mark": "before"' in rotated.read_text() and "after" not in rotated.read_text()
    assert '"mark": "after"' in log_file.read_text() and "before" not in log_file.read_text()
