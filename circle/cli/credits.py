"""Continuing-education credits from the shell: attest hours, read the ledger, add a body's rule, set your cycle.

Every figure is printed next to the rule it was computed under; ``--json``
gives one line for scripts.
"""

from __future__ import annotations

from typing import Any

import click

from circle.cli.common import Context, echo, friendly, pass_ctx
from circle.cli.meeting import json_out
from circle.errors import UsageError
from circle.models.credits import ROUNDING, Cycle, Ledger, amount, fmt, hours
from circle.models.text import clean_name
from circle.store.credits import CreditService, find_meeting
from circle.store.service import CohortService, today_at


@click.command()
@click.argument("cohort")
@click.argument("meeting")
@click.argument("member", required=False)
@click.option("--minutes", type=int, default=None, help="Minutes attended, 1 to 600 (default: the meeting's length).")
@pass_ctx
@friendly
def attest(c: Context, cohort: str, meeting: str, member: str | None, minutes: int | None) -> None:
    """Attest attendance at MEETING of COHORT ("last", a date, a title or an id): your own, or MEMBER's as its facilitator or a mentor.

    Hours count once the member and the facilitator or a mentor have both attested them, and the meeting is wrapped up.
    """
    svc = c.unlock().find_cohort(cohort)
    m = find_meeting(svc, meeting)
    who = svc.member_by_name(member) if member else svc.view.member(svc.me)
    mins = CreditService(svc).attest(m.id, who.id if who else "", minutes)
    whose = "your" if not who or who.id == svc.me else f"{clean_name(who.name)}'s"
    echo(f"Attested {whose} {hours(mins)} at {m.at}{' · ' + m.title if m.title else ''}.")
    if not m.held:
        echo("They count once the meeting is wrapped up.")


class _CreditsGroup(click.Group):
    """`circle credits COHORT` shows the ledger; `circle credits rule ...` and `circle credits cycle ...` change the rules."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_CreditsGroup)
def credits() -> None:
    """Continuing-education credits from attested hours in meetings, under the cohort's credit rules.

    \b
    circle credits COHORT [MEMBER] [--cycle YEAR] [--rule ID] [--json]
    circle credits rule list COHORT
    circle credits rule add COHORT NAME [--body B] [--hours H] [--credits C] [--cap N] [--cycle-years Y] [--roles mentor,peer] [--unit U]
    circle credits rule retire COHORT ID
    circle credits cycle COHORT START_YEAR [--rule ID]
    """


def _row_doc(svc: CohortService, r: Any) -> dict[str, Any]:
    m = svc.view.meeting(r.meeting)
    return {
        "meeting": r.meeting,
        "at": r.at,
        "title": m.title if m else "",
        "own_minutes": r.own,
        "countersigned_minutes": r.countersigned,
        "counted_minutes": r.counted,
        "missing": r.gap or None,
    }


def _ledger_doc(svc: CohortService, led: Ledger, cyc: Cycle) -> dict[str, Any]:
    return {
        "member": led.member,
        "name": svc.view.name_of(led.member),
        "rule": led.rule.doc(),
        "cycle": {"start": cyc.start, "end": cyc.end, "start_set_by_member": led.start_set},
        "cycle_minutes": cyc.minutes,
        "cycle_units": cyc.units,
        "cycle_earned": fmt(cyc.earned),
        "cycle_credits": fmt(cyc.credits),
        "capped": cyc.capped,
        "total_minutes": led.minutes,
        "meetings": [_row_doc(svc, r) for r in led.rows],
        "missing": [_row_doc(svc, r) for r in led.gaps],
    }


@credits.command("show", hidden=True)
@click.argument("cohort")
@click.argument("member", required=False)
@click.option("--cycle", "year", type=click.IntRange(1900, 2200), default=None, help="Show the cycle that holds this year (default: this year's).")
@click.option("--rule", "rule_id", default="", help="Compute under this rule (an id from 'circle credits rule list'), not each member's own.")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def credits_show(c: Context, cohort: str, member: str | None, year: int | None, rule_id: str, as_json: bool) -> None:
    """Hours, credits for the cycle and what an audit would find missing, for every member of COHORT or MEMBER."""
    s = c.unlock()
    svc = s.find_cohort(cohort)
    cs = CreditService(svc)
    asked = year is not None  # a year asked for is its cycle; this year's is the current one (the first, before any)
    year = year or int(today_at(s.now())[:4])
    ledgers = [cs.ledger(svc.member_by_name(member).id, rule_id)] if member else cs.ledgers(rule_id)
    cycles = [led.cycle_for(year) if asked else led.current_cycle(year) for led in ledgers]
    if as_json:
        json_out(
            {
                "cohort": svc.view.cohort().name,
                "year": year,
                "rounding": ROUNDING,
                "members": [_ledger_doc(svc, led, cyc) for led, cyc in zip(ledgers, cycles, strict=True)],
            }
        )
        return
    echo(f"{clean_name(svc.view.cohort().name)} · continuing-education credits · {'the cycle holding ' + str(year) if asked else 'the current cycle'}")
    for led, cyc in zip(ledgers, cycles, strict=True):
        rule = led.rule
        cap = f" of at most {fmt(rule.cap)}" if rule.cap > 0 else ""
        capped = " (cap reached)" if cyc.capped else ""
        start = ("you set" if led.member == svc.me else "set by the member") if led.start_set else "from the first counted hour"
        echo(
            f"{clean_name(svc.view.name_of(led.member))}: {hours(cyc.minutes)} counted in {cyc.start}–{cyc.end} ({start}) → "
            f"{amount(cyc.credits, rule.unit)}{cap}{capped} · {hours(led.minutes)} in all"
        )
        echo(f"    rule: {rule.describe()}")
        for r in led.gaps:
            m = svc.view.meeting(r.meeting)
            echo(f"    missing for an audit: {r.at}{' · ' + m.title if m and m.title else ''}: {r.gap}")
    echo(f"Rounding: {ROUNDING}.")


@credits.group("rule")
def credits_rule() -> None:
    """The cohort's credit rules: list them; a mentor adds a professional body's rule.

    \b
    circle credits rule list COHORT
    circle credits rule add COHORT NAME [options]
    circle credits rule retire COHORT ID
    """


@credits_rule.command("list")
@click.argument("cohort")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON, for scripts.")
@pass_ctx
@friendly
def credits_rule_list(c: Context, cohort: str, as_json: bool) -> None:
    """List COHORT's credit rules, the one in force first (the built-in default while the cohort set none)."""
    svc = c.unlock().find_cohort(cohort)
    book = svc.view.credits()
    shown = list(book.rules.values()) + ([book.in_force] if book.in_force.id not in book.rules else [])  # the default, while in force
    rules = sorted(shown, key=lambda r: (r.id != book.in_force.id, not r.active, r.id))
    if as_json:
        json_out({"cohort": svc.view.cohort().name, "in_force": book.in_force.id, "rules": [r.doc() for r in rules]})
        return
    for r in rules:
        state = "in force" if r.id == book.in_force.id else ("active" if r.active else "retired")
        echo(f"{r.id:<20} {state:<9} {r.describe()}")


