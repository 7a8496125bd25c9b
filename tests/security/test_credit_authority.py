"""Credits under an altered client: hours and rules nobody was entitled to write change no figure on anyone else's device.

The altered client writes with ``CohortStore.record`` (past the courtesy
checks of :class:`CreditService`); the honest laptops receive it and their
ledgers stay what the honest attestations make them. The honest path runs in
each test, so each can fail.
"""

from __future__ import annotations

import pytest

from circle.errors import CircleError
from circle.models.credits import ledger_for
from circle.store.credits import CreditService
from tests.security.laptops import Laptops, tally

RULE = {
    "id": "mine",
    "name": "Generous",
    "hours_per_unit": "0.25",
    "credits_per_unit": "100",
    "cap": "0",
    "cycle_years": 1,
    "activities": ["meeting"],
    "roles": ["participant"],
}


@pytest.fixture
def ward(tmp_path) -> Laptops:
    """Ana (founder, mentor), Ben (peer: the rota's facilitator), Cleo and Dev (participants); one meeting held, one cancelled."""
    lap = Laptops(tmp_path, "Ana")
    lap.join("Ben", "peer")
    lap.join("Cleo", "participant")
    lap.join("Dev", "participant")
    lap.sync()
    ana = lap.svc("Ana")
    lap.held = ana.schedule("2026-03-04 18:00", "March", 90)
    lap.cancelled = ana.schedule("2026-03-18 18:00", "Cancelled")
    ana.store.record("meeting.updated", {"meeting": lap.cancelled, "cancelled": True})
    lap.sync()
    assert lap.svc("Ben").facilitator(lap.held) == lap.id("Ben")
    lap.svc("Ben").mark_held(lap.held)
    lap.sync()
    return lap


def figures(lap: Laptops, on: str) -> dict[str, tuple[int, str, str]]:
    """Every member's counted minutes, credits this cycle and rule, as ``on``'s device computes them."""
    view = lap.svc(on).view
    out = {}
    for m in view.members():
        led = ledger_for(view, m.id)
        out[m.name] = (led.minutes, str(led.cycle_for(2026).credits), led.rule.id)
    return out


def test_hours_attested_for_someone_else_by_a_member_who_did_not_lead_count_nothing(ward: Laptops):
    """Cleo (participant, altered) countersigns Dev's hours; only Ben (facilitator) or Ana (mentor) may."""
    dev, cleo = ward.id("Dev"), ward.store("Cleo")
    CreditService(ward.svc("Dev")).attest(ward.held, minutes=90)
    with pytest.raises(CircleError):  # the honest client says no
        CreditService(ward.svc("Cleo")).attest(ward.held, dev, 90)
    bad = cleo.record("attendance.attested", {"meeting": ward.held, "member": dev, "minutes": 90})
    ward.sync()
    tried = accepted = 0
    for name in ("Ana", "Ben", "Dev"):
        view = ward.svc(name).view
        tried += 1
        accepted += bad.id not in view.refused() or ledger_for(view, dev).minutes != 0
    assert ward.svc("Ana").view.refused()[bad.id] == "only the member, the meeting's facilitator or a mentor attests attendance"
    # The honest path: Ana (mentor) countersigns, and Dev's 90 minutes count everywhere.
    CreditService(ward.svc("Ana")).attest(ward.held, dev, 90)
    ward.sync()
    assert all(figures(ward, n)["Dev"][0] == 90 for n in ("Ana", "Ben", "Cleo", "Dev"))
    tally("credits: attest for another, not leading", tried, accepted)
    assert accepted == 0


