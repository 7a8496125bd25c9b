"""A member (or ex-member) running an altered copy of circle: every attack seen in the field, refused on every device.

Each test plays the attack with real keystores, envelopes and journals (the
altered client writes through ``CohortStore.record``/``commit``, skipping the
courtesy checks of ``CohortService``), delivers it to the honest laptops, and
counts what it tried and what was accepted: accepted must be 0. The honest
path runs in the same test, so the test can fail.
"""

from __future__ import annotations

import json
import os

import pytest

from circle.crypto import envelope
from circle.crypto.identity import Identity
from circle.errors import CircleError, InvalidEnvelope
from circle.models.governance import MENTOR
from circle.store import joining
from circle.store.cohort import Part
from circle.store.journal import read_rows
from circle.store.keys import LABEL_KEY_WRAP, epoch_hash
from circle.store.session import Home
from circle.store.vault import Scope, ScopeKey
from tests.security.laptops import PASS, Laptops, copy_db, forked, tally


def opened_by(lap: Laptops, name: str, writer: str) -> int:
    """How many of ``writer``'s cohort-scope envelopes ``name`` can decrypt with the keys ``name`` holds."""
    keys = lap.store(name).entry.keys()
    n = 0
    for row in read_rows(lap.store(writer).journal.path):
        h = envelope.parse(row.blob)
        k = keys.get(h.key_id)
        if k is None or k.scope is not Scope.COHORT:
            continue
        try:
            envelope.open_envelope(row.blob, h, k.secret)
            n += 1
        except InvalidEnvelope:
            pass
    return n


def cohort_envelopes(lap: Laptops, writer: str, after: int = 0) -> list[bytes]:
    ids = {ScopeKey(k.id, k.secret, k.scope, k.epoch).raw_id for k in lap.store(writer).entry.keys().values() if k.scope is Scope.COHORT}
    return [r.blob for r in read_rows(lap.store(writer).journal.path, after) if envelope.parse(r.blob).key_id in ids]


def texts(lap: Laptops, name: str) -> set[str]:
    return {n.text for n in lap.svc(name).view.notes()}


def meeting(lap: Laptops, who: str = "Ana") -> str:
    return lap.svc(who).schedule("2026-12-09 18:00", "December")


# ---- keys bound to membership ------------------------------------------------------------------


def test_a_removed_member_cannot_make_up_an_epoch_that_others_adopt(ward: Laptops):
    """Cleo, removed, wraps a key of her own for a made-up epoch to everyone; nobody writes with it."""
    ward.svc("Ana").remove(ward.id("Cleo"))
    ward.sync("Ana", "Ben")
    cleo = ward.store("Cleo")
    fake = ScopeKey.new(Scope.COHORT, 99)
    cleo.entry.add_key(fake)
    recipients = [ward.sessions[n].public for n in ("Ana", "Ben")]
    cleo.commit(
        [
            Part("keys.wrapped", cleo.keys.wrap_body(cleo.id, [(fake, "", "")], recipients), None),
            Part(
                "keys.epoch_started",
                {
                    "epoch": 99,
                    "key_id": fake.id,
                    "recipients": sorted([ward.id("Ana"), ward.id("Ben"), ward.id("Cleo")]),
                    "commit": epoch_hash(fake),
                    "prev": "",
                    "reason": "rotation",
                },
                fake,
            ),
        ]
    )
    ward.deliver("Ana", "Cleo")
    ward.deliver("Ben", "Cleo")
    tried = accepted = 0
    for name in ("Ana", "Ben"):
        svc = ward.svc(name)
        svc.store.record("note.added", {"meeting": "x", "text": f"{name} after Cleo left", "kind": "note"})
        tried += 1
        accepted += svc.store.sealing_key().id == fake.id
        assert fake.id not in svc.view.epochs()
        assert svc.store.refused_wraps >= 1  # reported, never adopted
    ward.sync("Ana", "Ben")
    ward.deliver("Cleo")
    readable = {e for n in ("Ana", "Ben") for e in cohort_envelopes(ward, n) if envelope.parse(e).key_id == fake.raw_id}
    tally("removed member's made-up epoch", tried, accepted + len(readable))
    assert accepted == 0 and not readable
    assert texts(ward, "Ben") >= {"Ana after Cleo left", "Ben after Cleo left"}  # the honest path
    assert "Ana after Cleo left" not in texts(ward, "Cleo")
    report = ward.sessions["Ana"].verify()
    assert report.refused_wraps >= 1


