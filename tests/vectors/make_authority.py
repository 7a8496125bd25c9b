"""Write tests/vectors/authority/*.json: one case per rule of docs/FORMAT.md "Authority", allowed and refused.

Each case is plain events (no crypto: what a reader has after opening
envelopes), in an order that is not their writing order, and what the fold
must make of them, stated here by hand: which events are held aside and why,
and a few facts of the resulting view. The script checks the fold agrees
before it writes a file, so a vector never records a result nobody stated.

Run: python tests/vectors/make_authority.py [OUTPUT_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from circle.models.credits import ledger_for  # noqa: E402
from circle.models.events import Event  # noqa: E402
from circle.models.view import View  # noqa: E402
from tests.cohort_log import CohortLog  # noqa: E402

OUT = HERE / "authority"


def cohort() -> CohortLog:
    """Mentor "m", peers "p" and "q" (round-robin facilitators), participant "r"."""
    log = CohortLog("m", name="Vectors")
    log.admit("p", "peer")
    log.admit("q", "peer")
    log.admit("r", "participant")
    return log


def meeting(log: CohortLog, mid: str = "m1", day: int = 1) -> None:
    log.add("m", "meeting.scheduled", {"meeting": mid, "at": f"2026-01-{day:02d} 18:00"})


def cases() -> dict[str, tuple[str, CohortLog, dict[str, str], dict[str, Any]]]:
    """name -> (what it shows, the log, {event label: reason refused}, {fact: expected})."""
    out: dict[str, tuple[str, CohortLog, dict[str, str], dict[str, Any]]] = {}

    def case(name: str, about: str, log: CohortLog, refused: dict[Event, str], facts: dict[str, Any]) -> None:
        out[name] = (about, log, {e.id: why for e, why in refused.items()}, facts)

    log = cohort()
    forged = log.add("p", "cohort.created", {"name": "Taken over", "nonce": "00" * 32})
    case("founding-forged", "a second founding event, by a member: refused", log, {forged: "the cohort was founded already"}, {"name": "Vectors"})

    log = cohort()
    ok = log.admit("s", "peer")
    bad = log.admit("t", "mentor", by="p")
    case(
        "admission",
        "a mentor admits; a peer cannot (not even as mentor)",
        log,
        {bad: "only a mentor admits members"},
        {"active": ["m", "p", "q", "r", "s"], "ok": ok.id},
    )

    log = cohort()
    swap = log.admission("p", "peer")
    swap["public"] = log.id("p") + "cd" * 1248
    log.add("m", "member.removed", {"member": "p"})
    keys = log.add("m", "member.admitted", {**swap, "journal": log.new_journal("p")})
    case(
        "readmission-new-keys",
        "a member's keys never change: a re-admission with other keys is refused",
        log,
        {keys: "a member's keys never change: a re-admission carries the keys first admitted"},
        {"active": ["m", "q", "r"]},
    )

    log = cohort()
    log.add("m", "member.removed", {"member": "p"})
    back = log.add("m", "member.admitted", log.admission("p", "peer", journal=log.new_journal("p")))
    reuse = log.add("m", "member.admitted", log.admission("s", "peer", journal=log.journals["q"]))
    case(
        "readmission",
        "a removed member comes back with a new journal; nobody takes another's journal",
        log,
        {reuse: "names a journal that is someone else's or used before"},
        {"active": ["m", "p", "q", "r"], "ok": back.id},
    )

    log = cohort()
    by_participant = log.add("r", "member.removed", {"member": "m", "cut_seq": 0})
    by_mentor = log.add("m", "member.removed", {"member": "r"})
    case(
        "removal",
        "only a mentor removes: a participant's removal of the founder is refused, the mentor's removal counts",
        log,
        {by_participant: "only a mentor removes members"},
        {"active": ["m", "p", "q"], "ok": by_mentor.id},
    )

    log = cohort()
    meeting(log)
    log.add("p", "note.added", {"meeting": "m1", "text": "before", "item": ""})
    log.add("m", "member.removed", {"member": "p"})
    after = log.add("p", "note.added", {"meeting": "m1", "text": "after", "item": ""})
    case("removal-cut", "a removed member's events after the cut do not count", log, {after: "written after its author was removed"}, {"notes": ["before"]})

    log = cohort()
    self_up = log.add("r", "member.updated", {"member": "r", "role": "mentor"})
    demote = log.add("p", "member.updated", {"member": "m", "role": "participant"})
    own = log.add("m", "member.updated", {"member": "m", "role": "peer"})
    promote = log.add("m", "member.updated", {"member": "q", "role": "mentor"})
    rename = log.add("r", "member.updated", {"member": "r", "name": "Rae"})
    case(
        "roles",
        "roles change only by a mentor, never one's own; a member renames themselves",
        log,
        {self_up: "nobody changes their own role", demote: "only a mentor changes roles", own: "nobody changes their own role"},
        {"roles": {"m": "mentor", "p": "peer", "q": "mentor", "r": "participant"}, "ok": promote.id, "names": {"r": "Rae"}, "ok2": rename.id},
    )

    log = cohort()
    bad = log.add("p", "cohort.charter_set", {"name": "Renamed"})
    log.add("m", "cohort.charter_set", {"purpose": "Peer supervision"})
    case("charter", "only a mentor changes the charter", log, {bad: "only a mentor changes the charter"}, {"name": "Vectors"})

    log = cohort()
    ids = sorted(log.id(a) for a in ("m", "p", "q", "r"))
    good = log.add("r", "keys.epoch_started", {"epoch": 2, "key_id": "11" * 16, "recipients": ids, "commit": "22" * 32, "prev": log.events[2].body["commit"]})
    short = log.add("q", "keys.epoch_started", {"epoch": 3, "key_id": "33" * 16, "recipients": ids[:2], "commit": "44" * 32, "prev": "22" * 32})
    low = log.add("q", "keys.epoch_started", {"epoch": 2, "key_id": "55" * 16, "recipients": ids, "commit": "66" * 32, "prev": "22" * 32})
    case(
        "epochs",
        "an epoch names exactly the active members its author had seen, with a higher number",
        log,
        {short: "its recipients are not the active members its author had seen", low: "its number is not above every epoch its author had seen"},
        {"epoch": "11" * 16, "ok": good.id},
    )

    log = cohort()
    meeting(log)
    by_other = log.add("q", "meeting.phase_set", {"meeting": "m1", "phase": "agenda"})
    by_fac = log.add("p", "meeting.phase_set", {"meeting": "m1", "phase": "check-in"})
    false = log.add("p", "meeting.held", {"meeting": "m1", "facilitator": log.id("q")})
    case(
        "meeting-lead",
        "the facilitator (p) leads; q cannot; a wrap-up naming a false facilitator is refused",
        log,
        {by_other: "only the meeting's facilitator, or a mentor, leads it", false: "names as facilitator someone who was not"},
        {"phase": "check-in", "held": False, "ok": by_fac.id},
    )

    log = cohort()
    meeting(log, "m1", 1)
    meeting(log, "m2", 8)
    ask = log.add("p", "rota.swapped", {"meeting_a": "m1", "meeting_b": "m2"})
    wrong = log.add("r", "rota.swap_accepted", {"swap": ask.id})
    log.add("q", "rota.swap_accepted", {"swap": ask.id})
    stranger_swap = log.add("r", "rota.swapped", {"meeting_a": "m1", "meeting_b": "m2"})
    case(
        "swap",
        "a swap needs the other turn's holder to accept; nobody swaps turns they do not hold",
        log,
        {wrong: "only the holder of the other turn accepts a swap", stranger_swap: "swaps a turn its author does not hold"},
        {"facilitators": ["q", "p"]},
    )

    log = cohort()
    meeting(log, "m1", 1)
    meeting(log, "m2", 8)
    other = log.add("q", "rota.given_back", {"meeting": "m1"})
    case("give-back", "only the turn's holder gives it back", log, {other: "gives back a turn its author does not hold"}, {"facilitators": ["p", "q"]})

    log = cohort()
    meeting(log)
    own = log.add("r", "attendance.marked", {"meeting": "m1", "member": "r", "present": True})
    by_fac = log.add("p", "attendance.marked", {"meeting": "m1", "member": "q", "present": True})
    other = log.add("r", "attendance.marked", {"meeting": "m1", "member": "q", "present": False})
    case(
        "attendance",
        "a member marks themselves, the facilitator marks anyone, others cannot",
        log,
        {other: "only the member themselves, the facilitator or a mentor marks attendance"},
        {"present": ["r", "q"], "ok": own.id, "ok2": by_fac.id},
    )

    log = cohort()
    meeting(log)
    log.add("r", "agenda.added", {"item": "i1", "meeting": "m1", "title": "Mine"})
    edit = log.add("q", "agenda.updated", {"item": "i1", "title": "Taken"})
    log.add("r", "action.added", {"action": "a1", "meeting": "m1", "title": "Call", "owner": "q"})
    done = log.add("q", "action.updated", {"action": "a1", "status": "done"})
    case(
        "edits",
        "an item is edited by its author, the facilitator or a mentor; an action also by its owner",
        log,
        {edit: "only the item's author, the facilitator or a mentor edits an item"},
        {"item": "Mine", "action": "done", "ok": done.id},
    )

    log = cohort()
    meeting(log)
    note = log.add("r", "note.added", {"meeting": "m1", "text": "Bed 4, Mr J. Smith"})
    own = log.add("r", "note.edited", {"note": note.id, "text": "Bed 4"})
    other = log.add("q", "note.edited", {"note": note.id, "text": "Taken over"})
    by_fac = log.add("p", "note.edited", {"note": note.id, "text": "A patient on the ward", "kind": "decision"})
    log.add("r", "agenda.added", {"item": "i1", "meeting": "m1", "title": "Mine"})
    item_edit = log.add("p", "agenda.updated", {"item": "i1", "title": "Mine, retitled by the facilitator"})
    case(
        "note-edits",
        "a note is edited by its author, the facilitator at that point or a mentor; every version is kept",
        log,
        {other: "only the note's author, the facilitator or a mentor edits a note"},
        {
            "notes": ["A patient on the ward"],
            "edited": ["A patient on the ward"],
            "versions": {note.id: 3},
            "item": "Mine, retitled by the facilitator",
            "ok": own.id,
            "ok2": by_fac.id,
            "ok3": item_edit.id,
        },
    )

    log = cohort()
    meeting(log)
    kept = log.add("r", "note.added", {"meeting": "m1", "text": "kept"})
    hidden = log.add("r", "note.added", {"meeting": "m1", "text": "Mr J. Smith, bed 4"})
    log.add("r", "agenda.added", {"item": "i1", "meeting": "m1", "title": "Mrs K's discharge"})
    log.add("m", "action.added", {"action": "a1", "meeting": "m1", "title": "Call Mrs K", "owner": "q"})
    by_other = log.add("q", "entry.redacted", {"entry": kept.id, "what": "note"})
    by_owner = log.add("q", "entry.redacted", {"entry": "a1", "what": "action"})
    own = log.add("r", "entry.redacted", {"entry": hidden.id, "what": "note"})
    by_fac = log.add("p", "entry.redacted", {"entry": "i1", "what": "item"})
    missing = log.add("p", "entry.redacted", {"entry": "nothing", "what": "item"})
    case(
        "redaction",
        "a note, item or action is redacted by its author, the facilitator at that point or a mentor (not an action's owner); it leaves every list",
        log,
        {
            by_other: "only the entry's author, the facilitator or a mentor redacts it",
            by_owner: "only the entry's author, the facilitator or a mentor redacts it",
            missing: "redacts an entry that is not here",
        },
        {"notes": ["kept"], "item": "", "action": "open", "redacted": sorted([hidden.id, "i1"]), "ok": own.id, "ok2": by_fac.id},
    )

    log = cohort()
    meeting(log)
    log.add("r", "agenda.added", {"item": "i1", "meeting": "m1", "title": "Mine"})
    other = log.add("q", "agenda.extended", {"meeting": "m1", "item": "i1", "minutes": 5})
    by_fac = log.add("p", "agenda.extended", {"meeting": "m1", "item": "i1", "minutes": 5})
    by_mentor = log.add("m", "agenda.extended", {"meeting": "m1", "item": "i1", "minutes": 5})
    case(
        "more-time",
        "only the meeting's facilitator at that point, or a mentor, gives the running item more time",
        log,
        {other: "only the meeting's facilitator, or a mentor, gives an item more time"},
        {"extended": {"i1": 10}, "ok": by_fac.id, "ok2": by_mentor.id},
    )

    log = cohort()
    meeting(log, "m1", 1)
    meeting(log, "m2", 8)
    log.add("r", "agenda.added", {"item": "i1", "meeting": "m1", "title": "On time"})
    late = log.add("r", "agenda.added", {"item": "i2", "meeting": "m1", "title": "Late"}, lamport=9)  # a device that had not seen the wrap-up
    held = log.add("p", "meeting.held", {"meeting": "m1", "facilitator": "p", "items": ["i1"]})
    log.add("q", "agenda.added", {"item": "i3", "meeting": "", "title": "For the next meeting"})
    case(
        "late-items",
        "an item added to a meeting wrapped up without it, and one added to no meeting, go on the next meeting not held",
        log,
        {},
        {"placement": {"i1": "m1", "i2": "m2", "i3": "m2"}, "held": True, "ok": late.id, "ok2": held.id},
    )

    log = cohort()
    meeting(log)
    shape = log.add("p", "note.added", {"meeting": "m1", "text": 42})
    log.add("q", "note.added", {"meeting": "m1", "text": "fine"})
    clock = log.add("q", "note.added", {"meeting": "m1", "text": "late"}, lamport=1, exact_lamport=True)
    case(
        "shape-and-clocks",
        "bodies are checked against their schema; a clock that goes backwards in its journal is refused",
        log,
        {shape: "text not text", clock: "its clock does not go forward in its journal"},
        {"notes": ["fine"]},
    )

    log = cohort()
    meeting(log)
    folded = log.view()

    def limit(alias: str) -> int:  # as far ahead as the next event of the alias's journal may be, citing nothing
        j = log.journals[alias]
        return folded.clock_limit(j, 1 + max((e.seq for e in log.events if e.journal == j), default=0), ())

    within = log.add("p", "note.added", {"meeting": "m1", "text": "as far ahead as allowed"}, lamport=limit("p"), exact_lamport=True)
    ahead = log.add("q", "note.added", {"meeting": "m1", "text": "further"}, lamport=limit("q") + 1, exact_lamport=True)
    case(
        "clocks",
        "a clock is at most 1,024 times the envelopes its event stands on (its seq and what its journal cites); one further is refused",
        log,
        {ahead: "its clock is further ahead than its place in its journal and what it cites allow"},
        {"notes": ["as far ahead as allowed"], "ok": within.id, "clock": within.lamport},
    )

    log = cohort()
    log.admit("s", "mentor")
    meeting(log)
    log.add("s", "note.added", {"meeting": "m1", "text": "s was here"})  # s has seen the cohort
    a = log.add("m", "member.removed", {"member": "s"})
    b = log.add("s", "member.removed", {"member": "m"}, cite=False)  # s had not seen m's removal
    case(
        "concurrent-removals",
        "two mentors remove each other without having seen the other's removal: both are removed",
        log,
        {},
        {"active": ["p", "q", "r"], "notes": ["s was here"], "ok": a.id, "ok2": b.id},
    )

    log = cohort()
    meeting(log)
    log.add("p", "meeting.held", {"meeting": "m1"})
    own = log.add("r", "attendance.attested", {"meeting": "m1", "member": "r", "minutes": 60})
    by_mentor = log.add("m", "attendance.attested", {"meeting": "m1", "member": "r", "minutes": 50})
    stray = log.add("q", "attendance.attested", {"meeting": "m1", "member": "r", "minutes": 600})
    rule = {
        "id": "x",
        "name": "Mine",
        "hours_per_unit": "1",
        "credits_per_unit": "9",
        "cap": "0",
        "cycle_years": 1,
        "activities": ["meeting"],
        "roles": ["peer"],
    }
    forged_rule = log.add("p", "credit.rule_set", rule)
    case(
        "credits",
        "hours count from the member's and a mentor's attestations (the smaller figure); a peer who did not lead attests nothing; only a mentor sets a rule",
        log,
        {stray: "only the member, the meeting's facilitator or a mentor attests attendance", forged_rule: "only a mentor sets a credit rule"},
        {"credited": {"r": 50, "q": 0}, "rule": "default", "ok": own.id, "ok2": by_mentor.id},
    )

    log = cohort()
    meeting(log)
    ids, dev, reading = sorted(log.id(a) for a in ("m", "p", "q", "r")), "ab" * 16, "ef" * 1216
    first = log.events[2].body["commit"]
    added = log.add("p", "member.device_added", {"member": "p", "journal": dev, "device": "ward laptop", "reading": reading})
    for_other = log.add("q", "member.device_added", {"member": "p", "journal": "cd" * 16, "device": "q's", "reading": reading})
    log.add("p", "note.added", {"meeting": "m1", "text": "from the ward laptop"}, journal=dev)
    log.add("q", "note.added", {"meeting": "m1", "text": "q has seen the ward laptop"})
    log.add("p", "member.device_removed", {"member": "p", "journal": dev})
    after = log.add("p", "note.added", {"meeting": "m1", "text": "after its removal"}, journal=dev, cite=False)
    seen = log.add("r", "keys.epoch_started", {"epoch": 2, "key_id": "11" * 16, "recipients": ids, "commit": "22" * 32, "prev": first})
    blind = log.add("q", "keys.epoch_started", {"epoch": 3, "key_id": "33" * 16, "recipients": ids, "commit": "44" * 32, "prev": first}, cite=False)
    case(
        "devices",
        "a member adds a device (its reading keys signed by the identity), nobody else can; what a removed device writes after its"
        " cut is held aside; an epoch whose author had not seen the removal is valid but not current, even with a higher number (its key may have reached the device)",
        log,
        {for_other: "only the member themselves adds a device of theirs", after: "written after its author was removed"},
        {"notes": ["from the ward laptop", "q has seen the ward laptop"], "epoch": "11" * 16, "ok": added.id, "ok2": blind.id, "ok3": seen.id},
    )
    return out


def event_doc(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "journal": e.journal,
        "seq": e.seq,
        "kind": e.kind,
        "cohort": e.cohort,
        "author": e.author,
        "lamport": e.lamport,
        "ts": e.ts,
        "body": e.body,
        "deps": [list(d) for d in e.deps],
    }


def facts(log: CohortLog, view: View) -> dict[str, Any]:
    """The facts a case may state, read from a view (aliases for member ids)."""
    m1 = view.meeting("m1")
    items = view.agenda()
    acts = view.actions()
    return {
        "name": view.cohort().name,
        "active": [log.alias(m.id) for m in view.members()],
        "roles": {log.alias(m.id): m.role for m in view.members()},
        "names": {log.alias(m.id): m.name for m in view.members()},
        "notes": [n.text for n in view.notes()],
        "epoch": (view.current_epoch().key_id if view.current_epoch() else ""),
        "phase": m1.phase if m1 else "",
        "held": bool(m1 and m1.held),
        "facilitators": [log.alias(t.facilitated_by) for t in view.rota().turns],
        "present": [log.alias(k) for k, p in view.attendance("m1").items() if p] if m1 else [],
        "item": items[0].title if items else "",
        "action": acts[0].status if acts else "",
        "edited": [n.text for n in view.notes() if n.edited],
        "versions": {e.id: len(view.history(e.id)) for e in [*view.notes(), *items, *acts]},
        "redacted": sorted(view.redacted()),
        "extended": {i.id: i.extended for i in items if i.extended},
        "placement": {i.id: i.meeting for i in items},
        "credited": {log.alias(m.id): ledger_for(view, m.id).minutes for m in view.members()},
        "rule": view.credits().in_force.id,
        "clock": view.max_lamport,
    }


def check(about: str, log: CohortLog, refused: dict[str, str], expected: dict[str, Any], events: list[Event]) -> None:
    view = View(log.cohort)
    view.apply(events)
    got = view.refused()
    assert got == refused, (about, got, refused)
    have = facts(log, view)
    for k, v in expected.items():
        if k.startswith("ok"):
            assert v not in got and v in view, (about, k)
        elif isinstance(v, dict):
            assert {a: have[k].get(a) for a in v} == v, (about, k, have[k], v)
        else:
            assert have[k] == v, (about, k, have[k], v)


def main(out: Path = OUT) -> None:
    out.mkdir(exist_ok=True)
    for name, (about, log, refused, expected) in cases().items():
        events = list(reversed(log.events))  # not the order they were written in
        check(about, log, refused, expected, events)
        doc = {
            "about": about,
            "cohort": log.cohort,
            "members": {a: i for a, i in log.ids.items()},
            "events": [event_doc(e) for e in events],
            "expected": {"refused": refused, **expected},
        }
        (out / f"{name}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        print(f"wrote {name}: {len(events)} events, {len(refused)} refused")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
