"""A closure certificate: a signed record that a one-on-one mentoring relationship took place and closed, or of what it lacked.

Either member of a channel exports one once the relationship is in "closure"
or "closed" (``circle dyad certificate``). It says the relationship took place
and closed only when both members signed its agreement and both took part in
closing it (one moved it into closure, the other closed it) and it is closed.
Otherwise it says what happened instead (:attr:`Certificate.standing`): no
agreement, or one not signed by both; closed, or moved into closure, by one
member alone; in closure, not closed. Either way it lists each step towards
the end, by whom and on which day. A channel is private, so the certificate
carries only what both members would put their name to, and nothing either of
them wrote to the other:

- the two members' names and roles in the cohort, and the cohort;
- the period: from the channel's first event to the move into closure;
- each step of the closure: who moved it into closure or closed it, and when;
- the channel agreement's goals section, its version, digest and who signed
  it (when the channel has an agreement);
- how many of the cohort's meetings both attended in that period (the cohort
  view's attendance, as every member's device folds it);
- the closure note, only when the exporting member wrote it (the other
  member's words are theirs to share).

Never in it: messages, feedback, feedback requests, the agreement's other
sections, conflict-of-interest declarations, goals (private goals stay in the
channel). It is not an accreditation and says so. Dates are the writers' own
device clocks (display only). Member text is cleaned here and escaped by
each format; the file is signed like every export (:mod:`circle.export.signature`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from circle.errors import AlreadyExists, UsageError
from circle.export.markdown import inline, paragraph
from circle.export.signature import Signer, write_signed
from circle.export.summary import ROLE_NAMES
from circle.models.events import Event
from circle.models.private import Channels
from circle.models.text import clean, clean_name
from circle.models.view import View
from circle.store.channels import ChannelService

CLOSING = ("closure", "closed")
FORMATS = ("md", "pdf")
TOOK_PLACE = "took place and closed"  # said only of a relationship both members agreed and closed
NOT_ACCREDITATION = (
    "It is not an accreditation: it awards no credits and says nothing about competence. Only the facts set out here are in it; "
    "the channel's messages, feedback and requests stay between the two members."
)


@dataclass(frozen=True)
class Party:
    """A member of the relationship: their name and their role in the cohort, in words."""

    name: str
    role: str


@dataclass(frozen=True)
class AgreementGoals:
    """The channel agreement's goals section and whether both signed its current version.

    Attributes:
        signed_by: names of the members whose signature on this version counts.
        missing: names of those who have not signed it.
    """

    version: int
    digest: str
    goals: str
    signed_by: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def status(self) -> str:
        """The signature status in words."""
        if not self.missing:
            return f"signed by both ({', '.join(self.signed_by)})"
        if not self.signed_by:
            return "signed by neither member"
        return f"signed by {', '.join(self.signed_by)}; not signed by {', '.join(self.missing)}"


@dataclass(frozen=True)
class ClosingStep:
    """One member's step towards the end of the relationship: into closure, or closed, on a day (by their clock)."""

    name: str
    phase: str
    day: str

    @property
    def words(self) -> str:
        return f"{self.name} {'closed it' if self.phase == 'closed' else 'moved it into closure'} on {self.day}"


