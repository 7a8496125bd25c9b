"""Private commands: a one-on-one channel with another member (dyad) and notes only you read.

\b
circle dyad send COHORT MEMBER TEXT [--kind feedback|question|reflection] [--answers REQUEST]
circle dyad show COHORT MEMBER [--json]
circle dyad ask COHORT MEMBER WHAT [--by YYYY-MM-DD]
circle dyad decline COHORT MEMBER REQUEST [--reason TEXT]
circle dyad requests COHORT [--json]
circle note add COHORT TEXT [--reflection]
circle notes COHORT [--json]
"""

from __future__ import annotations

import time
from typing import Any

import click

from circle.cli.common import Context, echo, friendly, pass_ctx
from circle.cli.meeting import json_out
from circle.models.schema import MESSAGE_KINDS
from circle.models.text import clean_name
from circle.store.channels import ChannelService


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _lines(prefix: str, text: str) -> None:
    """Print member text line by line (each line cleaned by echo), the first after ``prefix``."""
    for i, line in enumerate(text.splitlines() or [""]):
        echo(("    " if i else prefix) + line)


def _channels(c: Context, cohort: str) -> ChannelService:
    return ChannelService(c.unlock().find_cohort(cohort))


@click.group()
def dyad() -> None:
    """A private channel with one other member: only the two of you can read it.

    \b
    circle dyad send COHORT MEMBER TEXT [--kind feedback|question|reflection] [--answers REQUEST]
    circle dyad show COHORT MEMBER [--json]
    circle dyad ask COHORT MEMBER WHAT [--by YYYY-MM-DD]
    circle dyad decline COHORT MEMBER REQUEST [--reason TEXT]
    circle dyad requests COHORT [--json]
    """


@dyad.command("send")
@click.argument("cohort")
@click.argument("member")
@click.argument("text")
@click.option("--kind", type=click.Choice(MESSAGE_KINDS), default="message", show_default=True, help="What it is.")
@click.option("--answers", "request", default="", help="The id of a feedback request it answers (see 'circle dyad show').")
@pass_ctx
@friendly
def dyad_send(c: Context, cohort: str, member: str, text: str, kind: str, request: str) -> None:
    """Send TEXT to MEMBER of COHORT, privately: the cohort, its mentor and the replica cannot read it."""
    ch = _channels(c, cohort)
    peer = ch.peer(member)
    ch.send(peer.id, text, kind=kind, request=request)
    ch.store.flush()
    echo(f"Sent to {clean_name(peer.name)}: only the two of you can read it.")


@dyad.command("show")
@click.argument("cohort")
@click.argument("member")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def dyad_show(c: Context, cohort: str, member: str, as_json: bool) -> None:
    """The private channel with MEMBER of COHORT, oldest first, and its feedback requests."""
    ch = _channels(c, cohort)
    peer = ch.peer(member)
    view = ch.cohort.view
    got = ch.channels()
    thread, requests = got.thread(peer.id), got.requests.get(peer.id, [])
    if as_json:
        json_out(
            {
                "with": peer.name,
                "readers": [view.name_of(ch.me), peer.name],
                "messages": [
                    {"id": m.id, "from": view.name_of(m.author), "kind": m.kind, "at": _when(m.ts), "text": m.text, "answers": m.request or None}
                    for m in thread
                ],
                "requests": [_request_doc(view.name_of, r) for r in requests],
            }
        )
        return
    echo(f"Private channel with {clean_name(peer.name)}: only the two of you can read it.")
    if not thread and not requests:
        echo("  (nothing yet: 'circle dyad send COHORT MEMBER TEXT' writes the first message)")
    for r in requests:
        who = "you" if r.asker == ch.me else clean_name(view.name_of(r.asker))
        by = f" by {r.by}" if r.by else ""
        echo(f"  [{r.status}] {who} asked for feedback on: {r.what}{by}  (request {r.id})")
    for m in thread:
        who = "you" if m.author == ch.me else clean_name(view.name_of(m.author))
        label = "" if m.kind == "message" else f" ({m.kind})"
        _lines(f"  {_when(m.ts)}  {who}{label}: ", m.text)


