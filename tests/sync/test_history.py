"""What a newcomer reads of the time before they joined: everything (the default), or, where the cohort's charter
says "joining", only the roster of earlier epochs: who was a member with which keys, the meetings, the rota and
attendance, never a word said.

Real homes, the real litestream binary and a folder replica. Every check reads
what the newcomer's own device holds: its keys, its fold, and every envelope
of the others' journals tried with every key it has.
"""

from __future__ import annotations

import pytest

from circle.crypto import envelope
from circle.errors import UsageError
from circle.export import summarize
from circle.models.events import decode_payload
from circle.store.cohort import CITE_EVERY, Part
from circle.store.journal import read_rows
from circle.store.keys import epoch_hash, roster_id
from circle.store.vault import Scope, ScopeKey
from tests.security.laptops import tally
from tests.sync.helpers import bring_in, new_home, once

pytestmark = pytest.mark.slow

BEFORE = ("before Cleo: the ward is short of two dietitians", "before Cleo: Ben's case of refeeding risk")
AFTER = ("after Cleo joined: the new menu audit", "Cleo: glad to be here")


def _plaintexts(reader, cid: str, writers) -> list[str]:
    """Every payload of the writers' journals that ``reader``'s keys open (as text)."""
    keys = reader.cohort(cid).store.keys.readable()
    out = []
    for w in writers:
        store = w.cohort(cid).store
        for row in read_rows(store.journal_path(store.entry.journal), 0):
            h = envelope.parse(row.blob)
            key = keys.get(h.key_id)
            if key is not None:
                out.append(decode_payload(envelope.open_envelope(row.blob, h, key.secret), id="", journal="", seq=h.seq).body.get("text", ""))
    return out


def _cohort_before_cleo(tmp_path, history: str):
    """Ana founds a cohort (``history``), Ben and Dan join, a meeting is held with notes and attendance, Dan is
    removed; then Cleo is admitted. (Ana, Ben, Cleo, the cohort id, the replica location, Dan.)"""
    loc = {"url": str(tmp_path / "shared-folder")}
    ana, ben, dan, cleo = (new_home(tmp_path, n) for n in ("Ana", "Ben", "Dan", "Cleo"))
    cid = ana.create_cohort("Dietitians North", replica=dict(loc), history=history).id
    once(ana)
    bring_in(ana, cid, ben, loc, role="peer")
    bring_in(ana, cid, dan, loc)
    once(ben)
    a = ana.cohort(cid)
    mid = a.schedule("2026-11-20T10:00", "November")
    a.add_note(mid, BEFORE[0])
    a.mark_attendance_many(mid, {ana.id: True, ben.id: True, dan.id: False})
    once(ana, ben)
    b = ben.cohort(cid).store
    later = b.clock() + 2 * CITE_EVERY
    b.clock = lambda: later  # a note long after Ben's last citation: it cites (on a cohort.seen)
    ben.cohort(cid).add_note(mid, BEFORE[1])
    once(ben, ana)
    a.remove(dan.id)
    a.schedule("2026-12-18T10:00", "December")
    once(ana, ben)
    bring_in(ana, cid, cleo, loc)
    once(ben, cleo)
    return ana, ben, cleo, cid, loc, dan


def test_a_newcomer_under_joining_folds_the_roster_and_rota_but_reads_nothing_said_before(tmp_path):
    ana, ben, cleo, cid, _loc, _dan = _cohort_before_cleo(tmp_path, "joining")
    a, b, c = (s.cohort(cid) for s in (ana, ben, cleo))
    assert c.view.cohort().history == "joining"

    # The roster, the meetings, the rota and attendance: the same on Cleo's device as on Ana's.
    for read in (
        lambda v: [(m.id, m.name, m.role, m.active) for m in v.members(include_removed=True)],
        lambda v: [(m.id, m.at, m.title, m.held, m.facilitator) for m in v.meetings()],
        lambda v: v.rota().turns,
        lambda v: v.attendance_by_meeting(self_or_mentor=False),
        lambda v: v.refused(),
        lambda v: {j: v.cited_by(j) for m in v.members(include_removed=True) for j, _ in m.journals},  # what removals cut by
    ):
        assert read(c.view) == read(a.view)
    assert len(c.view.members()) == 3 and not c.view.refused()

    # Nothing said before: not in her view, and no envelope of Ana's or Ben's journal opens with any key she holds.
    said = {n.text for n in c.view.notes()}
    assert not said & set(BEFORE)
    opened = _plaintexts(cleo, cid, (ana, ben))
    assert not set(opened) & set(BEFORE)
    epochs = c.view.epochs()
    admission = min(ep.number for ep in epochs.values() if cleo.id in ep.recipients)
    held = {k.id: k for k in c.store.keys.held().values()}
    full = [k for k in held.values() if k.scope is Scope.COHORT]
    assert full and all(epochs[k.id].number >= admission for k in full)
    earlier = [kid for kid, ep in epochs.items() if ep.number < admission]
    # the founding epoch, one per admission (Ben, Dan) and Dan's removal
    assert len(earlier) == 4 and all(roster_id(kid) in held for kid in earlier)
    tally("a newcomer under 'joining' reading what was said before", len(BEFORE), len(set(opened) & set(BEFORE)))

    # Her export names what it cannot hold: both meetings were scheduled before she joined. Ana's names nothing of it.
    said_before = [o for o in summarize(c).left_out if o.key == "before_joining"]
    assert [o.count for o in said_before] == [2] and "from before the exporter joined" in said_before[0].text
    assert not [o for o in summarize(a).left_out if o.key == "before_joining"]

    # From her admission on, everyone reads everyone.
    a.add_note(c.view.meetings()[-1].id, AFTER[0])
    once(ana, cleo)
    c.add_note(c.view.meetings()[-1].id, AFTER[1])
    once(cleo, ana, ben)
    for svc in (a, b, c):
        assert set(AFTER) <= {n.text for n in svc.view.notes()}
    assert set(BEFORE) <= {n.text for n in b.view.notes()}  # members from before keep what they read
    assert not a.store.refused_wraps and not c.store.refused_wraps


