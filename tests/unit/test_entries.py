"""Notes, agenda items and actions as the fold keeps them: versions, redactions, more time, late items, the list for the next meeting.

Plain event logs (no crypto), written as honest clients write them; each
rule is also checked in any order of delivery.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from circle.models.meeting import carry_over_plan, next_meeting, overdue, room, timer
from circle.models.view import View
from tests.cohort_log import CohortLog


class Log(CohortLog):
    """Mentor "m", peers "p" (facilitates m1) and "q" (facilitates m2), participant "r"."""

    def __init__(self) -> None:
        super().__init__("m")
        self.admit("p", "peer")
        self.admit("q", "peer")
        self.admit("r", "participant")

    def meeting(self, mid: str, day: int) -> None:
        self.add("m", "meeting.scheduled", {"meeting": mid, "at": f"2026-01-{day:02d} 18:00"})


def same_in_any_order(log: CohortLog, read) -> None:
    forward, backward = log.view(), log.view(list(reversed(log.events)))
    assert read(forward) == read(backward)


def test_every_version_is_kept_and_the_entry_says_it_was_edited():
    log = Log()
    log.meeting("m1", 1)
    note = log.add("r", "note.added", {"meeting": "m1", "text": "first"})
    log.add("r", "note.edited", {"note": note.id, "text": "second"})
    log.add("r", "agenda.added", {"item": "i1", "meeting": "m1", "title": "Item", "minutes": 10})
    log.add("p", "agenda.updated", {"item": "i1", "status": "done"})  # a status change is a version, not an edit
    log.add("r", "action.added", {"action": "a1", "meeting": "m1", "title": "Call", "due": "2026-01-08"})
    log.add("r", "action.updated", {"action": "a1", "due": "2026-01-15"})
    v = log.view()
    [n] = v.notes()
    assert (n.text, n.edited, n.author) == ("second", True, log.id("r"))
    assert [h.fields["text"] for h in v.history(note.id)] == ["first", "second"]
    [item] = v.agenda()
    assert item.status == "done" and not item.edited and len(v.history("i1")) == 2
    [a] = v.actions()
    assert (a.due, a.edited) == ("2026-01-15", True)
    assert [h.fields.get("due") for h in v.history("a1")] == ["2026-01-08", "2026-01-15"]
    same_in_any_order(log, lambda v: (v.notes(), v.agenda(), v.actions(), v.history(note.id)))


def test_a_refused_note_is_not_brought_back_by_an_edit_or_a_redaction():
    """An edit or a redaction looks its note up among every event held: one refused (written after its author was removed) is not there."""
    log = Log()
    log.meeting("m1", 1)
    log.add("r", "note.added", {"meeting": "m1", "text": "before"})
    log.add("m", "member.removed", {"member": "r"})
    late = log.add("r", "note.added", {"meeting": "m1", "text": "after the removal"}, lamport=1_000)  # after it, within what it stands on
    edit = log.add("m", "note.edited", {"note": late.id, "text": "edited by a mentor"})
    redaction = log.add("m", "entry.redacted", {"entry": late.id, "what": "note"})
    v = log.view()
    assert late.id in v and [n.text for n in v.notes()] == ["before"] and v.history(late.id) == []
    assert v.refused()[late.id] == "written after its author was removed"
    assert v.refused()[edit.id] == "edits a note that is not here" and v.refused()[redaction.id] == "redacts an entry that is not here"
    same_in_any_order(log, lambda v: (v.notes(), v.refused()))


def test_a_redacted_item_takes_its_carried_copies_and_an_action_its_follow_ups():
    log = Log()
    log.meeting("m1", 1)
    log.meeting("m2", 8)
    log.add("r", "agenda.added", {"item": "i1", "meeting": "m1", "title": "Mrs K, room 12"})
    log.add("r", "action.added", {"action": "a1", "meeting": "m1", "title": "Phone Mrs K's son"})
    log.add("p", "meeting.held", {"meeting": "m1", "items": ["i1"]})
    v = log.view()
    for c in carry_over_plan(v, "m2"):
        log.add("p", "agenda.added", {"item": c.item, "meeting": "m2", "title": c.title, "owner": c.owner, "minutes": c.minutes, "carried_from": c.source})
    assert len(log.view().agenda("m2")) == 2
    log.add("r", "entry.redacted", {"entry": "i1", "what": "item"})
    log.add("m", "entry.redacted", {"entry": "a1", "what": "action"})
    v = log.view()
    assert v.agenda() == [] and v.actions() == []
    assert set(v.redacted()) == {"i1", "a1"} and v.history("i1") == []
    assert carry_over_plan(v, "m2") == []  # nothing comes back through carry-over
    same_in_any_order(log, lambda v: (v.agenda(), v.actions(), sorted(v.redacted())))


def test_more_time_lengthens_the_countdown_and_the_clock_stops_when_the_meeting_is_wrapped_up():
    log = Log()
    log.meeting("m1", 1)
    log.add("r", "agenda.added", {"item": "i1", "meeting": "m1", "title": "Item", "minutes": 10})
    log.add("p", "agenda.current_set", {"meeting": "m1", "current_item": "i1", "item_started": 1000.0})
    log.add("p", "agenda.extended", {"meeting": "m1", "item": "i1", "minutes": 5})
    v = log.view()
    assert timer(v.meeting("m1"), v.agenda("m1"), 1000.0 + 60).label() == "14:00"
    # A device that was behind wraps up without stopping the clock: the timer stops anyway.
    log.add("p", "meeting.held", {"meeting": "m1"})
    v = log.view()
    assert not timer(v.meeting("m1"), v.agenda("m1"), 1000.0 + 60 * 60).running


def test_an_item_added_after_the_wrap_up_moves_to_the_next_meeting():
    log = Log()
    log.meeting("m1", 1)
    log.meeting("m2", 8)
    log.add("r", "agenda.added", {"item": "i1", "meeting": "m1", "title": "On time"})
    log.add("p", "meeting.held", {"meeting": "m1", "items": ["i1"]})
    log.add("r", "agenda.added", {"item": "late", "meeting": "m1", "title": "Late"}, lamport=3)  # written on a device that had not seen it
    v = log.view()
    [late] = [i for i in v.agenda() if i.id == "late"]
    assert (late.meeting, late.added_to, late.moved) == ("m2", "m1", True)
    assert [i.id for i in v.agenda("m1")] == ["i1"]
    assert [c.source for c in carry_over_plan(v, "m2")] == ["i1"]  # i1 is m1's unfinished business; "late" moved, it is not carried
    # m2 is wrapped up with it: it belongs to m2 from then on, and carries over as m2's own if unfinished.
    log.meeting("m3", 15)
    log.add("q", "meeting.held", {"meeting": "m2", "items": ["late"]})
    v = log.view()
    assert [i.meeting for i in v.agenda() if i.id == "late"] == ["m2"]
    assert "late" in [c.source for c in carry_over_plan(v, "m3")]
    same_in_any_order(log, lambda v: [(i.id, i.meeting) for i in v.agenda()])


def test_a_started_item_stays_where_it_ran_even_if_the_wrap_up_missed_it():
    log = Log()
    log.meeting("m1", 1)
    log.meeting("m2", 8)
    log.add("r", "agenda.added", {"item": "i1", "meeting": "m1", "title": "Ran"})
    log.add("p", "agenda.current_set", {"meeting": "m1", "current_item": "i1", "item_started": 5.0})
    log.add("m", "meeting.held", {"meeting": "m1", "items": []})  # the mentor's laptop had not seen it
    assert [i.meeting for i in log.view().agenda()] == ["m1"]


def test_the_list_for_the_next_meeting_waits_then_goes_on_the_next_meeting():
    log = Log()
    log.add("r", "agenda.added", {"item": "b1", "meeting": "", "title": "Bring up the rota"})
    v = log.view()
    assert [i.id for i in v.agenda("")] == ["b1"] and next_meeting(v) is None
    log.meeting("m1", 1)
    log.meeting("m2", 8)
    v = log.view()
    assert [i.meeting for i in v.agenda()] == ["m1"] and v.agenda("") == []
    log.add("p", "meeting.held", {"meeting": "m1", "items": ["b1"]})
    assert [i.meeting for i in log.view().agenda()] == ["m1"]  # it was on m1 when it was wrapped up


def test_the_facilitator_of_the_meeting_an_item_moved_to_may_close_it():
    log = Log()
    log.add("r", "agenda.added", {"item": "b1", "meeting": "", "title": "For the next meeting"})
    log.meeting("m1", 1)
    done = log.add("p", "agenda.updated", {"item": "b1", "status": "done"})  # p facilitates m1
    other = log.add("q", "agenda.updated", {"item": "b1", "title": "Taken"})
    v = log.view()
    assert done.id not in v.refused() and other.id in v.refused()
    assert v.agenda()[0].status == "done"


def test_open_actions_are_followed_up_once_in_the_next_meeting_and_a_ticked_one_stays_there():
    log = Log()
    log.meeting("m1", 1)
    log.add("r", "action.added", {"action": "a1", "meeting": "m1", "title": "Call"})
    log.add("p", "meeting.held", {"meeting": "m1", "items": []})
    log.meeting("m2", 8)
    log.meeting("m3", 15)
    v = log.view()
    assert carry_over_plan(v, "m3") == []  # not the next meeting: nothing is carried there
    for c in carry_over_plan(v, "m2"):
        log.add("q", "agenda.added", {"item": c.item, "meeting": "m2", "title": c.title, "owner": c.owner, "minutes": c.minutes, "carried_from": c.source})
    log.add("m", "agenda.added", {"item": "dup", "meeting": "m3", "title": "Follow-up: Call", "carried_from": "a1"})  # an older circle carried it twice
    v = log.view()
    assert [a.id for a in room(v, v.rota(), "m2", log.id("r")).actions] == ["a1"]
    assert [a.id for a in room(v, v.rota(), "m3", log.id("r")).actions] == []
    assert [i.id for i in room(v, v.rota(), "m3", log.id("r")).items] == []  # the follow-up shows once, in m2
    log.add("r", "action.updated", {"action": "a1", "status": "done"})
    v = log.view()
    assert [(a.id, a.status) for a in room(v, v.rota(), "m2", log.id("r")).actions] == [("a1", "done")]  # still there to untick


def test_overdue_compares_dates():
    assert overdue("2026-11-13", "2026-11-14") and not overdue("2026-11-14", "2026-11-14") and not overdue("", "2026-11-14")
    assert not overdue("next friday", "2026-11-14")


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(st.sampled_from(["item", "backlog", "held", "start", "redact", "edit"]), st.integers(0, 2), st.integers(0, 5)), max_size=14),
    data=st.data(),
)
def test_placement_versions_and_redactions_are_the_same_in_any_order(steps, data):
    log = Log()
    for k in range(3):
        log.meeting(f"m{k}", k + 1)
    for n, (op, k, j) in enumerate(steps):
        mid, who = f"m{k}", "pqr"[j % 3]
        if op in ("item", "backlog"):
            log.add(who, "agenda.added", {"item": f"i{n}", "meeting": mid if op == "item" else "", "title": f"item {n}"}, lamport=j if j % 2 else None)
        elif op == "held":
            seen = [i.id for i in log.view().agenda(mid)][: j % 3]
            log.add("m", "meeting.held", {"meeting": mid, "items": seen})
        elif op == "start":
            log.add("m", "agenda.current_set", {"meeting": mid, "current_item": f"i{j}", "item_started": 1.0})
        elif op == "redact":
            log.add("m", "entry.redacted", {"entry": f"i{j}", "what": "item"})
        else:
            log.add(who, "agenda.updated", {"item": f"i{j}", "title": f"edited {n}"})

    def read(v: View):
        return [(i.id, i.meeting, i.title, i.edited) for i in v.agenda()], sorted(v.redacted()), {i.id: len(v.history(i.id)) for i in v.agenda()}, v.refused()

    expected = read(log.view())
    shuffled = data.draw(st.permutations(log.events))
    assert read(log.view(shuffled + shuffled[: len(shuffled) // 2])) == expected
