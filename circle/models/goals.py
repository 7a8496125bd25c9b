"""Goals: measurable learning outcomes, their check-ins with evidence, their status, and nudges when they go quiet.

Anchor: the learning outcomes of clinical education (a skill, knowledge,
judgement or an attitude, with how success is measured and by when), reviewed
with a mentor. A goal lives in exactly one place, and every event about it
must be in that place:

- **private** (the default): the one-on-one channel between its owner and the
  member they chose as their mentor for it; only those two hold the channel's
  key, so nobody else's device can even decrypt it.
- **shared**: the cohort scope; every member reads it.

There is no moving between places: a private goal stays private (its history
would otherwise leak), and sharing one means setting a new goal in the cohort.

The events (bodies in :mod:`circle.models.schema`), each naming the goal by
``goal`` (an id) and ``owner`` (a member id): ids are unique per owner and
place, so nobody can take over another member's goal by reusing its id.

- ``goal.set`` ``{"goal", "owner", "title", "domain", "measure", "target"}``
  (+ ``links``: meeting or action ids) sets a goal or edits it (the latest
  version in (lamport, author, id) order stands). Its author MUST be the owner.
- ``goal.checked_in`` ``{"goal", "owner", "progress" 0–100, "note"}`` (+
  ``evidence``): by the owner; in a channel also by the other member (the
  mentor's observation); for a shared goal also by a mentor at that point.
- ``goal.status_set`` ``{"goal", "owner", "status"}``: by the owner only.

A check-in or status change counts only for a goal its place holds, set
before it in stamp order: a check-in in the cohort scope naming a private
goal finds nothing there and is held aside, whoever wrote it.

Pure: no I/O. :func:`fold_goals` folds one place; the cohort's view folds the
shared place (refusals through ``View.late_refusal``) and the goal service
folds each channel from ``Channels.accepted``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from circle.models.events import Event

GOAL_KINDS = ("goal.set", "goal.checked_in", "goal.status_set")
DOMAINS = ("skill", "knowledge", "judgement", "attitude")
STATUSES = ("active", "achieved", "paused", "dropped")
DEFAULT_NUDGE_WEEKS = 4  # the charter's goal_nudge_weeks when a mentor set none
WEEK = 7 * 86400

Stamp = tuple[int, str, str]


@dataclass(frozen=True)
class CheckIn:
    """One check-in on a goal: how far along, what was done or seen, and the evidence for it.

    Attributes:
        author: the owner, or their mentor (an observation).
        progress: 0 to 100, as its author judges it.
        evidence: a short pointer to the evidence (a document's name, what was observed); "" for none.
        ts: the author's clock (for display and nudges, never for what counts).
    """

    id: str
    author: str
    progress: int
    note: str
    evidence: str
    ts: float
    stamp: Stamp


@dataclass(frozen=True)
class Goal:
    """A goal as it stands in its place.

    Attributes:
        id: the goal's id (unique per owner in its place).
        owner: the member who set it.
        partner: the other member of its channel (the mentor for it); "" for a shared goal.
        domain: skill, knowledge, judgement or attitude.
        measure: how success is measured.
        target: the date it should be reached by (YYYY-MM-DD).
        links: meeting and action ids it is linked to.
        status: active, achieved, paused or dropped.
        check_ins: every check-in that counted, oldest first.
        created: when its first version was written (the author's clock).
        edited: whether a later version changed it.
    """

    id: str
    owner: str
    partner: str
    title: str
    domain: str
    measure: str
    target: str
    links: tuple[str, ...] = ()
    status: str = "active"
    check_ins: tuple[CheckIn, ...] = ()
    created: float = 0.0
    edited: bool = False
    stamp: Stamp = (0, "", "")

    @property
    def shared(self) -> bool:
        return not self.partner

    @property
    def progress(self) -> int:
        """The latest check-in's progress (0 before any)."""
        return self.check_ins[-1].progress if self.check_ins else 0

    @property
    def last_activity(self) -> float:
        """When it was last checked in on, or set if never (the author's clock)."""
        return max((c.ts for c in self.check_ins), default=self.created)

    def readers(self) -> tuple[str, ...]:
        """Who can read it: its owner and partner (a private goal); () for a shared one (everyone in the cohort)."""
        return (self.owner, self.partner) if self.partner else ()


@dataclass(frozen=True)
class GoalBook:
    """The goals of one place, and the goal events held aside with why."""

    goals: dict[tuple[str, str], Goal] = field(default_factory=dict)  # (owner, goal id) -> goal
    refused: dict[str, str] = field(default_factory=dict)  # event id -> reason


def fold_goals(events: Iterable[Event], *, channel: tuple[str, str] | None = None, is_mentor: Callable[[Event], bool] = lambda e: False) -> GoalBook:
    """Fold the goal events of one place: the cohort scope (``channel`` None) or the channel between two members.

    The same events in any order give the same book: events are taken in
    (lamport, author, id) order, every version first, then check-ins and
    status changes against the goals that exist.

    Args:
        events: the goal events of that place (other kinds are ignored); their bodies already have their kind's shape.
        channel: the two members of the channel, or None for the cohort scope.
        is_mentor: whether an event's author was a mentor when writing it (who may check in on a shared goal).
    """
    ordered = sorted((e for e in events if e.kind in GOAL_KINDS), key=lambda e: e.stamp)
    refused: dict[str, str] = {}
    versions: dict[tuple[str, str], list[Event]] = {}
    for e in ordered:
        if e.kind != "goal.set":
            continue
        if channel is not None and e.author not in channel:
            refused[e.id] = "written into a private channel by someone outside it"
        elif e.body["owner"] != e.author:
            refused[e.id] = "only its owner sets or edits a goal"
        else:
            versions.setdefault((e.author, e.body["goal"]), []).append(e)
    check_ins: dict[tuple[str, str], list[CheckIn]] = {}
    status: dict[tuple[str, str], str] = {}
    for e in ordered:
        if e.kind == "goal.set":
            continue
        key = (e.body["owner"], e.body["goal"])
        reason = _problem(e, versions.get(key), channel, is_mentor)
        if reason:
            refused[e.id] = reason
        elif e.kind == "goal.checked_in":
            b = e.body
            check_ins.setdefault(key, []).append(CheckIn(e.id, e.author, b["progress"], b["note"], b.get("evidence", ""), e.ts, e.stamp))
        else:
            status[key] = e.body["status"]  # stamp order: the latest stands
    goals = {}
    for key, vs in versions.items():
        owner, gid = key
        first, last = vs[0], vs[-1]
        b = last.body
        partner = "" if channel is None else (channel[1] if channel[0] == owner else channel[0])
        edited = any(_content(v.body) != _content(first.body) for v in vs[1:])
        goals[key] = Goal(
            gid,
            owner,
            partner,
            b["title"],
            b["domain"],
            b["measure"],
            b["target"],
            tuple(b.get("links", ())),
            status.get(key, "active"),
            tuple(check_ins.get(key, ())),
            first.ts,
            edited,
            first.stamp,
        )
    return GoalBook(goals, refused)


def _problem(e: Event, versions: list[Event] | None, channel: tuple[str, str] | None, is_mentor: Callable[[Event], bool]) -> str:
    if channel is not None and e.author not in channel:
        return "written into a private channel by someone outside it"
    if not versions:
        return "names a goal this place does not hold (a goal's events stay where it lives)"
    if e.stamp < versions[0].stamp:
        return "comes before the goal it names was set"
    owner = e.body["owner"]
    if e.kind == "goal.status_set":
        return "" if e.author == owner else "only its owner changes a goal's status"
    if e.author == owner or channel is not None:  # in a channel the only other author is its other member: the mentor for this goal
        return ""
    return "" if is_mentor(e) else "only its owner or a mentor checks in on a shared goal"


def _content(body: dict) -> tuple:
    return (body["title"], body["domain"], body["measure"], body["target"], tuple(body.get("links", ())))


@dataclass(frozen=True)
class Nudge:
    """A goal that has gone quiet: no check-in for at least the cohort's number of weeks.

    Attributes:
        weeks: whole weeks since its last check-in (or since it was set).
        never: no check-in yet.
    """

    goal: Goal
    weeks: int
    never: bool


def nudges(goals: Iterable[Goal], now: float, weeks: int) -> list[Nudge]:
    """The active goals with no check-in for ``weeks`` weeks or more at ``now`` (seconds), the quietest first.

    Achieved, paused and dropped goals are never nudged.
    """
    out = []
    for g in goals:
        if g.status != "active":
            continue
        quiet = now - g.last_activity
        if quiet >= weeks * WEEK:
            out.append(Nudge(g, int(quiet // WEEK), not g.check_ins))
    return sorted(out, key=lambda n: (-n.weeks, n.goal.target, n.goal.owner, n.goal.id))
