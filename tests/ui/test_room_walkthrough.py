"""The meeting room as three laptops used it in a live walk-through: one pilot test per finding.

The facilitator's laptop is a second session on the demo home (Kwame's turn);
the app on screen is another member's, brought up to date with a sync pass, as
the sync thread would.
"""

from __future__ import annotations

from circle.models.meeting import next_meeting
from circle.screens.meeting import MeetingScreen
from circle.screens.modals import FormModal
from circle.sync.service import SyncService

from .conftest import opened, unlock
from .test_front_page import close_once, pressed_before_the_fold

SIZE = (100, 30)


async def open_room(pilot) -> MeetingScreen:
    """Open the room of the next meeting, after a sync pass (what the app's sync thread does on its own)."""
    await opened(pilot)
    SyncService(pilot.app.session).once()
    await opened(pilot)
    await pilot.press("m")
    await opened(pilot)
    assert isinstance(pilot.app.screen, MeetingScreen)
    return pilot.app.screen


def modal_title(app) -> str:
    return str(app.screen.query_one(".modal-title").render())


async def synced(pilot, *sessions) -> None:
    """Each laptop's sync pass, the app's last (what the sync thread does), then let the room read it."""
    for s in sessions:
        SyncService(s).once()
    SyncService(pilot.app.session).once()
    await opened(pilot)


async def test_the_highlight_follows_the_item_the_facilitator_runs_from_another_laptop(app_for, demo_home, clock):
    """Amara follows along: the room opens on the running item, and when Kwame starts the next one on his laptop her
    highlight (and so the note dialog) moves with it; once she highlights another item herself, it stays where she put it."""
    kwame = unlock(demo_home, "Kwame Mensah", clock)
    ksvc = kwame.cohort(kwame.cohort_ids()[0])
    mid = next_meeting(ksvc.view).id
    ksvc.advance_phase(mid)
    ksvc.advance_phase(mid)  # the agenda phase
    items = ksvc.view.agenda(mid)
    ksvc.start_item(mid, items[4].id)  # not the first: "SBAR trial: what we learned"
    SyncService(kwame).once()
    app = app_for("Amara Singh")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        assert room.selected_item().id == items[4].id  # opened on the running item, not on item 1
        nxt = ksvc.finish_item(mid)  # Kwame presses x on his laptop
        assert nxt is not None and nxt.id != items[4].id
        await synced(pilot, kwame)
        assert room.rows.meeting.current_item == nxt.id
        assert room.selected_item().id == nxt.id
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, FormModal) and nxt.title[:20] in modal_title(app)
        await pilot.press(*"Said on the item now running.", "enter")
        await pilot.pause()
        assert [n.text for n in room.service.view.notes(mid, nxt.id)] == ["Said on the item now running."]
        assert room.service.view.notes(mid, items[4].id) == []

        # She looks at another item on purpose: Kwame moving on does not take her highlight away.
        await pilot.press("up")
        await pilot.pause()
        mine = room.selected_item().id
        assert mine != nxt.id
        later = ksvc.finish_item(mid)
        await synced(pilot, kwame)
        assert later is not None and room.rows.meeting.current_item == later.id and later.id != mine
        assert room.selected_item().id == mine
    kwame.close()


async def test_no_jump_while_a_dialog_is_open_and_the_highlight_catches_up_after(app_for, demo_home, clock):
    """A dialog keeps the item it named while the running item changes under it; closing it, the follower catches up."""
    kwame = unlock(demo_home, "Kwame Mensah", clock)
    ksvc = kwame.cohort(kwame.cohort_ids()[0])
    mid = next_meeting(ksvc.view).id
    ksvc.advance_phase(mid)
    ksvc.advance_phase(mid)
    first = ksvc.view.agenda(mid)[0]
    ksvc.start_item(mid, first.id)
    SyncService(kwame).once()
    app = app_for("Amara Singh")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        assert room.selected_item().id == first.id
        await pilot.press("o")
        await pilot.pause()
        assert first.title[:20] in modal_title(app)
        nxt = ksvc.finish_item(mid)
        await synced(pilot, kwame)
        assert isinstance(app.screen, FormModal) and first.title[:20] in modal_title(app)  # the dialog still says what it adds to
        assert room.selected_item().id == first.id  # and nothing moved behind it
        await pilot.press(*"About the first item.", "enter")
        await pilot.pause()
        assert app.screen is room
        assert [n.text for n in room.service.view.notes(mid, first.id)] == ["About the first item."]
        assert room.selected_item().id == nxt.id  # back in the room, she follows the item now running
    kwame.close()


async def test_the_room_painted_from_the_front_page_opens_on_the_running_item_too(app_for, demo_home, clock):
    """Before the fold, the room paints from the page circle wrote when it closed: on the running item and its notes."""
    kwame = unlock(demo_home, "Kwame Mensah", clock)
    ksvc = kwame.cohort(kwame.cohort_ids()[0])
    mid = next_meeting(ksvc.view).id
    ksvc.advance_phase(mid)
    ksvc.advance_phase(mid)
    running = ksvc.view.agenda(mid)[4]
    ksvc.start_item(mid, running.id)
    ksvc.add_note(mid, "Said on the running item.", running.id)
    kwame.close()
    await close_once(app_for("Kwame Mensah"))
    app = app_for("Kwame Mensah")
    async with pressed_before_the_fold(app, "m") as (pilot, gate):
        room = app.screen
        assert room.early is not None and room.service is None
        assert room.query_one("#meeting-agenda").highlighted_id == running.id
        assert any("Said on the running item." in str(o.prompt) for o in room.query_one("#meeting-notes").options)
        gate.set()
        await opened(pilot)
        assert room.early is None and room.selected_item().id == running.id


async def test_the_redact_question_quotes_which_item_action_or_note_as_plain_text(app_for):
    """Two actions with one owner: Del on the second asks about the second, by title, shown as written (not markup)."""
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        svc, mid = room.service, room.meeting_id
        svc.add_action(mid, "Ward rounds rota", due="2025-06-18")
        svc.add_action(mid, "MRI [b]safety[/b] checklist\nfor the ward[/]", due="2025-06-18")
        svc.add_note(mid, "Mr Smith in bed 4\nworried" + " about going home" * 10, room.selected_item().id)
        await opened(pilot)
        await pilot.press("2")
        await pilot.pause()
        actions = room.query_one("#meeting-actions")
        actions.highlighted = actions.option_count - 1  # the newest: the MRI checklist
        await pilot.pause()
        await pilot.press("delete")
        await pilot.pause()
        question = modal_title(app)
        assert question.startswith("Redact the action “MRI [b]safety[/b] checklist for the ward[/]”, owned by Kwame Mensah, and its follow-ups?")
        assert "Ward rounds" not in question
        await pilot.press("n", "0", "delete")
        await pilot.pause()
        item = room.selected_item()
        assert modal_title(app).startswith(f"Redact the agenda item “{item.title}”, brought by ")
        await pilot.press("n", "1", "delete")
        await pilot.pause()
        question = modal_title(app)  # cut to a line: the whole note is 188 characters
        assert question.startswith("Redact the note “Mr Smith in bed 4 worried about going home") and "…”, written by Kwame Mensah?" in question
        await pilot.press("y")
        await pilot.pause()
        assert svc.view.notes(mid) == [] and [a.title[:3] for a in svc.view.actions(mid)] == ["War", "MRI"]  # the note went, nothing else
