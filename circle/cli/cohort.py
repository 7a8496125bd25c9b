"""Commands about cohorts and their members: create, replica, cohorts, invite, join, admit, remove."""

from __future__ import annotations

import sys
from pathlib import Path
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
from circle.errors import UsageError
from circle.models.schema import HISTORY, HISTORY_SAYS
from circle.models.text import clean_name
from circle.store.ingest import Problem

HISTORY_HELP = "What newcomers read of the time before they joined: all, or joining (from then on; before it only the roster and rota)."


@click.group()
def cohort() -> None:
    """Create and configure cohorts."""


@cohort.command("create")
@click.argument("name")
@click.option("--purpose", default="", help="What the cohort is for.")
@click.option("--cadence", default="fortnightly", type=click.Choice(["weekly", "fortnightly", "monthly"]), show_default=True)
@click.option("--minutes", "meeting_minutes", default=60, type=click.IntRange(15, 480), show_default=True, help="Meeting length.")
@click.option("--replica", "replica_url", help="Where it replicates: a folder, sftp://user@host/path or s3://bucket/path (default: a folder in the home).")
@click.option("--history", default="all", type=click.Choice(HISTORY), show_default=True, help=HISTORY_HELP)
@location_options
@offline_ok_option
@pass_ctx
@friendly
def cohort_create(
    c: Context, name: str, purpose: str, cadence: str, meeting_minutes: int, replica_url: str | None, history: str, offline_ok: bool, **opts: Any
) -> None:
    """Create a cohort and print its id. You are its first member and its first supervising mentor.

    A --replica location is tried first (about 10 s at most); if it is wrong
    or out of reach, nothing is created (see --offline-ok).
    """
    loc = location_from(replica_url, **opts) if replica_url else None  # fails before the passphrase is asked for
    s = c.unlock()
    warning = ""
    if replica_url:
        from circle.sync.location import check_placement
        from circle.sync.service import claim_location

        check_placement(s, loc)
        loc, warning = tried_location(replica_url, offline_ok, **opts)
        claim_location(loc)  # as 'circle cohort replica' does: a folder that cannot be made is refused before the cohort is
    svc = s.create_cohort(name, purpose=purpose, cadence=cadence, meeting_minutes=meeting_minutes, replica=loc, history=history)
    if loc is not None:
        note_tried(s, svc.id, loc, warning)
    echo(svc.id)


