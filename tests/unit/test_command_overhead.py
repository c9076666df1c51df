"""What keeps a command's own overhead small (issue 12 item 4): commands imported only when they run,
workers forked only from a single-threaded process, a pass's end looked for soon after it starts."""

from __future__ import annotations

import importlib
import itertools
import subprocess
import sys
from pathlib import Path

import click
import pytest

import lz_ingest
from lz_ingest import cli as cli_module
from lz_ingest.control import FIRST_POLL_SECONDS, poll_intervals

PACKAGE = Path(lz_ingest.__file__).parent


def _defined_commands() -> dict[str, click.Command]:
    """Every click command defined at the top level of a cli_*.py module."""
    found = {}
    for path in PACKAGE.glob("cli_*.py"):
        module = importlib.import_module(f"lz_ingest.{path.stem}")
        for value in vars(module).values():
            if isinstance(value, click.Command) and getattr(value.callback, "__module__", None) == module.__name__:
                found[value.name or ""] = value
    return found


def test_every_command_is_listed_and_resolves_to_its_own_object() -> None:
    defined = _defined_commands()
    ctx = click.Context(cli_module.cli, info_name="lz-ingest")
    assert set(cli_module.cli.list_commands(ctx)) == set(defined)
    for name, command in defined.items():
        assert cli_module.cli.get_command(ctx, name) is command
    assert cli_module.cli.get_command(ctx, "no-such-command") is None


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return set(out.split())


def test_a_job_command_imports_neither_the_watcher_nor_irods_lite_nor_boto3() -> None:
    loaded = _modules_after("from lz_ingest.cli import main\nmain(['rescan', '--help'])")
    assert "lz_ingest.cli_jobs" in loaded
    for unwanted in ("watchdog", "boto3", "botocore", "lz_ingest.irods_lite.server", "lz_ingest.cli_demo"):
        assert unwanted not in loaded, unwanted


@pytest.mark.parametrize(("with_thread", "method"), [(False, "fork"), (True, "spawn")])
def test_workers_are_forked_only_from_a_single_threaded_process(with_thread: bool, method: str) -> None:
    thread = "import threading; e = threading.Event(); threading.Thread(target=e.wait, daemon=True).start()"
    asks = "from lz_ingest.worker import start_context\nprint(start_context().get_start_method())"
    code = f"{thread if with_thread else ''}\n{asks}"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == method


def test_a_pass_is_looked_at_soon_then_at_most_every_poll() -> None:
    first = list(itertools.islice(poll_intervals(0.5), 12))
    assert first[0] == FIRST_POLL_SECONDS
    assert all(b == min(0.5, a * 1.5) for a, b in itertools.pairwise(first))
    assert first[-1] == 0.5 and max(first) == 0.5
    elapsed = list(itertools.accumulate(first))
    # a pass ending at t is seen by t * 1.5 + the first interval, until the intervals reach `poll`
    assert elapsed[5] < 0.5
    assert list(itertools.islice(poll_intervals(0.01), 3)) == [0.01, 0.01, 0.01]
