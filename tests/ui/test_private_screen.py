"""The private screen (p on the cohort screen): channels with one member and notes only you read.

What a person sees: a badge above the thread that always says who can read
what is written there; a feedback request on the home screen of the one asked
until they answer it. Nothing written on this screen reaches the cohort.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select, Static

from circle.crypto import envelope
from circle.models.events import as_written
from circle.screens.modals import FormModal, PickModal
from circle.screens.private import PrivateScreen
from circle.store.channels import ChannelService
from circle.store.journal import read_rows
from circle.store.vault import Scope
from tests.security.laptops import copy_db

from .conftest import opened, tab_through_in_view, unlock


def kwame_asks_helen(home: Path, clock) -> None:
    """Kwame writes to Helen and asks her for feedback; his journal reaches her device as sync would carry it."""
    kwame, helen = unlock(home, "Kwame Mensah", clock), unlock(home, "Helen Okafor", clock)
    cid = kwame.cohort_ids()[0]
    ks = kwame.cohort(cid)
    ch = ChannelService(ks)
    ch.send(helen.id, "My audit presentation is on Tuesday.\nCould you look at the dosing slide?", kind="question")
    ch.request_feedback(helen.id, "my audit presentation", by="2025-06-10")
    src = kwame.store(cid)
    copy_db(src.journal.path, helen.store(cid).peer_dir() / f"{src.entry.journal}.db")
    helen.store(cid).ingest()
    kwame.close()
    helen.close()


async def open_private(pilot) -> PrivateScreen:
    await opened(pilot)
    await pilot.press("enter")
    await opened(pilot)
    await pilot.press("p")
    await opened(pilot)
    assert isinstance(pilot.app.screen, PrivateScreen)
    return pilot.app.screen


def badge(screen: PrivateScreen) -> str:
    return str(screen.query_one("#private-scope", Static).render())


async def test_the_badge_says_who_reads_what_is_written(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=(110, 32)) as pilot:
        screen = await open_private(pilot)
        assert "Only you can read this" in badge(screen)
        await pilot.press("down")  # the first other member
        await pilot.pause()
        first = screen.channels.peers()[0]
        assert f"Only you and {first.name} can read this" in badge(screen)
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal)
        assert f"Only you and {first.name} can read this" in " ".join(str(s.render()) for s in form.query(Static))


async def test_what_is_written_here_never_reaches_the_cohort(app_for):
    """Writing to a member from this screen seals with the channel's key: the cohort's view and its key see nothing of it."""
    app = app_for("Kwame Mensah")
    async with app.run_test(size=(110, 32)) as pilot:
        screen = await open_private(pilot)
        svc = screen.service
        helen = next(m for m in svc.view.members() if m.name.startswith("Helen"))
        cohort_events = len(svc.view)
        while screen.peer != helen.id:
            await pilot.press("down")
            await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one(Select).value = "feedback"
        form.query_one(Input).value = "Private: thank you for the nights rota."
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PrivateScreen)
        assert [m.text for m in screen.channels.thread(helen.id)][-1] == "Private: thank you for the nights rota."
        assert "Private: thank you for the nights rota." in str(screen.query_one("#private-thread-text", Static).render())
        assert len(svc.view) == cohort_events
        assert not any("nights rota" in str(as_written(e)) for e in svc.view.events)  # a note's text left in its journal: read back
        store = svc.store
        held = store.entry.keys()
        last = list(read_rows(store.journal.path))[-1].blob
        assert held[envelope.parse(last).key_id].scope is Scope.DYAD
        # Back on your own notes, the badge says so, and n writes a self note.
        await pilot.press("home")
        await pilot.pause()
        assert "Only you can read this" in badge(screen)


async def test_a_feedback_request_waits_on_the_home_screen_until_answered(app_for, demo_home, clock):
    kwame_asks_helen(demo_home, clock)
    app = app_for("Helen Okafor")
    async with app.run_test(size=(110, 32)) as pilot:
        await opened(pilot)
        home = app.screen
        assert "feedback asked of you (1)" in str(home.query_one("#home-detail", Static).render()) or "feedback asked of you (1)" in " ".join(
            str(c.row) for c in home.lines.values()
        )
        screen = await open_private(pilot)
        kwame = next(m for m in screen.service.view.members() if m.name.startswith("Kwame"))
        while screen.peer != kwame.id:
            await pilot.press("down")
            await pilot.pause()
        thread = str(screen.query_one("#private-thread-text", Static).render())
        assert "[open] Kwame Mensah asked for feedback on: my audit presentation (by 2025-06-10)" in thread
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, PickModal)
        await pilot.press("enter")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one(Input).value = "Clear structure; slow down on the dosing slide."
        await pilot.press("enter")
        await pilot.pause()
        assert "[answered]" in str(screen.query_one("#private-thread-text", Static).render())
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert not any("feedback asked of you" in str(c.row) for c in app.screen.lines.values())


def test_private_screen_snapshot(snap_compare, app_for, demo_home, clock):
    """Helen's channel with Kwame: the badge naming the two of them, his question over two lines, his open request, the prompts."""
    kwame_asks_helen(demo_home, clock)

    async def to_kwame(pilot):
        screen = await open_private(pilot)
        kwame = next(m for m in screen.service.view.members() if m.name.startswith("Kwame"))
        while screen.peer != kwame.id:
            await pilot.press("down")
            await pilot.pause()

    assert snap_compare(app_for("Helen Okafor"), terminal_size=(100, 30), run_before=to_kwame)