def test_a_re_admission_cannot_swap_a_members_keys(ward: Laptops):
    """Ana (mentor, altered) re-admits Ben under his id with Mallory's keys; the next epoch still goes to Ben's real keys."""
    ana = ward.store("Ana")
    mallory = Identity.generate()
    fake_public = ward.sessions["Ben"].identity.id + mallory.public().to_bytes()[16:]
    body = {"member": ward.id("Ben"), "name": "Ben", "role": "peer", "public": fake_public.hex(), "journal": os.urandom(16).hex()}
    bad = ana.record("member.admitted", body)
    ward.sync()
    tried, accepted = 1, int(bad.id not in ward.svc("Ben").view.refused())
    assert ward.svc("Ben").view.member(ward.id("Ben")).public == ward.sessions["Ben"].public.to_bytes().hex()
    # The same after a removal: re-admitting Ben with other keys is refused too.
    ward.svc("Ana").remove(ward.id("Cleo"))
    ward.sync()
    assert opened_by(ward, "Ben", "Ana") == len(cohort_envelopes(ward, "Ana"))  # Ben reads the new epoch
    tally("re-admission swapping keys", tried, accepted)
    assert accepted == 0


def test_an_admission_with_a_public_key_of_the_wrong_length_is_held_aside(ward: Laptops):
    """Ana (mentor, altered) admits someone whose public key is cut short: every device holds it aside, and the next
    epoch (which wraps to every member's keys) still starts and reaches Ben."""
    ana = ward.store("Ana")
    short = "ee" * 16 + "ab" * 100
    bad = ana.record("member.admitted", {"member": "ee" * 16, "name": "Shorty", "role": "peer", "public": short, "journal": os.urandom(16).hex()})
    ward.sync()
    view = ward.svc("Ben").view
    tried, accepted = 1, int(bad.id not in view.refused() or view.member("ee" * 16) is not None)
    ward.svc("Ana").remove(ward.id("Cleo"))  # wraps the new epoch to every member's keys
    ward.sync()
    assert opened_by(ward, "Ben", "Ana") == len(cohort_envelopes(ward, "Ana"))
    tally("an admission with a malformed public key", tried, accepted)
    assert accepted == 0


def test_a_participant_cannot_remove_the_founder_and_a_cut_cannot_reach_back(ward: Laptops):
    """Cleo (participant, altered) removes Ana; Ana's removal of Cleo counts; a removal claiming cut 0 erases nothing seen."""
    mid = meeting(ward)
    ward.svc("Ana").add_note(mid, "Ana's first note")
    ward.sync()
    attack = ward.store("Cleo").record("member.removed", {"member": ward.id("Ana"), "cut_seq": 0})
    ward.svc("Ana").remove(ward.id("Cleo"))  # concurrent with the attack: Ana had not seen it
    ward.sync()
    tried = accepted = 0
    for name in ("Ana", "Ben"):
        v = ward.svc(name).view
        tried += 1
        accepted += int(attack.id not in v.refused())
        assert v.member(ward.id("Ana")).active and not v.member(ward.id("Cleo")).active
        assert "Ana's first note" in texts(ward, name)
        assert v.cohort().founder == ward.id("Ana")
    tally("participant removes the founder", tried, accepted)
    assert accepted == 0


