"""A hostile review of roster keys (issue 10, "from joining on"): what a newcomer under "joining" reads of the past, what a
member re-admitted reads of the time away, and whether the fold agrees between a newcomer and an old member.

Real homes, the real litestream binary and a folder replica, as tests/sync/test_history.py. An altered client is a
home that writes through ``CohortStore.commit`` or straight through its journal writer, skipping what the honest client
does (:func:`_raw`, :func:`_wrap_raw`). Every attack is counted with ``tally``; each test also walks the honest path, so
it can fail. Tests marked ``xfail(strict=True)`` show a hole found by this review (see their reasons).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from circle.crypto import anonymous as anon_sealing
from circle.crypto import envelope
from circle.crypto.identity import PublicIdentity
from circle.errors import InvalidEnvelope
from circle.export import render, summarize
from circle.models.events import DEP_HASH_LEN, as_written, decode_payload, encode_payload
from circle.models.governance import ROSTER_KINDS
from circle.store import snapshot
from circle.store.channels import ChannelService
from circle.store.cohort import CITE_EVERY, Part
from circle.store.journal import read_rows
from circle.store.keys import LABEL_KEY_WRAP, WRAP_KEY_ID, epoch_hash, roster_id, roster_key
from circle.store.session import Home
from circle.store.vault import Scope, ScopeKey
from circle.store.wrapping import recipient_set
from circle.sync.drop import ReplicaDrop
from circle.sync.service import SyncService
from tests.security.laptops import tally
from tests.sync.helpers import bring_in, new_home, once, reopen

pytestmark = pytest.mark.slow


def _soon() -> str:
    return (dt.datetime.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


def _found(tmp_path, history: str = "joining"):
    """Ana founds a cohort on a folder replica: (Ana, the cohort id, the location)."""
    loc = {"url": str(tmp_path / "shared-folder")}
    ana = new_home(tmp_path, "Ana")
    cid = ana.create_cohort("Dietitians North", replica=dict(loc), history=history).id
    once(ana)
    return ana, cid, loc


def _strings(v) -> list[str]:
    """Every string anywhere in a decoded body."""
    if isinstance(v, str):
        return [str(v)]
    if isinstance(v, dict):
        return [s for x in v.values() for s in _strings(x)]
    if isinstance(v, list | tuple):
        return [s for x in v for s in _strings(x)]
    return []


def _opened_by(reader, cid: str, writers) -> list[str]:
    """Every string of every payload in the writers' journals that ``reader``'s keys open (each envelope tried with every key)."""
    keys = list(reader.cohort(cid).store.keys.readable().values())
    out = []
    for w in writers:
        store = w.cohort(cid).store
        for jid in [store.entry.journal, *store.entry.retired]:
            for row in read_rows(store.journal_path(jid), 0):
                h = envelope.parse(row.blob)
                for key in keys:
                    try:
                        out += _strings(decode_payload(envelope.open_envelope(row.blob, h, key.secret), id="", journal="", seq=h.seq).body)
                    except InvalidEnvelope:
                        continue
    return out


def _round_lines_opened_by(reader, cid: str, holder) -> list[str]:
    """Every line of every round blob ``holder``'s device fetched that any key ``reader`` holds opens."""
    keys = list(reader.cohort(cid).store.keys.readable().values())
    out = []
    for meeting, _looked, blob in holder.cohort(cid).store.rounds.rows():
        for key in keys:
            try:
                out.append(json.loads(anon_sealing.open_line(blob, key.secret, cid, meeting))["text"])
            except (InvalidEnvelope, ValueError, KeyError):
                continue
    return out


def _raw(svc, events: list[tuple[str, dict, ScopeKey, tuple]]) -> None:
    """An altered writer: one batch of (kind, body, key, citations), each sealed with exactly its key (the honest
    ``commit`` picks the roster key or the epoch key by kind)."""
    store = svc.store
    with store.lock:
        lamport, now, sealing = max(store.view.max_lamport, store.private.max_lamport), store.clock(), []
        for kind, body, key, deps in events:
            lamport += 1
            payload = encode_payload(kind=kind, cohort=store.id, author=store.author.id, lamport=lamport, ts=now, body=body, deps=tuple(deps))
            sealing.append((payload, key.raw_id, key.secret))
        store.writer.append(sealing)
        store.vault.flush()
        store.ingest(from_start=True)  # the writer's own device folds what it wrote, as commit does


def _public(svc, member_id: str) -> PublicIdentity:
    return PublicIdentity.from_bytes(bytes.fromhex(svc.view.member(member_id).public))


