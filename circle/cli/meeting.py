"""Commands of meetings, for a person or a facilitator's script: agenda, meeting schedule, meetings, actions, action, demo.

Every listing takes ``--json``: one line, every non-ASCII character escaped.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from pathlib import Path
from typing import Any

import click

from circle.cli.common import Context, echo, friendly, pass_ctx
from circle.errors import NotFound, UsageError
from circle.models.meeting import overdue
from circle.models.records import Action, AgendaItem, Meeting
from circle.models.text import clean_name
from circle.models.view import View
from circle.store.service import CohortService, today_at
from circle.store.session import Session


@click.command()
@click.option("--no-tui", is_flag=True, help="Only create the demo home and print where it is.")
@click.pass_context
@friendly
def demo(ctx: click.Context, no_tui: bool) -> None:
    """Create a demo cohort in a fresh home and open it.

    Seven people (a supervising mentor and six members), eight past meetings,
    the next one with its agenda started and one after it. Every demo identity
    uses the same printed passphrase.
    """
    from circle.demo import build_demo

    c: Context = ctx.obj
    explicit = ctx.parent is not None and ctx.parent.params.get("home")
    root = c.home.root if explicit else Path(tempfile.mkdtemp(prefix="circle-demo-")) / "home"
    echo("Building the demo cohort …", err=True)
    built = build_demo(root)
    for session in built.sessions.values():
        session.close()  # let go of every demo identity's journals: the app and other commands open them again
    if no_tui:
        _tell_demo(root, built.recovery_codes)
        return
    try:
        _run_demo_app(root, c.identity)
    finally:
        _tell_demo(root, built.recovery_codes)  # after the app: what it printed before would sit behind its screen


def _run_demo_app(root: Path, identity: str | None) -> None:
    """Open the demo already unlocked: the person did not choose this passphrase and has not seen it yet."""
    from circle.app import make_app
    from circle.demo import DEMO_PASSPHRASE, PEOPLE
    from circle.store.session import Home
    from circle.sync.service import SyncService

    session = Home(root).unlock(DEMO_PASSPHRASE, identity or PEOPLE[4][0])
    try:
        make_app(root, identity=session.name, session=session, sync_factory=SyncService).run()
    finally:
        session.close()


def _tell_demo(root: Path, codes: dict[str, str]) -> None:
    """What a person needs of the demo home, its path said once: the passphrase, who is in it, each one's recovery code."""
    from circle.demo import DEMO_PASSPHRASE, PEOPLE, RECOVERY_CODES

    echo(f"Demo passphrase (every identity): {DEMO_PASSPHRASE}", err=True)
    echo(f"Identities and their recovery codes ('circle recover KIT' asks for one; kept in {RECOVERY_CODES} in the demo home too):", err=True)
    for name, role, _ in PEOPLE:
        echo(f"  {name} ({role}): {codes[name]}", err=True)
    echo(f"Open it again later with: circle --home {shlex.quote(str(root))}")