def test_a_mentors_removal_cuts_where_the_cohort_had_seen_the_member(tmp_path):
    """Ben (mentor) removes Ana claiming cut 0, before he had seen her last note; Cleo had seen and cited it: it stays."""
    lap = Laptops(tmp_path, "Ana")
    lap.join("Ben", "mentor")
    lap.join("Cleo", "peer")
    mid = meeting(lap)
    lap.sync()
    lap.svc("Ben").add_note(mid, "Ben was here")  # Ben cites Ana's journal up to the meeting
    lap.svc("Ana").add_note(mid, "seen by all")
    lap.sync("Ana", "Cleo")
    lap.svc("Cleo").add_note(mid, "Cleo read Ana's note")  # Cleo cites it, not having seen any removal
    lap.store("Ben").start_epoch("removal", before=[Part("member.removed", {"member": lap.id("Ana"), "cut_seq": 0}, None)])
    lap.sync()
    tried = kept = 0
    for name in ("Ben", "Cleo"):
        v = lap.svc(name).view
        assert not v.member(lap.id("Ana")).active  # the removal itself counts: Ben is a mentor
        tried += 1
        kept += "seen by all" in texts(lap, name) and v.cohort().founder == lap.id("Ana") and v.cohort().name == "Ward educators"
    tally("removal cut reaching back", tried, tried - kept)
    assert kept == tried


def test_concurrent_mutual_removals_exclude_both_and_nobody_writes_to_them(tmp_path):
    """Ana and Ben, both mentors, remove each other without having synced; Cleo then writes under a key neither holds."""
    lap = Laptops(tmp_path, "Ana")
    lap.join("Ben", "mentor")
    lap.join("Cleo", "peer")
    lap.join("Dan", "participant")
    lap.sync()
    lap.svc("Ana").remove(lap.id("Ben"))
    lap.svc("Ben").remove(lap.id("Ana"))
    lap.sync("Cleo", "Dan", "Ana", "Ben")
    lap.svc("Cleo").store.record("note.added", {"meeting": "m", "text": "after both removals", "kind": "note"})
    lap.sync()
    v = lap.svc("Dan").view
    both_out = not v.member(lap.id("Ana")).active and not v.member(lap.id("Ben")).active
    key = lap.store("Cleo").sealing_key()
    epoch = v.current_epoch()
    leaked = [n for n in ("Ana", "Ben") if lap.store(n).entry.key(key.id) is not None]
    tally("concurrent mutual removals", 2, int(not both_out) + len(leaked))
    assert both_out and not leaked and epoch is not None and lap.id("Ana") not in epoch.recipients and lap.id("Ben") not in epoch.recipients
    assert "after both removals" in texts(lap, "Dan")
    assert lap.svc("Cleo").view.digest() == lap.svc("Dan").view.digest()


# ---- membership that works across changes ------------------------------------------------------


def test_a_removed_member_re_admitted_is_active_and_reads_again(ward: Laptops):
    mid = meeting(ward)
    ward.svc("Ana").remove(ward.id("Cleo"))
    ward.svc("Ana").add_note(mid, "while Cleo was away")
    ward.sync()
    ward.join("Cleo", "participant", by="Ana")  # joins again with an invite: a new journal, the same keys
    ward.sync()
    v = ward.svc("Ben").view
    assert v.member(ward.id("Cleo")).active and len(v.member(ward.id("Cleo")).journals) == 2
    ward.svc("Cleo").add_note(mid, "Cleo is back")
    ward.sync()
    assert "Cleo is back" in texts(ward, "Ben") and "while Cleo was away" in texts(ward, "Cleo")
    assert ward.sessions["Cleo"].verify().problems == []


