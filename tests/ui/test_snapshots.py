"""What a person sees on every screen, at 80x24 and 120x40, with a frozen clock and the fixed demo cohort.

Ids are random per build; no screen renders them, so these images are stable.
"""

from __future__ import annotations

import pytest

from circle.app import make_app

from .conftest import opened

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.parametrize("size", SIZES)
def test_unlock_screen(snap_compare, demo_home, clock, size):
    """The unlock box: who are you (Kwame preselected), passphrase, Unlock."""
    app = make_app(demo_home, identity="Kwame Mensah", clock=clock, cursor_blink=False)
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_home_screen(snap_compare, app_for, size):
    """Home: the cohort, its next meeting, Kwame facilitates (you), three open actions, sync off."""
    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=opened)


@pytest.mark.parametrize("size", SIZES)
def test_cohort_charter(snap_compare, app_for, size):
    """Cohort: the charter tab: purpose, cadence, confidentiality and feedback norms."""
    assert snap_compare(app_for("Helen Okafor"), terminal_size=size, run_before=opened, press=["enter"])


@pytest.mark.parametrize("size", SIZES)
def test_cohort_roster(snap_compare, app_for, size):
    """Cohort: the roster with roles and professions; Kwame marked as next facilitator."""
    assert snap_compare(app_for("Helen Okafor"), terminal_size=size, run_before=opened, press=["enter", "2"])


@pytest.mark.parametrize("size", SIZES)
def test_cohort_rota(snap_compare, app_for, size):
    """Cohort: the rota, upcoming turns first, then who facilitated each past meeting (a give-back and a handoff)."""
    assert snap_compare(app_for("Helen Okafor"), terminal_size=size, run_before=opened, press=["enter", "3"])


@pytest.mark.parametrize("size", SIZES)
def test_cohort_meetings(snap_compare, app_for, size):
    """Cohort: upcoming and past meetings with facilitator and item counts."""
    assert snap_compare(app_for("Helen Okafor"), terminal_size=size, run_before=opened, press=["enter", "4"])


@pytest.mark.parametrize("size", SIZES)
def test_meeting_room_before_start(snap_compare, app_for, size):
    """Meeting room before check-in: carried-over items marked ↻, "last time you said…" on the right."""
    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=opened, press=["m"])


@pytest.mark.parametrize("size", SIZES)
def test_meeting_room_item_running(snap_compare, app_for, size):
    """Meeting room in the agenda phase with the first item's countdown running (frozen clock: 15:00)."""
    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=opened, press=["m", "n", "n", "enter"])


@pytest.mark.parametrize("size", SIZES)
def test_meeting_room_time_up(snap_compare, app_for, clock, size):
    """Meeting room after the timebox ran out: "time's up +01:00" and a gentle notification."""

    async def run_before(pilot) -> None:
        await opened(pilot)
        await pilot.press("m", "n", "n", "enter")
        await pilot.pause()
        room = pilot.app.screen
        clock.advance(14 * 60)
        room.tick()
        await pilot.pause()
        clock.advance(2 * 60)
        room.tick()
        await pilot.pause()

    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_meeting_room_people_and_round(snap_compare, app_for, size):
    """Meeting room, People tab: attendance ticks."""
    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=opened, press=["m", "3"])


@pytest.mark.parametrize("size", SIZES)
def test_meeting_past_round(snap_compare, app_for, size):
    """A held meeting's anonymous round: lines without names."""
    assert snap_compare(app_for("Helen Okafor"), terminal_size=size, run_before=opened, press=["enter", "4", "down", "down", "down", "enter", "4"])


@pytest.mark.parametrize("size", SIZES)
def test_add_action_form(snap_compare, app_for, size):
    """The add-action form: title, owner (you first), due date."""
    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=opened, press=["m", "t"])


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, app_for, size):
    """Help over the meeting room: every key of the screen, lists, and everywhere."""
    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=opened, press=["m", "question_mark"])


@pytest.mark.parametrize("size", SIZES)
def test_high_contrast_meeting_room(snap_compare, app_for, size):
    """The meeting room in the high-contrast theme."""
    assert snap_compare(app_for("Kwame Mensah", theme="circle-high-contrast"), terminal_size=size, run_before=opened, press=["m"])


