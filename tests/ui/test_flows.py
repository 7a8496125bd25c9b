"""Each flow a person goes through, driven with Pilot, asserting on the resulting view and events."""

from __future__ import annotations

import io
import threading
import time
from types import SimpleNamespace

import pytest
from rich.console import Console

from circle.app import make_app
from circle.demo import DEMO_PASSPHRASE
from circle.models.meeting import next_meeting
from circle.screens import base
from circle.screens.cohort import CohortScreen
from circle.screens.home import HomeScreen
from circle.screens.meeting import MeetingScreen
from circle.screens.modals import ConfirmModal, FormModal, HelpModal, PickModal, ReadModal
from circle.store.service import CohortService
from circle.sync.service import SyncService
from circle.sync.status import SyncStatus
from circle.widgets import Countdown, SyncBadge
from tests.locks import held_elsewhere

from .conftest import opened, unlock

SIZE = (100, 30)


def kinds(app, cohort_id: str, since: int = 0) -> list[str]:
    return [e.kind for e in sorted(app.meetings(cohort_id).view.events, key=lambda e: e.stamp)][since:]


async def open_room(pilot):
    await opened(pilot)
    await pilot.press("m")
    await pilot.pause()
    assert isinstance(pilot.app.screen, MeetingScreen)
    return pilot.app.screen


async def type_form(pilot, *values: str | list[str] | None) -> None:
    """Fill a FormModal's fields in order and submit; None leaves a choice as it is."""
    assert isinstance(pilot.app.screen, FormModal)
    for v in values:
        if v is None:
            await pilot.press("tab")
            continue
        await pilot.press(*v, "enter")
    await pilot.pause()


