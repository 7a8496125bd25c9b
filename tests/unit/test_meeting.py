"""Meeting logic: phases, the item timer from a clock, carry-over (same in any order)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from circle.models.meeting import carry_item_id, carry_over_plan, next_phase, previous_phase, timer
from circle.models.records import AgendaItem, Meeting
from circle.models.view import PHASES
from tests.cohort_log import CohortLog


class Log(CohortLog):
    """A mentor "m" and two peers "a" and "b"."""

    def __init__(self) -> None:
        super().__init__("m")
        for p in ("a", "b"):
            self.admit(p)


def test_phases_go_in_order_and_stop_after_wrap_up():
    seen, p = [], ""
    while (p := next_phase(p)) is not None:
        seen.append(p)
    assert seen == list(PHASES)
    assert previous_phase("agenda") == "check-in" and previous_phase("check-in") is None


def test_timer_counts_down_from_the_clock_and_goes_over():
    m = Meeting("m1", "2025-01-01 18:00", current_item="i1", item_started=1000.0)
    items = [AgendaItem("i1", "m1", "Item", minutes=10)]
    assert timer(m, items, 1000.0).label() == "10:00"
    assert timer(m, items, 1000.0 + 61).label() == "08:59"
    t = timer(m, items, 1000.0 + 600)
    assert t.over and t.label() == "time's up +00:00"
    assert timer(m, items, 1000.0 + 725).label() == "time's up +02:05"
    assert not timer(Meeting("m1", "x"), items, 5.0).running


def history() -> Log:
    log = Log()
    log.add("m", "meeting.scheduled", {"meeting": "m1", "at": "2025-01-01 18:00"})
    log.add("a", "agenda.added", {"item": "i1", "meeting": "m1", "title": "Done thing", "owner": "a"})
    log.add("b", "agenda.added", {"item": "i2", "meeting": "m1", "title": "Unfinished thing", "owner": "b", "minutes": 15})
    log.add("a", "agenda.updated", {"item": "i1", "status": "done"})
    log.add("a", "action.added", {"action": "x1", "meeting": "m1", "title": "Call the ward", "owner": "a", "due": "2025-01-08"})
    log.add("a", "action.added", {"action": "x2", "meeting": "m1", "title": "Finished action", "owner": "b"})
    log.add("b", "action.updated", {"action": "x2", "status": "done"})
    log.add("a", "meeting.held", {"meeting": "m1"})
    log.add("m", "meeting.scheduled", {"meeting": "m2", "at": "2025-01-15 18:00"})
    return log


def test_carry_over_takes_unfinished_items_and_open_actions():
    plan = carry_over_plan(history().view(), "m2")
    assert [(c.source, c.source_kind, c.title) for c in plan] == [("i2", "item", "Unfinished thing"), ("x1", "action", "Follow-up: Call the ward")]
    assert plan[0].minutes == 15 and plan[0].owner == history().id("b")
    assert plan[0].item == carry_item_id("m2", "i2")


def test_carry_over_is_idempotent_and_not_repeated_downstream():
    log = history()
    for c in carry_over_plan(log.view(), "m2"):
        log.add("a", "agenda.added", {"item": c.item, "meeting": "m2", "title": c.title, "owner": c.owner, "minutes": c.minutes, "carried_from": c.source})
    assert carry_over_plan(log.view(), "m2") == []
    # m2 held with the carried item still open, the action still open: both go on to m3, the old item does not.
    log.add("b", "meeting.held", {"meeting": "m2"})  # b facilitates m2 (a did m1)
    log.add("m", "meeting.scheduled", {"meeting": "m3", "at": "2025-01-29 18:00"})
    plan = carry_over_plan(log.view(), "m3")
    assert sorted(c.source for c in plan) == sorted([carry_item_id("m2", "i2"), "x1"])


def test_two_devices_carrying_over_write_the_same_item():
    log = history()
    plan_a = carry_over_plan(log.view(), "m2")
    plan_b = carry_over_plan(log.view(list(reversed(log.events))), "m2")
    assert plan_a == plan_b
    for who in ("a", "b"):
        for c in plan_a:
            log.add(who, "agenda.added", {"item": c.item, "meeting": "m2", "title": c.title, "owner": c.owner, "minutes": c.minutes, "carried_from": c.source})
    assert len(log.view().agenda("m2")) == len(plan_a)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(st.sampled_from(["item", "done", "action", "close", "held"]), st.integers(0, 3), st.integers(0, 4)), max_size=16),
    data=st.data(),
)
def test_carry_over_plan_is_the_same_for_any_order(steps, data):
    log = Log()
    for k in range(4):
        log.add("m", "meeting.scheduled", {"meeting": f"m{k}", "at": f"2025-01-{k + 1:02d} 18:00"})
    for n, (op, k, j) in enumerate(steps):
        mid, who = f"m{k}", "ab"[j % 2]
        if op == "item":
            log.add(who, "agenda.added", {"item": f"i{n}", "meeting": mid, "title": f"item {n}", "owner": who})
        elif op == "done":
            log.add(who, "agenda.updated", {"item": f"i{j}", "status": "done"})
        elif op == "action":
            log.add(who, "action.added", {"action": f"x{n}", "meeting": mid, "title": f"action {n}", "owner": who})
        elif op == "close":
            log.add(who, "action.updated", {"action": f"x{j}", "status": "done"})
        else:
            log.add("m", "meeting.held", {"meeting": mid})
    expected = {f"m{k}": carry_over_plan(log.view(), f"m{k}") for k in range(4)}
    shuffled = data.draw(st.permutations(log.events))
    view = log.view(shuffled + shuffled[: len(shuffled) // 3])
    assert {f"m{k}": carry_over_plan(view, f"m{k}") for k in range(4)} == expected


def test_a_meeting_needs_a_real_date_and_time(tmp_path):
    import pytest

    from circle.errors import UsageError
    from circle.store.session import Home

    session = Home(tmp_path / "home", calibrate=False).create_identity("Ana", "correct horse battery staple")
    rooms = session.create_cohort("Night nurses")
    for bad in ("2026-12-09 07:30Handover", "next tuesday", "2026-13-01 18:00", "2026-12-09", ""):
        with pytest.raises(UsageError):
            rooms.schedule(bad)
    assert rooms.view.meetings() == []
    mid = rooms.schedule(" 2026-12-09T07:30 ")
    assert [(m.id, m.at) for m in rooms.view.meetings()] == [(mid, "2026-12-09 07:30")]
