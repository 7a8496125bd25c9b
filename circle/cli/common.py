"""What every command shares: the home and identity, unlocking, one-line errors, replica options.

Every command is scriptable: the passphrase comes from CIRCLE_PASSPHRASE when
set, else from a prompt without echo. A :class:`~circle.errors.CircleError`
becomes one line on stderr and a non-zero exit, never a traceback.

Everything a command prints goes through :func:`echo`, which makes every
control character visible (see :func:`circle.models.text.clean`): cohort and
member names, titles and the hints of errors that list names were written by
other people, and a terminal obeys escape sequences. circle's own text holds
no control characters, so cleaning all of it costs nothing.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from circle.errors import CircleError, UsageError
from circle.models.text import clean
from circle.paths import user_dir
from circle.store import cohort as cohort_store
from circle.store.session import Home, Session


def echo(message: object = "", *, err: bool = False) -> None:
    """Print one line, every control character in it made visible: the CLI's only way to print.

    A line break inside the message shows as ``␊``, so text someone wrote
    cannot start a line that looks like circle's own. Print several lines
    with several calls.
    """
    click.echo(clean(str(message)), err=err)


class Context:
    """What every command gets: the home, the chosen identity, a way to unlock."""

    def __init__(self, home: str | None, identity: str | None) -> None:
        self.home = Home(user_dir(home))
        self.identity = identity or os.environ.get("CIRCLE_IDENTITY") or None

    def passphrase(self, confirm: bool = False) -> str:
        env = os.environ.get("CIRCLE_PASSPHRASE")
        if env is not None:
            return env
        if not sys.stdin.isatty():
            raise UsageError("no passphrase", "set CIRCLE_PASSPHRASE or run in a terminal")
        return click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)

    def unlock(self) -> Session:
        info = self.home.find(self.identity)  # fail before asking for a passphrase
        session = self.home.unlock(self.passphrase(), info.id)
        session.progress = _say_first_open
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.call_on_close(lambda: _close_quietly(session))
        return session


_TOLD: set[str] = set()  # titles of errors this command has already said


def _say_first_open(opened: int, total: int) -> None:
    """A cohort opening without its snapshot (the first time on this device) takes seconds when it is big: say so, once."""
    if opened == cohort_store.PROGRESS_EVERY:  # its first report: nothing is said for a cohort smaller than that
        many = f"{total:,} events" if total else "its events"
        echo(f"Decrypting {many} on this device: the first open of a cohort here takes a while; later ones start from its snapshot.", err=True)


def _close_quietly(session: Session) -> None:
    """Save heads and snapshots when a command ends; a failure here loses nothing, so say it in one line (once)."""
    try:
        session.close()
    except CircleError as exc:
        if exc.title not in _TOLD:
            echo(f"circle: {exc.line()}", err=True)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn any CircleError into one line and an exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CircleError as exc:
            _TOLD.add(exc.title)
            echo(f"circle: {exc.line()}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except KeyboardInterrupt:
            echo("circle: interrupted; nothing half-written was kept", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # an unexpected bug: no message text, it could carry plaintext
            if os.environ.get("CIRCLE_DEBUG"):
                raise
            echo(f"circle: internal error ({type(exc).__name__}); run again with CIRCLE_DEBUG=1 and report it", err=True)
            sys.exit(70)

    return wrapper


pass_ctx = click.make_pass_decorator(Context)


def location_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options that come with a replica URL: S3 endpoint, keys and addressing; SFTP key and host key."""
    for opt in reversed(
        [
            click.option("--endpoint", help="S3: the endpoint of an S3-compatible store, e.g. http://192.0.2.5:8333."),
            click.option("--region", help="S3: region (default us-east-1)."),
            click.option("--access-key-id", help="S3: access key id (kept in the keystore)."),
            click.option("--secret-access-key", envvar="CIRCLE_S3_SECRET", help="S3: secret key (or CIRCLE_S3_SECRET; kept in the keystore)."),
            click.option(
                "--path-style/--virtual-host",
                "force_path_style",
                default=None,
                help="S3: the bucket in the path (the default with --endpoint) or in the host name (<bucket>.<host>, as AWS names them).",
            ),
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


def offline_ok_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--offline-ok``: keep a location that is out of reach now (see :func:`tried_location`)."""
    return click.option(
        "--offline-ok", is_flag=True, help="Keep the location even if it does not answer now (a box switched off); wrong settings are never kept."
    )(fn)


def tried_location(url: str, offline_ok: bool, **opts: Any) -> tuple[dict[str, Any], str]:
    """A replica location from a URL and its options, tried before anything is saved.

    The location must answer a listing within about 10 s with the settings
    given (see :func:`circle.sync.litestream.check_location`). Returns the
    location and "" when it answered, or a warning line when it is out of
    reach now and ``offline_ok`` keeps it.

    Raises:
        UsageError: the location cannot work as written.
        ReplicaMisconfigured: its settings are wrong (credentials, bucket, host, scheme, host key); never kept.
        ReplicaOffline: it did not answer (or refused: nothing listens there), and ``offline_ok`` was not given.
    """
    from circle.sync import litestream as ls
    from circle.sync.service import replica_of

    loc = location_from(url, **opts)
    try:
        ls.check_location(replica_of(loc))
        return loc, ""
    except (ls.ReplicaRefused, ls.ReplicaOffline) as exc:
        cause = exc.hint.split(": ", 1)[0]  # "nothing listens at host:port (connection refused)", "no answer from host:port within 10 s"
        if offline_ok:
            return loc, ": ".join(one_line(f"warning: {exc.title}", cause, "; kept (--offline-ok): circle syncs once it answers"))
        advice = "check the port" if isinstance(exc, ls.ReplicaRefused) else "check the network"
        raise type(exc)(*one_line(exc.title, cause, f"; nothing saved: {advice}, or keep it with --offline-ok"), exc.detail) from None


def one_line(title: str, cause: str, then: str) -> tuple[str, str]:
    """``title`` and ``cause + then`` for one line of an error (see :data:`MAX_LINE`), shortening the cause, never what to do."""
    from circle.sync.litestream.faults import MAX_LINE

    room = MAX_LINE - len(title) - 2 - len(then)
    if len(cause) > room:
        cause = cause[: max(0, room - 1)].rstrip() + "…"
    return title, cause + then


def note_tried(session: Session, cohort: str, loc: dict[str, Any], warning: str) -> None:
    """After a location was saved: say the warning if there is one, and record the moment.

    From then on a refused connection there reads as offline (a box switched
    off), not as a wrong setting: it answered now, or the person said it is
    only out of reach (``--offline-ok``); "offline since" counts from now.
    """
    import time

    from circle.sync.location import note_reached

    if warning:
        echo(f"circle: {warning}", err=True)
    note_reached(session.dir / "sync", {cohort: (loc, time.time())})


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 member``, ``2 members``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
