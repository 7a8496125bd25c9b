"""Goals, tried by members outside a private goal's channel and by altered clients.

A private goal lives in the channel between its owner and their mentor: a
third member holding every journal decrypts none of its events (the test
counts each attempt). An altered client writes goal events straight through
``CohortStore.record``, skipping :class:`GoalService`'s checks; the other
devices' folds refuse what it was not entitled to. Each attack runs beside
the honest path, so the test can fail.
"""

from __future__ import annotations

import datetime as dt

import pytest

from circle.errors import UsageError
from circle.store.goals import GoalService
from circle.store.vault import Scope
from tests.security.laptops import Laptops, tally
from tests.security.test_private_channels import decrypt_attempts

NEXT = dt.date.today().year + 1  # dates a year or more ahead: a day that has passed is refused


def goals(lap: Laptops, name: str) -> GoalService:
    return GoalService(lap.svc(name))


def titles(lap: Laptops, name: str) -> dict[str, str]:
    return {g.id: g.title for g in goals(lap, name).read().goals}


def test_a_private_goal_is_read_by_its_owner_and_mentor_and_decrypted_by_nobody_else(ward: Laptops):
    g = goals(ward, "Cleo").add("Lead a family meeting", "skill", "observed twice with the SPIKES checklist", f"{NEXT}-09-30")
    assert g.partner == ward.id("Ana") and not g.shared  # the cohort's one mentor, by default
    ward.sync()
    ana = goals(ward, "Ana")
    seen = next(x for x in ana.read().goals if x.id == g.id)
    ana.check_in(seen, 40, "Ran the meeting on ward 3; rushed the silence after the news", evidence="observation, 12 May")
    ward.sync()
    goals(ward, "Cleo").check_in(g, 55, "Second meeting, better pacing")
    ward.sync()
    for who in ("Ana", "Cleo"):
        got = next(x for x in goals(ward, who).read().goals if x.id == g.id)
        assert [(c.progress, c.evidence) for c in got.check_ins] == [(40, "observation, 12 May"), (55, "")]
        assert goals(ward, who).readers_line(got) in ("Only you and Ana", "Only Cleo and you")
    # Ben holds every journal: none of the goal's envelopes opens with any key he holds.
    ids = {k.raw_id for k in ward.store("Cleo").entry.keys().values() if k.scope is Scope.DYAD}
    tried, opened = decrypt_attempts(ward, "Ben", ids)
    assert tried >= 3 * len(ward.store("Ben").entry.keys()) and opened == 0
    tally("a cohort member decrypts a private goal", tried, opened)
    assert g.id not in titles(ward, "Ben")
    assert not any(e.kind.startswith("goal.") for e in ward.svc("Ben").view.events)
    assert decrypt_attempts(ward, "Cleo", ids)[1] == 3  # the honest control


def test_an_altered_client_editing_someone_elses_goal_is_refused(ward: Laptops):
    g = goals(ward, "Cleo").add("Teach ECG basics to new starters", "knowledge", "three sessions, feedback forms", f"{NEXT}-06-30", shared=True)
    ward.sync()
    ben = ward.store("Ben")
    forged = ben.record(
        "goal.set",
        {"goal": g.id, "owner": ward.id("Cleo"), "title": "Cleo gives up teaching", "domain": "attitude", "measure": "none", "target": f"{NEXT}-01-01"},
    )
    ward.sync()
    for who in ("Ana", "Cleo"):
        assert titles(ward, who)[g.id] == "Teach ECG basics to new starters"
        assert ward.svc(who).view.refused()[forged.id] == "only its owner sets or edits a goal"
    tally("a member edits someone else's goal", 1, 0)


def test_an_altered_client_checking_in_on_a_private_goal_from_outside_is_refused(ward: Laptops):
    g = goals(ward, "Cleo").add("Say no to extra shifts", "attitude", "no unplanned shifts for a month", f"{NEXT}-07-31")
    ward.sync()
    ben = ward.store("Ben")
    # Ben learnt the id somehow (a screenshot): he writes a check-in into the cohort scope, where the goal does not live.
    stray = ben.record("goal.checked_in", {"goal": g.id, "owner": ward.id("Cleo"), "progress": 100, "note": "She is done, close it"})
    ward.sync()
    for who in ("Ana", "Cleo"):
        got = next(x for x in goals(ward, who).read().goals if x.id == g.id)
        assert got.check_ins == () and got.progress == 0
        assert ward.svc(who).view.refused()[stray.id] == "names a goal this place does not hold (a goal's events stay where it lives)"
    # The honest control: Cleo's own check-in in the channel counts.
    goals(ward, "Cleo").check_in(g, 20, "said no once")
    ward.sync()
    assert next(x for x in goals(ward, "Ana").read().goals if x.id == g.id).progress == 20
    tally("a member checks in on a private goal from outside", 1, 0)


def test_an_altered_client_changing_the_status_of_anothers_goal_is_refused(ward: Laptops):
    g = goals(ward, "Cleo").add("Present a case at grand rounds", "skill", "presented, with questions answered", f"{NEXT}-10-15", shared=True)
    ward.sync()
    with pytest.raises(UsageError):
        goals(ward, "Ben").set_status(next(x for x in goals(ward, "Ben").read().goals if x.id == g.id), "dropped")  # the courtesy
    forged = ward.store("Ben").record("goal.status_set", {"goal": g.id, "owner": ward.id("Cleo"), "status": "dropped"})
    peer_check = ward.store("Ben").record("goal.checked_in", {"goal": g.id, "owner": ward.id("Cleo"), "progress": 0, "note": "not started"})
    ward.sync()
    for who in ("Ana", "Cleo"):
        got = next(x for x in goals(ward, who).read().goals if x.id == g.id)
        assert got.status == "active" and not got.check_ins
        refused = ward.svc(who).view.refused()
        assert refused[forged.id] == "only its owner changes a goal's status"
        assert refused[peer_check.id] == "only its owner or a mentor checks in on a shared goal"
    # The honest path: Ana, a mentor, checks in on the shared goal; Cleo marks it achieved.
    goals(ward, "Ana").check_in(next(x for x in goals(ward, "Ana").read().goals if x.id == g.id), 100, "Presented well; handled the registrar's question")
    ward.sync()
    goals(ward, "Cleo").set_status(g, "achieved")
    ward.sync()
    got = next(x for x in goals(ward, "Ben").read().goals if x.id == g.id)
    assert (got.status, got.progress) == ("achieved", 100)
    tally("a member changes the status of another's goal", 2, 0)


def test_only_a_mentor_sets_when_goals_are_nudged(ward: Laptops):
    with pytest.raises(UsageError):
        goals(ward, "Ben").set_nudge_weeks(1)
    forged = ward.store("Ben").record("cohort.charter_set", {"goal_nudge_weeks": 52})
    ward.sync()
    assert ward.svc("Cleo").view.cohort().goal_nudge_weeks == 4 and forged.id in ward.svc("Cleo").view.refused()
    goals(ward, "Ana").set_nudge_weeks(2)
    ward.sync()
    assert goals(ward, "Cleo").read().weeks == 2
    tally("a non-mentor sets the goal nudge", 1, 0)
