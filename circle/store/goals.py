"""What people do with goals: set one (private with a mentor, or shared with the cohort), check in with evidence, change its status.

A private goal is written into the one-on-one channel between its owner and
the member they chose as their mentor for it (:class:`ChannelService`), so only
those two can read it; a shared goal is written into the cohort scope. What
counts is decided by :mod:`circle.models.goals` on every device; the checks
here are a courtesy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from circle.errors import AlreadyExists, Ambiguous, NotFound, UsageError
from circle.models.goals import DOMAINS, GOAL_KINDS, STATUSES, Goal, GoalBook, Nudge, fold_goals, nudges
from circle.models.governance import MENTOR
from circle.models.names import match_one
from circle.models.records import Member
from circle.store.channels import ChannelService
from circle.store.service import MAX_TEXT, MAX_TITLE, CohortService, FieldError, _due, _text, new_id, today_at

NUDGE_WEEKS = (1, 52)


@dataclass(frozen=True)
class GoalsRead:
    """Every goal this device can read in one cohort: mine, those of members whose channel with me holds them, and shared ones.

    Attributes:
        refused: goal events held aside in my channels (the shared ones are in the view's refusals).
    """

    goals: list[Goal]
    nudges: list[Nudge]
    weeks: int
    refused: dict[str, str]


class GoalService:
    """Goals of one cohort, for the identity that unlocked it.

    Args:
        cohort: the cohort's service.
    """

    def __init__(self, cohort: CohortService) -> None:
        self.cohort = cohort
        self.channels = ChannelService(cohort)

    @property
    def me(self) -> str:
        return self.cohort.me

    # ---- who ----------------------------------------------------------
    def mentors(self) -> list[Member]:
        """The cohort's active mentors other than me: whom a private goal is set with by default."""
        return [m for m in self.cohort.view.members() if m.role == MENTOR and m.id != self.me]

    def mentor_for(self, name: str = "") -> Member:
        """The member a private goal is shared with: the one named (or whose id it is), or the cohort's one mentor."""
        chosen = self.cohort.view.member(name.strip())
        if chosen is not None and chosen.active and chosen.id != self.me:
            return chosen
        if name.strip():
            return self.channels.peer(name)
        mentors = self.mentors()
        if len(mentors) == 1:
            return mentors[0]
        if not mentors:
            raise UsageError("this cohort has no other mentor to set a private goal with", "name the member you want as your mentor for it, or share it")
        raise UsageError("this cohort has several mentors", f"name one of them: {', '.join(m.name for m in mentors)}")

    def readers_line(self, g: Goal) -> str:
        """Who can read a goal, from my side: the scope badge."""
        view = self.cohort.view
        if g.shared:
            return "Everyone in the cohort"
        names = ["you" if m == self.me else view.name_of(m) for m in g.readers()]
        return f"Only {names[0]} and {names[1]}"

    # ---- reading ------------------------------------------------------
    def read(self, now: float | None = None) -> GoalsRead:
        """Every goal I can read, the nudges at ``now`` (the session's clock by default) for goals I own or mentor."""
        store = self.cohort.store
        with store.lock:
            view = store.view
            shared = view.shared_goals()
            got = store.private.read(view)
            by_peer: dict[str, list] = {}
            for peer, e in got.accepted:
                if e.kind in GOAL_KINDS:
                    by_peer.setdefault(peer, []).append(e)
            books: list[GoalBook] = [shared]
            books += [fold_goals(events, channel=(self.me, peer)) for peer, events in sorted(by_peer.items())]
            goals = [g for b in books for g in b.goals.values()]
            goals.sort(key=lambda g: (g.owner != self.me, view.name_of(g.owner).casefold(), g.status != "active", g.target, g.stamp))
            weeks = view.cohort().goal_nudge_weeks
            active = {m.id for m in view.members()}
            mine = [g for g in goals if g.owner in active and (g.owner == self.me or g.partner == self.me)]
            refused = {k: v for b in books[1:] for k, v in b.refused.items()}
            return GoalsRead(goals, nudges(mine, store.clock() if now is None else now, weeks), weeks, refused)

    def goal(self, ref: str, owner: str | None = None) -> Goal:
        """A goal by its id (or the start of it) or its title, among those of ``owner`` (me by default)."""
        owner = owner or self.me
        goals = [g for g in self.read().goals if g.owner == owner]
        return match_one(goals, ref, name=lambda g: g.title, ident=lambda g: g.id, what="goal")

    def find(self, ref: str) -> Goal:
        """A goal I can read by id or title: mine first, then any I may check in on."""
        goals = self.read().goals
        for pool in ([g for g in goals if g.owner == self.me], [g for g in goals if self.may_check_in(g)]):
            exact = [g for g in pool if g.id == ref.strip()]
            if exact:
                return exact[0]
            try:
                return match_one(pool, ref, name=lambda g: g.title, ident=lambda g: g.id, what="goal")
            except Ambiguous:
                raise
            except NotFound:
                continue
        raise NotFound("no goal of yours, or that you mentor, by that name", "see 'circle goals COHORT' for the goals you can read")

    def may_check_in(self, g: Goal) -> bool:
        """The fold's rule, asked before writing: the owner, the other member of its channel, or a mentor for a shared goal."""
        return g.owner == self.me or g.partner == self.me or (g.shared and self.cohort.is_mentor())

    # ---- writing ------------------------------------------------------
    def add(self, title: str, domain: str, measure: str, target: str, *, shared: bool = False, mentor: str = "", links: Iterable[str] = ()) -> Goal:
        """Set a goal: private with ``mentor`` (by default the cohort's mentor), or shared with the cohort."""
        if domain not in DOMAINS:
            raise FieldError("domain", f"a goal is one of: {', '.join(DOMAINS)}", "choose the kind of outcome it is")
        body = {
            "goal": new_id(),
            "owner": self.me,
            "title": _text(title, "goal"),
            "domain": domain,
            "measure": _text(measure, "measure", MAX_TITLE * 5, field="measure"),
            "target": _due(target, field="target", optional=False, today=today_at(self.cohort.store.clock())),
        }
        links = [x for x in (str(x).strip() for x in links) if x]
        if links:
            known = {m.id for m in self.cohort.view.meetings()} | {a.id for a in self.cohort.view.actions()}
            unknown = [x for x in links if x not in known]
            if unknown:
                raise FieldError("links", f"no meeting or action {unknown[0]} here", "see 'circle meetings' and 'circle actions' for ids")
            body["links"] = links[:20]
        if shared:
            self.cohort.store.record("goal.set", body)
            return self._written(body["goal"], "")
        partner = self.mentor_for(mentor)
        self.channels._record(partner.id, "goal.set", body)
        return self._written(body["goal"], partner.id)

    def _written(self, gid: str, partner: str) -> Goal:
        for g in self.read().goals:
            if g.id == gid and g.owner == self.me and g.partner == partner:
                return g
        raise NotFound("the goal was written but does not show", "run 'circle doctor'")  # the fold refused our own event: worth saying

    def _write(self, g: Goal, kind: str, body: dict) -> None:
        if g.shared:
            self.cohort.store.record(kind, body)
        else:
            self.channels._record(g.partner if g.owner == self.me else g.owner, kind, body)

    def check_in(self, g: Goal, progress: int | str, note: str, evidence: str = "") -> None:
        """Check in on a goal: how far along (0-100), what happened, and the evidence (a document's name, what was observed)."""
        if not self.may_check_in(g):
            raise UsageError("only its owner, their mentor in the channel, or a mentor for a shared goal checks in", "check in on your own goals")
        try:
            n = int(str(progress).strip())
        except ValueError:
            n = -1
        if not 0 <= n <= 100:
            raise FieldError("progress", "progress is 0 to 100", "type a whole number, like 40")
        body = {"goal": g.id, "owner": g.owner, "progress": n, "note": _text(note, "note", MAX_TEXT, field="note")}
        if evidence.strip():
            body["evidence"] = _text(evidence, "evidence", field="evidence")
        self._write(g, "goal.checked_in", body)

    def set_status(self, g: Goal, status: str) -> None:
        """Mark a goal active, achieved, paused or dropped (only its owner does)."""
        if status not in STATUSES:
            raise FieldError("status", f"a goal is {', '.join(STATUSES)}", "choose one of them")
        if g.owner != self.me:
            raise UsageError("only its owner changes a goal's status", "check in instead, to add what you observed")
        if g.status == status:
            raise AlreadyExists(f"the goal is {status} already", "nothing changed")
        self._write(g, "goal.status_set", {"goal": g.id, "owner": g.owner, "status": status})

    def set_nudge_weeks(self, n: int | str) -> int:
        """Set after how many weeks without a check-in a goal is nudged (a mentor does; it is part of the charter)."""
        self.cohort._require_mentor("sets when goals are nudged")
        lo, hi = NUDGE_WEEKS
        try:
            weeks = int(str(n).strip())
        except ValueError:
            weeks = 0
        if not lo <= weeks <= hi:
            raise FieldError("weeks", f"nudges come after {lo} to {hi} weeks", "type a whole number, for example 4")
        if weeks == self.cohort.view.cohort().goal_nudge_weeks:
            raise AlreadyExists(f"it is {weeks} weeks already", "nothing changed")
        self.cohort.store.record("cohort.charter_set", {"goal_nudge_weeks": weeks})
        return weeks
