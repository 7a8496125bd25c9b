"""The credits screen: reached from the cohort screen with c; the ledger, the rule in force beside every figure, attesting your own hours.

The demo cohort gets a few attestations first: Kwame attests two of his
meetings, Helen (the supervising mentor) countersigns one of them and another
he has not attested, and the journals travel between their devices as sync
would carry them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from circle.models.credits import hours
from circle.screens.credits import CreditsScreen
from circle.screens.modals import FormModal
from circle.store.credits import CreditService
from tests.security.laptops import copy_db

from .conftest import opened, unlock


def attest_some(home: Path, clock) -> None:
    kwame, helen = unlock(home, "Kwame Mensah", clock), unlock(home, "Helen Okafor", clock)
    cid = kwame.cohort_ids()[0]
    ks, hs = kwame.cohort(cid), helen.cohort(cid)
    held = [m for m in ks.view.meetings() if m.held]
    CreditService(ks).attest(held[-1].id)
    CreditService(ks).attest(held[-2].id, minutes=45)
    CreditService(hs).attest(held[-2].id, kwame.id, 50)
    CreditService(hs).attest(held[-3].id, kwame.id)
    for a, b in ((kwame, helen), (helen, kwame)):
        src = a.store(cid)
        copy_db(src.journal.path, b.store(cid).peer_dir() / f"{src.entry.journal}.db")
        b.store(cid).ingest()
    kwame.close()
    helen.close()


async def open_credits(pilot) -> None:
    await opened(pilot)
    await pilot.press("enter")  # the cohort
    await opened(pilot)
    await pilot.press("h")
    await opened(pilot)


async def test_credits_screen_shows_the_rule_with_the_figures_and_attests_my_hours(app_for, demo_home, clock):
    attest_some(demo_home, clock)
    app = app_for("Kwame Mensah")
    async with app.run_test(size=(110, 36)) as pilot:
        await open_credits(pilot)
        screen = app.screen
        assert isinstance(screen, CreditsScreen)
        svc = screen.service
        me = svc.me
        rule = str(screen.query_one("#credits-rule").render())
        assert "Mentorship contract (default): 1 CEU per 2 h with a mentor, at most 50 per 5-year cycle" in rule
        ledger = screen.query_one("#credits-ledger")
        mine = str(ledger.get_option(me).prompt)
        assert "45 min in 2025–2029 → 0 CEU of 50" in mine  # 45 counted: the smaller figure, short of one unit
        assert "rule: Mentorship contract (default)" in mine and "missing for an audit" in mine
        held = [m for m in svc.view.meetings() if m.held]
        # The newest held meeting is highlighted: Kwame attested it, nobody countersigned yet.
        assert screen.query_one("#credits-mine").highlighted_id == held[-1].id
        # Move to the one Helen countersigned without Kwame's own attestation, and attest it.
        await pilot.press("down", "down", "a")
        await pilot.pause()
        assert isinstance(app.screen, FormModal)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CreditsScreen)
        own = [a for a in svc.view.credits().attestations if a.author == me and a.meeting == held[-3].id]
        assert [a.minutes for a in own] == [held[-3].minutes]
        await opened(pilot)
        mine = str(ledger.get_option(me).prompt)
        assert f"{hours(45 + held[-3].minutes)} in 2025–2029" in mine


@pytest.mark.parametrize("size", [pytest.param((100, 32), id="100x32")])
def test_credits_screen_snapshot(snap_compare, app_for, demo_home, clock, size):
    """Credits: the rule in force on top; each member's hours, credits of the cap and rule; Kwame's meetings with what is missing."""
    attest_some(demo_home, clock)
    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=open_credits)
