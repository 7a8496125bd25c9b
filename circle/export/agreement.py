"""The agreement section of an export: the charter agreement's current version, its digest, who signed it and who has not.

Signatures are the fold's (:meth:`View.charter_agreement`): a signature counts
only from a party and only on the digest of the text here, so one an altered
client wrote over another text is not among them. Such signatures are held
aside by the fold; this section counts those naming the current version
(``refused``) and says they do not count, naming nobody.

The sections and every declaration are member text, cleaned here; each format
escapes them its way. Dates are the signer's own device clock, as the fold
keeps them (for display only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from circle.models.agreements import CHARTER_SECTION_NAMES, SECTIONS, check_signatures
from circle.models.text import clean
from circle.models.view import View


@dataclass(frozen=True)
class SectionText:
    key: str
    title: str
    text: str


@dataclass(frozen=True)
class SignatureRecord:
    member: str  # member id
    name: str
    date: str  # YYYY-MM-DD, by the signer's clock
    coi: str  # their conflict-of-interest declaration ("" declares none)


@dataclass(frozen=True)
class AgreementSection:
    """The charter agreement as an export prints it.

    Attributes:
        version: the current version's number.
        digest: hex SHA-256 over the label and the version's canonical text (docs/FORMAT.md, agreements).
        proposed_by: who proposed this version.
        proposed_on: when (their clock).
        sections: the six sections, in order, empty ones included.
        signatures: signatures that count, by name.
        missing: members who have not signed this version, by name.
        earlier_versions: how many versions came before (each was signed afresh).
        refused: signatures naming this version whose digest is not this text's: held aside, not counted.
    """

    version: int
    digest: str
    proposed_by: str
    proposed_on: str
    sections: tuple[SectionText, ...]
    signatures: tuple[SignatureRecord, ...]
    missing: tuple[str, ...]
    earlier_versions: int
    refused: int

    @property
    def signed_by_all(self) -> bool:
        return not self.missing

    @property
    def refused_text(self) -> str:
        """The sentence the export prints about refused signatures ("" when none)."""
        if not self.refused:
            return ""
        if self.refused == 1:
            return "1 signature did not match the text and does not count."
        return f"{self.refused} signatures did not match the text and do not count."


def _day(ts: float) -> str:
    try:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):  # a clock an altered client set out of range
        return "unknown date"


def build_agreement(view: View, *, name_of: Callable[[str], str]) -> AgreementSection | None:
    """The charter agreement's section (None when the cohort has none yet)."""
    a = view.charter_agreement()
    if a is None:
        return None
    v = a.current
    refused_ids = set(view.refused())
    refused = sum(1 for c in check_signatures(view.agreement_events(), a) if c.version == v.number and not c.matches and c.event in refused_ids)
    signatures = sorted((SignatureRecord(s.member, name_of(s.member), _day(s.ts), clean(s.coi, multiline=True)) for s in v.signatures), key=_by_name)
    signed = v.signer_ids()
    missing = sorted((name_of(p) for p in a.parties if p not in signed), key=str.casefold)
    return AgreementSection(
        v.number,
        v.digest,
        name_of(v.author),
        _day(v.ts),
        tuple(SectionText(k, CHARTER_SECTION_NAMES[k], clean(v.sections.get(k, ""), multiline=True)) for k in SECTIONS),
        tuple(signatures),
        tuple(missing),
        len(a.versions) - 1,
        refused,
    )


def _by_name(s: SignatureRecord) -> tuple[str, str]:
    return (s.name.casefold(), s.member)