def _wrap_raw(svc, to: PublicIdentity, inners: list[dict]) -> None:
    """An altered wrapper: wrap-scope envelope whose HPKE payloads say whatever ``inners`` say (each gets ``to``)."""
    blobs = [to.wrap(json.dumps({"to": to.id.hex(), **d}).encode(), LABEL_KEY_WRAP).hex() for d in inners]
    svc.store.commit([Part("keys.wrapped", {"w": blobs}, None)])


def _inner(cid: str, key_id: str, secret: bytes, scope: str, epoch: int) -> dict:
    return {"c": cid, "kid": key_id, "k": secret.hex(), "scope": scope, "e": epoch, "prev": "", "r": ""}


def _fold(v):
    """What every device must agree on (the roster, keys, the schedule, the rota, attendance, refusals, citations)."""
    members = v.members(include_removed=True)
    kinds = {e.id: e.kind for e in v.events}
    return {
        "members": [(m.id, m.name, m.role, m.active, tuple(sorted(m.gone))) for m in members],
        "epochs": sorted((kid, ep.number, tuple(sorted(ep.recipients)), ep.commit, ep.roster) for kid, ep in v.epochs().items()),
        "current": (v.current_epoch() or None) and v.current_epoch().key_id,
        "meetings": [(m.id, m.at, m.title, m.held, m.facilitator, m.cancelled) for m in v.meetings()],
        "rota": v.rota().turns,
        "attendance": v.attendance_by_meeting(self_or_mentor=False),
        # refusals of roster-class events: a newcomer cannot see that a note she cannot open was refused
        "refused": {i: why for i, why in v.refused().items() if kinds.get(i) in ROSTER_KINDS},
        "cited": {j: v.cited_by(j) for m in members for j, _ in m.journals},
    }


def _differ(x, y) -> list[str]:
    """Which parts of two folds differ."""
    fx, fy = _fold(x), _fold(y)
    return [k for k in fx if fx[k] != fy[k]]


# ---- (1) a newcomer under "joining" reading anything said before ---------------------------------------------


SAID = ("before Cleo: the ward is short of two dietitians", "before Cleo, anonymously: I dread the audits", "before Cleo, privately: Ben's appraisal")


def test_a_newcomer_under_joining_reads_no_note_round_line_private_line_snapshot_or_export_from_before(tmp_path):
    ana, cid, loc = _found(tmp_path)
    ben = new_home(tmp_path, "Ben")
    bring_in(ana, cid, ben, loc, role="peer")
    a, b = ana.cohort(cid), ben.cohort(cid)
    mid = a.schedule(_soon(), "Case review")
    once(ana, ben)
    a.add_note(mid, SAID[0])
    b.add_anonymous_line(mid, SAID[1], ReplicaDrop(ben, b.store))
    ChannelService(a).send(ben.id, SAID[2])
    once(ana, ben, ana)
    assert SAID[1] in a.view.anonymous_lines(mid) and SAID[0] in {n.text for n in b.view.notes()}

    cleo = new_home(tmp_path, "Cleo")
    bring_in(ana, cid, cleo, loc)
    once(ben, cleo, ana, cleo)
    c = cleo.cohort(cid)

    # The honest path: what is said from her admission on reaches her, notes and lines alike.
    b.add_anonymous_line(mid, "after Cleo, anonymously: more case time", ReplicaDrop(ben, b.store))
    a.add_note(mid, "after Cleo: welcome")
    once(ben, ana, cleo)
    assert "after Cleo, anonymously: more case time" in c.view.anonymous_lines(mid)
    assert "after Cleo: welcome" in {n.text for n in c.view.notes()}
    assert _fold(c.view) == _fold(a.view)

    # Every envelope of Ana's and Ben's journals tried with every key she holds; every round blob Ana's device holds;
    # her view; her sealed snapshot; every export format; her device reopened.
    leaked = set(_opened_by(cleo, cid, (ana, ben))) | set(_round_lines_opened_by(cleo, cid, ana))
    leaked |= {n.text for n in c.view.notes()} | set(c.view.anonymous_lines(mid))
    c.store.save_snapshot()
    snap = snapshot.load(c.store._snapshot_path(), c.store.vault.snapshot_key, cid, c.store.texts.left_body)
    leaked |= {s for e in snap.events for s in _strings(as_written(e))}  # a note's text left in its journal: as read back from there
    exported = b"".join(render(summarize(c, anonymous=True), fmt) for fmt in ("md", "json", "html"))
    assert b"after Cleo: welcome" in exported
    leaked |= {s for s in SAID if s.encode() in exported}
    cleo2 = reopen(cleo)
    c2 = cleo2.cohort(cid)
    leaked |= {n.text for n in c2.view.notes()} | set(c2.view.anonymous_lines(mid))
    assert "after Cleo: welcome" in {n.text for n in c2.view.notes()}
    tally("a newcomer under 'joining' reading notes, round lines, channels, snapshot, export from before", len(SAID), len(leaked & set(SAID)))
    assert not leaked & set(SAID)


