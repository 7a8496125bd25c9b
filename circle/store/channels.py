"""What people do in private: one-on-one channels (feedback, questions, reflections, feedback requests) and self notes.

A channel is between exactly two members and sealed with a key only they
hold (:meth:`CohortStore.record_private`); the supervising mentor, the rest of
the cohort and the replica's host cannot read it. Self notes are sealed with
a key that never leaves their author's keystore. What counts is decided by
:mod:`circle.models.private` on every device; the checks here are a courtesy.
"""

from __future__ import annotations

from dataclasses import dataclass

from circle.errors import AlreadyExists, NotFound, UsageError
from circle.models.agreements import SECTION_NAMES, SECTIONS, Agreement, digest
from circle.models.names import MIN_ID_PREFIX, match_one
from circle.models.private import DYAD, Channels, FeedbackRequest, Message, Phase, SelfNote
from circle.models.records import Member
from circle.models.schema import DYAD_PHASES, MAX_CHARTER, MESSAGE_KINDS, SELF_NOTE_KINDS
from circle.store.agreements import declaration
from circle.store.cohort import CohortStore
from circle.store.service import MAX_TEXT, CohortService, FieldError, _due, _text, new_id, today_at
from circle.store.vault import Scope


@dataclass(frozen=True)
class Audience:
    """Who can read what is being written: the scope badge.

    Attributes:
        scope: cohort, dyad or self.
        names: the readers' names (the cohort's count for the cohort scope).
    """

    scope: str
    names: tuple[str, ...]

    def line(self) -> str:
        if self.scope == "self":
            return "Only you can read this"
        if self.scope == "dyad":
            return f"Only {' and '.join(self.names)} can read this"
        return f"Everyone in the cohort can read this ({len(self.names)} members)"


