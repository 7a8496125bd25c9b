"""The meeting room's second pass (issue 12), one pilot test per point a facilitator stumbled on.

Every test drives the demo cohort with the keyboard, with a frozen clock
(the upcoming meeting is on 2025-06-04; three actions are overdue by then).
"""

from __future__ import annotations

from textual.widgets import Footer, Static

from circle.demo import DEMO_PASSPHRASE
from circle.models.meeting import next_meeting
from circle.screens.cohort import CohortScreen
from circle.screens.home import HomeScreen
from circle.screens.meeting import MeetingScreen
from circle.screens.modals import ConfirmModal, FormModal, ReadModal
from circle.store.joining import offer_invite
from circle.sync.service import SyncService
from circle.widgets import Countdown

from .conftest import opened, unlock

SIZE = (100, 30)
SHOWN_AS = {"enter": "Enter", "escape": "Esc", "space": "Space", "plus": "+", "down": "↓", "up": "↑", "tab": "Tab", "question_mark": "?"}


def on_screen(app) -> str:
    """Every key the screen shows: the footer's, and the hints (the room's, a form's, a modal's buttons)."""
    keys = [f" {b.binding.key_display or SHOWN_AS.get(b.binding.key, b.binding.key)} " for b in app.screen.active_bindings.values() if b.binding.show]
    texts = [str(w.render()) for w in app.screen.query("#meeting-hint, .modal-hint, Button, .modal-title")]
    return " ".join(keys) + " " + " ".join(texts)


async def press_shown(pilot, *keys: str) -> None:
    """Press keys one by one, each only if the screen shows it (in the footer or a hint) just then."""
    for key in keys:
        shown = on_screen(pilot.app)
        token = SHOWN_AS.get(key, key)
        assert token in shown, f"{key!r} is not shown on {type(pilot.app.screen).__name__}: {shown}"
        await pilot.press(key)
        await pilot.pause()


async def type_in(pilot, text: str) -> None:
    assert isinstance(pilot.app.screen, FormModal)
    await pilot.press(*text)


async def open_room(pilot) -> MeetingScreen:
    await opened(pilot)
    await press_shown(pilot, "m")
    assert isinstance(pilot.app.screen, MeetingScreen)
    return pilot.app.screen


def hint(app) -> str:
    return str(app.screen.query_one("#meeting-hint", Static).render())


async def test_a_whole_meeting_with_the_keyboard_alone_pressing_only_keys_the_screen_shows(app_for, clock):
    app = app_for("Kwame Mensah")  # his turn
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        svc, mid = room.service, room.meeting_id
        await press_shown(pilot, "n")  # check-in
        await press_shown(pilot, "3")  # People, as the hint says
        await press_shown(pilot, "enter", "down", "space", "down", "enter")  # Helen, Amara and Tom are here
        await press_shown(pilot, "escape")  # back to the agenda, the hint says so
        await press_shown(pilot, "n")  # agenda: the agenda list has the focus, Enter starts
        await press_shown(pilot, "enter")
        first = svc.view.agenda(mid)[0]
        assert svc.meeting(mid).current_item == first.id
        await press_shown(pilot, "o")
        await type_in(pilot, "Ask the students what helps them.")
        await press_shown(pilot, "enter")
        await press_shown(pilot, "plus")  # five more minutes
        await press_shown(pilot, "x")  # done; the next starts
        await press_shown(pilot, "n", "n")  # feedback, actions
        await press_shown(pilot, "t")
        await type_in(pilot, "Draft the feedback guide")
        await press_shown(pilot, "tab", "tab")  # the owner stays: Kwame
        await type_in(pilot, "2025-06-18")
        await press_shown(pilot, "enter")
        await press_shown(pilot, "n")  # wrap-up
        await press_shown(pilot, "w")
        assert isinstance(app.screen, ConfirmModal)
        await press_shown(pilot, "y")
        m = svc.meeting(mid)
        assert m.held and m.facilitator == svc.me and m.current_item == ""
        present = {svc.view.name_of(k) for k, p in svc.view.attendance(mid).items() if p}
        assert {"Helen Okafor", "Amara Singh", "Tom Berg"} <= present
        assert [n.text for n in svc.view.notes(mid, first.id)] == ["Ask the students what helps them."]
        assert [(a.title, a.due) for a in svc.view.actions(mid)] == [("Draft the feedback guide", "2025-06-18")]
        assert next(i for i in svc.view.agenda() if i.id == first.id).extended == 5
        assert not app.screen.query_one(Countdown).state.running  # the clock stopped with the meeting


