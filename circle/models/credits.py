"""Continuing-education credits: attested hours in mentoring meetings, and the rules of professional bodies as data.

Anchor: the credit rules of professional bodies. A body states a rate (so many
credits for so many hours), a cap per cycle, the cycle's length in years, and
which activities and whose company count. Hours come from attendance that both
parties attest, never from one person's say-so:

- ``attendance.attested`` ``{"meeting", "member", "minutes"}`` is signed by its
  author like every event, so the event itself is the attestation. Its author
  is the member (their own claim), the meeting's facilitator at that point as
  the rota computes it, or a mentor. Anything else is held aside.
- A meeting's minutes count for a member once the meeting is held, when the
  member attested them and someone else with that authority countersigned:
  the smaller of the member's figure and the countersigner's (the largest
  figure among countersigners whose role the rule counts). The latest
  attestation of each (author, meeting, member) wins, so an attestation can be
  corrected.
- ``credit.rule_set`` is written by a mentor only; the latest version of each
  rule id wins. A cohort with no active rule uses :data:`DEFAULT_RULE`.
- ``credit.cycle_set`` ``{"start", "rule"}`` is a member's own: when their
  cycle starts and which of the cohort's rules they report under. Without
  one, a cycle starts in the year of their first counted hour.

Arithmetic is exact: minutes are whole numbers, amounts are decimals written
as text. Credits count whole units of the rule's hours within one cycle (a
part unit earns nothing until it is complete), and the cap applies to each
cycle on its own (:data:`ROUNDING`).

Pure: no I/O. :func:`judge_credits` reads the folded view the way
:mod:`circle.models.rota` does.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from circle.models.events import Event
    from circle.models.records import Meeting
    from circle.models.view import View

CREDIT_KINDS = ("attendance.attested", "credit.rule_set", "credit.cycle_set")
MEETING = "meeting"  # the one activity circle records hours of
ROUNDING = "hours are whole attested minutes; credits count whole units of the rule's hours within a cycle (a part unit earns nothing until complete); the cap applies per cycle"

Stamp = tuple[int, str, str]


@dataclass(frozen=True)
class CreditRule:
    """One professional body's rule for credits.

    Attributes:
        id: the rule's id in the cohort ("default" for the built-in one).
        name: what people call it ("Mentorship contract").
        body: the professional body that set it ("" for the built-in one).
        hours_per_unit: hours that earn one unit.
        credits_per_unit: credits a unit earns.
        cap: the most credits one cycle can earn (0: no cap).
        cycle_years: how long a cycle lasts.
        activities: which activities count (circle records "meeting").
        roles: whose countersignature makes hours count: the countersigner's role when attesting.
        unit: what the credits are called ("CEU").
        active: whether members may report under it.
        default: the built-in rule, in force while the cohort set none.
    """

    id: str
    name: str
    body: str
    hours_per_unit: Decimal
    credits_per_unit: Decimal
    cap: Decimal
    cycle_years: int
    activities: tuple[str, ...]
    roles: tuple[str, ...]
    unit: str = "credits"
    active: bool = True
    default: bool = False

    @property
    def minutes_per_unit(self) -> Decimal:
        return self.hours_per_unit * 60

    def credits_for(self, minutes: int) -> tuple[int, Decimal, Decimal]:
        """Whole units, credits before the cap and credits after it, for one cycle's counted minutes."""
        units = int((Decimal(minutes) / self.minutes_per_unit).to_integral_value(rounding=ROUND_DOWN))
        earned = units * self.credits_per_unit
        return units, earned, min(earned, self.cap) if self.cap > 0 else earned

    def describe(self) -> str:
        """The rule in one line: "Mentorship contract (default): 1 CEU per 2 h with a mentor, at most 50 per 5-year cycle"."""
        who = " or ".join(self.roles) if self.roles else "nobody"
        cap = f"at most {fmt(self.cap)} per {self.cycle_years}-year cycle" if self.cap > 0 else f"no cap, {self.cycle_years}-year cycle"
        label = f"{self.name} (default)" if self.default else (f"{self.name}, {self.body}" if self.body else self.name)
        what = "" if MEETING in self.activities else "; counts no meetings"
        per = "hour" if self.hours_per_unit == 1 else f"{fmt(self.hours_per_unit)} h"
        return f"{label}: {amount(self.credits_per_unit, self.unit)} per {per} with a {who}, {cap}{what}"

    def doc(self) -> dict[str, Any]:
        """The rule as plain data (for --json and exports); amounts as decimal text."""
        return {
            "id": self.id,
            "name": self.name,
            "body": self.body,
            "hours_per_unit": fmt(self.hours_per_unit),
            "credits_per_unit": fmt(self.credits_per_unit),
            "cap": fmt(self.cap),
            "cycle_years": self.cycle_years,
            "activities": list(self.activities),
            "roles": list(self.roles),
            "unit": self.unit,
            "active": self.active,
            "default": self.default,
            "text": self.describe(),
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> CreditRule:
        """A rule from a ``credit.rule_set`` body the schema accepted."""
        return cls(
            body["id"],
            body["name"],
            body.get("body", ""),
            Decimal(body["hours_per_unit"]),
            Decimal(body["credits_per_unit"]),
            Decimal(body["cap"]),
            body["cycle_years"],
            tuple(dict.fromkeys(body["activities"])),
            tuple(dict.fromkeys(body["roles"])),
            body.get("unit", "credits"),
            body.get("active", True),
        )


# The rule from the field: a mentorship contract earns 1 CEU for every 2 hours with a mentor, at most 50 CEUs per 5-year cycle.
DEFAULT_RULE = CreditRule("default", "Mentorship contract", "", Decimal(2), Decimal(1), Decimal(50), 5, (MEETING,), ("mentor",), "CEU", True, True)


def fmt(d: Decimal) -> str:
    """A decimal as people write it: 2, 0.5, 12.25 (never 2.00 or 5E+1)."""
    return f"{d.quantize(Decimal('0.01')):f}".rstrip("0").rstrip(".")


# Words a credit unit ends in whose singular and plural are known: only these change with the number.
_PLURALS = {"credit": "credits", "point": "points", "unit": "units", "hour": "hours"}
_SINGULARS = {v: k for k, v in _PLURALS.items()}
_ACRONYM_PLURAL = re.compile(r"[A-Z]{2,}s")  # "CEUs", "PDUs": an acronym's plural; its singular drops the s


def amount(credits: Decimal | str, unit: str) -> str:
    """So many credits in a rule's unit, the unit agreeing with the number: "1 CPD point", "3 CPD points", "2 CEU".

    The unit is the mentor's text. Only its last word changes, and only when
    it is a word whose forms are known ("points", "Credit", "CEUs"): any other
    unit is shown as written, whatever the number, rather than guessed at.
    ``credits`` is a decimal or its text (as exports hold it).
    """
    shown = fmt(Decimal(credits))
    return f"{shown} {_unit_for(shown, unit)}"


def _unit_for(shown: str, unit: str) -> str:
    """The unit for the number ``shown``: "1" is singular, any other plural (0, 0.5, 2); an acronym's singular stays ("2 CEU")."""
    head, _, word = unit.rpartition(" ")
    if shown == "1":
        if _ACRONYM_PLURAL.fullmatch(word):
            changed = word[:-1]
        else:
            changed = _same_case(word, _SINGULARS.get(word.lower()))
    else:
        changed = _same_case(word, _PLURALS.get(word.lower()))
    if not changed:
        return unit
    return f"{head} {changed}" if head else changed


def _same_case(word: str, other: str | None) -> str | None:
    """``other`` written as ``word`` is ("Points" -> "Point", "POINTS" -> "POINT"); None when its case is mixed or other is None."""
    if other is None:
        return None
    if word.islower():
        return other
    if word.isupper():
        return other.upper()
    if word.istitle():
        return other.capitalize()
    return None


def hours(minutes: int) -> str:
    """Minutes as hours and minutes: "7 h 30 min", "2 h", "45 min"."""
    h, m = divmod(minutes, 60)
    return " ".join(p for p in (f"{h} h" if h else "", f"{m} min" if m else "") if p) or "0 h"


@dataclass(frozen=True)
class Attestation:
    """One attestation that counts: the latest of its author for this meeting and member."""

    meeting: str
    member: str
    author: str
    minutes: int
    role: str  # the author's role when writing it
    event: str
    stamp: Stamp


@dataclass(frozen=True)
class CreditBook:
    """The credit facts of a cohort that count, after the fold's checks.

    Attributes:
        rules: every rule set in the cohort, latest version of each id, by id.
        attestations: the latest attestation of each (author, meeting, member).
        cycles: member -> (the year their cycle starts, the rule id they chose or "").
        in_force: the cohort's rule in force: the active rule set most recently, else the default.
    """

    rules: dict[str, CreditRule]
    attestations: tuple[Attestation, ...]
    cycles: dict[str, tuple[int, str]]
    in_force: CreditRule = DEFAULT_RULE

    def rule_for(self, member: str) -> CreditRule:
        """The rule a member reports under: theirs if they chose an active one, else the cohort's in force."""
        chosen = self.rules.get(self.cycles.get(member, (0, ""))[1])
        return chosen if chosen is not None and chosen.active else self.in_force

    def active_rules(self) -> list[CreditRule]:
        """Rules members may report under: the cohort's active ones, or the default while there are none."""
        active = [r for r in self.rules.values() if r.active]
        return active or [DEFAULT_RULE]


def judge_credits(view: View) -> CreditBook:
    """Check every credit fact against the cohort's rules; what fails is held aside through ``view.late_refusal``.

    - ``attendance.attested``: the member must be one, the meeting must exist
      and not be cancelled; its author is the member, or the meeting's
      facilitator at that point, or a mentor.
    - ``credit.rule_set``: a mentor only.
    - ``credit.cycle_set``: always the author's own (it names nobody else).
    """
    latest: dict[tuple[str, str, str], Attestation] = {}
    rules: dict[str, tuple[Stamp, CreditRule]] = {}
    cycles: dict[str, tuple[Stamp, int, str]] = {}
    rota = view.rota()
    meetings = {m.id: m for m in view.meetings()}
    for e in view.credit_facts():
        b = e.body
        if e.kind == "credit.rule_set":
            if not view.is_mentor_event(e):
                view.late_refusal(e, "only a mentor sets a credit rule")
                continue
            rules[b["id"]] = (e.stamp, CreditRule.from_body(b))
        elif e.kind == "credit.cycle_set":
            cycles[e.author] = (e.stamp, b["start"], b.get("rule", ""))
        else:
            reason = _attestation_problem(view, rota, meetings, e)
            if reason:
                view.late_refusal(e, reason)
                continue
            # Facts arrive in stamp order: the later one replaces the earlier (a correction).
            latest[e.author, b["meeting"], b["member"]] = Attestation(b["meeting"], b["member"], e.author, b["minutes"], view.role_of_event(e), e.id, e.stamp)
    active = [(stamp, r) for stamp, r in rules.values() if r.active]
    in_force = max(active, key=lambda sr: sr[0])[1] if active else DEFAULT_RULE
    return CreditBook(
        {rid: r for rid, (_s, r) in sorted(rules.items())},
        tuple(sorted(latest.values(), key=lambda a: a.stamp)),
        {m: (start, rule) for m, (_s, start, rule) in cycles.items()},
        in_force,
    )


def _attestation_problem(view: View, rota: Any, meetings: dict[str, Meeting], e: Event) -> str:
    b = e.body
    member = view.member(b["member"])
    if member is None:
        return "attests attendance of someone who is not a member"
    m = meetings.get(b["meeting"])
    if m is None:
        return "attests a meeting that is not here"
    if m.cancelled:
        return "attests a cancelled meeting"
    if e.author != member.id and not view.is_mentor_event(e) and rota.holder_at(m.id, e.stamp) != e.author:
        return "only the member, the meeting's facilitator or a mentor attests attendance"
    return ""


# ---- the ledger: pure arithmetic over plain data ---------------------------


@dataclass(frozen=True)
class MeetingClaims:
    """What was attested about one member at one meeting: the input of :func:`compute_ledger`.

    Attributes:
        meeting: the meeting id.
        at: its date and time (``YYYY-MM-DD HH:MM``): the year decides its cycle.
        held: whether it was wrapped up; hours count only then.
        attended: whether the member was marked present.
        own: the member's own latest figure in minutes (None: they attested nothing).
        counter: each countersigner's latest figure: (author, role when writing, minutes).
    """

    meeting: str
    at: str
    held: bool
    attended: bool = False
    own: int | None = None
    counter: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class Row:
    """One meeting in a member's ledger: what counted, or what an audit would find missing."""

    meeting: str
    at: str
    own: int | None
    countersigned: int | None  # the largest figure among countersigners the rule counts (None: none)
    counted: int
    gap: str  # "" when the minutes count; else what is missing, in a few words


@dataclass(frozen=True)
class Cycle:
    """One cycle of a member's credits under a rule: the years ``start`` to ``end``, both included."""

    start: int
    end: int
    minutes: int
    units: int
    earned: Decimal  # before the cap
    credits: Decimal  # after the cap

    @property
    def capped(self) -> bool:
        return self.credits < self.earned


@dataclass(frozen=True)
class Ledger:
    """A member's hours and credits under one rule.

    Attributes:
        member: the member id.
        rule: the rule every figure here is computed under.
        start: the year their first cycle starts (None while nothing counted and they set none).
        start_set: whether the member set it themselves.
        rows: every meeting with an attestation about them, or that they attended after it was held, by date.
        cycles: cycles with counted minutes, oldest first.
    """

    member: str
    rule: CreditRule
    start: int | None
    start_set: bool
    rows: tuple[Row, ...]
    cycles: tuple[Cycle, ...] = field(default=())

    @property
    def minutes(self) -> int:
        return sum(r.counted for r in self.rows)

    @property
    def gaps(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.gap)

    def cycle_for(self, year: int) -> Cycle:
        """The cycle that holds ``year`` (empty when nothing counted in it)."""
        start = self.start if self.start is not None else year
        n = self.rule.cycle_years
        first = start + ((year - start) // n) * n
        found = next((c for c in self.cycles if c.start == first), None)
        return found or Cycle(first, first + n - 1, 0, 0, Decimal(0), Decimal(0))

    def current_cycle(self, year: int) -> Cycle:
        """The cycle to show in ``year`` (this year): the one holding it, or, before the first counted hour where the
        member set no start (a meeting dated ahead, attested), the first cycle: no cycle came before it."""
        if self.start is not None and not self.start_set and year < self.start:
            return self.cycle_for(self.start)
        return self.cycle_for(year)


def counted_minutes(rule: CreditRule, c: MeetingClaims) -> tuple[int, int | None, str]:
    """Minutes that count for one meeting under ``rule``, the countersigned figure, and what is missing ("" if nothing)."""
    qualifying = [mins for _who, role, mins in c.counter if role in rule.roles]
    best = max(qualifying) if qualifying else None
    if MEETING not in rule.activities:
        return 0, best, "the rule counts no meetings"
    if not c.held:
        return 0, best, "the meeting is not wrapped up yet"
    if c.own is None and best is None and not c.counter:
        return 0, None, "attended, nobody attested the hours"
    if c.own is None:
        return 0, best, "your own attestation is missing"
    if best is None:
        if c.counter:
            roles = sorted({role for _w, role, _m in c.counter})
            return 0, None, f"countersigned by a {' / '.join(roles)} only; the rule counts hours with a {' or '.join(rule.roles) or 'nobody'}"
        return 0, None, "no countersignature by the facilitator or a mentor"
    return min(c.own, best), best, ""


def compute_ledger(member: str, rule: CreditRule, claims: list[MeetingClaims], start: int | None = None) -> Ledger:
    """A member's ledger under ``rule`` from what was attested about them.

    Args:
        member: the member id.
        rule: the rule to compute under.
        claims: one entry per meeting with anything attested about them, or that they attended.
        start: the year their cycle starts, as they set it (None: the year of their first counted hour).
    """
    rows = []
    for c in sorted(claims, key=lambda c: (c.at, c.meeting)):
        if c.own is None and not c.counter and not (c.attended and c.held):
            continue
        counted, best, gap = counted_minutes(rule, c)
        rows.append(Row(c.meeting, c.at, c.own, best, counted, gap))
    counted_rows = [r for r in rows if r.counted]
    first = start if start is not None else (int(counted_rows[0].at[:4]) if counted_rows else None)
    by_cycle: dict[int, int] = defaultdict(int)
    if first is not None:
        n = rule.cycle_years
        for r in counted_rows:
            by_cycle[first + ((int(r.at[:4]) - first) // n) * n] += r.counted
    cycles = []
    for s in sorted(by_cycle):
        units, earned, credits = rule.credits_for(by_cycle[s])
        cycles.append(Cycle(s, s + rule.cycle_years - 1, by_cycle[s], units, earned, credits))
    return Ledger(member, rule, first, start is not None, tuple(rows), tuple(cycles))


def claims_for(view: View, member: str) -> list[MeetingClaims]:
    """What was attested about ``member`` at each meeting, and the held meetings they were marked present at."""
    book = view.credits()
    own: dict[str, int] = {}
    counter: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for a in book.attestations:
        if a.member != member:
            continue
        if a.author == member:
            own[a.meeting] = a.minutes
        else:
            counter[a.meeting].append((a.author, a.role, a.minutes))
    out = []
    for m in view.meetings():
        if m.cancelled:
            continue
        attended = m.held and view.attendance(m.id).get(member) is True
        if m.id in own or m.id in counter or attended:
            out.append(MeetingClaims(m.id, m.at, m.held, attended, own.get(m.id), tuple(sorted(counter.get(m.id, ())))))
    return out


def ledger_for(view: View, member: str, rule: CreditRule | None = None) -> Ledger:
    """A member's ledger from the view, under ``rule`` or the one they report under.

    Where nobody else in the cohort holds a role the rule counts (a sole
    mentor, under a rule that counts mentors), a missing countersignature
    cannot be given at all: its gap says so, and what would close it.
    """
    book = view.credits()
    chosen = book.cycles.get(member)
    rule = rule or book.rule_for(member)
    ledger = compute_ledger(member, rule, claims_for(view, member), chosen[0] if chosen else None)
    others = {m.role for m in view.members() if m.id != member}
    if others & set(rule.roles) or not rule.roles or not ledger.gaps:
        return ledger
    held = " or ".join(sorted(others))
    nobody = (
        f"; nobody else here is a {' or '.join(rule.roles)}: " + (f"a rule that counts a {held}, or " if held else "") + f"another {rule.roles[0]} closes it"
    )
    rows = tuple(replace(r, gap=r.gap + nobody) if r.gap.startswith(("no countersignature", "countersigned by")) else r for r in ledger.rows)
    return replace(ledger, rows=rows)
