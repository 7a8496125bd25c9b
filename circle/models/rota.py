"""The facilitator rota, derived from a cohort's events, with the checks only the rota can make.

Every device computes the same rota from the same set of events, in any
order: it reads only the folded :class:`~circle.models.view.View`, which is
itself order-independent, and breaks every tie by (lamport, author, id) or by
member id. Wrap-ups, swaps and give-backs are judged in that order, each
against the rota as it stood just before it (what the events before it in
that order give), so what is written later never rewrites a meeting already
held. It runs in time about linear in meetings, attendance marks and changes
(a swap with a meeting far ahead costs the blocks of meetings in between).

The rules, as people in a cohort expect them:

- Turns go round-robin over facilitator-eligible members (role ``peer``; if a
  cohort has none, its mentors) in the order they joined, from meeting to
  meeting by date; the round goes on after the last member who took a turn.
- A meeting's turn is settled when it, or a meeting dated after it, is first
  validly wrapped up: from then on it is what the round gave as it stood
  then. So a role changed, a member admitted, removed or away, or an apology
  sent after that leaves who was rostered for it, and whether they handed the
  role over, as it was. A meeting not settled goes with things as they are now.
- A member marked absent for a meeting (by themselves or a mentor), away or
  removed (as things stood, or stand) is skipped for that meeting and keeps no
  claim on it.
- A swap exchanges who holds two upcoming meetings' turns, as they stood when
  it took effect; what it moved stays. Its author must hold one of them; it
  takes effect when the holder of the other accepts (``rota.swap_accepted``),
  at once when a mentor swaps.
- A member who gives a turn back exchanges it with the next upcoming turn held
  by someone else: that person takes this meeting, the giver takes theirs.
  With none there yet, the next eligible member takes this meeting and the
  giver owes a turn: they take the first later turn held by someone else once
  there is one. Only the turn's holder gives it back.
- During a meeting the facilitator may hand the role to another member; a
  handoff counts only when its author held the role then (or is a mentor),
  and only to someone who was an active member then (for a meeting not held
  yet, who still is).
- A meeting is held when its facilitator then (or a mentor) wraps it up;
  a wrap-up that names someone else as facilitator does not count.

Changes that break a rule are reported to the view as held aside. What is
not settled this way: a meeting never wrapped up, dated before one that was,
may still be moved or cancelled, and the round still goes through it as the
schedule stands (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from circle.models.events import Event
    from circle.models.records import Meeting, Member
    from circle.models.view import View

ELIGIBLE_ROLE = "peer"
SUPERVISOR_ROLE = "mentor"
_START = (0, "", "")
_NOBODY: frozenset[str] = frozenset()
_INF = float("inf")
_INF_STAMP = (_INF, "", "")
_STAMP = attrgetter("lamport", "author", "id")  # Event.stamp, without the property's cost in the loops below
_BLOCK = 32  # meetings of the round jumped at once when a swap reaches well ahead (see _Sweep._ahead)
Stamp = tuple[int, str, str]


@dataclass(frozen=True)
class Turn:
    """Who holds one meeting's facilitator turn.

    Attributes:
        meeting: the meeting id.
        at: when the meeting is (ISO text), for display.
        member: the member whose turn it is ("" when nobody is eligible).
        facilitated_by: who held the role at the end (after handoffs), or as attested when held.
        held: whether the meeting has been marked held.
        swapped: whether a swap moved this turn.
        note: why the turn moved, in a few words ("" when it did not).
    """

    meeting: str
    at: str
    member: str
    facilitated_by: str
    held: bool
    swapped: bool = False
    note: str = ""


@dataclass(frozen=True)
class Rota:
    """The whole rota of a cohort: one turn per meeting that is not cancelled."""

    eligible: tuple[str, ...]
    turns: tuple[Turn, ...]
    timelines: dict[str, tuple[tuple[tuple[int, str, str], str], ...]] = field(default_factory=dict, compare=False, repr=False)
    wrapups: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # meeting -> the wrap-up event that counts

    def wrapup(self, meeting_id: str) -> str:
        """The id of the event that wrapped a meeting up ("" while it is not held)."""
        return self.wrapups.get(meeting_id, "")

    def turn(self, meeting_id: str) -> Turn | None:
        return self._index.get(meeting_id)

    @cached_property
    def _index(self) -> dict[str, Turn]:
        return {t.meeting: t for t in self.turns}

    def facilitator(self, meeting_id: str) -> str:
        """Who facilitates a meeting now (turn holder, then handoffs), or who did when it was held."""
        t = self.turn(meeting_id)
        return t.facilitated_by if t else ""

    def holder_at(self, meeting_id: str, stamp: tuple[int, str, str]) -> str:
        """Who held the meeting's facilitator role just before ``stamp`` (the turn holder, then each handoff)."""
        line = self.timelines.get(meeting_id)
        return _holder(line, stamp) if line else ""

    def is_held(self, meeting_id: str) -> bool:
        t = self.turn(meeting_id)
        return bool(t and t.held)

    def upcoming(self) -> list[Turn]:
        return [t for t in self.turns if not t.held]


