"""The charter agreement's fold: digests, signatures on the text they name, amendments that reopen, history, any order.

Plain events (no crypto) through the real view, as :class:`tests.cohort_log.CohortLog` writes them.
"""

from __future__ import annotations

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from circle.models.agreements import CHARTER, LABEL_AGREEMENT, SECTIONS, canonical, check_signatures, digest, fold_agreements
from circle.models.mentoring import cohort_ratio, ratio_warnings
from tests.cohort_log import CohortLog

TEXT = {
    "goals": "Grow as clinical educators; bring real cases",
    "cadence": "Fortnightly, 60 minutes",
    "confidentiality": "What is said here stays here; no patient identifiers",
    "feedback": "Specific, kind, asked for first",
    "ending": "At the end of the programme, or by either party with notice",
}


def cohort(peers: int = 2) -> CohortLog:
    log = CohortLog()
    for i in range(peers):
        log.admit(f"p{i}", "peer")
    return log


def propose(log: CohortLog, who: str = "m", version: int = 1, prev: str = "", **changes: str):
    body = {"id": CHARTER, "version": version, "sections": {**TEXT, **changes}}
    if prev:
        body["prev"] = prev
    return log.add(who, "agreement.proposed", body)


def sign(log: CohortLog, who: str, version: int = 1, coi: str = "", text: dict[str, str] | None = None, **kw):
    d = digest(text if text is not None else TEXT)
    return log.add(who, "agreement.signed", {"agreement": CHARTER, "version": version, "digest": d, "coi": coi}, **kw)


def test_the_digest_is_sha256_over_the_label_and_sorted_json_whatever_the_order_or_missing_sections():
    shuffled = dict(reversed(list(TEXT.items())))
    assert canonical(shuffled) == canonical({**TEXT, "text": ""})
    doc = json.loads(canonical(TEXT))
    assert list(doc) == sorted(SECTIONS) and doc["text"] == ""
    assert digest(TEXT) == hashlib.sha256(LABEL_AGREEMENT + canonical(TEXT)).hexdigest()
    assert digest({**TEXT, "goals": TEXT["goals"] + "."}) != digest(TEXT)
    # Non-ASCII text is in the digest as UTF-8, not as escapes: the bytes a person reads.
    assert "Zoë".encode() in canonical({"goals": "Zoë"})


def test_all_parties_sign_and_the_charter_says_so():
    log = cohort()
    propose(log)
    sign(log, "m", coi="")
    sign(log, "p0", coi="I line-manage p1 on the ward")
    a = log.view().charter_agreement()
    assert a is not None and [v.number for v in a.versions] == [1]
    assert a.missing() == (log.id("p1"),) and not a.signed_by_all
    sign(log, "p1")
    a = log.view().charter_agreement()
    assert a.signed_by_all and a.current.digest == digest(TEXT)
    assert {s.member: s.coi for s in a.current.signatures}[log.id("p0")] == "I line-manage p1 on the ward"


def test_a_signature_on_another_text_is_detected_and_does_not_count():
    log = cohort()
    propose(log)
    bad = sign(log, "p0", text={**TEXT, "confidentiality": "Anything may be shared"})
    v = log.view()
    a = v.charter_agreement()
    assert a.current.signatures == () and log.id("p0") in a.missing()
    assert "text other than version 1" in v.refused()[bad.id]
    checks = check_signatures(v.agreement_events(), a)
    assert [(c.member, c.matches) for c in checks] == [(log.id("p0"), False)]


def test_an_amendment_reopens_signatures_and_keeps_the_history():
    log = cohort()
    propose(log)
    for who in ("m", "p0", "p1"):
        sign(log, who)
    amended = {**TEXT, "cadence": "Monthly, 90 minutes"}
    propose(log, version=2, prev=digest(TEXT), cadence="Monthly, 90 minutes")
    old = sign(log, "p0", version=2)  # signs the old text under the new version number
    sign(log, "p1", version=2, text=amended)
    v = log.view()
    a = v.charter_agreement()
    assert [x.number for x in a.versions] == [1, 2] and a.current.prev == a.versions[0].digest
    assert len(a.versions[0].signatures) == 3  # history: version 1 stays signed by all
    assert [s.member for s in a.current.signatures] == [log.id("p1")]
    assert set(a.missing()) == {log.id("m"), log.id("p0")}
    assert old.id in v.refused()


