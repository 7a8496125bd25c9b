"""The credits screen: reached from the cohort screen with c; the ledger, the rule in force beside every figure, attesting your own hours.

The demo cohort carries its attestations: every member attested the meetings
they attended and Helen (the supervising mentor) countersigned them, except
in the newest held meeting, where Sam has not attested yet and Helen has not
countersigned Kwame yet.
"""

from __future__ import annotations

import pytest

from circle.models.credits import hours
from circle.screens.credits import CreditsScreen
from circle.screens.modals import FormModal
from circle.store.credits import CreditService

from .conftest import opened, unlock


async def open_credits(pilot) -> None:
    await opened(pilot)
    await pilot.press("enter")  # the cohort
    await opened(pilot)
    await pilot.press("h")
    await opened(pilot)


def attended(svc, who: str) -> list:
    return [m for m in svc.view.meetings() if m.held and svc.view.attendance(m.id).get(who)]


async def test_credits_screen_shows_the_rule_with_the_figures_and_attests_my_hours(app_for):
    app = app_for("Sam O'Neill")
    async with app.run_test(size=(110, 36)) as pilot:
        await open_credits(pilot)
        screen = app.screen
        assert isinstance(screen, CreditsScreen)
        svc = screen.service
        me = svc.me
        rule = str(screen.query_one("#credits-rule").render())
        assert "Mentorship contract (default): 1 CEU per 2 h with a mentor, at most 50 per 5-year cycle" in rule
        mine_met = attended(svc, me)
        counted = sum(m.minutes for m in mine_met[:-1])  # the newest is countersigned, but Sam has not attested it
        ledger = screen.query_one("#credits-ledger")
        mine = str(ledger.get_option(me).prompt)
        assert f"{hours(counted)} in 2025–2029" in mine and "rule: Mentorship contract (default)" in mine, [(m.at, m.minutes) for m in mine_met]
        # The newest held meeting is highlighted: his own attestation is what it lacks. He attests it.
        assert screen.query_one("#credits-mine").highlighted_id == mine_met[-1].id
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, FormModal)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CreditsScreen)
        own = [a for a in svc.view.credits().attestations if a.author == me and a.meeting == mine_met[-1].id]
        assert [a.minutes for a in own] == [mine_met[-1].minutes]
        await opened(pilot)
        mine = str(ledger.get_option(me).prompt)
        assert f"{hours(counted + mine_met[-1].minutes)} in 2025–2029" in mine
        # Kwame's newest meeting waits for Helen's countersignature; Helen's own hours wait for a second mentor.
        kwame = next(m.id for m in svc.view.members() if m.name == "Kwame Mensah")
        assert "missing for an audit" in str(ledger.get_option(kwame).prompt)


async def test_one_credit_reads_as_one_point_on_the_screen(app_for, demo_home, clock):
    """Helen sets her body's rule, 1 CPD point per hour capped at 1 a cycle: the rule and Sam's capped figure say
    "1 CPD point" (they said "1 CPD points per 1 h" and "1 CPD points of 1")."""
    helen = unlock(demo_home, "Helen Okafor", clock)
    rule = "HCPC CPD"
    CreditService(helen.cohort(helen.cohort_ids()[0])).set_rule(rule, hours_per_unit="1", credits_per_unit="1", cap="1", cycle_years=2, unit="CPD points")
    helen.close()
    app = app_for("Helen Okafor")
    async with app.run_test(size=(110, 36)) as pilot:
        await open_credits(pilot)
        screen = app.screen
        assert isinstance(screen, CreditsScreen)
        assert f"{rule}: 1 CPD point per hour with a mentor, at most 1 per 2-year cycle" in str(screen.query_one("#credits-rule").render())
        sam = next(m.id for m in screen.service.view.members() if m.name == "Sam O'Neill")
        assert "→ 1 CPD point of 1 (cap reached)" in str(screen.query_one("#credits-ledger").get_option(sam).prompt)


@pytest.mark.parametrize("size", [pytest.param((100, 32), id="100x32")])
def test_credits_screen_snapshot(snap_compare, app_for, size):
    """Credits: the rule in force on top; each member's hours, credits of the cap and rule; Kwame's meetings with what is missing."""
    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=open_credits)