@dataclass(frozen=True)
class Certificate:
    """A closure certificate's content: only this is written.

    Attributes:
        exporter: the signing identity's name (the exporting member, first in ``parties``, under the name their keystore holds).
        phase: closure or closed.
        period_from: the day of the channel's first event (by its writer's clock).
        period_to: the day the relationship moved into closure (by its writer's clock).
        meetings_together: cohort meetings held in the period that both were marked present at.
        closure_note: the exporter's own closure note ("" when they wrote none; the other member's is never included).
        closing: the steps of the closure this certificate records, oldest first.
        alone: the name of the only member who took those steps ("" when both did).
    """

    cohort: str
    generated_at: str
    exporter: str
    parties: tuple[Party, Party]
    phase: str
    period_from: str
    period_to: str
    agreement: AgreementGoals | None
    meetings_together: int
    meeting_days: tuple[str, ...]
    closure_note: str
    closing: tuple[ClosingStep, ...]
    alone: str

    @property
    def title(self) -> str:
        return "Closure certificate: a mentoring relationship"

    @property
    def took_place(self) -> bool:
        """Both members signed the agreement and took part in closing it, and it is closed: only then did it take place and close."""
        return self.agreement is not None and not self.agreement.missing and not self.alone and self.phase == "closed"

    @property
    def standing(self) -> str:
        """What the relationship was, after "this mentoring relationship": "took place and closed" only when
        :attr:`took_place`; else what it lacked, e.g. "had no channel agreement, and was closed by Amara Singh alone"."""
        if self.took_place:
            return TOOK_PLACE
        g = self.agreement
        said = []
        if g is None:
            said.append("had no channel agreement")
        elif g.missing:
            said.append(f"had an agreement {' and '.join(g.missing)} did not sign" if g.signed_by else "had an agreement neither member signed")
        if self.phase == "closed":
            said.append(f"was closed by {self.alone} alone" if self.alone else "was closed by both members")
        else:
            said.append(f"was moved into closure by {self.alone} alone and is not closed" if self.alone else "is in closure, not closed")
        return ", and ".join(said)

    @property
    def how_it_closed(self) -> str:
        """Each step towards the end: "Helen Okafor moved it into closure on 2025-05-25; Tom Berg closed it on 2025-05-30"."""
        return "; ".join(s.words for s in self.closing)

    @property
    def statement(self) -> str:
        """What the certificate is a record of, and what it is not."""
        return f"This is a record that this mentoring relationship {self.standing}. {NOT_ACCREDITATION}"


def _day(ts: float) -> str:
    try:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):  # a clock an altered client set out of range
        return "unknown date"


