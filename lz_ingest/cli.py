"""The `lz-ingest` command: builds settings and clients from the command line, then calls into the rest."""

from __future__ import annotations

import sys

import click

from .cli_demo import demo_command
from .cli_jobs import COMMANDS
from .cli_lite import irods_lite_command
from .cli_options import expand_list_options
from .cli_services import redis_url_command, scheduler_command
from .cli_show import show_command
from .cli_watcher import watcher_command
from .errors import LzIngestError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="lz-ingest")
def cli() -> None:
    """Get landing zones and directory trees under iRODS management."""


cli.add_command(irods_lite_command)
for _command in [*COMMANDS, watcher_command, show_command, scheduler_command, redis_url_command, demo_command]:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Run the command; bad input is one line on stderr and exit status 2, never a traceback."""
    try:
        args = expand_list_options(sys.argv[1:] if argv is None else argv)
        result = cli.main(args=args, prog_name="lz-ingest", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("lz-ingest: interrupted", err=True)
        return 130
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        return 2
    except click.ClickException as exc:
        click.echo(f"lz-ingest: error: {exc.format_message()}", err=True)
        return 2
    except LzIngestError as exc:
        click.echo(f"lz-ingest: error: {exc}", err=True)
        return 2
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