# ---- (2) a member re-admitted under "joining" reading what was said while away ------------------------------


def test_a_member_re_admitted_by_another_mentor_reads_nothing_said_or_lined_while_away(tmp_path):
    """Ben (a mentor) admitted Dan; Ana removes him, things are said and lined while he is away and the key turns over
    twice; Ana admits him again. His first admitter's device must not hand him what he missed."""
    ana, cid, loc = _found(tmp_path)
    ben, dan = new_home(tmp_path, "Ben"), new_home(tmp_path, "Dan")
    bring_in(ana, cid, ben, loc, role="mentor")
    once(ben)
    bring_in(ben, cid, dan, loc)
    once(ana, ben, dan)
    a, b = ana.cohort(cid), ben.cohort(cid)
    mid = a.schedule(_soon(), "Case review")
    once(ana, ben, dan)
    a.add_note(mid, "while Dan was here: the menu audit")
    once(ana, ben, dan)
    a.remove(dan.id)
    once(ana, ben)
    away = ("while Dan was away: his caseload", "while Dan was away, anonymously: he was unfair")
    a.add_note(mid, away[0])
    b.add_anonymous_line(mid, away[1], ReplicaDrop(ben, b.store))
    b.rotate_epoch()
    once(ben, ana, ben)
    bring_in(ana, cid, dan, loc)
    for _ in range(2):
        once(ana, ben, dan)
    d = dan.cohort(cid)
    a.add_note(mid, "welcome back, Dan")
    b.add_anonymous_line(mid, "glad Dan is back", ReplicaDrop(ben, b.store))
    once(ana, ben, dan)
    # The honest path: what he read before stays his; what is said from his return on reaches him; the fold agrees.
    assert "while Dan was here: the menu audit" in {n.text for n in d.view.notes()}
    assert "welcome back, Dan" in {n.text for n in d.view.notes()} and "glad Dan is back" in d.view.anonymous_lines(mid)
    assert _fold(d.view) == _fold(a.view)
    leaked = set(_opened_by(dan, cid, (ana, ben))) | set(_round_lines_opened_by(dan, cid, ana)) | set(_round_lines_opened_by(dan, cid, ben))
    leaked |= {n.text for n in d.view.notes()} | set(d.view.anonymous_lines(mid))
    tally("a member re-admitted under 'joining' (first admitted by another mentor) reading what was said while away", len(away), len(leaked & set(away)))
    assert not leaked & set(away)


# ---- (3) made-up or mismatched keys --------------------------------------------------------------------------


def _cleo_dan_removed(tmp_path, dan_role: str = "participant", dan_invites_cleo: bool = False):
    """Ana founds ("joining"), Ben (peer) and Dan join, a meeting and a note; Cleo joins (through Dan if asked); Ana
    removes Dan. (ana, ben, cleo, dan, cid, loc, meeting id)."""
    ana, cid, loc = _found(tmp_path)
    ben, dan, cleo = (new_home(tmp_path, n) for n in ("Ben", "Dan", "Cleo"))
    bring_in(ana, cid, ben, loc, role="peer")
    bring_in(ana, cid, dan, loc, role=dan_role)
    once(ben, dan)
    a = ana.cohort(cid)
    mid = a.schedule(_soon(), "Case review")
    a.add_note(mid, SAID[0])
    once(ana, ben, dan)
    bring_in(dan if dan_invites_cleo else ana, cid, cleo, loc)
    once(ana, ben, dan, cleo)
    return ana, ben, cleo, dan, cid, loc, mid


