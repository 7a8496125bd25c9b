"""Goals: who may set, check in on and close a goal, in the cohort scope and in a channel; nudges by date; any order folds the same.

Shared goals are folded by the cohort's view (refusals in ``View.refused``);
a channel's goals by :func:`fold_goals` with its two members, as the goal
service does with ``Channels.accepted``. Events are plain (no crypto).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from circle.models import schema
from circle.models.events import Event
from circle.models.goals import DEFAULT_NUDGE_WEEKS, fold_goals, nudges
from tests.cohort_log import CohortLog


def goal_body(gid: str, owner: str, title: str = "Lead a family meeting on end-of-life care", **more) -> dict:
    return {
        "goal": gid,
        "owner": owner,
        "title": title,
        "domain": "skill",
        "measure": "observed by my mentor twice, using the SPIKES checklist",
        "target": "2026-09-30",
        **more,
    }


def check(gid: str, owner: str, progress: int, note: str = "practised with a colleague", **more) -> dict:
    return {"goal": gid, "owner": owner, "progress": progress, "note": note, **more}


def ts_of(day: str) -> float:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp()


def ward() -> CohortLog:
    """m (mentor), q and r (peers), n (a second mentor)."""
    log = CohortLog("m")
    log.admit("q", "peer")
    log.admit("r", "peer")
    log.admit("n", "mentor")
    return log


# ---- shared goals: the cohort's view -----------------------------------------


def test_a_shared_goal_with_check_ins_by_its_owner_and_a_mentor_and_a_status():
    log = ward()
    log.add("q", "goal.set", goal_body("g1", "q"))
    log.add("q", "goal.checked_in", check("g1", "q", 30, evidence="reflective log, entry 4"))
    log.add("n", "goal.checked_in", check("g1", "q", 50, note="observed the meeting on ward 3: clear, kind, paced"))
    log.add("q", "goal.status_set", {"goal": "g1", "owner": "q", "status": "achieved"})
    v = log.view()
    g = v.shared_goals().goals[log.id("q"), "g1"]
    assert (g.owner, g.partner, g.shared, g.domain, g.target) == (log.id("q"), "", True, "skill", "2026-09-30")
    assert [(c.author, c.progress, c.evidence) for c in g.check_ins] == [(log.id("q"), 30, "reflective log, entry 4"), (log.id("n"), 50, "")]
    assert g.progress == 50 and g.status == "achieved" and not v.refused()


def test_only_the_owner_edits_or_closes_a_shared_goal_and_only_a_mentor_checks_in_beside_them():
    log = ward()
    log.add("q", "goal.set", goal_body("g1", "q"))
    edit = log.add("r", "goal.set", goal_body("g1", "q", title="Give up on family meetings"))  # r names q as the owner
    close = log.add("r", "goal.status_set", {"goal": "g1", "owner": "q", "status": "dropped"})
    peer_check = log.add("r", "goal.checked_in", check("g1", "q", 100, note="done, trust me"))
    own = log.add("q", "goal.set", goal_body("g1", "q", title="Lead two family meetings"))  # the owner's edit counts
    v = log.view()
    g = v.shared_goals().goals[log.id("q"), "g1"]
    assert (g.title, g.status, g.progress, g.edited) == ("Lead two family meetings", "active", 0, True)
    refused = v.refused()
    assert refused[edit.id] == "only its owner sets or edits a goal"
    assert refused[close.id] == "only its owner changes a goal's status"
    assert refused[peer_check.id] == "only its owner or a mentor checks in on a shared goal"
    assert own.id not in refused


def test_the_same_id_under_another_owner_is_another_goal():
    log = ward()
    log.add("q", "goal.set", goal_body("g1", "q"))
    log.add("r", "goal.set", goal_body("g1", "r", title="Teach the new starters ECG basics", domain="knowledge"))
    goals = log.view().shared_goals().goals
    assert goals[log.id("q"), "g1"].title.startswith("Lead") and goals[log.id("r"), "g1"].domain == "knowledge"


def test_a_check_in_or_status_for_a_goal_the_cohort_does_not_hold_is_refused():
    log = ward()
    stray = log.add("q", "goal.checked_in", check("private1", "q", 40))  # a private goal's id, written into the cohort scope
    close = log.add("q", "goal.status_set", {"goal": "private1", "owner": "q", "status": "achieved"})
    refused = log.view().refused()
    assert refused[stray.id] == refused[close.id] == "names a goal this place does not hold (a goal's events stay where it lives)"


def test_a_check_in_stamped_before_its_goal_was_set_is_refused():
    log = ward()
    log.lamport = 50
    log.add("q", "goal.set", goal_body("g1", "q"))
    early = log.add("n", "goal.checked_in", check("g1", "q", 90), lamport=2, cite=False, exact_lamport=True)
    v = log.view()
    assert v.refused()[early.id] == "comes before the goal it names was set"
    assert not v.shared_goals().goals[log.id("q"), "g1"].check_ins


def test_a_demoted_mentor_checks_in_no_more():
    log = ward()
    log.add("q", "goal.set", goal_body("g1", "q"))
    log.add("m", "member.updated", {"member": "n", "role": "peer"})
    late = log.add("n", "goal.checked_in", check("g1", "q", 70))
    assert log.view().refused()[late.id] == "only its owner or a mentor checks in on a shared goal"


def test_bodies_out_of_shape_never_reach_the_fold():
    good = goal_body("g1", "a" * 32)
    assert schema.problem("goal.set", good) is None
    assert schema.problem("goal.set", {**good, "domain": "wisdom"}) is not None
    assert schema.problem("goal.set", {**good, "target": ""}) is not None
    assert schema.problem("goal.set", {**good, "links": ["x"] * 21}) is not None
    assert schema.problem("goal.checked_in", check("g1", "a" * 32, 101)) is not None
    assert schema.problem("goal.checked_in", check("g1", "a" * 32, 40, evidence="x" * 201)) is not None
    assert schema.problem("goal.status_set", {"goal": "g1", "owner": "a" * 32, "status": "forgotten"}) is not None


# ---- private goals: one channel ---------------------------------------------


def channel_events(log: CohortLog) -> list[Event]:
    """q's goal in the channel q-m, with m's observation and a stray writer r."""
    return [
        log.add("q", "goal.set", goal_body("p1", "q", title="Say no to extra shifts without guilt", domain="attitude")),
        log.add("m", "goal.checked_in", check("p1", "q", 20, note="you said yes twice this week", evidence="rota for week 12")),
        log.add("q", "goal.checked_in", check("p1", "q", 35)),
        log.add("m", "goal.status_set", {"goal": "p1", "owner": "q", "status": "dropped"}),
        log.add("r", "goal.checked_in", check("p1", "q", 100)),
    ]


def test_in_a_channel_the_other_member_observes_but_only_the_owner_changes_the_status():
    log = ward()
    es = channel_events(log)
    book = fold_goals(es, channel=(log.id("m"), log.id("q")))
    g = book.goals[log.id("q"), "p1"]
    assert (g.partner, g.readers(), g.status, g.progress) == (log.id("m"), (log.id("q"), log.id("m")), "active", 35)
    assert [c.evidence for c in g.check_ins] == ["rota for week 12", ""]
    assert book.refused == {es[3].id: "only its owner changes a goal's status", es[4].id: "written into a private channel by someone outside it"}
    # The same goal's events in the cohort scope: nothing there holds it.
    shared = fold_goals(es[1:3], is_mentor=lambda e: e.author == log.id("m"))
    assert not shared.goals and set(shared.refused) == {es[1].id, es[2].id}


# ---- nudges -----------------------------------------------------------------


def test_nudges_by_date_count_whole_weeks_from_the_last_check_in():
    log = ward()
    set_ = replace(log.add("q", "goal.set", goal_body("g1", "q")), ts=ts_of("2026-01-05"))
    quiet = replace(log.add("r", "goal.set", goal_body("g2", "r", title="Read the sepsis guideline")), ts=ts_of("2026-01-05"))
    checked = replace(log.add("q", "goal.checked_in", check("g1", "q", 10)), ts=ts_of("2026-02-02"))
    done = replace(log.add("q", "goal.set", goal_body("g3", "q", title="Pass the ALS course")), ts=ts_of("2025-06-01"))
    closed = replace(log.add("q", "goal.status_set", {"goal": "g3", "owner": "q", "status": "achieved"}), ts=ts_of("2025-06-02"))
    goals = list(fold_goals([set_, quiet, checked, done, closed]).goals.values())
    at = {
        day: [(n.goal.id, n.weeks, n.never) for n in nudges(goals, ts_of(day), DEFAULT_NUDGE_WEEKS)]
        for day in ("2026-02-01", "2026-02-02", "2026-03-01", "2026-03-02")
    }
    assert at["2026-02-01"] == []  # 27 days after g2 was set
    assert at["2026-02-02"] == [("g2", 4, True)]  # 4 weeks to the day; g1 was just checked in on
    assert at["2026-03-01"] == [("g2", 7, True)]
    assert at["2026-03-02"] == [("g2", 8, True), ("g1", 4, False)]  # the quietest first; the achieved goal never
    assert [n.goal.id for n in nudges(goals, ts_of("2026-02-16"), 1)] == ["g2", "g1"]


def test_the_nudge_weeks_are_the_charters_and_only_a_mentor_sets_them():
    log = ward()
    assert log.view().cohort().goal_nudge_weeks == DEFAULT_NUDGE_WEEKS == 4
    forged = log.add("q", "cohort.charter_set", {"goal_nudge_weeks": 52})
    assert log.view().cohort().goal_nudge_weeks == 4 and forged.id in log.view().refused()
    log.add("m", "cohort.charter_set", {"goal_nudge_weeks": 2})
    assert log.view().cohort().goal_nudge_weeks == 2
    assert schema.problem("cohort.charter_set", {"goal_nudge_weeks": 0}) is not None


# ---- any order, the same goals ----------------------------------------------


def history() -> tuple[CohortLog, list[Event]]:
    log = ward()
    es = [
        log.add("q", "goal.set", goal_body("g1", "q")),
        log.add("r", "goal.set", goal_body("g1", "q", title="hijack")),
        log.add("q", "goal.checked_in", check("g1", "q", 10)),
        log.add("n", "goal.checked_in", check("g1", "q", 25)),
        log.add("r", "goal.checked_in", check("g1", "q", 99)),
        log.add("q", "goal.set", goal_body("g1", "q", title="Lead two family meetings")),
        log.add("q", "goal.status_set", {"goal": "g1", "owner": "q", "status": "paused"}),
        log.add("r", "goal.status_set", {"goal": "g1", "owner": "q", "status": "dropped"}),
        log.add("q", "goal.status_set", {"goal": "g1", "owner": "q", "status": "active"}),
        log.add("r", "goal.set", goal_body("g2", "r", domain="judgement")),
        log.add("m", "goal.checked_in", check("g2", "r", 60)),
        log.add("q", "goal.checked_in", check("g9", "q", 5)),
    ]
    return log, es


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 3))
def test_the_goals_are_the_same_in_any_order_and_with_duplicates(rnd, dup) -> None:
    log, goal_events = history()
    base = log.view()
    want = (base.shared_goals().goals, base.refused())
    assert len(want[0]) == 2 and len(want[1]) == 4
    shuffled = list(log.events) + rnd.sample(goal_events, dup)
    rnd.shuffle(shuffled)
    v = log.view(shuffled)
    assert (v.shared_goals().goals, v.refused()) == want
    # The channel fold too (same events, taken as a channel between q and m).
    pair = (log.id("q"), log.id("m"))
    mixed = list(goal_events)
    rnd.shuffle(mixed)
    assert fold_goals(mixed, channel=pair) == fold_goals(goal_events, channel=pair)
