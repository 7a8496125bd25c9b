"""Credits: the arithmetic of a body's rule (caps, cycles, rounding) and the fold's rule that hours need two attestations.

The arithmetic is checked on :func:`compute_ledger` with random attestations
and random rules; the authority (who may attest, who may set a rule, what a
cancelled or unheld meeting counts) through the fold itself, on plain events.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circle.models import schema
from circle.models.credits import DEFAULT_RULE, MEETING, CreditRule, MeetingClaims, amount, compute_ledger, fmt, hours, ledger_for
from tests.cohort_log import CohortLog

ROLES = ("mentor", "peer", "participant")

amounts = st.integers(1, 4000).map(lambda n: Decimal(n) / 4)  # 0.25 .. 1000 in quarters: exact in decimal text


@st.composite
def rules(draw: st.DrawFn) -> CreditRule:
    return CreditRule(
        "r",
        "Rule",
        "Body",
        draw(st.sampled_from([Decimal("0.5"), Decimal(1), Decimal("1.5"), Decimal(2), Decimal(10)])),
        draw(st.sampled_from([Decimal("0.1"), Decimal("0.25"), Decimal(1), Decimal(2)])),
        draw(st.sampled_from([Decimal(0), Decimal(1), Decimal(5), Decimal(50)])),
        draw(st.integers(1, 6)),
        (MEETING,),
        tuple(draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=3, unique=True))),
    )


@st.composite
def claims(draw: st.DrawFn) -> list[MeetingClaims]:
    out = []
    for i in range(draw(st.integers(0, 25))):
        year = draw(st.integers(2015, 2035))
        counter = tuple((f"c{j}", draw(st.sampled_from(ROLES)), draw(st.integers(1, 600))) for j in range(draw(st.integers(0, 2))))
        own = draw(st.none() | st.integers(1, 600))
        out.append(
            MeetingClaims(
                f"m{i}", f"{year}-0{draw(st.integers(1, 9))}-1{draw(st.integers(0, 9))} 18:00", draw(st.booleans()), draw(st.booleans()), own, counter
            )
        )
    return out


starts = st.none() | st.integers(2010, 2035)


@settings(max_examples=300, deadline=None)
@given(rules(), claims(), starts)
def test_no_cycle_earns_more_than_the_cap(rule: CreditRule, cs: list[MeetingClaims], start: int | None) -> None:
    led = compute_ledger("a", rule, cs, start)
    for c in led.cycles:
        if rule.cap > 0:
            assert c.credits <= rule.cap
        assert c.credits == (min(c.earned, rule.cap) if rule.cap > 0 else c.earned)
        assert c.units * rule.minutes_per_unit <= c.minutes < (c.units + 1) * rule.minutes_per_unit  # whole units, the part unit earns nothing


@settings(max_examples=300, deadline=None)
@given(rules(), claims(), starts, st.data())
def test_more_attested_minutes_never_earn_fewer_credits(rule: CreditRule, cs: list[MeetingClaims], start: int | None, data: st.DataObject) -> None:
    if not cs:
        return
    i = data.draw(st.integers(0, len(cs) - 1))
    extra = data.draw(st.integers(1, 100))
    c = cs[i]
    more = replace(
        c,
        own=None if c.own is None else min(600, c.own + extra),
        counter=tuple((w, r, min(600, m + extra)) for w, r, m in c.counter),
    )
    before = compute_ledger("a", rule, cs, start)
    after = compute_ledger("a", rule, [*cs[:i], more, *cs[i + 1 :]], start)
    assert after.minutes >= before.minutes
    year = int(c.at[:4])
    if start is not None:  # with a set start the cycles stay where they are
        assert after.cycle_for(year).credits >= before.cycle_for(year).credits


@settings(max_examples=300, deadline=None)
@given(rules(), claims(), starts)
def test_minutes_count_only_with_both_attestations_of_a_held_meeting(rule: CreditRule, cs: list[MeetingClaims], start: int | None) -> None:
    led = compute_ledger("a", rule, cs, start)
    by_id = {c.meeting: c for c in cs}
    for r in led.rows:
        c = by_id[r.meeting]
        qualifying = [m for _w, role, m in c.counter if role in rule.roles]
        if r.counted:
            assert c.held and c.own is not None and qualifying
            assert r.counted == min(c.own, max(qualifying)) <= c.own  # never more than either says
            assert not r.gap
        else:
            assert r.gap  # an audit says what is missing


@settings(max_examples=200, deadline=None)
@given(rules(), claims(), starts)
def test_a_members_own_attestations_alone_count_nothing(rule: CreditRule, cs: list[MeetingClaims], start: int | None) -> None:
    alone = [replace(c, counter=()) for c in cs]
    led = compute_ledger("a", rule, alone, start)
    assert led.minutes == 0 and not led.cycles
    assert all(r.gap for r in led.rows)


@settings(max_examples=300, deadline=None)
@given(rules(), claims(), starts)
def test_cycles_partition_the_counted_minutes(rule: CreditRule, cs: list[MeetingClaims], start: int | None) -> None:
    led = compute_ledger("a", rule, cs, start)
    assert sum(c.minutes for c in led.cycles) == led.minutes
    spans = [(c.start, c.end) for c in led.cycles]
    assert all(e - s + 1 == rule.cycle_years for s, e in spans)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))  # disjoint, in order
    for r in led.rows:
        if r.counted:
            year = int(r.at[:4])
            hits = [c for c in led.cycles if c.start <= year <= c.end]
            assert len(hits) == 1
            assert led.cycle_for(year) == hits[0]
    if led.start is not None:
        assert all((c.start - led.start) % rule.cycle_years == 0 for c in led.cycles)


@settings(max_examples=200, deadline=None)
@given(rules(), rules(), claims(), starts)
def test_a_rule_change_changes_the_figures_as_the_rule_says(a: CreditRule, b: CreditRule, cs: list[MeetingClaims], start: int | None) -> None:
    assert compute_ledger("a", a, cs, start) == compute_ledger("a", a, list(reversed(cs)), start)  # deterministic, any order
    for rule in (a, b):
        led = compute_ledger("a", rule, cs, start)
        for c in led.cycles:
            units = int(c.minutes // (rule.hours_per_unit * 60))
            earned = units * rule.credits_per_unit
            assert (c.units, c.earned, c.credits) == (units, earned, min(earned, rule.cap) if rule.cap else earned)


def test_the_default_rule_is_the_one_from_the_field() -> None:
    assert DEFAULT_RULE.describe() == "Mentorship contract (default): 1 CEU per 2 h with a mentor, at most 50 per 5-year cycle"
    assert DEFAULT_RULE.credits_for(239) == (1, Decimal(1), Decimal(1))
    assert DEFAULT_RULE.credits_for(60 * 200)[2] == Decimal(50)
    assert (fmt(Decimal("0.50")), fmt(Decimal(50)), fmt(Decimal("12.25"))) == ("0.5", "50", "12.25")
    assert (hours(450), hours(120), hours(45), hours(0)) == ("7 h 30 min", "2 h", "45 min", "0 h")


@pytest.mark.parametrize(
    ("credits", "unit", "shown"),
    [
        ("1", "CPD points", "1 CPD point"),  # was "1 CPD points"
        ("1.00", "credits", "1 credit"),
        ("2", "CPD point", "2 CPD points"),  # a mentor who wrote the singular
        ("0", "CPD points", "0 CPD points"),
        ("0.5", "Points", "0.5 Points"),
        ("1", "Contact Hours", "1 Contact Hour"),
        ("1", "POINTS", "1 POINT"),
        ("1", "CEUs", "1 CEU"),
        ("2", "CEU", "2 CEU"),  # an acronym's singular is how bodies write it: left as the mentor wrote it
        ("1", "Fortbildungspunkte", "1 Fortbildungspunkte"),  # forms circle does not know: as written, never guessed at
        ("1", "points (CPD)", "1 points (CPD)"),
        ("1", "PoInts", "1 PoInts"),
        ("1", "bonus", "1 bonus"),
    ],
)
def test_a_figure_s_unit_agrees_with_its_number_where_its_forms_are_known(credits: str, unit: str, shown: str) -> None:
    assert amount(Decimal(credits), unit) == shown
    assert amount(fmt(Decimal(credits)), unit) == shown  # exports hold the figure as text


def test_a_rule_of_one_point_an_hour_reads_as_one_point_per_hour() -> None:
    """A body's rule of 1 CPD point per hour was described as "1 CPD points per 1 h"."""
    rule = CreditRule("cpd", "CPD", "HCPC", Decimal(1), Decimal(1), Decimal(12), 2, (MEETING,), ("mentor",), "CPD points")
    assert rule.describe() == "CPD, HCPC: 1 CPD point per hour with a mentor, at most 12 per 2-year cycle"
    assert replace(rule, credits_per_unit=Decimal(2), hours_per_unit=Decimal("1.5")).describe().startswith("CPD, HCPC: 2 CPD points per 1.5 h ")


