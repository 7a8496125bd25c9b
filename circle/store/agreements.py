"""What people do with a cohort's charter agreement: read it, propose or amend it, sign it, verify the signatures.

The rules are the fold's (:mod:`circle.models.agreements`, through
:meth:`View.agreements`); the checks here are a courtesy that says in one
line what the fold would refuse, before anything is written. A signature is
the ``agreement.signed`` event itself: the journal signs every event with the
author's identity key, so binding the digest of the text is signing the text.
"""

from __future__ import annotations

from typing import Any

from circle.errors import AlreadyExists, NotFound, UsageError
from circle.models.agreements import CHARTER, CHARTER_SECTION_NAMES, SECTIONS, Agreement, SignatureCheck, check_signatures, digest
from circle.models.mentoring import ratio_warnings
from circle.models.schema import MAX_CHARTER
from circle.models.view import View
from circle.store.service import CohortService, FieldError

NO_CONFLICT = ("none", "no", "n/a", "nothing")  # what a person types to declare no conflict of interest
MENTEE_LIMIT = (1, 100)


def declaration(coi: str | None) -> str:
    """A conflict-of-interest declaration as typed: "none" (or "no") declares none (""), anything else is the declaration.

    Raises:
        FieldError: nothing was said. Signing asks explicitly; silence is not a declaration.
    """
    text = " ".join((coi or "").split())
    if not text:
        raise FieldError("coi", "say whether you have a conflict of interest", "type none, or describe it (for example: I line-manage one of the mentees)")
    if text.lower().rstrip(".") in NO_CONFLICT:
        return ""
    if len(text) > MAX_CHARTER:
        raise FieldError("coi", "the declaration is too long", f"keep it under {MAX_CHARTER} characters")
    return text