def test_a_newcomer_after_two_removals_sees_the_whole_roster_and_history(ward: Laptops):
    mid = meeting(ward)
    ward.svc("Ana").add_note(mid, "from the start")
    ward.svc("Ana").remove(ward.id("Ben"))
    ward.svc("Ana").remove(ward.id("Cleo"))
    ward.join("Dan", "peer")
    v = ward.svc("Dan").view
    assert [m.name for m in v.members(include_removed=True)] == ["Ana", "Ben", "Cleo", "Dan"]
    assert [m.name for m in v.members()] == ["Ana", "Dan"]
    assert "from the start" in texts(ward, "Dan")


# ---- roles, the charter and the meeting: the fold's rules --------------------------------------


def test_who_may_do_what_is_checked_on_every_device(ward: Laptops):
    """Each altered write is refused by every other device; each honest one in the same cohort counts."""
    mid = meeting(ward)
    ward.sync()
    ben, cleo = ward.store("Ben"), ward.store("Cleo")
    fac = ward.svc("Ana").facilitator(mid)
    assert fac == ward.id("Ben")  # Ben, the only peer, facilitates
    attacks = [
        cleo.record("meeting.phase_set", {"meeting": mid, "phase": "agenda"}),
        cleo.record("meeting.held", {"meeting": mid, "facilitator": ward.id("Cleo")}),
        ben.record("meeting.held", {"meeting": mid, "facilitator": ward.id("Cleo")}),  # the facilitator, naming a false one
        cleo.record("member.updated", {"member": ward.id("Cleo"), "role": MENTOR}),
        ben.record("member.updated", {"member": ward.id("Ana"), "role": "participant"}),
        cleo.record("cohort.charter_set", {"name": "Renamed by Cleo"}),
        cleo.record("attendance.marked", {"meeting": mid, "member": ward.id("Ben"), "present": False}),
        cleo.record("member.admitted", {"member": "ee" * 16, "name": "Outsider", "role": MENTOR, "public": "ee" * 16 + "ab" * 1248, "journal": "ef" * 16}),
        cleo.record("rota.swapped", {"meeting_a": mid, "meeting_b": mid}),
    ]
    ward.sync()
    tried, accepted = 0, 0
    for name in ("Ana", "Ben"):
        refused = ward.svc(name).view.refused()
        tried += len(attacks)
        accepted += sum(1 for a in attacks if a.id not in refused)
    v = ward.svc("Ana").view
    tally("authority rules", tried, accepted)
    assert accepted == 0
    assert v.meeting(mid).phase == "" and not v.meeting(mid).held
    assert v.member(ward.id("Cleo")).role == "participant" and v.member(ward.id("Ana")).role == MENTOR
    assert v.cohort().name == "Ward educators" and ward.id("Ben") not in {k for k, p in v.attendance(mid).items() if not p}
    # The honest path: the facilitator leads, a mentor renames, a member marks themselves.
    ward.svc("Ben").advance_phase(mid)
    ward.svc("Cleo").mark_attendance(mid, ward.id("Cleo"), True)
    ward.store("Ana").record("cohort.charter_set", {"name": "Ward educators (north)"})
    ward.svc("Ana").set_role(ward.id("Cleo"), "peer")
    ward.sync()
    v = ward.svc("Cleo").view
    assert v.meeting(mid).phase == "check-in" and v.attendance(mid)[ward.id("Cleo")] is True
    assert v.cohort().name == "Ward educators (north)" and v.member(ward.id("Cleo")).role == "peer"


