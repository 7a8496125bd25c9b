"""What an export holds, read from the shared view once: plain, cleaned data that every format renders.

Privacy by construction: the only input is the cohort's folded :class:`View`
(what every member's device shows) plus counts of what was left out. Self
notes are never folded into a view, so they cannot reach an export; only
their number, handed in by the caller, is named in the manifest. Private
goals live in the one-on-one channel between their owner and mentor, never in
the view; only the number of the exporter's own is named. Events the
fold held aside are never folded either; only their number is named.
Anonymous-round lines come from the view as texts without authors, and are
counted unless the exporter asks for their text.

Every string a member wrote is cleaned here (:func:`circle.models.text.clean`),
once: control characters become visible placeholders before any format sees
them. Each format then escapes what is special to it (Markdown, HTML, CSV, PDF).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from circle.errors import NotFound, UsageError
from circle.export.agreement import AgreementSection, build_agreement
from circle.export.credits import CreditsSection, build_credits
from circle.export.goals import GoalsSection, build_goals
from circle.models.events import Elsewhere, said
from circle.models.records import Meeting
from circle.models.rota import Rota
from circle.models.text import clean, clean_name
from circle.models.view import View
from circle.store.texts import Unreadable

SCHEMA_ID = "circle-export/1"
ROLE_NAMES = {"mentor": "supervising mentor", "peer": "facilitator-eligible peer", "participant": "participant"}
OUTCOMES = ("done", "carried", "open")

# What circle does not record yet, named in every manifest rather than invented.
NOT_IN_THIS_VERSION = (("private_channels", "Private mentor-mentee channels (dyads) and self notes: never exported, in this version or any other."),)

Progress = Callable[[int, int], None]


def _name(text: str) -> str:
    return clean_name(text)


def _line(text: str) -> str:
    return clean(text)


def _block(text: str) -> str:
    return clean(text, multiline=True)


def _said(text: str) -> str:
    """A note's text cleaned, or the line for one not read back from its journal kept as it is (``write`` refuses it)."""
    return text if isinstance(text, Unreadable) else _block(text)


@dataclass(frozen=True)
class Charter:
    name: str
    purpose: str
    cadence: str
    meeting_minutes: int
    confidentiality: str
    feedback_norms: str


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    profession: str
    away: bool


@dataclass(frozen=True)
class NoteRecord:
    """A note in an export. Its words are read back from their journal (and cleaned) each time ``text`` is asked for,
    not held: a whole history's notes are most of its export (80k notes, +105 MiB at 100k events)."""

    author: str
    text_held: str | Elsewhere = field(repr=False)  # the text as the view holds it (its words, or where they are left)
    kind: str  # note or decision
    item: str  # the agenda item's title ("" for the meeting as a whole)

    @property
    def text(self) -> str:
        """The note's words, cleaned; the line for one that could not be read back, as it is (``write`` refuses it)."""
        return note_text(self.text_held)


_reading: ContextVar[Callable[[], None] | None] = ContextVar("reading", default=None)


def note_text(held: str | Elsewhere) -> str:
    """A note's text as an export writes it, from the text as held (:attr:`NoteRecord.text_held`)."""
    text = _said(said(held))
    tick = _reading.get()
    if tick is not None:
        tick()
    return text


@contextmanager
def counting_notes(tick: Callable[[], None]) -> Iterator[None]:
    """Call ``tick`` for each note's text read in this thread meanwhile: writing an export is mostly that (a progress bar)."""
    token = _reading.set(tick)
    try:
        yield
    finally:
        _reading.reset(token)


@dataclass(frozen=True)
class ItemRecord:
    id: str
    title: str
    owner: str
    minutes: int
    outcome: str  # done, carried (picked up by a later meeting), open
    carried_in: bool  # carried over from an earlier meeting or action
    notes: tuple[NoteRecord, ...] = ()


@dataclass(frozen=True)
class ActionRecord:
    id: str
    meeting: str  # meeting id
    meeting_at: str
    title: str
    owner: str
    due: str
    status: str  # open, done, dropped


@dataclass(frozen=True)
class MeetingRecord:
    id: str
    at: str
    title: str
    minutes: int
    state: str  # held, upcoming, cancelled
    facilitator: str
    present: tuple[str, ...]
    absent: tuple[str, ...]
    unmarked: tuple[str, ...]
    items: tuple[ItemRecord, ...]
    decisions: tuple[NoteRecord, ...]
    notes: tuple[NoteRecord, ...]  # every note and decision, in the order they were written
    actions: tuple[ActionRecord, ...]
    anonymous_count: int
    anonymous_lines: tuple[str, ...]  # empty unless the exporter asked for them


@dataclass(frozen=True)
class TurnRecord:
    meeting: str
    at: str
    rostered: str
    facilitated_by: str
    held: bool
    note: str


