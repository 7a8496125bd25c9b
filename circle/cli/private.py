"""Private commands: a one-on-one channel with another member (`circle dyad …`, its usage in the group's help) and notes only you read (`circle note add`, `circle notes`)."""

from __future__ import annotations

import time
from typing import Any

import click

from circle.cli.common import Context, echo, friendly, pass_ctx
from circle.cli.meeting import json_out
from circle.models.agreements import SECTION_NAMES, SECTIONS
from circle.models.schema import DYAD_PHASES, MESSAGE_KINDS
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
    circle dyad phase COHORT MEMBER PHASE [--note TEXT]
    circle dyad agreement COHORT MEMBER [--json]
    circle dyad propose COHORT MEMBER [--goals T] [--cadence T] [--confidentiality T] [--feedback T] [--ending T] [--text T]
    circle dyad sign COHORT MEMBER --coi none|TEXT
    circle dyad certificate COHORT MEMBER [-o FILE] [--format md|pdf]
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
    peer = ch.peer(member, former=True)  # a removed member's channel is still read
    view = ch.cohort.view
    got = ch.channels()
    thread, requests = got.thread(peer.id), got.requests.get(peer.id, [])
    if as_json:
        json_out(
            {
                "with": peer.name,
                "readers": [view.name_of(ch.me), peer.name],
                "phase": got.phase(peer.id).phase,
                "messages": [
                    {"id": m.id, "from": view.name_of(m.author), "kind": m.kind, "at": _when(m.ts), "text": m.text, "answers": m.request or None}
                    for m in thread
                ],
                "requests": [_request_doc(view.name_of, r) for r in requests],
            }
        )
        return
    echo(f"Private channel with {clean_name(peer.name)}: only the two of you can read it. Phase: {got.phase(peer.id).phase}.")
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


@dyad.command("phase")
@click.argument("cohort")
@click.argument("member")
@click.argument("phase", type=click.Choice(DYAD_PHASES))
@click.option("--note", default="", help="A word on it (a closure's final reflection or summary).")
@pass_ctx
@friendly
def dyad_phase(c: Context, cohort: str, member: str, phase: str, note: str) -> None:
    """Move the relationship with MEMBER on: preparing, negotiating, enabling, closure; or close the channel (closed).

    Reopening a closed channel (any other phase) gives it a new key.
    """
    ch = _channels(c, cohort)
    peer = ch.peer(member)
    ch.set_phase(peer.id, phase, note)
    ch.store.flush()
    echo(f"The relationship with {clean_name(peer.name)} is now: {phase}.")


@dyad.command("agreement")
@click.argument("cohort")
@click.argument("member")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def dyad_agreement(c: Context, cohort: str, member: str, as_json: bool) -> None:
    """The agreement of your channel with MEMBER: its sections, who signed (with their declaration), its versions."""
    ch = _channels(c, cohort)
    peer = ch.peer(member, former=True)  # a removed member's channel is still read
    view = ch.cohort.view
    a = ch.agreement(peer.id)
    if as_json:
        json_out(
            {
                "with": peer.name,
                "agreement": None
                if a is None
                else {
                    "version": a.current.number,
                    "digest": a.current.digest,
                    "sections": a.current.sections,
                    "signed": [{"member": view.name_of(s.member), "coi": s.coi or None} for s in a.current.signatures],
                    "missing": [view.name_of(m) for m in a.missing()],
                    "versions": len(a.versions),
                },
            }
        )
        return
    if a is None:
        echo(f"No agreement with {clean_name(peer.name)} yet: 'circle dyad propose COHORT MEMBER --goals ...' proposes one.")
        return
    v = a.current
    echo(f"Agreement with {clean_name(peer.name)}, version {v.number} (digest {v.digest[:16]}…): only the two of you can read it.")
    for k in SECTIONS:
        if v.sections.get(k):
            _lines(f"  {SECTION_NAMES[k]}: ", v.sections[k])
    for s in v.signatures:
        who = "you" if s.member == ch.me else clean_name(view.name_of(s.member))
        _lines(f"  signed by {who}; conflict of interest: ", s.coi or "none declared")
    for m in a.missing():
        echo(f"  not signed yet: {'you' if m == ch.me else clean_name(view.name_of(m))}")
    if len(a.versions) > 1:
        echo(f"  {len(a.versions) - 1} earlier version{'s' if len(a.versions) > 2 else ''} kept.")


@dyad.command("propose")
@click.argument("cohort")
@click.argument("member")
@click.option("--goals", default="", help="Goals of the relationship.")
@click.option("--cadence", default="", help="Meetings: how often, how long.")
@click.option("--confidentiality", default="", help="What stays between you.")
@click.option("--feedback", default="", help="How feedback is given.")
@click.option("--ending", default="", help="How the relationship ends.")
@click.option("--text", default="", help="Anything else.")
@pass_ctx
@friendly
def dyad_propose(c: Context, cohort: str, member: str, **sections: str) -> None:
    """Propose the agreement of your channel with MEMBER, or amend it (both of you sign again)."""
    ch = _channels(c, cohort)
    peer = ch.peer(member)
    n = ch.propose_agreement(peer.id, sections)
    ch.store.flush()
    echo(f"Proposed version {n} of your agreement with {clean_name(peer.name)}; each of you signs it with 'circle dyad sign'.")


@dyad.command("sign")
@click.argument("cohort")
@click.argument("member")
@click.option("--coi", required=True, help="Your conflict-of-interest declaration: 'none', or describe it.")
@pass_ctx
@friendly
def dyad_sign(c: Context, cohort: str, member: str, coi: str) -> None:
    """Sign the current version of your agreement with MEMBER, declaring any conflict of interest."""
    ch = _channels(c, cohort)
    peer = ch.peer(member)
    n = ch.sign_agreement(peer.id, coi)
    ch.store.flush()
    echo(f"Signed version {n} of your agreement with {clean_name(peer.name)}.")


@dyad.command("certificate")
@click.argument("cohort")
@click.argument("member")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Where to write (default: a file named after the cohort and MEMBER, here).")
@click.option("--format", "fmt", type=click.Choice(("md", "pdf")), help="Markdown or PDF (default: what -o ends in, else md).")
@click.option("--force", is_flag=True, help="Overwrite a file that exists.")
@pass_ctx
@friendly
def dyad_certificate(c: Context, cohort: str, member: str, output: str | None, fmt: str | None, force: bool) -> None:
    """A signed closure certificate of your mentoring relationship with MEMBER, once it is in closure or closed.

    It says the relationship took place and closed only when you both signed
    its agreement and both took part in closing it; otherwise what it lacked
    (no agreement, closed by one of you alone, not closed yet). Only the two
    names and roles, the cohort, the period, who closed it and when, the
    agreement's goals and who signed it, the cohort meetings you both attended,
    and your own closure note: never a message, feedback or request. Check it
    with 'circle verify-export FILE'.
    """
    from pathlib import Path

    from circle import export as ex
    from circle.export import certificate

    fmt = ex.format_for(Path(output) if output else None, fmt, certificate.FORMATS)
    svc = c.unlock().find_cohort(cohort)
    cert = certificate.certify(svc, member)
    path = Path(output).expanduser() if output else Path.cwd() / certificate.default_name(cert, fmt)
    sig = certificate.write(cert, fmt, path, ex.signer_of(svc.store.author), svc.now(), force=force)
    echo(f"Wrote {path} ({path.stat().st_size:,} bytes), signature in {sig.name}")
    echo(f"A record that this mentoring relationship {cert.standing}: not an accreditation.")


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
