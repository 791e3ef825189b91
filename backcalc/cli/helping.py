"""help: ``backcalc help [COMMAND|limits]``, the same text as ``--help``, and the limits written once."""

from __future__ import annotations

import click

from .. import limits
from ..errors import InputError
from .group import cli

TOPICS = {"limits": "the documented bounds on what one input may cost"}


def limits_text() -> str:
    return "Limits (a larger input is refused with exit status 2):\n" + limits.describe()


@cli.command("help", short_help="Help on a command (as --help), or on the limits.")
@click.argument("topic", required=False, metavar="[COMMAND|limits]")
@click.pass_context
def help_command(ctx: click.Context, topic: str | None) -> int:
    """Help on COMMAND (as `backcalc COMMAND --help`), on the limits, or on backcalc itself."""
    group = ctx.parent
    assert group is not None
    if topic is None:
        click.echo(group.get_help())
        return 0
    if topic == "limits":
        click.echo(limits_text())
        return 0
    command = cli.get_command(group, topic)
    if command is None:
        import difflib

        known = sorted([*cli.commands, *TOPICS])
        matches = difflib.get_close_matches(topic, known, n=1, cutoff=0.6)
        hint = f"did you mean 'backcalc help {matches[0]}'?" if matches else f"topics: {', '.join(known)}"
        raise InputError(f"no such command or topic {topic!r}", help=hint)
    with click.Context(command, info_name=topic, parent=group) as context:
        click.echo(command.get_help(context))
    return 0
