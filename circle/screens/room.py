"""What the meeting room shows, as text: its rows made from a :class:`~circle.models.meeting.Room`, and its front page.

:func:`read_room` reads one meeting from the folded view and :func:`room_rows`
turns it into rows (:class:`RoomRead`; the long lists are made per window,
see :class:`circle.widgets.Rows`). What members wrote is cleaned and cut to
fit; a note this device could not read back is styled as no member's words
can be. :func:`page_of` cuts what the room shows to a few KB for the
cohort's front page, and :func:`early_room` reads it back, checked, for the
room's first paint before the fold. No widgets here: the screen is
:class:`circle.screens.meeting.MeetingScreen`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from circle.models.meeting import Carried, Room, overdue, room
from circle.models.records import Action, AgendaItem, Meeting, Member, Note, Version
from circle.models.view import PHASES
from circle.screens.base import Early, rota_of
from circle.store.frontpage import Front
from circle.store.service import CohortService, today_at
from circle.store.texts import Unreadable
from circle.widgets import Rows
from circle.widgets.member_text import BLOCK_CHARS, LINE_CHARS, NAME_CHARS, block, line, name
from circle.widgets.page_text import cut, rows_data, rows_of, text_data, text_of

PHASE_HINTS = {  # each fits one line at 80 columns
    "": "Not started: the facilitator presses n to begin with check-in.",
    "check-in": "Check-in: one minute each. 3 opens People to mark who is here.",
    "agenda": "Agenda: Enter starts an item, x closes it and starts the next, + adds 5 min.",
    "feedback": "Feedback & reflection: what helped? r adds an anonymous line (round: 4).",
    "actions": "Action items: t adds one with an owner and a due date (2 lists them).",
    "wrap-up": "Wrap-up: w marks the meeting held and carries unfinished business on.",
}
HELD_HINT = "This meeting is held: notes can still be added, edited or redacted."
NOTE_CHARS = 320  # longer notes are cut in the list; Enter reads the whole note
NOTE_LINES = 6  # and so are notes of more lines than this
UNREADABLE_STYLE = "bold reverse"  # a note this device could not read back: no member's words are ever styled, so none looks like it
TITLE_CHARS = 80  # the meeting's and the running item's title in one-line places (the top bar, the countdown)


@dataclass
class RoomRead:
    """The meeting room as rows of text, built from a :class:`~circle.models.meeting.Room` (no widgets).

    The long lists (notes, actions) are :class:`~circle.widgets.Rows`: a row's text is made when a window shows it."""

    room: Room
    title: Text
    meta: Text
    hint: str
    caption: str
    agenda_title: str
    agenda_rows: Rows[AgendaItem]
    notes: dict[str | None, Rows[Note]]  # item id (None: the whole meeting) -> its "last time…" row, then its notes' rows
    action_rows: Rows[Action]
    action_status: dict[str, str]
    people_rows: Rows[Member]
    round: Text
    moved_mine: list[tuple[str, str, str]]  # (item id, title, where it was added) of my items that moved here

    @property
    def meeting(self) -> Meeting:
        return self.room.meeting

    @property
    def items(self) -> tuple[AgendaItem, ...]:
        return self.room.items

    @property
    def attendance(self) -> Mapping[str, bool]:
        return self.room.attendance

    def note_rows(self, item_id: str | None) -> Rows[Note]:
        return self.notes.get(item_id) or Rows((), str)

    def reading(self, note: Note) -> tuple[str, str]:
        """The title and whole text of a note, as Enter on its row shows them."""
        on = next((i.title for i in self.room.items if i.id == note.item), None) or self.meeting.title or "the meeting"
        whole = note_row(self.room, note, on)[1]
        return whole or (f"{'Decision' if note.kind == 'decision' else 'Note'} — {_name(self.room, note.author)}", note.text)


def read_room(svc: CohortService, meeting_id: str) -> RoomRead:
    """Read one meeting from the folded view (under the cohort's lock), then make its rows."""
    with svc.store.lock:
        view = svc.view
        r = room(view, rota_of(view), meeting_id, svc.me)
    return room_rows(r, today_at(svc.now()))