@dataclass(frozen=True)
class AttendanceRecord:
    member: str  # member id
    name: str
    role: str
    profession: str
    held: int  # meetings held in the period while they were a member
    present: int
    absent: int
    unmarked: int
    minutes_present: int  # the scheduled length of the meetings they attended
    facilitated: int
    attended: tuple[str, ...]  # dates of the meetings attended


@dataclass(frozen=True)
class Omission:
    key: str
    count: int
    text: str


@dataclass(frozen=True)
class Summary:
    """One export: a cohort summary for a period, or one meeting's minutes (``kind == "minutes"``)."""

    kind: str
    cohort_id: str
    charter: Charter
    generated_at: str  # ISO 8601, UTC
    exporter: str
    period_from: str
    period_to: str
    members: tuple[Person, ...]
    meetings: tuple[MeetingRecord, ...]
    rota: tuple[TurnRecord, ...]
    open_actions: tuple[ActionRecord, ...]
    attendance: tuple[AttendanceRecord, ...]
    left_out: tuple[Omission, ...]
    not_in_this_version: tuple[Omission, ...] = field(default_factory=lambda: tuple(Omission(k, 0, t) for k, t in NOT_IN_THIS_VERSION))
    credits: CreditsSection | None = None  # a summary's (None in one meeting's minutes)
    agreement: AgreementSection | None = None  # the charter agreement as of the export (None: minutes, or none proposed yet)
    goals: GoalsSection | None = None  # the goals shared with the cohort (None in one meeting's minutes)

    @property
    def held(self) -> tuple[MeetingRecord, ...]:
        return tuple(m for m in self.meetings if m.state == "held")

    @property
    def title(self) -> str:
        if self.kind == "minutes" and self.meetings:
            m = self.meetings[0]
            return f"Minutes: {self.charter.name}, {m.at}"
        return f"{self.charter.name}: cohort summary"

    @property
    def period(self) -> str:
        """The period in words."""
        if self.kind == "minutes":
            return self.meetings[0].at[:10] if self.meetings else ""
        if self.period_from and self.period_to:
            return f"{self.period_from} to {self.period_to}"
        if self.period_from:
            return f"from {self.period_from}"
        if self.period_to:
            return f"up to {self.period_to}"
        return "every meeting"


def parse_day(value: str | None, what: str) -> str:
    """A ``YYYY-MM-DD`` day as typed, checked ("" for none)."""
    if not value:
        return ""
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise UsageError(f"the {what} date is not a date", "write it as YYYY-MM-DD, for example 2025-01-31") from None


def find_meeting(view: View, ref: str) -> Meeting:
    """A meeting by id prefix or by its date (``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM``); the error lists the meetings."""
    ref = ref.strip()
    meetings = view.meetings()
    hits = [m for m in meetings if m.id.startswith(ref.lower())] if ref else []
    if not hits and ref:
        hits = [m for m in meetings if m.at.startswith(ref.replace("T", " "))]
    if len(hits) == 1:
        return hits[0]
    listing = "; ".join(f"{m.id[:8]} {m.at}" for m in meetings[-12:]) or "none yet"
    if not hits:
        raise NotFound("no such meeting", f"give a meeting id prefix or its date; meetings: {listing}")
    raise UsageError("several meetings match", "give more of the id: " + "; ".join(f"{m.id[:8]} {m.at}" for m in hits[:12]))


def meeting_list(view: View) -> list[tuple[str, str, str, str]]:
    """Every meeting as (short id, date and time, state, title) for a listing, oldest first; titles cleaned."""
    out = []
    for m in view.meetings():
        state = "cancelled" if m.cancelled else ("held" if m.held else "upcoming")
        out.append((m.id[:8], m.at, state, _line(m.title) or "Meeting"))
    return out


