"""Clocks an altered client numbers far ahead: no member may be stopped from writing (docs/FORMAT.md, "Clock steps").

Every member numbers their next event past the highest clock seen. A ceiling
on clocks (2**62) kept them within what decodes, but one event just under it,
followed by everyone, left every member's next event past the ceiling and
refused: no one could write in the cohort again, and removing the member did
not undo it (the event came before the cut). Now one event's clock may go at
most :data:`CLOCK_STEP` past its journal's previous one, or past the short
steps of what it cites; a writer follows the highest clock seen only as far
as that lets it. Reaching the ceiling takes 2**30 events of one journal.
"""

from __future__ import annotations

import pytest

from circle.models.events import CLOCK_CEILING, CLOCK_STEP
from tests.security.laptops import Laptops, tally, write_altered

LEAPT = "its clock leaps further ahead than its journal and what it cites allow"


def note(lt: Laptops, who: str, clock: int, text: str, cited: bytes = b"") -> bytes:
    """A note's payload as ``who``'s altered client spells it, with the clock (and citations) it chooses."""
    author, mid = lt.id(who).encode(), lt.mid.encode()
    body = b'{"meeting":"%s","text":"%s","kind":"note"}' % (mid, text.encode())
    return b'{"v":1,"k":"note.added","c":"%s","a":"%s","l":%d,"t":0%s,"b":%s}' % (lt.cid.encode(), author, clock, cited, body)


def texts(lt: Laptops, who: str) -> list[str]:
    return sorted(n.text for n in lt.svc(who).view.notes(lt.mid))


@pytest.fixture
def lt(tmp_path) -> Laptops:
    """Ana founds a cohort; Bea and Cy join it; all three have the meeting ``lt.mid``."""
    lt = Laptops(tmp_path, "Ana")
    lt.join("Bea")
    lt.join("Cy")
    lt.mid = lt.svc("Ana").schedule("2026-12-10 14:00", "December")
    lt.sync()
    return lt


@pytest.mark.parametrize(
    "ahead",
    [CLOCK_CEILING - 1, 2**40, 2 * CLOCK_STEP],
    ids=["just under the ceiling: everyone's next event was refused", "far ahead", "two steps ahead"],
)
def test_one_clock_leapt_far_ahead_is_refused_everywhere_and_no_one_is_stopped_writing(lt, ahead):
    bea = lt.svc("Bea")
    write_altered(bea, [note(lt, "Bea", ahead, "far ahead")])
    lt.sync()
    accepted = 0
    for who in ("Ana", "Cy"):
        view = lt.svc(who).view
        [odd] = [e for e in view.events if e.lamport == ahead]
        assert view.refused()[odd.id] == LEAPT
        accepted += odd.id not in view.refused()
        assert view.max_lamport < CLOCK_STEP  # it moves no one's clock
    tally("a clock leapt far ahead (every member's next event refused)", 2, accepted)

    for who in ("Ana", "Bea", "Cy"):
        lt.svc(who).add_note(lt.mid, f"{who} still writes")
    lt.sync()
    assert texts(lt, "Cy") == ["Ana still writes", "Bea still writes", "Cy still writes"]
    lt.svc("Ana").remove(lt.id("Bea"))  # it cites Bea's newest event, the one that leapt: no claim it must be past
    lt.sync("Ana", "Cy")
    for who in ("Ana", "Cy"):
        assert not lt.svc(who).view.member(lt.id("Bea")).active
        assert lt.svc(who).view.waiting() == {}
    lt.svc("Cy").add_note(lt.mid, "after the removal")
    lt.sync("Ana", "Cy")
    assert "after the removal" in texts(lt, "Ana")
    assert all(lt.svc(who).view.max_lamport < CLOCK_STEP for who in ("Ana", "Cy"))


