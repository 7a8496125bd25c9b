"""The home screen paints each cohort's front page (what it showed when circle last closed) before the cohort is folded.

A page that still matches the journals is shown as it was, and replaced by
the line read from the folded view, which is the same; one written before the
journals moved (or on another day) is marked as being brought up to date; one
that does not open, or belongs with another snapshot, is ignored.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from circle.models.meeting import next_meeting
from circle.screens.home import STALE_ROW, HomeScreen
from circle.store import frontpage, snapshot
from circle.store.session import Session

from .conftest import opened, unlock

SIZE = (100, 32)
COHORT = "Riverside Allied Health Circle"


def rows(app) -> list[str]:
    return [str(o.prompt) for o in app.screen.query_one("#home-cohorts").options]


def detail(app) -> str:
    return str(app.screen.query_one("#home-detail").render())


async def close_once(app) -> dict:
    """Run the app until its cohort is open, quit as `circle` does (writing front pages); what the home screen showed."""
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        shown = {cid: (c.row, c.detail) for cid, c in app.screen.lines.items()}
    app.close_session()
    return shown


def gated(app) -> threading.Event:
    """Hold the cohort's fold until the test sets the gate (a big cohort takes seconds)."""
    gate = threading.Event()
    real_cohort = app.session.cohort

    def slow_cohort(cid, progress=None):
        gate.wait(10)
        return real_cohort(cid, progress)

    app.session.cohort = slow_cohort
    return gate