def room_rows(r: Room, today: str = "") -> RoomRead:
    """Everything the meeting room shows, as text rows; what members wrote is cleaned and cut to fit."""
    m = r.meeting
    titles = {i.id: i.title for i in r.items}
    made: dict[str, Text] = {}  # a note's row, made once for its item's list and the whole meeting's

    def note_prompt(n: Note) -> Text:
        if n.id not in made:
            made[n.id] = note_row(r, n, titles.get(n.item, m.title or "the meeting"))[0]
        return made[n.id]

    def notes_of(key: str | None) -> Rows[Note]:
        head = [("_carried", carried_row(r, r.carried[key], key))] if key in r.carried else []
        return Rows(r.notes.get(key, ()), note_prompt, head=head)

    cur = r.current
    return RoomRead(
        room=r,
        title=Text(f"{line(m.title, TITLE_CHARS) or 'Meeting'} · {line(m.at, 40)}"),
        meta=meta_line(r),
        hint=PHASE_HINTS.get(m.phase, "") if not m.held else HELD_HINT,
        caption=(
            f"{line(cur.title, TITLE_CHARS)} — {_name(r, cur.owner)}"
            if cur
            else (
                "Held: the clock has stopped."
                if m.held
                else ("No item running. Enter on an item starts it." if r.facilitator == r.me or r.supervising else "No item running yet.")
            )
        ),
        agenda_title=f"Agenda {r.done}/{len(r.items)} done",
        agenda_rows=Rows(r.items, lambda i: agenda_row(r, i)),
        notes={key: notes_of(key) for key in {*r.notes, *r.carried}},
        action_rows=Rows(r.actions, lambda a: action_row(r, a, today)),
        action_status={a.id: a.status for a in r.actions},
        people_rows=Rows(r.roster, lambda p: person_row(r, p.id)),
        round=round_text(r),
        moved_mine=[(i.id, i.title, r.moved_from.get(i.id, "")) for i in r.items if i.id in r.moved_from and i.creator == r.me and i.added_to],
    )


def _name(r: Room, member_id: str) -> str:
    return name(r.name_of(member_id))


def meta_line(r: Room) -> Text:
    """Who facilitates, how many are present, whether the meeting is held."""
    meta = Text()
    meta.append("Facilitator ", style="dim")
    meta.append(_name(r, r.facilitator) if r.facilitator else "nobody eligible", style="bold")
    if r.facilitator == r.me:
        meta.append(" (you)", style="bold")
    elif r.supervising:
        meta.append(" · you supervise", style="dim")
    meta.append(f" · {r.present}/{len(r.roster)} present", style="dim")
    if r.meeting.held:
        meta.append(" · held", style="italic")
    return meta


def agenda_row(r: Room, i: AgendaItem) -> Text:
    current = i.id == r.meeting.current_item
    t = Text()
    t.append("▶ " if current else ("✓ " if i.status == "done" else ("↻ " if i.carried_from else "• ")), style="bold" if current else "")
    t.append(line(i.title), style="strike dim" if i.status == "done" else ("bold" if current else ""))
    more = f" +{i.extended}" if i.extended else ""
    t.append(f"\n  {_name(r, i.owner)} · {i.minutes}{more} min{' · edited' if i.edited else ''}", style="dim")
    if i.id in r.moved_from:
        origin = r.moved_from[i.id]
        why = f"moved from {line(origin[:10], 10)}: added after it was wrapped up" if origin else "from the list for the next meeting"
        t.append(f"\n  {why}", style="dim italic")
    return t


def person_row(r: Room, member_id: str) -> Text:
    """Present or absent in words and a symbol, never by colour alone."""
    marked = r.attendance.get(member_id)
    t = Text()
    if marked is True:
        t.append("✓ present     ", style="bold")
    elif marked is False:
        t.append("✗ absent      ", style="dim")
    else:
        t.append("· not marked  ", style="dim italic")
    p = next((p for p in r.roster if p.id == member_id), None)
    t.append(_name(r, member_id))
    if member_id == r.me:
        t.append(" (you)")
    if p is not None and p.away:
        t.append(" · away", style="dim")
    return t


def note_start(text: str) -> str | None:
    """The start of a note too long for a row, to show with "Enter reads it all" (None when the whole note fits)."""
    lines = text.split("\n")
    if len(text) <= NOTE_CHARS and len(lines) <= NOTE_LINES:
        return None
    head = "\n".join(lines[:NOTE_LINES])
    if len(head) > NOTE_CHARS:
        head = head[:NOTE_CHARS].rsplit(" ", 1)[0]
    return head + " …"


def note_row(r: Room, n: Note, on: str) -> tuple[Text, tuple[str, str] | None]:
    """A note's row, and (title, whole text) when the row shows only its start."""
    t = Text()
    if n.kind == "decision":
        t.append("Decision: ", style="bold")
    said = n.text
    if isinstance(said, Unreadable):
        t.append(said, style=UNREADABLE_STYLE)
        t.append(f"\n  {_name(r, n.author)}", style="dim")
        return t, (f"A note of {_name(r, n.author)} that could not be read back", said)
    text = block(said)
    start = note_start(text)
    whole = None
    if start is not None:
        t.append(start)
        t.append("  Enter reads it all", style="dim italic")
        whole = (f"{'Decision' if n.kind == 'decision' else 'Note'} on “{line(on, NAME_CHARS)}” — {_name(r, n.author)}", said)
    else:
        t.append(text)
    t.append(f"\n  {_name(r, n.author)}{' · edited' if n.edited else ''}", style="dim")
    return t, whole