def test_made_up_keys_from_a_removed_member_wrong_scopes_and_wrong_epoch_numbers_are_never_used(tmp_path):
    ana, ben, cleo, dan, cid, _loc, mid = _cleo_dan_removed(tmp_path)
    a, c, d = ana.cohort(cid), cleo.cohort(cid), dan.cohort(cid)
    a.remove(dan.id)
    a.add_note(mid, "after Dan left")
    once(ana, ben, cleo)
    assert "after Dan left" in {n.text for n in c.view.notes()}  # the honest path
    before = _fold(c.view)
    held_before = {k.id: k.secret for k in c.store.keys.held().values()}

    # Dan, removed, knows every epoch's key id (they are in the envelopes' headers) and Cleo's public keys.
    to = _public(d, cleo.id)
    inners = []
    for kid, ep in a.view.epochs().items():
        junk = ScopeKey.new(Scope.COHORT, ep.number).secret
        inners += [
            _inner(cid, kid, junk, "cohort", ep.number),  # a made-up epoch key
            _inner(cid, roster_id(kid), junk, "roster", ep.number),  # a made-up roster key
            _inner(cid, roster_id(kid), junk, "cohort", ep.number),  # a full key under a roster key id
            _inner(cid, kid, roster_key(ScopeKey(kid, junk, Scope.COHORT, ep.number)).secret, "roster", ep.number),  # a roster key under an epoch id
        ]
        held = d.store.entry.key(kid)
        if held is not None:  # what Dan holds, with a wrong epoch number and scope
            inners.append(_inner(cid, kid, held.secret, "cohort", 10**6))
            inners.append(_inner(cid, roster_id(kid), roster_key(held).secret, "roster", 10**6))
    _wrap_raw(d, to, inners)
    SyncService(dan).once()
    once(cleo)
    held_after = {k.id: k for k in c.store.keys.held().values()}
    commits = {kid: ep.commit for kid, ep in c.view.epochs().items()} | {roster_id(kid): ep.roster for kid, ep in c.view.epochs().items()}
    accepted = sum(1 for k in held_after.values() if k.id in commits and epoch_hash(k) != commits[k.id])
    accepted += sum(1 for kid, s in held_before.items() if held_after[kid].secret != s)
    accepted += int(_fold(c.view) != before)
    tally("made-up, re-scoped or re-numbered keys wrapped by a removed member", len(inners), accepted)
    assert accepted == 0
    a.add_note(mid, "still read after Dan's wraps")
    once(ana, cleo)
    assert "still read after Dan's wraps" in {n.text for n in c.view.notes()}


def test_a_removed_member_squats_the_next_epochs_key_id_and_the_real_key_is_never_kept(tmp_path):
    """Dan (a mentor, removed) invited Cleo, so her device reads his journal before Ana's. After his removal he reads the
    new epoch's key ids from the headers of Ana's journal and wraps Cleo made-up keys under them before she syncs."""
    ana, ben, cleo, dan, cid, _loc, mid = _cleo_dan_removed(tmp_path, dan_role="mentor", dan_invites_cleo=True)
    a, c, d = ana.cohort(cid), cleo.cohort(cid), dan.cohort(cid)
    journals = list(c.store.vault.journals_of(cid))
    assert journals.index(d.store.entry.journal) < journals.index(a.store.entry.journal)

    # The honest path: a new epoch while Dan does nothing; Cleo reads what is said in it.
    a.rotate_epoch()
    a.add_note(mid, "under Ana's rotation")
    once(ana, dan, cleo)
    assert "under Ana's rotation" in {n.text for n in c.view.notes()}

    a.remove(dan.id)
    a.add_note(mid, "after Dan's removal: his appraisal")
    once(ana)
    SyncService(dan).once()
    held = d.store.keys.readable()
    ana_copy = d.store.journal_path(a.store.entry.journal)
    unknown = {envelope.parse(r.blob).key_id for r in read_rows(ana_copy, 0)} - set(held) - {WRAP_KEY_ID}
    assert unknown, "Dan sees key ids he does not hold"
    to = _public(d, cleo.id)
    _wrap_raw(d, to, [_inner(cid, k.hex(), ScopeKey.new(Scope.COHORT, 99).secret, "cohort", 99) for k in unknown])
    SyncService(dan).once()
    report = SyncService(cleo).once()
    SyncService(cleo).once()
    new = max(a.view.epochs().values(), key=lambda ep: ep.number)
    real = c.store.entry.key(new.key_id)
    blinded = real is None or epoch_hash(real) != new.commit
    tally("a removed member squatting the key id of an epoch a member has not settled yet", len(unknown), int(blinded))
    assert not blinded, f"Cleo holds a made-up key for the new epoch; her sync says {report.problems}"
    assert "after Dan's removal: his appraisal" in {n.text for n in c.view.notes()}