async def test_enter_does_what_the_hint_says_wherever_the_focus_is(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        svc, mid = room.service, room.meeting_id
        await pilot.press("n", "3", "enter")  # tick Helen in People
        await pilot.pause()
        assert "People: ↑↓, Enter or Space: present/absent" in hint(app)
        await pilot.press("n")  # to the agenda phase: the focus goes to the agenda list
        await pilot.pause()
        assert app.focused.id == "meeting-agenda" and "Enter starts an item" in hint(app) and "Here: ↑↓ and Enter start an item" in hint(app)
        assert "▸ Agenda" in str(app.screen.query_one("#meeting-agenda-title").render())  # the focused panel is marked
        present = dict(svc.view.attendance(mid))
        await pilot.press("enter")
        await pilot.pause()
        assert svc.meeting(mid).current_item == svc.view.agenda(mid)[0].id
        assert svc.view.attendance(mid) == present  # nobody was unticked
        await pilot.press("1")
        await pilot.pause()
        assert "Notes: ↑↓ then Enter reads one whole" in hint(app) and "▸" not in str(app.screen.query_one("#meeting-agenda-title").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused.id == "meeting-agenda" and isinstance(app.screen, MeetingScreen)  # Esc went back to the agenda, not out


async def test_after_next_item_a_note_goes_on_the_item_now_running(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        svc, mid = room.service, room.meeting_id
        await pilot.press("n", "n", "enter")  # the agenda phase; Enter starts the first item
        await pilot.pause()
        first, second = svc.view.agenda(mid)[:2]
        await pilot.press("x")  # done; the next starts
        await pilot.pause()
        assert svc.meeting(mid).current_item == second.id and room.selected_item().id == second.id
        await pilot.press("o")
        await pilot.pause()
        assert second.title[:20] in str(app.screen.query_one(".modal-title").render())
        await type_in(pilot, "Said about the second item.")
        await pilot.press("enter")
        await pilot.pause()
        assert [n.text for n in svc.view.notes(mid, second.id)] == ["Said about the second item."] and svc.view.notes(mid, first.id) == []


async def test_edit_keeps_every_version_and_redaction_hides_with_a_plain_warning(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        svc, mid = room.service, room.meeting_id
        await pilot.press("o", *"Mr Smith in bed 4 worried", "enter")
        await pilot.pause()
        await pilot.press("1", "e")
        await pilot.pause()
        assert isinstance(app.screen, FormModal) and app.screen.values()["text"] == "Mr Smith in bed 4 worried"
        await pilot.press(*["backspace"] * len("Mr Smith in bed 4 worried"), *"A patient worried", "enter")
        await pilot.pause()
        [note] = svc.view.notes(mid)
        assert note.text == "A patient worried" and note.edited
        assert [v.fields["text"] for v in svc.view.history(note.id)] == ["Mr Smith in bed 4 worried", "A patient worried"]
        await pilot.press("enter")  # reads it whole, with the earlier version
        await pilot.pause()
        assert isinstance(app.screen, ReadModal) and "Mr Smith in bed 4 worried" in app.screen.text and "Earlier versions" in app.screen.text
        await pilot.press("escape", "delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "cannot be erased" in app.screen.question and "can still decrypt it" in app.screen.question
        await pilot.press("enter")  # the default is to keep it
        await pilot.pause()
        assert [n.id for n in svc.view.notes(mid)] == [note.id]
        await pilot.press("delete", "y")
        await pilot.pause()
        assert svc.view.notes(mid) == [] and note.id in svc.view.redacted() and svc.view.history(note.id) == []
        assert all("worried" not in str(o.prompt) for o in app.screen.query_one("#meeting-notes").options)


async def test_more_time_and_times_up_in_words_rung_once_and_the_clock_stops_at_wrap_up(app_for, clock, monkeypatch):
    app = app_for("Kwame Mensah")
    rings = []
    monkeypatch.setattr(app, "bell", lambda: rings.append(1))
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        await pilot.press("n", "n", "enter", "plus")
        await pilot.pause()
        timer = app.screen.query_one(Countdown)
        item = room.service.view.agenda(room.meeting_id)[0]
        assert timer.state.label() == f"{item.minutes + 5:02d}:00"
        clock.advance((item.minutes + 5) * 60 + 20)
        room.tick()
        await pilot.pause()
        assert "TIME'S UP +00:20" in str(timer.render())  # in words, in reversed video: seen without colour
        clock.advance(60)
        room.tick()
        await pilot.pause()
        assert len(rings) == 1  # audible once
        await pilot.press("n", "n", "n", "w", "y")
        await pilot.pause()
        clock.advance(600)
        room.tick()
        await pilot.pause()
        assert room.service.meeting(room.meeting_id).held and not timer.state.running and "TIME'S UP" not in str(timer.render())
        assert "Held: the clock has stopped." in str(timer.render())
        enabled = {b.binding.key: b.enabled for b in app.screen.active_bindings.values()}
        assert not any(enabled[k] for k in ("n", "x", "plus", "w")) and enabled["o"]  # nothing left to lead: those keys are greyed
        await pilot.press("n", "w", "plus")
        await pilot.pause()
        assert isinstance(app.screen, MeetingScreen)  # no second "Mark this meeting held?"


async def test_forms_keep_what_was_typed_and_check_dates_and_lengths(app_for):
    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        await pilot.press("t", *"Order new sharps bins", "enter", "tab", *"next friday", "enter")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal) and form.values()["title"] == "Order new sharps bins" and form.values()["due"] == "next friday"
        assert "that is not a date" in str(form.query_one("#error-due").render()) and "--due" not in str(form.query_one("#error-due").render())
        assert room.service.view.actions(room.meeting_id) == []
        await pilot.press(*["backspace"] * len("next friday"), *"2024-06-20", "enter")  # a year typed wrong: it has passed
        await pilot.pause()
        assert app.screen is form and "2024-06-20 has passed" in str(form.query_one("#error-due").render())
        assert room.service.view.actions(room.meeting_id) == []
        await pilot.press("backspace")
        await pilot.pause()
        assert not form.query_one("#error-due").display  # it spoke of what was there: it goes as the person edits
        await pilot.press(*["backspace"] * (len("2024-06-20") - 1), *"2025-06-20", "enter")
        await pilot.pause()
        assert isinstance(app.screen, MeetingScreen)
        assert [a.due for a in room.service.view.actions(room.meeting_id)] == ["2025-06-20"]
        await pilot.press("escape", "escape", "enter", "s")  # the cohort screen: schedule
        await pilot.pause()
        await pilot.press("tab", "tab", *["backspace"] * 3, *"abc", "enter")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FormModal) and "a meeting is 5 to 600 minutes" in str(form.query_one("#error-minutes").render())
        assert form.values()["minutes"] == "abc"
        assert "Tab: next field · Enter in the last box: Schedule · Esc cancels" in str(form.query_one(".modal-hint").render())
        await pilot.press(*["backspace"] * 3, *"60", "shift+tab", "shift+tab")  # back to When: a year typed wrong
        await pilot.pause()
        await pilot.press(*["backspace"] * len(form.values()["at"]), *"2024-06-18 18:00", "tab", "tab", "enter")
        await pilot.pause()
        assert app.screen is form and "2024-06-18 has passed" in str(form.query_one("#error-at").render())
        assert all(m.at != "2024-06-18 18:00" for m in room.service.view.meetings())


async def test_an_item_added_after_the_wrap_up_moves_to_the_next_meeting_and_its_author_is_told(app_for, demo_home, clock):
    kwame = unlock(demo_home, "Kwame Mensah", clock)
    svc = kwame.cohort(kwame.cohort_ids()[0])
    mid = next_meeting(svc.view).id
    amara = unlock(demo_home, "Amara Singh", clock)  # her laptop has not heard of the wrap-up yet
    asvc = amara.cohort(svc.id)
    svc.advance_phase(mid)
    svc.mark_held(mid)
    iid = asvc.add_item(mid, "Team phone: IT said yes", minutes=5)
    SyncService(kwame).once()
    SyncService(amara).once()
    amara.close()
    app = app_for("Amara Singh")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        assert room.meeting_id != mid  # the next meeting now
        rows = [str(o.prompt) for o in app.screen.query_one("#meeting-agenda").options]
        assert any("Team phone: IT said yes" in r and "added after it was wrapped up" in r for r in rows)
        assert [n.title for n in app._notifications].count("Your item moved") == 1
        item = next(i for i in room.service.view.agenda() if i.id == iid)
        assert (item.meeting, item.added_to) == (room.meeting_id, mid)


async def test_follow_ups_show_once_and_a_ticked_action_can_be_unticked(app_for):
    app = app_for("Amara Singh")  # she owns the first open action
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        svc = room.service
        later = [m for m in svc.view.meetings() if not m.held][1]
        assert not any(i.title.startswith("Follow-up") for i in svc.view.agenda(later.id))  # not copied into every upcoming meeting
        await pilot.press("2", "enter")
        await pilot.pause()
        first = room.rows.room.actions[0]
        assert svc.view.actions()[[a.id for a in svc.view.actions()].index(first.id)].status == "done"
        assert any("Enter on it again opens it again" in str(n.message) for n in app._notifications)
        rows = [str(o.prompt) for o in app.screen.query_one("#meeting-actions").options]
        assert any(first.title in r and r.startswith("✓") for r in rows)  # still there
        await pilot.press("enter")
        await pilot.pause()
        assert next(a for a in svc.view.actions() if a.id == first.id).status == "open"
        assert any("Open again" in str(n.message) for n in app._notifications)


async def test_a_waiting_swap_and_overdue_actions_show_on_home_and_cohort(app_for, demo_home, clock):
    kwame = unlock(demo_home, "Kwame Mensah", clock)
    svc = kwame.cohort(kwame.cohort_ids()[0])
    up = [t.meeting for t in svc.rota().upcoming()]
    svc.swap(up[0], up[1])
    SyncService(kwame).once()
    kwame.close()
    app = app_for("Priya Nair")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        SyncService(app.session).once()
        await pilot.pause()
        row = str(app.screen.query_one("#home-cohorts").options[0].prompt)
        assert "⇄ a swap waits for you" in row and "⚠ 3 overdue" in row
        detail = str(app.screen.query_one("#home-detail").render())
        assert "Swap asked: Kwame Mensah asks to take your turn" in detail and "OVERDUE" in detail
        await pilot.press("enter")
        await opened(pilot)
        assert isinstance(app.screen, CohortScreen)
        banner = str(app.screen.query_one("#cohort-banner").render())
        assert "Kwame Mensah asks to take your turn" in banner and "w answers" in banner and "3 overdue actions" in banner
        await pilot.press("5")
        await pilot.pause()
        rows = [str(o.prompt) for o in app.screen.query_one("#cohort-actions").options]
        assert sum("OVERDUE" in r for r in rows) == 3
        await pilot.press("w", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await pilot.pause()
        assert "asks to take your turn" not in str(app.screen.query_one("#cohort-banner").render())


async def test_footers_fit_and_f_is_shown_at_every_size(app_for):
    """Home, every tab of the cohort screen (the lists that open add Enter) and every panel of the room."""

    async def fits(pilot, size, where: str) -> list:
        await pilot.pause()
        footer = pilot.app.screen.query_one(Footer)
        shown = [k for k in footer.query("FooterKey") if k.display and k.key != "ctrl+p"]  # the palette key sits at the right end
        assert shown and all(k.region.right <= size[0] - 12 for k in shown), (size, where, [(k.key, k.region) for k in shown])
        return shown

    for size in ((80, 24), (100, 30), (120, 40)):
        app = app_for("Helen Okafor")
        async with app.run_test(size=size) as pilot:
            await opened(pilot)
            assert isinstance(app.screen, HomeScreen)
            await fits(pilot, size, "home")
            await pilot.press("enter")
            await opened(pilot)
            assert isinstance(app.screen, CohortScreen)
            for tab in "12345":
                await pilot.press(tab)
                assert any(k.key == "f" for k in await fits(pilot, size, f"cohort tab {tab}"))
            await pilot.press("m")
            await opened(pilot)
            assert isinstance(app.screen, MeetingScreen)
            for panel in "01234":
                await pilot.press(panel)
                await fits(pilot, size, f"meeting panel {panel}")


async def test_wording_one_member_and_last_time_you_said_only_to_the_one_it_concerns(app_for, tmp_path, clock):
    from circle.app import make_app
    from circle.store.session import Home

    priya = app_for("Priya Nair")
    async with priya.run_test(size=SIZE) as pilot:
        await open_room(pilot)
        notes = [str(o.prompt) for o in priya.screen.query_one("#meeting-notes").options]
        assert notes[0].startswith("Last time you said…")  # her unfinished item
    kwame = app_for("Kwame Mensah")
    async with kwame.run_test(size=SIZE) as pilot:
        await open_room(pilot)
        notes = [str(o.prompt) for o in kwame.screen.query_one("#meeting-notes").options]
        assert notes[0].startswith("Last time: ")
    session = Home(tmp_path / "solo", calibrate=False).create_identity("Nadia Haddad", DEMO_PASSPHRASE, clock=clock)
    session.create_cohort("Dietitians North")
    app = make_app(tmp_path / "solo", session=session, clock=clock, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        row = str(app.screen.query_one("#home-cohorts").options[0].prompt)
        assert "1 member ·" in row and "1 members" not in row


async def test_an_invite_made_from_the_command_line_while_the_app_is_open_is_accepted_by_the_app(app_for, demo_home, clock, tmp_path):
    """The app's keystore is read again when admitting: an invite another circle process made meanwhile counts (one validity: 72 hours)."""
    from circle.exchange import ReplicaMailbox
    from circle.store.joining import join_with_code
    from circle.store.session import Home

    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("enter")
        await opened(pilot)
        cli = unlock(demo_home, "Helen Okafor", clock)  # `circle invite` in a terminal beside the app
        offered = offer_invite(cli, cli.cohort(cli.cohort_ids()[0]), ReplicaMailbox(cli))
        cli.close()
        assert offered.hours == 72 and "lasts 72 hours" in "\n".join(offered.lines())
        nia = Home(tmp_path / "nia", calibrate=False).create_identity("Nia Brooks", "nia pass phrase", clock=clock)
        join_with_code(nia, offered.code, {"url": str(demo_home / "replica")}, ReplicaMailbox(nia))
        SyncService(nia).once()
        await pilot.press("d", *offered.code, "enter")  # the role stays participant
        await pilot.pause()
        assert isinstance(app.screen, ReadModal), [str(n.message) for n in app._notifications]
        assert "Admitted Nia Brooks" in app.screen.text and nia.fingerprint in app.screen.text


async def test_the_facilitator_takes_the_register_in_one_go(app_for, clock):
    """P in the room: everyone not marked yet is present (one batch, mark_attendance_many); apologies sent ahead stay; a second P says so."""
    app = app_for("Kwame Mensah")  # his turn
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        svc, mid = room.service, room.meeting_id
        await press_shown(pilot, "n")  # check-in
        before = dict(svc.view.attendance(mid))
        await press_shown(pilot, "3")
        assert "P: rest present" in hint(app)
        await pilot.press("P")
        await pilot.pause()
        marks = svc.view.attendance(mid)
        assert set(marks) == {m.id for m in svc.view.members()}
        assert all(marks[m] == p for m, p in before.items())  # what was marked stays as it was
        assert all(marks[m] for m in marks if m not in before)
        await pilot.press("P")
        await pilot.pause()
        assert "Everyone is marked already" in " ".join(str(n.message) for n in app._notifications)