def carried_row(r: Room, c: Carried, item_id: str = "") -> Text:
    """The row above a carried item's notes: the action it follows up, or where it was left unfinished.

    "Last time you said…" (an unfinished item) and "Last time you took on…" (an action) only to the one it concerns;
    everyone else reads "Last time: " and who.
    """
    if c.action is not None:  # "Last time you took on “…”" to its owner; the title quoted as its author wrote it
        a = c.action
        mine = a.owner == r.me
        t = Text("Last time you " if mine else "Last time: ", style="bold italic")
        t.append(
            ("" if mine else f"{_name(r, a.owner)} ") + f"took on {quoted(a.title, LINE_CHARS)}" + (f" (due {line(a.due, 40)})" if a.due else ""),
            style="italic",
        )
        t.append(f" — {line(a.status, 20)}", style="dim")
        return t
    item = r.item(item_id)
    mine = item is not None and item.owner == r.me
    t = Text("Last time you said… " if mine else "Last time: ", style="bold italic")
    if c.source is not None:
        t.append(f"unfinished at the {line(c.origin_at[:10]) if c.origin_at else 'last'} meeting", style="italic")
        for n in c.notes:
            said = n.text
            lost = isinstance(said, Unreadable)
            t.append(f"\n  {'Decision: ' if n.kind == 'decision' else ''}", style="dim")
            t.append(said if lost else line(said, NOTE_CHARS), style=UNREADABLE_STYLE if lost else "dim")
    return t


def action_row(r: Room, a: Action, today: str = "") -> Text:
    t = Text()
    late = a.status == "open" and bool(today) and overdue(a.due, today)
    t.append("✓ " if a.status == "done" else ("✗ " if a.status == "dropped" else "☐ "))
    if late:
        t.append("OVERDUE ", style="bold reverse")
    t.append(line(a.title), style="dim" if a.status != "open" else ("bold" if late else ""))
    t.append(f"\n  {_name(r, a.owner)}{' · due ' + line(a.due, 40) if a.due else ''}{' · edited' if a.edited else ''}", style="dim")
    if a.status == "done":
        t.append(" · done", style="dim")
    if a.meeting != r.meeting.id:
        t.append(" · from an earlier meeting", style="dim italic")
    return t


def quoted(text: str, limit: int = NAME_CHARS) -> str:
    """Member text quoted in a sentence: one line (its line breaks as spaces), cleaned, cut to ``limit``, in curly quotes."""
    return f"“{line(' '.join(text.split()), limit)}”"


def redact_question(r: Room, what: str, entry_id: str) -> str:
    """What Del asks first: which entry it hides, quoted with whose it is (two can share a title), and what goes with it.

    The question is shown as plain text (:class:`~circle.screens.modals.ConfirmModal`), never as markup."""
    if what == "item" and (item := r.item(entry_id)) is not None:
        return f"Redact the agenda item {quoted(item.title)}, brought by {_name(r, item.owner)}, and the copies carried from it?"
    if what == "action" and (a := next((a for a in r.actions if a.id == entry_id), None)) is not None:
        return f"Redact the action {quoted(a.title)}, owned by {_name(r, a.owner)}, and its follow-ups?"
    if what == "note" and (n := next((n for n in r.notes_on(None) if n.id == entry_id), None)) is not None:
        said = "that could not be read back" if isinstance(n.text, Unreadable) else quoted(n.text)
        return f"Redact the {'decision' if n.kind == 'decision' else 'note'} {said}, written by {_name(r, n.author)}?"
    also = {"item": " (and the copies carried from it)", "action": " (and its follow-ups)"}.get(what, "")
    return f"Redact this {'agenda item' if what == 'item' else what}{also}?"  # it went away since the room's last read


def held_question(at: str, now: float, open_items: int) -> str:
    """What the wrap-up asks: a meeting dated on a day still to come is said to be (marking it held says it took place)."""
    q = "Mark this meeting held? The clock stops."
    if at and at[:10] > today_at(now):
        q += f"\nIt is dated {at}, a day still to come: held means it took place."
    if open_items:
        q += f"\n{open_items} unfinished item{'s' if open_items != 1 else ''} and the open actions will carry over to the next meeting."
    return q


