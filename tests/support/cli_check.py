"""Check that an `lz-ingest ...` command line from a deployment file names real commands and options.

It walks click's command tree from lz_ingest.cli.cli and lets the command parse the arguments as it
would at run time (types, ranges, unknown options, missing arguments), without running it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import click

from lz_ingest.cli import cli
from lz_ingest.cli_options import expand_list_options

# ${VAR}, ${VAR:-default} (compose, systemd), $(VAR) (Kubernetes)
_VARIABLE = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}|\$\((\w+)\)")


def substitute(text: str, values: Mapping[str, str], where: str) -> str:
    """Replace each variable reference by its value, else its default; an unknown one is an error."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name in values:
            return values[name]
        if match.group(2) is not None:
            return match.group(2)
        raise AssertionError(f"{where}: {text!r} uses ${name}, which is defined nowhere")

    return _VARIABLE.sub(one, text)


def check_invocation(args: Sequence[str], where: str) -> click.Command:
    """Parse `lz-ingest ARGS` as the CLI would; AssertionError naming `where` if it would be refused."""
    words = expand_list_options(list(args))
    command: click.Command = cli
    ctx = click.Context(cli, info_name="lz-ingest")
    path = ["lz-ingest"]
    while isinstance(command, click.Group):
        assert words, f"{where}: `{' '.join(path)}` needs a command"
        name = words.pop(0)
        sub = command.get_command(ctx, name)
        assert sub is not None, f"{where}: `{' '.join(path)}` has no command {name!r}"
        command, path = sub, [*path, name]
        ctx = click.Context(command, info_name=name, parent=ctx)
    try:
        command.make_context(path[-1], words, parent=ctx.parent)
    except click.ClickException as exc:
        raise AssertionError(f"{where}: `{' '.join([*path, *words])}`: {exc.format_message()}") from None
    return command
