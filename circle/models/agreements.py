"""Agreements: a cohort's charter (and, later, a mentor and mentee's dyad agreement), signed by each party.

An agreement is a list of versions. A version is its sections' text (goals,
meeting cadence and length, confidentiality, how feedback is given, how the
relationship ends, free text) and the signatures on it. Its *digest* is
SHA-256 over a label and the canonical text (:func:`canonical`): sorted JSON
of every section, UTF-8. A party signs by writing ``agreement.signed`` naming
the version and that digest, with their conflict-of-interest declaration. The
event is the signature: every event is signed by its author's Ed25519
identity key through the journal's signed hash chain (docs/FORMAT.md), so an
``agreement.signed`` that binds a digest is its author's signature of exactly
that text.

:func:`fold_agreements` is a pure fold over events plus who the parties are,
so that any scope (the cohort's charter now, a private dyad later) feeds it
the same way. Its rules, the same on every device:

- a version is proposed (``agreement.proposed``, version 1) or amended (the
  next version, naming in ``prev`` the digest of the version it amends) only
  by an author the caller allows (for the charter: a mentor then);
- a signature counts only from a party, only if its digest is the digest the
  fold computes for that version's text (so a signature on a changed text
  never counts), once per party per version (the latest by (lamport, author,
  id) gives the declaration shown);
- an amendment makes a new version whose signatures start empty: everyone
  signs again. Every version and its signatures are kept (the history).

Events are taken in (lamport, author, id) order, so the same events in any
order give the same agreements. What breaks a rule is returned with a reason
(the view holds it aside), never raised.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from circle.models.events import Event

LABEL_AGREEMENT = b"circle/v1/agreement"
SECTIONS = ("goals", "cadence", "confidentiality", "feedback", "ending", "text")
SECTION_NAMES = {
    "goals": "Goals of the relationship",
    "cadence": "Meetings: how often, how long",
    "confidentiality": "Confidentiality",
    "feedback": "How feedback is given",
    "ending": "How the relationship ends",
    "text": "Anything else",
}
CHARTER_SECTION_NAMES = {  # the same sections, as a cohort's charter reads them
    **SECTION_NAMES,
    "goals": "Goals of the cohort",
    "ending": "Ending and leaving",
}
CHARTER = "charter"  # the id of a cohort's charter agreement (kind "charter", in the cohort scope)
AGREEMENT_KINDS = frozenset({"agreement.proposed", "agreement.signed"})


def canonical(sections: Mapping[str, str]) -> bytes:
    """The canonical text of a version: every section (missing ones empty), sorted JSON, no spaces, UTF-8."""
    doc = {k: str(sections.get(k, "")) for k in SECTIONS}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(sections: Mapping[str, str]) -> str:
    """The digest a signature binds: ``hex(SHA-256("circle/v1/agreement" || canonical(sections)))``."""
    return hashlib.sha256(LABEL_AGREEMENT + canonical(sections)).hexdigest()


@dataclass(frozen=True)
class Signature:
    """One party's signature of one version.

    Attributes:
        member: who signed (the event's author: the owner of the journal it is in).
        coi: their conflict-of-interest declaration ("" declares none).
        event: the ``agreement.signed`` event that counts (the latest of theirs for this version).
        ts: the author's clock, for display only.
    """

    member: str
    coi: str
    event: str
    ts: float


@dataclass(frozen=True)
class AgreementVersion:
    """One version of an agreement: its text, its digest and who signed it.

    Attributes:
        number: 1, 2, … in the order they were proposed.
        sections: section name -> text (every name of :data:`SECTIONS`).
        digest: :func:`digest` of the sections.
        prev: the digest of the version it amends ("" for version 1).
        author: who proposed it.
        event: the event that proposed it.
        ts: the author's clock, for display only.
        signatures: the signatures that count, by member id order.
    """

    number: int
    sections: Mapping[str, str]
    digest: str
    prev: str
    author: str
    event: str
    ts: float
    signatures: tuple[Signature, ...] = ()

    def signer_ids(self) -> frozenset[str]:
        return frozenset(s.member for s in self.signatures)


@dataclass(frozen=True)
class Agreement:
    """An agreement with every version it had, and the parties who must sign it.

    Attributes:
        id: the agreement's id (:data:`CHARTER` for a cohort's charter).
        kind: "charter" (the cohort's) or "dyad" (a mentor and mentee's).
        parties: who must sign the current version, sorted.
        versions: every version, oldest first; the last is the current one.
    """

    id: str
    kind: str
    parties: tuple[str, ...]
    versions: tuple[AgreementVersion, ...] = field(default=())

    @property
    def current(self) -> AgreementVersion:
        return self.versions[-1]

    def missing(self, version: int | None = None) -> tuple[str, ...]:
        """Parties who have not signed ``version`` (default: the current one), sorted."""
        v = self.current if version is None else self.versions[version - 1]
        signed = v.signer_ids()
        return tuple(p for p in self.parties if p not in signed)

    @property
    def signed_by_all(self) -> bool:
        """Whether every party signed the current version."""
        return not self.missing()


@dataclass(frozen=True)
class Folded:
    """What :func:`fold_agreements` found: the agreements by id, and the events it refused with why."""

    agreements: dict[str, Agreement]
    refused: dict[str, str]


@dataclass
class _Draft:
    versions: list[AgreementVersion] = field(default_factory=list)
    signatures: list[dict[str, Signature]] = field(default_factory=list)


def fold_agreements(
    events: Iterable[Event],
    *,
    kind: str,
    parties: Iterable[str],
    may_propose: Callable[[Event], bool],
    who_proposes: str = "a mentor",
    may_sign: Callable[[Event], bool] | None = None,
) -> Folded:
    """Fold ``agreement.proposed`` and ``agreement.signed`` events (schema-checked, from members) into agreements.

    Args:
        events: the events, in any order, duplicates ignored; other kinds are skipped.
        kind: the kind of the agreements these events make ("charter", "dyad").
        parties: who must sign (for the charter: the active members).
        may_propose: whether an event's author may propose or amend (for the charter: a mentor where they stood).
        who_proposes: who that is, in words, for the reason of a refusal.
        may_sign: whether an event's author may sign (default: they are one of ``parties``). The charter
            lets a member removed since keep the signature they gave while a member.

    Returns:
        The agreements by id and the refused events by id, with one line saying why.
    """
    party_set = frozenset(parties)
    signs = may_sign or (lambda e: e.author in party_set)
    drafts: dict[str, _Draft] = {}
    refused: dict[str, str] = {}
    ordered = sorted({e.id: e for e in events if e.kind in AGREEMENT_KINDS}.values(), key=lambda e: e.stamp)
    for e in ordered:
        b = e.body
        if e.kind == "agreement.proposed":
            reason = _proposal_problem(e, drafts.get(b["id"]), may_propose, who_proposes)
            if reason:
                refused[e.id] = reason
                continue
            d = drafts.setdefault(b["id"], _Draft())
            sections = {k: str(b["sections"].get(k, "")) for k in SECTIONS}
            d.versions.append(AgreementVersion(b["version"], sections, digest(sections), b.get("prev", ""), e.author, e.id, e.ts))
            d.signatures.append({})
            continue
        d = drafts.get(b["agreement"])
        n = b["version"]
        if d is None or not 1 <= n <= len(d.versions):
            refused[e.id] = "signs a version of an agreement that is not here"
        elif not signs(e):
            refused[e.id] = "its author is not a party to this agreement"
        elif b["digest"] != d.versions[n - 1].digest:
            refused[e.id] = f"signs a text other than version {n}'s: the text it signed is not the text here"
        else:  # once per party per version: the latest, in stamp order, gives the declaration shown
            d.signatures[n - 1][e.author] = Signature(e.author, b["coi"], e.id, e.ts)
    out = {}
    order = tuple(sorted(party_set))
    for aid, d in drafts.items():
        versions = tuple(
            AgreementVersion(v.number, v.sections, v.digest, v.prev, v.author, v.event, v.ts, tuple(sorted(sigs.values(), key=lambda s: s.member)))
            for v, sigs in zip(d.versions, d.signatures, strict=True)
        )
        out[aid] = Agreement(aid, kind, order, versions)
    return Folded(out, refused)


def _proposal_problem(e: Event, d: _Draft | None, may_propose: Callable[[Event], bool], who: str) -> str:
    b = e.body
    if not may_propose(e):
        return f"only {who} proposes or amends this agreement"
    have = len(d.versions) if d else 0
    n, prev = b["version"], b.get("prev", "")
    if n <= have:
        return f"version {n} was proposed already"
    if n > have + 1:
        return f"amends version {n - 1}, which is not here"
    if n == 1:
        return "" if prev == "" else "version 1 amends nothing"
    assert d is not None
    if prev != d.versions[-1].digest:
        return f"amends a text other than version {n - 1}'s"
    if digest(b["sections"]) == prev:
        return "changes nothing in the text it amends"
    return ""


@dataclass(frozen=True)
class SignatureCheck:
    """One ``agreement.signed`` event checked against the text of the version it names.

    Attributes:
        event: the event.
        member: its author.
        version: the version it names.
        claimed: the digest it signed.
        actual: the digest of that version's text as this device holds it ("" when no such version is here).
    """

    event: str
    member: str
    version: int
    claimed: str
    actual: str

    @property
    def matches(self) -> bool:
        return bool(self.actual) and self.claimed == self.actual


def check_signatures(events: Iterable[Event], agreement: Agreement) -> list[SignatureCheck]:
    """Recompute every version's digest from its text and check each signature of ``agreement`` against it, in stamp order.

    Signatures the fold refused for another reason (not a party) are checked
    too: a mismatch says the text a member signed is not the text here.
    """
    digests = {v.number: digest(v.sections) for v in agreement.versions}
    out = []
    for e in sorted({e.id: e for e in events}.values(), key=lambda e: e.stamp):
        if e.kind != "agreement.signed" or e.body.get("agreement") != agreement.id:
            continue
        n = e.body["version"]
        out.append(SignatureCheck(e.id, e.author, n, e.body["digest"], digests.get(n, "")))
    return out