def test_edits_redactions_and_more_time_by_others_are_refused_on_every_device(ward: Laptops):
    """Cleo (a participant, altered) edits and redacts what Ana and Ben wrote and gives an item more time; nothing of it counts anywhere.

    The honest path in the same cohort: Ben, the facilitator, edits, redacts
    and gives more time; Ana's own note is edited by herself.
    """
    mid = meeting(ward)
    ward.sync()
    ana, ben = ward.svc("Ana"), ward.svc("Ben")
    note = ana.add_note(mid, "Mr J. Smith, bed 4: discharge worry")
    other = ana.add_note(mid, "Keep this one")
    item = ana.add_item(mid, "Discharge planning", minutes=10)
    action = ana.add_action(mid, "Call the ward manager", owner=ward.id("Ben"))
    hers = ana.add_action(mid, "Bring the audit form", owner=ward.id("Cleo"))
    ward.sync()
    cleo = ward.store("Cleo")
    attacks = [
        cleo.record("note.edited", {"note": other, "text": "Changed by Cleo"}),
        cleo.record("entry.redacted", {"entry": other, "what": "note"}),
        cleo.record("entry.redacted", {"entry": item, "what": "item"}),
        cleo.record("agenda.updated", {"item": item, "title": "Renamed by Cleo"}),
        cleo.record("action.updated", {"action": action, "title": "Renamed by Cleo"}),
        cleo.record("agenda.extended", {"meeting": mid, "item": item, "minutes": 60}),
        cleo.record("entry.redacted", {"entry": hers, "what": "action"}),  # its owner, not its author: she may tick it, not hide it
    ]
    ward.sync()
    tried = accepted = 0
    for name in ("Ana", "Ben"):
        refused = ward.svc(name).view.refused()
        tried += len(attacks)
        accepted += sum(1 for a in attacks if a.id not in refused)
    tally("edits, redactions and more time by others", tried, accepted)
    assert accepted == 0
    v = ward.svc("Ana").view
    assert [n.text for n in v.notes(mid)] == ["Mr J. Smith, bed 4: discharge worry", "Keep this one"]
    assert [(i.title, i.extended) for i in v.agenda(mid)] == [("Discharge planning", 0)]
    assert [a.title for a in v.actions(mid)] == ["Call the ward manager", "Bring the audit form"]
    # The honest path: Ana corrects her note, Ben (facilitating) gives the item more time and redacts the note with a name in it.
    ana.edit_note(note, "A patient on the ward: discharge worry")
    ben.advance_phase(mid)
    ben.start_item(mid, item)
    ben.give_more_time(mid)
    ward.sync()
    ward.svc("Ben").redact("note", note)
    ward.sync()
    for name in ("Ana", "Ben", "Cleo"):
        v = ward.svc(name).view
        assert [n.text for n in v.notes(mid)] == ["Keep this one"], name
        assert v.agenda(mid)[0].extended == 5 and set(v.redacted()) == {note}
        assert v.history(note) == []  # no earlier version shows either


def test_service_refuses_what_the_fold_would_refuse(ward: Laptops):
    """The courtesy checks say so in one line before anything is written."""
    mid = meeting(ward)
    ward.sync()
    cleo = ward.svc("Cleo")
    for attempt in (
        lambda: cleo.remove(ward.id("Ana")),
        lambda: cleo.set_role(ward.id("Cleo"), MENTOR),
        lambda: cleo.advance_phase(mid),
        lambda: cleo.mark_attendance(mid, ward.id("Ben"), False),
        lambda: ward.svc("Ana").set_role(ward.id("Ana"), "peer"),
        lambda: cleo.give_more_time(mid),
        lambda: cleo.redact("note", ward.svc("Ana").add_note(mid, "Ana's")),
        lambda: cleo.edit_note(ward.svc("Ana").add_note(mid, "Ana's too"), "Cleo's now"),
    ):
        with pytest.raises(CircleError):
            attempt()


# ---- bodies from altered clients ---------------------------------------------------------------


def test_wrong_body_types_are_held_aside_and_commands_keep_working(ward: Laptops):
    mid = meeting(ward)
    ward.sync()
    cleo = ward.store("Cleo")
    bad = [
        cleo.record("agenda.added", {"item": ["x"], "meeting": mid, "title": {"a": 1}}),
        cleo.record("note.added", {"meeting": mid, "text": 42}),
        cleo.record("attendance.marked", {"meeting": mid, "member": ward.id("Cleo"), "present": "yes"}),
        cleo.record("agenda.added", {"item": "i9", "meeting": mid, "title": "x" * 10_000}),
        cleo.record("action.added", {"action": "a9", "meeting": mid, "title": "ok", "due": "next friday"}),
    ]
    ward.sync()
    refused = ward.svc("Ana").view.refused()
    accepted = sum(1 for e in bad if e.id not in refused)
    tally("malformed bodies", len(bad), accepted)
    assert accepted == 0
    assert ward.svc("Ana").view.agenda(mid) == [] and ward.svc("Ana").next_meeting().id == mid


