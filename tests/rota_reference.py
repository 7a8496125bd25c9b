"""The facilitator rota computed the simple way: the reference the fast one in circle/models/rota.py must agree with.

It began as ``circle/models/rota.py`` at commit 8b4f6d0 (quadratic in
meetings); since a held meeting's turn is settled as it stood then, it states
those rules as plainly as they can be stated, whatever it costs (about a
second at 200 meetings): wrap-ups, swaps and give-backs in (lamport, author,
id) order, and before each one the whole round worked out again from
nothing as it stood just before it (:meth:`_Reference._round`): each meeting
as of the earliest counting wrap-up of it or of a meeting after it in the
round (:func:`settled_at`), else as of that point; roles, who was a member
and who was away from the governance events before it folded again
(:func:`roster_before`); marks before it (:func:`absent_then`); meetings
scheduled after it left out. Turns owed by a give-back with nothing to take in
exchange are paid at each step, as the fast one does. The property tests in
``tests/unit/test_rota.py`` run both on the same histories, and
``bench/bench_fold.py`` on a small cohort before timing the fast one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from circle.models.governance import State
from circle.models.rota import ELIGIBLE_ROLE, SUPERVISOR_ROLE, Rota, Turn

if TYPE_CHECKING:
    from circle.models.events import Event
    from circle.models.records import Meeting
    from circle.models.view import View

_START = (0, "", "")


@lru_cache(maxsize=4096)
def roster_before(view: View, stamp: tuple[int, str, str] | None) -> State:
    """The roster as the governance events that count before ``stamp`` give it (None: all of them), folded from nothing.

    Memoised per view and stamp (never changed by its callers): the reference folds it again for every meeting it
    works out, and works the round out again for every swap and give-back.
    """
    s = State()
    for g in view.governance_events():
        if stamp is None or g.stamp < stamp:
            s.apply(g)
    return s


def settled_at(view: View, meetings: list[Meeting], held: dict[str, tuple[int, str, str]], mid: str) -> tuple[int, str, str] | None:
    """The earliest wrap-up of meeting ``mid`` or of a meeting of the round dated after it (a back-dated one: its own)."""
    backdated = view.backdated()
    if mid in backdated:
        return held.get(mid)
    after = [m.id for m in meetings[[m.id for m in meetings].index(mid) :] if m.id not in backdated]
    return min((held[m] for m in after if m in held), default=None)


def gone_then(view: View, who: str, stamp: tuple[int, str, str] | None) -> bool:
    """Whether ``who`` was away, removed or not a member just before ``stamp`` (None: now)."""
    m = view.member(who) if stamp is None else roster_before(view, stamp).members.get(who)
    return m is None or m.away or not m.active


def absent_then(view: View, mid: str, stamp: tuple[int, str, str] | None) -> set[str]:
    """Who had sent apologies for ``mid`` just before ``stamp`` (None: now): their own latest mark or a mentor's."""
    latest: dict[str, tuple[tuple[int, str, str], bool]] = {}
    for e in view.attendance_marks(mid):
        if (stamp is None or e.stamp < stamp) and (e.author == e.body["member"] or view.is_mentor_event(e)):
            if e.body["member"] not in latest or e.stamp > latest[e.body["member"]][0]:
                latest[e.body["member"]] = (e.stamp, e.body["present"])
    return {who for who, (_, present) in latest.items() if not present}


def eligible_then(view: View, stamp: tuple[int, str, str] | None) -> list[str]:
    """Facilitator-eligible members just before ``stamp`` (None: now) in rota order (joined order, then id); removed ones included."""
    members = sorted(roster_before(view, stamp).members.values(), key=lambda m: (m.joined[0], m.id))
    peers = [m.id for m in members if m.role == ELIGIBLE_ROLE]
    return peers or [m.id for m in members if m.role == SUPERVISOR_ROLE]


