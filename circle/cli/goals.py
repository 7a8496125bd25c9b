"""Goals from the shell: set a measurable learning outcome, check in with evidence, change its status, list what you can read.

\b
circle goal add COHORT TITLE --domain D --measure M --target YYYY-MM-DD [--shared] [--mentor NAME] [--link ID]
circle goal check-in COHORT GOAL --progress N --note TEXT [--evidence TEXT] [--of MEMBER]
circle goal status COHORT GOAL STATUS
circle goal nudge COHORT WEEKS
circle goals COHORT [MEMBER] [--json]
"""

from __future__ import annotations

from typing import Any

import click

from circle.cli.common import Context, echo, friendly, pass_ctx
from circle.cli.meeting import json_out
from circle.models.goals import DOMAINS, STATUSES, Goal
from circle.models.text import clean_name
from circle.store.goals import GoalService
from circle.store.service import today_at


def _goals(c: Context, cohort: str) -> GoalService:
    return GoalService(c.unlock().find_cohort(cohort))


def bar(progress: int, width: int = 10) -> str:
    """A progress bar in plain characters: ``[####------] 40%``."""
    full = round(progress * width / 100)
    return f"[{'#' * full}{'-' * (width - full)}] {progress}%"


@click.group()
def goal() -> None:
    """Goals: measurable learning outcomes, private with your mentor unless you share them with the cohort.

    \b
    circle goal add COHORT TITLE --domain D --measure M --target YYYY-MM-DD [--shared] [--mentor NAME] [--link ID]
    circle goal check-in COHORT GOAL --progress N --note TEXT [--evidence TEXT] [--of MEMBER]
    circle goal status COHORT GOAL STATUS
    circle goal nudge COHORT WEEKS
    """


@goal.command("add")
@click.argument("cohort")
@click.argument("title")
@click.option("--domain", type=click.Choice(DOMAINS), required=True, help="The kind of outcome.")
@click.option("--measure", required=True, help="How success is measured (what someone could observe or check).")
@click.option("--target", required=True, help="The date to reach it by, YYYY-MM-DD.")
@click.option("--shared", is_flag=True, help="Share it with everyone in the cohort (default: only you and your mentor).")
@click.option("--mentor", default="", help="The member to keep it private with (default: the cohort's mentor).")
@click.option("--link", "links", multiple=True, help="A meeting or action id it is linked to (repeat for more).")
@pass_ctx
@friendly
def goal_add(c: Context, cohort: str, title: str, domain: str, measure: str, target: str, shared: bool, mentor: str, links: tuple[str, ...]) -> None:
    """Set a goal in COHORT: TITLE, its domain, how it is measured and by when."""
    svc = _goals(c, cohort)
    g = svc.add(title, domain, measure, target, shared=shared, mentor=mentor, links=links)
    svc.cohort.store.flush()
    echo(f"Goal set ({g.id}): {g.title}, by {g.target}. {svc.readers_line(g)} can read it.")


@goal.command("check-in")
@click.argument("cohort")
@click.argument("ref", metavar="GOAL")
@click.option("--progress", required=True, type=int, help="How far along, 0 to 100.")
@click.option("--note", required=True, help="What was done or observed.")
@click.option("--evidence", default="", help="The evidence, briefly: a document's name, what was observed.")
@click.option("--of", "member", default="", help="Whose goal (as their mentor); default: yours, then any you may check in on.")
@pass_ctx
@friendly
def goal_check_in(c: Context, cohort: str, ref: str, progress: int, note: str, evidence: str, member: str) -> None:
    """Check in on GOAL (its id or title): progress, a note and the evidence."""
    svc = _goals(c, cohort)
    g = svc.goal(ref, svc.cohort.member_by_name(member).id) if member else svc.find(ref)
    svc.check_in(g, progress, note, evidence)
    svc.cohort.store.flush()
    whose = "your" if g.owner == svc.me else f"{clean_name(svc.cohort.view.name_of(g.owner))}'s"
    echo(f"Checked in on {whose} goal {g.title}: {bar(progress)}. {svc.readers_line(g)} can read it.")