def test_a_key_under_the_wrap_scopes_id_makes_a_removal_wait_forever(tmp_path):
    ana, ben, cleo, dan, cid, _loc, mid = _cleo_dan_removed(tmp_path)
    a, b, c, d = ana.cohort(cid), ben.cohort(cid), cleo.cohort(cid), dan.cohort(cid)

    # The honest path: Dan's newest envelope is a wrap (he rekeys his channel with Ana); Ana removes him citing it.
    ChannelService(d).send(ana.id, "a word in private")
    d.store.rekey_channels()
    once(dan, ana)
    a.remove(dan.id)
    once(ana, ben, cleo)
    assert not c.view.member(dan.id).active and _fold(c.view) == _fold(a.view)

    # Ben, an altered client, wraps Cleo a key under the all-zero key id; she keeps it (no epoch has that id).
    _wrap_raw(b, _public(b, cleo.id), [_inner(cid, WRAP_KEY_ID.hex(), bytes(32), scope, 1) for scope in ("cohort", "roster")])
    once(ben, cleo)
    kept = c.store.entry.key(WRAP_KEY_ID.hex()) is not None
    # Then, as the honest client does, Ben's newest envelope is a wrap (he rekeys his channel with Ana); Ana removes him.
    ChannelService(b).send(ana.id, "a word in private")
    b.store.rekey_channels()
    once(ben, ana)
    a.remove(ben.id)
    a.add_note(mid, "after Ben's removal")
    once(ana, cleo, ana, cleo)
    waits = c.view.member(ben.id).active
    again = reopen(cleo).cohort(cid)  # her laptop restarted: the fold is built again from the journals
    back = [who for who in (dan, ben) if again.view.member(who.id).active]
    tally("a key under the wrap scope's key id making removals wait", 3, int(waits) + len(back))
    assert not waits, f"Cleo still counts Ben as a member (waiting: {c.view.waiting()}; kept: {kept}; differ in {_differ(a.view, c.view)})"
    assert not back, f"after a restart Cleo counts {[w.name for w in back]} as members again"
    assert not _differ(a.view, c.view)


# ---- (4) the fold of a newcomer and of an old member, under delivery orders ---------------------------------


@pytest.mark.parametrize("order", ["cleo-first", "ana-first", "ben-last"])
def test_a_newcomer_and_old_members_fold_alike_whatever_the_delivery_order(tmp_path, order):
    """Ben and Dan write (notes that cite, a meeting, attestations) concurrently with Cleo's admission, in the epoch before
    it; Ana removes Dan without having seen what he wrote. Every device folds the same roster, rota, attendance,
    refusals and citations."""
    ana, cid, loc = _found(tmp_path)
    ben, dan, cleo = (new_home(tmp_path, n) for n in ("Ben", "Dan", "Cleo"))
    bring_in(ana, cid, ben, loc, role="peer")
    bring_in(ana, cid, dan, loc)
    once(ben, dan)
    a, b, d = ana.cohort(cid), ben.cohort(cid), dan.cohort(cid)
    mid = a.schedule("2026-11-20T10:00", "November")
    a.mark_attendance_many(mid, {ana.id: True, ben.id: True, dan.id: True})
    once(ana, ben, dan)
    bring_in(ana, cid, cleo, loc)  # Ana pushes the admission; Ben and Dan have not seen it
    for svc in (b, d):
        later = svc.store.clock() + 2 * CITE_EVERY
        svc.store.clock = lambda later=later: later
        svc.add_note(mid, f"concurrent note by {svc.store.author.name}")
    b.schedule("2026-12-18T10:00", "December, by Ben")
    a.remove(dan.id)  # where Ana had seen Dan: before his concurrent note
    runs = {
        "cleo-first": [cleo, ben, dan, cleo, ana, cleo, ben, ana, cleo],
        "ana-first": [ana, ben, dan, ana, cleo, ben, cleo, ana, cleo],
        "ben-last": [dan, cleo, ana, cleo, ben, ana, cleo, ben, cleo],
    }[order]
    for s in runs:
        once(s)
    c = cleo.cohort(cid)
    folds = [_fold(x.view) for x in (a, b, c)]
    tally(f"a newcomer's fold diverging from old members' ({order})", 1, int(not (folds[0] == folds[1] == folds[2])))
    assert folds[0] == folds[2], "Cleo's fold differs from Ana's"
    assert folds[0] == folds[1], "Ben's fold differs from Ana's"
    assert not c.view.member(dan.id).active and c.view.member(cleo.id).active
    assert "concurrent note by Ben" in {n.text for n in a.view.notes()}


# ---- (5) an altered writer sealing with the wrong key class --------------------------------------------------


def _joined_then_old_key(tmp_path):
    """Cleo joins under "joining"; (ana, ben, cleo, cid, mid, the full key of the epoch before her admission as Ben holds it)."""
    ana, cid, loc = _found(tmp_path)
    ben, cleo = new_home(tmp_path, "Ben"), new_home(tmp_path, "Cleo")
    bring_in(ana, cid, ben, loc, role="peer")
    once(ben)
    a = ana.cohort(cid)
    mid = a.schedule("2026-11-20T10:00", "November")
    once(ana, ben)
    old = a.view.current_epoch()
    bring_in(ana, cid, cleo, loc)
    once(ben, cleo)
    key = ben.cohort(cid).store.keys.sealing_for(old.key_id, old.commit)
    assert key is not None and cleo.cohort(cid).store.entry.key(old.key_id) is None
    return ana, ben, cleo, cid, mid, key


