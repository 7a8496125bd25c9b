"""Commands about cohorts and their members: create, replica, cohorts, invite, join, admit, remove."""

from __future__ import annotations

import sys
from typing import Any

import click

from circle.cli.common import (
    Context,
    echo,
    friendly,
    location_from,
    location_options,
    note_tried,
    offline_ok_option,
    one_line,
    pass_ctx,
    plural,
    tried_location,
)
from circle.models.text import clean_name


@click.group()
def cohort() -> None:
    """Create and configure cohorts."""


@cohort.command("create")
@click.argument("name")
@click.option("--purpose", default="", help="What the cohort is for.")
@click.option("--cadence", default="fortnightly", type=click.Choice(["weekly", "fortnightly", "monthly"]), show_default=True)
@click.option("--minutes", "meeting_minutes", default=60, type=click.IntRange(15, 480), show_default=True, help="Meeting length.")
@click.option("--replica", "replica_url", help="Where it replicates: a folder, sftp://user@host/path or s3://bucket/path (default: a folder in the home).")
@location_options
@offline_ok_option
@pass_ctx
@friendly
def cohort_create(c: Context, name: str, purpose: str, cadence: str, meeting_minutes: int, replica_url: str | None, offline_ok: bool, **opts: Any) -> None:
    """Create a cohort and print its id. You are its first member and its first supervising mentor.

    A --replica location is tried first (about 10 s at most); if it is wrong
    or out of reach, nothing is created (see --offline-ok).
    """
    loc = location_from(replica_url, **opts) if replica_url else None  # fails before the passphrase is asked for
    s = c.unlock()
    warning = ""
    if replica_url:
        loc, warning = tried_location(replica_url, offline_ok, **opts)
    svc = s.create_cohort(name, purpose=purpose, cadence=cadence, meeting_minutes=meeting_minutes, replica=loc)
    if loc is not None:
        note_tried(s, svc.id, loc, warning)
    echo(svc.id)


@cohort.command("replica")
@click.argument("cohort")
@click.argument("url")
@location_options
@offline_ok_option
@pass_ctx
@friendly
def replica(c: Context, cohort: str, url: str, offline_ok: bool, **opts: Any) -> None:
    """Set where COHORT replicates: a folder, sftp://user@host/path or s3://bucket/path.

    The location is tried first (about 10 s at most): wrong settings are
    refused with the reason, and so is a location out of reach unless
    --offline-ok keeps it. Nothing is saved when it is refused.
    """
    from circle.sync.location import describe
    from circle.sync.service import set_replica

    location_from(url, **opts)  # fails before the passphrase is asked for
    s = c.unlock()
    svc = s.find_cohort(cohort)
    loc, warning = tried_location(url, offline_ok, **opts)
    loc = set_replica(s, svc.store, loc)
    note_tried(s, svc.id, loc, warning)
    echo(f"{clean_name(svc.view.cohort().name)} now replicates to {describe(loc)}")
    echo("Run 'circle sync --once' to push what you have there.")


@click.command()
@pass_ctx
@friendly
def cohorts(c: Context) -> None:
    """List your cohorts with their member counts."""
    s = c.unlock()
    rows = s.cohorts()
    if not rows:
        echo("No cohorts yet: create one with 'circle cohort create NAME'.")
    for info in rows:
        echo(f"{info.id[:12]}  {clean_name(info.name)}  ({plural(info.members, 'member')})")
    problems = s.problems()
    for p in problems:
        echo(f"circle: problem: {p}; run 'circle verify'", err=True)
    if problems:
        sys.exit(1)


@click.command()
@click.argument("cohort")
@click.option("--hours", default=72, show_default=True, type=click.IntRange(1, 24 * 30), help="How long the invite stays valid.")
@pass_ctx
@friendly
def invite(c: Context, cohort: str, hours: int) -> None:
    """Print a single-use, expiring invite code for COHORT."""
    from circle.store.joining import create_invite

    s = c.unlock()
    for line in create_invite(s, s.find_cohort(cohort), hours=hours).lines():
        echo(line)


@click.command()
@click.argument("code")
@location_options
@pass_ctx
@friendly
def join(c: Context, code: str, **opts: Any) -> None:
    """Ask to join a cohort with an invite CODE; prints your join code."""
    from circle.store.joining import Invite
    from circle.store.joining import join as do_join
    from circle.sync.service import SyncService

    s = c.unlock()
    inv = Invite.parse(code)
    loc = location_from(inv.location, **opts) if any(v not in (None, "") for v in opts.values()) else None
    joined = do_join(s, code, replica=loc)
    r = SyncService(s).once()  # about 10 s at most for a replica out of reach
    for line in joined.lines():
        echo(line)
    if r.unreachable:
        echo("The replica could not be reached yet: run 'circle sync --once' when it can be.")
    echo("Then run 'circle sync' (or open circle) to see the cohort once you are admitted.")
    for line in sorted(set(r.wrong.values())):
        echo(f"circle: {line}", err=True)
    if r.wrong:
        sys.exit(1)


@click.command()
@click.argument("cohort")
@click.argument("code")
@click.option("--role", default="participant", type=click.Choice(["mentor", "peer", "participant"]), show_default=True)
@pass_ctx
@friendly
def admit(c: Context, cohort: str, code: str, role: str) -> None:
    """Admit the newcomer whose join CODE you were given, into COHORT."""
    from circle.store.joining import admit as do_admit
    from circle.sync import litestream as ls
    from circle.sync.service import SyncService, journal_fetcher

    s = c.unlock()
    with ls.bounded():  # a replica out of reach costs one wait (about 10 s), for the fetch and the sync after it
        try:
            admitted = do_admit(s.find_cohort(cohort), code, journal_fetcher(s), role=role)
        except ls.ReplicaOffline as exc:
            raise type(exc)(*one_line(exc.title, exc.hint.split(": ", 1)[0], "; nobody was admitted: try again once it answers"), exc.detail) from None
        r = SyncService(s).once()
    for line in admitted.lines():
        echo(line)
    if r.unreachable:
        echo("The replica could not be reached: run 'circle sync --once' when it can be, so they see the admission.")


@click.command()
@click.argument("cohort")
@click.argument("member")
@pass_ctx
@friendly
def remove(c: Context, cohort: str, member: str) -> None:
    """Remove MEMBER from COHORT: they will not read anything written after."""
    s = c.unlock()
    svc = s.find_cohort(cohort)
    who = svc.member_by_name(member)
    svc.remove(who.id)
    echo(f"Removed {clean_name(who.name)}. A new key epoch started; they cannot read what comes after.")
    echo("Run 'circle sync --once' to send the change.")


@click.command()
@click.argument("cohort")
@click.argument("member")
@click.argument("role", type=click.Choice(["mentor", "peer", "participant"]))
@pass_ctx
@friendly
def role(c: Context, cohort: str, member: str, role: str) -> None:
    """Give MEMBER of COHORT another ROLE (a supervising mentor does; nobody changes their own)."""
    s = c.unlock()
    svc = s.find_cohort(cohort)
    who = svc.member_by_name(member)
    svc.set_role(who.id, role)
    echo(f"{clean_name(who.name)} is now a {role}. Run 'circle sync --once' to send the change.")


COMMANDS = [cohort, cohorts, invite, join, admit, remove, role]