class _Reference:
    """The rota judged in (lamport, author, id) order, working the whole round out again before each step."""

    def __init__(self, view: View, meetings: list[Meeting], candidates: list[Event], changes: list[Event]) -> None:
        self.view = view
        self.meetings = meetings
        self.backdated = view.backdated()
        self.ids = eligible_then(view, None)
        everyone = view.members(include_removed=True)
        self.joined = {m.id: (m.joined_lamport, m.id) for m in everyone}
        self.names = {m.id: m.name for m in everyone}
        self.position = {m.id: i for i, m in enumerate(meetings)}
        self.held: dict[str, tuple[int, str, str]] = {}  # the wrap-ups that counted so far
        self.recorded: dict[str, str] = {}
        self.moved: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        self.swapped: set[str] = set()
        self.refused: dict[str, tuple[Event, str]] = {}
        self.proposals: dict[str, Event] = {}
        self.debts: list[tuple[str, str, tuple[int, str, str]]] = []  # (meeting given back, who gave it, when)
        self.paid: set[str] = set()
        for e in sorted([*candidates, *changes], key=lambda e: e.stamp):
            {"meeting.held": self._wrap_up, "rota.given_back": self._give_back}.get(e.kind, self._swap_event)(e)
        rr = self._round(None, self.notes)
        for mid in self.backdated:
            self.notes.setdefault(mid, "dated before meetings already held")
        self._pay_debts({m.id: self.moved.get(m.id, rr[m.id]) for m in meetings}, keep=True)
        self.base = {m.id: self.moved.get(m.id, rr[m.id]) for m in meetings}
        self.lines = {m.id: tuple(self._line(m.id, self.base[m.id], m.id in self.held)) for m in meetings}

    def _excluded(self, mid: str, t: tuple[int, str, str] | None) -> set[str]:
        return absent_then(self.view, mid, t) | {m for m in self.joined if gone_then(self.view, m, t)}

    def _round(self, now: tuple[int, str, str] | None, notes: dict[str, str] | None = None) -> dict[str, str]:
        """The round over every meeting: each settled one as it stood when it settled, the others as they stood just
        before ``now`` (None: now)."""
        out: dict[str, str] = {}
        last = None  # the last member who took a turn
        for mt in self.meetings:
            if now is not None and self.view.scheduled_when()[mt.id] > now:  # not scheduled yet
                out[mt.id] = ""
                continue
            settled = settled_at(self.view, self.meetings, self.held, mt.id)
            t = settled if settled is not None else now
            excluded = self._excluded(mt.id, t)
            if mt.id in self.backdated:  # its scheduler's; the round goes on without it
                out[mt.id] = "" if mt.creator in excluded else mt.creator
                continue
            cycle = eligible_then(self.view, t)
            if last is not None:  # those who joined after the last to take a turn, then the others from the start
                cycle = [m for m in cycle if self.joined[m] > self.joined[last]] + [m for m in cycle if self.joined[m] <= self.joined[last]]
            pick = ""
            for cand in cycle:
                if cand in excluded:
                    if notes is not None:
                        notes.setdefault(mt.id, f"{self.names[cand]} skipped")
                    continue
                pick = last = cand
                break
            out[mt.id] = pick
        return out

    def _then(self, e: Event) -> dict[str, str]:
        """Who held each meeting's turn just before ``e``: a turn moved already, else the round as it stood then; and
        what givers who owe a turn take now there is one."""
        then = {mid: self.moved.get(mid, pick) for mid, pick in self._round(e.stamp).items()}
        self._pay_debts(then, keep=False)
        return then

    def _pay_debts(self, then: dict[str, str], keep: bool) -> None:
        for d in list(self.debts):
            x, giver, given = d
            for m in self.meetings[self.position[x] + 1 :]:
                if m.id in self.backdated or m.id in self.paid or (m.id in self.held and self.held[m.id] < given) or then[m.id] in ("", giver):
                    continue
                self.moved[m.id] = then[m.id] = giver
                self.notes[m.id] = "owed a turn"
                self.paid.add(m.id)
                if not keep:
                    self.debts.remove(d)
                break

    def _line(self, mid: str, start: str, held: bool, upto: tuple[int, str, str] | None = None) -> list[tuple[tuple[int, str, str], str]]:
        holder = start
        line = [(_START, holder)]
        for e in self.view.handoffs(mid):
            if upto is not None and e.stamp >= upto:
                break
            then = roster_before(self.view, e.stamp).members.get(e.body["to"])  # a member then; for a meeting to come, still now
            if then is None or not then.active or (not held and not self.view.member(e.body["to"]).active):
                if upto is None:
                    self.refused[e.id] = (e, "hands the role to someone who is not an active member")
            elif e.author == holder or self.view.is_mentor_event(e):
                holder = e.body["to"]
                line.append((e.stamp, holder))
            elif upto is None:
                self.refused[e.id] = (e, "hands over a role its author did not hold")
        return line

    def _was_held(self, mid: str, e: Event) -> bool:
        return mid in self.held and self.held[mid] < e.stamp

    def _wrap_up(self, e: Event) -> None:
        mid = e.body["meeting"]
        holder = self._line(mid, self._then(e)[mid], held=True, upto=e.stamp)[-1][1]
        if e.author != holder and not self.view.is_mentor_event(e):
            self.refused[e.id] = (e, "only the meeting's facilitator, or a mentor, wraps it up")
        elif e.body.get("facilitator") and e.body["facilitator"] != holder:
            self.refused[e.id] = (e, "names as facilitator someone who was not")
        elif mid not in self.held:
            self.held[mid] = e.stamp
            self.recorded[mid] = holder

    def _exchange(self, a: str, b: str, then: dict[str, str]) -> None:
        self.moved[a], self.moved[b] = then[b], then[a]
        self.swapped |= {a, b}
        self.notes[a] = self.notes[b] = "swapped"

    def _swap_event(self, e: Event) -> None:
        b = e.body
        if e.kind == "rota.swapped":
            x, y = b["meeting_a"], b["meeting_b"]
            scheduled = lambda m: m in self.position and self.view.scheduled_when()[m] < e.stamp  # noqa: E731
            if not scheduled(x) or not scheduled(y) or x == y or self._was_held(x, e) or self._was_held(y, e):
                self.refused[e.id] = (e, "swaps turns that are not two different upcoming meetings")
                return
            then = self._then(e)
            if self.view.is_mentor_event(e):
                self._exchange(x, y, then)
            elif e.author not in (then[x], then[y]):
                self.refused[e.id] = (e, "swaps a turn its author does not hold")
            else:
                self.proposals[e.id] = e
            return
        p = self.proposals.get(b["swap"])
        if p is None:
            self.refused[e.id] = (e, "accepts no open swap")
            return
        x, y = p.body["meeting_a"], p.body["meeting_b"]
        then = self._then(e)
        mine, other = (x, y) if then[x] == p.author else (y, x) if then[y] == p.author else ("", "")
        if not mine or self._was_held(x, e) or self._was_held(y, e):
            self.refused[e.id] = (e, "the swap's author no longer holds either turn, or one was held")
        elif e.author != then[other]:
            self.refused[e.id] = (e, "only the holder of the other turn accepts a swap")
        else:
            self._exchange(x, y, then)
            del self.proposals[p.id]

    def _give_back(self, e: Event) -> None:
        x = e.body["meeting"]
        then = self._then(e)
        if x not in self.position or self.view.scheduled_when()[x] > e.stamp or self._was_held(x, e) or then[x] != e.author:
            self.refused[e.id] = (e, "gives back a turn its author does not hold")
            return
        later = self.meetings[self.position[x] + 1 :]
        y = next((m.id for m in later if not self._was_held(m.id, e) and then[m.id] and then[m.id] != e.author), None)
        name = self.names.get(e.author, "someone")
        if y is not None:
            self.moved[x], self.moved[y] = then[y], then[x]
            self.notes[x], self.notes[y] = f"{name} gave it back", "owed a turn"
            return
        settled = settled_at(self.view, self.meetings, self.held, x)
        t = settled if settled is not None else e.stamp
        excluded = self._excluded(x, t) | {e.author}
        ids = eligible_then(self.view, t)
        n = len(ids)
        i = ids.index(e.author) if e.author in ids else -1
        self.moved[x] = next((ids[(i + k) % n] for k in range(1, n + 1) if ids[(i + k) % n] not in excluded), "")
        self.notes[x] = f"{name} gave it back"
        if self.moved[x]:  # no later turn to take in exchange yet: the giver owes one
            self.debts.append((x, e.author, e.stamp))


def compute_rota(view: View) -> Rota:
    """The rota of a cohort, from its folded view (pure and deterministic)."""
    meetings = view.schedule()
    candidates = [e for e in view.held_candidates() if e.body["meeting"] in {m.id for m in meetings}]
    r = _Reference(view, meetings, candidates, view.rota_changes())
    for e, why in r.refused.values():
        view.late_refusal(e, why)
    turns = tuple(
        Turn(
            mt.id,
            mt.at,
            r.base[mt.id],
            r.recorded[mt.id] if mt.id in r.recorded else r.lines[mt.id][-1][1],
            mt.id in r.recorded,
            mt.id in r.swapped,
            r.notes.get(mt.id, ""),
        )
        for mt in meetings
    )
    return Rota(tuple(r.ids), turns, r.lines)