def test_a_roster_class_event_sealed_with_the_full_key_of_an_earlier_epoch_splits_the_fold(tmp_path):
    ana, ben, cleo, cid, mid, old = _joined_then_old_key(tmp_path)
    a, b, c = ana.cohort(cid), ben.cohort(cid), cleo.cohort(cid)
    b.schedule("2026-12-18T10:00", "December, honestly")  # the honest path: everyone folds it
    once(ben, ana, cleo)
    assert "December, honestly" in {m.title for m in c.view.meetings()} and _fold(c.view) == _fold(a.view)

    # Ben's altered client: a meeting and a note that cites, both under the full key of the epoch before Cleo joined.
    a_j = a.store.entry.journal
    seq, eid = b.view.newest_by_journal()[a_j]
    _raw(
        b,
        [
            ("meeting.scheduled", {"meeting": "ff" * 16, "at": "2027-01-15T10:00", "title": "January, hidden", "minutes": 60}, old, ()),
            ("note.added", {"meeting": mid, "item": "", "text": "cites, hidden", "kind": "note"}, old, ((a_j, seq, eid[:DEP_HASH_LEN]),)),
            ("member.updated", {"member": ben.id, "name": "Benedict"}, old, ()),
        ],
    )
    once(ben, ana, cleo)
    # Ana holds the two roster-class ones aside, and says why; Cleo cannot open them at all. Everything else is the same.
    aside = {eid for eid, why in a.view.refused().items() if why.startswith("sealed with the epoch's own key")}
    assert len(aside) == 2
    split = [k for k in _differ(a.view, c.view) if k != "refused"]
    split += ["refused"] * ({k: v for k, v in a.view.refused().items() if k not in aside} != c.view.refused())
    tally("a roster-class event (or citations) sealed with an earlier epoch's full key", 3, int(bool(split)))
    assert not split, f"Ana's and Cleo's folds differ in {split}"


def test_a_note_sealed_with_a_roster_key_is_not_folded(tmp_path):
    ana, ben, cleo, cid, mid, old = _joined_then_old_key(tmp_path)
    a, b, c = ana.cohort(cid), ben.cohort(cid), cleo.cohort(cid)
    b.add_note(mid, "honest note after Cleo joined")
    _raw(b, [("note.added", {"meeting": mid, "item": "", "text": "planted under a roster key", "kind": "note"}, roster_key(old), ())])
    once(ben)
    for s in (ana, cleo):  # refused, and said so
        r = SyncService(s).once()
        assert [p for p in r.problems if "note.added sealed with a roster key" in p], r.problems
    assert "honest note after Cleo joined" in {n.text for n in c.view.notes()}  # the honest path
    folded = [x for x in (a, c) if "planted under a roster key" in {n.text for n in x.view.notes()}]
    tally("a content event sealed with a roster key, folded", 2, len(folded))
    assert not folded


# ---- (6) nothing raises ---------------------------------------------------------------------------------------


def test_malformed_wraps_raise_nothing(tmp_path):
    ana, ben, cleo, dan, cid, _loc, mid = _cleo_dan_removed(tmp_path)
    a, b, c = ana.cohort(cid), ben.cohort(cid), cleo.cohort(cid)
    kid = next(iter(a.view.epochs()))
    good = _inner(cid, roster_id(kid), bytes(32), "roster", 1)
    bad = [
        {**good, "e": float("inf")},
        {**good, "e": float("nan")},
        {**good, "e": "1"},
        {**good, "e": None},
        {**good, "kid": 5},
        {**good, "kid": "zz" * 16},
        {**good, "k": "abc"},
        {**good, "k": "00" * 31},
        {**good, "scope": "invite"},
        {**good, "scope": "self"},
        {**good, "c": ["list"]},
        {**good, "prev": {"a": 1}},
    ]
    _wrap_raw(b, _public(b, cleo.id), bad)
    deep = _public(b, cleo.id).wrap(b'{"to":' + b"[" * 50_000 + b"]" * 50_000 + b"}", LABEL_KEY_WRAP).hex()  # deeper than JSON decodes
    b.store.commit([Part("keys.wrapped", {"w": ["zz", 5, None, "00" * 40, deep]}, None)])
    b.store.commit([Part("keys.wrapped", {"w": {"not": "a list"}}, None)])
    once(ben)
    raised = []
    try:
        SyncService(cleo).once()
    except Exception as exc:  # noqa: BLE001 - what a traceback would be
        raised.append(repr(exc))
    tally("malformed wraps raising out of a recipient's sync", len(bad) + 2, len(raised))
    assert not raised
    a.add_note(mid, "read after the malformed wraps")
    once(ana, cleo)
    assert "read after the malformed wraps" in {n.text for n in c.view.notes()}