def test_a_newcomer_under_all_reads_the_history_from_the_beginning(tmp_path):
    """The default: a newcomer admitted after a removal reads the roster and everything said before (the control)."""
    ana, _ben, cleo, cid, _loc, _dan = _cohort_before_cleo(tmp_path, "all")
    c = cleo.cohort(cid)
    assert set(BEFORE) <= {n.text for n in c.view.notes()}
    assert set(BEFORE) <= set(_plaintexts(cleo, cid, (ana,)) + [n.text for n in c.view.notes()])
    assert [(m.id, m.active) for m in c.view.members(include_removed=True)] == [(m.id, m.active) for m in ana.cohort(cid).view.members(include_removed=True)]


def test_only_a_mentor_changes_what_newcomers_read_and_an_altered_client_is_held_aside(tmp_path):
    loc = {"url": str(tmp_path / "shared-folder")}
    ana, ben = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    cid = ana.create_cohort("Physio peers", replica=dict(loc)).id
    once(ana)
    bring_in(ana, cid, ben, loc, role="peer")
    with pytest.raises(UsageError):
        ben.cohort(cid).set_history("joining")
    ben.cohort(cid).store.record("cohort.charter_set", {"history": "joining"})  # what an altered client writes
    once(ben, ana)
    refused = [r for r in ana.cohort(cid).view.refused().values()]
    assert ana.cohort(cid).view.cohort().history == "all" and ben.cohort(cid).view.cohort().history == "all"
    tally("a participant changing what newcomers read", 1, int(ana.cohort(cid).view.cohort().history != "all"))
    assert refused
    ana.cohort(cid).set_history("joining")
    once(ana, ben)
    assert ben.cohort(cid).view.cohort().history == "joining"
    with pytest.raises(UsageError):
        ana.cohort(cid).set_history("everything")


def test_a_made_up_roster_key_is_never_kept(tmp_path):
    """Ben, a member with an altered client, wraps Cleo a roster key of his own making for an earlier epoch: she keeps
    the one that matches the epoch's commitment, and her fold does not change."""
    _ana, ben, cleo, cid, _loc, _dan = _cohort_before_cleo(tmp_path, "joining")
    b, c = ben.cohort(cid), cleo.cohort(cid)
    before = c.view.digest()
    tried = accepted = 0
    for kid, ep in b.view.epochs().items():
        if cleo.id in ep.recipients or not ep.roster:
            continue
        fake = ScopeKey.new(Scope.ROSTER, ep.number)
        fake = ScopeKey(roster_id(kid), fake.secret, Scope.ROSTER, ep.number)
        b.store.commit([Part("keys.wrapped", b.store.keys.wrap_body(cid, [(fake, ep.prev, "")], b.store.readers([c.view.member(cleo.id)])), None)])
        tried += 1
    once(ben, cleo)
    for kid, ep in c.view.epochs().items():
        held = c.store.entry.key(roster_id(kid))
        if held is not None and ep.roster:
            accepted += epoch_hash(held) != ep.roster
    tally("a made-up roster key for an earlier epoch", tried, accepted)
    assert tried == 4 and accepted == 0
    assert c.view.digest() == before


def test_a_member_re_admitted_under_joining_reads_nothing_said_while_away(tmp_path):
    """Dan was removed; what was said while he was away stays closed to him when he is admitted again, what he read
    before stays his, and from his return on he reads everything."""
    ana, ben, _cleo, cid, loc, dan = _cohort_before_cleo(tmp_path, "joining")
    a = ana.cohort(cid)
    mid = a.view.meetings()[-1].id
    a.add_note(mid, "while Dan was away: the rota for January")
    once(ana, ben)
    bring_in(ana, cid, dan, loc)
    for _ in range(2):
        once(ana, ben, dan)  # catch-up wraps, if any, go out and come in
    d = dan.cohort(cid)
    said = {n.text for n in d.view.notes()}
    opened = _plaintexts(dan, cid, (ana, ben))
    assert "while Dan was away: the rota for January" not in said | set(opened)
    assert BEFORE[0] in said  # read while he was a member
    assert [(m.id, m.active) for m in d.view.members(include_removed=True)] == [(m.id, m.active) for m in a.view.members(include_removed=True)]
    assert d.view.member(dan.id).active
    tally("a re-admitted member under 'joining' reading what was said while away", 1, int("while Dan was away: the rota for January" in said | set(opened)))
    a.add_note(mid, "welcome back, Dan")
    once(ana, dan)
    assert "welcome back, Dan" in {n.text for n in d.view.notes()}
