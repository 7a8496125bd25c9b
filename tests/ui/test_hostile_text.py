"""Text from other members is data: what a person sees when members wrote markup, escape sequences and huge strings.

The hostile home (tests/hostile.py) is the demo cohort after its members,
with an altered client, renamed the cohort and themselves and wrote items,
notes, decisions, actions and anonymous lines full of Textual markup
(``[/]``, ``[@click=app.quit]``, ``[link=…]``), terminal escapes (CSI, OSC 0
and 8), BEL, BS, CR, C1 controls, bidi overrides, zero-width characters and
strings as long as each field may be. Every screen shows all of it literally, with each
control character as a visible placeholder (``␛``, ``␇``, ``�``), long text
cut with an ellipsis in lists; nothing crashes, nothing acts on a click, and
no byte of it reaches the terminal as a control sequence.
"""

from __future__ import annotations

import pytest

from circle.screens.cohort import CohortScreen
from circle.screens.home import HomeScreen
from circle.screens.meeting import MeetingScreen
from circle.screens.modals import PickModal, ReadModal
from circle.widgets import WindowedList
from tests.hostile import IDENTITY_NAME, LONG, NAMES, unsafe_characters

from .conftest import opened

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SIZE = (120, 40)
# What must never reach the terminal as it was written (the compositor's own escape sequences are CSI cursor moves and colours).
RAW = ["\x1b]", "\x1b[2J", "\x07", "\x08", "\r", "\x9b", "\x85", "\u202e", "\u202c", "\u200b"]


def terminal_output(app) -> str:
    """Exactly what the app would write to a terminal to paint the current screen in full."""
    return app.screen._compositor.render_full_update().render_segments(app.console)


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def assert_nothing_raw_reaches_the_terminal(app) -> None:
    out = terminal_output(app)
    assert [r for r in RAW if r in out] == [], f"on {app.screen}"
    text = "\n".join(screen_lines(app))
    assert not unsafe_characters(text), unsafe_characters(text)[:5]
    assert "␛" in text or "[" in text  # the hostile text is there, shown as written


# ---- every screen, as a person sees it --------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_home_with_hostile_names_and_titles(snap_compare, hostile_app, size):
    """Home: the cohort's name with markup, an OSC 0 and a bidi override, shown literally; a 200-character action title cut with …"""
    assert snap_compare(hostile_app(), terminal_size=size, run_before=opened)


@pytest.mark.parametrize("size", SIZES)
def test_cohort_charter_with_hostile_text(snap_compare, hostile_app, size):
    """Cohort charter: markup, CSI and CR in the purpose, a 4,000-character confidentiality text that scrolls."""
    assert snap_compare(hostile_app(), terminal_size=size, run_before=opened, press=["enter"])


@pytest.mark.parametrize("size", SIZES)
def test_cohort_roster_with_hostile_names(snap_compare, hostile_app, size):
    """Cohort roster: member names with [@click], escapes, bidi, zero-width and backspaces; an 80-character name cut."""
    assert snap_compare(hostile_app(), terminal_size=size, run_before=opened, press=["enter", "2"])


@pytest.mark.parametrize("size", SIZES)
def test_meeting_room_agenda_and_notes_with_hostile_text(snap_compare, hostile_app, size):
    """Meeting room: hostile meeting title, agenda items and notes; the long note cut with "Enter reads it all"."""
    assert snap_compare(hostile_app(), terminal_size=size, run_before=opened, press=["m"])


@pytest.mark.parametrize("size", SIZES)
def test_meeting_room_actions_with_hostile_text(snap_compare, hostile_app, size):
    """Meeting room, Actions: a title with markup and CSI, a 200-character title cut."""
    assert snap_compare(hostile_app(), terminal_size=size, run_before=opened, press=["m", "2"])


@pytest.mark.parametrize("size", SIZES)
def test_meeting_room_people_with_hostile_names(snap_compare, hostile_app, size):
    """Meeting room, People: hostile names in the attendance list, one line each."""
    assert snap_compare(hostile_app(), terminal_size=size, run_before=opened, press=["m", "3"])


