"""The charter agreement under an altered client: what it writes directly (``store.record``) counts for nothing on the others' laptops.

Real keystores, envelopes and journals (see tests/security/laptops.py). Each
test also runs the honest path in the same cohort, so it can fail.
"""

from __future__ import annotations

import pytest

from circle.errors import AlreadyExists, UsageError
from circle.models.agreements import CHARTER, digest
from circle.store.agreements import AgreementService
from tests.security.laptops import Laptops, tally

TEXT = {"goals": "Grow as clinical educators", "cadence": "Fortnightly, 60 minutes", "confidentiality": "No patient identifiers", "ending": "With notice"}


@pytest.fixture
def ward(tmp_path) -> Laptops:
    """Ana (founder, mentor), Ben (peer), Cleo (participant); Ana has proposed the charter; all synced."""
    lap = Laptops(tmp_path, "Ana")
    lap.join("Ben", "peer")
    lap.join("Cleo", "participant")
    AgreementService(lap.svc("Ana")).propose(TEXT)
    lap.sync()
    return lap


def agreements(lap: Laptops, name: str) -> AgreementService:
    return AgreementService(lap.svc(name))


def refused_on_others(lap: Laptops, attacks: list, attacker: str) -> tuple[int, int]:
    tried = accepted = 0
    for name in lap.sessions:
        if name == attacker:
            continue
        refused = lap.svc(name).view.refused()
        tried += len(attacks)
        accepted += sum(1 for a in attacks if a.id not in refused)
    return tried, accepted


def test_a_signature_of_another_text_does_not_count_and_verify_names_it(ward: Laptops):
    """Cleo's altered client signs version 1 with the digest of a text she made up; Ben's honest signature counts."""
    forged = ward.store("Cleo").record(
        "agreement.signed", {"agreement": CHARTER, "version": 1, "digest": digest({**TEXT, "confidentiality": "Anything goes"}), "coi": ""}
    )
    agreements(ward, "Ben").sign("none")
    ward.sync()
    tried, accepted = refused_on_others(ward, [forged], "Cleo")
    tally("agreement: signature of another text", tried, accepted)
    assert accepted == 0
    for name in ("Ana", "Ben"):
        a = agreements(ward, name)
        charter = a.charter()
        assert [s.member for s in charter.current.signatures] == [ward.id("Ben")]
        assert ward.id("Cleo") in charter.missing()
        assert {(c.member, c.matches) for c in a.verify()} == {(ward.id("Cleo"), False), (ward.id("Ben"), True)}  # concurrent: either order


def test_a_non_mentor_cannot_amend_the_charter(ward: Laptops):
    """Ben (a peer) amends the charter directly; nobody's charter changes. Ana (a mentor) amends it and everyone sees version 2."""
    old = agreements(ward, "Ana").charter().current
    attacks = [
        ward.store("Ben").record(
            "agreement.proposed", {"id": CHARTER, "version": 2, "prev": old.digest, "sections": {**TEXT, "confidentiality": "Share freely"}}
        ),
        ward.store("Cleo").record("agreement.proposed", {"id": CHARTER, "version": 2, "prev": old.digest, "sections": {**TEXT, "ending": "Never"}}),
        ward.store("Cleo").record("cohort.charter_set", {"mentees_per_mentor": 100}),  # the ratio's limit is the charter's: a mentor's
    ]
    ward.sync()
    tried = accepted = 0
    for attacker, attack in (("Ben", attacks[0]), ("Cleo", attacks[1]), ("Cleo", attacks[2])):
        t, a = refused_on_others(ward, [attack], attacker)
        tried, accepted = tried + t, accepted + a
    tally("agreement: non-mentor amends", tried, accepted)
    assert accepted == 0
    assert all(agreements(ward, n).charter().current.number == 1 for n in ward.sessions)
    assert ward.svc("Ben").view.cohort().mentees_per_mentor == 5
    with pytest.raises(UsageError):
        agreements(ward, "Ben").propose({**TEXT, "confidentiality": "Share freely"})  # the courtesy check says so first
    agreements(ward, "Ana").propose({**TEXT, "ending": "With a closing meeting"})
    ward.sync()
    for name in ward.sessions:
        c = agreements(ward, name).charter()
        assert [v.number for v in c.versions] == [1, 2] and c.current.sections["ending"] == "With a closing meeting"


def test_nobody_signs_for_another_member(ward: Laptops):
    """A signature is its author's: a body naming someone else as signer changes nothing (the author is the journal's owner)."""
    v = agreements(ward, "Ana").charter().current
    forged = ward.store("Cleo").record(
        "agreement.signed", {"agreement": CHARTER, "version": 1, "digest": v.digest, "coi": "", "signer": ward.id("Ben"), "member": ward.id("Ben")}
    )
    ward.sync()
    for name in ("Ana", "Ben"):
        c = agreements(ward, name).charter()
        assert [s.member for s in c.current.signatures] == [ward.id("Cleo")]  # Cleo's own signature, nobody else's
        assert ward.id("Ben") in c.missing()
    tally("agreement: signing for another member", 2, sum(ward.id("Ben") in agreements(ward, n).charter().current.signer_ids() for n in ("Ana", "Ben")))
    assert forged.author == ward.id("Cleo")


def test_signing_twice_counts_once_and_the_latest_declaration_shows(ward: Laptops):
    """Cleo's altered client signs three times; on every other laptop she is one signature, with her latest declaration."""
    v = agreements(ward, "Ana").charter().current
    for coi in ("", "I line-manage Ben", "I line-manage Ben on the ward"):
        ward.store("Cleo").record("agreement.signed", {"agreement": CHARTER, "version": 1, "digest": v.digest, "coi": coi})
    ward.sync()
    counted = 0
    for name in ("Ana", "Ben"):
        c = agreements(ward, name).charter()
        counted += sum(1 for s in c.current.signatures if s.member == ward.id("Cleo"))
        assert [(s.member, s.coi) for s in c.current.signatures] == [(ward.id("Cleo"), "I line-manage Ben on the ward")]
    tally("agreement: signing twice", 2 * 3, counted - 2)  # accepted: signatures beyond one per device
    assert counted == 2
    with pytest.raises(AlreadyExists):
        agreements(ward, "Cleo").sign("I line-manage Ben on the ward")  # the honest client says so instead


def test_an_amendment_reopens_signatures_on_every_laptop(ward: Laptops):
    """Everyone signs version 1; Ana amends; version 2 waits for all three, version 1 keeps its signatures."""
    for name in ward.sessions:
        agreements(ward, name).sign("none")
    ward.sync()
    assert agreements(ward, "Cleo").charter().signed_by_all
    agreements(ward, "Ana").propose({**TEXT, "cadence": "Monthly, 90 minutes"})
    ward.sync()
    for name in ward.sessions:
        c = agreements(ward, name).charter()
        assert len(c.versions[0].signatures) == 3 and c.current.signatures == () and len(c.missing()) == 3
