"""The cohort screen and the meeting room paint from the cohort's front page before the cohort is folded (issue 14).

Enter or m on a cohort that is still being folded opens its screen at once,
from what that screen showed when circle last closed, marked as being brought
up to date and read-only; when the fold is done the same screen reads the
view, where the person left it (tab, highlighted row), and the keys that
waited run, unless the page was stale. A page that does not hold that screen
(another meeting, another shape) is ignored: the key waits on the home screen
as before. Member text on the page stays plain text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from circle.screens.base import EARLY_MARK
from circle.screens.cohort import PAGE_CHARTER, CohortScreen, early_cohort
from circle.screens.cohort import PAGE_ROWS as COHORT_ROWS
from circle.screens.home import HomeScreen
from circle.screens.meeting import MeetingScreen
from circle.screens.modals import ReadModal
from circle.screens.room import EARLY_HINT, early_room
from circle.screens.room import PAGE_ROWS as ROOM_ROWS
from circle.store import frontpage

from .conftest import opened, unlock
from .test_front_page import SIZE, gated, journals_move, pressed_before_the_fold

MARK = EARLY_MARK.split("(")[0]  # "↻ As when circle last closed "


def rows_of(app, wid: str) -> list[str]:
    return [str(o.prompt) for o in app.screen.query_one(wid).options]


def on_page(rows: list[str], cap: int, tail: bool = False) -> list[str]:
    """What a front page keeps of a list: at most ``cap`` rows, and a row saying how many more come with the fold."""
    if len(rows) <= cap:
        return rows
    more = f"… {len(rows) - cap} more once it is up to date"
    return [more, *rows[-cap:]] if tail else [*rows[:cap], more]


ROOM_LISTS = {"#meeting-agenda": "agenda", "#meeting-notes": "notes", "#meeting-actions": "actions", "#meeting-people": "people"}
COHORT_LISTS = {"#cohort-roster": "members", "#cohort-rota": "rota", "#cohort-meetings": "meetings", "#cohort-actions": "actions"}


def text_of(app, wid: str) -> str:
    return str(app.screen.query_one(wid).render())


async def as_shown(app, key: str, lists: Iterable[str], texts: Mapping[str, str]) -> dict:
    """Press ``key`` once the cohort is folded, note the rows of ``lists`` and the ``texts`` (name -> widget id), and quit as `circle` does."""
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press(key)
        await opened(pilot)
        shown = {wid: rows_of(app, wid) for wid in lists}
        shown.update({label: text_of(app, wid) for label, wid in texts.items()})
        shown["id"] = getattr(app.screen, "meeting_id", None)
    app.close_session()
    return shown


async def room_as_shown(app) -> dict:
    """The room of the next meeting, once the cohort is folded."""
    return await as_shown(app, "m", ROOM_LISTS, {"title": "#meeting-title"})


async def cohort_as_shown(app) -> dict:
    """The cohort screen, once the cohort is folded."""
    return await as_shown(app, "enter", COHORT_LISTS, {"charter": "#cohort-charter"})


async def test_m_paints_the_room_from_the_front_page_then_the_same_screen_becomes_the_real_room(app_for):
    real = await room_as_shown(app_for("Kwame Mensah"))
    app = app_for("Kwame Mensah")
    async with pressed_before_the_fold(app, "m") as (pilot, gate):
        room = app.screen
        assert isinstance(room, MeetingScreen) and room.early is not None and room.service is None
        (cid,) = app.session.cohort_ids()
        assert app.opened(cid) is None  # not folded yet: this is the page
        assert room.meeting_id == real["id"] and text_of(app, "#meeting-title") == real["title"]
        for wid, key in ROOM_LISTS.items():
            assert rows_of(app, wid) == on_page(real[wid], ROOM_ROWS[key], tail=key == "notes"), wid
        assert MARK in text_of(app, "#meeting-meta") and EARLY_HINT in text_of(app, "#meeting-hint")
        gate.set()
        await opened(pilot)
        assert app.screen is room and room.early is None and room.service is not None and room.rows is not None
        assert MARK not in text_of(app, "#meeting-meta") and EARLY_HINT not in text_of(app, "#meeting-hint")
        assert rows_of(app, "#meeting-agenda") == real["#meeting-agenda"]


async def test_enter_paints_the_cohort_screen_keeps_the_place_and_runs_the_keys_that_waited(app_for):
    real = await cohort_as_shown(app_for("Kwame Mensah"))
    app = app_for("Kwame Mensah")
    async with pressed_before_the_fold(app, "enter") as (pilot, gate):
        screen = app.screen
        assert isinstance(screen, CohortScreen) and screen.early is not None and screen.service is None
        assert text_of(app, "#cohort-charter") == real["charter"]
        for wid, key in COHORT_LISTS.items():
            assert rows_of(app, wid) == on_page(real[wid], COHORT_ROWS[key]), wid
        assert text_of(app, "#cohort-banner").startswith(MARK)
        # Moving around works while it is read-only; a key that needs the cohort waits and says so.
        await pilot.press("2", "down", "down")
        roster = screen.query_one("#cohort-roster")
        place = roster.highlighted_id
        assert place is not None and roster.highlighted == 2
        await pilot.press("f")  # the cohort fingerprint: it needs the folded roster
        await pilot.pause()
        assert app.screen is screen and screen._waiting == ["fingerprint"]
        assert screen.check_action("fingerprint", ()) is None  # shown greyed in the footer
        gate.set()
        await opened(pilot)
        assert screen.early is None and screen.service is not None and MARK not in str(screen.query_one("#cohort-banner").render())
        assert screen.query_one("#cohort-tabs").active == "roster" and roster.highlighted_id == place
        assert isinstance(app.screen, ReadModal) and app.screen.read_title == "Cohort fingerprint"  # the key that waited ran


async def test_keys_pressed_on_a_stale_page_are_not_run_after_the_fold(app_for, demo_home, clock):
    await cohort_as_shown(app_for("Kwame Mensah"))
    journals_move(demo_home, clock)  # after the page was written
    app = app_for("Kwame Mensah")
    async with pressed_before_the_fold(app, "enter") as (pilot, gate):
        screen = app.screen
        assert isinstance(screen, CohortScreen) and screen.early is not None and screen.early.stale
        assert "Write up the audit plan" not in "".join(rows_of(app, "#cohort-actions"))
        await pilot.press("f")
        gate.set()
        await opened(pilot)
        assert app.screen is screen and screen.early is None  # no modal: the key was pressed against what changed
        assert "Write up the audit plan" in "".join(rows_of(app, "#cohort-actions"))


async def test_a_page_without_this_meeting_s_room_is_not_shown(app_for, demo_home, clock):
    await room_as_shown(app_for("Kwame Mensah"))
    session = unlock(demo_home, "Kwame Mensah", clock)
    ((cid, front),) = session.front_pages().items()
    page = {**front.page, "room": {**front.page["room"], "meeting": "ab" * 16}}  # another meeting's room
    frontpage.save(session.dir, session.vault, cid, session.id, page, front.written)
    app = app_for("Kwame Mensah")
    async with pressed_before_the_fold(app, "m") as (pilot, gate):
        assert isinstance(app.screen, HomeScreen)  # as before issue 14: m waits for the fold
        assert rows_of(app, "#home-cohorts")[0].endswith("opening, then its meeting room")
        gate.set()
        await opened(pilot)
        assert isinstance(app.screen, MeetingScreen) and app.screen.early is None


async def test_member_text_on_the_early_screens_stays_plain_text(hostile_app):
    real_room = await room_as_shown(hostile_app("Kwame Mensah"))
    real_cohort = await cohort_as_shown(hostile_app("Kwame Mensah"))
    app = hostile_app("Kwame Mensah")
    async with pressed_before_the_fold(app, "enter") as (pilot, gate):
        assert isinstance(app.screen, CohortScreen) and app.screen.early is not None
        assert text_of(app, "#cohort-charter") == real_cohort["charter"][:PAGE_CHARTER] + " …"  # a long charter is cut on the page
        for wid, key in COHORT_LISTS.items():
            assert rows_of(app, wid) == on_page(real_cohort[wid], COHORT_ROWS[key]), wid
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MeetingScreen) and app.screen.early is not None
        assert text_of(app, "#meeting-title") == real_room["title"]
        shown = ""
        for wid in ("#meeting-agenda", "#meeting-actions", "#meeting-people"):
            assert rows_of(app, wid) == on_page(real_room[wid], ROOM_ROWS[ROOM_LISTS[wid]]), wid
            shown += "".join(rows_of(app, wid))
        assert "[" in shown + "".join(real_cohort["#cohort-roster"]) and "\x1b" not in shown  # markup arrives as the characters typed
        gate.set()
        await opened(pilot)
        assert app.screen.early is None


def test_a_page_the_screens_did_not_write_is_not_shown():
    from rich.text import Text

    from circle.store.frontpage import Front
    from circle.widgets.page_text import text_data

    row = ["ab12", text_data(Text("Noor Haddad", style="bold"))]
    cohort = {
        "name": text_data(Text("Dietitians North")),
        "charter": text_data(Text("Purpose\n")),
        "banner": ["", []],
        "members": [row],
        "rota": [],
        "meetings": [],
        "actions": [],
    }
    room = {
        "meeting": "cd34",
        "title": text_data(Text("Case review")),
        "meta": ["", []],
        "hint": "",
        "caption": "",
        "agenda_title": "Agenda 0/1 done",
        "phase": "agenda",
        "held": False,
        "agenda": [row],
        "notes_of": "ab12",
        "notes": [],
        "actions": [],
        "people": [row],
        "round": ["", []],
    }
    page = {"v": 2, "id": "c1", "today": "2025-06-02", "cohort": cohort, "room": room}

    def shown(cohort=cohort, room=room, meeting="cd34"):
        front = Front({**page, "cohort": cohort, "room": room}, 0.0, False)
        return early_cohort("c1", front, "2025-06-02"), early_room("c1", front, "2025-06-02", meeting)

    c, r = shown()
    assert c is not None and r is not None and not c.stale and c.page.members[0][1].spans == Text("Noor Haddad", style="bold").spans
    assert shown(meeting="ef56")[1] is None  # another meeting's room
    bad_rows = [
        [["ab12", ["Noor\x1b]8;;https://x\x07 Haddad", []]]],  # not the cleaned text a screen writes
        [["ab12", ["Noor", [[0, 99, "bold"]]]]],
        [["ab12", ["Noor", [[0, 4, "link https://x"]]]]],  # only the styles the screens use
        [["ab\x1b12", ["Noor", []]]],  # not a row id
        [["", ["Noor", []]]],
        [row] * 60,  # more rows than a page holds
        "Noor",
    ]
    for rows in bad_rows:
        assert shown(cohort={**cohort, "members": rows})[0] is None
        assert shown(room={**room, "agenda": rows})[1] is None
    assert shown(room={**room, "phase": "party"})[1] is None
    assert shown(room={**room, "hint": "\x1b[2J"})[1] is None
    assert shown(room={k: v for k, v in room.items() if k != "notes"})[1] is None
    assert shown(cohort=[])[0] is None


async def test_an_early_screen_whose_cohort_does_not_open_stays_read_only_and_says_so(app_for):
    from circle.errors import CircleError

    await cohort_as_shown(app_for("Kwame Mensah"))
    app = app_for("Kwame Mensah")
    gate = gated(app)
    held = app.session.cohort

    def broken(cid, progress=None):
        held(cid, progress)  # waits at the gate, as a big fold would
        raise CircleError("A journal is damaged", "Run 'circle doctor' to see which.")

    app.session.cohort = broken
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CohortScreen) and screen.early is not None
        await pilot.press("f")
        gate.set()
        await opened(pilot)
        assert app.screen is screen and screen.service is None and screen.early.failed
        banner = text_of(app, "#cohort-banner")
        assert banner.startswith("⚠ This cohort did not open: A journal is damaged") and MARK not in banner
        assert screen._waiting == [] and screen.check_action("fingerprint", ()) is None