# ---- (7) second devices ---------------------------------------------------------------------------------------


def test_a_newcomers_second_laptop_reads_the_roster_and_nothing_said_before(tmp_path):
    ana, cid, loc = _found(tmp_path)
    ben, cleo = new_home(tmp_path, "Ben"), new_home(tmp_path, "Cleo")
    bring_in(ana, cid, ben, loc, role="peer")
    a = ana.cohort(cid)
    mid = a.schedule("2026-11-20T10:00", "November")
    a.add_note(mid, SAID[0])
    once(ana, ben)
    bring_in(ana, cid, cleo, loc)
    once(ben, cleo)
    code = cleo.recovery_code()
    kit, announced = cleo.add_device("ward laptop", tmp_path / "ward.kit")
    assert announced == [cid]
    once(cleo)
    ward = Home(tmp_path / "ward", calibrate=False).recover(kit, code, "ward pass phrase")
    for _ in range(2):
        once(ward, ana, ben, cleo)
    a.rotate_epoch()  # a key made after the ward laptop came: it must reach it
    a.add_note(mid, "after the ward laptop came")
    for _ in range(2):
        once(ana, ward, cleo)
    w = ward.cohort(cid)
    assert "after the ward laptop came" in {n.text for n in w.view.notes()}  # the honest path
    assert _fold(w.view) == _fold(a.view)
    leaked = set(_opened_by(ward, cid, (ana, ben))) | {n.text for n in w.view.notes()}
    admission = min(ep.number for ep in w.view.epochs().values() if cleo.id in ep.recipients)
    full_early = [k for k in w.store.keys.held().values() if k.scope is Scope.COHORT and w.view.epochs()[k.id].number < admission]
    tally("a newcomer's second laptop reading what was said before", 1, int(SAID[0] in leaked) + len(full_early))
    assert SAID[0] not in leaked and not full_early


def test_a_newcomer_admitted_under_joining_stays_so_when_the_setting_changes_and_the_admitter_has_two_laptops(tmp_path):
    """_catch_up_wraps reads the charter's history as it is now, not as it was at the admission: after a switch back to
    "all", the admitter's other laptop (made before the admission, so without admit's 'wrapped' marks) must still not
    wrap Cleo the full keys of the epochs before her admission."""
    ana, cid, loc = _found(tmp_path)
    ben, cleo, fay = (new_home(tmp_path, n) for n in ("Ben", "Cleo", "Fay"))
    bring_in(ana, cid, ben, loc, role="peer")
    a = ana.cohort(cid)
    mid = a.schedule("2026-11-20T10:00", "November")
    a.add_note(mid, SAID[0])
    code = ana.recovery_code()
    kit, _ = ana.add_device("ward laptop", tmp_path / "ward.kit")
    once(ana, ben)
    ward = Home(tmp_path / "ward", calibrate=False).recover(kit, code, "ward pass phrase")
    once(ward, ana, ben)
    bring_in(ana, cid, cleo, loc)  # under "joining", from Ana's first laptop
    once(ben, cleo)
    c = cleo.cohort(cid)
    assert SAID[0] not in set(_opened_by(cleo, cid, (ana, ben)))
    a.set_history("all")  # from now on newcomers read everything
    for _ in range(2):
        once(ana, ward, ben, cleo)
    # The honest path: Fay, admitted after the change, reads what was said before.
    bring_in(ana, cid, fay, loc)
    once(fay)
    assert SAID[0] in {n.text for n in fay.cohort(cid).view.notes()}
    leaked = set(_opened_by(cleo, cid, (ana, ben))) | {n.text for n in c.view.notes()}
    tally("a newcomer admitted under 'joining' reading the history after the setting changes (admitter with two laptops)", 1, int(SAID[0] in leaked))
    assert SAID[0] not in leaked


# ---- (7) old cohorts: epochs without a "roster" commitment ----------------------------------------------------


