"""The `circle` command line. With no command it opens the TUI.

A thin layer over the services: each module here parses arguments, calls a
service in ``circle.store`` or ``circle.sync`` and prints its result.
``common`` holds what every command shares (unlocking, one-line errors).
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

import click

from circle.cli import agreement, cohort, devices, export, identity, meeting, private, status, sync
from circle.cli import credits as credits_cli
from circle.cli import goals as goals_cli
from circle.cli.common import Context, friendly


def _version() -> str:
    try:
        return version("circle")
    except PackageNotFoundError:  # running from a checkout
        return "0.1.0"


class _Group(click.Group):
    """The command list of `circle --help` wraps each description instead of cutting it short, and a mistyped
    command line is one line, as every other error (Click writes its usage, a hint and the error on three)."""

    def main(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        kwargs.pop("standalone_mode", None)
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            ctx = exc.ctx
            while ctx is not None and ctx.command.hidden:  # a hidden default (`credits show`) is not what was typed
                ctx = ctx.parent
            where = ctx.command_path if ctx is not None else "circle"
            said = exc.format_message().rstrip(".")
            click.echo(f"circle: {said}{' ' if said.endswith('?') else '; '}see '{where} --help'", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("circle: stopped", err=True)
            sys.exit(1)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, cmd.get_short_help_str(limit=1000)) for name in self.list_commands(ctx) if (cmd := self.get_command(ctx, name)) and not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_Group, invoke_without_command=True, context_settings={"max_content_width": 120})
@click.option("--home", envvar="CIRCLE_HOME", type=click.Path(file_okay=False), help="circle home directory (default: CIRCLE_HOME or the platform data dir).")
@click.option("--identity", "identity", help="Which identity in the home, when several share it.")
@click.version_option(_version(), prog_name="circle")
@click.pass_context
def main(ctx: click.Context, home: str | None, identity: str | None) -> None:
    """circle: facilitated peer mentoring cohorts, end-to-end encrypted.

    With no command, opens the app.
    """
    ctx.obj = Context(home, identity)
    if ctx.invoked_subcommand is None:
        _open_tui(ctx.obj)


@friendly
def _open_tui(c: Context) -> None:
    from circle.app import run_app

    # The same name-prefix rule as every command, and its one-line error for a name that matches no one.
    who = c.home.find(c.identity).id if c.identity and c.home.identities() else None
    run_app(c.home.root, identity=who)


for _module in (identity, devices, cohort, meeting, private, status, sync, export, agreement, credits_cli, goals_cli):
    for _command in _module.COMMANDS:
        main.add_command(_command)

__all__ = ["main"]