def test_only_a_mentor_proposes_or_amends_and_amendments_must_name_the_version_they_amend():
    log = cohort()
    by_peer = propose(log, "p0")
    propose(log)
    wrong_prev = propose(log, version=2, prev="00" * 32, goals="Other goals")
    skipped = propose(log, version=3, prev=digest(TEXT), goals="Other goals")
    same = propose(log, version=2, prev=digest(TEXT))
    again = propose(log, version=1, goals="A second version 1")
    v = log.view()
    refused = v.refused()
    assert "only a mentor" in refused[by_peer.id]
    assert "text other than version 1" in refused[wrong_prev.id]
    assert "not here" in refused[skipped.id] and "changes nothing" in refused[same.id] and "already" in refused[again.id]
    assert [x.number for x in v.charter_agreement().versions] == [1]


def test_a_party_signs_once_per_version_and_the_latest_declaration_shows():
    log = cohort()
    propose(log)
    sign(log, "p0", coi="")
    sign(log, "p0", coi="I am p1's clinical supervisor")
    a = log.view().charter_agreement()
    assert [(s.member, s.coi) for s in a.current.signatures] == [(log.id("p0"), "I am p1's clinical supervisor")]


def test_an_agreement_other_than_the_charter_is_refused_in_the_cohort_scope():
    log = cohort()
    e = log.add("m", "agreement.proposed", {"id": "dyad-1", "version": 1, "sections": TEXT})
    v = log.view()
    assert v.agreements() == {} and "only agreement is its charter" in v.refused()[e.id]


def test_the_fold_is_pure_over_events_and_parties():
    """What the dyad scope will feed it: its own events and its two parties, with its own rule for proposing."""
    log = cohort()
    p = propose(log, "p0")
    s = sign(log, "p1")
    mentee, mentor = log.id("p0"), log.id("p1")
    out = fold_agreements([s, p], kind="dyad", parties=[mentee, mentor], may_propose=lambda e: e.author in (mentee, mentor))
    a = out.agreements[CHARTER]
    assert a.kind == "dyad" and a.missing() == (mentee,) and out.refused == {}
    outsider = fold_agreements([p, sign(log, "m")], kind="dyad", parties=[mentee, mentor], may_propose=lambda e: True)
    assert "not a party" in next(iter(outsider.refused.values()))


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_same_events_in_any_order_give_the_same_agreement(rnd):
    log = cohort(3)
    propose(log)
    sign(log, "p0", coi="x")
    sign(log, "p1", text={**TEXT, "goals": "changed"})
    propose(log, version=2, prev=digest(TEXT), ending="With a closing meeting")
    sign(log, "p2", version=2, text={**TEXT, "ending": "With a closing meeting"})
    sign(log, "p0", coi="y")
    log.admit("late", "mentor")
    sign(log, "late", version=1, lamport=2)  # a clock from before the proposal it signs: refused everywhere alike
    propose(log, "p0", version=3, prev="11" * 32, goals="hijack")
    want = log.view()
    assert len(want.refused()) == 3 and [len(v.signatures) for v in want.charter_agreement().versions] == [1, 1]
    events = list(log.events)
    rnd.shuffle(events)
    got = log.view(events)
    assert got.agreements() == want.agreements()
    assert got.refused() == want.refused()


def test_the_mentoring_ratio_warns_over_the_limit_and_for_meetings_where_mentors_are_absent():
    log = cohort(5)
    v = log.view()
    assert cohort_ratio(v).mentees == 5 and ratio_warnings(v) == []
    log.admit("p5", "peer")
    v = log.view()
    assert len(ratio_warnings(v)) == 1 and "6 mentees on 1 mentor" in ratio_warnings(v)[0]
    log.add("m", "cohort.charter_set", {"mentees_per_mentor": 6})
    assert ratio_warnings(log.view()) == []
    log.add("p0", "cohort.charter_set", {"mentees_per_mentor": 50})  # only a mentor sets the limit
    assert log.view().cohort().mentees_per_mentor == 6
    log.admit("m2", "mentor")
    log.add("m", "meeting.scheduled", {"meeting": "x1", "at": "2026-03-01 18:00"})
    assert ratio_warnings(log.view()) == []
    log.add("m2", "attendance.marked", {"meeting": "x1", "member": "m2", "present": False})
    log.add("m", "cohort.charter_set", {"mentees_per_mentor": 3})
    w = ratio_warnings(log.view())
    assert len(w) == 1 and "2026-03-01 18:00 (6 mentees on 1 mentor (6 each))" in w[0]