def test_rule_bodies_are_decimal_text_within_bounds() -> None:
    good = {
        "id": "r1",
        "name": "HCPC",
        "hours_per_unit": "1",
        "credits_per_unit": "0.5",
        "cap": "0",
        "cycle_years": 2,
        "activities": ["meeting"],
        "roles": ["mentor"],
    }
    assert schema.problem("credit.rule_set", good) is None
    for field, bad in [
        ("hours_per_unit", 2.0),
        ("hours_per_unit", "0"),
        ("credits_per_unit", "1e3"),
        ("cap", "-1"),
        ("cycle_years", 0),
        ("roles", ["boss"]),
        ("activities", ["golf"]),
    ]:
        assert schema.problem("credit.rule_set", {**good, field: bad}) is not None, (field, bad)
    assert schema.problem("attendance.attested", {"meeting": "x", "member": "ab" * 16, "minutes": 601}) is not None
    assert schema.problem("attendance.attested", {"meeting": "x", "member": "ab" * 16, "minutes": 0}) is not None


# ---- through the fold ---------------------------------------------------------------------------


def cohort() -> CohortLog:
    """m mentor (founder), p and r peers (the rota's facilitators), q participant; one held meeting x1 (90 min) led by p."""
    log = CohortLog("m")
    log.admit("p", "peer")
    log.admit("r", "peer")
    log.admit("q", "participant")
    log.add("m", "meeting.scheduled", {"meeting": "x1", "at": "2026-01-05 18:00", "minutes": 90})
    log.add("m", "meeting.scheduled", {"meeting": "x2", "at": "2026-02-05 18:00", "minutes": 90})
    return log