class AgreementService:
    """The cohort's charter agreement, for the CLI and the agreement screen.

    Args:
        service: the cohort's service (its store records the events; its view folds them).
    """

    def __init__(self, service: CohortService) -> None:
        self.service = service

    @property
    def view(self) -> View:
        return self.service.view

    def charter(self) -> Agreement | None:
        """The charter agreement as the fold has it (None until a mentor proposes one)."""
        return self.view.charter_agreement()

    def draft(self) -> dict[str, str]:
        """The text a proposal starts from: the current version's, else what the cohort's charter already says."""
        a = self.charter()
        if a is not None:
            return dict(a.current.sections)
        c = self.view.cohort()
        return {
            "goals": c.purpose,
            "cadence": f"{c.cadence}, {c.meeting_minutes} minutes",
            "confidentiality": c.confidentiality,
            "feedback": c.feedback_norms,
            "ending": "",
            "text": "",
        }

    def propose(self, sections: dict[str, str]) -> int:
        """Propose the charter's text (a mentor does), or amend the current version; returns the new version's number.

        An amendment reopens signatures: everyone signs the new text again.
        """
        if not self.service.is_mentor():
            raise UsageError("only a supervising mentor proposes or amends the charter", "ask a mentor of the cohort")
        clean: dict[str, str] = {}
        for k in SECTIONS:
            text = (sections.get(k) or "").strip()
            if len(text) > MAX_CHARTER:
                raise FieldError(k, f"{CHARTER_SECTION_NAMES[k].lower()} is too long", f"keep it under {MAX_CHARTER} characters")
            if "\x00" in text:
                raise FieldError(k, f"{CHARTER_SECTION_NAMES[k].lower()} holds a character that cannot be kept", "type it again")
            clean[k] = text
        unknown = sorted(set(sections) - set(SECTIONS))
        if unknown:
            raise UsageError(f"unknown section {unknown[0]!r}", ", ".join(SECTIONS))
        if not any(clean.values()):
            raise FieldError("goals", "the agreement has no text", "write at least its goals")
        a = self.charter()
        body: dict[str, Any] = {"id": CHARTER, "version": 1, "sections": clean}
        if a is not None:
            if digest(clean) == a.current.digest:
                raise AlreadyExists("the text is the same as version " + str(a.current.number), "nothing changed; change a section to amend it")
            body["version"] = a.current.number + 1
            body["prev"] = a.current.digest
        self.service.store.record("agreement.proposed", body)
        return body["version"]

    def sign(self, coi: str | None) -> int:
        """Sign the current version with a conflict-of-interest declaration ("none" declares none); returns its number."""
        declared = declaration(coi)
        a = self.charter()
        if a is None:
            raise NotFound("the cohort has no charter agreement yet", "a mentor proposes one first")
        if self.service.me not in a.parties:
            raise UsageError("only an active member signs the charter", "ask a mentor to admit you again")
        v = a.current
        mine = next((s for s in v.signatures if s.member == self.service.me), None)
        if mine is not None and mine.coi == declared:
            raise AlreadyExists(f"you signed version {v.number} already", "nothing changed; sign again only to change your declaration")
        self.service.store.record("agreement.signed", {"agreement": CHARTER, "version": v.number, "digest": digest(v.sections), "coi": declared})
        return v.number

    def verify(self) -> list[SignatureCheck]:
        """Every signature of the charter checked against the text of the version it names, digests recomputed here."""
        a = self.charter()
        if a is None:
            return []
        return check_signatures(self.view.agreement_events(), a)

    def refused(self) -> dict[str, str]:
        """Agreement events the fold held aside, with why: event id -> reason."""
        ids = {e.id for e in self.view.agreement_events()}
        return {k: r for k, r in self.view.refused().items() if k in ids}

    def ratio_warnings(self) -> list[str]:
        """The mentoring ratio's warnings (:func:`circle.models.mentoring.ratio_warnings`)."""
        return ratio_warnings(self.view)

    def set_mentee_limit(self, n: int | str) -> int:
        """Set the most mentees per mentor (a mentor does; it is part of the charter)."""
        if not self.service.is_mentor():
            raise UsageError("only a supervising mentor sets the mentoring ratio", "ask a mentor of the cohort")
        lo, hi = MENTEE_LIMIT
        try:
            limit = int(str(n).strip())
        except ValueError:
            limit = 0
        if not lo <= limit <= hi:
            raise FieldError("limit", f"the limit is {lo} to {hi} mentees per mentor", "type a whole number, for example 5")
        if limit == self.view.cohort().mentees_per_mentor:
            raise AlreadyExists(f"the limit is {limit} already", "nothing changed")
        self.service.store.record("cohort.charter_set", {"mentees_per_mentor": limit})
        return limit

    def document(self) -> dict[str, Any]:
        """The charter agreement as plain data (names resolved, text as written): what ``circle agreement show --json`` prints."""
        view = self.view
        a = self.charter()
        doc: dict[str, Any] = {
            "cohort": view.cohort().name,
            "mentees_per_mentor": view.cohort().mentees_per_mentor,
            "ratio_warnings": self.ratio_warnings(),
            "agreement": None,
        }
        if a is None:
            return doc
        versions = []

        def by_name(member: str) -> tuple[str, str]:  # ids are random: people read names
            return (view.name_of(member).lower(), member)

        for v in a.versions:
            signed = v.signer_ids()
            versions.append(
                {
                    "version": v.number,
                    "digest": v.digest,
                    "prev": v.prev or None,
                    "proposed_by": view.name_of(v.author),
                    "sections": dict(v.sections),
                    "signatures": [{"member": view.name_of(s.member), "coi": s.coi} for s in sorted(v.signatures, key=lambda s: by_name(s.member))],
                    "missing": [view.name_of(p) for p in sorted(a.parties, key=by_name) if p not in signed],
                }
            )
        cur = versions[-1]
        doc["agreement"] = {
            "id": a.id,
            "kind": a.kind,
            "current": cur["version"],
            "status": "signed by all parties" if a.signed_by_all else "waiting for " + ", ".join(cur["missing"]),
            "versions": versions,
        }
        return doc
