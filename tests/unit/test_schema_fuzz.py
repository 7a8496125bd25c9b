"""Every kind's body, fuzzed: whatever an altered client writes, the fold holds it aside or folds it, and never raises.

Bodies are arbitrary JSON, or a valid body with one field swapped for
arbitrary JSON. Each is written by a member into a founded cohort, and every
query a screen or command makes is run on the result.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circle.models import schema
from circle.models.credits import ledger_for
from circle.models.events import KINDS
from circle.models.goals import fold_goals
from circle.models.meeting import carry_over_plan, next_meeting
from circle.models.mentoring import ratio_warnings
from circle.models.private import Private
from tests.cohort_log import CohortLog
from tests.figures import counting_failures, record, scale

NOT_FOLDED = {
    "self.note_added",
    "member.join_requested",
    "keys.wrapped",
    "member.join_hello",
    "invite.offered",
    "invite.answered",
    "invite.refused",
    *schema.PRIVATE_KINDS,
}
FOLDED = sorted(KINDS - NOT_FOLDED)
RUNS = {"inputs": 0, "held aside": 0, "folded": 0, "failed": 0}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def valid_body(log: CohortLog, kind: str) -> dict[str, Any]:
    """A body the schema accepts, to swap one field of."""
    m, p = log.id("m"), log.id("p")
    return {
        "cohort.created": {"name": "x", "nonce": "00" * 32},
        "cohort.charter_set": {"name": "y"},
        "cohort.seen": {},
        "member.admitted": log.admission("z", "peer"),
        "member.updated": {"member": p, "away": True},
        "member.removed": {"member": p},
        "member.device_added": {"member": p, "journal": "cd" * 16, "device": "ward laptop", "reading": "ef" * 1216},
        "member.device_removed": {"member": p, "journal": "cd" * 16},
        "keys.epoch_started": {"epoch": 2, "key_id": "11" * 16, "recipients": sorted([m, p]), "commit": "22" * 32},
        "meeting.scheduled": {"meeting": "m2", "at": "2026-01-02 18:00"},
        "meeting.updated": {"meeting": "m1", "title": "t"},
        "meeting.phase_set": {"meeting": "m1", "phase": "agenda"},
        "meeting.handoff": {"meeting": "m1", "to": m},
        "meeting.held": {"meeting": "m1"},
        "rota.swapped": {"meeting_a": "m1", "meeting_b": "m2"},
        "rota.swap_accepted": {"swap": "33" * 32},
        "rota.given_back": {"meeting": "m1"},
        "agenda.added": {"item": "i1", "meeting": "m1", "title": "t"},
        "agenda.updated": {"item": "i1", "status": "done"},
        "agenda.current_set": {"meeting": "m1", "current_item": "i1", "item_started": 5.0},
        "note.added": {"meeting": "m1", "text": "n"},
        "action.added": {"action": "a1", "meeting": "m1", "title": "t"},
        "action.updated": {"action": "a1", "status": "done"},
        "attendance.marked": {"meeting": "m1", "member": p, "present": True},
        "agenda.extended": {"meeting": "m1", "item": "i1", "minutes": 5},
        "note.edited": {"note": "44" * 32, "text": "n2"},
        "entry.redacted": {"entry": "i1", "what": "item"},
        "dyad.message": {"id": "d1", "text": "t", "kind": "feedback"},
        "dyad.feedback_requested": {"request": "r1", "what": "my case", "by": "2026-01-09"},
        "dyad.feedback_declined": {"request": "r1", "reason": "away"},
        "dyad.phase_set": {"phase": "enabling", "note": "n"},
        "agreement.proposed": {"id": "charter", "version": 1, "sections": {"goals": "g"}},
        "agreement.signed": {"agreement": "charter", "version": 1, "digest": "55" * 32, "coi": ""},
        "attendance.attested": {"meeting": "m1", "member": p, "minutes": 60},
        "credit.rule_set": {
            "id": "r1",
            "name": "n",
            "hours_per_unit": "2",
            "credits_per_unit": "1",
            "cap": "50",
            "cycle_years": 5,
            "activities": ["meeting"],
            "roles": ["mentor"],
        },
        "credit.cycle_set": {"start": 2026, "rule": "r1"},
        "goal.set": {"goal": "g1", "owner": p, "title": "t", "domain": "skill", "measure": "observed twice", "target": "2026-09-30", "links": ["m1"]},
        "goal.checked_in": {"goal": "g1", "owner": p, "progress": 40, "note": "n", "evidence": "log"},
        "goal.status_set": {"goal": "g1", "owner": p, "status": "achieved"},
    }[kind]


@st.composite
def bodies(draw: st.DrawFn, log: CohortLog, kind: str) -> Any:
    if draw(st.booleans()):
        return draw(json_values)
    body = dict(valid_body(log, kind))
    key = draw(st.sampled_from(sorted(body) + ["extra"]))
    body[key] = draw(json_values)
    return body


def everything(view) -> None:
    """Every read a screen or command makes."""
    view.digest()
    view.agreements(), ratio_warnings(view)
    view.members(include_removed=True)
    view.current_epoch()
    for mt in view.meetings():
        view.agenda(mt.id), view.actions(mt.id), view.notes(mt.id), view.attendance(mt.id), view.anonymous_lines(mt.id)
        for entry in [*view.agenda(mt.id), *view.actions(mt.id), *view.notes(mt.id)]:
            view.history(entry.id)
        carry_over_plan(view, mt.id)
        view.rota().holder_at(mt.id, (10**9, "", ""))
    next_meeting(view)
    view.agenda("")
    view.redacted()
    for member in view.members(include_removed=True):
        ledger_for(view, member.id).cycle_for(2026)
    view.refused()


@settings(
    max_examples=scale(600, 5000), deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(st.data())
@counting_failures(RUNS)
def test_any_body_of_any_kind_is_held_aside_or_folded_never_raised(data: st.DataObject) -> None:
    log = CohortLog("m")
    log.admit("p", "peer")
    log.add("m", "meeting.scheduled", {"meeting": "m1", "at": "2026-01-01 18:00"})
    kind = data.draw(st.sampled_from(FOLDED))
    author = data.draw(st.sampled_from(["m", "p"]))
    body = data.draw(bodies(log, kind))
    if not isinstance(body, dict):
        body = {"value": body}
    e = log.add(author, kind, body)
    view = log.view()
    everything(view)
    RUNS["inputs"] += 1
    problem = schema.problem(kind, e.body)
    if problem is not None:
        assert view.refused()[e.id] == problem
        RUNS["held aside"] += 1
    else:
        RUNS["folded"] += 1 if e.id not in view.refused() else 0


def test_the_fuzzing_reached_both_sides() -> None:
    """Report how many inputs ran (the test above runs first in this module)."""
    record("fuzz", "event bodies, cohort kinds (the fold)", inputs_run=RUNS["inputs"], unexpected_exceptions=RUNS["failed"])
    print(f"schema fuzz: {RUNS['inputs']} bodies, {RUNS['held aside']} held aside by the schema, {RUNS['folded']} folded")
    assert RUNS["inputs"] >= 600 and RUNS["held aside"] > 100 and RUNS["folded"] > 10


PRIVATE_RUNS = {"inputs": 0, "held aside": 0, "failed": 0}


@settings(
    max_examples=scale(300, 2000), deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(st.data())
@counting_failures(PRIVATE_RUNS)
def test_any_body_of_a_private_kind_is_held_aside_or_kept_never_raised(data: st.DataObject) -> None:
    """The private channels' fold (circle.models.private) takes the same untrusted bodies: held aside by its shape, never raised."""
    log = CohortLog("m")
    log.admit("p", "peer")
    kind = data.draw(st.sampled_from(sorted(schema.CHANNEL_KINDS)))
    author = data.draw(st.sampled_from(["m", "p"]))
    body = data.draw(bodies(log, kind))
    if not isinstance(body, dict):
        body = {"value": body}
    request = log.add("p", "dyad.feedback_requested", {"request": "r1", "what": "my case"})
    e = log.add(author, kind, body)
    view = log.view()
    private = Private(log.id("m"))
    private.add_dyad([(log.id("p"), request), (log.id("p"), e)])
    got = private.read(view)
    got.thread(log.id("p")), got.asked_of(log.id("m"))
    fold_goals([e for _, e in got.accepted], channel=(log.id("m"), log.id("p")))
    PRIVATE_RUNS["inputs"] += 1
    problem = schema.problem(kind, e.body)
    if problem is not None:
        assert got.refused[e.id] == problem
        PRIVATE_RUNS["held aside"] += 1


def test_the_private_fuzzing_reached_both_sides() -> None:
    record("fuzz", "event bodies, private kinds (the channel fold)", inputs_run=PRIVATE_RUNS["inputs"], unexpected_exceptions=PRIVATE_RUNS["failed"])
    print(f"private fuzz: {PRIVATE_RUNS['inputs']} bodies, {PRIVATE_RUNS['held aside']} held aside by the schema")
    assert PRIVATE_RUNS["inputs"] >= 300 and PRIVATE_RUNS["held aside"] > 50