def eligible_members(view: View) -> list[Member]:
    """Facilitator-eligible members in rota order (joined order, then id); removed ones included."""
    members = view.members(include_removed=True)
    peers = [m for m in members if m.role == ELIGIBLE_ROLE]
    return peers or [m for m in members if m.role == SUPERVISOR_ROLE]


def _eligible(roles: list[str]) -> tuple[int, ...]:
    """Positions (in joined order) of the facilitator-eligible, given each member's role then ("" before they joined)."""
    peers = tuple(i for i, r in enumerate(roles) if r == ELIGIBLE_ROLE)
    return peers or tuple(i for i, r in enumerate(roles) if r == SUPERVISOR_ROLE)


def _flags(spell: tuple[list[Stamp], list[bool]] | None, stamp: Stamp) -> bool:
    """The flag a member's spell of changes (stamps, flag after each) gave just before ``stamp`` (False before any)."""
    if spell is None:
        return False
    i = bisect_left(spell[0], stamp)
    return i > 0 and spell[1][i - 1]


class _Past:
    """What the round reads, as it stood just before any point of the (lamport, author, id) order.

    That is what the governance events that count, and the attendance marks
    the rota counts, before the point give: each member's role (an
    admission's, then each role change), whether they were an active member
    and whether away, and who had sent apologies for a meeting. Members are
    numbered in joined order, which never changes for a member, so a cycle is
    a sorted tuple of positions. The cycles are made once for the points asked
    for, in one walk over the role-setting events; a member's state at a point
    is a bisection; a meeting's marks are read once.
    """

    def __init__(self, view: View, points: Iterable[Stamp]) -> None:
        self.view = view
        members = view.members(include_removed=True)  # joined order, then id
        self.order = [m.id for m in members]
        self.names = {m.id: m.name for m in members}
        self.position = position = {mid: i for i, mid in enumerate(self.order)}
        self.now = tuple(position[m.id] for m in eligible_members(view))
        self.gone_now = frozenset(m.id for m in members if m.away or not m.active)
        self.removed_now = frozenset(m.id for m in members if not m.active)
        self.absent_now = {
            mid: {who for who, present in marks.items() if not present} for mid, marks in view.attendance_by_meeting(self_or_mentor=True).items()
        }
        roles: list[Event] = []
        self._active: dict[str, tuple[list[Stamp], list[bool]]] = {}  # member -> stamps of admissions and removals, and active after each
        self._away: dict[str, tuple[list[Stamp], list[bool]]] = {}
        for g in view.governance_events():
            b = g.body
            if g.kind == "member.admitted" or (g.kind == "member.updated" and "role" in b):
                roles.append(g)
            if g.kind in ("member.admitted", "member.removed"):
                spell = self._active.setdefault(b["member"], ([], []))
                spell[0].append(g.stamp)
                spell[1].append(g.kind == "member.admitted")
            if g.kind == "member.updated" and "away" in b:
                spell = self._away.setdefault(b["member"], ([], []))
                spell[0].append(g.stamp)
                spell[1].append(bool(b["away"]))
        self._stamps = [g.stamp for g in roles]
        self._changed = sorted(
            {*self._stamps, *(t for spell in self._active.values() for t in spell[0]), *(t for spell in self._away.values() for t in spell[0])}
        )
        self._versions: dict[int, int] = {}  # how many changes came before -> the number of that state of the roster
        self._states: dict[tuple[tuple[int, ...], frozenset[str]], int] = {}
        self._snapshots: dict[int, tuple[tuple[int, ...], frozenset[str]]] = {}
        self._cycles: dict[int, tuple[int, ...]] = {len(roles): self.now}
        wanted = sorted({bisect_left(self._stamps, p) for p in points} - self._cycles.keys())
        role = [""] * len(self.order)
        done = 0
        for upto in wanted:
            for g in roles[done:upto]:
                i = position[g.body["member"]]
                if g.kind == "member.admitted" or role[i]:  # a role change of someone not admitted yet changes nothing
                    role[i] = g.body["role"]
            done = upto
            self._cycles[upto] = _eligible(role)
        self._marks: dict[str, tuple[list[Stamp], list[tuple[Stamp, str, bool]]]] = {}  # meeting -> the marks the rota counts, in stamp order
        self._absent: dict[tuple[str, int], Set[str]] = {}  # (meeting, marks before the point) -> who was absent
        self._mark_span: dict[str, tuple[Stamp, Stamp]] = {}  # meeting -> its first and last mark (any author)

    def cycle(self, stamp: Stamp | None) -> tuple[int, ...]:
        """The eligible members (positions) just before ``stamp``; None: now."""
        return self.now if stamp is None else self._cycles[bisect_left(self._stamps, stamp)]

    def at(self, stamp: Stamp | None) -> tuple[tuple[int, ...], frozenset[str]]:
        """The cycle (positions), and who was away, removed or not yet admitted, just before ``stamp`` (None: now): made
        once for each state of the roster."""
        if stamp is None:
            return self.now, self.gone_now
        return self._snapshots[self.version(stamp)]

    def was_eligible(self, member_id: str, stamp: Stamp) -> bool:
        """Whether the member was in the cycle just before ``stamp`` (a point asked for when made)."""
        k = self.position.get(member_id)
        cycle = self.cycle(stamp)
        i = bisect_left(cycle, k) if k is not None else len(cycle)
        return i < len(cycle) and cycle[i] == k

    def was_active(self, member_id: str, stamp: Stamp) -> bool:
        """Whether the member was admitted, and not removed since, just before ``stamp``."""
        return _flags(self._active.get(member_id), stamp)

    def gone(self, member_id: str, stamp: Stamp | None) -> bool:
        """Whether the member was away, removed or not yet admitted just before ``stamp``; None: now."""
        if stamp is None:
            return member_id in self.gone_now
        return not self.was_active(member_id, stamp) or _flags(self._away.get(member_id), stamp)

    def absent(self, meeting_id: str, stamp: Stamp | None) -> Set[str]:
        """Who had sent apologies for a meeting just before ``stamp`` (their own latest mark, or a mentor's); None: now."""
        if stamp is None or meeting_id not in self.absent_now:  # nobody marked absent from it, ever
            return self.absent_now.get(meeting_id, _NOBODY)
        span = self._mark_span.get(meeting_id)
        if span is None:
            stamps = list(map(_STAMP, self.view.attendance_marks_unsorted(meeting_id)))
            span = self._mark_span[meeting_id] = (min(stamps), max(stamps))
        if span[1] < stamp:  # every mark came before: as now
            return self.absent_now[meeting_id]
        if stamp < span[0]:  # none yet
            return _NOBODY
        i = self.marks_before(meeting_id, stamp)
        key = (meeting_id, i)
        if key not in self._absent:
            latest = {who: present for _, who, present in self._marks[meeting_id][1][:i]}
            self._absent[key] = frozenset(who for who, present in latest.items() if not present)
        return self._absent[key]

    def marks_before(self, meeting_id: str, stamp: Stamp) -> int:
        """How many of the marks the rota counts for a meeting came before ``stamp`` (-1: nobody was ever marked absent)."""
        if meeting_id not in self.absent_now:
            return -1
        marks = self._marks.get(meeting_id)
        if marks is None:
            view = self.view
            counted = sorted(
                (_STAMP(e), e.body["member"], e.body["present"])
                for e in view.attendance_marks_unsorted(meeting_id)
                if e.author == e.body["member"] or view.is_mentor_event(e)
            )
            marks = self._marks[meeting_id] = ([m[0] for m in counted], counted)
        return bisect_left(marks[0], stamp)

    def version(self, stamp: Stamp) -> int:
        """Which state of the roster (roles, members, away) held just before ``stamp``: the same number for the same state
        (a member removed and admitted again in the same role gives the round back as it was)."""
        v = bisect_left(self._changed, stamp)
        number = self._versions.get(v)
        if number is None:
            snap = (self.cycle(stamp), frozenset(m for m in self.order if self.gone(m, stamp)))
            number = self._versions[v] = self._states.setdefault(snap, len(self._states))
            self._snapshots.setdefault(number, snap)
        return number


