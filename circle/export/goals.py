"""The goals section of an export: the goals members shared with the cohort, their latest progress, and the evidence in the period.

Only the cohort scope is read (:meth:`View.shared_goals`): a private goal lives
in the one-on-one channel between its owner and their mentor, sealed with a
key only those two hold, and is never folded into the cohort's view, so it
cannot reach this section. The exporter's own private goals are only counted,
by the caller, for the manifest (as self notes are).

Check-ins and status changes are the fold's: one it held aside (a check-in by
someone who is neither the owner nor a mentor, one naming a private goal) is
never listed. Status and latest progress are as of the export; the evidence
listed is that of check-ins dated in the export's period. Dates are the
writer's own device clock, as the fold keeps them (for display only).

Titles, measures and evidence are member text, cleaned here; each format
escapes them its way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from circle.models.goals import Goal
from circle.models.text import clean
from circle.models.view import View

ABOUT = (
    "Goals members shared with the cohort, as they stand at the export: status and the latest progress (0-100, as its author judged it) "
    "with the date of that check-in; and the evidence named in check-ins dated in this period. Private goals are never exported."
)


@dataclass(frozen=True)
class EvidenceRecord:
    """One check-in in the period that named evidence.

    Attributes:
        on: its date, by its author's clock (YYYY-MM-DD).
        author: who checked in: the owner, or a mentor (an observation).
        progress: 0 to 100, as its author judged it.
        evidence: what was named as evidence (a document's name, what was observed).
    """

    on: str
    author: str
    progress: int
    evidence: str


@dataclass(frozen=True)
class GoalRecord:
    """A shared goal as an export prints it.

    Attributes:
        id: the goal's id (unique per owner).
        owner_id: the owner's member id.
        target: the date it should be reached by (YYYY-MM-DD).
        progress: the latest check-in's progress (None before any check-in).
        progress_on: that check-in's date ("" before any).
        evidence: the check-ins dated in the period that named evidence, oldest first.
    """

    id: str
    owner_id: str
    owner: str
    title: str
    domain: str
    measure: str
    target: str
    status: str
    progress: int | None
    progress_on: str
    evidence: tuple[EvidenceRecord, ...]


@dataclass(frozen=True)
class GoalsSection:
    """Every shared goal an export carries, and what the figures mean."""

    about: str
    goals: tuple[GoalRecord, ...]


def _day(ts: float) -> str:
    try:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):  # a clock an altered client set out of range
        return "unknown date"


def _record(g: Goal, in_period: Callable[[str], bool], name_of: Callable[[str], str]) -> GoalRecord:
    last = g.check_ins[-1] if g.check_ins else None
    evidence = tuple(
        EvidenceRecord(_day(c.ts), name_of(c.author), c.progress, clean(c.evidence, multiline=True))
        for c in g.check_ins
        if c.evidence.strip() and in_period(_day(c.ts))
    )
    return GoalRecord(
        g.id,
        g.owner,
        name_of(g.owner),
        clean(g.title),
        g.domain,
        clean(g.measure, multiline=True),
        clean(g.target),
        g.status,
        last.progress if last else None,
        _day(last.ts) if last else "",
        evidence,
    )


def build_goals(view: View, *, in_period: Callable[[str], bool], period_to: str, name_of: Callable[[str], str]) -> GoalsSection:
    """The goals section, from the folded view's shared goals.

    Args:
        view: the cohort's shared view.
        in_period: whether a ``YYYY-MM-DD`` day falls in the export's period (which check-ins' evidence is listed).
        period_to: the period's last day ("" for none): goals set after it are not listed.
        name_of: a member id's cleaned name.
    """
    goals = [g for g in view.shared_goals().goals.values() if g.shared and (not period_to or _day(g.created) <= period_to)]
    goals.sort(key=lambda g: (name_of(g.owner).casefold(), g.status != "active", g.target, g.stamp))
    return GoalsSection(ABOUT, tuple(_record(g, in_period, name_of) for g in goals))
