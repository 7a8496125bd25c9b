"""Commands about you: `circle init` and `circle whoami`."""

from __future__ import annotations

import click

from circle.cli.common import Context, echo, friendly, pass_ctx
from circle.models.text import clean_name


@click.command()
@click.option("--name", required=True, help="Your name as your cohort knows you.")
@pass_ctx
@friendly
def init(c: Context, name: str) -> None:
    """Create an identity in the home (keystore sealed with your passphrase)."""
    session = c.home.create_identity(name, c.passphrase(confirm=True))
    echo(f"Created identity {clean_name(session.name)} in {c.home.root}")
    echo(f"Fingerprint: {session.fingerprint}")


@click.command()
@pass_ctx
@friendly
def whoami(c: Context) -> None:
    """Show your name and fingerprint."""
    s = c.unlock()
    echo(clean_name(s.name))
    echo(f"Fingerprint: {s.fingerprint}")


COMMANDS = [init, whoami]