@cohort.command("history")
@click.argument("cohort")
@click.argument("setting", type=click.Choice(HISTORY))
@pass_ctx
@friendly
def history(c: Context, cohort: str, setting: str) -> None:
    """What newcomers admitted from now on read of COHORT's past (a supervising mentor decides).

    all: everything since the cohort began, as a new colleague reads past
    minutes. joining: only from when they join; before it they see who was a
    member, the meetings and the rota, never what was said. Members admitted
    before keep what they read.
    """
    s = c.unlock()
    svc = s.find_cohort(cohort)
    svc.set_history(setting)
    echo(f"Newcomers to {clean_name(svc.view.cohort().name)} will read {HISTORY_SAYS[setting]}. Run 'circle sync --once' to send the change.")


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
    from circle.sync.location import check_placement, describe
    from circle.sync.service import set_replica

    loc = location_from(url, **opts)  # fails before the passphrase is asked for
    s = c.unlock()
    svc = s.find_cohort(cohort)
    check_placement(s, loc)
    loc, warning = tried_location(url, offline_ok, **opts)
    loc = set_replica(s, svc.store, loc)
    note_tried(s, svc.id, loc, warning)
    echo(f"{clean_name(svc.view.cohort().name)} now replicates to {describe(loc)}")
    echo("Run 'circle sync --once' to push what you have there.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def cohorts(c: Context, as_json: bool) -> None:
    """List your cohorts with their member counts."""
    s = c.unlock()
    rows = s.cohorts()
    if as_json:
        from circle.cli.meeting import json_out

        json_out({"cohorts": [{"id": i.id, "name": i.name, "members": i.members, "removed": i.removed} for i in rows], "problems": s.problems()})
        sys.exit(1 if s.problems() else 0)
    if not rows:
        echo("No cohorts yet: create one with 'circle cohort create NAME'.")
    for info in rows:
        gone = " · you were removed: you read nothing written since" if info.removed else ""
        echo(f"{info.id[:12]}  {clean_name(info.name)}  ({plural(info.members, 'member')}){gone}")
    problems = s.problems()
    for p in problems:
        echo(f"circle: problem: {p}" + ("" if isinstance(p, Problem) and p.acts else "; run 'circle verify'"), err=True)
    if problems:
        sys.exit(1)


@click.command()
@click.argument("cohort")
@click.option("--hours", default=72, show_default=True, type=click.IntRange(1, 24 * 30), help="How long the invite stays valid.")
@click.option("--card", "card", type=click.Path(dir_okay=False, writable=True), help="Also write an invite card to this file: where the replica is.")
@pass_ctx
@friendly
def invite(c: Context, cohort: str, hours: int, card: str | None) -> None:
    """Print a short invite code for COHORT to say aloud (one person, three tries)."""
    from circle.exchange import ReplicaMailbox
    from circle.store.joining import offer_invite

    s = c.unlock()
    offered = offer_invite(s, s.find_cohort(cohort), ReplicaMailbox(s), hours=hours)
    for line in offered.lines():
        echo(line)
    if card:
        Path(card).write_text(offered.card(), encoding="utf-8")
        echo(f"Invite card written to {card}: give it with the code (it says where the replica is, never the code).")


def _join_location(code: str, replica_url: str | None, card: str | None, opts: dict[str, Any]) -> dict[str, Any] | None:
    """Where the cohort's replica is, from --replica or --card (a long code carries it itself)."""
    from circle.store.joining import Invite, is_short_code, read_card

    if card:
        try:
            text = Path(card).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError("cannot read the invite card", f"{card}: {exc.strerror}") from None
        return location_from(**{**read_card(text), **{k: v for k, v in opts.items() if v}})
    if replica_url:
        return location_from(replica_url, **opts)
    if not is_short_code(code):
        inv = Invite.parse(code)
        return location_from(inv.location, **opts) if any(opts.values()) else None
    raise UsageError("where is the cohort's replica?", "add --replica FOLDER (or sftp://…, s3://…), or --card FILE from the person who invited you")


@click.command()
@click.argument("code")
@click.option("--replica", "replica_url", help="Where the cohort's replica is: the folder, sftp://… or s3://… the inviter names.")
@click.option("--card", type=click.Path(dir_okay=False, exists=True), help="An invite card file that says where the replica is.")
@click.option("--wait", default=300, show_default=True, type=click.IntRange(0, 24 * 3600), help="Seconds to wait for the admission.")
@click.option("--no-wait", is_flag=True, help="Only ask; run the same command again later to see the admission.")
@location_options
@pass_ctx
@friendly
def join(c: Context, code: str, replica_url: str | None, card: str | None, wait: int, no_wait: bool, **opts: Any) -> None:
    """Ask to join a cohort with the invite CODE you were told, then wait to be admitted."""
    from circle.exchange import ReplicaMailbox
    from circle.store.joining import join_with_code
    from circle.sync import litestream as ls
    from circle.sync.service import SyncService

    location = _join_location(code, replica_url, card, opts)
    url = (location or {}).get("url", "")
    if url and "://" not in url and not Path(url).is_dir():
        raise UsageError("replica folder not found", f"{url}: plug in the drive or mount the share, then try again")
    s = c.unlock()
    mailbox = ReplicaMailbox(s)
    with ls.bounded():  # a replica out of reach costs one wait (about 10 s), for the request and the sync after it
        joined = join_with_code(s, code, location, mailbox)
        r = SyncService(s).once()
    for line in joined.lines():
        echo(line)
    if r.unreachable:
        echo("The replica could not be reached yet: run the same command again when it can be.")
    for line in sorted(set(r.wrong.values())):
        echo(f"circle: {line}", err=True)
    if r.wrong:
        sys.exit(1)
    if joined.join_code:  # a long code: the member admits with the join code
        echo("Then run 'circle sync' (or open circle) to see the cohort once you are admitted.")
        return
    _wait_for_admission(s, joined.cohort_id, mailbox, 0 if no_wait else wait)  # --no-wait: one look, as its help says


def _wait_for_admission(s: Any, cid: str, mailbox: Any, wait: int) -> None:
    import time

    from circle.store.joining import answer, roster_fingerprint
    from circle.sync.service import SyncService

    deadline = time.monotonic() + wait
    told = False
    while True:
        state = answer(s, cid, mailbox)
        if state in ("refused", "spent"):
            raise UsageError(
                "the invite code was wrong" if state == "refused" else "the invite code was wrong, and the invite is now spent",
                "check the code with the person who invited you and join again" if state == "refused" else "ask for a new invite",
            )
        if state == "answered":
            SyncService(s).once()
            real = s.vault.resolve(cid)
            if real != cid:
                svc = s.cohort(real)
                echo(f"Admitted to {clean_name(svc.view.cohort().name)}.")
                echo(f"Cohort fingerprint, for everyone to compare: {roster_fingerprint(svc.view)}")
                return
        if time.monotonic() >= deadline:
            echo("Not admitted yet: run the same command again to see whether you were admitted.")
            return
        if not told:
            echo("Waiting to be admitted (Ctrl+C stops waiting; nothing is lost)…")
            told = True
        time.sleep(2)


@click.command()
@click.argument("cohort")
@click.argument("code")
@click.option("--role", default="participant", type=click.Choice(["mentor", "peer", "participant"]), show_default=True)
@click.option(
    "--replaces", default="", help="The member whose new identity this is (a laptop lost without a recovery kit): removed first, linked for all to see."
)
@pass_ctx
@friendly
def admit(c: Context, cohort: str, code: str, role: str, replaces: str) -> None:
    """Admit the newcomer who joined COHORT with the invite CODE you gave them (or its number).

    Compare the fingerprint it prints with theirs, aloud. With --replaces,
    do it in person: the newcomer takes that member's place and reads the
    cohort's history.
    """
    from circle.exchange import ReplicaMailbox
    from circle.store.joining import admit_with_code
    from circle.sync import litestream as ls
    from circle.sync.service import SyncService

    s = c.unlock()
    with ls.bounded():  # a replica out of reach costs one wait (about 10 s), for the exchange and the sync after it
        try:
            svc = s.find_cohort(cohort)
            old = svc.member_by_name(replaces).id if replaces else ""
            admitted = admit_with_code(svc, code, ReplicaMailbox(s), role=role, replaces=old)
        except ls.ReplicaOffline as exc:
            raise type(exc)(*one_line(exc.title, exc.hint.split(": ", 1)[0], "; nobody was admitted: try again once it answers"), exc.detail) from None
        r = SyncService(s).once()
    for line in admitted.lines():
        echo(line)
    if replaces:
        echo(f"They replace {clean_name(svc.view.name_of(old))}'s earlier identity, which was removed: everyone sees the link.")
    if r.unreachable:
        echo("The replica could not be reached: run 'circle sync --once' when it can be, so they see the admission.")


@click.command()
@click.argument("cohort")
@click.argument("member")
@click.option("--yes", is_flag=True, help="Do not ask first (a script; without a terminal nothing is asked).")
@pass_ctx
@friendly
def remove(c: Context, cohort: str, member: str, yes: bool) -> None:
    """Remove MEMBER from COHORT: they will not read anything written after.

    At a terminal it names who matched and asks first: MEMBER may be the start of a name.
    """
    s = c.unlock()
    svc = s.find_cohort(cohort)
    who = svc.member_by_name(member)
    if not yes and sys.stdin.isatty():
        asked = f"Remove {clean_name(who.name)} ({who.role}) from {clean_name(svc.view.cohort().name)}? They will read nothing written after"
        if not click.confirm(asked, default=False):
            raise UsageError("nobody was removed", "answer y to remove them")
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
