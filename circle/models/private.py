"""What only some members read: private one-on-one channels (dyads) and self notes.

A channel's events are sealed with a key only its two members hold
(docs/FORMAT.md, "Scopes and keys"), so they never reach the cohort's
:class:`~circle.models.view.View`. They are still untrusted input: the key says
which channel an event belongs to on this device (the other party, ``peer``),
and an event counts only if

1. its body has its kind's shape (:mod:`circle.models.schema`) and its kind
   is one a channel holds (:data:`~circle.models.schema.CHANNEL_KINDS`);
2. its author is one of the two members of that channel (someone given the
   key by a party who leaked it writes nothing that shows);
3. its author was a member of the cohort where it stands in their journal
   (after a removal's cut nothing counts, as in the cohort's view);
4. a message id is used once (the earliest by stamp keeps it);
5. only the member asked declines a feedback request, and only a request of
   the same channel; an answer is a message from the member asked that names
   the request;
6. the channel's agreement (id ``dyad``) folds by
   :func:`~circle.models.agreements.fold_agreements` with the two members as
   its parties: either proposes or amends, both sign;
7. the relationship's phase is the latest ``dyad.phase_set`` by stamp, from
   either member. "closed" ends the channel: honest clients write nothing more
   with its key, and reopening it makes a new key.

An event that fails is held aside with its reason (:meth:`Private.refused`).
Self notes are sealed with a key that never leaves their author's keystore;
only the author's own journal holds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from circle.models import schema
from circle.models.agreements import AGREEMENT_KINDS, Agreement, fold_agreements
from circle.models.events import CLOCK_CEILING, Event
from circle.models.view import View

Stamp = tuple[int, str, str]

PROMPTS = (
    ("Specific", "What exactly did you see or hear? One moment, not a pattern."),
    ("Timely", "Say it while it is fresh: this week's case, not last term's."),
    ("Behaviour, not person", "Describe what was done, not who someone is."),
    ("Constructive", "What could be tried next time, and what would help?"),
    ("Ask", "What would you like feedback on? Name it, and by when."),
)


@dataclass(frozen=True)
class Message:
    """One message of a private channel.

    Attributes:
        peer: the other member of the channel, from this device's side.
        kind: message, feedback, question or reflection.
        request: the feedback request it answers ("" for none).
    """

    id: str
    peer: str
    author: str
    text: str
    kind: str
    ts: float
    stamp: Stamp
    reply_to: str = ""
    request: str = ""


@dataclass(frozen=True)
class FeedbackRequest:
    """A member asking the other member of a channel for feedback: on what, by when.

    Attributes:
        status: open, answered or declined.
        answer: the message that answered it ("" while none did).
    """

    id: str
    peer: str
    asker: str
    asked: str
    what: str
    by: str
    ts: float
    status: str = "open"
    answer: str = ""
    reason: str = ""


@dataclass(frozen=True)
class SelfNote:
    """A note or reflection only its author can read."""

    id: str
    text: str
    kind: str
    meeting: str
    ts: float


DYAD = "dyad"  # the id of a channel's agreement


@dataclass(frozen=True)
class Phase:
    """Where a mentoring relationship stands: preparing, negotiating, enabling, closure, or closed."""

    phase: str = "preparing"
    note: str = ""
    by: str = ""
    ts: float = 0.0


@dataclass(frozen=True)
class Channels:
    """Every private channel this device reads, settled under the cohort's current view."""

    messages: dict[str, list[Message]]  # peer -> the thread, oldest first
    requests: dict[str, list[FeedbackRequest]]  # peer -> requests, oldest first
    refused: dict[str, str]  # event id -> why it does not count
    # (peer, event) that passed rules 1-3, in stamp order: what other folds of a channel's kinds read.
    accepted: list[tuple[str, Event]] = field(default_factory=list)
    agreements: dict[str, Agreement] = field(default_factory=dict)  # peer -> the channel's agreement
    phases: dict[str, Phase] = field(default_factory=dict)  # peer -> where the relationship stands (absent: preparing)

    def phase(self, peer: str) -> Phase:
        return self.phases.get(peer, Phase())

    def agreement(self, peer: str) -> Agreement | None:
        return self.agreements.get(peer)

    def thread(self, peer: str) -> list[Message]:
        return list(self.messages.get(peer, []))

    def asked_of(self, member: str) -> list[FeedbackRequest]:
        """Open feedback requests that ``member`` was asked, oldest first."""
        return sorted((r for rs in self.requests.values() for r in rs if r.asked == member and r.status == "open"), key=lambda r: (r.by or "9999", r.ts))


