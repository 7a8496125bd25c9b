"""What people do with continuing-education credits: attest hours, set a body's rule, choose their cycle, read the ledger.

The checks here are a courtesy, so a person learns at once why something
would not count; the fold decides (:mod:`circle.models.credits`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from circle.errors import NotFound, UsageError
from circle.models import schema
from circle.models.credits import MEETING, CreditRule, Ledger, fmt, ledger_for
from circle.models.names import match_one
from circle.models.records import Meeting
from circle.store.service import CohortService, FieldError

_RULE_ID = re.compile(r"[^a-z0-9_.-]+")


def find_meeting(svc: CohortService, ref: str) -> Meeting:
    """A meeting as people type it: "last" (the latest held), its date ("2026-03-05"), its title, or an id prefix."""
    meetings = [m for m in svc.view.meetings() if not m.cancelled]
    if ref.strip().lower() == "last":
        held = [m for m in meetings if m.held]
        if not held:
            raise NotFound("no meeting is wrapped up yet", "hours count once the facilitator wraps a meeting up")
        return held[-1]
    return match_one(meetings, ref, name=lambda m: f"{m.at} {m.title}".strip(), ident=lambda m: m.id, what="meeting")


def _amount(value: str | Decimal, field: str, zero: bool = False) -> str:
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise FieldError(field, f"{field.replace('_', ' ')} is not a number", "write it like 2 or 0.5") from None
    text = fmt(d) if d.is_finite() else "x"
    if schema.amount(zero=zero)(text) is not None or d != Decimal(text):
        raise FieldError(
            field, f"{field.replace('_', ' ')} must be {'0 or more' if zero else 'above 0'}, at most 9999.99, two decimals at most", "e.g. 2 or 0.5"
        )
    return text


class CreditService:
    """Credits of one cohort for the person on this device.

    Args:
        svc: the cohort's service, which events go through.
    """

    def __init__(self, svc: CohortService) -> None:
        self.svc = svc

    @property
    def view(self):  # noqa: ANN201 - the cohort's View
        return self.svc.view

    def may_attest_for(self, meeting_id: str, member_id: str) -> bool:
        """Whether my attestation of ``member_id`` at this meeting would count: mine, or I led it, or I am a mentor."""
        return member_id == self.svc.me or self.svc.is_mentor() or self.svc.facilitator(meeting_id) == self.svc.me

    def attest(self, meeting_id: str, member_id: str = "", minutes: int | None = None) -> int:
        """Attest a member's minutes at a meeting (yourself by default; the meeting's length by default); returns the minutes.

        Raises:
            UsageError: the meeting is cancelled, the minutes are out of range, or someone else's attendance is not
                yours to attest.
        """
        m = self.svc.meeting(meeting_id)
        who = member_id or self.svc.me
        if m.cancelled:
            raise UsageError("that meeting was cancelled", "hours count only for meetings that took place")
        if self.view.member(who) is None:
            raise NotFound("no such member", "pick someone on the cohort's roster")
        if not self.may_attest_for(m.id, who):
            raise UsageError(
                "only the meeting's facilitator or a mentor attests someone else's hours",
                "attest your own, and ask the facilitator or the mentor to countersign",
            )
        mins = m.minutes if minutes is None else minutes
        if type(mins) is not int or not 1 <= mins <= 600:
            raise FieldError("minutes", "minutes must be a whole number from 1 to 600", "the meeting's length is the default")
        self.svc.store.record("attendance.attested", {"meeting": m.id, "member": who, "minutes": mins})
        return mins

    def set_rule(
        self,
        name: str,
        *,
        body: str = "",
        hours_per_unit: str | Decimal = "2",
        credits_per_unit: str | Decimal = "1",
        cap: str | Decimal = "0",
        cycle_years: int = 5,
        roles: tuple[str, ...] = ("mentor",),
        unit: str = "credits",
        active: bool = True,
        rule_id: str = "",
    ) -> CreditRule:
        """Add a professional body's rule (or a new version of one, by id); a mentor only.

        Returns:
            The rule as the fold will read it.
        """
        if not self.svc.is_mentor():
            raise UsageError("only a mentor sets the cohort's credit rules", "ask the supervising mentor to add your body's rule")
        name = " ".join(name.split())
        if not 1 <= len(name) <= schema.MAX_NAME:
            raise FieldError("name", f"a rule's name is 1 to {schema.MAX_NAME} characters", "e.g. HCPC CPD")
        if len(body) > schema.MAX_TITLE or not 1 <= len(unit) <= 20:
            raise FieldError("body", "the body's name is at most 200 characters, the unit's 1 to 20", "")
        if type(cycle_years) is not int or not 1 <= cycle_years <= 10:
            raise FieldError("cycle_years", "a cycle lasts 1 to 10 years", "e.g. 5")
        bad = [r for r in roles if r not in schema.ROLES]
        if bad or not roles:
            raise FieldError("roles", f"roles are {', '.join(schema.ROLES)}", "whose countersignature counts, e.g. mentor")
        rid = rule_id or (_RULE_ID.sub("-", name.lower()).strip("-.")[:64] or "rule")
        doc = {
            "id": rid,
            "name": name,
            "body": body,
            "hours_per_unit": _amount(hours_per_unit, "hours_per_unit"),
            "credits_per_unit": _amount(credits_per_unit, "credits_per_unit"),
            "cap": _amount(cap, "cap", zero=True),
            "cycle_years": cycle_years,
            "activities": [MEETING],
            "roles": list(dict.fromkeys(roles)),
            "unit": unit,
            "active": active,
        }
        self.svc.store.record("credit.rule_set", doc)
        return CreditRule.from_body(doc)

    def retire_rule(self, rule_id: str) -> CreditRule:
        """Retire one of the cohort's rules, its terms kept as they are (a new version, not active); a mentor only.

        Members who reported under it report under the rule in force from then on.
        """
        if not self.svc.is_mentor():
            raise UsageError("only a mentor retires the cohort's credit rules", "ask the supervising mentor")
        rule = self.rule(rule_id)
        if rule.default:
            raise UsageError("the built-in rule cannot be retired", "it is in force only while the cohort has no rule of its own: add one")
        doc = {k: v for k, v in rule.doc().items() if k not in ("default", "text")} | {"active": False}
        self.svc.store.record("credit.rule_set", doc)
        return CreditRule.from_body(doc)

    def set_cycle(self, start: int, rule_id: str = "") -> None:
        """Set the year your cycle starts, and which of the cohort's active rules you report under ("" the cohort's)."""
        if type(start) is not int or not 1900 <= start <= 2200:
            raise FieldError("start", "the cycle's start is a year, like 2024", "")
        if rule_id and rule_id not in {r.id for r in self.view.credits().active_rules()}:
            known = ", ".join(r.id for r in self.view.credits().active_rules())
            raise NotFound(f"no active credit rule {rule_id!r}", f"rules here: {known}")
        self.svc.store.record("credit.cycle_set", {"start": start, "rule": rule_id})

    def rule(self, rule_id: str) -> CreditRule:
        for r in self.view.credits().active_rules():
            if r.id == rule_id:
                return r
        raise NotFound(f"no active credit rule {rule_id!r}", "'circle credits rule list COHORT' lists them")

    def ledger(self, member_id: str = "", rule_id: str = "") -> Ledger:
        """A member's ledger (yours by default), under their rule or ``rule_id``."""
        return ledger_for(self.view, member_id or self.svc.me, self.rule(rule_id) if rule_id else None)

    def ledgers(self, rule_id: str = "") -> list[Ledger]:
        """Every active member's ledger, in roster order."""
        rule = self.rule(rule_id) if rule_id else None
        return [ledger_for(self.view, m.id, rule) for m in self.view.members()]