def _request_doc(name_of, r) -> dict[str, Any]:
    return {
        "id": r.id,
        "asked_by": name_of(r.asker),
        "asked": name_of(r.asked),
        "what": r.what,
        "by": r.by or None,
        "status": r.status,
        "reason": r.reason or None,
    }


@dyad.command("ask")
@click.argument("cohort")
@click.argument("member")
@click.argument("what")
@click.option("--by", default="", help="When you need it (YYYY-MM-DD).")
@pass_ctx
@friendly
def dyad_ask(c: Context, cohort: str, member: str, what: str, by: str) -> None:
    """Ask MEMBER of COHORT, privately, for feedback on WHAT; it shows on their home screen until they answer or decline."""
    ch = _channels(c, cohort)
    peer = ch.peer(member)
    rid = ch.request_feedback(peer.id, what, by)
    ch.store.flush()
    echo(f"Asked {clean_name(peer.name)} for feedback on: {what}{' by ' + by if by else ''} (request {rid}).")


@dyad.command("decline")
@click.argument("cohort")
@click.argument("member")
@click.argument("request")
@click.option("--reason", default="", help="Why, in a few words (optional).")
@pass_ctx
@friendly
def dyad_decline(c: Context, cohort: str, member: str, request: str, reason: str) -> None:
    """Decline MEMBER's feedback REQUEST (its id, from 'circle dyad show' or 'circle dyad requests')."""
    ch = _channels(c, cohort)
    peer = ch.peer(member)
    ch.decline(peer.id, request, reason)
    ch.store.flush()
    echo(f"Declined {clean_name(peer.name)}'s request.")


@dyad.command("requests")
@click.argument("cohort")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def dyad_requests(c: Context, cohort: str, as_json: bool) -> None:
    """Feedback others in COHORT asked of you and you have not answered or declined."""
    ch = _channels(c, cohort)
    view = ch.cohort.view
    open_ = ch.asked_of_me()
    if as_json:
        json_out({"requests": [_request_doc(view.name_of, r) for r in open_]})
        return
    if not open_:
        echo("Nobody is waiting for feedback from you.")
    for r in open_:
        by = f", by {r.by}" if r.by else ""
        echo(f"  {clean_name(view.name_of(r.asker))} asks for feedback on: {r.what}{by}  (request {r.id})")


@click.group()
def note() -> None:
    """Notes and reflections only you can read.

    \b
    circle note add COHORT TEXT [--reflection]
    """


@note.command("add")
@click.argument("cohort")
@click.argument("text")
@click.option("--reflection", is_flag=True, help="Mark it as a reflection rather than a note.")
@pass_ctx
@friendly
def note_add(c: Context, cohort: str, text: str, reflection: bool) -> None:
    """Keep TEXT in COHORT for you alone: sealed with a key that never leaves your keystore."""
    ch = _channels(c, cohort)
    ch.add_note(text, kind="reflection" if reflection else "note")
    ch.store.flush()
    echo("Kept: only you can read it.")


@click.command()
@click.argument("cohort")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def notes(c: Context, cohort: str, as_json: bool) -> None:
    """Your own notes and reflections in COHORT, oldest first (only you can read them)."""
    ch = _channels(c, cohort)
    mine = ch.notes()
    if as_json:
        json_out({"notes": [{"id": n.id, "kind": n.kind, "at": _when(n.ts), "text": n.text} for n in mine]})
        return
    if not mine:
        echo("No notes yet: 'circle note add COHORT TEXT' keeps one only you can read.")
    for n in mine:
        _lines(f"  {_when(n.ts)}{' (reflection)' if n.kind == 'reflection' else ''}: ", n.text)


COMMANDS = [dyad, note, notes]