@credits_rule.command("add")
@click.argument("cohort")
@click.argument("name")
@click.option("--body", default="", help="The professional body that set the rule.")
@click.option("--hours", "hours_per_unit", default="2", show_default=True, help="Hours that earn one unit (decimal, e.g. 0.5).")
@click.option("--credits", "credits_per_unit", default="1", show_default=True, help="Credits one unit earns (decimal).")
@click.option("--cap", default="0", show_default=True, help="The most credits one cycle earns (0: no cap).")
@click.option("--cycle-years", type=int, default=5, show_default=True, help="How long a cycle lasts, 1 to 10 years.")
@click.option("--roles", default="mentor", show_default=True, help="Whose countersignature counts (mentor, peer, participant; comma-separated).")
@click.option("--unit", default="credits", show_default=True, help="What the credits are called (CEU, CPD points).")
@click.option("--id", "rule_id", default="", help="Replace the rule with this id (a new version); default: made from the name.")
@pass_ctx
@friendly
def credits_rule_add(
    c: Context,
    cohort: str,
    name: str,
    body: str,
    hours_per_unit: str,
    credits_per_unit: str,
    cap: str,
    cycle_years: int,
    roles: str,
    unit: str,
    rule_id: str,
) -> None:
    """Add a professional body's credit rule NAME to COHORT (a mentor only); the latest rule added is the one in force."""
    svc = c.unlock().find_cohort(cohort)
    who = tuple(r.strip().lower() for r in roles.split(",") if r.strip())
    rule = CreditService(svc).set_rule(
        name,
        body=body,
        hours_per_unit=hours_per_unit,
        credits_per_unit=credits_per_unit,
        cap=cap,
        cycle_years=cycle_years,
        roles=who,
        unit=unit,
        rule_id=rule_id,
    )
    echo(f"Set rule {rule.id}: {rule.describe()}")


@credits_rule.command("retire")
@click.argument("cohort")
@click.argument("rule_id", metavar="ID")
@pass_ctx
@friendly
def credits_rule_retire(c: Context, cohort: str, rule_id: str) -> None:
    """Retire the rule ID in COHORT (a mentor only): its terms stay on record; members who reported under it report under the rule in force."""
    svc = c.unlock().find_cohort(cohort)
    rule = CreditService(svc).retire_rule(rule_id)
    echo(f"Retired rule {rule.id}: {rule.describe()}")
    echo(f"In force now: {svc.view.credits().in_force.describe()}")


@credits.command("cycle")
@click.argument("cohort")
@click.argument("start", type=int)
@click.option("--rule", "rule_id", default="", help="Report under this rule (an id from 'circle credits rule list'); default: the one in force.")
@pass_ctx
@friendly
def credits_cycle(c: Context, cohort: str, start: int, rule_id: str) -> None:
    """Set the year START your credit cycle begins in COHORT (and the rule you report under)."""
    svc = c.unlock().find_cohort(cohort)
    if not 1900 <= start <= 2200:
        raise UsageError("the cycle's start is a year", "e.g. 2024")
    cs = CreditService(svc)
    cs.set_cycle(start, rule_id)
    rule = svc.view.credits().rule_for(svc.me)
    under = "under" if rule_id else "under the rule in force, which a mentor may change; now"
    echo(f"Your cycles start in {start} and run {rule.cycle_years} years each, {under}: {rule.describe()}")


COMMANDS = [attest, credits]
