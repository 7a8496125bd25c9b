"""The charter agreement screen: from the cohort screen (c), a member signs after saying explicitly whether they have a
conflict of interest; a mentor amends the text and everyone signs again; a member who is not a mentor cannot amend."""

from __future__ import annotations

from textual.widgets import Button, Input, Select, Static

from circle.screens.agreement import AgreementScreen
from circle.screens.modals import FormModal

from .conftest import opened

SIZE = (100, 34)


def _text(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def _agreement(pilot) -> AgreementScreen:
    await opened(pilot)
    await pilot.press("enter")  # the cohort
    await opened(pilot)
    await pilot.press("c")
    await opened(pilot)
    assert isinstance(pilot.app.screen, AgreementScreen)
    return pilot.app.screen


async def test_a_member_signs_only_after_saying_whether_they_have_a_conflict_of_interest(app_for):
    app = app_for("Lucia Romero")  # the demo's charter waits for Lucia and Sam
    async with app.run_test(size=SIZE) as pilot:
        screen = await _agreement(pilot)
        body = _text(app, "#agreement-body")
        assert "Version 1" in body and "Lucia Romero (you: s signs)" in body and "Tom Berg · conflict of interest: I supervise Sam O'Neill's" in body
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, FormModal)
        await pilot.click("#submit")  # nothing chosen: asked again, nothing signed
        await pilot.pause()
        assert isinstance(app.screen, FormModal) and "say whether you have a conflict of interest" in _text(app, "#error-declare")
        app.screen.query_one("#field-declare", Select).value = "some"
        await opened(pilot)  # the form takes the value (and shows the conflict's field)
        # "yes" without saying what: asked again. The button is pressed, not clicked: the form grows by the
        # conflict's field, and under load (CI) a click at where the button was could land beside it.
        app.screen.query_one("#submit", Button).press()
        await opened(pilot)
        assert "describe the conflict you declare" in _text(app, "#error-coi")
        app.screen.query_one("#field-coi", Input).value = "I co-author a paper with Amara Singh"
        await opened(pilot)  # the form takes the value (and lays out again) before the click
        await pilot.click("#submit")
        await opened(pilot)  # the signature is written in the background; on a loaded machine a pause is not enough
        assert app.screen is screen
        a = screen.agreements.charter()
        me = screen.service.me
        assert {s.member: s.coi for s in a.current.signatures}[me] == "I co-author a paper with Amara Singh"
        await opened(pilot)
        body = _text(app, "#agreement-body")
        assert "Lucia Romero (you) · conflict of interest: I co-author a paper with Amara Singh" in body and "(you: s signs)" not in body
        await pilot.press("p")  # not a mentor: told so, no form
        await pilot.pause()
        assert app.screen is screen and screen.agreements.charter().current.number == 1


async def test_a_mentor_amends_and_signatures_start_again(app_for):
    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _agreement(pilot)
        await pilot.press("p")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal) and form.query_one("#field-goals", Input).value.startswith("Grow as reflective practitioners")
        form.query_one("#field-ending", Input).value = "The circle closes with a review session in July."
        await pilot.click("#submit")
        await pilot.pause()
        assert app.screen is screen
        a = screen.agreements.charter()
        assert [v.number for v in a.versions] == [1, 2] and a.current.signatures == () and len(a.missing()) == 7
        await opened(pilot)
        body = _text(app, "#agreement-body")
        assert "Version 2" in body and "7 still to sign" in body and "version 1 · Helen Okafor · 5 signatures" in body
        assert "The circle closes with a review session in July." in body