# ---- the second pass of the meeting room and the screens around it (issue 12) -------------------


@pytest.mark.parametrize("size", SIZES)
def test_unlock_first_run_asks_twice_with_a_strength_hint(snap_compare, tmp_path, clock, size):
    """An empty home: name, passphrase, the same again; the strength in words; a mismatch said plainly, what was typed kept."""
    app = make_app(tmp_path / "fresh", clock=clock, cursor_blink=False)

    async def run_before(pilot) -> None:
        await pilot.press(*"Nadia Haddad", "enter", *"four quiet words here", "enter", *"four quiet words hare", "enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_cohort_actions_with_overdue_ones_in_words(snap_compare, app_for, size):
    """Cohort, Actions tab (5): open actions first, overdue ones marked OVERDUE (frozen clock), a line at the top says how many."""
    assert snap_compare(app_for("Helen Okafor"), terminal_size=size, run_before=opened, press=["enter", "5"])


@pytest.mark.parametrize("size", SIZES)
def test_cohort_with_a_swap_waiting_for_me(snap_compare, app_for, demo_home, clock, size):
    """Priya's cohort screen after Kwame asked to swap turns: the request is named at the top until she answers (w)."""
    from circle.sync.service import SyncService

    from .conftest import unlock

    kwame = unlock(demo_home, "Kwame Mensah", clock)
    svc = kwame.cohort(kwame.cohort_ids()[0])
    up = [t.meeting for t in svc.rota().upcoming()]
    svc.swap(up[0], up[1])
    SyncService(kwame).once()
    kwame.close()
    app = app_for("Priya Nair")

    async def run_before(pilot) -> None:
        await opened(pilot)
        SyncService(app.session).once()
        await pilot.press("enter")
        await opened(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_meeting_room_attendance_in_words(snap_compare, app_for, size):
    """People tab in check-in: present, absent and not marked in words and symbols, not colour alone; the hint says what Enter does here."""

    async def run_before(pilot) -> None:
        await opened(pilot)
        await pilot.press("m", "n", "3", "enter", "down", "space", "space")
        await pilot.pause()

    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_meeting_room_more_time_and_an_edited_note(snap_compare, app_for, size):
    """The running item given five more minutes (15 +5), a note on it edited (marked), the hint for the notes panel."""

    async def run_before(pilot) -> None:
        await opened(pilot)
        await pilot.press("m", "n", "n", "enter", "plus", "o", *"Bed 4 worried about discharge", "enter")
        await pilot.pause()
        await pilot.press("1", "e", *" at home", "enter")  # Enter in the text submits; the kind stays a note
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        pilot.app.clear_notifications()  # the toasts ("More time") would hide the hint under them
        await pilot.pause()

    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_form_keeps_what_was_typed_and_says_what_is_wrong_beside_the_field(snap_compare, app_for, size):
    """The add-action form after a due date of "next friday": the title kept, the error under the due date."""
    assert snap_compare(
        app_for("Kwame Mensah"), terminal_size=size, run_before=opened, press=["m", "t", *"Draft the feedback guide", "enter", "tab", *"next friday", "enter"]
    )


@pytest.mark.parametrize("size", SIZES)
def test_redaction_says_what_it_cannot_do(snap_compare, app_for, size):
    """Del on an agenda item: the confirmation says it hides everywhere and cannot erase; Keep it is the default."""
    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=opened, press=["m", "down", "down", "down", "down", "delete"])


@pytest.mark.parametrize("size", SIZES)
def test_monochrome_meeting_room(snap_compare, app_for, monkeypatch, size):
    """The meeting room with NO_COLOR: the focused panel, the running item and the hint still read without colour."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(app_for("Kwame Mensah"), terminal_size=size, run_before=opened, press=["m", "n", "n", "enter"])


# ---- agreements ---------------------------------------------------------------------------------


def test_charter_agreement_screen(snap_compare, app_for):
    """The charter agreement from the cohort screen (c): its sections, five signatures with their declarations
    (Tom's conflict of interest in words), Lucia and Sam still to sign; s signs, p amends."""
    assert snap_compare(app_for("Kwame Mensah"), terminal_size=(100, 40), run_before=opened, press=["enter", "c"])