@goal.command("status")
@click.argument("cohort")
@click.argument("ref", metavar="GOAL")
@click.argument("status", type=click.Choice(STATUSES))
@pass_ctx
@friendly
def goal_status(c: Context, cohort: str, ref: str, status: str) -> None:
    """Mark your GOAL active, achieved, paused or dropped."""
    svc = _goals(c, cohort)
    g = svc.find(ref)  # one you only read is found, and refused as not yours
    svc.set_status(g, status)
    svc.cohort.store.flush()
    echo(f"Goal {g.title} is {status} now.")


@goal.command("nudge")
@click.argument("cohort")
@click.argument("weeks")
@pass_ctx
@friendly
def goal_nudge(c: Context, cohort: str, weeks: str) -> None:
    """Nudge goals after WEEKS weeks without a check-in (a mentor sets it for the cohort; default 4)."""
    svc = _goals(c, cohort)
    n = svc.set_nudge_weeks(weeks)
    svc.cohort.store.flush()
    echo(f"Goals with no check-in for {n} week{'s' if n != 1 else ''} are nudged now.")


@click.command("goals")
@click.argument("cohort")
@click.argument("member", required=False)
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def goals(c: Context, cohort: str, member: str | None, as_json: bool) -> None:
    """The goals you can read in COHORT (yours, those you mentor, shared ones), or MEMBER's; quiet ones nudged."""
    svc = _goals(c, cohort)
    view = svc.cohort.view
    read = svc.read()
    shown = read.goals
    if member:
        who = svc.cohort.member_by_name(member)
        shown = [g for g in shown if g.owner == who.id]
    nudged = {(n.goal.owner, n.goal.id): n for n in read.nudges}
    if as_json:
        json_out({"nudge_weeks": read.weeks, "goals": [_doc(svc, g, nudged.get((g.owner, g.id))) for g in shown], "held_aside": len(read.refused)})
        return
    if not shown:
        echo("No goals you can read yet: 'circle goal add COHORT TITLE --domain ... --measure ... --target ...' sets one.")
    for g in shown:
        owner = "you" if g.owner == svc.me else clean_name(view.name_of(g.owner))
        echo(f"{g.title}  ({g.id})")
        echo(f"  {owner} · {g.domain} · {bar(g.progress)} · by {g.target} · {g.status} · {svc.readers_line(g)} can read it")
        echo(f"  measured by: {g.measure}")
        for link in g.links:
            echo(f"  linked: {_link(svc, link)}")
        if g.check_ins:
            last = g.check_ins[-1]
            who = "you" if last.author == svc.me else clean_name(view.name_of(last.author))
            ev = f" · evidence: {last.evidence}" if last.evidence else ""
            echo(f"  last check-in {today_at(last.ts)} by {who}: {last.note}{ev}")
        n = nudged.get((g.owner, g.id))
        if n is not None:
            echo(f"  ! nudge: {'never checked in' if n.never else 'no check-in'} for {n.weeks} weeks")
    if read.refused:
        echo(f"{len(read.refused)} goal event(s) in your private channels held aside (not written by someone entitled to).")


def _link(svc: GoalService, ref: str) -> str:
    view = svc.cohort.view
    m = view.meeting(ref)
    if m is not None:
        return f"meeting {m.at}{' · ' + m.title if m.title else ''}"
    a = next((a for a in view.actions() if a.id == ref), None)
    return f"action {a.title}" if a is not None else f"{ref} (not here)"


def _doc(svc: GoalService, g: Goal, nudge: Any) -> dict[str, Any]:
    name_of = svc.cohort.view.name_of
    return {
        "id": g.id,
        "owner": name_of(g.owner),
        "title": g.title,
        "domain": g.domain,
        "measure": g.measure,
        "target": g.target,
        "status": g.status,
        "progress": g.progress,
        "shared": g.shared,
        "readers": "cohort" if g.shared else [name_of(m) for m in g.readers()],
        "links": list(g.links),
        "check_ins": [
            {"by": name_of(ci.author), "at": today_at(ci.ts), "progress": ci.progress, "note": ci.note, "evidence": ci.evidence or None} for ci in g.check_ins
        ],
        "nudge_weeks_quiet": nudge.weeks if nudge is not None else None,
    }


COMMANDS = [goal, goals]
