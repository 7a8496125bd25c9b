"""The goals screen (o on the cohort screen): goals with owner, domain, progress, target, status and who can read each.

What a person sees: their own goals first, each with a badge saying who can
read it ("Only you and Helen Okafor", "Everyone in the cohort"); a goal with no
check-in for four weeks marked; the same nudge on the home screen. Setting a
goal asks who may read it; a private one never reaches the cohort's view.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select

from circle.screens.goals import GoalsScreen
from circle.screens.modals import FormModal, PickModal
from circle.store.goals import GoalService
from tests.security.laptops import copy_db

from .conftest import FrozenClock, opened, tab_through_in_view, unlock

WEEK = 7 * 86400


def kwame_sets_goals(home: Path, clock: FrozenClock) -> None:
    """Six weeks ago Kwame set a private goal with Helen and a shared one; he checked in on the shared one last week.

    His journal reaches Helen's and Amara's devices as sync would carry it.
    """
    then = FrozenClock(clock.now - 6 * WEEK)
    kwame = unlock(home, "Kwame Mensah", then)
    cid = kwame.cohort_ids()[0]
    goals = GoalService(kwame.cohort(cid))
    goals.add("Handover to ED staff in under two minutes", "skill", "timed at three handovers, SBAR complete", "2025-08-31")
    shared = goals.add("Teach the crew the new sepsis screen", "knowledge", "two sessions, a quiz with 8/10 or more", "2025-09-30", shared=True)
    then.now = clock.now - WEEK
    goals.check_in(shared, 50, "First session done with B-shift", evidence="attendance sheet, 27 May")
    src = kwame.store(cid)
    for other in ("Helen Okafor", "Amara Singh"):
        s = unlock(home, other, clock)
        copy_db(src.journal.path, s.store(cid).peer_dir() / f"{src.entry.journal}.db")
        s.store(cid).ingest()
        s.close()
    kwame.close()


async def open_goals(pilot) -> GoalsScreen:
    await opened(pilot)
    await pilot.press("enter")
    await opened(pilot)
    await pilot.press("o")
    await opened(pilot)
    assert isinstance(pilot.app.screen, GoalsScreen)
    return pilot.app.screen


def rows(screen: GoalsScreen) -> list[str]:
    return [str(t) for _rid, t in screen.last.rows]


async def test_goals_show_who_can_read_them_and_nudge_the_quiet_one(app_for, demo_home, clock):
    kwame_sets_goals(demo_home, clock)
    app = app_for("Kwame Mensah")
    async with app.run_test(size=(110, 34)) as pilot:
        await opened(pilot)
        home = app.screen
        row = next(str(c.row) for c in home.lines.values() if c.opened)
        assert "⏰ 1 goal needs a check-in" in row  # the private goal, quiet for six weeks
        screen = await open_goals(pilot)
        private, shared = rows(screen)
        assert private.startswith("⏰ never checked in for 6 weeks  Handover to ED staff")
        assert "You · skill · ██" not in private and "░░░░░░░░░░   0% · by 2025-08-31 · active" in private
        assert "🔒 Only you and Helen Okafor" in private
        assert "█████░░░░░  50% · by 2025-09-30 · active" in shared and "evidence: attendance sheet, 27 May" in shared
        assert "👥 Everyone in the cohort" in shared and "⏰" not in shared


async def test_a_mentor_sees_the_private_goal_a_peer_does_not(app_for, demo_home, clock):
    kwame_sets_goals(demo_home, clock)
    async with app_for("Amara Singh").run_test(size=(110, 34)) as pilot:
        screen = await open_goals(pilot)
        assert [r.split("\n")[0] for r in rows(screen)] == ["Teach the crew the new sepsis screen"]
    async with app_for("Helen Okafor").run_test(size=(110, 34)) as pilot:
        screen = await open_goals(pilot)
        assert any("🔒 Only Kwame Mensah and you" in r and r.startswith("⏰ never checked in") for r in rows(screen))


async def test_setting_a_private_goal_and_checking_in_from_the_screen(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await open_goals(pilot)
        cohort_events = len(screen.service.view)
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one("#field-title", Input).value = "Lead a debrief after a cardiac arrest"
        form.query_one("#field-domain", Select).value = "judgement"
        form.query_one("#field-measure", Input).value = "two debriefs, crew feedback forms"
        form.query_one("#field-target", Input).value = "2025-10-01"
        where = form.query_one("#field-where", Select)
        assert where.value.startswith("dyad:")  # private with the mentor unless chosen otherwise
        form.query_one("#field-target", Input).focus()
        await pilot.press("enter")
        await opened(pilot)
        assert app.screen is screen
        assert len(screen.service.view) == cohort_events  # nothing reached the cohort scope
        (row,) = rows(screen)
        assert "Lead a debrief" in row and "judgement" in row and "🔒 Only you and Helen Okafor" in row
        await pilot.press("k")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one("#field-progress", Input).value = "30"
        form.query_one("#field-note", Input).value = "Led one; missed the emotional check-in"
        form.query_one("#field-evidence", Input).value = "debrief notes, 3 June"
        form.query_one("#field-evidence", Input).focus()
        await pilot.press("enter")
        await opened(pilot)
        (row,) = rows(screen)
        assert "███░░░░░░░  30%" in row and "evidence: debrief notes, 3 June" in row
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, PickModal)
        await pilot.press("enter")  # the first status other than active: achieved
        await opened(pilot)
        assert "· achieved" in rows(screen)[0]


def test_goals_screen_snapshot(snap_compare, app_for, demo_home, clock):
    """Kwame's goals: the private one nudged after six quiet weeks with the badge naming Helen, the shared one half done with its evidence."""
    kwame_sets_goals(demo_home, clock)

    async def to_goals(pilot):
        await open_goals(pilot)

    assert snap_compare(app_for("Kwame Mensah"), terminal_size=(100, 30), run_before=to_goals)


async def test_the_new_goal_form_scrolls_on_a_30_row_terminal(app_for):
    """The new goal form is taller than 30 rows: each field, and the Set button, comes into view as Tab reaches it."""
    app = app_for("Kwame Mensah")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_goals(pilot)
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal)
        await tab_through_in_view(pilot)


async def test_a_sole_mentors_new_goal_is_shared_by_default_not_set_with_a_mentee(app_for):
    app = app_for("Helen Okafor")  # the demo's only mentor
    async with app.run_test(size=(100, 34)) as pilot:
        await open_goals(pilot)
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal) and form.query_one("#field-where", Select).value == "cohort"