class Private:
    """The private channels and self notes of one cohort on this device.

    Args:
        me: the member reading (one of the two members of every channel held here).
    """

    def __init__(self, me: str) -> None:
        self.me = me
        self._dyad: dict[str, tuple[str, Event]] = {}  # event id -> (peer, event)
        self._self: dict[str, Event] = {}
        self.max_lamport = 0  # the newest clock seen here: this member's next channel message or self note goes past it

    def __len__(self) -> int:
        """How many events are held (it only grows: screens compare it to know whether to read again)."""
        return len(self._dyad) + len(self._self)

    def add_dyad(self, events: Iterable[tuple[str, Event]]) -> int:
        """Keep channel events (each with the peer its key names here); how many were new."""
        n = len(self._dyad)
        for peer, e in events:
            self._dyad.setdefault(e.id, (peer, e))
            if e.lamport < CLOCK_CEILING:  # a peer's altered client cannot push this member's clock out of range
                self.max_lamport = max(self.max_lamport, e.lamport)
        return len(self._dyad) - n

    def add_self(self, events: Iterable[Event]) -> int:
        n = len(self._self)
        for e in events:
            if e.author == self.me and e.kind == "self.note_added" and schema.problem(e.kind, e.body) is None:
                self._self.setdefault(e.id, e)
                self.max_lamport = max(self.max_lamport, e.lamport)
        return len(self._self) - n

    def events(self) -> list[Event]:
        """Everything held (for the sealed local snapshot)."""
        return [e for _, e in self._dyad.values()] + list(self._self.values())

    def peer_of(self, event_id: str) -> str:
        held = self._dyad.get(event_id)
        return held[0] if held else ""

    def note_events(self) -> list[Event]:
        """This member's own notes as events, oldest first."""
        return sorted(self._self.values(), key=lambda e: e.stamp)

    def notes(self) -> list[SelfNote]:
        """This member's own notes, oldest first."""
        return [SelfNote(e.id, e.body["text"], e.body.get("kind", "note"), e.body.get("meeting", ""), e.ts) for e in self.note_events()]

    def read(self, view: View) -> Channels:
        """The channels as the cohort's current membership lets them stand (a removal that arrives later cuts here too)."""
        refused: dict[str, str] = {}
        ok: list[tuple[str, Event]] = []
        for peer, e in sorted(self._dyad.values(), key=lambda pe: pe[1].stamp):
            reason = self._problem(peer, e, view)
            if reason:
                refused[e.id] = reason
            else:
                ok.append((peer, e))
        messages: dict[str, list[Message]] = {}
        requests: dict[str, dict[str, FeedbackRequest]] = {}
        ids: dict[str, str] = {}  # id -> the peer whose channel used it first
        for peer, e in ok:
            b = e.body
            if e.kind == "dyad.message":
                if b["id"] in ids:
                    refused[e.id] = "a message id used before"
                    continue
                ids[b["id"]] = peer
                messages.setdefault(peer, []).append(
                    Message(b["id"], peer, e.author, b["text"], b.get("kind", "message"), e.ts, e.stamp, b.get("reply_to", ""), b.get("request", ""))
                )
            elif e.kind == "dyad.feedback_requested":
                rid = b["request"]
                if rid in ids:
                    refused[e.id] = "a request id used before"
                    continue
                ids[rid] = peer
                asked = peer if e.author == self.me else self.me
                requests.setdefault(peer, {})[rid] = FeedbackRequest(rid, peer, e.author, asked, b["what"], b.get("by", ""), e.ts)
        for peer, e in ok:
            if e.kind != "dyad.feedback_declined":
                continue
            r = requests.get(peer, {}).get(e.body["request"])
            if r is None:
                refused[e.id] = "declines a request this channel does not hold"
            elif e.author != r.asked:
                refused[e.id] = "only the member asked declines a request"
            elif r.status == "open":
                requests[peer][r.id] = _with(r, status="declined", reason=e.body.get("reason", ""))
        for peer, thread in messages.items():
            for m in thread:
                r = requests.get(peer, {}).get(m.request) if m.request else None
                if r is not None and m.author == r.asked and r.status == "open":
                    requests[peer][r.id] = _with(r, status="answered", answer=m.id)
        agreements: dict[str, Agreement] = {}
        phases: dict[str, Phase] = {}
        by_peer: dict[str, list[Event]] = {}
        for peer, e in ok:
            if e.kind == "dyad.phase_set":
                phases[peer] = Phase(e.body["phase"], e.body.get("note", ""), e.author, e.ts)  # ``ok`` is in stamp order: the latest wins
            elif e.kind in AGREEMENT_KINDS:
                if e.body.get("id", e.body.get("agreement")) == DYAD:
                    by_peer.setdefault(peer, []).append(e)
                else:
                    refused[e.id] = "a channel's only agreement is its own"
        for peer, evs in by_peer.items():
            folded = fold_agreements(evs, kind=DYAD, parties=(self.me, peer), may_propose=lambda e: True, who_proposes="either member")
            refused.update(folded.refused)
            if DYAD in folded.agreements:
                agreements[peer] = folded.agreements[DYAD]
        return Channels(messages, {p: sorted(rs.values(), key=lambda r: r.ts) for p, rs in requests.items()}, refused, ok, agreements, phases)

    def _problem(self, peer: str, e: Event, view: View) -> str:
        if e.kind not in schema.CHANNEL_KINDS:
            return f"{e.kind} is not something a private channel holds"
        if (shape := schema.problem(e.kind, e.body)) is not None:
            return shape
        if peer == self.me or e.author not in (self.me, peer):
            return "written into a private channel by someone outside it"
        return view.counts(e) or ""


def _with(r: FeedbackRequest, **changes: str) -> FeedbackRequest:
    return replace(r, **changes)