@pytest.mark.parametrize("size", SIZES)
def test_meeting_room_round_with_hostile_lines(snap_compare, hostile_app, size):
    """Meeting room, Round: anonymous lines with [@click], OSC 8 and BEL shown as written; the long one in full (it scrolls)."""
    assert snap_compare(hostile_app(), terminal_size=size, run_before=opened, press=["m", "4"])


@pytest.mark.parametrize("size", SIZES)
def test_help_over_a_hostile_meeting_room(snap_compare, hostile_app, size):
    """Help over the hostile meeting room: the keys, unchanged."""
    assert snap_compare(hostile_app(), terminal_size=size, run_before=opened, press=["m", "question_mark"])


async def hand_off_to_tom(pilot) -> None:
    await opened(pilot)
    await pilot.press("m", "h")
    await pilot.pause()
    options = [str(o.prompt) for o in pilot.app.screen.query_one("#pick").options]
    await pilot.press(*["down"] * options.index(NAMES["Tom Berg"]), "enter")
    await pilot.pause()
    await pilot.press("y")  # the handoff asks first (its question names him too)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_a_notification_naming_a_hostile_member(snap_compare, hostile_app, size):
    """After a handoff to the member named "[@click=app.quit]Tom[/] Berg": the toast shows his name as written."""
    assert snap_compare(hostile_app(), terminal_size=size, run_before=hand_off_to_tom)


@pytest.mark.parametrize("size", SIZES)
def test_unlock_with_a_hostile_identity_name(snap_compare, hostile_app, clock, size):
    """Unlock on the hostile home, the identity with markup, an OSC 0 and a bidi override in its name preselected."""
    from circle.app import make_app
    from circle.store.session import Home

    who = next(i.id for i in Home(hostile_app.home).identities() if i.label == IDENTITY_NAME)
    assert snap_compare(make_app(hostile_app.home, identity=who, clock=clock, cursor_blink=False), terminal_size=size)


# ---- nothing in it acts ----------------------------------------------------------------


async def click_every_hostile_click(pilot, where: str) -> int:
    """Click on every character of every "[@click=app.quit]…" shown outside a list; returns how many were found."""
    app = pilot.app
    found = 0
    for y, text in enumerate(screen_lines(app)):
        start = text.find("[@click=app.quit]")
        if start < 0:
            continue
        end = text.find("[/]", start)
        for x in range(start, min(end + 3 if end >= 0 else len(text), app.size.width)):
            widget, _ = app.screen.get_widget_at(x, y)
            if isinstance(widget, WindowedList):  # a row of a list opens what it lists: clicking it is not the point
                continue
            found += 1
            await pilot.click(offset=(x, y))
            assert app.is_running and app.return_code is None, f"a click on {where} at {x},{y} stopped the app"
    return found


async def test_clicking_hostile_click_markup_does_nothing(hostile_app):
    app = hostile_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        clicked = await click_every_hostile_click(pilot, "home")  # the cohort's name in the detail panel
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("enter")
        await opened(pilot)
        clicked += await click_every_hostile_click(pilot, "the cohort screen")  # its title bar
        assert isinstance(app.screen, CohortScreen)
        await pilot.press("escape", "m")
        await opened(pilot)
        await pilot.press("4")
        await pilot.pause()
        clicked += await click_every_hostile_click(pilot, "the meeting room")  # its title, the anonymous round
        assert isinstance(app.screen, MeetingScreen)
        assert clicked >= 40  # the text was there to click on, shown literally
    assert app.return_code in (None, 0)