async def test_unlock_wrong_passphrase_is_calm_then_right_one_opens_home(demo_home, clock):
    app = make_app(demo_home, identity="Amara Singh", clock=clock, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"not my passphrase", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        message = str(app.screen.query_one("#unlock-message").render())
        assert "did not open" in message and "try again" in message
        assert app.session is None
        await pilot.press(*DEMO_PASSPHRASE, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert app.session.name == "Amara Singh"


async def test_unlock_with_no_passphrase_says_so_and_puts_the_cursor_back(demo_home, clock):
    """Tab to Unlock and press it with nothing typed: one plain sentence, and typing goes on in the passphrase field."""
    app = make_app(demo_home, identity="Amara Singh", clock=clock, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert str(app.screen.query_one("#unlock-message").render()) == "Type your passphrase: then press Enter"
        assert app.focused is app.screen.query_one("#unlock-pass")
        await pilot.press(*DEMO_PASSPHRASE, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_create_identity_then_cohort_from_an_empty_home(tmp_path, clock):
    app = make_app(tmp_path / "fresh", clock=clock, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"Nadia Haddad", "enter", *"four quiet words here")
        assert "Strength: strong" in str(app.screen.query_one("#unlock-strength").render())
        await pilot.press("enter", *"four quiet words hare", "enter")  # a typo the second time: asked again, nothing created
        await pilot.pause()
        assert "The two passphrases differ" in str(app.screen.query_one("#unlock-message").render())
        assert app.screen.query_one("#unlock-pass").value == "four quiet words here" and app.home.identities() == []
        await pilot.press(*"four quiet words here", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        # The recovery code, shown once over the home screen, is the one the keystore keeps.
        assert isinstance(app.screen, ReadModal)
        assert app.session.recovery_code() in str(app.screen.query_one("#read-text").render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press(*"Dietitians North", "tab", *"Peer supervision for new dietitians", "enter")
        await pilot.pause()
        infos = app.session.cohorts()
        assert [c.name for c in infos] == ["Dietitians North"]
        view = app.meetings(infos[0].id).view
        assert view.cohort().purpose == "Peer supervision for new dietitians"
        assert [(m.name, m.role) for m in view.members()] == [("Nadia Haddad", "mentor")]
        assert kinds(app, infos[0].id)[:2] == ["cohort.created", "member.admitted"]


async def test_run_a_meeting_through_all_phases(app_for, clock):
    app = app_for("Kwame Mensah")  # his turn
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        svc: CohortService = room.service
        mid = room.meeting_id
        before = len(svc.view)
        await pilot.press("n")  # check-in
        await pilot.press("3", "space", "down", "space")  # tick Helen and Amara present
        await pilot.pause()
        assert {svc.view.name_of(m) for m, p in svc.view.attendance(mid).items() if p} >= {"Helen Okafor", "Amara Singh"}
        await pilot.press("n")  # agenda
        app.screen.query_one("#meeting-agenda").focus()
        await pilot.press("enter")  # start the first item
        await pilot.pause()
        first = svc.view.agenda(mid)[0]
        assert svc.meeting(mid).current_item == first.id
        await pilot.press("o")
        await type_form(pilot, "Use the SBAR card for student feedback too.")
        await pilot.press("d")
        await type_form(pilot, "Priya drafts a one-page feedback guide.")
        notes = svc.view.notes(mid, first.id)
        assert [(n.kind, n.text) for n in notes] == [
            ("note", "Use the SBAR card for student feedback too."),
            ("decision", "Priya drafts a one-page feedback guide."),
        ]
        await pilot.press("x")  # item done, next starts
        await pilot.pause()
        assert next(i for i in svc.view.agenda(mid) if i.id == first.id).status == "done"
        assert svc.meeting(mid).current_item == svc.view.agenda(mid)[1].id
        await pilot.press("n", "n")  # feedback, actions
        await pilot.press("t")
        await type_form(pilot, "Draft the feedback guide", None, "2025-06-18")
        action = [a for a in svc.view.actions(mid)]
        assert [(a.title, a.due, a.status) for a in action] == [("Draft the feedback guide", "2025-06-18", "open")]
        await pilot.press("n")  # wrap-up
        await pilot.pause()
        assert svc.meeting(mid).phase == "wrap-up"
        await pilot.press("w", "y")
        await pilot.pause()
        m = svc.meeting(mid)
        assert m.held and m.facilitator == svc.me
        phases = [e.body["phase"] for e in sorted(svc.view.events, key=lambda e: e.stamp)[before:] if e.kind == "meeting.phase_set"]
        assert phases == ["check-in", "agenda", "feedback", "actions", "wrap-up"]
        # Carry-over: the next meeting lists what was left open, including the new action.
        nxt = next_meeting(svc.view)
        carried = {i.title for i in svc.view.agenda(nxt.id) if i.carried_from}
        assert "Follow-up: Draft the feedback guide" in carried
        assert "Preparing for my first audit" in carried  # never reached today
        assert "Feedback that students can use" not in carried  # done today


async def test_only_the_facilitator_advances(app_for):
    app = app_for("Tom Berg")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        n = len(room.service.view)
        await pilot.press("n", "x", "w")
        await pilot.pause()
        assert len(room.service.view) == n
        assert room.service.meeting(room.meeting_id).phase == ""
        assert any("only the facilitator" in str(note.title).lower() for note in app._notifications), [n.title for n in app._notifications]
        await pilot.press("a")  # but anyone may add an item
        await type_form(pilot, "Rubric results", None, ["backspace", "backspace", "1", "2"])
        assert any(i.title == "Rubric results" and i.minutes == 12 for i in room.service.view.agenda(room.meeting_id))


async def test_timer_signals_gently_when_time_is_up(app_for, clock):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        await pilot.press("n", "n", "enter")
        await pilot.pause()
        timer = app.screen.query_one(Countdown)
        item = room.service.view.agenda(room.meeting_id)[0]
        assert timer.state.label() == f"{item.minutes:02d}:00"
        clock.advance(item.minutes * 60 - 30)
        room.tick()
        await pilot.pause()
        assert timer.state.label() == "00:30" and not timer.has_class("-over")
        clock.advance(45)
        room.tick()
        await pilot.pause()
        assert timer.has_class("-over") and timer.state.label() == "time's up +00:15"
        assert [n.title for n in app._notifications].count("Time's up") == 1
        clock.advance(60)
        room.tick()
        await pilot.pause()
        assert [n.title for n in app._notifications].count("Time's up") == 1  # once, not every second


async def test_handoff_mid_meeting(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        svc, mid = room.service, room.meeting_id
        await pilot.press("n", "h")
        await pilot.pause()
        assert isinstance(app.screen, PickModal)
        labels = [str(o.prompt) for o in app.screen.query_one("#pick").options]
        await pilot.press(*["down"] * labels.index("Amara Singh"), "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and "Hand the facilitator role to Amara Singh?" in app.screen.question
        assert svc.view.name_of(svc.facilitator(mid)) == "Kwame Mensah"  # nothing before the confirmation
        await pilot.press("y")
        await pilot.pause()
        assert svc.view.name_of(svc.facilitator(mid)) == "Amara Singh"
        [h] = svc.view.handoffs(mid)
        assert h.author == svc.me
        phase = svc.meeting(mid).phase
        await pilot.press("n")  # no longer his to advance
        await pilot.pause()
        assert svc.meeting(mid).phase == phase
        assert "Amara Singh" in str(app.screen.query_one("#meeting-meta").render())


async def test_rota_skips_a_member_marked_absent(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        svc, mid = room.service, room.meeting_id
        assert svc.facilitator(mid) == svc.me
        people = [m.id for m in svc.view.members()]
        await pilot.press("3", *["down"] * people.index(svc.me), "space", "space")  # present, then not: absent
        await pilot.pause()
        assert svc.view.attendance(mid)[svc.me] is False
        assert svc.view.name_of(svc.facilitator(mid)) == "Priya Nair"
        assert "Priya Nair" in str(app.screen.query_one("#meeting-meta").render())


async def test_away_give_back_and_swap_from_the_cohort_screen(app_for, demo_home, clock):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        svc = (await cohort_screen(pilot)).service
        up = [t.meeting for t in svc.rota().upcoming()]
        names = lambda: [svc.view.name_of(t.facilitated_by) for t in svc.rota().upcoming()]  # noqa: E731
        assert names() == ["Kwame Mensah", "Priya Nair"]
        await pilot.press("w", "enter")  # ask to swap with the only other upcoming turn
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and "It takes effect when Priya Nair accepts." in app.screen.question
        assert svc.view.rota_changes() == [] or svc.view.rota_changes()[-1].kind != "rota.swapped"  # nothing before the confirmation
        await pilot.press("y")
        await pilot.pause()
        assert svc.view.rota_changes()[-1].kind == "rota.swapped"
        assert names() == ["Kwame Mensah", "Priya Nair"], "a swap waits for the other holder"
        priya = unlock(demo_home, "Priya Nair", clock)
        SyncService(app.session).once()  # Kwame's request reaches the folder replica, then Priya's laptop
        SyncService(priya).once()
        request = priya.cohort(svc.id)
        [(rid, who, _theirs, _mine)] = request.swap_requests()
        assert who == svc.me
        request.accept_swap(rid)
        SyncService(priya).once()
        SyncService(app.session).once()
        await pilot.pause()
        assert names() == ["Priya Nair", "Kwame Mensah"]
        await pilot.press("g")  # give back his (now second) turn
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and "Give back your turn" in app.screen.question
        await pilot.press("n")  # changed his mind: nothing happens
        await pilot.pause()
        assert svc.view.rota_changes()[-1].kind == "rota.swap_accepted"
        await pilot.press("g", "y")
        await pilot.pause()
        assert svc.view.rota_changes()[-1].kind == "rota.given_back"
        assert svc.rota().facilitator(up[1]) != svc.me
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and not svc.view.member(svc.me).away
        await pilot.press("y")
        await pilot.pause()
        assert svc.view.member(svc.me).away


async def test_anonymous_round_shows_lines_without_names(app_for):
    app = app_for("Lucia Romero")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        await pilot.press("r")
        journal = room.service.store.journal.path.read_bytes()
        await type_form(pilot, "I felt heard today.")
        await app.workers.wait_for_complete()  # the line goes to the replica off the UI thread
        await pilot.press("4")
        await pilot.pause()
        text = str(app.screen.query_one("#meeting-round").render())
        assert "I felt heard today." in text
        assert "Lucia" not in text
        assert room.service.view.anonymous_lines(room.meeting_id) == ["I felt heard today."]
        assert room.service.store.journal.path.read_bytes() == journal  # in no journal: nothing signed by Lucia


async def test_events_from_a_peer_appear_without_a_restart(app_for, demo_home, clock):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        amara_session = unlock(demo_home, "Amara Singh", clock)
        amara = amara_session.cohort(room.service.id)
        amara.add_item(room.meeting_id, "Team phone: IT said yes", minutes=5)
        SyncService(amara_session).once()  # her device pushes to the folder replica
        SyncService(app.session).once()  # this one pulls and folds: listeners refresh the room
        await pilot.pause()
        agenda = app.screen.query_one("#meeting-agenda")
        assert any("Team phone: IT said yes" in str(o.prompt) for o in agenda.options)


async def test_help_lists_the_keys_and_palette_has_no_screenshot(app_for):
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_room(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        text = "\n".join(str(s.render()) for s in app.screen.query(".help-rows"))
        for key, what in [("n", "Next phase"), ("h", "Hand the facilitator role"), ("r", "Anonymous line"), ("w", "Wrap up"), ("Ctrl+P", "command palette")]:
            assert key in text and what in text
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Screenshot" not in titles and "Keys" in titles


async def test_the_palette_finds_the_screens_commands_by_name_and_runs_them(app_for):
    """Ctrl+P, "phase" then Enter: the palette offers what the footer offers, with its key, and runs it."""
    from textual.command import CommandPalette

    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await open_room(pilot)
        room = app.screen
        before = room.service.meeting(room.meeting_id).phase
        commands = {c.title: c.help for c in app.get_system_commands(room)}
        assert commands["Phase"] == "Next phase (the facilitator) (key: n)" and "Wrap up" in commands
        await pilot.press("escape", "enter")  # home, then the cohort screen
        await opened(pilot)
        assert isinstance(app.screen, CohortScreen)
        hidden = {c.title: c.help for c in app.get_system_commands(app.screen)}  # it keeps Export off its footer
        assert hidden["Export"].endswith("(key: e)") and "Back" not in hidden
        await pilot.press("m")
        await opened(pilot)
        room = app.screen
        assert isinstance(room, MeetingScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"phase")
        await opened(pilot)
        await pilot.press("enter")
        await opened(pilot)
        assert app.screen is room
        assert room.service.meeting(room.meeting_id).phase != before  # the palette's Next phase moved the phase


async def test_home_paints_before_the_cohort_opens_and_m_opens_the_room_when_it_is_ready(app_for):
    app = app_for("Kwame Mensah")
    gate = threading.Event()
    real_cohort = app.session.cohort

    def slow_cohort(cid, progress=None):  # a big cohort: decrypting takes a while
        gate.wait(10)
        return real_cohort(cid, progress)

    app.session.cohort = slow_cohort
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        rows = lambda: [str(o.prompt) for o in app.screen.query_one("#home-cohorts").options]  # noqa: E731
        assert rows() == ["Opening a cohort…\n  decrypting on this device"]
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert rows() == ["Opening a cohort…\n  then its meeting room"]
        gate.set()
        await opened(pilot)
        assert isinstance(app.screen, MeetingScreen)
        assert app.screen.meeting_id == next_meeting(app.screen.service.view).id
        await pilot.press("escape")
        await pilot.pause()
        assert rows()[0].startswith("Riverside Allied Health Circle\n")


async def test_a_cohort_opening_without_its_snapshot_says_how_far_it_got(app_for):
    """A big history opened cold (after joining) takes seconds: the row counts the events opened, and the count goes when it opens."""
    app = app_for("Kwame Mensah")
    told, gate = threading.Event(), threading.Event()
    real_cohort = app.session.cohort

    def cold_cohort(cid, progress=None):  # the store tells its progress as it opens events (store/cohort.py:PROGRESS_EVERY)
        progress(5_000, 12_345)
        told.wait(10)
        progress(15_000, 0)  # more came than the journals' heads said: a count, not a share
        gate.wait(10)
        return real_cohort(cid)

    app.session.cohort = cold_cohort
    async with app.run_test(size=SIZE) as pilot:
        rows = lambda: [str(o.prompt) for o in app.screen.query_one("#home-cohorts").options]  # noqa: E731
        for _ in range(50):
            await pilot.pause(0.02)
            if len(rows()[0].splitlines()) == 3:
                break
        assert rows() == ["Opening a cohort…\n  decrypting on this device\n  5,000 of 12,345 events"]
        assert "5,000 of 12,345 events" in str(app.screen.query_one("#home-detail").render())
        told.set()
        for _ in range(50):
            await pilot.pause(0.02)
            if "15,000" in rows()[0]:
                break
        assert rows() == ["Opening a cohort…\n  decrypting on this device\n  15,000 events so far"]
        await pilot.press("m")
        await pilot.pause()
        assert rows() == ["Opening a cohort…\n  then its meeting room\n  15,000 events so far"]
        gate.set()
        await opened(pilot)
        assert isinstance(app.screen, MeetingScreen) and not app.opening_progress
        await pilot.press("escape")
        await pilot.pause()
        assert rows()[0].startswith("Riverside Allied Health Circle\n")


async def test_a_big_cohort_is_read_off_the_ui_thread(app_for, monkeypatch):
    monkeypatch.setattr(base, "INLINE_EVENTS", 0)  # every view counts as big
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        await opened(pilot)
        agenda = [str(o.prompt) for o in app.screen.query_one("#meeting-agenda").options]
        assert "Feedback that students can use" in agenda[0]
        await pilot.press("o")
        await type_form(pilot, "Ask the students what they want from feedback.")
        await opened(pilot)
        notes = [str(o.prompt) for o in app.screen.query_one("#meeting-notes").options]
        assert any(n.startswith("Ask the students what they want from feedback.") for n in notes)
        assert "Kwame Mensah (you)" in str(app.screen.query_one("#meeting-meta").render())
        assert room.service.view.notes(room.meeting_id)[-1].text == "Ask the students what they want from feedback."


def reads_started(monkeypatch) -> list[str]:
    """The screens (by id) that sent a read to a worker, from now on."""
    started: list[str] = []
    start = base.CircleScreen._start_read

    def spy(self) -> None:
        started.append(self.id)
        start(self)

    monkeypatch.setattr(base.CircleScreen, "_start_read", spy)
    return started


async def test_a_big_cohort_room_opens_with_its_content_once_its_rota_is_current(app_for, monkeypatch):
    monkeypatch.setattr(base, "INLINE_EVENTS", 0)  # every view counts as big
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)  # the home screen has read the cohort: its rota is current
        started = reads_started(monkeypatch)
        await pilot.press("m")
        room = app.screen
        assert isinstance(room, MeetingScreen) and room.rows is not None  # read as it mounted: no "Opening the meeting…" frame
        assert "Feedback that students can use" in str(room.query_one("#meeting-agenda").options[0].prompt)
        await pilot.press("escape", "enter")
        assert isinstance(app.screen, CohortScreen) and app.screen.query_one("#cohort-meetings").total > 0
        await pilot.press("escape")
        room.service.add_note(room.meeting_id, "A new note: the rota is no longer current.")
        await opened(pilot)
        assert started == ["home"]  # after a change the read went to a worker, as for any big view


async def test_the_room_does_not_wait_for_a_sync_thread_holding_the_cohort(app_for, monkeypatch):
    monkeypatch.setattr(base, "INLINE_EVENTS", 0)
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        service = app.screen.circle.opened(app.session.cohort_ids()[0])
        with held_elsewhere(service.store.lock, at_most=10):  # what the sync service's ingest does: folds under the cohort's lock
            started = reads_started(monkeypatch)
            await pilot.press("m")
            room = app.screen
            assert isinstance(room, MeetingScreen) and room.rows is None  # on screen at once, "Opening the meeting…"
        await opened(pilot)
        assert started == ["meeting"] and room.rows is not None
        assert "Feedback that students can use" in str(room.query_one("#meeting-agenda").options[0].prompt)


async def test_a_long_note_is_cut_in_the_list_and_enter_reads_it_whole(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        item = room.selected_item()
        text = " ".join(["The rural site asked for a written escalation path before the winter rota starts."] * 8)
        room.service.add_note(room.meeting_id, text, item.id)
        await pilot.pause()
        notes = app.screen.query_one("#meeting-notes")
        [index] = [i for i, o in enumerate(notes.options) if str(o.prompt).startswith(text[:40])]
        shown = str(notes.options[index].prompt)
        assert "Enter reads it all" in shown and len(shown) < len(text)
        await pilot.press("1")
        notes.highlighted = index
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReadModal)
        assert app.screen.text == text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MeetingScreen)


class FakeSync:
    """Stands in for the sync service the CLI passes as ``sync_factory``."""

    def __init__(self, session) -> None:
        self.session = session
        self.opened_at_start: set[str] | None = None

    def start(self, focus=None) -> None:
        self.opened_at_start = set(self.session._cohorts)

    def stop(self) -> None:
        pass

    def set_focus(self, cohort_id) -> None:
        pass

    def status(self):
        return SimpleNamespace(state="up to date", badge=lambda: "up to date · 6 peers")


async def test_sync_starts_once_the_cohorts_are_open_and_the_badge_shows_it(app_for):
    app = app_for("Kwame Mensah", sync_factory=FakeSync)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        assert app.sync.opened_at_start == set(app.session.cohort_ids())  # never folding into a cohort still opening
        badge = app.screen.query_one(SyncBadge)
        app.poll_sync_status()  # what the app's timer does once a second
        await pilot.pause()
        assert "up to date · 6 peers" in str(badge.render())


async def test_crash_report_never_shows_locals_or_plaintext(app_for, monkeypatch):
    app = app_for()
    out = io.StringIO()
    monkeypatch.delenv("CIRCLE_DEBUG", raising=False)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=SIZE) as pilot:
            app.error_console = Console(file=out, width=100)

            def boom() -> None:
                secret_note = "patient in bed 4 said something private"  # noqa: F841
                raise RuntimeError("patient in bed 4")

            app.call_later(boom)
            await pilot.pause()
    app._print_error_renderables()
    text = out.getvalue()
    assert "internal error (RuntimeError)" in text
    assert "bed 4" not in text and "secret_note" not in text


async def test_invite_join_and_admit_from_the_app(app_for, demo_home, clock, tmp_path):
    """Helen invites from the cohort screen (i) and says the short code; a newcomer joins from their home
    screen (j) with the code and the replica folder; Helen admits with the same code (d); both see
    fingerprints to compare, and the newcomer's home lists the cohort once her app hears the answer."""
    from circle.screens.modals import ReadModal
    from circle.store.session import Home

    helen = app_for("Helen Okafor")
    async with helen.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("enter")
        await opened(pilot)
        assert isinstance(helen.screen, CohortScreen)
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(helen.screen, ReadModal) and "Everyone reads theirs aloud" in helen.screen.text
        roster_before = helen.screen.text.split()[:8]
        await pilot.press("escape")
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(helen.screen, ReadModal)
        code = helen.screen.text.split("Invite code: ")[1].split()[0]
        assert len(code) <= 24 and "72 hours" in helen.screen.text
        assert helen.session.fingerprint in helen.screen.text
        await pilot.press("escape")

        nia_session = Home(tmp_path / "nia", calibrate=False).create_identity("Nia Brooks", "nia pass phrase", clock=clock)
        nia = make_app(tmp_path / "nia", session=nia_session, clock=clock, cursor_blink=False)
        async with nia.run_test(size=SIZE) as npilot:
            await opened(npilot)
            await npilot.press("j")
            await type_form(npilot, code, "")  # no replica given: the form says so beside the field and keeps the code
            assert isinstance(nia.screen, FormModal)
            assert "where is the cohort's replica" in str(nia.screen.query_one("#error-where").render())
            assert nia.screen.values()["code"] == code
            await type_form(npilot, str(demo_home / "replica"))
            assert isinstance(nia.screen, ReadModal), "joining should show the fingerprint to read aloud"
            assert nia_session.fingerprint in nia.screen.text
            SyncService(nia_session).once()  # Nia's device pushes her try to the cohort's folder replica

            await pilot.press("d")
            await type_form(pilot, code)
            assert isinstance(helen.screen, ReadModal), "admitting should show fingerprints to compare"
            assert "Admitted Nia Brooks" in helen.screen.text and nia_session.fingerprint in helen.screen.text
            cohort = helen.session.cohort(helen.session.cohort_ids()[0])
            assert "Nia Brooks" in [m.name for m in cohort.view.members()]
            SyncService(helen.session).once()  # the admission goes out

            await npilot.press("escape")
            nia.poll_joins()  # what her app does every few seconds: the answer names Helen's journal
            await nia.workers.wait_for_complete()
            SyncService(nia_session).once()  # and sync brings the admission: the cohort takes its real id
            await npilot.pause()
            rows = [str(o.prompt) for o in nia.screen.query_one("#home-cohorts").options]
            assert rows[0].startswith("Riverside Allied Health Circle\n"), rows

        await pilot.press("escape")
        await pilot.press("f")
        await pilot.pause()
        assert helen.screen.text.split()[:8] != roster_before  # the roster changed, so its fingerprint did


async def test_sync_status_from_the_home_screen(app_for):
    from circle.screens.modals import ReadModal

    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ReadModal) and app.screen.text == "Sync is off."


class ChangingSync(FakeSync):
    """A sync service whose status the test sets; counts how often it is asked."""

    def __init__(self, session) -> None:
        super().__init__(session)
        self.current = SyncStatus("syncing", "", ())
        self.asked = 0

    def status(self):
        self.asked += 1
        return self.current


async def test_sync_status_reaches_every_badge_from_one_read_and_the_report_updates_while_open(app_for):
    from circle.screens.modals import ReadModal
    from circle.sync.status import CohortSync

    app = app_for("Kwame Mensah", sync_factory=ChangingSync)
    async with app.run_test(size=SIZE) as pilot:
        await open_room(pilot)  # home, cohort-less room on top: two screens with a badge each
        await pilot.press("escape")
        await pilot.press("enter")  # the cohort screen: three badges in the stack
        await opened(pilot)
        badges = [s.query_one(SyncBadge) for s in app.screen_stack if s.query(SyncBadge)]
        assert len(badges) == 2  # home and cohort (the room was closed)
        app.sync_timer.pause()  # the test polls by hand: a tick of the app's own timer on a busy machine would count twice
        asked = app.sync.asked
        app.poll_sync_status()
        await pilot.pause()
        assert app.sync.asked == asked + 1  # one read for every badge
        assert all("syncing" in str(b.render()) for b in badges)
        app.sync.current = SyncStatus("up to date", "", (CohortSync("c", "Riverside", "the home folder", 2),))
        app.poll_sync_status()
        await pilot.pause()
        assert all("sending · 2 not yet sent" in str(b.render()) for b in badges)  # not "up to date" while ours waits
        assert all(b.has_class("-ok") for b in badges)

        await pilot.press("escape", "y")  # the sync report on the home screen
        await pilot.pause()
        assert isinstance(app.screen, ReadModal) and "not yet sent: 2" in app.screen.text
        app.sync.current = SyncStatus("problem", "replica folder not found", (CohortSync("c", "Riverside", "the home folder", 5),))
        app.poll_sync_status()
        await pilot.pause()
        assert "State: problem — replica folder not found" in app.screen.text and "not yet sent: 5" in app.screen.text
        assert "not yet sent: 5" in str(app.screen.query_one("#read-text").render())


async def test_an_outage_reads_the_same_in_the_badge_and_the_report_as_in_the_cli_and_clears_when_it_ends(app_for):
    """Offline: since when, why, what waits, in `circle sync --once`'s words; the open report follows; back: caught up."""
    from circle.screens.modals import ReadModal
    from circle.sync.status import CohortSync, PeerStatus, clock, offline_line

    app = app_for("Kwame Mensah", sync_factory=ChangingSync)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        since = time.time() - 600
        amara = (PeerStatus("Amara Singh", "j", 12, since - 100, "unreachable", since - 100),)
        away = CohortSync("c", "Riverside", "s3://circle/north at http://192.0.2.20:8333", 3, 700.0, amara, "", "offline", since, "the replica did not answer")
        app.sync.current = SyncStatus("offline", away.reach_line(), (away,))
        app.poll_sync_status()
        await pilot.press("y")
        await pilot.pause()
        badge = app.screen_stack[-2].query_one(SyncBadge)
        assert str(badge.render()) == f"⇅ offline since {clock(since)} · 3 not yet sent" and badge.has_class("-problem")
        said = offline_line("s3://circle/north at http://192.0.2.20:8333", "the replica did not answer", since, 3)
        assert isinstance(app.screen, ReadModal) and f"\n  {said}\n" in app.screen.text  # the line `circle sync --once` prints
        assert "caught up with the replica 11 min ago" in app.screen.text
        back = CohortSync("c", "Riverside", away.replica, 0, 1.0, amara, "", "ok", 0.0, "", time.time())
        app.sync.current = SyncStatus("up to date", "", (back,))
        app.poll_sync_status()
        await pilot.pause()
        assert "offline" not in app.screen.text and "caught up with the replica 1 s ago; last change received" in app.screen.text
        assert str(badge.render()) == "⇅ up to date"


async def test_a_command_reads_the_room_once(app_for, monkeypatch):
    app = app_for("Kwame Mensah")  # his turn
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        reads = []
        real_read = room.read
        monkeypatch.setattr(room, "read", lambda: reads.append(1) or real_read())
        await pilot.press("n")  # one event: check-in
        await pilot.pause()
        assert len(reads) == 1 and room.rows.meeting.phase == "check-in"
        assert "Check-in" in str(room.query_one("#meeting-hint").render())  # what the key did shows at once
        reads.clear()
        await pilot.press("o")
        await type_form(pilot, "One read for a note typed in a form.")
        await pilot.pause()
        assert len(reads) == 1  # coming back from the form read nothing; the note's change read once
        assert any("One read for a note" in str(o.prompt) for o in room.query_one("#meeting-notes").options)
        reads.clear()
        await pilot.press("n", "n", "n", "n", "w", "y")  # to wrap-up, then mark held: two writes (held, carry-over)
        await pilot.pause()
        assert room.service.meeting(room.meeting_id).held
        assert len(reads) == 5  # four phases and the wrap-up: one read each


async def test_ingest_runs_on_the_sync_thread_and_the_room_shows_it(app_for, demo_home, clock):
    """A peer's item arrives through the real sync service running in the background: folded off the UI thread."""
    app = app_for("Kwame Mensah", sync_factory=SyncService)
    async with app.run_test(size=SIZE) as pilot:
        room = await open_room(pilot)
        threads: list[int] = []
        room.service.store.listeners.append(lambda _store, _events: threads.append(threading.get_ident()))
        amara_session = unlock(demo_home, "Amara Singh", clock)
        amara_session.cohort(room.service.id).add_item(room.meeting_id, "Heard through the background sync", minutes=5)
        SyncService(amara_session).once()
        agenda = room.query_one("#meeting-agenda")
        for _ in range(300):
            await pilot.pause(0.05)
            if any("Heard through the background sync" in str(o.prompt) for o in agenda.options):
                break
        else:
            raise AssertionError(f"the peer's item never appeared: {app.sync.status()}")
        assert threads and threading.get_ident() not in threads  # folded on the sync thread, not the UI's


async def test_a_newcomer_sees_the_cohort_appear_once_admitted(app_for, demo_home, clock, tmp_path):
    """Nia asks to join from her home screen; once Helen admits her and sync brings the admission,
    her home lists the cohort by name (its real id replaces the provisional one)."""
    from circle.store.joining import admit, create_invite
    from circle.store.session import Home
    from circle.sync.service import journal_fetcher

    helen = unlock(demo_home, "Helen Okafor", clock)
    cohort = helen.cohort(helen.cohort_ids()[0])
    invite = create_invite(helen, cohort).code
    nia_session = Home(tmp_path / "nia", calibrate=False).create_identity("Nia Brooks", "nia pass phrase", clock=clock)
    nia = make_app(tmp_path / "nia", session=nia_session, clock=clock, cursor_blink=False)
    async with nia.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("j")
        await type_form(pilot, invite, "")  # a long code carries where the replica is
        join_code = next(w for w in nia.screen.text.split() if w.startswith("circle-join-"))
        await pilot.press("escape")
        rows = lambda: [str(o.prompt) for o in nia.screen.query_one("#home-cohorts").options]  # noqa: E731
        assert rows()[0].startswith("(waiting to be admitted)")
        SyncService(nia_session).once()  # her request reaches the cohort's replica
        admit(cohort, join_code, journal_fetcher(helen))
        SyncService(helen).once()  # the admission and her key go out
        SyncService(nia_session).once()  # and come in: the cohort takes its real id
        await pilot.pause()
        assert rows()[0].startswith("Riverside Allied Health Circle\n"), rows()


async def cohort_screen(pilot) -> CohortScreen:
    """Enter on the home screen's first cohort, once it has opened."""
    await opened(pilot)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, CohortScreen)
    return pilot.app.screen


async def test_a_mentor_sets_what_newcomers_read_from_the_cohort_screen(app_for):
    """n on the cohort screen: a mentor picks "from when they join"; the charter says so."""
    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        svc = (await cohort_screen(pilot)).service
        assert svc.view.cohort().history == "all"
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, PickModal) and [oid for oid, _ in app.screen.options] == ["all", "joining"]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, CohortScreen)
        assert svc.view.cohort().history == "joining"
        assert "Newcomers read" in app.screen.read().charter.plain


async def test_only_a_mentor_sets_what_newcomers_read(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        screen = await cohort_screen(pilot)
        await pilot.press("n")  # told what it is and who decides, no picker
        await pilot.pause()
        assert app.screen is screen and screen.service.view.cohort().history == "all"
        assert any("Newcomers read everything since the cohort began. A supervising mentor decides it." in n.message for n in app._notifications)


async def test_ctrl_q_over_a_half_typed_note_asks_first_and_keeps_it(app_for):
    """Ctrl+Q quit at once and the note being typed was gone: now it asks (No highlighted); Ctrl+Q again quits."""
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        await open_room(pilot)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, FormModal)
        await pilot.press(*"Half-typed note about the rota")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, ConfirmModal)
        assert "lose what you typed" in app.screen.question
        await pilot.press("enter")  # the highlighted answer keeps typing
        await pilot.pause()
        assert isinstance(app.screen, FormModal) and app.screen.values()["text"] == "Half-typed note about the rota"
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_ctrl_q_with_nothing_typed_quits_at_once(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        await open_room(pilot)
        await pilot.press("o")  # a form opened, nothing typed in it
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running
