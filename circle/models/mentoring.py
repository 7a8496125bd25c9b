"""The team mentoring ratio: how many mentees each supervising mentor carries, against the cohort's limit.

A mentee is an active member whose role is not ``mentor``. The limit is the
charter's ``mentees_per_mentor`` (default 5), set by a mentor like the rest
of the charter. Two checks, both read from the folded view:

- the cohort: its active mentees over its active mentors;
- the rotation: for each upcoming meeting, the mentees expected there (not
  away, not marked absent) over the mentors expected there. A mentor away or
  marked absent for a meeting leaves their mentees on the mentors who come.

These are warnings for people to act on (admit another mentor, change the
rota), never rules that refuse an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from circle.models.view import View

MENTOR = "mentor"
DEFAULT_LIMIT = 5
MAX_MEETINGS_NAMED = 3  # a warning names this many meetings, then counts the rest


@dataclass(frozen=True)
class Ratio:
    """Mentees and mentors somewhere (the cohort, or one meeting), against the limit.

    Attributes:
        mentees: how many mentees.
        mentors: how many mentors.
        limit: the most mentees one mentor may carry.
    """

    mentees: int
    mentors: int
    limit: int

    @property
    def over(self) -> bool:
        """Whether some mentor would carry more than the limit (mentees with no mentor at all count too)."""
        return self.mentees > self.limit * self.mentors

    def words(self) -> str:
        if self.mentors == 0:
            return f"{self.mentees} mentee{'s' if self.mentees != 1 else ''} and no mentor"
        each = self.mentees / self.mentors
        shown = f"{each:.1f}".rstrip("0").rstrip(".")
        return f"{self.mentees} mentee{'s' if self.mentees != 1 else ''} on {self.mentors} mentor{'s' if self.mentors != 1 else ''} ({shown} each)"


def cohort_ratio(view: View) -> Ratio:
    """The cohort's active mentees over its active mentors."""
    members = view.members()
    mentors = sum(1 for m in members if m.role == MENTOR)
    return Ratio(len(members) - mentors, mentors, view.cohort().mentees_per_mentor)


def meeting_ratios(view: View) -> list[tuple[str, str, Ratio]]:
    """For each upcoming meeting (not held, not cancelled), by date: (meeting id, its date, the ratio of who is expected there)."""
    limit = view.cohort().mentees_per_mentor
    members = [m for m in view.members() if not m.away]
    out = []
    for mt in view.meetings():
        if mt.held or mt.cancelled:
            continue
        marks = view.attendance(mt.id)
        there = [m for m in members if marks.get(m.id, True)]
        mentors = sum(1 for m in there if m.role == MENTOR)
        out.append((mt.id, mt.at, Ratio(len(there) - mentors, mentors, limit)))
    return out


def ratio_warnings(view: View) -> list[str]:
    """What a member should be told about the mentoring ratio: one line each, [] when every mentor is within the limit."""
    limit = view.cohort().mentees_per_mentor
    out = []
    whole = cohort_ratio(view)
    if whole.over:
        out.append(f"{whole.words()}: more than the cohort's limit of {limit} per mentor; admit another mentor or raise the limit.")
    # The rotation: only meetings worse than the cohort as a whole (a cohort already over says so once).
    over = [(at, r) for _mid, at, r in meeting_ratios(view) if r.over and not whole.over]
    if over:
        named = ", ".join(f"{at} ({r.words()})" for at, r in over[:MAX_MEETINGS_NAMED])
        more = f" and {len(over) - MAX_MEETINGS_NAMED} more" if len(over) > MAX_MEETINGS_NAMED else ""
        out.append(f"With who is away or absent, meetings would put more than {limit} mentees on a mentor: {named}{more}.")
    return out
