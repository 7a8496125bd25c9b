"""Commands about you: `circle init`, `circle whoami`, and the way back from a lost laptop: `circle recovery-kit`, `circle recover`."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from circle.cli.common import Context, echo, friendly, pass_ctx
from circle.cli.sync import sync_once
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
    _tell_code(session.recovery_code())


def _tell_code(code: str) -> None:
    echo("")
    echo(f"Recovery code: {code}")
    echo("Write it on paper now and keep it away from this laptop; it is shown once.")
    echo("With it and a recovery kit ('circle recovery-kit -o FILE' writes one, e.g. to a USB stick),")
    echo("'circle recover FILE' brings this identity back on a new laptop, or after a forgotten passphrase.")


@click.command()
@pass_ctx
@friendly
def whoami(c: Context) -> None:
    """Show your name and fingerprint."""
    s = c.unlock()
    echo(clean_name(s.name))
    echo(f"Fingerprint: {s.fingerprint}")


@click.command("recovery-kit")
@click.option("-o", "--output", "out", required=True, type=click.Path(), help="Where to write the kit (a file, or a folder: a USB stick).")
@click.option("--new-code", is_flag=True, help="Make a new recovery code first and show it (kits written before keep opening with the old one).")
@pass_ctx
@friendly
def recovery_kit(c: Context, out: str, new_code: bool) -> None:
    """Write your recovery kit: your keys and cohorts, sealed with your recovery code.

    Write it again after joining a cohort ('circle status' says when the kit
    is missing one). Keep it away from this laptop: the kit and the code
    together are your identity.
    """
    s = c.unlock()
    if new_code:
        _tell_code(s.recovery_code(new=True))
    path = s.write_recovery_kit(Path(out))
    n = len(s.cohort_ids())
    echo(f"Wrote {path} ({n} cohort{'s' if n != 1 else ''}); it opens only with your recovery code.")


@click.command()
@click.argument("kit", type=click.Path())
@pass_ctx
@friendly
def recover(c: Context, kit: str) -> None:
    """Bring an identity back from its recovery KIT and recovery code, under a new passphrase.

    Then 'circle sync --once' restores its journals from the cohorts' replicas.
    Use it on a new laptop, or after a forgotten passphrase; do not go on
    writing from the old laptop too (its journal and this one would fork).
    """
    code = os.environ.get("CIRCLE_RECOVERY_CODE") or click.prompt("Recovery code", hide_input=True, err=True)
    s = c.home.recover(Path(kit), code, c.passphrase(confirm=True))
    if s.vault.device:
        echo(f"Set up {clean_name(s.vault.device)}, a laptop of {clean_name(s.name)} (fingerprint {s.fingerprint}), in {c.home.root}.")
    else:
        echo(f"Recovered {clean_name(s.name)} (fingerprint {s.fingerprint}) in {c.home.root}.")
    if s.vault.kit_written:
        echo(f"The kit was written {time.strftime('%Y-%m-%d %H:%M', time.localtime(s.vault.kit_written))}; cohorts joined after that are not in it.")
    echo("Restoring your journals from the cohorts' replicas…")
    code = sync_once(s)
    if code:
        echo("Some replicas did not answer: run 'circle sync --once' again once they are reachable (a folder replica at another")
        echo("path: 'circle cohort replica COHORT URL').")
    s.close()
    sys.exit(code)


COMMANDS = [init, whoami, recovery_kit, recover]
