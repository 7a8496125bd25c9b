"""Roles from the cohort screen: only peers take facilitation turns, and the screen says so when nobody does.

`circle admit` makes newcomers participants, and the rota goes round peers only: a cohort whose members were all
admitted with the default has the supervising mentor rostered for every meeting. The Rota tab (and the roster) says
so and what a mentor does (r here, or `circle role`, which needs circle closed); r lets a mentor change a role.
"""

from __future__ import annotations

from circle.app import make_app
from circle.screens.cohort import NOTE, CohortScreen
from circle.screens.modals import ConfirmModal, PickModal
from tests.ui.conftest import opened, unlock

SIZE = (100, 30)


def rows(screen: CohortScreen, widget: str) -> list[tuple[str, str]]:
    return [(rid, prompt.plain) for rid, prompt in screen.query_one(widget)._rows]


async def cohort_screen(pilot) -> CohortScreen:
    await opened(pilot)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, CohortScreen)
    return pilot.app.screen


def without_peers(demo_home, clock) -> dict[str, tuple[str, str]]:
    """Helen makes every peer of the demo a participant (as if each had been admitted with the default role), with
    circle closed; what the held meetings' turns were before."""
    session = unlock(demo_home, "Helen Okafor", clock)
    svc = session.cohort(session.cohort_ids()[0])
    held = {t.meeting: (t.member, t.facilitated_by) for t in svc.rota().turns if t.held}
    for m in svc.view.members():
        if m.role == "peer":
            svc.set_role(m.id, "participant")
    session.close()
    return held


async def test_the_rota_says_nobody_takes_turns_and_a_mentor_makes_a_member_a_peer_with_r(demo_home, clock):
    held = without_peers(demo_home, clock)
    app = make_app(demo_home, session=unlock(demo_home, "Helen Okafor", clock), clock=clock, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await cohort_screen(pilot)
        svc = screen.service
        helen = svc.me
        assert {t.member for t in svc.rota().upcoming()} == {helen}  # the mentor for every meeting to come
        assert {t.meeting: (t.member, t.facilitated_by) for t in svc.rota().turns if t.held} == held  # the past as it was
        await pilot.press("3")
        await pilot.pause()
        rid, note = rows(screen, "#cohort-rota")[0]
        assert rid == NOTE
        assert note.startswith("Nobody takes turns: no member is a peer, so the supervising mentor is rostered for every meeting.")
        assert 'makes members peers with r on this screen (or, with circle closed, circle role "Riverside Allied Health Circle" "NAME" peer)' in note
        assert rows(screen, "#cohort-roster")[0] == (NOTE, note)  # where the roles are shown, too
        await pilot.press("enter")  # the note opens nothing
        await pilot.pause()
        assert app.screen is screen

        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, PickModal)
        members = [oid for oid, _ in app.screen.options]
        assert helen not in members and "Amara Singh  participant" in [label for _, label in app.screen.options]
        amara = next(oid for oid, label in app.screen.options if label.startswith("Amara Singh"))
        await pilot.press(*["down"] * members.index(amara), "enter")
        await pilot.pause()
        assert isinstance(app.screen, PickModal) and [oid for oid, _ in app.screen.options] == ["peer", "participant", "mentor"]
        assert "Amara Singh's role (now: participant)" in app.screen.pick_title
        await pilot.press("enter")  # peer: changed at once
        await pilot.pause()
        assert app.screen is screen
        assert svc.view.member(amara).role == "peer"
        assert any(n.message == "Amara Singh is now a facilitator-eligible peer." for n in app._notifications)
        assert {t.member for t in svc.rota().upcoming()} == {amara}
        assert {t.meeting: (t.member, t.facilitated_by) for t in svc.rota().turns if t.held} == held
        await pilot.pause()
        assert all(rid != NOTE for rid, _ in rows(screen, "#cohort-rota")), "turns go round: nothing to say"


async def test_making_someone_a_mentor_is_asked_first(app_for):
    app = app_for("Helen Okafor")
    async with app.run_test(size=SIZE) as pilot:
        screen = await cohort_screen(pilot)
        svc = screen.service
        assert all(rid != NOTE for rid, _ in rows(screen, "#cohort-rota"))  # the demo's peers take turns
        await pilot.press("r", "enter")  # the first member listed
        await pilot.pause()
        first = next(m for m in svc.view.members() if m.id != svc.me)
        await pilot.press("down", "down", "enter")  # mentor
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and "supervising mentor?" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and svc.view.member(first.id).role == first.role


async def test_only_a_mentor_changes_roles(app_for):
    app = app_for("Kwame Mensah")
    async with app.run_test(size=SIZE) as pilot:
        screen = await cohort_screen(pilot)
        await pilot.press("r")  # told who does, no picker
        await pilot.pause()
        assert app.screen is screen
        assert any(n.title == "Roles" and "A supervising mentor makes members peers" in n.message for n in app._notifications)