async def test_every_screen_paints_without_a_raw_control_character(hostile_app):
    app = hostile_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        assert_nothing_raw_reaches_the_terminal(app)
        await pilot.press("enter")
        await opened(pilot)
        for tab in ("1", "2", "3", "4"):
            await pilot.press(tab)
            await pilot.pause()
            assert_nothing_raw_reaches_the_terminal(app)
        await pilot.press("f")  # the fingerprint lists every name
        await pilot.pause()
        assert isinstance(app.screen, ReadModal)
        assert_nothing_raw_reaches_the_terminal(app)
        await pilot.press("escape", "escape", "m")
        await opened(pilot)
        for tab in ("1", "2", "3", "4"):
            await pilot.press(tab)
            await pilot.pause()
            assert_nothing_raw_reaches_the_terminal(app)
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, PickModal)
        assert_nothing_raw_reaches_the_terminal(app)


async def test_the_long_note_is_cut_in_the_list_and_read_whole(hostile_app):
    app = hostile_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("m")
        await opened(pilot)
        notes = app.screen.query_one("#meeting-notes")
        [index] = [i for i, o in enumerate(notes.options) if str(o.prompt).startswith("long long")]
        assert len(str(notes.options[index].prompt)) < 400 and "Enter reads it all" in str(notes.options[index].prompt)
        [ten_lines] = [i for i, o in enumerate(notes.options) if str(o.prompt).startswith("one\ntwo")]
        assert "seven" not in str(notes.options[ten_lines].prompt)  # a note of many lines is cut too
        await pilot.press("1")
        notes.highlighted = index
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReadModal) and app.screen.text == LONG


async def test_a_notification_quoting_an_item_title_shows_it_as_written(hostile_app):
    """'Next item' quotes the item's title (an f-string, as every notification quoting member text is): CircleApp.notify
    reads nothing as markup, so the title shows as written and the app keeps running."""
    app = hostile_app("Helen Okafor")  # the mentor may lead the meeting
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot)
        await pilot.press("m", "n", "n", "enter")  # check-in, agenda, start the first item
        for _ in range(8):  # close items until a hostile title is the next one named
            await pilot.press("x")
            await pilot.pause()
            if any("[bold]x[/] [/] bold?" in n.message for n in app._notifications):
                break
        assert any(n.message == "Now: [bold]x[/] [/] bold?" for n in app._notifications), [n.message for n in app._notifications]
        assert app.is_running


async def test_private_agreement_goals_and_credits_paint_without_a_raw_control_character(hostile_app):
    """Tom's private message and feedback request, Lucia's shared goal and its evidence, Priya's conflict-of-interest
    declaration and Helen's credit rule: all written with markup and escapes, all shown as written on their screens."""
    from circle.screens.agreement import AgreementScreen
    from circle.screens.credits import CreditsScreen
    from circle.screens.goals import GoalsScreen
    from circle.screens.private import PrivateScreen

    app = hostile_app()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        assert "feedback asked of you (2)" in "\n".join(screen_lines(app))  # Tom's, and Sam's from the demo
        await pilot.press("enter")
        await opened(pilot)
        await pilot.press("p")
        await opened(pilot)
        screen = app.screen
        assert isinstance(screen, PrivateScreen)
        tom = next(m.id for m in screen.service.view.members() if "Tom" in m.name)
        while screen.peer != tom:
            await pilot.press("down")
            await pilot.pause()
        shown = "\n".join(screen_lines(app))
        assert "[@click=app.quit]read me[/]" in shown and "my case[/link]" in shown
        assert_nothing_raw_reaches_the_terminal(app)
        await pilot.click("#private-thread-text")  # the click markup is text: nothing quits
        await pilot.pause()
        assert app.return_code is None
        for key, kind, words in (
            ("c", AgreementScreen, "I supervise [@click=app.quit]Sam[/]"),
            ("o", GoalsScreen, "a family meeting"),
            ("h", CreditsScreen, "CPD[/link]"),
        ):
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press(key)
            await opened(pilot)
            assert isinstance(app.screen, kind)
            body = "\n".join(screen_lines(app)) + "".join(str(w.render()) for w in app.screen.query("Static"))
            assert words in body, kind
            assert_nothing_raw_reaches_the_terminal(app)
        assert_nothing_raw_reaches_the_terminal(app)