async def test_the_relationship_line_follows_agreement_and_phase(app_for):
    """With Priya, whom Kwame has no channel with yet: g proposes the channel's agreement, s signs it, f moves the phase: the line under the badge says where things stand."""
    app = app_for("Kwame Mensah")
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await open_private(pilot)
        priya = next(m for m in screen.service.view.members() if m.name.startswith("Priya"))
        while screen.peer != priya.id:
            await pilot.press("down")
            await pilot.pause()
        rel = screen.query_one("#private-relationship", Static)
        assert "Phase preparing · no agreement yet (g proposes one)" in str(rel.render())
        await pilot.press("g")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one("#field-goals", Input).value = "Present the audit with confidence"
        form.query_one("#field-text", Input).focus()
        await pilot.pause()
        await pilot.press("enter")  # in the last box: propose
        await pilot.pause()
        assert app.screen is screen
        assert "agreement v1 waits for Priya Nair and you to sign (s)" in str(rel.render()) or "agreement v1 waits for you and Priya Nair to sign (s)" in str(
            rel.render()
        )
        await pilot.press("s")
        await pilot.pause()
        hint = " ".join(str(w.render()) for w in app.screen.query(".modal-hint"))
        assert "Version 1, as you sign it" in hint and "Present the audit with confidence" in hint  # the terms signed are shown
        assert "Enter in the text box: Sign" in hint  # Enter on the choice opens it
        app.screen.query_one("#field-coi", Input).focus()
        await pilot.pause()
        await pilot.press("enter")  # nothing said: asked again, as the charter's form asks
        await pilot.pause()
        assert "say whether you have a conflict of interest" in str(app.screen.query_one("#error-declare", Static).render())
        app.screen.query_one("#field-declare", Select).value = "none"
        app.screen.query_one("#field-coi", Input).focus()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert "agreement v1 waits for Priya Nair to sign (s)" in str(rel.render())
        await pilot.press("s")
        await pilot.pause()
        assert "You signed it already" in " ".join(str(w.render()) for w in app.screen.query(".modal-hint"))
        assert app.screen.query_one("#field-declare", Select).value == "none"  # the declaration so far is what the form starts from
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, PickModal)
        await pilot.press("down", "down", "enter")  # enabling
        await pilot.pause()
        assert "Phase enabling" in str(rel.render())
        assert screen.channels.phase(priya.id).phase == "enabling"


async def test_the_agreement_form_scrolls_on_a_30_row_terminal(app_for):
    """The agreement form is taller than 30 rows: each field, and the Propose button, comes into view as Tab reaches it."""
    app = app_for("Kwame Mensah")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_private(pilot)
        await pilot.press("down")
        await pilot.pause()
        await pilot.press("g")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal)
        await tab_through_in_view(pilot)


async def test_closing_a_channel_asks_first(app_for):
    from circle.screens.modals import ConfirmModal

    app = app_for("Kwame Mensah")
    async with app.run_test(size=(110, 34)) as pilot:
        screen = await open_private(pilot)
        await pilot.press("down")
        await pilot.pause()
        peer = screen.peer
        before = screen.channels.phase(peer).phase
        for answer in ("enter", "y"):  # Enter says No (highlighted); y closes it
            await pilot.press("f")
            await pilot.pause()
            await pilot.press("down", "down", "down", "down", "enter")  # Closed
            await pilot.pause()
            assert isinstance(app.screen, ConfirmModal) and "Nothing more is written in it" in str(app.screen.query_one(".modal-title").render())
            await pilot.press(answer)
            await opened(pilot)
            if answer == "enter":
                assert screen.channels.phase(peer).phase == before
        assert screen.channels.phase(peer).phase == "closed"
        rel = str(screen.query_one("#private-relationship", Static).render())
        assert "g proposes" not in rel and "Phase closed · " in rel and "nothing more is written (f reopens it)" in rel
