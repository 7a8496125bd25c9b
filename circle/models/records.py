"""What the fold reads out of a cohort's events: plain, frozen records (:mod:`circle.models.view` makes them).

A cohort, a member, a meeting, an agenda item, an action, a note, one version
of an entry, a redaction. Screens, exports and services read these; only the
view makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from circle.models.events import Elsewhere, said
from circle.models.goals import DEFAULT_NUDGE_WEEKS


@dataclass(frozen=True)
class Cohort:
    id: str
    name: str = ""
    purpose: str = ""
    cadence: str = "fortnightly"
    meeting_minutes: int = 60
    confidentiality: str = ""
    feedback_norms: str = ""
    founder: str = ""
    mentees_per_mentor: int = 5  # the team mentoring ratio's limit (circle/models/mentoring.py)
    goal_nudge_weeks: int = DEFAULT_NUDGE_WEEKS  # weeks without a check-in before a goal is nudged (circle/models/goals.py)
    history: str = "all"  # what a newcomer reads of the time before they joined: "all", or "joining" (from then on)


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    name: str
    role: str
    profession: str = ""
    away: bool = False
    active: bool = True
    journal: str = ""  # the journal they write now
    public: str = ""
    replica_path: str = ""
    joined_lamport: int = 0
    journals: tuple[tuple[str, str], ...] = ()  # every journal of theirs, with its replica path
    devices: tuple[tuple[str, str], ...] = ()  # journals added as devices: (journal, device name)
    gone: frozenset[str] = frozenset()  # journals of devices removed
    replaces: str = ""  # the earlier identity of this person, linked by the mentor who admitted them
    readers: tuple[tuple[str, str], ...] = ()  # journals whose device reads with keys of its own: (journal, those reading keys, hex)
    admitted_lamport: int = 0  # the clock of their newest admission (a re-admission is newer than ``joined_lamport``)


@dataclass(frozen=True, slots=True)
class Meeting:
    id: str
    at: str
    title: str = ""
    minutes: int = 60
    phase: str = ""
    current_item: str = ""
    item_started: float = 0.0
    cancelled: bool = False
    held: bool = False
    facilitator: str = ""  # who held the role when the meeting was marked held
    lamport: int = 0
    creator: str = ""


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """An agenda item as the view places it.

    Attributes:
        meeting: the meeting it is on now ("" while it waits for a meeting to be scheduled).
        added_to: the meeting it was added to ("": the list for the next meeting). An item added to a
            meeting that was wrapped up without it moves on (see :meth:`View.agenda`).
        extended: minutes the facilitator added to its timebox while it ran.
        edited: whether its title, owner or timebox was changed after it was added.
    """

    id: str
    meeting: str
    title: str
    owner: str = ""
    minutes: int = 10
    status: str = "open"  # open, done, carried
    carried_from: str = ""
    lamport: int = 0
    creator: str = ""
    added_to: str = ""
    extended: int = 0
    edited: bool = False

    @property
    def moved(self) -> bool:
        """Added to a meeting that was wrapped up without it: the view shows it on a later one."""
        return bool(self.added_to) and self.added_to != self.meeting


@dataclass(frozen=True, slots=True)
class Action:
    id: str
    meeting: str
    title: str
    owner: str = ""
    due: str = ""
    status: str = "open"  # open, done, dropped
    lamport: int = 0
    creator: str = ""
    edited: bool = False


@dataclass(frozen=True, slots=True)
class Note:
    """A note as the fold reads it. Its text may be left in its journal (:class:`Elsewhere`): ``text`` reads it."""

    id: str
    meeting: str
    item: str
    author: str
    held: str | Elsewhere
    kind: str  # note or decision
    ts: float
    lamport: int
    edited: bool = False

    @property
    def text(self) -> str:
        return said(self.held)


@dataclass(frozen=True, slots=True)
class Version:
    """One accepted version of a note, an agenda item or an action: who wrote it and what it set.

    ``ts`` is the author's clock, for display only.
    """

    event: str
    author: str
    ts: float
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Redaction:
    """A note, item or action hidden from every screen and export, and by whom.

    A redaction hides; it cannot erase. The event it hides stays, encrypted, in
    its author's journal and every replica and copy of it, and anyone holding
    that epoch's key (everyone who was a member then) can still decrypt it.
    """

    entry: str
    what: str  # note, item or action
    by: str
    ts: float
    event: str
