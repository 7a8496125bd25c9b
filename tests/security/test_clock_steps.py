"""Clocks an altered client numbers far ahead: no member may be stopped from writing (docs/FORMAT.md, "Clocks").

Every member numbers their next event past the highest clock seen. A ceiling
on clocks (2**62) kept them within what decodes, but one event just under it,
followed by everyone, left every member's next event past the ceiling and
refused: no one could write in the cohort again, and removing the member did
not undo it. Now an event's clock is at most :data:`CLOCK_PER_ENVELOPE` times
the envelopes it stands on (its seq, and how far its journal cites each other
journal): one further ahead is refused on every device and moves no writer's
clock. Reaching the ceiling takes 2**52 envelopes.

Two rules came before this one, and review broke both; their attacks are kept
here. Bounding each event's step past its journal's clock and what it cites
let a member climbing within it stay ahead of every removal, and made a
newcomer who could not read earlier notes refuse what everyone else took.
Bounding clocks by the envelopes a device holds let an event held back for
now count later (a removal that had settled past it was then refused), and
devices holding different envelopes disagreed.
"""

from __future__ import annotations

import pytest

from circle.models.events import CLOCK_CEILING, CLOCK_PER_ENVELOPE
from tests.security.laptops import Laptops, tally, write_altered


def note(lt: Laptops, who: str, clock: int, text: str) -> bytes:
    """A note's payload as ``who``'s altered client spells it, with the clock it chooses."""
    author, mid = lt.id(who).encode(), lt.mid.encode()
    body = b'{"meeting":"%s","text":"%s","kind":"note"}' % (mid, text.encode())
    return b'{"v":1,"k":"note.added","c":"%s","a":"%s","l":%d,"t":0,"b":%s}' % (lt.cid.encode(), author, clock, body)


def texts(lt: Laptops, who: str) -> list[str]:
    return sorted(n.text for n in lt.svc(who).view.notes(lt.mid))


BEYOND = "its clock is further ahead than its place in its journal and what it cites allow"


def at_the_bound(lt: Laptops, n: int, text: str = "ahead") -> list[bytes]:
    """``n`` notes of Bea's, each numbered as far ahead as the rule takes, as Ana's device judges it."""
    bea, view = lt.store("Bea"), lt.svc("Ana").view
    head = bea.writer.head.seq
    return [note(lt, "Bea", view.clock_limit(bea.entry.journal, head + k, ()), f"{text} {k}") for k in range(1, n + 1)]


class JoiningLaptops(Laptops):
    """A cohort whose newcomers read from when they join: the notes of earlier epochs are envelopes they cannot open."""

    def __init__(self, root, founder: str) -> None:  # noqa: ANN001
        self.root, self.sessions = root, {}
        self.add_person(founder)
        self.cid = self.sessions[founder].create_cohort("Ward educators", history="joining").id


def three(lt: Laptops) -> Laptops:
    """Ana founds the cohort; Bea and Cy join it; all three have the meeting ``lt.mid``."""
    lt.join("Bea")
    lt.join("Cy")
    lt.mid = lt.svc("Ana").schedule("2026-12-10 14:00", "December")
    lt.sync()
    return lt


@pytest.fixture
def lt(tmp_path) -> Laptops:
    return three(Laptops(tmp_path, "Ana"))


@pytest.mark.parametrize(
    "ahead",
    [CLOCK_CEILING - 1, 2**40, CLOCK_PER_ENVELOPE * 10_000],
    ids=["just under the ceiling: everyone's next event was refused", "far ahead", "ahead of what it stands on"],
)
def test_one_clock_pushed_far_ahead_is_held_aside_everywhere_and_no_one_is_stopped_writing(lt, ahead):
    bea = lt.svc("Bea")
    write_altered(bea, [note(lt, "Bea", ahead, "far ahead")])
    lt.sync()
    accepted = 0
    for who in ("Ana", "Cy"):
        view = lt.svc(who).view
        [odd] = [e for e in view.events if e.lamport == ahead]
        assert view.refused()[odd.id] == BEYOND
        accepted += "far ahead" in texts(lt, who)
        assert view.max_lamport < 100  # it moves no one's clock
    tally("a clock pushed far ahead (every member's next event refused)", 2, accepted)
    assert accepted == 0

    for who in ("Ana", "Bea", "Cy"):
        lt.svc(who).add_note(lt.mid, f"{who} still writes")
    lt.sync()
    assert texts(lt, "Cy") == ["Ana still writes", "Bea still writes", "Cy still writes"]
    lt.svc("Ana").remove(lt.id("Bea"))  # it cites Bea's newest event, the one far ahead: no claim it must be past
    lt.sync("Ana", "Cy")
    for who in ("Ana", "Cy"):
        assert not lt.svc(who).view.member(lt.id("Bea")).active
        assert lt.svc(who).view.waiting() == {} and odd.id in lt.svc(who).view.refused()
    lt.svc("Cy").add_note(lt.mid, "after the removal")
    lt.sync("Ana", "Cy")
    assert "after the removal" in texts(lt, "Ana")
    # The removal is numbered past what it cites as far as it could (Bea's note is further): clocks stay where they stand.
    assert all(lt.svc(who).view.max_lamport < CLOCK_PER_ENVELOPE * 100 for who in ("Ana", "Cy"))