def _holder(line: tuple[tuple[tuple[int, str, str], str], ...], stamp: tuple[int, str, str]) -> str:
    if len(line) == 1:  # no handoff: the turn holder throughout
        return line[0][1]
    i = bisect_left(line, (stamp, ""))
    return line[max(i - 1, 0)][1]


class _Sweep:
    """The rota worked out in one pass over the cohort's wrap-ups, swaps and give-backs, in (lamport, author, id) order,
    each judged against the rota as it stood just before it.

    The round goes over the meetings by date. A meeting's turn is settled
    when it, or a meeting dated after it, is first validly wrapped up: from
    then on it is what the round gave as it stood then (the peers then,
    who was away, removed or had sent apologies then). Settled meetings are a
    prefix of the round that only grows, each extension worked out once; a
    question about a meeting past it works the round out from there as it
    stands at that point, as far as that meeting (the next few turns, as a
    rule). A swap or give-back moves turns as they stood when it was made;
    what it moved stays with whom it was moved to (``moved``).
    """

    def __init__(self, view: View, meetings: list[Meeting], past: _Past, candidates: list[Event], changes: list[Event]) -> None:
        self.view = view
        self.meetings = meetings
        self.past = past
        self.names = past.names
        self.backdated = view.backdated()
        self.created = view.scheduled_when()
        self.position = {m.id: i for i, m in enumerate(meetings)}
        self.chain = [m for m in meetings if m.id not in self.backdated]  # the round, by date
        self.chain_at = {m.id: i for i, m in enumerate(self.chain)}
        self.prefix = 0  # self.chain[:prefix] is settled
        self.last = -1  # the position (joined order) of the last member who took a turn in the settled prefix
        self.rr: dict[str, str] = {}  # each meeting's turn from the round (a back-dated one's: its scheduler's)
        self.settled: dict[str, Stamp] = {}  # meetings of the settled prefix -> when they settled
        self.held: dict[str, Stamp] = {}  # meeting -> its counting wrap-up's stamp
        self.recorded: dict[str, str] = {}  # meeting -> who held the role at that wrap-up
        self.wrapups: dict[str, str] = {}
        self.moved: dict[str, str] = {}
        self.swapped: set[str] = set()
        self.notes: dict[str, str] = {}
        self.refused: dict[str, tuple[Event, str]] = {}
        self.handoffs: dict[str, list[Event]] = {}
        self.handed: dict[tuple[str, str], Stamp] = {}  # (meeting, member) -> the first handoff to them (valid or not)
        for e in view.handoffs():  # stamp order
            self.handoffs.setdefault(e.body["meeting"], []).append(e)
            self.handed.setdefault((e.body["meeting"], e.body["to"]), e.stamp)
        self._proposals: dict[str, Event] = {}
        self._block_bounds: dict[int, tuple[Stamp, float, float]] = {}  # see _bounds
        self._worked: tuple[Stamp, int, list[tuple[str, int, str]]] = (_START, -1, [])  # see _then, _settle
        self._debts: list[tuple[str, str, Stamp]] = []  # (meeting given back, who gave it, when): see _pay_debts
        self._paid: set[str] = set()  # turns a debt was paid with
        self._blocks: dict[tuple[int, int], dict[int, int]] = {}  # see _jump
        for e in sorted([*candidates, *changes], key=_STAMP):
            if e.kind == "meeting.held":
                self._wrap_up(e)
            elif e.kind == "rota.given_back":
                self._give_back(e)
            else:
                self._swap_event(e)
        self._finish()

    # ---- the round -------------------------------------------------------
    def _out(self, mid: str, who: str, stamp: Stamp | None) -> bool:
        """Whether ``who`` is skipped for meeting ``mid`` as it stood just before ``stamp`` (None: now): absent from it, away or removed."""
        return who in self.past.at(stamp)[1] or who in self.past.absent(mid, stamp)

    def _pick(self, mid: str, last: int, stamp: Stamp | None) -> tuple[str, int, str]:
        """The round's pick for a meeting, going on after position ``last``, as it stood just before ``stamp`` (None: now);
        the new last; and the first member skipped ("" if none)."""
        cycle, gone = self.past.at(stamp)
        absent = self.past.absent(mid, stamp)
        order = self.past.order
        n = len(cycle)
        start = bisect_right(cycle, last)
        skipped = ""
        for step in range(n):
            k = cycle[(start + step) % n]
            cand = order[k]
            if cand in gone or cand in absent:
                skipped = skipped or cand
                continue
            return cand, k, skipped
        return "", last, skipped

    def _take(self, m: str, step: tuple[str, int, str]) -> None:
        """Meeting ``m`` of the round settles with ``step`` (its pick, the new last, who was skipped first)."""
        self.rr[m], self.last, skipped = step
        if skipped:
            self.notes.setdefault(m, f"{self.names[skipped]} skipped")

    def _settle(self, mid: str, stamp: Stamp) -> None:
        """A wrap-up of ``mid`` counts: it, and every meeting of the round before it not settled yet, settle as they stand now."""
        if mid in self.backdated:
            creator = self.meetings[self.position[mid]].creator
            self.rr[mid] = "" if self._out(mid, creator, stamp) else creator
            return
        worked = self._worked[2] if self._worked[:2] == (stamp, self.prefix) else []  # as judging it just worked them out
        upto = self.chain_at[mid] + 1
        for j in range(upto - self.prefix):  # none if a meeting after it settled it already
            i = self.prefix + j
            self._take(self.chain[i].id, worked[j] if j < len(worked) else self._step(i, self.last, stamp))
            self.settled[self.chain[i].id] = stamp
        self.prefix = max(self.prefix, upto)

    def _then(self, stamp: Stamp) -> Callable[[str], str]:
        """Who held each meeting's turn just before ``stamp``: a turn moved already, else the round as it stood then.

        Meetings settled before ``stamp`` are as the round has them; from the
        first one that was not, the round is worked out again as it stood
        then, as far as asked: step by step for the next few turns, jumping
        blocks of :data:`_BLOCK` meetings (:meth:`_ahead`) for one further ahead.
        """
        steps: list[tuple[str, int, str]] = []  # the round from the first meeting not settled, as far as worked out
        self._worked = (stamp, self.prefix, steps)
        version = self.past.version(stamp)
        far: dict[int, str] = {}

        def holder(mid: str) -> str:
            if self.created[mid] > stamp:  # not scheduled yet
                return ""
            if mid in self.moved:
                return self.moved[mid]
            if mid in self.rr:  # settled
                return self.rr[mid]
            if mid in self.backdated:  # its scheduler's, unless they were out of it then
                creator = self.meetings[self.position[mid]].creator
                return "" if self._out(mid, creator, stamp) else creator
            i = self.chain_at[mid]
            last = steps[-1][1] if steps else self.last
            if i - self.prefix - len(steps) > 2 * _BLOCK:  # well ahead: by blocks, from as far as worked out
                if i not in far:
                    far[i] = self._ahead(self.prefix + len(steps), last, i, stamp, version)
                return far[i]
            while len(steps) <= i - self.prefix:
                steps.append(self._step(self.prefix + len(steps), last, stamp))
                last = steps[-1][1]
            return steps[i - self.prefix][0]

        if self._debts:
            self._pay_debts(holder, stamp)
        return holder

    def _pay_debts(self, holder: Callable[[str], str], stamp: Stamp | None) -> None:
        """Turns owed by members who gave one back when no later turn was there to take in exchange (:meth:`_give_back`):
        each giver takes the first later turn held by someone else there is now (not back-dated, not held before the
        give-back), in the order the turns were given back; what is taken so is moved for good."""
        for d in list(self._debts):
            x, giver, given = d
            later = (self.meetings[i].id for i in range(self.position[x] + 1, len(self.meetings)))
            y = next(
                (
                    m
                    for m in later
                    if m not in self.backdated and m not in self._paid and not self.held.get(m, _INF_STAMP) < given and holder(m) not in ("", giver)
                ),
                None,
            )
            if y is not None:
                self.moved[y] = giver
                self.notes[y] = "owed a turn"
                self._paid.add(y)
                if stamp is not None:  # at the end the turns are read as they stand: nothing more to keep
                    self._debts.remove(d)

    def _step(self, i: int, last: int, stamp: Stamp) -> tuple[str, int, str]:
        """The round's pick for the ``i``-th meeting of the round, going on after ``last``, as it stood just before ``stamp``."""
        m = self.chain[i].id
        if self.created[m] > stamp:  # not in the round yet
            return "", last, ""
        return self._pick(m, last, stamp)

    def _bounds(self, b: int) -> tuple[Stamp, float, float]:
        """When the ``b``-th block of meetings of the round was all scheduled; the lowest and highest clock of a mark for them."""
        bounds = self._block_bounds.get(b)
        if bounds is None:
            block = self.chain[b * _BLOCK : (b + 1) * _BLOCK]
            clocks = [e.lamport for mt in block for e in self.view.attendance_marks_unsorted(mt.id)]
            bounds = self._block_bounds[b] = (max(self.created[mt.id] for mt in block), min(clocks, default=_INF), max(clocks, default=-_INF))
        return bounds

    def _jump(self, b: int, last: int, stamp: Stamp, version: int, live: list[int]) -> int:
        """Where the round leaves the ``b``-th block of meetings, entering it after ``last``, as it stood just before ``stamp``.

        A block all scheduled, with no mark for any of its meetings yet, goes
        simply round the members who were not away or removed: at once. One
        whose marks all came before is worked out meeting by meeting once for
        each place it is entered at, in each state of the roster. Any other
        (not all scheduled yet, or marked partly before and partly after), meeting by meeting.
        """
        scheduled, first, newest = self._bounds(b)
        if scheduled < stamp and stamp[0] < first:
            return live[(bisect_right(live, last) + _BLOCK - 1) % len(live)] if live else last
        exits = self._blocks.setdefault((b, version), {}) if scheduled < stamp and newest < stamp[0] else {}
        if last not in exits:
            state = last
            for i in range(b * _BLOCK, (b + 1) * _BLOCK):
                state = self._step(i, state, stamp)[1]
            exits[last] = state
        return exits[last]

    def _ahead(self, i: int, last: int, target: int, stamp: Stamp, version: int) -> str:
        """The pick for the ``target``-th meeting of the round, going on from the ``i``-th after ``last``, as it stood then.

        Whole blocks on the way are jumped (:meth:`_jump`).
        """
        cycle, gone = self.past.at(stamp)
        live = [k for k in cycle if self.past.order[k] not in gone]
        while i < target:
            if i % _BLOCK == 0 and i + _BLOCK <= target:  # a whole block before the target
                last = self._jump(i // _BLOCK, last, stamp, version, live)
                i += _BLOCK
            else:
                last = self._step(i, last, stamp)[1]
                i += 1
        return self._step(target, last, stamp)[0]

    def _line(self, mid: str, start: str, held: bool, upto: Stamp | None = None) -> list[tuple[Stamp, str]]:
        """Who held the role from when: ``start``, then each valid handoff (before ``upto``)."""
        holder = start
        line = [(_START, holder)]
        for e in self.handoffs.get(mid, ()):
            if upto is not None and e.stamp >= upto:
                break
            to = e.body["to"]
            if not self.past.was_active(to, e.stamp) or (not held and to in self.past.removed_now):  # one removed since leads no meeting to come
                if upto is None:
                    self._refuse(e, "hands the role to someone who is not an active member")
            elif e.author == holder or self.view.is_mentor_event(e):
                holder = to
                line.append((e.stamp, holder))
            elif upto is None:
                self._refuse(e, "hands over a role its author did not hold")
        return line

    def _refuse(self, e: Event, why: str) -> None:
        self.refused[e.id] = (e, why)

    def _was_held(self, mid: str, e: Event) -> bool:
        """Whether meeting ``mid`` had been wrapped up before ``e`` (its turn can no longer change)."""
        return mid in self.held and self.held[mid] < e.stamp

    def _upcoming(self, mid: str, e: Event) -> bool:
        """Whether meeting ``mid`` was scheduled, and not wrapped up, before ``e``."""
        return mid in self.position and self.created[mid] < e.stamp and not self._was_held(mid, e)

    # ---- what is judged in order -----------------------------------------
    def _wrap_up(self, e: Event) -> None:
        mid, stamp = e.body["meeting"], _STAMP(e)
        mentor = self.view.is_mentor_event(e)
        then = self._then(stamp)
        unsettled = mid not in self.moved and mid not in self.rr and mid not in self.backdated
        if unsettled and not mentor and not self.past.was_eligible(e.author, stamp) and not self.handed.get((mid, e.author), stamp) < stamp:
            self._refuse(e, "only the meeting's facilitator, or a mentor, wraps it up")  # the round could not have given it them
            return
        holder = self._line(mid, then(mid), held=True, upto=stamp)[-1][1]
        if e.author != holder and not mentor:
            self._refuse(e, "only the meeting's facilitator, or a mentor, wraps it up")
        elif e.body.get("facilitator") and e.body["facilitator"] != holder:
            self._refuse(e, "names as facilitator someone who was not")
        elif mid not in self.held:
            self.held[mid] = stamp
            self.recorded[mid] = holder  # history is who held the role when the meeting was wrapped up
            self.wrapups[mid] = e.id
            self._settle(mid, stamp)

    def _exchange(self, a: str, b: str, then: Callable[[str], str]) -> None:
        self.moved[a], self.moved[b] = then(b), then(a)
        self.swapped |= {a, b}
        self.notes[a] = self.notes[b] = "swapped"

    def _swap_event(self, e: Event) -> None:
        b = e.body
        if e.kind == "rota.swapped":
            x, y = b["meeting_a"], b["meeting_b"]
            if not self._upcoming(x, e) or not self._upcoming(y, e) or x == y:
                self._refuse(e, "swaps turns that are not two different upcoming meetings")
                return
            then = self._then(e.stamp)
            if self.view.is_mentor_event(e):
                self._exchange(x, y, then)
            elif e.author not in (then(x), then(y)):
                self._refuse(e, "swaps a turn its author does not hold")
            else:
                self._proposals[e.id] = e
        else:  # rota.swap_accepted
            p = self._proposals.get(b["swap"])
            if p is None:
                self._refuse(e, "accepts no open swap")
                return
            x, y = p.body["meeting_a"], p.body["meeting_b"]
            then = self._then(e.stamp)
            mine, other = (x, y) if then(x) == p.author else (y, x) if then(y) == p.author else ("", "")
            if not mine or self._was_held(x, e) or self._was_held(y, e):
                self._refuse(e, "the swap's author no longer holds either turn, or one was held")
            elif e.author != then(other):
                self._refuse(e, "only the holder of the other turn accepts a swap")
            else:
                self._exchange(x, y, then)
                del self._proposals[p.id]

    def _give_back(self, e: Event) -> None:
        x = e.body["meeting"]
        then = self._then(e.stamp)
        if not self._upcoming(x, e) or then(x) != e.author:
            self._refuse(e, "gives back a turn its author does not hold")
            return
        # Walk on from x without copying the rest of the schedule: the next other holder is usually a turn or two away.
        later = (self.meetings[i].id for i in range(self.position[x] + 1, len(self.meetings)))
        y = next((mid for mid in later if not self._was_held(mid, e) and then(mid) not in ("", e.author)), None)  # an upcoming turn
        name = self.names.get(e.author, "someone")
        if y is not None:
            self.moved[x], self.moved[y] = then(y), e.author
            self.notes[x], self.notes[y] = f"{name} gave it back", "owed a turn"
            return
        t = self.settled.get(x, e.stamp)  # settled (by a wrap-up of a meeting after it): as it stood then
        ids = [self.past.order[k] for k in self.past.cycle(t)]
        n = len(ids)
        i = ids.index(e.author) if e.author in ids else -1
        self.moved[x] = next((ids[(i + k) % n] for k in range(1, n + 1) if ids[(i + k) % n] != e.author and not self._out(x, ids[(i + k) % n], t)), "")
        self.notes[x] = f"{name} gave it back"
        if self.moved[x]:  # no later turn to take in exchange yet: the giver owes one (see _pay_debts)
            self._debts.append((x, e.author, _STAMP(e)))

    def _finish(self) -> None:
        """The meetings not settled go round as things stand now; then every meeting's holder from the start, and handoffs."""
        for i in range(self.prefix, len(self.chain)):
            self._take(self.chain[i].id, self._pick(self.chain[i].id, self.last, None))
        for mt in self.meetings:
            if mt.id in self.backdated:  # its scheduler's; the round goes on without it
                if mt.id not in self.rr:
                    self.rr[mt.id] = "" if self._out(mt.id, mt.creator, None) else mt.creator
                self.notes.setdefault(mt.id, "dated before meetings already held")
        self._pay_debts(lambda mid: self.moved.get(mid, self.rr[mid]), None)
        self.base = {m.id: self.moved.get(m.id, self.rr[m.id]) for m in self.meetings}
        self.lines = {m.id: tuple(self._line(m.id, self.base[m.id], m.id in self.held)) for m in self.meetings}


def compute_rota(view: View) -> Rota:
    """The rota of a cohort, from its folded view (pure and deterministic): see :class:`_Sweep`."""
    meetings = view.schedule()
    scheduled = {m.id for m in meetings}  # once, not once per wrap-up (that was quadratic in meetings)
    candidates = [e for e in view.held_candidates() if e.body["meeting"] in scheduled]
    changes = view.rota_changes()
    past = _Past(view, [*(e.stamp for e in candidates), *(e.stamp for e in changes)])  # as it stood at every wrap-up, swap and give-back
    sweep = _Sweep(view, meetings, past, candidates, changes)
    for e, why in sweep.refused.values():
        view.late_refusal(e, why)
    turns = tuple(
        Turn(
            mt.id,
            mt.at,
            sweep.base[mt.id],
            sweep.recorded[mt.id] if mt.id in sweep.recorded else sweep.lines[mt.id][-1][1],  # nobody, if nobody held it then
            mt.id in sweep.recorded,
            mt.id in sweep.swapped,
            sweep.notes.get(mt.id, ""),
        )
        for mt in meetings
    )
    return Rota(tuple(past.order[k] for k in past.now), turns, sweep.lines, sweep.wrapups)
