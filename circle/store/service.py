"""What people do in a cohort: its roster, meetings, agenda, notes, actions and rota.

Each command checks what a person may do, builds the event body and records
it through :meth:`CohortStore.record` (seal, append, fold, notify). Reads come
from the folded view and the pure models in ``circle.models``. A client's own
checks are a courtesy to the person; the fold is what every device enforces.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from circle.crypto.identity import PublicIdentity
from circle.errors import AlreadyExists, CorruptFile, NotFound, UsageError
from circle.models.meeting import CarryOver, TimerState, carry_over_plan, next_meeting, next_phase, previous_phase, timer
from circle.models.names import match_one
from circle.models.records import Action, AgendaItem, Meeting, Member, Note
from circle.models.rota import SUPERVISOR_ROLE, Rota
from circle.models.schema import HISTORY, HISTORY_SAYS, ROLES
from circle.models.view import View
from circle.store.anonymous import Drop
from circle.store.cohort import CohortStore, Part
from circle.store.texts import Unreadable

MAX_TITLE = 200
MAX_TEXT = 4000


class FieldError(UsageError):
    """A value a person typed is not usable; ``field`` names the form field (or command-line option) it came from.

    Forms show the title and hint beside that field and keep what was typed.
    """

    def __init__(self, field: str, title: str, hint: str = "") -> None:
        super().__init__(title, hint)
        self.field = field


MEETING_MINUTES = (5, 600)  # how long a meeting may be, as the charter allows
TIMEBOX = (1, 240)  # an agenda item's timebox
MORE_TIME = 5  # minutes "+" gives the running item


def _when(value: str, field: str = "at", today: str = "") -> str:
    """A meeting's date and time as ``YYYY-MM-DD HH:MM`` (a ``T`` between them is fine too); ``today`` is the hint's example."""
    try:
        return dt.datetime.strptime(" ".join(_text(value, "date", field=field).replace("T", " ").split()), "%Y-%m-%d %H:%M").strftime("%Y-%m-%d %H:%M")
    except ValueError:
        raise FieldError(field, "that is not a date and time", f"write it as YYYY-MM-DD HH:MM, for example {today or '2026-12-09'} 07:30") from None


def _due(value: str, field: str = "due", optional: bool = True, today: str = "") -> str:
    """A due date as ``YYYY-MM-DD``, or "" for none (where it is ``optional``); with ``today``, a day before it is refused."""
    value = value.strip()
    if not value and optional:
        return ""
    try:
        day = dt.datetime.strptime(value, "%Y-%m-%d").date().isoformat()
    except ValueError:
        hint = f"write it as YYYY-MM-DD, for example {today or '2026-12-09'}" + (", or leave it empty" if optional else "")
        raise FieldError(field, "that is not a date" if value else "a date is needed here", hint) from None
    if day < today:
        raise FieldError(field, f"{day} has passed", f"check the year and the month: today is {today}")
    return day


def today_at(now: float) -> str:
    """The local date at ``now`` (a store's clock), ``YYYY-MM-DD``: what "has passed" and overdue are judged against."""
    return dt.date.fromtimestamp(now).isoformat()


def _whole(value: int | str | None, field: str, bounds: tuple[int, int], what: str, example: int) -> int:
    """A whole number typed in a form or given on the command line, within ``bounds``."""
    lo, hi = bounds
    try:
        n = int(str(value).strip())
    except ValueError:
        n = None
    if n is None or not lo <= n <= hi:
        raise FieldError(field, f"{what} is {lo} to {hi} minutes", f"type a whole number, for example {example}")
    return n


def meeting_minutes(value: int | str | None, default: int = 60) -> int:
    """A meeting's length in minutes (5 to 600); None or "" means ``default``."""
    if value is None or str(value).strip() == "":
        return default
    return _whole(value, "minutes", MEETING_MINUTES, "a meeting", 60)


def timebox(value: int | str | None) -> int:
    """An agenda item's timebox in minutes (1 to 240)."""
    return _whole(value, "minutes", TIMEBOX, "a timebox", 10)


def _text(value: str, what: str, limit: int = MAX_TITLE, field: str = "title") -> str:
    value = " ".join(value.split()) if limit == MAX_TITLE else value.strip()
    if not value:
        raise FieldError(field, f"the {what} is empty", f"type a {what} first")
    if len(value) > limit:
        raise FieldError(field, f"the {what} is too long", f"keep it under {limit} characters")
    return value


def new_id() -> str:
    """A random id for a meeting, item or action: 64 bits, hex."""
    return os.urandom(8).hex()


class CohortService:
    """Commands and queries of one cohort: roster, meetings, agenda, rota.

    Args:
        store: the cohort's journals, keys and view, which events go through.
    """

    def __init__(self, store: CohortStore) -> None:
        self.store = store

    # ---- context -------------------------------------------------------
    @property
    def id(self) -> str:
        return self.store.id

    @property
    def view(self) -> View:
        return self.store.view

    @property
    def me(self) -> str:
        return self.store.author.id

    def now(self) -> float:
        return self.store.clock()

    def rota(self) -> Rota:
        return self.view.rota()

    def meeting(self, meeting_id: str) -> Meeting:
        m = self.view.meeting(meeting_id)
        if m is None:
            raise NotFound("no such meeting", "pick one from the cohort's meetings")
        return m

    def next_meeting(self) -> Meeting | None:
        return next_meeting(self.view)

    def facilitator(self, meeting_id: str) -> str:
        return self.rota().facilitator(meeting_id)

    def is_mentor(self, member_id: str | None = None) -> bool:
        m = self.view.member(member_id or self.me)
        return m is not None and m.active and m.role == SUPERVISOR_ROLE

    def can_lead(self, meeting_id: str) -> bool:
        """Whether I may advance phases and items: the current facilitator or a mentor."""
        return self.facilitator(meeting_id) == self.me or self.is_mentor()

    def _require_lead(self, meeting_id: str) -> Meeting:
        m = self.meeting(meeting_id)
        if not self.can_lead(meeting_id):
            who = self.view.name_of(self.facilitator(meeting_id)) if self.facilitator(meeting_id) else "the facilitator"
            raise UsageError("only the facilitator leads the meeting", f"{who} (or the supervising mentor) advances phases and items")
        if m.held:
            raise UsageError("this meeting is already wrapped up", "open the next meeting instead")
        return m

    def timer(self, meeting_id: str) -> TimerState:
        return timer(self.meeting(meeting_id), self.view.agenda(meeting_id), self.now())

    def member_by_name(self, name: str) -> Member:
        """An active member as people type their name (see :func:`match_one`)."""
        return match_one(self.view.members(), name, name=lambda m: m.name, ident=lambda m: m.id, what="member")

    # ---- roster and keys -----------------------------------------------
    @staticmethod
    def admission_body(pub: PublicIdentity, name: str, role: str, profession: str, journal: str, replica_path: str, reading: str = "") -> dict[str, Any]:
        """``reading``: the reading keys (hex) of the device that writes ``journal``, where it is not the identity's own."""
        return ({"reading": reading} if reading else {}) | {
            "member": pub.id.hex(),
            "name": name,
            "role": role,
            "profession": profession,
            "public": pub.to_bytes().hex(),
            "journal": journal,
            "replica_path": replica_path,
        }

    def admit(
        self,
        pub: PublicIdentity,
        name: str,
        role: str = "participant",
        profession: str = "",
        journal: str = "",
        replica_path: str = "",
        replaces: str = "",
        reading: str = "",
    ) -> None:
        """Admit a member (a mentor does): record it and wrap every epoch key held for them, in one transaction.

        A newcomer reads the cohort from its beginning, as a new colleague
        reads past minutes; where the charter's ``history`` is "joining", they
        read only the roster of earlier epochs (who, which keys, the schedule
        and rota) and everything from a new epoch started with their
        admission. Someone removed earlier may be admitted again with
        the keys they had and a new journal. With ``replaces``, the newcomer
        is the same person under a new identity (a laptop lost without a
        recovery kit): their earlier identity is removed first (a new epoch
        it never gets), and the admission links the two for everyone to see.
        ``reading``: the newcomer joins from a second device of theirs, which reads with keys of its own (hex).
        """
        self._require_mentor("admits members")
        if replaces:
            old = self.view.member(replaces)
            if old is None or old.id == pub.id.hex():
                raise NotFound("no such earlier member", "name the member whose identity this newcomer replaces")
            if any(m.replaces == old.id for m in self.view.members(include_removed=True)):
                raise AlreadyExists(f"{old.name}'s earlier identity is linked to someone already", "nothing changed")
            if old.active:
                self.remove(old.id)
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r}", "mentor, peer or participant")
        known = self.view.member(pub.id.hex())
        if known is not None and known.active:
            raise AlreadyExists(f"{name} is already a member", "nothing changed")
        if known is not None and known.public != pub.to_bytes().hex():
            raise UsageError(
                f"{known.name} was a member with other keys", "a member's keys never change; admit their new device from their own circle, or a new identity"
            )
        body = self.admission_body(pub, name, role, profession, journal, replica_path, reading)
        if replaces:
            body["replaces"] = replaces
        body["roster"] = {j: [m.public, path] for m in self.view.members() for j, path in m.journals if m.public}
        joining = self.view.cohort().history == "joining"
        share, given = self.store.share_keys([pub.with_reading(bytes.fromhex(reading)) if reading else pub], roster_only=joining)
        if joining:  # the roster of every earlier epoch, and a new epoch for what is said from now on
            newcomer = Member(
                body["member"],
                name,
                role,
                public=body["public"],
                journal=journal,
                journals=((journal, replica_path),),
                readers=((journal, reading),) if reading else (),
            )
            self.store.start_epoch("admission", before=[Part("member.admitted", body, None), *([share] if share else [])], joining=newcomer)
        else:
            self.store.commit([Part("member.admitted", body, self.store.sealing_key()), *([share] if share else [])])
        for kid in given:
            self.store.entry.mark_wrapped(kid, body["member"])
        self.store.vault.trust_member_journal(journal, self.id, pub)

    def remove(self, member_id: str) -> None:
        """Remove a member (a mentor does): the removal, the new epoch's wraps and its start, in one transaction.

        The fold cuts their journal where this device had seen it; they never
        receive the new key.
        """
        self._require_mentor("removes members")
        m = self.view.member(member_id)
        if m is None or not m.active:
            raise NotFound("no such active member", "see the roster with 'circle cohorts'")
        if member_id == self.me:
            raise UsageError("you cannot remove yourself", "ask another mentor to remove you")
        seen = self.view.newest_by_journal().get(m.journal, (0, ""))[0]
        self.store.start_epoch("removal", before=[Part("member.removed", {"member": member_id, "cut_seq": seen}, None)])

    def remove_device(self, journal: str) -> None:
        """Stop counting a device of this identity (the journal it writes): its removal and a new epoch it does not
        get, in one transaction, then new keys for this identity's private channels."""
        self.store.start_epoch("device removed", before=[Part("member.device_removed", {"member": self.me, "journal": journal}, None)])
        self.store.rekey_channels()

    def rotate_epoch(self) -> str:
        """Start a new key epoch for the active members; returns its key id."""
        return self.store.start_epoch("rotation").id

    def set_role(self, member_id: str, role: str) -> None:
        """Give a member another role (a mentor does; nobody changes their own)."""
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r}", "mentor, peer or participant")
        self._require_mentor("changes roles")
        m = self.view.member(member_id)
        if m is None or not m.active:
            raise NotFound("no such active member", "see the roster on the cohort screen")
        if member_id == self.me:
            raise UsageError("nobody changes their own role", "ask another mentor")
        if m.role == role:
            raise AlreadyExists(f"{m.name} is already a {role}", "nothing changed")
        self.store.record("member.updated", {"member": member_id, "role": role})

    def set_history(self, history: str) -> None:
        """What newcomers admitted from now on read of the time before they joined (a mentor decides): "all" (from the
        cohort's beginning, as a new colleague reads past minutes) or "joining" (only the roster and rota before)."""
        if history not in HISTORY:
            raise UsageError(f"unknown setting {history!r}", "all (newcomers read everything) or joining (from when they join)")
        self._require_mentor("decides what newcomers read")
        if self.view.cohort().history == history:
            raise AlreadyExists(f"newcomers already read {HISTORY_SAYS[history]}", "nothing changed")
        self.store.record("cohort.charter_set", {"history": history})

    def _require_mentor(self, what: str) -> None:
        if not self.is_mentor():
            raise UsageError(f"only a supervising mentor {what}", "ask a mentor of the cohort")

    # ---- meetings ------------------------------------------------------
    def schedule(self, at: str, title: str = "", minutes: int | str | None = None, from_today: bool = False) -> str:
        """Schedule a meeting at ``at`` (ISO date and time), ``minutes`` long (5 to 600; default: the charter's).

        If it is the next meeting, unfinished business is carried into it.
        With ``from_today`` (what a person types), a day before today is
        refused: a meeting dated before meetings already held leads no
        rota turn but its scheduler's, and would be the next meeting.
        """
        today = today_at(self.store.clock())
        at = _when(at, today=today)
        if from_today and at[:10] < today:
            raise FieldError("at", f"{at[:10]} has passed", "check the year and the month: meetings are scheduled from today on")
        length = meeting_minutes(minutes, self.view.cohort().meeting_minutes)
        title = title.strip()
        if len(title) > MAX_TITLE:
            raise FieldError("title", "the theme is too long", f"keep it under {MAX_TITLE} characters")
        mid = new_id()
        self.store.record("meeting.scheduled", {"meeting": mid, "at": at, "title": title, "minutes": length})
        self.carry_over(mid)
        return mid

    def advance_phase(self, meeting_id: str) -> str | None:
        """Move to the next phase; returns it, or None after wrap-up (nothing recorded)."""
        m = self._require_lead(meeting_id)
        nxt = next_phase(m.phase)
        if nxt is None:
            return None
        self.store.record("meeting.phase_set", {"meeting": meeting_id, "phase": nxt})
        return nxt

    def back_phase(self, meeting_id: str) -> str | None:
        m = self._require_lead(meeting_id)
        prv = previous_phase(m.phase)
        if prv is not None:
            self.store.record("meeting.phase_set", {"meeting": meeting_id, "phase": prv})
        return prv

    def mark_held(self, meeting_id: str) -> str | None:
        """Wrap the meeting up: record it held (with its facilitator), carry unfinished business on.

        Returns the id of the meeting things were carried into, if any.
        """
        m = self._require_lead(meeting_id)
        present = [mid for mid, p in self.view.attendance(meeting_id).items() if p]
        batch: list[tuple[str, dict[str, Any]]] = []
        if m.current_item:  # the clock stops with the meeting
            batch.append(("agenda.current_set", {"meeting": meeting_id, "current_item": "", "item_started": 0.0}))
        items = sorted(i.id for i in self.view.agenda(meeting_id))  # what this wrap-up had: an item it did not have moves on
        batch.append(("meeting.held", {"meeting": meeting_id, "facilitator": self.facilitator(meeting_id), "present": sorted(present), "items": items}))
        self.store.record_many(batch)
        nxt = self.next_meeting()
        if nxt is not None:
            self.carry_over(nxt.id)
            return nxt.id
        return None

    def carry_over(self, meeting_id: str) -> list[CarryOver]:
        """Put unfinished items and open actions of earlier meetings on this meeting's agenda."""
        plan = carry_over_plan(self.view, meeting_id)
        self.store.record_many(
            ("agenda.added", {"item": c.item, "meeting": meeting_id, "title": c.title, "owner": c.owner, "minutes": c.minutes, "carried_from": c.source})
            for c in plan
        )
        return plan

    # ---- agenda --------------------------------------------------------
    def add_item(self, meeting_id: str, title: str, owner: str = "", minutes: int | str = 10) -> str:
        """Anyone may add an item; ``owner`` is a member id (default: me).

        ``meeting_id`` "" puts it on the list for the next meeting: the next
        meeting scheduled picks it up (see :meth:`View.agenda`).
        """
        if meeting_id:
            m = self.meeting(meeting_id)
            if m.held:
                raise UsageError("this meeting is already wrapped up", "add it to the next meeting")
        title = _text(title, "title")
        box = timebox(minutes)
        if owner and self.view.member(owner) is None:
            raise FieldError("owner", "no such member", "pick one from the roster")
        iid = new_id()
        self.store.record("agenda.added", {"item": iid, "meeting": meeting_id, "title": title, "owner": owner or self.me, "minutes": box})
        return iid

    def give_more_time(self, meeting_id: str, minutes: int = MORE_TIME) -> AgendaItem:
        """Add ``minutes`` to the running item's timebox (the facilitator or a mentor); returns the item."""
        m = self._require_lead(meeting_id)
        item = next((i for i in self.view.agenda(meeting_id) if i.id == m.current_item), None)
        if item is None:
            raise UsageError("no item is running", "start one first (Enter on an agenda item)")
        self.store.record("agenda.extended", {"meeting": meeting_id, "item": item.id, "minutes": int(minutes)})
        return item

    def start_item(self, meeting_id: str, item_id: str) -> None:
        """Make an item current and start its countdown."""
        self._require_lead(meeting_id)
        if not any(i.id == item_id for i in self.view.agenda(meeting_id)):
            raise NotFound("no such agenda item", "pick one from the agenda")
        self.store.record("agenda.current_set", {"meeting": meeting_id, "current_item": item_id, "item_started": round(self.now(), 3)})

    def finish_item(self, meeting_id: str) -> AgendaItem | None:
        """Mark the current item done and start the next open one; returns it (or None)."""
        m = self._require_lead(meeting_id)
        items = self.view.agenda(meeting_id)
        batch = []
        if m.current_item:
            batch.append(("agenda.updated", {"item": m.current_item, "meeting": meeting_id, "status": "done"}))
        nxt = next((i for i in items if i.status == "open" and i.id != m.current_item), None)
        batch.append(
            ("agenda.current_set", {"meeting": meeting_id, "current_item": nxt.id if nxt else "", "item_started": round(self.now(), 3) if nxt else 0.0})
        )
        self.store.record_many(batch)
        return nxt

    # ---- notes, actions, attendance -----------------------------------
    def add_note(self, meeting_id: str, text: str, item_id: str = "", decision: bool = False) -> str:
        """Add a note (or a decision) to a meeting, on one of its items or none; returns the note's id."""
        self.meeting(meeting_id)
        body = {"meeting": meeting_id, "item": item_id, "text": _text(text, "note", MAX_TEXT, field="text"), "kind": "decision" if decision else "note"}
        return self.store.record("note.added", body).id

    def add_action(self, meeting_id: str, title: str, owner: str = "", due: str = "") -> str:
        """Add an action with an owner (a member id; default: me) and a due date (YYYY-MM-DD or "")."""
        self.meeting(meeting_id)
        title = _text(title, "action")
        when = _due(due, today=today_at(self.store.clock()))
        if owner and self.view.member(owner) is None:
            raise FieldError("owner", "no such member", "pick one from the roster")
        aid = new_id()
        self.store.record("action.added", {"action": aid, "meeting": meeting_id, "title": title, "owner": owner or self.me, "due": when})
        return aid

    # ---- edits and redactions -------------------------------------------
    def _may_change(self, creator: str, *meetings: str) -> bool:
        """The author, the facilitator of its meeting now, or a mentor: who may edit or redact an entry (the fold decides)."""
        return self.me == creator or self.is_mentor() or any(m and self.facilitator(m) == self.me for m in meetings)

    def note(self, note_id: str) -> Note:
        n = next((n for n in self.view.notes() if n.id == note_id), None)
        if n is None:
            raise NotFound("no such note", "pick one from the meeting's notes")
        return n

    def item(self, item_id: str) -> AgendaItem:
        it = next((i for i in self.view.agenda() if i.id == item_id), None)
        if it is None:
            raise NotFound("no such agenda item", "pick one from the agenda")
        return it

    def action(self, action_id: str) -> Action:
        a = next((a for a in self.view.actions() if a.id == action_id), None)
        if a is None:
            raise NotFound("no such action", "pick one from the actions")
        return a

    def may_edit(self, what: str, entry_id: str, redact: bool = False) -> bool:
        """Whether I may edit (or, with ``redact``, redact) a note, an item or an action; an action's owner edits it too."""
        if what == "note":
            n = self.note(entry_id)
            return self._may_change(n.author, n.meeting)
        if what == "item":
            it = self.item(entry_id)
            return self._may_change(it.creator, it.added_to, it.meeting)
        a = self.action(entry_id)
        return self._may_change(a.creator, a.meeting) or (not redact and self.me == a.owner)

    def _require_edit(self, what: str, entry_id: str, redact: bool = False) -> None:
        if not self.may_edit(what, entry_id, redact):
            who = "its author, the facilitator or a mentor" if redact or what != "action" else "its author, its owner, the facilitator or a mentor"
            raise UsageError(f"only {who} {'redacts' if redact else 'changes'} this {what}", "ask one of them")

    def edit_note(self, note_id: str, text: str, decision: bool | None = None) -> None:
        """Change a note's text (and whether it is a decision). The earlier version is kept in its history."""
        self._require_edit("note", note_id)
        n = self.note(note_id)
        if isinstance(n.text, Unreadable):  # an edit would sign the stand-in line, or words over ones nobody here can read
            raise CorruptFile("this note could not be read again from its journal", "run 'circle verify', then 'circle sync --once', and edit it again")
        text = _text(text, "note", MAX_TEXT, field="text")
        kind = n.kind if decision is None else ("decision" if decision else "note")
        if text == n.text and kind == n.kind:
            return
        self.store.record("note.edited", {"note": note_id, "text": text, "kind": kind})

    def edit_item(self, item_id: str, title: str, owner: str = "", minutes: int | str | None = None) -> None:
        """Change an item's title, who brings it or its timebox. Earlier versions are kept."""
        self._require_edit("item", item_id)
        it = self.item(item_id)
        if owner and self.view.member(owner) is None:
            raise FieldError("owner", "no such member", "pick one from the roster")
        new = {"title": _text(title, "title"), "owner": owner or it.owner, "minutes": it.minutes if minutes is None else timebox(minutes)}
        changes = {k: v for k, v in new.items() if getattr(it, k) != v}
        if changes:
            self.store.record("agenda.updated", {"item": item_id, **changes})

    def edit_action(self, action_id: str, title: str, owner: str = "", due: str | None = None) -> None:
        """Change an action's title, owner or due date. Earlier versions are kept."""
        self._require_edit("action", action_id)
        a = self.action(action_id)
        if owner and self.view.member(owner) is None:
            raise FieldError("owner", "no such member", "pick one from the roster")
        new = {
            "title": _text(title, "action"),
            "owner": owner or a.owner,
            "due": a.due if due is None or due.strip() == a.due else _due(due, today=today_at(self.store.clock())),
        }
        changes = {k: v for k, v in new.items() if getattr(a, k) != v}
        if changes:
            self.store.record("action.updated", {"action": action_id, **changes})

    def redact(self, what: str, entry_id: str) -> None:
        """Hide a note, an item or an action from every screen and export.

        It cannot erase: the encrypted event stays in its author's journal and
        every replica, readable by anyone who holds that epoch's key.
        """
        if what not in ("note", "item", "action"):
            raise UsageError(f"cannot redact a {what}", "a note, an agenda item or an action")
        self._require_edit(what, entry_id, redact=True)
        self.store.record("entry.redacted", {"entry": entry_id, "what": what})

    def set_action_status(self, action_id: str, status: str) -> None:
        """Tick an action done, drop it or open it again: its author, its owner, the facilitator or a mentor."""
        if status not in ("open", "done", "dropped"):
            raise UsageError(f"unknown status {status!r}", "open, done or dropped")
        action = next((a for a in self.view.actions() if a.id == action_id), None)
        if action is None:
            raise NotFound("no such action", "pick one from the actions")
        if self.me not in (action.creator, action.owner) and not self.is_mentor() and not (action.meeting and self.can_lead(action.meeting)):
            raise UsageError("only the action's owner, its author, the facilitator or a mentor changes it", "ask its owner")
        self.store.record("action.updated", {"action": action_id, "status": status})

    def mark_attendance(self, meeting_id: str, member_id: str, present: bool) -> None:
        """Mark someone present or absent: themselves, the facilitator or a mentor."""
        self.mark_attendance_many(meeting_id, {member_id: present})

    def mark_attendance_many(self, meeting_id: str, marks: dict[str, bool]) -> None:
        """Take the register in one go: member id -> present."""
        self.meeting(meeting_id)
        if any(self.view.member(mid) is None for mid in marks):
            raise NotFound("no such member", "pick one from the roster")
        if set(marks) != {self.me} and not self.can_lead(meeting_id):
            raise UsageError("only the facilitator marks others present", "everyone can mark themselves")
        self.store.record_many(("attendance.marked", {"meeting": meeting_id, "member": mid, "present": bool(p)}) for mid, p in marks.items())

    def add_anonymous_line(self, meeting_id: str, text: str, drop: Drop) -> None:
        """One line for a meeting's anonymous round, put on the replica through ``drop``.

        It goes in no journal and nobody signs it (see :mod:`circle.store.anonymous`);
        the view shows the round's texts only, sorted so order reveals nothing.
        """
        self.store.add_anonymous(meeting_id, self.check_anonymous_line(meeting_id, text), drop)

    def check_anonymous_line(self, meeting_id: str, text: str) -> str:
        """The line as it would be sent, or the reason it would not be: a closed round, or text that is no line."""
        meeting = self.meeting(meeting_id)
        if meeting.held or meeting.cancelled:
            raise UsageError("that meeting's round is closed", "lines go to a meeting that is still to come or under way")
        return _text(text, "line")

    # ---- rota ----------------------------------------------------------
    def handoff(self, meeting_id: str, to: str) -> None:
        """Hand the facilitator role to another active member mid-meeting."""
        self._require_lead(meeting_id)
        target = self.view.member(to)
        if target is None or not target.active:
            raise NotFound("no such member", "pick one from the roster")
        if to == self.facilitator(meeting_id):
            raise UsageError(f"{target.name} already facilitates", "pick someone else")
        self.store.record("meeting.handoff", {"meeting": meeting_id, "to": to, "from": self.facilitator(meeting_id)})

    def swap(self, meeting_a: str, meeting_b: str) -> str:
        """Ask to swap the facilitator turns of two upcoming meetings; returns the request's id.

        The author holds one of the turns; the swap takes effect when the
        holder of the other accepts (:meth:`accept_swap`). A mentor's swap
        takes effect at once.
        """
        a, b = self.meeting(meeting_a), self.meeting(meeting_b)
        if a.held or b.held:
            raise UsageError("only upcoming turns can be swapped", "pick two meetings not yet held")
        if a.id == b.id:
            raise UsageError("pick two different meetings", "")
        rota = self.rota()
        if self.me not in (rota.facilitator(a.id), rota.facilitator(b.id)) and not self.is_mentor():
            raise UsageError("you can swap only your own turn", "ask one of the two facilitators or the mentor")
        return self.store.record("rota.swapped", {"meeting_a": a.id, "meeting_b": b.id}).id

    def swap_requests(self) -> list[tuple[str, str, str, str]]:
        """Swaps waiting for this member to accept: (request id, who asks, their meeting, my meeting)."""
        rota = self.rota()
        accepted = {e.body["swap"] for e in self.view.rota_changes() if e.kind == "rota.swap_accepted"}
        out = []
        for e in self.view.rota_changes():
            if e.kind != "rota.swapped" or e.id in accepted or self.view.is_mentor_event(e):
                continue
            a, b = e.body["meeting_a"], e.body["meeting_b"]
            holders = {a: rota.facilitator(a), b: rota.facilitator(b)}
            if e.author in holders.values() and self.me in holders.values() and self.me != e.author:
                theirs = a if holders[a] == e.author else b
                out.append((e.id, e.author, theirs, b if theirs == a else a))
        return out

    def accept_swap(self, request_id: str) -> None:
        """Accept a swap asked of me: the turns change hands."""
        if request_id not in {r[0] for r in self.swap_requests()}:
            raise NotFound("no swap waiting for you", "see the rota on the cohort screen")
        self.store.record("rota.swap_accepted", {"swap": request_id})

    def give_back(self, meeting_id: str) -> None:
        """Give my turn back: the next member takes it and I take the next one I can."""
        m = self.meeting(meeting_id)
        if m.held:
            raise UsageError("that meeting is already held", "give back an upcoming turn")
        if self.rota().facilitator(meeting_id) != self.me:
            raise UsageError("it is not your turn", "you can give back only your own turn")
        self.store.record("rota.given_back", {"meeting": meeting_id})

    def set_away(self, member_id: str, away: bool) -> None:
        """Mark a member away (skipped by the rota) or back. Themselves or a mentor."""
        if member_id != self.me and not self.is_mentor():
            raise UsageError("you can mark only yourself away", "ask the supervising mentor")
        self.store.record("member.updated", {"member": member_id, "away": bool(away)})