def test_a_rule_set_by_a_non_mentor_changes_no_figure(ward: Laptops):
    """Ben (peer, altered) sets a generous rule (100 credits a quarter hour, no cap, participants' word counts): nobody uses it."""
    CreditService(ward.svc("Cleo")).attest(ward.held, minutes=90)
    CreditService(ward.svc("Ben")).attest(ward.held, ward.id("Cleo"), 90)  # the facilitator countersigns
    ward.sync()
    before = {n: figures(ward, n) for n in ("Ana", "Cleo", "Dev")}
    with pytest.raises(CircleError):
        CreditService(ward.svc("Ben")).set_rule("Generous", hours_per_unit="0.25", credits_per_unit="100")
    bad = ward.store("Ben").record("credit.rule_set", RULE)
    ward.sync()
    tried = accepted = 0
    for n in ("Ana", "Cleo", "Dev"):
        tried += 1
        accepted += figures(ward, n) != before[n] or bad.id not in ward.svc(n).view.refused()
        assert ward.svc(n).view.credits().in_force.default
    # The honest path: the same rule from Ana (mentor) is in force everywhere, and changes the figures.
    CreditService(ward.svc("Ana")).set_rule("Peer hours", hours_per_unit="1", credits_per_unit="1", cap="10", cycle_years=3, roles=("mentor", "peer"))
    ward.sync()
    assert figures(ward, "Dev")["Cleo"] == (90, "1", "peer-hours")
    tally("credits: rule set by a non-mentor", tried, accepted)
    assert accepted == 0


def test_inflated_minutes_count_only_what_both_said(ward: Laptops):
    """Cleo (altered) claims 600 minutes of a 90-minute meeting; the facilitator said 90: 90 count, 600 nowhere."""
    cleo = ward.id("Cleo")
    inflated = ward.store("Cleo").record("attendance.attested", {"meeting": ward.held, "member": cleo, "minutes": 600})
    too_long = ward.store("Cleo").record("attendance.attested", {"meeting": ward.held, "member": cleo, "minutes": 6000})  # past the schema
    CreditService(ward.svc("Ben")).attest(ward.held, cleo, 90)
    ward.sync()
    tried = accepted = 0
    for n in ("Ana", "Ben", "Dev"):
        view = ward.svc(n).view
        tried += 2
        led = ledger_for(view, cleo, view.credits().in_force)
        accepted += ledger_for(view, cleo).minutes > 90
        accepted += too_long.id not in view.refused()
        assert inflated.id not in view.refused()  # her own claim stands as hers; it cannot count past the countersignature
        assert led.rows[0].own == 600 and led.rows[0].countersigned is None  # the default rule counts a mentor's word, not a peer's
    # Ana (mentor) countersigns 80: the smaller figure counts, 80 everywhere.
    CreditService(ward.svc("Ana")).attest(ward.held, cleo, 80)
    ward.sync()
    assert {ledger_for(ward.svc(n).view, cleo).minutes for n in ("Ana", "Ben", "Cleo", "Dev")} == {80}
    tally("credits: inflated minutes", tried, accepted)
    assert accepted == 0


def test_attestations_of_a_cancelled_meeting_count_nothing(ward: Laptops):
    """Dev and Ana (mentor), both altered, attest the cancelled meeting for Dev; refused everywhere, figures unchanged."""
    dev = ward.id("Dev")
    before = figures(ward, "Ana")
    with pytest.raises(CircleError):
        CreditService(ward.svc("Dev")).attest(ward.cancelled, minutes=60)
    own = ward.store("Dev").record("attendance.attested", {"meeting": ward.cancelled, "member": dev, "minutes": 60})
    counter = ward.store("Ana").record("attendance.attested", {"meeting": ward.cancelled, "member": dev, "minutes": 60})
    ward.sync()
    tried = accepted = 0
    for n in ("Ana", "Ben", "Cleo"):
        refused = ward.svc(n).view.refused()
        tried += 2
        accepted += (own.id not in refused) + (counter.id not in refused)
        assert figures(ward, n) == before
    assert ward.svc("Ben").view.refused()[own.id] == "attests a cancelled meeting"
    tally("credits: cancelled meeting", tried, accepted)
    assert accepted == 0