def test_clocks_as_far_ahead_as_the_rule_allows_are_followed_and_the_mentor_still_removes_the_member(lt):
    """Bea's altered client numbers each note as far ahead as the envelopes held allow, again after each of Ana's
    attempts. The first rule (a step per event) let her stay ahead of the honest writers, whose removals were then
    not past what they cited and were refused. Now every writer numbers past the highest clock it counts."""
    bea, ana = lt.svc("Bea"), lt.svc("Ana")
    notes = at_the_bound(lt, 3)
    write_altered(bea, notes)
    lt.sync()
    assert ana.view.max_lamport > 1000 and {"ahead 1", "ahead 2", "ahead 3"} <= set(texts(lt, "Cy"))  # taken
    ana.add_note(lt.mid, "Ana follows")
    write_altered(bea, at_the_bound(lt, 1, "again"))  # and once more, before Ana removes her
    lt.deliver("Ana", "Bea")
    ana.remove(lt.id("Bea"))
    lt.deliver("Cy", "Bea")
    lt.sync("Ana", "Cy")
    accepted = 0
    for who in ("Ana", "Cy"):
        view = lt.svc(who).view
        accepted += view.member(lt.id("Bea")).active
        removal = next(e for e in view.events if e.kind == "member.removed")
        assert removal.id not in view.refused() and removal.id not in view.waiting()
        assert "Ana follows" in texts(lt, who)
    tally("clocks kept as far ahead as allowed, to outrun a removal", 2, accepted)
    assert accepted == 0
    lt.svc("Cy").add_note(lt.mid, "Cy after the removal")
    lt.sync("Ana", "Cy")
    assert "Cy after the removal" in texts(lt, "Ana")


def test_a_newcomer_who_cannot_read_earlier_notes_takes_what_everyone_takes(tmp_path):
    """Under "joining", a newcomer holds the notes of earlier epochs as envelopes she cannot open. The first rule read
    clocks from events, so after Bea's altered client climbed in notes, Dee refused her own admission and everything
    after it. Envelopes are counted whether or not they open: Dee folds what Cy folds."""
    lt = three(JoiningLaptops(tmp_path, "Ana"))
    write_altered(lt.svc("Bea"), at_the_bound(lt, 3))
    lt.sync()
    lt.svc("Ana").add_note(lt.mid, "Ana follows")
    lt.svc("Cy").add_note(lt.mid, "Cy follows")
    lt.sync()
    lt.join("Dee")
    lt.sync()
    lt.svc("Ana").add_note(lt.mid, "Ana after Dee joined")
    lt.svc("Ana").schedule("2026-12-24 14:00", "Christmas")
    lt.svc("Dee").add_note(lt.mid, "Dee writes")
    lt.sync()
    cy, dee = lt.svc("Cy").view, lt.svc("Dee").view
    assert dee.refused() == {} and dee.waiting() == {}
    assert [m.title for m in dee.meetings()] == [m.title for m in cy.meetings()] == ["December", "Christmas"]
    assert {"Ana after Dee joined", "Dee writes"} <= set(texts(lt, "Dee")) and "Dee writes" in texts(lt, "Cy")
    assert dee.current_epoch().key_id == cy.current_epoch().key_id
    assert [m.name for m in dee.members()] == [m.name for m in cy.members()]


