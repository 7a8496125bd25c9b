"""What the cohort's rules held aside, forks and a lost own journal are said on the home and cohort screens, with what to do."""

from __future__ import annotations

from textual.widgets import Static

from circle.screens.cohort import CohortScreen

from .conftest import opened, unlock

SIZE = (100, 30)


def _text(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def _home_and_cohort(app) -> tuple[str, str, str]:
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        row = str(app.screen.lines[next(iter(app.screen.lines))].row)
        detail = _text(app, "#home-detail")
        await pilot.press("enter")
        await opened(pilot)
        assert isinstance(app.screen, CohortScreen)
        return row, detail, _text(app, "#cohort-banner")


async def test_a_clean_cohort_says_nothing_is_wrong(app_for):
    row, detail, banner = await _home_and_cohort(app_for("Sam O'Neill"))
    assert "needs attention" not in row and "⚠" not in detail and "rules" not in banner


async def test_an_event_held_aside_by_the_rules_is_said_with_what_to_do(app_for, demo_home, clock):
    sam = unlock(demo_home, "Sam O'Neill", clock)
    store = sam.cohort(sam.cohort_ids()[0]).store
    store.record("cohort.charter_set", {"purpose": "A participant rewrites the charter"})  # only a mentor may: an altered client
    sam.close()
    row, detail, banner = await _home_and_cohort(app_for("Sam O'Neill"))
    assert "needs attention" in row
    for shown in (detail, banner):
        assert "1 event broke the cohort's rules and is shown to nobody; 'circle verify' lists it." in shown
    assert "A participant rewrites" not in detail + banner


async def test_a_forked_journal_names_its_member_and_what_to_do(app_for, demo_home, clock):
    kwame = unlock(demo_home, "Kwame Mensah", clock)
    store = kwame.cohort(kwame.cohort_ids()[0]).store
    tom = next(m for m in store.view.members() if m.name == "Tom Berg")
    journal = next(j for j, _path in tom.journals)
    app = app_for("Kwame Mensah")
    # What ingest does when two histories of one journal are seen (see JournalChecker): the alarm, with evidence.
    app.session.cohort(app.session.cohort_ids()[0]).store.checker.alarm_with(journal, "fork", "two histories were seen", b"one", b"two")
    row, detail, banner = await _home_and_cohort(app)
    assert "needs attention" in row
    for shown in (detail, banner):
        assert "Tom Berg's journal: two histories were seen. Nothing past that point is shown; compare in person" in shown


async def test_a_fork_found_while_the_screen_is_open_shows_without_a_new_event(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("enter")
        await opened(pilot)
        assert "journal" not in _text(app, "#cohort-banner")
        store = app.screen.service.store
        tom = next(m for m in store.view.members() if m.name == "Tom Berg")
        store.checker.alarm_with(next(j for j, _path in tom.journals), "fork", "two histories were seen", b"one", b"two")
        app.screen.refresh_view()
        await opened(pilot)
        assert "Tom Berg's journal: two histories were seen." in _text(app, "#cohort-banner")