def test_a_clock_climbing_a_step_at_a_time_is_followed_and_honest_events_count(lt):
    """Short steps are what the rule allows: the cohort follows them (Lamport order holds), and reaching the ceiling
    that way takes 2**30 events. A writer whose last citation is recent cites again when it must leap to follow."""
    bea, ana = lt.svc("Bea"), lt.svc("Ana")
    ana.add_note(lt.mid, "a citation just now")  # Ana's next batch would not cite again for a minute, but must
    lt.sync()
    start = max((e.lamport for e in bea.view.events if e.journal == bea.store.entry.journal), default=0)  # her journal's clock
    write_altered(bea, [note(lt, "Bea", start + k * CLOCK_STEP, f"step {k}") for k in (1, 2, 3)])
    lt.sync()
    top = start + 3 * CLOCK_STEP
    assert all(lt.svc(who).view.max_lamport == top for who in ("Ana", "Cy"))
    assert {f"step {k}" for k in (1, 2, 3)} <= set(texts(lt, "Cy"))

    ana.add_note(lt.mid, "Ana follows")
    ana.set_away(lt.id("Ana"), True)
    lt.svc("Cy").add_note(lt.mid, "Cy follows")
    lt.sync()
    for who in ("Ana", "Cy"):  # (Bea's altered client never folded what it wrote)
        view = lt.svc(who).view
        assert {"Ana follows", "Cy follows"} <= set(texts(lt, who)) and view.member(lt.id("Ana")).away
        followers = [e for e in view.events if e.kind == "note.added" and "follows" in str(e.body.get("text", ""))]
        assert all(e.lamport > top for e in followers)  # past what they had seen: the order of edits holds
        assert not set(view.refused()) & {e.id for e in followers}


def test_a_leap_citing_one_that_leapt_is_refused_the_steps_do_not_chain(lt):
    """Cy's altered client leaps (refused); Bea's cites Cy's leap to justify her own: a leap is no short step, so
    citing it reaches no further than Cy's journal's clock before it."""
    cy, bea = lt.svc("Cy"), lt.svc("Bea")
    far = 2**61
    write_altered(cy, [note(lt, "Cy", far, "Cy leaps")])
    lt.deliver("Bea", "Cy")
    seq, eid = bea.view.newest_by_journal()[cy.store.entry.journal]
    cited = b',"d":{"%s":[%d,"%s"]}' % (cy.store.entry.journal.encode(), seq, eid.encode())
    write_altered(bea, [note(lt, "Bea", far + 1, "Bea leaps after", cited)])
    lt.sync()
    ana = lt.svc("Ana").view
    leaps = [e for e in ana.events if e.lamport >= far]
    assert len(leaps) == 2 and all(ana.refused().get(e.id) == LEAPT for e in leaps)
    accepted = 0
    for who in ("Ana", "Bea", "Cy"):  # an altered client's own device never folded what it wrote around itself
        view = lt.svc(who).view
        accepted += sum(e.lamport >= far and e.id not in view.refused() and e.id not in view.waiting() for e in view.events)
    tally("a clock leapt ahead, justified by citing another leap", 4, accepted)
    assert accepted == 0
    lt.svc("Ana").add_note(lt.mid, "still written")
    lt.sync()
    assert "still written" in texts(lt, "Bea")


def test_a_channel_peer_pushing_a_clock_ahead_moves_no_cohort_clock(lt):
    """Only a channel's two members read its clocks: the cohort cannot check them. A peer's altered client that numbers
    a channel message near the ceiling made the member's next cohort event follow it; cohort events are numbered
    past the cohort's clocks, so it is taken by everyone and the cohort's clocks stay where they were."""
    ana, bea = lt.svc("Ana"), lt.svc("Bea")
    bea.store.private.max_lamport = CLOCK_CEILING - 10  # what Bea's altered client numbers her next message past
    bea.store.record_private(lt.id("Ana"), "dyad.message", {"id": "m1", "text": "far ahead"})
    lt.deliver("Ana", "Bea")
    assert ana.store.private.max_lamport > CLOCK_CEILING - 10
    before = ana.view.max_lamport
    ana.add_note(lt.mid, "Ana writes on")
    lt.sync()
    for who in ("Ana", "Bea", "Cy"):
        view = lt.svc(who).view
        assert "Ana writes on" in texts(lt, who)
        assert view.max_lamport <= before + 10
    ana.store.record_private(lt.id("Bea"), "dyad.message", {"id": "m2", "text": "a reply"})  # in the channel, past it
    assert max(e.lamport for e in ana.store.private.events()) > CLOCK_CEILING - 10
