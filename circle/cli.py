"""The `circle` command line. With no command it opens the TUI.

Every command is scriptable: the passphrase comes from CIRCLE_PASSPHRASE when
set, else from a prompt without echo. Errors are one line and a non-zero exit.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click

from circle.errors import CircleError, UsageError
from circle.paths import user_dir


def _version() -> str:
    try:
        return version("circle")
    except PackageNotFoundError:  # running from a checkout
        return "0.1.0"


class Context:
    """What every command gets: the home, the chosen identity, a way to unlock."""

    def __init__(self, home: str | None, identity: str | None) -> None:
        from circle.store.session import Home

        self.home = Home(user_dir(home))
        self.identity = identity or os.environ.get("CIRCLE_IDENTITY") or None

    def passphrase(self, confirm: bool = False) -> str:
        env = os.environ.get("CIRCLE_PASSPHRASE")
        if env is not None:
            return env
        if not sys.stdin.isatty():
            raise UsageError("no passphrase", "set CIRCLE_PASSPHRASE or run in a terminal")
        return click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)

    def unlock(self):
        info = self.home.find(self.identity)  # fail before asking for a passphrase
        session = self.home.unlock(self.passphrase(), info.id)
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.call_on_close(lambda: _close_quietly(session))
        return session


def _close_quietly(session: Any) -> None:
    """Save heads and snapshots when a command ends; a failure here loses nothing, so say it in one line."""
    try:
        session.close()
    except CircleError as exc:
        click.echo(f"circle: {exc.line()}", err=True)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn any CircleError into one line and an exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CircleError as exc:
            click.echo(f"circle: {exc.line()}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except KeyboardInterrupt:
            click.echo("circle: interrupted; nothing half-written was kept", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # an unexpected bug: no message text, it could carry plaintext
            if os.environ.get("CIRCLE_DEBUG"):
                raise
            click.echo(f"circle: internal error ({type(exc).__name__}); run again with CIRCLE_DEBUG=1 and report it", err=True)
            sys.exit(70)

    return wrapper


pass_ctx = click.make_pass_decorator(Context)


def location_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options that come with a replica URL: S3 endpoint and keys, SFTP key and host key."""
    for opt in reversed(
        [
            click.option("--endpoint", help="S3: the endpoint of an S3-compatible store, e.g. http://192.0.2.5:8333."),
            click.option("--region", help="S3: region (default us-east-1)."),
            click.option("--access-key-id", help="S3: access key id (kept in the keystore)."),
            click.option("--secret-access-key", envvar="CIRCLE_S3_SECRET", help="S3: secret key (or CIRCLE_S3_SECRET; kept in the keystore)."),
            click.option("--key-path", type=click.Path(dir_okay=False), help="SFTP: private key file."),
            click.option("--host-key", help="SFTP: the server's public host key line (required)."),
        ]
    ):
        fn = opt(fn)
    return fn


def location_from(url: str, **opts: Any) -> dict[str, Any]:
    """A checked replica location from a URL and the options given with it."""
    from circle.sync.location import parse_location

    if opts.get("key_path"):
        opts["key_path"] = os.path.abspath(os.path.expanduser(opts["key_path"]))
    return parse_location(url, **opts)


@click.group(invoke_without_command=True)
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


@main.command()
@click.option("--name", required=True, help="Your name as your cohort knows you.")
@pass_ctx
@friendly
def init(c: Context, name: str) -> None:
    """Create an identity in the home (keystore sealed with your passphrase)."""
    session = c.home.create_identity(name, c.passphrase(confirm=True))
    click.echo(f"Created identity {session.name} in {c.home.root}")
    click.echo(f"Fingerprint: {session.fingerprint}")


@main.command()
@pass_ctx
@friendly
def whoami(c: Context) -> None:
    """Show your name and fingerprint."""
    s = c.unlock()
    click.echo(s.name)
    click.echo(f"Fingerprint: {s.fingerprint}")


@main.group()
def cohort() -> None:
    """Create and configure cohorts."""


@cohort.command("create")
@click.argument("name")
@click.option("--purpose", default="", help="What the cohort is for.")
@click.option("--cadence", default="fortnightly", type=click.Choice(["weekly", "fortnightly", "monthly"]), show_default=True)
@click.option("--minutes", "meeting_minutes", default=60, type=click.IntRange(15, 480), show_default=True, help="Meeting length.")
@click.option("--role", default="mentor", type=click.Choice(["mentor", "peer", "participant"]), show_default=True, help="Your role in it.")
@click.option("--replica", "replica_url", help="Where it replicates: a folder, sftp://user@host/path or s3://bucket/path (default: a folder in the home).")
@location_options
@pass_ctx
@friendly
def cohort_create(c: Context, name: str, purpose: str, cadence: str, meeting_minutes: int, role: str, replica_url: str | None, **opts: Any) -> None:
    """Create a cohort and print its id."""
    loc = location_from(replica_url, **opts) if replica_url else None
    s = c.unlock()
    svc = s.create_cohort(name, purpose=purpose, cadence=cadence, meeting_minutes=meeting_minutes, role=role, replica=loc)
    click.echo(svc.id)


@main.command()
@pass_ctx
@friendly
def cohorts(c: Context) -> None:
    """List your cohorts with their member counts."""
    s = c.unlock()
    rows = s.cohorts()
    if not rows:
        click.echo("No cohorts yet: create one with 'circle cohort create NAME'.")
    for info in rows:
        click.echo(f"{info.id[:12]}  {info.name}  ({info.members} member{'s' if info.members != 1 else ''})")
    problems = s.problems()
    for p in problems:
        click.echo(f"circle: problem: {p}; run 'circle verify'", err=True)
    if problems:
        sys.exit(1)


@main.command()
@pass_ctx
@friendly
def verify(c: Context) -> None:
    """Re-verify every journal in the home: signatures and hash chains."""
    s = c.unlock()
    report = s.verify()
    click.echo(f"Checked {report.events} events in {report.journals} journals ({report.signatures} signatures).")
    for jid in report.missing:
        click.echo(f"not on this device yet: journal {jid[:8]} (run 'circle sync')")
    for p in report.problems:
        click.echo(f"problem: {p}")
    if report.problems:
        sys.exit(1)
    click.echo("No problems found.")




def _register_commands() -> None:
    # Commands of the meeting room and of sync live beside their services.
    from circle import cli_meeting, cli_sync

    cli_meeting.register(main)
    cli_sync.register(main)


_register_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