def test_an_event_held_back_for_now_cannot_later_undo_a_removal_that_cited_it(lt):
    """Bea's altered client cites Cy's notes, which Ana does not hold yet, to number an event far ahead: on Ana's device it
    waits for them. Ana removes Bea, citing that note. With the rule that counted envelopes held, the removal settled
    past a note that did not count yet, and was refused once Cy's notes arrived and it did: Bea was back."""
    bea, ana, cy = lt.svc("Bea"), lt.svc("Ana"), lt.svc("Cy")
    for k in range(40):
        cy.add_note(lt.mid, f"Cy {k}")
    lt.deliver("Bea", "Cy")
    cy_j = cy.store.entry.journal
    seq, eid = bea.view.newest_by_journal()[cy_j]
    clock = bea.view.clock_limit(bea.store.entry.journal, bea.store.writer.head.seq + 1, ((cy_j, seq, eid[:64]),))
    cites = b'{"%s":[%d,"%s"]}' % (cy_j.encode(), seq, eid.encode())  # on a roster-class event: every member reads them
    seen = b'{"v":1,"k":"cohort.seen","c":"%s","a":"%s","l":%d,"t":0,"d":%s,"b":{}}' % (lt.cid.encode(), lt.id("Bea").encode(), clock, cites)
    write_altered(bea, [seen], roster=True)
    lt.deliver("Ana", "Bea")
    [held] = [e for e in ana.view.events if e.lamport == clock]
    assert held.id in ana.view.waiting()
    ana.remove(lt.id("Bea"))
    lt.sync("Ana", "Cy")
    lt.deliver("Cy", "Bea")
    lt.sync("Ana", "Cy")
    accepted = 0
    for who in ("Ana", "Cy"):
        view = lt.svc(who).view
        assert held.id not in view.waiting() and held.id not in view.refused()  # it counts now, everywhere
        accepted += view.member(lt.id("Bea")).active
    tally("an event held back for now, to undo a removal that cited it", 2, accepted)
    assert accepted == 0


def test_a_removed_member_cannot_veto_what_comes_after(lt):
    """After her removal Bea's journal is still read (what she wrote before the cut counts). An event she writes after it,
    as far ahead as her journal allows, must not make the next admission fail on any device."""
    ana = lt.svc("Ana")
    ana.remove(lt.id("Bea"))
    lt.sync()
    write_altered(lt.svc("Bea"), at_the_bound(lt, 2, "after her removal"))
    lt.deliver("Ana", "Bea")
    lt.deliver("Cy", "Bea")
    lt.join("Dee")
    lt.sync("Ana", "Cy", "Dee")
    lt.svc("Dee").add_note(lt.mid, "Dee writes")
    lt.sync("Ana", "Cy", "Dee")
    accepted = 0
    for who in ("Ana", "Cy", "Dee"):
        view = lt.svc(who).view
        accepted += view.member(lt.id("Dee")) is None or not view.member(lt.id("Dee")).active
        assert "Dee writes" in texts(lt, who)
    tally("a removed member's clock, to veto a later admission", 3, accepted)
    assert accepted == 0


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


def test_a_newcomers_governance_citing_notes_she_cannot_open_counts_everywhere(tmp_path):
    """Honest members only. Under "joining", Bea writes notes in the old epoch while Ana admits Dee as a mentor; Dee
    holds them as envelopes she cannot open, and cites the newest when she changes Cy's role. A governance event had to
    be past every event it cited, so everyone who could open the note refused Dee's change and Dee alone took it. It
    must be past what it cites only where every member reads the clock: roster-class events. (Found by review.)"""
    lt = three(JoiningLaptops(tmp_path, "Ana"))
    for k in range(8):
        lt.svc("Bea").add_note(lt.mid, f"Bea offline {k}")  # still in the old epoch
    lt.join("Dee", role="mentor")
    lt.sync("Ana", "Cy", "Dee")
    lt.deliver("Dee", "Bea")
    lt.svc("Dee").set_role(lt.id("Cy"), "peer")
    lt.sync()
    roles = {who: lt.svc(who).view.member(lt.id("Cy")).role for who in ("Ana", "Bea", "Cy", "Dee")}
    assert set(roles.values()) == {"peer"}, roles
    assert all(lt.svc(who).view.refused() == {} for who in ("Ana", "Bea", "Cy", "Dee"))
