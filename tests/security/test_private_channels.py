"""Private channels and self notes, tried by members outside them and by altered clients.

A cohort member who is not in a channel holds the whole database (every
journal) and their own keystore, and still decrypts none of the channel's
events: the tests count every attempt. Keys of a channel count only from the
journal of the member who made them; events count only from the channel's
two members, while they are members. Each attack runs beside the honest path,
so the test can fail.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from circle.crypto import envelope
from circle.errors import InvalidEnvelope, UsageError
from circle.models.events import as_written, encode_payload
from circle.store.channels import ChannelService
from circle.store.cohort import Part
from circle.store.journal import read_rows
from circle.store.keys import LABEL_KEY_WRAP
from circle.store.vault import Scope, ScopeKey
from tests.security.laptops import Laptops, tally

NEXT = dt.date.today().year + 1  # dates a year or more ahead: a day that has passed is refused


def ch(lap: Laptops, name: str) -> ChannelService:
    return ChannelService(lap.svc(name))


def every_envelope(lap: Laptops, on: str) -> list[bytes]:
    """Every envelope of every journal on ``on``'s laptop: its own journals and every peer copy."""
    st = lap.store(on)
    blobs = []
    for jid in st.known_journals():
        path = st.journal_path(jid)
        if path.exists():
            blobs += [r.blob for r in read_rows(path)]
    return blobs


def decrypt_attempts(lap: Laptops, reader: str, key_ids: set[bytes]) -> tuple[int, int]:
    """(attempts, successes): ``reader`` tries every key it holds on every envelope sealed with one of ``key_ids``."""
    keys = list(lap.store(reader).entry.keys().values())
    tried = opened = 0
    for blob in every_envelope(lap, reader):
        h = envelope.parse(blob)
        if h.key_id not in key_ids:
            continue
        for k in keys:
            tried += 1
            try:
                envelope.open_envelope(blob, h, k.secret)
                opened += 1
            except InvalidEnvelope:
                pass
    return tried, opened


def dyad_key_ids(lap: Laptops, name: str) -> set[bytes]:
    return {k.raw_id for k in lap.store(name).entry.keys().values() if k.scope is Scope.DYAD}


def test_a_channel_is_read_by_its_two_members_and_decrypted_by_nobody_else(ward: Laptops):
    ana, cleo = ch(ward, "Ana"), ch(ward, "Cleo")
    ana.send(ward.id("Cleo"), "Your handover to nights skipped the allergy check.", kind="feedback")
    ward.sync()
    cleo.send(ward.id("Ana"), "Thank you. Could we go over the checklist?", kind="question")
    ward.sync()
    assert [m.text for m in ch(ward, "Cleo").thread(ward.id("Ana"))] == [
        "Your handover to nights skipped the allergy check.",
        "Thank you. Could we go over the checklist?",
    ]
    assert [m.author for m in ch(ward, "Ana").thread(ward.id("Cleo"))] == [ward.id("Ana"), ward.id("Cleo")]
    # Ben holds every journal and his own keystore: 0 of the channel's envelopes open, however many tries.
    ids = dyad_key_ids(ward, "Ana")
    assert len(ids) == 1
    tried, opened = decrypt_attempts(ward, "Ben", ids)
    assert tried >= 2 * len(ward.store("Ben").entry.keys()) and opened == 0
    tally("a cohort member decrypts a channel they are not in", tried, opened)
    assert not ch(ward, "Ben").thread(ward.id("Ana")) and not ch(ward, "Ben").thread(ward.id("Cleo"))
    # The honest control: Cleo's keystore opens both.
    assert decrypt_attempts(ward, "Cleo", ids)[1] == 2
    # And the cohort's view holds neither text.
    assert not any("allergy" in str(as_written(e)) for e in ward.svc("Ben").view.events)  # a note's text left in its journal: read back


def test_self_notes_open_for_their_author_only(ward: Laptops):
    ch(ward, "Ben").add_note("I froze when the consultant asked me to present.", kind="reflection")
    ward.sync()
    assert [n.text for n in ch(ward, "Ben").notes()] == ["I froze when the consultant asked me to present."]
    self_ids = {k.raw_id for k in ward.store("Ben").entry.keys().values() if k.scope is Scope.SELF}
    for other in ("Ana", "Cleo"):
        tried, opened = decrypt_attempts(ward, other, self_ids)
        assert tried > 0 and opened == 0
        tally("a member decrypts someone's self notes", tried, opened)
        assert not ch(ward, other).notes()
    assert decrypt_attempts(ward, "Ben", self_ids)[1] == 1