def _old_epoch(svc) -> ScopeKey:
    """What a client from before roster keys writes to start an epoch: its wrap, and a start with no "roster",
    sealed with the epoch's own key."""
    store = svc.store
    active = store.view.members()
    old = store.view.current_epoch()
    key = store.keys.new_epoch_key(max(ep.number for ep in store.view.epochs().values()) + 1)
    store.vault.save()
    store.commit([Part("keys.wrapped", store.keys.wrap_body(store.id, [(key, old.commit, recipient_set(m.id for m in active))], store.readers(active)), None)])
    body = {
        "epoch": key.epoch,
        "key_id": key.id,
        "recipients": sorted(m.id for m in active),
        "prev": old.commit,
        "commit": epoch_hash(key),
        "reason": "rotation",
    }
    _raw(svc, [("keys.epoch_started", body, key, ())])
    return key


def _ana_ben_and_a_meeting(tmp_path):
    """Ana founds a cohort ("joining"), Ben (a peer) joins, Ana schedules a meeting; Cleo has a home, not yet in.
    (Ana, Ben, Cleo, the cohort id, the replica location, the meeting id.)"""
    ana, cid, loc = _found(tmp_path)
    ben, cleo = new_home(tmp_path, "Ben"), new_home(tmp_path, "Cleo")
    bring_in(ana, cid, ben, loc, role="peer")
    once(ben)
    return ana, ben, cleo, cid, loc, ana.cohort(cid).schedule("2026-11-20T10:00", "November")


def test_an_epoch_without_a_roster_commitment_is_read_whole_by_a_newcomer_and_a_made_up_roster_key_changes_nothing(tmp_path):
    """Documented: a cohort older than roster keys keeps those epochs readable to newcomers. What must hold there: the
    newcomer's fold agrees with everyone's, and a roster key someone makes up for that epoch opens nothing."""
    ana, ben, cleo, cid, loc, mid = _ana_ben_and_a_meeting(tmp_path)
    a, b = ana.cohort(cid), ben.cohort(cid)
    key = _old_epoch(a)
    once(ana, ben, ana)
    assert not a.view.epochs()[key.id].roster and b.view.current_epoch().key_id == key.id
    b.add_note(mid, "said in the old epoch")
    b.schedule("2026-12-18T10:00", "December, in the old epoch")
    once(ben, ana)
    bring_in(ana, cid, cleo, loc)
    once(ben, cleo)
    c = cleo.cohort(cid)
    assert c.store.entry.key(key.id) is not None  # the whole key of an epoch from before roster keys (documented)
    assert "said in the old epoch" in {n.text for n in c.view.notes()}
    assert not _differ(a.view, c.view)
    # Ben's altered client wraps Cleo a made-up roster key for that epoch (it commits to none, so it is not refused).
    fake = ScopeKey.new(Scope.ROSTER, key.epoch).secret
    _wrap_raw(b, _public(b, cleo.id), [_inner(cid, roster_id(key.id), fake, "roster", key.epoch)])
    once(ben, cleo)
    b.schedule("2027-01-15T10:00", "January, in the old epoch")
    once(ben, ana, cleo)
    reopened = reopen(cleo).cohort(cid)
    changed = [x for x in (c, reopened) if _differ(a.view, x.view) or "January, in the old epoch" not in {m.title for m in x.view.meetings()}]
    tally("a made-up roster key for an epoch without a roster commitment", 1, len(changed))
    assert not changed


# ---- (1)/(4) an epoch started before the admission that the admitter had not seen yet --------------------------


def test_epochs_the_admitter_had_not_seen_at_the_admission_give_the_newcomer_only_their_roster(tmp_path):
    """Ben turns the key over twice and talks in the new epochs while Ana's laptop has not seen it (closed, or not
    synced); then Ana admits Cleo under "joining". Ben's epochs started before the admission, numbered from what Ben
    had seen; what he said in them was said before Cleo joined."""
    ana, ben, cleo, cid, loc, mid = _ana_ben_and_a_meeting(tmp_path)
    a, b = ana.cohort(cid), ben.cohort(cid)
    once(ana, ben)
    said = ("before Cleo, in Ben's first new epoch", "before Cleo, in Ben's second new epoch")
    b.rotate_epoch()
    b.add_note(mid, said[0])
    b.rotate_epoch()
    b.add_note(mid, said[1])
    once(ben)
    bring_in(ana, cid, cleo, loc)  # Ana's laptop sees Ben's epochs only in the sync that sends the admission
    for _ in range(2):
        once(ben, ana, cleo)
    c = cleo.cohort(cid)
    a.add_note(mid, "after Cleo joined")
    once(ana, ben, cleo)
    assert "after Cleo joined" in {n.text for n in c.view.notes()}  # the honest path
    assert not _differ(a.view, c.view)
    leaked = set(_opened_by(cleo, cid, (ana, ben))) | {n.text for n in c.view.notes()}
    tally("a newcomer under 'joining' reading epochs started before her admission that the admitter had not seen", len(said), len(leaked & set(said)))
    assert not leaked & set(said)
