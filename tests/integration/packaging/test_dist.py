"""`python -m build` makes an sdist and a wheel that install into a fresh venv and run `lz-ingest demo`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[3]


def run(args: list[str | Path], timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env, check=False
    )
    assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout + result.stderr


# modules an extra provides (pip install 'lz-ingest[s3]'), which a plain install may lack
OPTIONAL = {"boto3": "s3", "botocore": "s3"}
FIND_MISSING_IMPORTS = """
import ast, importlib.util, pathlib, sys
import lz_ingest
root = pathlib.Path(lz_ingest.__file__).parent
for path in sorted(root.rglob("*.py")):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for top in {n.split(".")[0] for n in names} - set(sys.stdlib_module_names) - {"lz_ingest"}:
            if importlib.util.find_spec(top) is None:
                print(top)
"""


def project_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def test_changelog_names_the_project_version_first() -> None:
    headings = re.findall(r"^## \[?(\d+\.\d+\.\d+[^\]\s]*)", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert headings and headings[0] == project_version()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sdist_and_wheel_install_in_a_fresh_venv_and_run_the_demo(tmp_path: Path, redis_url: str) -> None:
    version = project_version()
    dist = tmp_path / "dist"
    # an isolated build, as a packager runs it: only what pyproject.toml declares is there
    run([sys.executable, "-m", "build", "--outdir", dist, ROOT], timeout=600)
    (wheel,) = dist.glob(f"lz_ingest-{version}-py3-none-any.whl")
    (sdist,) = dist.glob(f"lz_ingest-{version}.tar.gz")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "lz_ingest/cli.py" in names and "lz_ingest/irods_lite/__init__.py" in names
        assert not [n for n in names if n.startswith(("tests/", "bench/"))]
    with tarfile.open(sdist) as tf:
        members = {m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "README.md", "CHANGELOG.md", "lz_ingest/cli.py"} <= members

    venv.create(tmp_path / "venv", with_pip=True)
    python, lz_ingest = tmp_path / "venv" / "bin" / "python", tmp_path / "venv" / "bin" / "lz-ingest"
    run([python, "-m", "pip", "install", "-q", wheel], timeout=600)
    assert run([lz_ingest, "--version"], timeout=60).strip().endswith(version)
    # the session's Redis rather than an embedded one that would outlive the test
    env = {**os.environ, "LZ_INGEST_REDIS_URL": redis_url, "XDG_STATE_HOME": str(tmp_path / "state")}
    demo = run([lz_ingest, "demo", "--dir", tmp_path / "demo-wheel"], timeout=300, cwd=tmp_path, env=env)
    assert demo.count(" bytes ") == 17, demo

    # every module lz-ingest imports, at the top or inside a function, is installed with it
    missing = run([python, "-c", FIND_MISSING_IMPORTS], timeout=120).split()
    assert set(missing) <= set(OPTIONAL), f"imported by lz_ingest but not a dependency: {missing}"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert all(OPTIONAL[name] in extras for name in missing)

    # the sdist builds into an installation that works as well (the dependencies are already there)
    run([python, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", sdist], timeout=600)
    redis.Redis.from_url(redis_url).flushall()
    demo = run([lz_ingest, "demo", "--dir", tmp_path / "demo-sdist"], timeout=300, cwd=tmp_path, env=env)
    assert demo.count(" bytes ") == 17, demo
