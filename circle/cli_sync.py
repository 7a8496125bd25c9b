"""Commands for replicas, sync and membership: replica, sync, invite, join, admit, remove, doctor."""

from __future__ import annotations

import signal
import sys
import time

import click

from circle.cli import Context, friendly, location_from, location_options, pass_ctx
from circle.errors import CircleError, UsageError


def register(main: click.Group) -> None:
    """Add this module's commands to ``main``."""
    cohort_group = main.commands["cohort"]
    assert isinstance(cohort_group, click.Group)
    cohort_group.add_command(replica)
    for cmd in (sync, invite, join, admit, remove, doctor):
        main.add_command(cmd)


@click.command("replica")
@click.argument("cohort")
@click.argument("url")
@location_options
@pass_ctx
@friendly
def replica(c: Context, cohort: str, url: str, **opts) -> None:
    """Set where COHORT replicates: a folder, sftp://user@host/path or s3://bucket/path."""
    from circle.sync import litestream as ls
    from circle.sync.location import describe, mark_folder
    from circle.sync.service import replica_for

    s = c.unlock()
    svc = s.find_cohort(cohort)
    svc.entry["replica"] = location_from(url, **opts)
    folder = ls.folder_of(replica_for(s, svc))
    if folder is not None:
        try:
            mark_folder(folder)  # the person chose this folder: from now on it is the drive or share to wait for
        except OSError as exc:
            raise UsageError("cannot use that folder as the replica", f"{folder}: {exc.strerror}; check the path and that it is writable") from None
    s.keystore.save()
    click.echo(f"{svc.view.cohort().name} now replicates to {describe(svc.entry['replica'])}")
    click.echo("Run 'circle sync --once' to push what you have there.")


@click.command()
@click.option("--once", is_flag=True, help="Push everything unsent, pull everything new, then exit (USB stick, shared folder).")
@click.option("--interval", default=15.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="Seconds between checks of every replica for new events; your own are shipped within 5 s.")
@pass_ctx
@friendly
def sync(c: Context, once: bool, interval: float) -> None:
    """Sync every cohort of this identity with its replica."""
    from circle.sync.service import SyncService

    s = c.unlock()
    service = SyncService(s, poll=interval)
    if once:
        r = service.once()
        click.echo(f"Pushed {r.pushed} journal{'s' if r.pushed != 1 else ''}, pulled {r.pulled}, {r.events} new event{'s' if r.events != 1 else ''}.")
        for where, why in sorted(r.unreachable.items()):
            click.echo(f"offline: {where} could not be reached ({why}); nothing was lost, try again later")
        for p in r.problems:
            click.echo(f"problem: {p}")
        sys.exit(1 if r.problems else 0)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("now", True))
    service.start(focus=None)
    click.echo("Syncing; press Ctrl+C to stop.")
    try:
        last = ""
        while not stop["now"]:
            line = _status_line(service.status())
            if line != last:  # a line when something changed, not one a second
                click.echo(time.strftime("%H:%M:%S ") + line)
                last = line
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
    click.echo("Stopped; everything written is kept and will be sent next time.")


def _status_line(st) -> str:
    parts = [st.badge()]
    for co in st.cohorts:
        peers = ", ".join(f"{p.member} #{p.last_seq}" for p in co.peers) or "no peers yet"
        behind = f"; {co.caught_up()}" if co.peers and (co.lag_s is None or co.lag_s >= 60) else ""  # whole minutes: not a new line every second
        parts.append(f"{co.name or co.cohort[:8]}: {co.unsent} unsent; {peers}{behind}")
    return " | ".join(parts)


@click.command()
@click.argument("cohort")
@click.option("--hours", default=72, show_default=True, type=click.IntRange(1, 24 * 30), help="How long the invite stays valid.")
@pass_ctx
@friendly
def invite(c: Context, cohort: str, hours: int) -> None:
    """Print a single-use, expiring invite code for COHORT."""
    from circle.store.joining import create_invite

    s = c.unlock()
    svc = s.find_cohort(cohort)
    inv = create_invite(svc, ttl_s=hours * 3600)
    click.echo(inv.code())
    click.echo(f"Valid for {hours} hours, once. Your fingerprint: {s.fingerprint}")
    click.echo("Give the code to the newcomer; they run 'circle join CODE' and read you their join code.")


@click.command()
@click.argument("code")
@location_options
@pass_ctx
@friendly
def join(c: Context, code: str, **opts) -> None:
    """Ask to join a cohort with an invite CODE; prints your join code."""
    from circle.store.joining import Invite
    from circle.store.joining import join as do_join
    from circle.sync.service import SyncService

    s = c.unlock()
    inv = Invite.parse(code)
    loc = location_from(inv.location, **opts) if any(opts.values()) else None
    joined = do_join(s, code, replica=loc)
    r = SyncService(s).once()
    click.echo(f"Join code: {joined.join_code}")
    click.echo(f"Your fingerprint: {joined.fingerprint}")
    if r.unreachable:
        click.echo("The replica could not be reached yet: run 'circle sync --once' when it can be.")
    click.echo("Read the join code to the member admitting you and compare fingerprints aloud; then run 'circle sync'.")