def test_hours_need_the_member_and_a_mentor_and_a_held_meeting() -> None:
    log = cohort()
    q = log.id("q")
    log.add("q", "attendance.attested", {"meeting": "x1", "member": "q", "minutes": 90})
    assert ledger_for(log.view(), q).minutes == 0  # own claim alone
    log.add("m", "attendance.attested", {"meeting": "x1", "member": "q", "minutes": 120})
    led = ledger_for(log.view(), q)
    assert led.minutes == 0 and led.rows[0].gap == "the meeting is not wrapped up yet"
    fac = log.view().rota().facilitator("x1")
    log.add(log.alias(fac), "meeting.held", {"meeting": "x1"})
    led = ledger_for(log.view(), q)
    assert led.minutes == 90  # the smaller of the two figures
    assert led.rule.default


def test_a_facilitators_countersignature_counts_under_a_rule_that_counts_peers() -> None:
    log = cohort()
    v = log.view()
    fac = log.alias(v.rota().facilitator("x1"))
    log.add(fac, "meeting.held", {"meeting": "x1"})
    log.add("q", "attendance.attested", {"meeting": "x1", "member": "q", "minutes": 60})
    log.add(fac, "attendance.attested", {"meeting": "x1", "member": "q", "minutes": 60})
    other = "r" if fac == "p" else "p"
    stray = log.add(other, "attendance.attested", {"meeting": "x1", "member": "q", "minutes": 60})  # not the facilitator
    v = log.view()
    assert stray.id in v.refused()
    led = ledger_for(v, log.id("q"))
    assert led.minutes == 0 and "countersigned by a peer only" in led.rows[0].gap  # the default counts hours with a mentor
    log.add(
        "m",
        "credit.rule_set",
        {
            "id": "peer",
            "name": "Peer CPD",
            "body": "Board",
            "hours_per_unit": "1",
            "credits_per_unit": "1",
            "cap": "0",
            "cycle_years": 3,
            "activities": ["meeting"],
            "roles": ["mentor", "peer"],
        },
    )
    led = ledger_for(log.view(), log.id("q"))
    assert led.minutes == 60 and led.rule.id == "peer" and led.cycle_for(2026).credits == 1


