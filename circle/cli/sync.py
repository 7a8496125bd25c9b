"""Commands of sync and checking: sync, verify, doctor."""

from __future__ import annotations

import signal
import sys
import time

import click

from circle.cli.common import Context, echo, friendly, pass_ctx, plural
from circle.errors import UsageError


def look_for_answers(session) -> None:
    """One look for the inviter's answer to each join with a short code still waiting: once it is there, the sync
    that follows brings the admission (as the app does while it runs)."""
    from circle.exchange import ReplicaMailbox
    from circle.store.joining import answer, awaiting_answer
    from circle.sync import litestream as ls

    waiting = awaiting_answer(session)
    if not waiting:
        return
    mailbox = ReplicaMailbox(session)
    with ls.bounded():  # a replica out of reach costs one wait
        for cid in waiting:
            state = answer(session, cid, mailbox)
            if state in ("refused", "spent"):
                echo("circle: a join was refused: the invite code was wrong" + (", and the invite is now spent" if state == "spent" else ""), err=True)


def sync_once(session, accept_loss: bool = False) -> int:
    """Push and pull every cohort once and say what happened; the exit code (1: problems or wrong settings)."""
    from circle.sync.service import SyncService

    look_for_answers(session)
    r = SyncService(session).once(accept_loss=accept_loss)
    for line in r.notes:
        echo(line)
    if r.pushed or r.pulled or r.events or not (r.unreachable or r.wrong):
        echo(f"Pushed {plural(r.pushed, 'journal')}, pulled {r.pulled}, {plural(r.events, 'new event')}.")
    for line in r.offline_lines():  # a normal state: said in one line each, exit 0
        echo(line)
    for line in sorted(set(r.wrong.values())):  # settings to change: errors, as every command tells them
        echo(f"circle: {line}", err=True)
    for p in r.problems:
        echo(f"problem: {p}")
    return 1 if r.problems or r.wrong else 0


@click.command()
@click.option("--once", is_flag=True, help="Push everything unsent, pull everything new, then exit (USB stick, shared folder).")
@click.option(
    "--interval",
    default=15.0,
    show_default=True,
    type=click.FloatRange(0.5, 3600),
    help="Seconds between checks of every replica for new events; your own are shipped within 5 s.",
)
@click.option(
    "--accept-loss",
    is_flag=True,
    help="With --once: your journal here was lost with events never sent; go on from your replica's copy without them.",
)
@pass_ctx
@friendly
def sync(c: Context, once: bool, interval: float, accept_loss: bool) -> None:
    """Sync every cohort of this identity with its replica.

    A replica out of reach is a normal state: --once says since when and what
    waits to be sent, and exits 0. Wrong settings (keys, bucket, host, port,
    scheme) are errors: one line each and exit 1. Each location gets about
    10 s to answer.
    """
    from circle.sync.service import SyncService

    if accept_loss and not once:
        raise UsageError("--accept-loss goes with --once", "run 'circle sync --once --accept-loss'")
    s = c.unlock()
    service = SyncService(s, poll=interval)
    if once:
        sys.exit(sync_once(s, accept_loss))
    look_for_answers(s)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("now", True))
    service.start(focus=None)
    echo("Syncing; press Ctrl+C to stop.")
    try:
        last = ""
        while not stop["now"]:
            line = service.status().line()
            if line != last:  # a line when something changed, not one a second
                echo(time.strftime("%H:%M:%S ") + line)
                last = line
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
    echo("Stopped; everything written is kept and will be sent next time.")


@click.command()
@pass_ctx
@friendly
def verify(c: Context) -> None:
    """Re-verify every journal in the home: signatures and hash chains."""
    s = c.unlock()
    report = s.verify()
    echo(
        f"Checked {plural(report.events, 'event')} in {plural(report.journals, 'journal')} ({plural(report.signatures, 'signature')});"
        f" opened {report.opened} with the keys you hold."
    )
    for jid in report.missing:
        echo(f"not on this device yet: journal {jid[:8]} (run 'circle sync')")
    for p in report.problems:
        echo(f"problem: {p}")
    for line in report.refusals:
        echo(f"held aside: {line}")
    if report.refused_wraps:
        echo(f"refused: {plural(report.refused_wraps, 'key')} wrapped to you that match no key epoch of the cohort (never used)")
    if report.problems:
        sys.exit(1)
    if report.held_aside or report.refused_wraps:
        echo("No damage found. What was held aside breaks the cohort's rules: it is shown to nobody, on any device.")
        return
    echo("No problems found.")


@click.command()
@pass_ctx
@friendly
def doctor(c: Context) -> None:
    """Check litestream, file permissions and every replica; say what to fix."""
    from circle.sync import doctor as checks
    from circle.sync import litestream as ls

    problems = todo = 0

    def say(finding: checks.Finding) -> None:
        nonlocal problems, todo
        problems += finding.broken
        todo += finding.todo
        echo(finding.line())

    say(checks.binary())
    session = c.unlock()
    with ls.bounded():  # a replica out of reach costs one wait, not one per cohort and member
        for finding in checks.diagnose(session):
            say(finding)
    if problems:  # a FIX line: exit 1, for scripts
        echo(f"{plural(problems, 'thing')} to fix" + (f", {todo} to do." if todo else "."))
        sys.exit(1)
    # A TODO line breaks nothing yet (exit 0), but "All good." is said only when there is none.
    echo(f"Nothing broken; {plural(todo, 'thing')} to do." if todo else "All good.")


COMMANDS = [sync, verify, doctor]
