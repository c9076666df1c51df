"""The `lz-ingest` command: builds settings and clients from the command line, then calls into the rest."""

from __future__ import annotations

import importlib
import sys

import click

from .cli_options import expand_list_options
from .errors import LzIngestError

# command name -> (module, attribute): a command's module is imported only when that command runs (or
# help lists it), so `rescan` does not pay for irods-lite's server, the watcher's watchdog or the demo
_COMMANDS = {
    "irods-lite": ("cli_lite", "irods_lite_command"),
    **{name: ("cli_jobs", f"{name}_command") for name in ("start", "rescan", "stop", "list", "watch", "failures")},
    "worker": ("cli_jobs", "worker_command"),
    "watcher": ("cli_watcher", "watcher_command"),
    "show": ("cli_show", "show_command"),
    "scheduler": ("cli_services", "scheduler_command"),
    "redis-url": ("cli_services", "redis_url_command"),
    "demo": ("cli_demo", "demo_command"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            module, attribute = _COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(f".{module}", __package__), attribute)
            assert command.name == cmd_name, (command.name, cmd_name)
            self.add_command(command)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="lz-ingest")
def cli() -> None:
    """Get landing zones and directory trees under iRODS management."""


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