class ChannelService:
    """Private channels and self notes of one cohort, for the identity that unlocked it.

    Args:
        cohort: the cohort's service (its store, view and current member).
    """

    def __init__(self, cohort: CohortService) -> None:
        self.cohort = cohort

    @property
    def store(self) -> CohortStore:
        return self.cohort.store

    @property
    def me(self) -> str:
        return self.cohort.me

    # ---- who ----------------------------------------------------------
    def peers(self) -> list[Member]:
        """The members one may open a channel with: every other active member, in roster order."""
        return [m for m in self.cohort.view.members() if m.id != self.me]

    def peer(self, name: str, former: bool = False) -> Member:
        """The other member of a channel, by the name a person typed; with ``former``, a removed member too (to read
        what the two of you wrote before: nothing more is written to them)."""
        if former:
            people = self.cohort.view.members(include_removed=True)
            m = match_one(people, name, name=lambda m: m.name, ident=lambda m: m.id, what="member")
        else:
            m = self.cohort.member_by_name(name)
        if m.id == self.me:
            raise UsageError("a private channel is between you and someone else", "name another member; for notes only you read, use 'circle note add'")
        return m

    def audience(self, peer: str | None) -> Audience:
        """Who reads what is written next: ``peer`` None is the cohort, the member's own id is self, anyone else a channel."""
        view = self.cohort.view
        if peer is None:
            return Audience("cohort", tuple(m.name for m in view.members()))
        if peer == self.me:
            return Audience("self", (view.name_of(self.me),))
        return Audience("dyad", ("you", view.name_of(peer)))

    # ---- reading ------------------------------------------------------
    def channels(self) -> Channels:
        with self.store.lock:
            return self.store.private.read(self.store.view)

    def thread(self, peer: str) -> list[Message]:
        """The channel with ``peer``, oldest first."""
        return self.channels().thread(peer)

    def requests(self, peer: str) -> list[FeedbackRequest]:
        return list(self.channels().requests.get(peer, []))

    def asked_of_me(self) -> list[FeedbackRequest]:
        """Feedback others asked of me that I have not answered or declined."""
        return self.channels().asked_of(self.me)

    def notes(self) -> list[SelfNote]:
        with self.store.lock:
            return self.store.private.notes()

    # ---- writing ------------------------------------------------------
    def _active_peer(self, peer: str) -> Member:
        m = self.cohort.view.member(peer)
        if m is None or not m.active:
            raise NotFound("that person is not a member of this cohort now", "a private channel is only with a current member")
        if m.id == self.me:
            raise UsageError("a private channel is between you and someone else", "name another member")
        return m

    def _record(self, peer: str, kind: str, body: dict, new_key: bool = False) -> None:
        m = self._active_peer(peer)
        if not new_key and self.phase(peer).phase == "closed":
            raise UsageError("this channel was closed", "reopen it first (set its phase again): it gets a new key")
        self.store.record_private(m.id, kind, body, new_key=new_key)

    # ---- the relationship: its phase and its agreement ------------------
    def phase(self, peer: str) -> Phase:
        return self.channels().phase(peer)

    def set_phase(self, peer: str, phase: str, note: str = "") -> None:
        """Move the relationship on (preparing, negotiating, enabling, closure) or close it; reopening a closed channel gives it a new key."""
        if phase not in DYAD_PHASES:
            raise FieldError("phase", f"a phase is one of {', '.join(DYAD_PHASES)}", "choose one of them")
        now = self.phase(peer).phase
        if phase == now:
            raise AlreadyExists(f"the relationship is in {phase} already", "nothing changed")
        body = {"phase": phase}
        if note.strip():
            body["note"] = _text(note, "note", MAX_TEXT, field="note")
        self._record(peer, "dyad.phase_set", body, new_key=now == "closed")

    def agreement(self, peer: str) -> Agreement | None:
        """The channel's agreement (None until one of the two proposes it)."""
        return self.channels().agreement(peer)

    def propose_agreement(self, peer: str, sections: dict[str, str]) -> int:
        """Propose the channel's agreement, or amend it (signatures start again); returns the version's number."""
        clean = {k: (sections.get(k) or "").strip() for k in SECTIONS}
        for k, v in clean.items():
            if len(v) > MAX_CHARTER:
                raise FieldError(k, f"{SECTION_NAMES[k].lower()} is too long", f"keep it under {MAX_CHARTER} characters")
        if not any(clean.values()):
            raise FieldError("goals", "the agreement has no text", "write at least the goals of the relationship")
        a = self.agreement(peer)
        body: dict = {"id": DYAD, "version": 1, "sections": clean}
        if a is not None:
            if digest(clean) == a.current.digest:
                raise AlreadyExists(f"the text is the same as version {a.current.number}", "change a section to amend it")
            body["version"] = a.current.number + 1
            body["prev"] = a.current.digest
        self._record(peer, "agreement.proposed", body)
        return body["version"]

    def sign_agreement(self, peer: str, coi: str | None) -> int:
        """Sign the channel agreement's current version with a conflict-of-interest declaration ("none" declares none)."""
        declared = declaration(coi)
        a = self.agreement(peer)
        if a is None:
            raise NotFound("this channel has no agreement yet", "either of you proposes one first")
        v = a.current
        mine = next((s for s in v.signatures if s.member == self.me), None)
        if mine is not None and mine.coi == declared:
            raise AlreadyExists(f"you signed version {v.number} already", "sign again only to change your declaration")
        self._record(peer, "agreement.signed", {"agreement": DYAD, "version": v.number, "digest": digest(v.sections), "coi": declared})
        return v.number

    def send(self, peer: str, text: str, kind: str = "message", reply_to: str = "", request: str = "") -> str:
        """Send a message into the channel with ``peer``; returns its id.

        Answering a feedback request names it (``request``); only the member
        asked can answer one, and only while it is open.
        """
        if kind not in MESSAGE_KINDS:
            raise FieldError("kind", f"a message is one of {', '.join(MESSAGE_KINDS)}", "choose one of them")
        text = _text(text, "message", MAX_TEXT, field="text")
        if request:
            request = self._open_request(peer, request, "answer").id
        mid = new_id()
        body = {"id": mid, "text": text, "kind": kind}
        if reply_to:
            body["reply_to"] = reply_to
        if request:
            body["request"] = request
        self._record(peer, "dyad.message", body)
        return mid

    def request_feedback(self, peer: str, what: str, by: str = "") -> str:
        """Ask ``peer`` for feedback on ``what``, by a date ("" for no date); it shows on their home screen until answered or declined."""
        rid = new_id()
        body = {"request": rid, "what": _text(what, "request", field="what")}
        if due := _due(by, field="by", today=today_at(self.store.clock())):
            body["by"] = due
        self._record(peer, "dyad.feedback_requested", body)
        return rid

    def _open_request(self, peer: str, ref: str, verb: str) -> FeedbackRequest:
        """The open request in the channel with ``peer`` that asked me, by its id or the start of it (4 characters or more)."""
        ref = ref.strip().lower()
        mine = [r for r in self.requests(peer) if r.asked == self.me and r.status == "open"]
        hits = [r for r in mine if r.id == ref or (len(ref) >= MIN_ID_PREFIX and r.id.startswith(ref))]
        if len(hits) > 1:
            raise UsageError("several requests start with that id", "give more of it: " + ", ".join(r.id for r in hits[:5]))
        if not hits:
            raise UsageError(f"that feedback request is not open for you to {verb}", "see 'circle dyad show' for the requests in this channel")
        return hits[0]

    def decline(self, peer: str, request: str, reason: str = "") -> None:
        request = self._open_request(peer, request, "decline").id
        body = {"request": request}
        if reason.strip():
            body["reason"] = _text(reason, "reason", field="reason")
        self._record(peer, "dyad.feedback_declined", body)

    def add_note(self, text: str, kind: str = "note", meeting: str = "") -> None:
        """A note or reflection only you can read (sealed with a key that never leaves your keystore)."""
        if kind not in SELF_NOTE_KINDS:
            raise FieldError("kind", f"a note is one of {', '.join(SELF_NOTE_KINDS)}", "choose one of them")
        body = {"text": _text(text, "note", MAX_TEXT * 2, field="text"), "kind": kind}
        if meeting:
            body["meeting"] = meeting
        self.store.record("self.note_added", body, scope=Scope.SELF)