def versions_text(versions: list[Version], names: Mapping[str, str]) -> str:
    """Every version of an entry, oldest first, as plain lines (who, when, what it set)."""
    out = []
    for n, v in enumerate(versions):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(v.ts))
        who = name(names.get(v.author, "someone"))
        shown = {k: name(names.get(x, "someone")) if k == "owner" else x for k, x in v.fields.items()}  # an owner is a member id: say whose
        fields = "; ".join(f"{k}: {shown[k]}" for k in sorted(shown) if shown[k] not in ("", None))
        out.append(f"{'Written' if n == 0 else 'Changed'} by {who}, {when}\n  {fields}")
    return "\n\n".join(out) if out else "Nothing to show."


def round_text(r: Room) -> Text:
    """The anonymous round, every line in full (the panel scrolls)."""
    rnd = Text()
    rnd.append("Anonymous round: lines shown without names, sorted so their order says nothing.\n\n", style="dim")
    for text in r.anonymous:
        rnd.append(f"“{line(text, BLOCK_CHARS)}”\n")
    closed = r.meeting.held or r.meeting.cancelled
    then = " The round closed with the meeting." if closed else " Press r to add yours."
    if not r.anonymous:
        rnd.append(("No lines." if closed else "No lines yet.") + then, style="dim italic")
    else:
        n = len(r.anonymous)
        rnd.append(f"\n{n} line{'s' if n != 1 else ''}.{then}", style="dim")
    return rnd


# ---- the front page: what this screen first shows of the next meeting, as plain data (a few KB) ----
PAGE_ROWS = {"agenda": 20, "notes": 5, "actions": 6, "people": 20}  # about what a screen of 40 lines shows; the rest comes with the fold
PAGE_ROUND = 2000  # characters of the anonymous round
EARLY_HINT = "Read-only until it is up to date: keys that change something run then."


@dataclass(frozen=True)
class RoomPage:
    """The room as its front page holds it, checked and made into text."""

    meeting: str
    title: Text
    meta: Text
    hint: str
    caption: str
    agenda_title: str
    phase: str
    held: bool
    agenda_rows: list[tuple[str, Text]]
    notes_of: str | None  # the agenda item the room opens on, whose notes the page holds (the running one, else the first; None: the whole meeting's)
    notes: list[tuple[str, Text]]
    action_rows: list[tuple[str, Text]]
    people_rows: list[tuple[str, Text]]
    round: Text


def page_of(svc: CohortService, meeting_id: str) -> dict[str, Any]:
    """What the room of ``meeting_id`` shows now, cut to a few KB, as the cohort's front page holds it."""
    r = read_room(svc, meeting_id)
    running = r.meeting.current_item
    # The room opens on the running item, else on its first.
    notes_of = running if r.agenda_rows.index_of(running) is not None else (r.agenda_rows[0][0] if r.agenda_rows else None)
    return {
        "meeting": meeting_id,
        "title": text_data(r.title),
        "meta": text_data(r.meta),
        "hint": r.hint,
        "caption": r.caption,
        "agenda_title": r.agenda_title,
        "phase": r.meeting.phase,
        "held": r.meeting.held,
        "agenda": rows_data(r.agenda_rows, PAGE_ROWS["agenda"]),
        "notes_of": notes_of,
        "notes": rows_data(r.note_rows(notes_of), PAGE_ROWS["notes"], tail=True),  # the newest, as the room opens on them
        "actions": rows_data(r.action_rows, PAGE_ROWS["actions"]),
        "people": rows_data(r.people_rows, PAGE_ROWS["people"]),
        "round": text_data(cut(r.round, PAGE_ROUND)),
    }


def _clean_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return text_of([value, []]).plain


def early_room(cohort_id: str, front: Front, today: str, meeting_id: str) -> Early | None:
    """The room's first paint from a front page (a :class:`RoomPage`), or None if the page holds none of this meeting, or not of this shape."""
    page = front.page
    section = page.get("room")
    try:
        if page.get("id") != cohort_id or not isinstance(section, dict) or section.get("meeting") != meeting_id:
            return None
        notes_of = section["notes_of"]
        if (notes_of is not None and not isinstance(notes_of, str)) or section["phase"] not in ("", *PHASES) or not isinstance(section["held"], bool):
            return None
        room_page = RoomPage(
            meeting_id,
            text_of(section["title"]),
            text_of(section["meta"]),
            _clean_str(section["hint"]),
            _clean_str(section["caption"]),
            _clean_str(section["agenda_title"]),
            section["phase"],
            section["held"],
            rows_of(section["agenda"], PAGE_ROWS["agenda"]),
            notes_of,
            rows_of(section["notes"], PAGE_ROWS["notes"]),
            rows_of(section["actions"], PAGE_ROWS["actions"]),
            rows_of(section["people"], PAGE_ROWS["people"]),
            text_of(section["round"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return Early(cohort_id, room_page, front.moved or page.get("today") != today, front.written)
