"""Commands about you: `circle init` and `circle whoami`."""

from __future__ import annotations

import click

from circle.cli.common import Context, friendly, pass_ctx


@click.command()
@click.option("--name", required=True, help="Your name as your cohort knows you.")
@pass_ctx
@friendly
def init(c: Context, name: str) -> None:
    """Create an identity in the home (keystore sealed with your passphrase)."""
    session = c.home.create_identity(name, c.passphrase(confirm=True))
    click.echo(f"Created identity {session.name} in {c.home.root}")
    click.echo(f"Fingerprint: {session.fingerprint}")


@click.command()
@pass_ctx
@friendly
def whoami(c: Context) -> None:
    """Show your name and fingerprint."""
    s = c.unlock()
    click.echo(s.name)
    click.echo(f"Fingerprint: {s.fingerprint}")


COMMANDS = [init, whoami]