def test_a_wrap_with_a_non_hex_key_id_is_ignored(ward: Laptops):
    cleo = ward.store("Cleo")
    ana_pub = ward.sessions["Ana"].public
    blob = ana_pub.wrap(json.dumps({"to": ward.id("Ana"), "c": ward.cid, "kid": "not hex!", "k": "zz", "scope": "cohort", "e": 2}).encode(), LABEL_KEY_WRAP)
    cleo.commit([Part("keys.wrapped", {"w": [blob.hex(), "nothex"]}, None)])
    ward.deliver("Ana", "Cleo")
    before = set(ward.store("Ana").entry.keys())
    ward.deliver("Ana", "Cleo")
    tally("malformed wraps", 2, len(set(ward.store("Ana").entry.keys()) - before))
    assert all(len(k) == 16 for k in ward.store("Ana").entry.keys())
    ward.svc("Ana").schedule("2026-12-10 18:00")  # and commands go on working


def test_a_member_showing_two_histories_is_caught_by_the_others_citations(ward: Laptops):
    """Ben forks his journal: Ana gets one history, Cleo another, with the same positions; citations expose him on both sides."""
    mid = meeting(ward)
    ward.sync()
    ward.svc("Ben").add_note(mid, "the note Ana sees")
    ben = ward.store("Ben")
    other = forked(ben, mid, "the note Cleo sees", ward.root / "ben-other.db")  # his journal up to before that note, then another note at its position
    copy_db(ben.journal.path, ward.store("Ana").peer_dir() / ben.journal.path.name)
    copy_db(other, ward.store("Cleo").peer_dir() / ben.journal.path.name)
    ward.store("Ana").ingest()
    ward.store("Cleo").ingest()
    ward.store("Ana").start_epoch("rotation")  # a governance batch: Ana cites what she holds of Ben's journal
    ward.store("Cleo").record("note.added", {"meeting": mid, "text": "Cleo cites too", "kind": "note"})
    ward.deliver("Cleo", "Ana")
    ward.deliver("Ana", "Cleo")
    caught = [n for n in ("Ana", "Cleo") if "forked" in ward.store(n).alarms.get(ben.entry.journal, "")]
    tally("equivocation", 2, 2 - len(caught))
    assert caught == ["Ana", "Cleo"]
    evidence = list((ward.store("Ana").root / "evidence").glob(f"{ben.entry.journal}-fork-cited.json"))
    assert evidence and len(json.loads(evidence[0].read_text())["envelopes"]) == 2


def test_phantom_journals_named_by_someone_not_entitled_are_never_trusted_or_polled(ward: Laptops):
    """Cleo, removed, writes an admission naming a thousand journals: no device trusts or follows one of them."""
    ward.svc("Ana").remove(ward.id("Cleo"))
    ward.sync("Ana", "Ben")
    phantoms = {os.urandom(16).hex(): ["ee" * 16 + "ab" * 1248, os.urandom(16).hex()] for _ in range(1000)}
    cleo = ward.store("Cleo")
    key = cleo.entry.cohort_key
    cleo.commit(
        [
            Part(
                "member.admitted",
                {"member": "ee" * 16, "name": "Ghost", "role": "mentor", "public": "ee" * 16 + "ab" * 1248, "journal": "ef" * 16, "roster": phantoms},
                key,
            )
        ]
    )
    ward.deliver("Ana", "Cleo")
    ward.deliver("Ben", "Cleo")
    trusted = {n: set(ward.store(n).known_journals()) & (set(phantoms) | {"ef" * 16}) for n in ("Ana", "Ben")}
    tally("phantom journals", 2 * 1001, sum(len(t) for t in trusted.values()))
    assert trusted == {"Ana": set(), "Ben": set()}