class _AgendaGroup(click.Group):
    """`circle agenda COHORT` lists; `circle agenda add COHORT TITLE` adds."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


def json_out(doc: Any) -> None:
    """Print a document for scripts: one line of JSON, every non-ASCII character escaped (so member text stays data)."""
    echo(json.dumps(doc, ensure_ascii=True, sort_keys=True))


def _item_doc(view: View, i: AgendaItem) -> dict[str, Any]:
    return {
        "id": i.id,
        "title": i.title,
        "owner": view.name_of(i.owner),
        "minutes": i.minutes + i.extended,
        "status": i.status,
        "carried": bool(i.carried_from),
        "moved_from": view.meeting(i.added_to).at if i.moved and view.meeting(i.added_to) else None,
        "edited": i.edited,
    }


def _meeting_doc(svc: CohortService, m: Meeting) -> dict[str, Any]:
    fac = svc.facilitator(m.id)
    return {
        "id": m.id,
        "at": m.at,
        "title": m.title,
        "minutes": m.minutes,
        "state": "cancelled" if m.cancelled else ("held" if m.held else "upcoming"),
        "facilitator": svc.view.name_of(fac) if fac else None,
        "items": len(svc.view.agenda(m.id)),
    }


@click.group(cls=_AgendaGroup)
def agenda() -> None:
    """The next meeting's agenda, and the list for the next meeting.

    \b
    circle agenda COHORT [--json]
    circle agenda add COHORT TITLE [--owner NAME] [--minutes N]
    """


@agenda.command("list", hidden=True)
@click.argument("cohort")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def agenda_list(c: Context, cohort: str, as_json: bool) -> None:
    """List the next meeting's agenda of COHORT (name or id)."""
    svc = c.unlock().find_cohort(cohort)
    m = svc.next_meeting()
    view = svc.view
    waiting = view.agenda("")
    if as_json:
        json_out(
            {
                "cohort": view.cohort().name,
                "meeting": _meeting_doc(svc, m) if m else None,
                "items": [_item_doc(view, i) for i in view.agenda(m.id)] if m else [],
                "waiting": [_item_doc(view, i) for i in waiting],
            }
        )
        return
    if m is None:
        echo(f"{clean_name(view.cohort().name)}: no meeting scheduled.")
        if waiting:
            echo("On the list for the next meeting:")
        for i in waiting:
            echo(f"  - {i.title}  ({clean_name(view.name_of(i.owner))}, {i.minutes} min)")
        return
    fac = svc.facilitator(m.id)
    echo(f"{clean_name(view.cohort().name)} · {m.at} · {m.title or 'Meeting'} · facilitator {clean_name(view.name_of(fac)) if fac else 'nobody eligible'}")
    items = view.agenda(m.id)
    if not items:
        echo("  (no items yet: add one with 'circle agenda add COHORT TITLE')")
    for i in items:
        mark = "x" if i.status == "done" else ("~" if i.carried_from else "-")
        moved = view.meeting(i.added_to) if i.moved else None
        extra = f"; moved from {moved.at[:10]}: added after it was wrapped up" if moved else ""
        echo(f"  {mark} {i.title}  ({clean_name(view.name_of(i.owner))}, {i.minutes + i.extended} min{extra})")


@agenda.command("add")
@click.argument("cohort")
@click.argument("title")
@click.option("--owner", default=None, help="Who brings it (a member's name; default: you).")
@click.option("--minutes", default=10, type=click.IntRange(1, 240), show_default=True, help="Timebox.")
@pass_ctx
@friendly
def agenda_add(c: Context, cohort: str, title: str, owner: str | None, minutes: int) -> None:
    """Add TITLE to the next meeting's agenda of COHORT (with none scheduled: to the list the next meeting takes up)."""
    svc = c.unlock().find_cohort(cohort)
    m = svc.next_meeting()
    owner_id = svc.member_by_name(owner).id if owner else ""
    svc.add_item(m.id if m else "", title, owner_id, minutes)
    svc.store.flush()
    if m is None:
        echo(f"No meeting is scheduled: on the list for the next meeting: {title} ({minutes} min)")
    else:
        echo(f"Added to {m.at}: {title} ({minutes} min)")


@click.group()
def meeting() -> None:
    """Schedule meetings.

    \b
    circle meeting schedule COHORT WHEN [--title T] [--minutes N]
    """


@meeting.command("schedule")
@click.argument("cohort")
@click.argument("when")
@click.option("--title", default="", help="The meeting's theme.")
@click.option("--minutes", default=None, type=int, help="How long it lasts, 5 to 600 (default: the charter's).")
@pass_ctx
@friendly
def meeting_schedule(c: Context, cohort: str, when: str, title: str, minutes: int | None) -> None:
    """Schedule a meeting of COHORT at WHEN (YYYY-MM-DD HH:MM); unfinished business is carried into the next one."""
    svc = c.unlock().find_cohort(cohort)
    mid = svc.schedule(when, title, minutes, from_today=True)
    m = svc.meeting(mid)
    fac = svc.facilitator(mid)
    echo(
        f"Scheduled {m.at} ({m.minutes} min){': ' + m.title if m.title else ''}; facilitator {clean_name(svc.view.name_of(fac)) if fac else 'nobody eligible'}."
    )
    carried = len([i for i in svc.view.agenda(mid) if i.carried_from or i.added_to != mid])
    if carried:
        echo(f"{carried} item{'s' if carried != 1 else ''} of unfinished business and the list for the next meeting are on its agenda.")