def test_rules_are_a_mentors_the_latest_version_wins_and_a_member_chooses_theirs() -> None:
    log = cohort()
    body = {
        "id": "b1",
        "name": "Body one",
        "hours_per_unit": "1",
        "credits_per_unit": "1",
        "cap": "10",
        "cycle_years": 2,
        "activities": ["meeting"],
        "roles": ["mentor"],
    }
    forged = log.add("q", "credit.rule_set", {**body, "cap": "1000"})
    assert forged.id in log.view().refused() and log.view().credits().in_force.default
    log.add("m", "credit.rule_set", body)
    log.add("m", "credit.rule_set", {**body, "id": "b2", "name": "Body two"})
    log.add("m", "credit.rule_set", {**body, "cap": "20"})  # a new version of b1: now the latest set
    book = log.view().credits()
    assert book.in_force.id == "b1" and book.in_force.cap == 20
    log.add("q", "credit.cycle_set", {"start": 2024, "rule": "b2"})
    led = ledger_for(log.view(), log.id("q"))
    assert (led.rule.id, led.start, led.start_set) == ("b2", 2024, True)
    assert led.cycle_for(2026).start == 2026 and led.cycle_for(2025).start == 2024
    log.add("m", "credit.rule_set", {**body, "id": "b2", "name": "Body two", "active": False})
    assert ledger_for(log.view(), log.id("q")).rule.id == "b1"  # a retired rule: back to the one in force


def test_corrections_and_cancelled_meetings() -> None:
    log = cohort()
    fac = log.alias(log.view().rota().facilitator("x1"))
    log.add(fac, "meeting.held", {"meeting": "x1"})
    log.add("q", "attendance.attested", {"meeting": "x1", "member": "q", "minutes": 90})
    log.add("m", "attendance.attested", {"meeting": "x1", "member": "q", "minutes": 90})
    log.add("m", "attendance.attested", {"meeting": "x1", "member": "q", "minutes": 45})  # corrected down
    assert ledger_for(log.view(), log.id("q")).minutes == 45
    log.add("m", "meeting.updated", {"meeting": "x2", "cancelled": True})
    late = log.add("q", "attendance.attested", {"meeting": "x2", "member": "q", "minutes": 90})
    ghost = log.add("q", "attendance.attested", {"meeting": "nowhere", "member": "q", "minutes": 90})
    refused = log.view().refused()
    assert refused[late.id] == "attests a cancelled meeting" and refused[ghost.id] == "attests a meeting that is not here"


def test_an_attended_meeting_with_no_attestation_is_an_audit_gap() -> None:
    log = cohort()
    fac = log.alias(log.view().rota().facilitator("x1"))
    log.add("q", "attendance.marked", {"meeting": "x1", "member": "q", "present": True})
    log.add(fac, "meeting.held", {"meeting": "x1"})
    led = ledger_for(log.view(), log.id("q"))
    assert [(r.meeting, r.gap) for r in led.gaps] == [("x1", "attended, nobody attested the hours")]


def test_a_sole_mentors_own_gap_says_nobody_else_can_close_it() -> None:
    """m is the only mentor: under the default rule nobody can countersign m's hours; the gap says so and what closes it."""
    log = cohort()
    fac = log.alias(log.view().rota().facilitator("x1"))
    log.add(fac, "meeting.held", {"meeting": "x1"})
    log.add("m", "attendance.attested", {"meeting": "x1", "member": "m", "minutes": 90})
    log.add(fac, "attendance.attested", {"meeting": "x1", "member": "m", "minutes": 90})
    gap = ledger_for(log.view(), log.id("m")).rows[0].gap
    assert gap.startswith("countersigned by a peer only")
    assert gap.endswith("; nobody else here is a mentor: a rule that counts a participant or peer, or another mentor closes it")
    q_gap = ledger_for(log.view(), log.id("q"))  # q has a mentor to ask: no such words
    assert all("nobody else here" not in r.gap for r in q_gap.rows)
    log.admit("n", "mentor")
    assert "nobody else here" not in ledger_for(log.view(), log.id("m")).rows[0].gap


def test_before_the_first_counted_hour_the_cycle_shown_is_the_first_one() -> None:
    """Nothing counted before 2027 and no start set: 2026 falls in no cycle, and the one shown is 2027's, not 2022-2026."""
    rule = DEFAULT_RULE
    held = MeetingClaims("x", "2027-01-12 14:00", True, True, 60, (("m", "mentor", 60),))
    led = compute_ledger("a", rule, [held])
    now = led.current_cycle(2026)
    assert (now.start, now.end, now.minutes) == (2027, 2031, 60)
    assert (led.cycle_for(2026).start, led.cycle_for(2026).minutes) == (2022, 0)  # a year asked for is its own cycle
    chosen = compute_ledger("a", rule, [held], start=2025)  # a start the member set is kept as set: 2025-2029 holds 2027
    assert (chosen.current_cycle(2026).start, chosen.current_cycle(2026).minutes) == (2025, 60)
