"""Private: one-on-one channels with another member, and notes only you read.

The left list is who you write to: your own notes first, then every other
member. Above the thread a badge always says who can read what is written
here, so nothing private goes to the cohort by accident: nothing on this
screen writes to the cohort scope.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from circle.models.agreements import SECTION_NAMES, SECTIONS, Agreement
from circle.models.private import PROMPTS, FeedbackRequest, Message, Phase, SelfNote
from circle.screens.base import CircleScreen
from circle.screens.modals import ConfirmModal, Field, FormModal, PickModal, conflict_declared, conflict_fields
from circle.store.channels import ChannelService
from circle.store.service import CohortService
from circle.widgets.member_text import block, line, name

KINDS = [("Message", "message"), ("Feedback", "feedback"), ("Question", "question"), ("Reflection", "reflection")]


@dataclass
class PrivateRead:
    """What the screen shows, read under the cohort's lock."""

    cohort: str
    me: str
    peers: list[tuple[str, str, int]]  # (member id, name, open requests asked of me by them)
    peer: str
    scope_line: str
    thread: list[Message] = field(default_factory=list)
    requests: list[FeedbackRequest] = field(default_factory=list)
    notes: list[SelfNote] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    phase: Phase | None = None
    agreement: Agreement | None = None


class PrivateScreen(CircleScreen):
    """A member's private channels and own notes in one cohort.

    Args:
        service: the cohort.
        peer: the member whose channel opens first (None: your own notes).
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", show=False),
        Binding("n", "write", "Write", tooltip="Write to the person selected (or a note only you read)"),
        Binding("r", "ask", "Ask for feedback", tooltip="Ask the person selected for feedback: on what, by when"),
        Binding("a", "answer", "Answer", tooltip="Answer a feedback request asked of you"),
        Binding("d", "decline", "Decline", tooltip="Decline a feedback request asked of you", show=False),
        Binding("g", "agreement", "Agreement", tooltip="Propose or amend your agreement with the person selected"),
        Binding("s", "sign", "Sign", tooltip="Sign your agreement with the person selected, declaring any conflict of interest", show=False),
        Binding("f", "phase", "Phase", tooltip="Where the relationship stands: preparing, negotiating, enabling, closure, closed", show=False),
    ]

    def __init__(self, service: CohortService, peer: str | None = None) -> None:
        super().__init__(id="private")
        self.service = service
        self.channels = ChannelService(service)
        self.peer = peer or service.me
        self.last: PrivateRead | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="topbar"):
            yield Label("", id="private-title")
            yield self.sync_badge()
        with Horizontal(id="private-body"):
            yield OptionList(id="private-peers")
            with Vertical(id="private-right"):
                yield Static("", id="private-scope")
                yield Static("", id="private-relationship")
                with VerticalScroll(id="private-thread"):
                    yield Static("", id="private-thread-text")
                yield Static("", id="private-prompts")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()
        self.query_one("#private-peers", OptionList).focus()

    # ---- reading -------------------------------------------------------
    def read_stamp(self) -> Any:
        st = self.service.store
        return (len(st.view), len(st.private), self.peer)

    def read(self) -> PrivateRead:
        ch = self.channels
        with self.view_lock():
            view = self.service.view
            got = ch.channels()
            asked = got.asked_of(ch.me)
            peers = [(m.id, m.name, sum(1 for r in asked if r.asker == m.id)) for m in ch.peers()]
            me = ch.me
            out = PrivateRead(view.cohort().name, me, peers, self.peer, ch.audience(self.peer).line())
            out.names = {m.id: m.name for m in view.members(include_removed=True)}
            if self.peer == me:
                out.notes = ch.notes()
            else:
                out.thread = got.thread(self.peer)
                out.requests = got.requests.get(self.peer, [])
                out.phase = got.phase(self.peer)
                out.agreement = got.agreement(self.peer)
        return out

    def show_read(self, read: PrivateRead) -> None:
        self.last = read
        title = Text("Private · ", style="bold")
        title.append(name(read.cohort))
        self.query_one("#private-title", Label).update(title)
        peers = self.query_one("#private-peers", OptionList)
        keep = peers.highlighted
        peers.clear_options()
        peers.add_option(Option(Text("Your notes (only you)"), id=read.me))
        for mid, who, waiting in read.peers:
            label = Text(name(who))
            if waiting:
                label.append(f"  · asks you ({waiting})", style="bold")
            peers.add_option(Option(label, id=mid))
        ids = [read.me, *(p[0] for p in read.peers)]
        peers.highlighted = ids.index(read.peer) if read.peer in ids else (keep or 0)
        self.query_one("#private-scope", Static).update(Text(f"🔒 {read.scope_line}", style="bold"))
        rel = self.query_one("#private-relationship", Static)
        rel.display = read.peer != read.me
        rel.update(self._relationship(read))
        self.query_one("#private-thread-text", Static).update(self._thread_text(read))
        self.query_one("#private-prompts", Static).update(self._prompts(read))

    def _who(self, read: PrivateRead, member: str) -> str:
        return "You" if member == read.me else read.names.get(member, "someone")

    def _relationship(self, read: PrivateRead) -> Text:
        out = Text()
        if read.phase is None:
            return out
        out.append("Phase ", style="dim")
        out.append(read.phase.phase, style="bold")
        a = read.agreement
        out.append(" · ", style="dim")
        if read.phase.phase == "closed":  # nothing more is written: no key to press but f, to reopen it
            out.append(("" if a is None else f"agreement v{a.current.number} · ") + "nothing more is written (f reopens it)", style="dim")
        elif a is None:
            out.append("no agreement yet (g proposes one)", style="dim")
        elif a.signed_by_all:
            out.append(f"agreement v{a.current.number} signed by both", style="dim")
        else:
            waiting = " and ".join(name(self._who(read, m)).replace("You", "you") for m in a.missing())
            out.append(f"agreement v{a.current.number} waits for {waiting} to sign (s)", style="bold")
        return out

    def _thread_text(self, read: PrivateRead) -> Text:
        out = Text()
        if read.peer == read.me:
            if not read.notes:
                out.append("No notes yet. n writes one only you can read.", style="dim")
            for n in read.notes:
                out.append(f"{_when(n.ts)}  {'Reflection' if n.kind == 'reflection' else 'Note'}\n", style="dim")
                out.append(block(n.text))
                out.append("\n\n")
            return out
        for r in read.requests:
            out.append(f"[{r.status}] ", style="bold")
            out.append(f"{name(self._who(read, r.asker))} asked for feedback on: ")
            out.append(block(r.what))
            if r.by:
                out.append(f" (by {r.by})")
            if r.reason:
                out.append(" · declined: ")
                out.append(block(r.reason))
            out.append("\n")
        if read.requests:
            out.append("\n")
        if not read.thread and not read.requests:
            out.append("Nothing here yet. n writes the first message; r asks for feedback.", style="dim")
        for m in read.thread:
            head = f"{_when(m.ts)}  {name(self._who(read, m.author))}"
            if m.kind != "message":
                head += f" · {m.kind}"
            if m.request:
                head += " · answers a request"
            out.append(head + "\n", style="dim")
            out.append(block(m.text))
            out.append("\n\n")
        return out

    def _prompts(self, read: PrivateRead) -> Text:
        if read.peer == read.me:
            return Text("Reflect: what happened, what you felt, what you would do next time.", style="dim")
        out = Text("Good feedback: ", style="dim")
        out.append(" · ".join(label for label, _ in PROMPTS[:4]), style="dim")
        return out

    @on(OptionList.OptionHighlighted, "#private-peers")
    def choose_peer(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.peer:
            self.peer = event.option.id
            self.refresh_view()

    # ---- acting --------------------------------------------------------
    def _scope_note(self) -> str:
        return f"🔒 {self.channels.audience(self.peer).line()}."

    def action_write(self) -> None:
        peer = self.peer
        if peer == self.channels.me:
            fields = [
                Field("text", "Note", placeholder="only you will read this"),
                Field("kind", "Kind", options=[("Note", "note"), ("Reflection", "reflection")]),
            ]

            def keep(v: dict[str, str]) -> None:
                with self.view_lock():
                    self.channels.add_note(v["text"], v["kind"])

            self.app.push_screen(FormModal("A note for yourself", fields, submit="Keep", note=self._scope_note(), check=keep))
            return
        who = self.last.names.get(peer, "them") if self.last else "them"
        tips = "  ".join(f"{label}: {tip}" for label, tip in PROMPTS[:4])
        fields = [Field("text", f"To {name(who)}", placeholder="what you want to say"), Field("kind", "Kind", options=KINDS)]
        self.app.push_screen(
            FormModal(f"Write to {name(who)}", fields, submit="Send", note=f"{self._scope_note()}\n{tips}", check=lambda v: self._send(peer, v))
        )

    def _send(self, peer: str, values: dict[str, str]) -> None:
        with self.view_lock():
            self.channels.send(peer, values["text"], kind=values["kind"])

    def action_ask(self) -> None:
        peer = self.peer
        if peer == self.channels.me:
            self.notify("Pick a person on the left first.", title="Ask whom?", severity="warning")
            return
        who = self.last.names.get(peer, "them") if self.last else "them"
        fields = [Field("what", "Feedback on", placeholder="my case presentation on Tuesday"), Field("by", "By (YYYY-MM-DD, optional)")]

        def check(v: dict[str, str]) -> None:
            with self.view_lock():
                self.channels.request_feedback(peer, v["what"], v["by"])

        self.app.push_screen(FormModal(f"Ask {name(who)} for feedback", fields, submit="Ask", note=self._scope_note(), check=check))

    def _open_asked(self) -> list[FeedbackRequest]:
        with self.view_lock():
            return [r for r in self.channels.asked_of_me() if self.peer in (r.asker, self.channels.me)]

    def action_answer(self) -> None:
        self._pick_request("Answer which request?", self._answer)

    def action_decline(self) -> None:
        self._pick_request("Decline which request?", self._decline)

    def _pick_request(self, title: str, then) -> None:
        asked = self._open_asked()
        if not asked:
            self.notify("Nobody here is waiting for feedback from you.", title="No open requests")
            return
        names = self.last.names if self.last else {}
        options = [(r.id, f"{names.get(r.asker, 'someone')}: {r.what}{' (by ' + r.by + ')' if r.by else ''}") for r in asked]
        by_id = {r.id: r for r in asked}
        self.app.push_screen(PickModal(title, options), lambda rid: then(by_id[rid]) if rid else None)

    def _answer(self, r: FeedbackRequest) -> None:
        def check(v: dict[str, str]) -> None:
            with self.view_lock():
                self.channels.send(r.asker, v["text"], kind="feedback", request=r.id)

        fields = [Field("text", "Your feedback", placeholder="specific, timely, about what was done")]
        note = f"🔒 {self.channels.audience(r.asker).line()}.\n" + "  ".join(f"{label}: {tip}" for label, tip in PROMPTS[:4])
        self.app.push_screen(FormModal(f"Feedback on: {line(r.what)}", fields, submit="Send", note=note, check=check))

    def _with_someone(self) -> str | None:
        if self.peer == self.channels.me:
            self.notify("Pick a person on the left first: your own notes have no agreement or phase.", title="With whom?", severity="warning")
            return None
        return self.peer

    def action_agreement(self) -> None:
        peer = self._with_someone()
        if peer is None:
            return
        with self.view_lock():
            a = self.channels.agreement(peer)
        current = dict(a.current.sections) if a else {}
        fields = [Field(k, SECTION_NAMES[k], value=current.get(k, "")) for k in SECTIONS]
        title = f"Amend version {a.current.number}: both of you sign again" if a else "Propose your agreement"

        def check(v: dict[str, str]) -> None:
            with self.view_lock():
                self.channels.propose_agreement(peer, v)

        self.app.push_screen(FormModal(title, fields, submit="Propose", note=self._scope_note(), check=check))

    def action_sign(self) -> None:
        peer = self._with_someone()
        if peer is None:
            return
        with self.view_lock():
            a = self.channels.agreement(peer)
        if a is None:
            self.notify("Nothing to sign yet: g proposes your agreement.", title="No agreement", severity="warning")
            return
        v = a.current  # what is signed is shown with the form: a signature on terms never seen is no agreement
        terms = [f"{SECTION_NAMES[k]}: {line(v.sections[k], 110)}" for k in SECTIONS if v.sections.get(k)]
        mine = next((s for s in v.signatures if s.member == self.channels.me), None)
        again = "" if mine is None else " You signed it already: signing again changes your declaration."
        note = "\n".join([f"Version {v.number}, as you sign it (g shows each part whole):{again}", *terms, self._scope_note()])
        fields = conflict_fields(name(self.last.names.get(peer, "them") if self.last else "them"), None if mine is None else mine.coi)

        def check(values: dict[str, str]) -> None:
            declared = conflict_declared(values)
            with self.view_lock():
                self.channels.sign_agreement(peer, declared)

        self.app.push_screen(FormModal(f"Sign version {v.number} of your agreement", fields, submit="Sign", note=note, check=check))

    def action_phase(self) -> None:
        peer = self._with_someone()
        if peer is None:
            return
        labels = {
            "preparing": "Preparing: readiness, availability, conflicts declared",
            "negotiating": "Negotiating: the agreement and goals",
            "enabling": "Enabling: meetings, feedback, reflection",
            "closure": "Closure: final reflection and summary",
            "closed": "Closed: nothing more is written (reopening makes a new key)",
        }

        def done(phase: str | None) -> None:
            if phase == "closed":  # nothing more is written in it: asked first, No highlighted
                who = name(self.last.names.get(peer, "them") if self.last else "them")
                question = f"Close your channel with {who}?\nNothing more is written in it; reopening it later makes a new key."
                self.app.push_screen(
                    ConfirmModal(question, yes="Close it", default_yes=False), lambda yes: yes and self.do(self.channels.set_phase, peer, phase)
                )
            elif phase:
                self.do(self.channels.set_phase, peer, phase)

        self.app.push_screen(PickModal("Where does the relationship stand?", list(labels.items())), done)

    def _decline(self, r: FeedbackRequest) -> None:
        def check(v: dict[str, str]) -> None:
            with self.view_lock():
                self.channels.decline(r.asker, r.id, v["reason"])

        self.app.push_screen(FormModal(f"Decline: {line(r.what)}", [Field("reason", "Why (optional)")], submit="Decline", check=check))


def _when(ts: float) -> str:
    return time.strftime("%d %b %H:%M", time.localtime(ts))