@click.command()
@click.argument("cohort")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def meetings(c: Context, cohort: str, as_json: bool) -> None:
    """List COHORT's meetings, past and upcoming, with who facilitates each."""
    svc = c.unlock().find_cohort(cohort)
    docs = [_meeting_doc(svc, m) for m in svc.view.meetings()]
    if as_json:
        json_out({"cohort": svc.view.cohort().name, "meetings": docs})
        return
    if not docs:
        echo("No meetings yet: schedule one with 'circle meeting schedule COHORT WHEN'.")
    for d in docs:
        who = clean_name(d["facilitator"]) if d["facilitator"] else "nobody eligible"
        role = "facilitated by" if d["state"] == "held" else "facilitator"
        echo(f"{d['at']}  {d['state']:<9}  {d['title'] or 'Meeting'} · {role} {who} · {d['items']} item{'s' if d['items'] != 1 else ''}")


def _action_doc(svc: CohortService, a: Action, now: str) -> dict[str, Any]:
    m = svc.view.meeting(a.meeting)
    return {
        "id": a.id,
        "title": a.title,
        "owner": svc.view.name_of(a.owner),
        "due": a.due or None,
        "overdue": a.status == "open" and overdue(a.due, now),
        "status": a.status,
        "meeting": m.at if m else None,
        "mine": a.owner == svc.me,
        "edited": a.edited,
    }


@click.command()
@click.argument("cohort")
@click.option("--mine", is_flag=True, help="Only the actions you own.")
@click.option("--open", "only_open", is_flag=True, help="Only the actions still open.")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def actions(c: Context, cohort: str, mine: bool, only_open: bool, as_json: bool) -> None:
    """List COHORT's actions: id, status, due date (overdue marked), owner; 'circle action done ID' ticks one."""
    s = c.unlock()
    svc = s.find_cohort(cohort)
    now = today_at(s.now())
    docs = [_action_doc(svc, a, now) for a in svc.view.actions() if (not mine or a.owner == svc.me) and (not only_open or a.status == "open")]
    if as_json:
        json_out({"cohort": svc.view.cohort().name, "today": now, "actions": docs})
        return
    if not docs:
        echo("No actions." if not (mine or only_open) else "No actions like that.")
    for d in docs:
        due = f"due {d['due']}" if d["due"] else "no due date"
        flag = "OVERDUE " if d["overdue"] else ""
        echo(f"{d['id'][:8]}  {d['status']:<7}  {flag}{due} · {clean_name(d['owner'])} · {d['title']}")


def _find_action(s: Session, prefix: str) -> tuple[CohortService, Action]:
    prefix = prefix.strip().lower()
    if len(prefix) < 4:
        raise UsageError("give at least the first 4 characters of the action's id", "'circle actions COHORT' lists the ids")
    hits = [(svc, a) for cid in s.cohort_ids() for svc in [s.cohort(cid)] for a in svc.view.actions() if a.id.startswith(prefix)]
    if not hits:
        raise NotFound("no action with that id", "'circle actions COHORT' lists the ids")
    if len(hits) > 1:
        raise UsageError("several actions start with that id", "give more of it: " + ", ".join(a.id[:12] for _, a in hits[:5]))
    return hits[0]


@click.group()
def action() -> None:
    """Tick an action done, or open it again.

    \b
    circle action done ID
    circle action reopen ID
    """


@action.command("done")
@click.argument("action_id", metavar="ID")
@pass_ctx
@friendly
def action_done(c: Context, action_id: str) -> None:
    """Tick the action whose id starts with ID done."""
    svc, a = _find_action(c.unlock(), action_id)
    if a.status == "done":
        echo(f"Already done: {a.title}")
        return
    svc.set_action_status(a.id, "done")
    echo(f"Done: {a.title} ('circle action reopen {a.id[:8]}' opens it again)")


@action.command("reopen")
@click.argument("action_id", metavar="ID")
@pass_ctx
@friendly
def action_reopen(c: Context, action_id: str) -> None:
    """Open the action whose id starts with ID again (undo a tick)."""
    svc, a = _find_action(c.unlock(), action_id)
    if a.status == "open":
        echo(f"Already open: {a.title}")
        return
    svc.set_action_status(a.id, "open")
    echo(f"Open again: {a.title}")


COMMANDS = [demo, agenda, meeting, meetings, actions, action]