def test_verify_opens_every_envelope_and_reports_one_written_wrongly(ward: Laptops):
    """Cleo (altered client) signs an envelope sealed with a key that does not match its key id: the chain and signature hold, verify still finds it."""
    cleo = ward.store("Cleo")
    real = cleo.sealing_key()
    wrong = ScopeKey(real.id, os.urandom(32), real.scope, real.epoch)
    cleo.commit([Part("note.added", {"meeting": "m", "text": "sealed wrongly", "kind": "note"}, wrong)])
    ward.deliver("Ana", "Cleo")
    report = ward.sessions["Ana"].verify()
    found = [p for p in report.problems if "key commitment does not match" in p]
    tally("envelopes written wrongly", 1, 0 if found else 1)
    assert found and report.opened > 0


# ---- a new identity for someone who lost their laptop without a kit --------------------------


def test_a_new_identity_replaces_a_lost_one_and_reads_the_history(tmp_path):
    """Cleo lost her laptop and had no kit: Ana admits her new identity with replaces. The earlier identity is removed
    (what it writes after counts nowhere), the new one reads the history, and everyone sees the link. Ben's altered client
    cannot link a newcomer to someone, nor re-link."""
    lap = Laptops(tmp_path, "Ana")
    lap.join("Ben", "peer")
    lap.join("Cleo", "participant")
    lap.sync()
    mid = meeting(lap)
    lap.svc("Ana").add_note(mid, "Before Cleo lost her laptop")
    lap.sync()
    old = lap.id("Cleo")
    old_store = lap.store("Cleo")
    # Cleo's new identity joins; Ana admits it in person, replacing the old one.
    lap.sessions["Cleo-old"] = lap.sessions.pop("Cleo")
    newcomer = lap.sessions["Cleo"] = Home(tmp_path / "cleo-new-laptop", calibrate=False).create_identity("Cleo", PASS)
    admitter = lap.svc("Ana")
    joined = joining.join(newcomer, joining.create_invite(lap.sessions["Ana"], admitter).code)
    mine = newcomer.store(joined.cohort_id)
    joining.admit(admitter, joined.join_code, lambda _s, _p, out: copy_db(mine.journal.path, out) or True, role="participant", replaces=old)
    for path in lap.journals_of("Ana"):
        copy_db(path, mine.peer_dir() / path.name)
    mine.ingest()
    lap.sync("Ana", "Ben", "Cleo")
    new = lap.id("Cleo")
    view = lap.svc("Ben").view
    assert view.member(new).replaces == old and not view.member(old).active
    assert "Before Cleo lost her laptop" in texts(lap, "Cleo")  # the history carries over
    # The lost laptop writes on under the old identity: nowhere counts it.
    old_store.record("note.added", {"meeting": mid, "text": "from the lost laptop"})
    lap.deliver("Ben", "Cleo-old")
    assert "from the lost laptop" not in texts(lap, "Ben")
    # Ben's altered client admits nobody and links nobody.
    ben = lap.store("Ben")
    ben.record("member.admitted", {**admitter.admission_body(lap.sessions["Ben"].public, "Ben", "peer", "", "ef" * 16, ""), "replaces": old})
    lap.deliver("Ana", "Ben", "Cleo-old")
    refused = set(lap.svc("Ana").view.refused().values())
    assert "only a mentor admits members" in refused or "already an active member" in refused
    assert lap.svc("Ana").view.member(new).replaces == old
    tally("a lost identity written on after its replacement", 1, int("from the lost laptop" in texts(lap, "Ben")))
