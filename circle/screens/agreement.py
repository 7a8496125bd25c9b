"""The charter agreement: its current text, who signed (with their declarations), who has not, every version.

A member signs (s) after saying explicitly whether they have a conflict of
interest; a mentor proposes or amends the text (p), which reopens
signatures. Everything members wrote is shown as plain, cleaned text.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Label, Static

from circle.models.agreements import CHARTER_SECTION_NAMES, SECTIONS
from circle.screens.base import CircleScreen
from circle.screens.modals import Field, FormModal, conflict_declared, conflict_fields
from circle.store.agreements import AgreementService
from circle.store.service import CohortService
from circle.widgets.member_text import block, line, name


@dataclass(frozen=True)
class AgreementRead:
    """What the agreement screen shows, read from the view in one go (no widgets)."""

    title: Text
    body: Text
    banner: Text
    version: int  # the current version (0: none proposed yet)


def read_agreement(agreements: AgreementService) -> AgreementRead:
    """The charter agreement as text: sections, signatures with declarations, who is missing, the versions before."""
    svc = agreements.service
    with svc.store.lock:
        view = svc.view
        a = agreements.charter()
        title = Text(f"{name(view.cohort().name)} · charter agreement")
        banner = Text()
        for w in agreements.ratio_warnings():
            banner.append(f"⚠ {w}\n", style="bold")
        body = Text()
        if a is None:
            body.append("No charter agreement yet.\n\n", style="bold")
            body.append("A supervising mentor proposes one (p): goals, meetings, confidentiality, feedback, how it ends. Every member then signs it.")
            return AgreementRead(title, body, banner, 0)
        v = a.current
        status = "signed by every member" if a.signed_by_all else f"{len(a.missing())} still to sign"
        body.append(f"Version {v.number}", style="bold")
        body.append(f" · proposed by {name(view.name_of(v.author))} · {status}\n", style="dim")
        body.append(f"digest {v.digest[:32]}…\n\n", style="dim")
        for k in SECTIONS:
            if v.sections.get(k):
                body.append(f"{CHARTER_SECTION_NAMES[k]}\n", style="bold")
                body.append(f"{block(v.sections[k])}\n\n")
        body.append("Signed\n", style="bold")
        if not v.signatures:
            body.append("  nobody yet\n")
        for s in sorted(v.signatures, key=lambda s: (view.name_of(s.member).lower(), s.member)):  # by name: ids are random
            body.append(f"  ✓ {name(view.name_of(s.member))}")
            if s.member == svc.me:
                body.append(" (you)")
            body.append(f" · conflict of interest: {line(s.coi, 200) if s.coi else 'none declared'}\n", style="dim")
        missing = a.missing()
        if missing:
            body.append("\nStill to sign\n", style="bold")
            for p in sorted(missing, key=lambda p: (view.name_of(p).lower(), p)):
                body.append(f"  ☐ {name(view.name_of(p))}{' (you: s signs)' if p == svc.me else ''}\n")
        if len(a.versions) > 1:
            body.append("\nEarlier versions\n", style="bold")
            for old in reversed(a.versions[:-1]):
                n = len(old.signatures)
                body.append(f"  version {old.number} · {name(view.name_of(old.author))} · {n} signature{'s' if n != 1 else ''}\n", style="dim")
    return AgreementRead(title, body, banner, v.number)


class AgreementScreen(CircleScreen):
    """The cohort's charter agreement, to read and sign (a mentor also proposes and amends)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("s", "sign", "Sign", tooltip="Sign the current version, declaring any conflict of interest"),
        Binding("p", "propose", "Propose/amend", tooltip="Propose the agreement, or amend it (a mentor does): everyone signs again"),
    ]

    def __init__(self, service: CohortService) -> None:
        super().__init__(id="agreement")
        self.service = service
        self.agreements = AgreementService(service)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="topbar"):
            yield Label("", classes="topbar-title", id="agreement-title")
            yield self.sync_badge()
        yield Static("", id="agreement-banner")
        with VerticalScroll(id="agreement-scroll"):
            yield Static("", id="agreement-body")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()

    def events_to_read(self) -> int:
        return len(self.service.view)

    def read_stamp(self) -> object:
        view = self.service.view
        return view, len(view)

    def read(self) -> AgreementRead:
        return read_agreement(self.agreements)

    def show_read(self, read: AgreementRead) -> None:
        self.query_one("#agreement-title", Label).update(read.title)
        self.query_one("#agreement-body", Static).update(read.body)
        banner = self.query_one("#agreement-banner", Static)
        banner.update(read.banner)
        banner.display = bool(read.banner.plain)

    def action_sign(self) -> None:
        with self.view_lock():
            a = self.agreements.charter()
        if a is None:
            self.notify("A mentor proposes one first (p).", title="No charter agreement yet", severity="warning")
            return
        mine = next((x for x in a.current.signatures if x.member == self.service.me), None)
        fields = conflict_fields("anyone in the cohort", None if mine is None else mine.coi)
        signed: dict[str, int] = {}

        def check(values: dict[str, str]) -> None:
            declared = conflict_declared(values)
            with self.view_lock():
                signed["version"] = self.agreements.sign(declared)

        def done(values: dict[str, str] | None) -> None:
            if values and signed:
                self.notify(f"You signed version {signed['version']} with your identity key.", title="Signed")

        self.app.push_screen(FormModal(f"Sign the charter agreement, version {a.current.number}", fields, submit="Sign", check=check), done)

    def action_propose(self) -> None:
        with self.view_lock():
            mentor = self.service.is_mentor()
            draft = self.agreements.draft()
            a = self.agreements.charter()
        if not mentor:
            self.notify("Ask a supervising mentor of the cohort.", title="Only a mentor proposes or amends the charter", severity="warning")
            return
        fields = [Field(k, CHARTER_SECTION_NAMES[k], draft.get(k, "")) for k in SECTIONS]
        made: dict[str, int] = {}

        def check(values: dict[str, str]) -> None:
            with self.view_lock():
                made["version"] = self.agreements.propose(values)

        def done(values: dict[str, str] | None) -> None:
            if values and made:
                n = made["version"]
                self.notify("Every member signs it now." if n == 1 else f"Version {n}: signatures start again.", title="Proposed" if n == 1 else "Amended")

        title = "Propose the charter agreement" if a is None else f"Amend the charter agreement (version {a.current.number})"
        self.app.push_screen(FormModal(title, fields, submit="Propose" if a is None else "Amend", check=check), done)
