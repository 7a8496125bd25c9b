"""The credits section of an export: attested hours per member in the period, credits per cycle, the rule beside every figure.

Figures are the ledger's (:func:`circle.models.credits.ledger_for`, the same
arithmetic as ``circle credits``); this module only picks what the export's
period covers and cleans every member-written string (a rule's name, body and
unit are a mentor's text; a meeting's title a member's). Hours count only when
the member attested them and someone in a role the rule names countersigned
(:data:`WHO_ATTESTS`); each counted meeting names that countersigner and their
role, so a credit body can see both parties.

Only cohort-scope facts are read: attestations, rules and cycles live in the
cohort's shared journals. Attestations the fold held aside never count and are
never listed (the manifest counts them with every other held-aside event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from circle.models.credits import ROUNDING, CreditRule, Ledger, fmt, ledger_for
from circle.models.text import clean, clean_name
from circle.models.view import View

ROLE_WORDS = {"mentor": "supervising mentor", "peer": "facilitator-eligible peer", "participant": "participant"}
WHO_ATTESTS = (
    "Hours count only when attested by both parties: the member's own attestation and a countersignature by the meeting's facilitator "
    'or a supervising mentor, in a role the rule names ("with a ..."), for a meeting that was held. The figure counted is the smaller '
    "of the two; each meeting names its countersigner and their role."
)


@dataclass(frozen=True)
class RuleRecord:
    """A credit rule as an export prints it beside every figure (amounts as decimal text)."""

    id: str
    name: str
    body: str
    hours_per_unit: str
    credits_per_unit: str
    cap: str  # "0": no cap
    cycle_years: int
    roles: tuple[str, ...]  # whose countersignature counts
    unit: str
    default: bool
    text: str  # the rule in one line


@dataclass(frozen=True)
class CreditRow:
    """One meeting of a member's ledger in the period: what counted, who countersigned, or what is missing."""

    meeting: str
    at: str
    title: str
    own_minutes: int | None  # the member's own attestation (None: none)
    countersigned_minutes: int | None  # the countersigner's figure the rule counts (None: none)
    countersigned_by: str  # their name ("" when nobody the rule counts countersigned)
    countersigner_role: str  # their role when countersigning, in words
    counted_minutes: int
    missing: str  # "" when the minutes count; else what an audit would find missing


@dataclass(frozen=True)
class CycleRecord:
    """One cycle the period touches, with every counted hour in it up to the export (the cap applies per cycle)."""

    start: int
    end: int
    minutes: int
    units: int
    earned: str  # before the cap
    credits: str  # after the cap
    capped: bool


@dataclass(frozen=True)
class MemberCredits:
    """One member's credits: hours in the period, the cycles it touches, the audit gaps, under ``rule``."""

    member: str
    name: str
    role: str
    rule: RuleRecord
    cycle_start_set: bool  # the member set their cycle's start (else: the year of their first counted hour)
    minutes: int  # counted in the period
    meetings: tuple[CreditRow, ...]  # every ledger row in the period
    gaps: tuple[CreditRow, ...]  # the rows in the period with something missing
    cycles: tuple[CycleRecord, ...]


@dataclass(frozen=True)
class CreditsSection:
    """Everything an export says about credits."""

    rule_in_force: RuleRecord  # the cohort's rule; a member may report under another active one (their row says)
    who_attests: str
    rounding: str
    members: tuple[MemberCredits, ...]


def rule_record(r: CreditRule) -> RuleRecord:
    """A rule with its mentor-written text cleaned."""
    name, body, unit = clean_name(r.name), clean(r.body), clean(r.unit)
    cleaned = CreditRule(r.id, name, body, r.hours_per_unit, r.credits_per_unit, r.cap, r.cycle_years, r.activities, r.roles, unit, r.active, r.default)
    return RuleRecord(
        clean(r.id), name, body, fmt(r.hours_per_unit), fmt(r.credits_per_unit), fmt(r.cap), r.cycle_years, r.roles, unit, r.default, cleaned.describe()
    )


def _missing(gap: str) -> str:
    return gap.replace("your own attestation", "the member's own attestation")  # the ledger speaks to the member; an export to a reader


def _cycles(led: Ledger, years: range) -> tuple[CycleRecord, ...]:
    out: dict[int, CycleRecord] = {}
    for y in years:
        c = led.cycle_for(y)
        out.setdefault(c.start, CycleRecord(c.start, c.end, c.minutes, c.units, fmt(c.earned), fmt(c.credits), c.capped))
        if led.start is None:  # nothing counted and no start set: one (empty) cycle, not one starting each year
            break
    return tuple(out.values())


def build_credits(view: View, *, in_period: Callable[[str], bool], years: range, members: list[str], name_of: Callable[[str], str]) -> CreditsSection:
    """The credits section, from the folded view.

    Args:
        view: the cohort's shared view.
        in_period: whether a meeting's ``YYYY-MM-DD HH:MM`` falls in the export's period.
        years: the years the period touches (its cycles are reported).
        members: member ids to report, in roster order.
        name_of: a member id's cleaned name.
    """
    book = view.credits()
    titles = {m.id: clean(m.title) for m in view.meetings()}
    counters: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
    for a in book.attestations:
        if a.author != a.member:
            counters.setdefault((a.meeting, a.member), []).append((a.author, a.role, a.minutes))
    out = []
    for mid in members:
        led = ledger_for(view, mid)
        rows = []
        for r in led.rows:
            if not in_period(r.at):
                continue
            # The countersigner whose figure the ledger took: the largest among roles the rule counts (ties: by name).
            fits = [(mins, name_of(who), role) for who, role, mins in counters.get((r.meeting, mid), ()) if role in led.rule.roles]
            best = min(fits, key=lambda f: (-f[0], f[1])) if fits else None
            rows.append(
                CreditRow(
                    r.meeting,
                    r.at,
                    titles.get(r.meeting, ""),
                    r.own,
                    r.countersigned,
                    best[1] if best else "",
                    ROLE_WORDS.get(best[2], best[2]) if best else "",
                    r.counted,
                    _missing(r.gap),
                )
            )
        member = view.member(mid)
        out.append(
            MemberCredits(
                mid,
                name_of(mid),
                member.role if member else "",
                rule_record(led.rule),
                led.start_set,
                sum(r.counted_minutes for r in rows),
                tuple(rows),
                tuple(r for r in rows if r.missing),
                _cycles(led, years),
            )
        )
    return CreditsSection(rule_record(book.in_force), WHO_ATTESTS, ROUNDING, tuple(out))