def build_certificate(view: View, channels: Channels, *, me: str, peer: str, generated_at: float, exporter: str) -> Certificate:
    """The certificate of the relationship between ``me`` and ``peer``, from the cohort's view and this device's channels.

    Raises:
        UsageError: the relationship is not in closure or closed (one line, with what to do).
    """
    phase = channels.phase(peer)
    if phase.phase not in CLOSING:
        raise UsageError(
            f"the relationship is in {phase.phase}, not closed",
            "a certificate is for a relationship in closure or closed: 'circle dyad phase COHORT MEMBER closure'",
        )
    events: list[Event] = [e for p, e in channels.accepted if p == peer]  # stamp order: what the channel's fold counted
    phases = [e for e in events if e.kind == "dyad.phase_set"]
    run: list[Event] = []  # the last unbroken run of closing phases: the closure this certificate records
    for e in reversed(phases):
        if e.body["phase"] not in CLOSING:
            break
        run.insert(0, e)
    mine = [e for e in run if e.author == me and e.body.get("note", "").strip()]
    period_from, period_to = _day(events[0].ts), _day(run[0].ts)
    together = []
    for m in view.meetings():
        if m.held and not m.cancelled and period_from <= m.at[:10] <= period_to:
            marks = view.attendance(m.id)
            if marks.get(me) is True and marks.get(peer) is True:
                together.append(m.at[:10])

    def party(mid: str) -> Party:
        member = view.member(mid)
        return Party(clean_name(view.name_of(mid)), ROLE_NAMES.get(member.role, clean(member.role)) if member else "former member")

    closing = tuple(ClosingStep(party(e.author).name, e.body["phase"], _day(e.ts)) for e in run)
    closers = {e.author for e in run}  # the channel's rules let only its two members write: one of them, or both

    agreement = None
    a = channels.agreement(peer)
    if a is not None:
        v = a.current
        signed = v.signer_ids()
        agreement = AgreementGoals(
            v.number,
            v.digest,
            clean(v.sections.get("goals", ""), multiline=True),
            tuple(sorted((party(p).name for p in (me, peer) if p in signed), key=str.casefold)),
            tuple(sorted((party(p).name for p in (me, peer) if p not in signed), key=str.casefold)),
        )
    return Certificate(
        clean_name(view.cohort().name),
        dt.datetime.fromtimestamp(generated_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        clean_name(exporter),
        (party(me), party(peer)),
        phase.phase,
        period_from,
        period_to,
        agreement,
        len(together),
        tuple(together),
        clean(mine[-1].body["note"], multiline=True) if mine else "",
        closing,
        party(next(iter(closers))).name if len(closers) == 1 else "",
    )


def certify(service, member: str) -> Certificate:  # noqa: ANN001 - a circle.store.service.CohortService
    """The certificate of the exporting member's relationship with ``member`` (a name as typed), read under the cohort's lock."""
    peer = ChannelService(service).peer(member)
    store = service.store
    with store.lock:
        return build_certificate(
            service.view, store.private.read(store.view), me=service.me, peer=peer.id, generated_at=service.now(), exporter=store.author.name
        )


def render_markdown(c: Certificate) -> str:
    """The certificate as Markdown; member text escaped by :func:`circle.export.markdown.inline`."""
    a, b = c.parties
    out = [
        f"# {c.title}",
        "",
        inline(c.statement),
        "",
        f"- **Members:** {inline(a.name)} ({a.role}) and {inline(b.name)} ({b.role})",
        f"- **Cohort:** {inline(c.cohort)}",
        f"- **Period:** {c.period_from} to {c.period_to} (the channel's first event to the move into closure; dates by the writers' clocks)",
        f"- **Where it stands:** {c.phase}",
        f"- **How it closed:** {inline(c.how_it_closed)}" + (f" (only {inline(c.alone)} took a step to close it)" if c.alone else " (both members took part)"),
        f"- **Cohort meetings both attended in the period:** {c.meetings_together}" + (f" ({', '.join(c.meeting_days)})" if c.meeting_days else ""),
        "",
        "## Agreement",
        "",
    ]
    if c.agreement is None:
        out += ["The two members made no channel agreement.", ""]
    else:
        g = c.agreement
        out += [
            f"Version {g.version}, {inline(g.status)}. Digest of its text (SHA-256, hex): {g.digest}",
            "",
            f"- **Goals of the relationship:** {paragraph(g.goals, '  ') or '—'}",
            "",
        ]
    if c.closure_note:
        out += [f"## Closure note by {inline(a.name)}", "", paragraph(c.closure_note), ""]
    out += [
        "## Signature",
        "",
        f"Exported and signed by {inline(c.exporter)} on {c.generated_at}. Check it with 'circle verify-export' and the signature file beside it, and compare the signer's fingerprint with one you know.",
        "",
    ]
    return "\n".join(out)


def render(c: Certificate, fmt: str, *, signer_name: str = "", fingerprint: str = "") -> bytes:
    """The certificate's bytes in ``fmt`` (md or pdf)."""
    if fmt == "md":
        return render_markdown(c).encode()
    if fmt == "pdf":
        from circle.export import pdf  # fpdf2 loads only when a PDF is asked for

        return pdf.render_certificate(c, signer_name=signer_name or c.exporter, fingerprint=fingerprint)
    raise UsageError(f"unknown format {fmt!r}", "md or pdf")


def default_name(c: Certificate, fmt: str) -> str:
    """A file name: cohort, the other member, the closure's day (ASCII only)."""

    def slug(text: str) -> str:
        return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "x"

    return f"{slug(c.cohort)}-closure-{slug(c.parties[1].name)}-{c.period_to}.{fmt}"


def write(c: Certificate, fmt: str, path: Path, signer: Signer, signed_at: float, *, force: bool = False) -> Path:
    """Render, write and sign; returns the signature file's path.

    Raises:
        AlreadyExists: ``path`` exists and ``force`` is not set.
        UsageError: the folder is not there or the file cannot be written.
    """
    if path.exists() and not force:
        raise AlreadyExists(f"{path} exists", "choose another -o, or pass --force to overwrite it")
    if path.is_dir():
        raise UsageError(f"{path} is a folder", "give a file name with -o")
    if not path.parent.is_dir():
        raise UsageError("folder not found", f"{path.parent}: create it first, or choose another path")
    data = render(c, fmt, signer_name=signer.name, fingerprint=signer.fingerprint)
    try:
        return write_signed(path, data, signer, signed_at)
    except OSError as exc:
        raise UsageError("cannot write the certificate", f"{exc.filename or path}: {exc.strerror or exc}; choose another path") from None