@asynccontextmanager
async def pressed_before_the_fold(app, key: str) -> AsyncIterator[tuple[Any, threading.Event]]:
    """Run ``app`` with its cohort's fold held back (see :func:`gated`) and press ``key`` on the home screen: (pilot, the gate)."""
    gate = gated(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        yield pilot, gate


def journals_move(demo_home, clock) -> str:
    """An action added from the shell after the page was written (as `circle action add` would: it writes no front page); the cohort's id."""
    cli = unlock(demo_home, "Kwame Mensah", clock)
    (cid,) = cli.cohort_ids()
    svc = cli.cohort(cid)
    svc.add_action(next_meeting(svc.view).id, "Write up the audit plan", due="2025-06-30")
    cli.close()
    return cid


def flip_a_byte(path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 1
    path.write_bytes(bytes(raw))


async def test_the_cohort_is_shown_from_its_front_page_before_the_fold_and_the_fold_shows_the_same(app_for):
    shown = await close_once(app_for("Kwame Mensah"))
    (cid,) = shown
    app = app_for("Kwame Mensah")
    gate = gated(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert app.opened(cid) is None
        line = app.screen.lines[cid]
        assert (line.opened, line.front) == (False, "current")
        assert rows(app)[0].startswith(COHORT + "\n") and "Opening a cohort" not in rows(app)[0] and STALE_ROW.strip() not in rows(app)[0]
        assert "Next meeting" in detail(app) and "Open actions" in detail(app)
        # What the page shows is what the folded cohort showed: text and styles, span for span.
        assert (line.row.plain, line.row.spans, line.detail.plain, line.detail.spans) == (
            shown[cid][0].plain,
            shown[cid][0].spans,
            shown[cid][1].plain,
            shown[cid][1].spans,
        )
        gate.set()
        await opened(pilot)
        real = app.screen.lines[cid]
        assert (real.opened, real.front) == (True, "")
        assert (real.row.plain, real.detail.plain) == (line.row.plain, line.detail.plain)


async def test_m_on_a_front_page_opens_the_room_from_it_at_once_and_it_becomes_the_real_room(app_for):
    # Before issue 14's early screens, m waited on the home screen for the fold (tests/ui/test_early_screens.py keeps that path
    # for a page without the room).
    await close_once(app_for("Kwame Mensah"))
    app = app_for("Kwame Mensah")
    async with pressed_before_the_fold(app, "m") as (pilot, gate):
        room = app.screen
        assert room.id == "meeting" and room.early is not None and room.service is None
        gate.set()
        await opened(pilot)
        assert app.screen is room and room.early is None and room.service is not None


async def test_a_front_page_written_before_the_journals_moved_is_marked_as_being_brought_up_to_date(app_for, demo_home, clock):
    await close_once(app_for("Kwame Mensah"))
    cid = journals_move(demo_home, clock)
    app = app_for("Kwame Mensah")
    gate = gated(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = app.screen.lines[cid]
        assert line.front == "stale" and not line.opened
        assert rows(app)[0].startswith(COHORT + "\n") and rows(app)[0].endswith(STALE_ROW)
        assert detail(app).startswith("As when circle last closed (") and "bringing it up to date" in detail(app)
        assert "Write up the audit plan" not in detail(app)  # the page is what it was: the new action comes with the fold
        gate.set()
        await opened(pilot)
        assert "Write up the audit plan" in detail(app) and STALE_ROW.strip() not in rows(app)[0] and "As when" not in detail(app)


async def test_a_front_page_of_another_day_is_marked(app_for, clock):
    await close_once(app_for("Kwame Mensah"))
    clock.advance(86400)  # overdue actions and quiet goals go by the date
    app = app_for("Kwame Mensah")
    gate = gated(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert rows(app)[0].endswith(STALE_ROW)
        gate.set()
        await opened(pilot)


async def test_a_tampered_front_page_is_ignored(app_for, demo_home, clock):
    await close_once(app_for("Kwame Mensah"))
    (front,) = (unlock(demo_home, "Kwame Mensah", clock).dir / "snapshots").glob("*.front")
    flip_a_byte(front)
    app = app_for("Kwame Mensah")
    gate = gated(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.front_pages == {}
        assert rows(app) == ["Opening a cohort…\n  decrypting on this device"]
        gate.set()
        await opened(pilot)
        assert rows(app)[0].startswith(COHORT + "\n")


async def test_a_front_page_beside_another_snapshot_is_ignored(app_for, demo_home, clock):
    await close_once(app_for("Kwame Mensah"))
    other: Session = unlock(demo_home, "Kwame Mensah", clock)
    (cid,) = other.cohort_ids()
    other.cohort(cid).store.save_snapshot()  # the demo is too small for one: the page was bound to none
    assert snapshot.path_of(other.dir, cid).exists() and frontpage.path_of(other.dir, cid).exists()
    assert other.front_pages() == {}
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.front_pages == {}
        await opened(pilot)
        assert rows(app)[0].startswith(COHORT + "\n")


async def test_member_text_on_a_front_page_stays_plain_text(hostile_app):
    """The hostile corpus (markup, escapes, bidi controls in names and titles) reads back as the folded line showed it."""
    shown = await close_once(hostile_app("Kwame Mensah"))
    (cid,) = shown
    app = hostile_app("Kwame Mensah")
    gate = gated(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = app.screen.lines[cid]
        assert line.front and not line.opened
        assert (line.row.plain, line.row.spans, line.detail.plain, line.detail.spans) == (
            shown[cid][0].plain,
            shown[cid][0].spans,
            shown[cid][1].plain,
            shown[cid][1].spans,
        )
        assert "\x1b" not in line.detail.plain and "[" in line.detail.plain + line.row.plain  # markup arrives as the characters typed
        gate.set()
        await opened(pilot)


def test_a_page_the_home_screen_did_not_write_is_not_shown():
    from rich.text import Text

    from circle.screens.home import CohortLine, front_line, page_of

    row = Text()
    row.append("Dietitians North", style="bold")
    row.append("\n  3 members", style="dim")
    good = page_of(CohortLine("c1", "Dietitians North", row, Text("Next meeting"), True, "m1"), "2025-06-02")
    shown = front_line("c1", frontpage.Front(good, 0.0, False), "2025-06-02")
    assert shown is not None and shown.row.spans == row.spans and shown.front == "current" and shown.next_meeting == "m1"
    bad = [
        {**good, "id": "c2"},  # another cohort's
        {**good, "v": 1},  # the page before issue 14's early screens
        {**good, "row": ["Dietitians\x1b]8;;https://x\x07 North", []]},  # not the cleaned text this screen writes
        {**good, "row": ["Dietitians North", [[0, 99, "bold"]]]},
        {**good, "row": ["Dietitians North", [[0, 4, "link https://x"]]]},  # only the styles this screen uses
        {**good, "detail": "Next meeting"},
        {**good, "next": 3},
        {k: v for k, v in good.items() if k != "row"},
    ]
    for page in bad:
        assert front_line("c1", frontpage.Front(page, 0.0, False), "2025-06-02") is None


async def test_a_removed_member_is_told_on_the_home_and_cohort_screens(app_for, demo_home, clock):
    """Helen removes Sam; Sam's laptop receives it: the home screen marks the cohort, its banner says he was removed."""
    from textual.widgets import Static

    from tests.security.laptops import copy_db

    helen, sam = unlock(demo_home, "Helen Okafor", clock), unlock(demo_home, "Sam O'Neill", clock)
    cid = helen.cohort_ids()[0]
    svc = helen.cohort(cid)
    svc.remove(next(m.id for m in svc.view.members() if m.name.startswith("Sam")))
    src = helen.store(cid)
    copy_db(src.journal.path, sam.store(cid).peer_dir() / f"{src.entry.journal}.db")
    sam.store(cid).ingest()
    helen.close()
    sam.close()
    app = app_for("Sam O'Neill")
    async with app.run_test(size=(110, 34)) as pilot:
        await opened(pilot)
        assert isinstance(app.screen, HomeScreen) and "needs attention" in app.screen.lines[cid].row.plain
        await pilot.press("enter")
        await opened(pilot)
        banner = str(app.screen.query_one("#cohort-banner", Static).render())
        assert "you were removed from this cohort: you read nothing written since" in banner