def test_a_key_for_someone_elses_channel_is_refused(ward: Laptops):
    """Ben's altered client wraps Cleo a key it says is Ana's channel, then writes in it as Ana would: Cleo keeps nothing."""
    ben = ward.store("Ben")
    fake = ScopeKey.new(Scope.DYAD, 1, ward.id("Cleo"))
    ben.entry.add_key(fake)
    # The wrap names its maker: a forger names Ana.
    forged = ScopeKey(fake.id, fake.secret, Scope.DYAD, 1, ward.id("Ana"))
    inner = {
        "to": ward.id("Cleo"),
        "c": ward.cid,
        "kid": forged.id,
        "k": forged.secret.hex(),
        "scope": "dyad",
        "e": 1,
        "prev": "",
        "r": "",
        "with": ward.id("Ana"),
    }
    body = {"w": [ward.sessions["Cleo"].public.wrap(json.dumps(inner).encode(), LABEL_KEY_WRAP).hex()]}
    ben.commit([Part("keys.wrapped", body, None), Part("dyad.message", {"id": "f1", "text": "Ana here: you are off the rota."}, fake)])
    ward.sync()
    held = {k.id for k in ward.store("Cleo").entry.keys().values()}
    assert forged.id not in held
    assert not any(m.text.startswith("Ana here") for p in (ward.id("Ana"), ward.id("Ben")) for m in ch(ward, "Cleo").thread(p))
    tally("a member gives a key for someone else's channel", 1, int(forged.id in held))


def test_a_self_key_from_a_wrap_is_never_taken(ward: Laptops):
    """Ben wraps Cleo a 'self' key he knows, hoping her private notes get sealed with it: she never keeps it."""
    ben = ward.store("Ben")
    trap = ScopeKey.new(Scope.SELF)
    inner = {"to": ward.id("Cleo"), "c": ward.cid, "kid": trap.id, "k": trap.secret.hex(), "scope": "self", "e": 1, "prev": "", "r": ""}
    ben.commit([Part("keys.wrapped", {"w": [ward.sessions["Cleo"].public.wrap(json.dumps(inner).encode(), LABEL_KEY_WRAP).hex()]}, None)])
    ward.sync()
    ch(ward, "Cleo").add_note("Not for Ben.")
    held = {k.id for k in ward.store("Cleo").entry.keys().values()}
    assert trap.id not in held
    assert decrypt_attempts(ward, "Ben", {trap.raw_id})[1] == 0
    tally("a member plants a self key", 1, int(trap.id in held))


def test_a_leaked_channel_key_lets_no_outsider_write_in_it(ward: Laptops):
    """Ana gives Ben the key of her channel with Cleo; Ben writes with it: Cleo's device shows nothing of his."""
    ch(ward, "Ana").send(ward.id("Cleo"), "How did the audit go?")
    ward.sync()
    key = ward.store("Ana").keys.dyad_sealing(ward.id("Cleo"))
    assert key is not None
    ben = ward.store("Ben")
    ben.entry.add_key(ScopeKey(key.id, key.secret, Scope.DYAD, key.epoch, ward.id("Ana")))
    ben.commit([Part("dyad.message", {"id": "x1", "text": "Ana: disregard my feedback."}, key)])
    ward.sync()
    thread = ch(ward, "Cleo").thread(ward.id("Ana"))
    assert [m.text for m in thread] == ["How did the audit go?"]
    refused = ch(ward, "Cleo").channels().refused
    assert list(refused.values()) == ["written into a private channel by someone outside it"]
    tally("an outsider writes into a channel with a leaked key", 1, len(thread) - 1)


def test_a_removed_member_writes_nothing_more_into_a_channel(ward: Laptops):
    ch(ward, "Ana").send(ward.id("Cleo"), "Welcome.")
    ward.sync()
    ch(ward, "Cleo").send(ward.id("Ana"), "Before.")
    ward.sync()
    ward.svc("Ana").remove(ward.id("Cleo"))
    ward.sync("Ana", "Ben")
    cleo = ward.store("Cleo")  # Cleo's client was never told, or ignores it
    cleo.commit([Part("dyad.message", {"id": "after1", "text": "After."}, cleo.keys.dyad_sealing(ward.id("Ana")))])
    ward.deliver("Ana", "Cleo")
    texts = [m.text for m in ch(ward, "Ana").thread(ward.id("Cleo"))]
    assert texts == ["Welcome.", "Before."]
    tally("a removed member writes into a channel", 1, int("After." in texts))
    with pytest.raises(Exception, match="not a member"):
        ch(ward, "Ana").send(ward.id("Cleo"), "Are you there?")