def build(
    view: View,
    *,
    generated_at: float,
    exporter: str,
    self_notes: int = 0,
    private_goals: int = 0,
    period_from: str = "",
    period_to: str = "",
    meeting: str = "",
    anonymous: bool = False,
    rota: Rota | None = None,
    progress: Progress | None = None,
    unsaid_before: int = 0,
) -> Summary:
    """Read an export from a folded view. The caller holds the cohort's lock.

    Args:
        view: the cohort's shared view (never self notes, never held-aside events).
        generated_at: when (the session's clock, seconds since the epoch).
        exporter: the exporting identity's name.
        self_notes: how many private notes the exporter keeps for this cohort (counted, never read).
        private_goals: how many private goals the exporter owns in their channels (counted, never read).
        period_from: first day included (``YYYY-MM-DD``, "" for the beginning).
        period_to: last day included ("" for no end).
        meeting: one meeting's id (minutes); overrides the period.
        anonymous: include the anonymous round's texts (never their authors).
        rota: the cohort's rota if the caller has it (else it is computed).
        progress: called with (meetings read, meetings to read).
        unsaid_before: a clock before which the exporter's device reads only the roster (it joined a cohort that shows
            newcomers no history; 0 when it reads everything): meetings scheduled before it are named as such.
    """
    if period_from and period_to and period_from > period_to:
        raise UsageError("the period ends before it starts", "give --from before --to")
    rota = rota or view.rota()
    c = view.cohort()
    charter = Charter(_name(c.name), _block(c.purpose), _line(c.cadence), c.meeting_minutes, _block(c.confidentiality), _block(c.feedback_norms))
    everyone = view.members(include_removed=True)
    names = {m.id: _name(m.name) for m in everyone}
    name_of = lambda mid: names.get(mid, "someone") if mid else ""  # noqa: E731
    all_meetings = view.meetings()
    if meeting:
        chosen = [m for m in all_meetings if m.id == meeting]
        if not chosen:
            raise NotFound("no such meeting", "pick one from the cohort's meetings")
    else:
        chosen = [m for m in all_meetings if (not period_from or m.at[:10] >= period_from) and (not period_to or m.at[:10] <= period_to)]
    chosen_ids = {m.id for m in chosen}
    at_of = {m.id: m.at for m in all_meetings}

    all_items = view.agenda()
    picked_up = {i.carried_from for i in all_items if i.carried_from}
    items_by_meeting: dict[str, list] = {}
    for i in all_items:
        items_by_meeting.setdefault(i.meeting, []).append(i)
    all_actions = view.actions()
    actions_by_meeting: dict[str, list[ActionRecord]] = {}
    action_records = []
    for a in all_actions:
        rec = ActionRecord(a.id, a.meeting, at_of.get(a.meeting, ""), _line(a.title), name_of(a.owner), _line(a.due), a.status)
        action_records.append(rec)
        actions_by_meeting.setdefault(a.meeting, []).append(rec)

    active = [m for m in everyone if m.active]
    records = []
    anon_total = 0
    for n, m in enumerate(chosen):
        if progress is not None:
            progress(n, len(chosen))
        state = "cancelled" if m.cancelled else ("held" if m.held else "upcoming")
        marks = view.attendance(m.id)
        present = tuple(sorted((name_of(k) for k, v in marks.items() if v), key=str.casefold))
        absent = tuple(sorted((name_of(k) for k, v in marks.items() if not v), key=str.casefold))
        unmarked: tuple[str, ...] = ()
        if state == "held":
            unmarked = tuple(sorted((names[p.id] for p in active if p.id not in marks and p.joined_lamport <= m.lamport), key=str.casefold))
        titles = {i.id: _line(i.title) for i in items_by_meeting.get(m.id, [])}
        raw_notes = view.notes(m.id)
        notes = tuple(NoteRecord(name_of(x.author), x.held, x.kind, titles.get(x.item, "") if x.item else "") for x in raw_notes)
        items = []
        for i in items_by_meeting.get(m.id, []):
            outcome = "done" if i.status == "done" else ("carried" if i.status == "carried" or i.id in picked_up else "open")
            on_item = tuple(x for x, raw in zip(notes, raw_notes, strict=True) if raw.item == i.id)
            items.append(ItemRecord(i.id, titles[i.id], name_of(i.owner), i.minutes, outcome, bool(i.carried_from), on_item))
        lines = view.anonymous_lines(m.id)
        anon_total += len(lines)
        records.append(
            MeetingRecord(
                m.id,
                m.at,
                _line(m.title),
                m.minutes,
                state,
                name_of(rota.facilitator(m.id)) if not m.cancelled else "",
                present,
                absent,
                unmarked,
                tuple(items),
                tuple(x for x in notes if x.kind == "decision"),
                notes,
                tuple(actions_by_meeting.get(m.id, [])),
                len(lines),
                tuple(_line(t) for t in lines) if anonymous else (),
            )
        )
    if progress is not None:
        progress(len(chosen), len(chosen))

    turns = tuple(
        TurnRecord(t.meeting, t.at, name_of(t.member), name_of(t.facilitated_by), t.held, _line(t.note)) for t in rota.turns if t.meeting in chosen_ids
    )
    last_day = max((m.at for m in chosen), default="")
    open_actions = tuple(a for a in action_records if a.status == "open" and (meeting or not period_to or a.meeting_at <= last_day or a.meeting in chosen_ids))
    if meeting:
        open_actions = tuple(a for a in open_actions if a.meeting_at <= at_of[meeting])

    held = [r for r in records if r.state == "held"]
    facilitated: dict[str, int] = {}
    for t in rota.turns:
        if t.held and t.facilitated_by and t.meeting in chosen_ids:
            facilitated[t.facilitated_by] = facilitated.get(t.facilitated_by, 0) + 1
    lamport_of = {m.id: m.lamport for m in chosen}
    attendance = []
    for p in everyone:
        marks_p = [(r, view.attendance(r.id).get(p.id)) for r in held]
        member_then = [(r, mk) for r, mk in marks_p if mk is not None or (p.active and p.joined_lamport <= lamport_of[r.id])]
        if not p.active and not any(mk is not None for _, mk in member_then):
            continue
        attended = [r for r, mk in member_then if mk]
        attendance.append(
            AttendanceRecord(
                p.id,
                names[p.id],
                p.role,
                _line(p.profession),
                len(member_then),
                len(attended),
                sum(1 for _, mk in member_then if mk is False),
                sum(1 for _, mk in member_then if mk is None),
                sum(r.minutes for r in attended),
                facilitated.get(p.id, 0),
                tuple(r.at[:10] for r in attended),
            )
        )

    removed = sum(1 for p in everyone if not p.active)
    refused = len(view.refused())
    waiting = len(view.waiting())
    outside = len(all_meetings) - len(chosen)
    left_out = [
        Omission(
            "self_notes", self_notes, f"{_count(self_notes, 'private note', 'private notes')} of yours not included: private notes never leave their author."
        ),
        Omission(
            "private_goals",
            private_goals,
            f"{_count(private_goals, 'private goal', 'private goals')} of yours not included: private goals stay between you and your mentor.",
        ),
        Omission(
            "held_aside", refused, f"{_count(refused, 'event', 'events')} held aside by the cohort's rules not included: the fold refused them on every device."
        ),
    ]
    if waiting:
        left_out.append(Omission("waiting", waiting, f"{_count(waiting, 'change', 'changes')} to the roster still waiting for events it cites not included."))
    if anonymous:
        left_out.append(
            Omission(
                "anonymous_authors",
                anon_total,
                f"{_count(anon_total, 'anonymous-round line', 'anonymous-round lines')} included as text only, without their authors: exports never say who wrote them.",
            )
        )
    else:
        left_out.append(
            Omission(
                "anonymous_lines",
                anon_total,
                f"{_count(anon_total, 'anonymous-round line', 'anonymous-round lines')} counted, text not included (the exporter may ask for the text; exports never say who wrote them).",
            )
        )
    unsaid = sum(1 for m in chosen if m.lamport < unsaid_before)
    if unsaid:
        left_out.append(
            Omission(
                "before_joining",
                unsaid,
                f"{_count(unsaid, 'meeting', 'meetings')} from before the exporter joined included without what was said in them (agenda, notes,"
                " decisions, actions): the cohort shows newcomers only the roster, meetings and attendance of its earlier history.",
            )
        )
    if outside:
        what = ("other meeting", "other meetings") if meeting else ("meeting outside the period", "meetings outside the period")
        left_out.append(Omission("other_meetings", outside, f"{_count(outside, *what)} not included."))
    if removed:
        left_out.append(
            Omission(
                "former_members",
                removed,
                f"{_count(removed, 'former member', 'former members')} not in the roster; their past attendance and notes stay under their name.",
            )
        )

    credits = agreement = goals = None
    if not meeting:
        in_period = lambda at: (not period_from or at[:10] >= period_from) and (not period_to or at[:10] <= period_to)  # noqa: E731 - as meetings are chosen
        this_year = dt.datetime.fromtimestamp(generated_at, dt.UTC).year
        chosen_years = [int(m.at[:4]) for m in chosen]
        first = int(period_from[:4]) if period_from else min(chosen_years, default=this_year)
        last = int(period_to[:4]) if period_to else max([*chosen_years, this_year])
        reported = [p.id for p in everyone if p.active or any(a.member == p.id for a in attendance)]
        credits = build_credits(view, in_period=in_period, years=range(first, max(first, last) + 1), members=reported, name_of=name_of)
        agreement = build_agreement(view, name_of=name_of)
        goals = build_goals(view, in_period=in_period, period_to=period_to, name_of=name_of)

    return Summary(
        kind="minutes" if meeting else "summary",
        cohort_id=view.cohort_id,
        charter=charter,
        generated_at=dt.datetime.fromtimestamp(generated_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        exporter=_name(exporter),
        period_from="" if meeting else period_from,
        period_to="" if meeting else period_to,
        members=tuple(Person(m.id, names[m.id], m.role, _line(m.profession), m.away) for m in active),
        meetings=tuple(records),
        rota=turns,
        open_actions=open_actions,
        attendance=tuple(attendance),
        left_out=tuple(left_out),
        credits=credits,
        agreement=agreement,
        goals=goals,
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
