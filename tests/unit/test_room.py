"""The meeting room read from a folded view as plain data (``circle.models.meeting.room``): no app, no widgets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circle.errors import NotFound
from circle.models.meeting import carry_item_id, carry_over_plan, room
from circle.models.rota import compute_rota
from tests.unit.test_meeting import Log, history


def carried_into_m2() -> Log:
    """Two meetings: m1 held with an unfinished item (with notes) and an open action; m2 picks both up."""
    log = history()
    log.add("b", "note.added", {"meeting": "m1", "item": "i2", "text": "Ran out of time.", "kind": "note"})
    log.add("m", "note.added", {"meeting": "m1", "item": "i2", "text": "Bring the numbers.", "kind": "decision"})
    for c in carry_over_plan(log.view(), "m2"):
        log.add("a", "agenda.added", {"item": c.item, "meeting": "m2", "title": c.title, "owner": c.owner, "minutes": c.minutes, "carried_from": c.source})
    return log


def read(log: Log, meeting_id: str, me: str = "a"):
    view = log.view()
    return room(view, compute_rota(view), meeting_id, log.id(me))


def test_the_room_of_a_held_meeting():
    r = read(history(), "m1")
    assert r.meeting.id == "m1" and r.meeting.held
    assert [i.title for i in r.items] == ["Done thing", "Unfinished thing"]
    assert r.done == 1 and r.current is None
    assert [p.name for p in r.roster] == ["M", "A", "B"]
    assert r.names == {history().id(a): a.upper() for a in ("m", "a", "b")}
    # Its own actions, open or not.
    assert [(a.id, a.status) for a in r.actions] == [("x1", "open"), ("x2", "done")]


def test_facilitator_attendance_and_who_supervises():
    log = history()
    log.add("a", "attendance.marked", {"meeting": "m2", "member": "a", "present": True})
    log.add("m", "attendance.marked", {"meeting": "m2", "member": "b", "present": True})  # a mentor may mark anyone
    log.add("b", "attendance.marked", {"meeting": "m2", "member": "b", "present": False})
    view = log.view()
    r = read(log, "m2", me="a")
    assert r.facilitator == compute_rota(view).facilitator("m2") == log.id("a")  # b is absent: the rota skips b
    assert dict(r.attendance) == {log.id("a"): True, log.id("b"): False} and r.present == 1
    assert not r.supervising and read(log, "m2", me="m").supervising


def test_the_current_item_and_notes_grouped_by_item():
    log = history()
    log.add("a", "agenda.added", {"item": "j1", "meeting": "m2", "title": "First", "owner": "a"})
    log.add("b", "agenda.added", {"item": "j2", "meeting": "m2", "title": "Second", "owner": "b"})
    log.add("b", "agenda.current_set", {"meeting": "m2", "current_item": "j2", "item_started": 5.0})  # b facilitates m2
    log.add("a", "note.added", {"meeting": "m2", "item": "j1", "text": "on the first", "kind": "note"})
    log.add("b", "note.added", {"meeting": "m2", "item": "j2", "text": "on the second", "kind": "decision"})
    log.add("b", "note.added", {"meeting": "m2", "item": "", "text": "on the meeting", "kind": "note"})
    log.add("b", "note.added", {"meeting": "m1", "item": "i1", "text": "another meeting", "kind": "note"})
    r = read(log, "m2")
    assert r.current is not None and r.current.title == "Second"
    assert r.item("j1").title == "First" and r.item("nope") is None and r.item(None) is None
    assert [n.text for n in r.notes_on(None)] == ["on the first", "on the second", "on the meeting"]
    assert [n.text for n in r.notes_on("j1")] == ["on the first"]
    assert [(n.kind, n.text) for n in r.notes_on("j2")] == [("decision", "on the second")]
    assert [n.text for n in r.notes_on("")] == ["on the meeting"]
    assert r.notes_on("not an item") == ()


def test_carried_items_know_where_they_came_from():
    r = read(carried_into_m2(), "m2")
    from_item = r.carried[carry_item_id("m2", "i2")]
    assert from_item.action is None and from_item.source.title == "Unfinished thing"
    assert from_item.origin_at == "2025-01-01 18:00"
    assert [(n.kind, n.text) for n in from_item.notes] == [("note", "Ran out of time."), ("decision", "Bring the numbers.")]
    from_action = r.carried[carry_item_id("m2", "x1")]
    assert from_action.action.title == "Call the ward" and from_action.action.due == "2025-01-08" and from_action.source is None
    assert set(r.carried) == {i.id for i in r.items if i.carried_from}


def test_a_carried_item_whose_source_is_unknown_still_has_a_context():
    log = history()
    log.add("a", "agenda.added", {"item": "k", "meeting": "m2", "title": "From nowhere", "owner": "a", "carried_from": "gone"})
    c = read(log, "m2").carried["k"]
    assert c.action is None and c.source is None and c.notes == ()


def test_actions_of_the_meeting_and_those_still_open_from_earlier_ones_in_the_next_meeting_only():
    log = history()
    log.add("a", "action.added", {"action": "x3", "meeting": "m2", "title": "New in m2", "owner": "a"})
    log.add("m", "meeting.scheduled", {"meeting": "m3", "at": "2025-01-29 18:00"})
    log.add("a", "action.added", {"action": "x4", "meeting": "m3", "title": "Later", "owner": "a"})
    assert [a.id for a in read(log, "m2").actions] == ["x1", "x3"]  # x2 is done, x4 belongs to a later meeting
    assert [a.id for a in read(log, "m3").actions] == ["x4"]  # earlier open actions show once: in the next meeting (m2)


def test_anonymous_lines_and_removed_members_names():
    log = history()
    log.add("m", "member.removed", {"member": "b", "cut_seq": 10_000})
    view = log.view()
    view.set_anonymous({"m2": ["zebra", "apple"]})  # the store opens them from outside every journal (circle.store.anonymous)
    r = room(view, compute_rota(view), "m2", log.id("a"))
    assert r.anonymous == ("apple", "zebra")
    assert [p.id for p in r.roster] == [log.id("m"), log.id("a")]  # b was removed
    assert r.name_of(log.id("b")) == "B" and r.name_of("stranger") == "someone"


def test_an_unknown_meeting_is_not_found():
    with pytest.raises(NotFound):
        read(history(), "no-such-meeting")


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_the_room_is_the_same_in_any_order_of_delivery(data):
    log = carried_into_m2()
    view = log.view(data.draw(st.permutations(log.events)))
    assert room(view, compute_rota(view), "m2", log.id("a")) == read(log, "m2")


def test_reading_a_room_needs_neither_rich_nor_textual():
    probe = "import circle.models.meeting, json, sys; print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'textual'))))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []


def test_versions_name_an_owner_and_never_show_a_member_id():
    from circle.models.records import Version
    from circle.screens.room import versions_text

    ana, ben = "a" * 32, "b" * 32
    text = versions_text(
        [Version("e1", ana, 0.0, {"title": "Audit", "owner": ana}), Version("e2", ben, 60.0, {"owner": ben}), Version("e3", ben, 90.0, {"owner": "c" * 32})],
        {ana: "Ana Silva", ben: "Ben Okoro"},
    )
    assert "owner: Ana Silva" in text and "owner: Ben Okoro" in text and "owner: someone" in text
    assert ana not in text and ben not in text and "c" * 32 not in text


def test_the_wrap_up_says_when_a_meeting_is_dated_on_a_day_still_to_come():
    import time

    from circle.screens.room import held_question

    now = time.mktime((2026, 12, 5, 10, 0, 0, 0, 0, -1))
    assert "a day still to come" in held_question("2026-12-07 18:00", now, 0)
    assert "a day still to come" not in held_question("2026-12-05 18:00", now, 0)  # later today: it may be running now
    assert "a day still to come" not in held_question("2026-11-28 18:00", now, 2) and "2 unfinished items" in held_question("2026-11-28 18:00", now, 2)


def test_a_followed_up_action_reads_as_a_sentence_and_keeps_its_title_as_written():
    """ "Last time: B took on “MRI safety checklist for the ward”", not "B would mRI safety…" (the title's case is its author's)."""
    from circle.screens.room import room_rows

    log = history()
    log.add("b", "action.added", {"action": "x3", "meeting": "m1", "title": "MRI safety checklist for the ward", "owner": "b", "due": "2025-01-20"})
    for c in carry_over_plan(log.view(), "m2"):
        log.add("a", "agenda.added", {"item": c.item, "meeting": "m2", "title": c.title, "owner": c.owner, "minutes": c.minutes, "carried_from": c.source})
    item = carry_item_id("m2", "x3")

    def last_time(me: str) -> str:
        return room_rows(read(log, "m2", me=me)).note_rows(item)[0][1].plain

    assert last_time("a") == "Last time: B took on “MRI safety checklist for the ward” (due 2025-01-20) — open"
    assert last_time("b") == "Last time you took on “MRI safety checklist for the ward” (due 2025-01-20) — open"
    call = room_rows(read(log, "m2", me="m")).note_rows(carry_item_id("m2", "x1"))[0][1].plain
    assert call == "Last time: A took on “Call the ward” (due 2025-01-08) — open"