def test_only_the_member_asked_declines_and_answers(ward: Laptops):
    cleo, ana = ch(ward, "Cleo"), ch(ward, "Ana")
    rid = cleo.request_feedback(ward.id("Ana"), "my case presentation on Tuesday", by=f"{NEXT}-12-10")
    ward.sync()
    assert [r.what for r in ch(ward, "Ana").asked_of_me()] == ["my case presentation on Tuesday"]
    assert not ch(ward, "Cleo").asked_of_me()
    with pytest.raises(UsageError):
        cleo.decline(ward.id("Ana"), rid)
    # Cleo's altered client declines her own request on Ana's behalf: it does not count.
    st = ward.store("Cleo")
    st.commit([Part("dyad.feedback_declined", {"request": rid}, st.keys.dyad_sealing(ward.id("Ana")))])
    ward.sync()
    assert [r.status for r in ch(ward, "Ana").requests(ward.id("Cleo"))] == ["open"]
    ana.send(ward.id("Cleo"), "Clear structure; slow down on the dosing slide.", kind="feedback", request=rid)
    ward.sync()
    assert [r.status for r in ch(ward, "Cleo").requests(ward.id("Ana"))] == ["answered"]
    assert not ch(ward, "Ana").asked_of_me()


def test_private_kinds_sealed_for_the_cohort_show_nowhere(ward: Laptops):
    """A channel's kind sealed with the cohort key is not a private message: the cohort view ignores it."""
    ben = ward.store("Ben")
    ben.record("dyad.message", {"id": "p1", "text": "to the cohort by mistake"})
    ward.sync()
    assert not any(e.kind == "dyad.message" for e in ward.svc("Ana").view.events)
    assert not ch(ward, "Ana").thread(ward.id("Ben"))


def test_payload_helper_matches_what_the_store_writes():
    # encode_payload refuses kinds it does not know: the new kinds are known.
    assert encode_payload(kind="dyad.message", cohort="c", author="a", lamport=1, ts=0, body={"id": "1", "text": "x"})


# ---- the relationship: its agreement and its phases ------------------------------------------


SECTIONS = {"goals": "Confidence presenting audits", "cadence": "Fortnightly, 45 minutes", "feedback": "Written first, then talked through"}


def test_a_channel_agreement_is_signed_by_its_two_members_and_a_changed_text_is_detected(ward: Laptops):
    ana = ch(ward, "Ana")
    assert ana.propose_agreement(ward.id("Cleo"), SECTIONS) == 1
    ward.sync()
    ch(ward, "Cleo").sign_agreement(ward.id("Ana"), "none")
    ch(ward, "Ana").sign_agreement(ward.id("Cleo"), "I line-manage Cleo's ward sister")
    ward.sync()
    a = ch(ward, "Cleo").agreement(ward.id("Ana"))
    assert a is not None and a.signed_by_all and {s.member for s in a.current.signatures} == {ward.id("Ana"), ward.id("Cleo")}
    # Cleo's altered client signs a digest of another text: it does not count on Ana's device.
    st = ward.store("Cleo")
    key = st.keys.dyad_sealing(ward.id("Ana"))
    st.commit([Part("agreement.signed", {"agreement": "dyad", "version": 1, "digest": "ab" * 32, "coi": ""}, key)])
    ward.sync()
    got = ch(ward, "Ana").channels()
    assert "signs a text other than version 1's: the text it signed is not the text here" in got.refused.values()
    tally("a channel agreement signed over another text", 1, 0 if got.agreement(ward.id("Cleo")).signed_by_all else 1)
    # An amendment reopens signatures.
    ch(ward, "Cleo").propose_agreement(ward.id("Ana"), {**SECTIONS, "cadence": "Monthly, 60 minutes"})
    ward.sync()
    a = ch(ward, "Ana").agreement(ward.id("Cleo"))
    assert a.current.number == 2 and not a.current.signatures and len(a.versions[0].signatures) == 2
    assert ward.svc("Ben").view.charter_agreement() is None  # nothing of it in the cohort's view


def test_a_closed_channel_is_reopened_with_a_new_key(ward: Laptops):
    ana = ch(ward, "Ana")
    ana.send(ward.id("Cleo"), "Last session next week.")
    ana.set_phase(ward.id("Cleo"), "closed", note="Goals met; summary agreed.")
    ward.sync()
    assert ch(ward, "Cleo").phase(ward.id("Ana")).phase == "closed"
    with pytest.raises(UsageError, match="closed"):
        ch(ward, "Cleo").send(ward.id("Ana"), "One more thing")
    old = ward.store("Cleo").keys.dyad_sealing(ward.id("Ana"))
    ch(ward, "Cleo").set_phase(ward.id("Ana"), "preparing")
    ch(ward, "Cleo").send(ward.id("Ana"), "Could we start again in spring?")
    ward.sync()
    new = ward.store("Ana").keys.dyad_sealing(ward.id("Cleo"))
    assert new is not None and old is not None and new.epoch == old.epoch + 1 and new.id != old.id
    assert ward.store("Cleo").keys.dyad_sealing(ward.id("Ana")).id == new.id
    assert [m.text for m in ch(ward, "Ana").thread(ward.id("Cleo"))][-1] == "Could we start again in spring?"
    tried, opened = decrypt_attempts(ward, "Ben", dyad_key_ids(ward, "Ana"))
    assert tried > 0 and opened == 0