@click.command()
@click.argument("cohort")
@click.argument("code")
@click.option("--role", default="participant", type=click.Choice(["mentor", "peer", "participant"]), show_default=True)
@pass_ctx
@friendly
def admit(c: Context, cohort: str, code: str, role: str) -> None:
    """Admit the newcomer whose join CODE you were given, into COHORT."""
    from circle.crypto.identity import fingerprint
    from circle.store.joining import admit as do_admit
    from circle.sync.service import SyncService, fetch_journal

    s = c.unlock()
    svc = s.find_cohort(cohort)
    name, fp = do_admit(svc, code, fetch_journal, role=role)
    SyncService(s).once()
    click.echo(f"Admitted {name} as {role}.")
    click.echo(f"Their fingerprint: {fp}")
    click.echo(f"Cohort fingerprint (everyone can compare): {fingerprint(svc.view.fingerprint_material())}")


@click.command()
@click.argument("cohort")
@click.argument("member")
@pass_ctx
@friendly
def remove(c: Context, cohort: str, member: str) -> None:
    """Remove MEMBER from COHORT: they will not read anything written after."""
    s = c.unlock()
    svc = s.find_cohort(cohort)
    hits = [m for m in svc.view.members() if m.name.lower() == member.lower() or m.id.startswith(member.lower())]
    if len(hits) != 1:
        raise UsageError(f"no single member matches {member!r}", "members: " + ", ".join(m.name for m in svc.view.members()))
    svc.remove(hits[0].id)
    click.echo(f"Removed {hits[0].name}. A new key epoch started; they cannot read what comes after.")
    click.echo("Run 'circle sync --once' to send the change.")


@click.command()
@pass_ctx
@friendly
def doctor(c: Context) -> None:
    """Check litestream, file permissions and every replica; say what to fix."""
    from circle.sync import litestream as ls
    from circle.sync.location import describe, folder_marked
    from circle.sync.service import replica_for

    problems = 0

    def say(ok: bool, what: str, fix: str = "") -> None:
        nonlocal problems
        problems += 0 if ok else 1
        click.echo(f"{'ok ' if ok else 'FIX'}  {what}" + ("" if ok or not fix else f" — {fix}"))

    try:
        binary = ls.litestream_binary()
        say(True, f"litestream found at {binary}")
    except CircleError as exc:
        say(False, "litestream binary", exc.hint)
    s = c.unlock()
    say(True, f"keystore opens ({s.name})")
    mode = s.keystore.path.stat().st_mode & 0o777
    say(mode == 0o600, f"keystore permissions {oct(mode)}", f"run: chmod 600 {s.keystore.path}")
    for cid in s.cohort_ids():
        svc = s.cohort(cid)
        name = svc.view.cohort().name or cid[:8]
        where = describe(svc.entry.get("replica")) if svc.entry.get("replica") else "the home folder (default)"
        folder = ls.folder_of(replica_for(s, svc))
        if folder is not None and svc.entry.get("replica") and not folder_marked(folder):
            say(False, f"{name}: replica folder {folder} is not there or not circle's",
                f"plug in the drive or mount the share; to start afresh in this folder run: circle cohort replica '{name}' {folder}")
            continue
        try:
            txid = ls.latest_txid(replica_for(s, svc).child(svc.entry["replica_path"]))
            say(True, f"{name}: replica {where} reachable" + ("" if txid else " (nothing sent yet: run 'circle sync --once')"))
        except CircleError as exc:
            say(False, f"{name}: replica {where}", exc.hint or exc.title)
        base = replica_for(s, svc)
        names = {m.journal: m.name for m in svc.view.members()}
        for jid, j in svc.known_journals().items():
            if jid == svc.journal_id.hex() or jid not in names:
                continue
            path = j.get("replica_path") or next((m.replica_path for m in svc.view.members() if m.journal == jid), "")
            try:
                txid = ls.latest_txid(base.child(path)) if path else None
            except CircleError as exc:
                say(False, f"{name}: {names[jid]}'s journal", exc.hint or exc.title)
                continue
            if txid is None:
                say(False, f"{name}: nothing from {names[jid]} on the replica yet", "ask them to run 'circle sync --once'")
            elif not svc.journal_path(jid).exists():
                say(False, f"{name}: {names[jid]}'s journal not on this device", "run 'circle sync --once'")
            else:
                say(True, f"{name}: {names[jid]}'s journal present, {j.get('seq', 0)} events verified")
        for jid, msg in svc.alarms.items():
            say(False, f"{name}: journal {jid[:8]}: {msg}", "compare with the member in person; evidence is kept in the home")
    click.echo("All good." if not problems else f"{problems} thing{'s' if problems != 1 else ''} to fix.")
    if problems:
        sys.exit(1)
