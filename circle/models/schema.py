"""The shape of every event body: types, ranges and lengths, checked before the fold sees it.

A body written by an altered client is untrusted input however well it is
signed: a list where a string belongs, a ten-megabyte title, a negative
timebox. :func:`problem` names the first thing wrong with a body, or returns
None; the fold holds a bad event aside and reports it, and never raises.
Fields a kind does not know are ignored (a newer circle may add some).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from circle.models.agreements import SECTIONS
from circle.models.events import Later
from circle.models.goals import DOMAINS, STATUSES

PHASES = ("check-in", "agenda", "feedback", "actions", "wrap-up")
ROLES = ("mentor", "peer", "participant")  # supervising mentor, facilitator-eligible peer, participant
CADENCES = ("weekly", "fortnightly", "monthly")
HISTORY = ("all", "joining")  # a newcomer reads the cohort's history from its beginning, or from when they join
HISTORY_SAYS = {"all": "everything since the cohort began", "joining": "from when they join (before it: who was a member, meetings and the rota)"}

MAX_NAME = 80
MAX_TITLE = 200
MAX_TEXT = 4000
MAX_CHARTER = 4000
MAX_LIST = 1000

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_REPLICA_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # a folder name a replica location takes (Replica.child): never ".", "..", "-x"
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2}){1,4096}")
_PUBLIC = re.compile(r"[0-9a-f]{2528}")  # a public identity: id (16 bytes), Ed25519 (32), ML-KEM-768 (1,184), X25519 (32)
_READING = re.compile(r"[0-9a-f]{2432}")  # a device's reading keys: ML-KEM-768 (1,184 bytes) and X25519 (32) public keys
_WHEN = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Check = Callable[[Any], str | None]


def text(max_len: int, min_len: int = 0) -> Check:
    def check(v: Any) -> str | None:
        if type(v) is Later:
            return None  # checked here before the store left it in its journal (no payload decodes to one)
        if not isinstance(v, str):
            return "not text"
        if not min_len <= len(v) <= max_len:
            return f"length {len(v)} outside {min_len}..{max_len}"
        if "\x00" in v:
            return "holds a NUL character"
        return None

    return check


def matches(pattern: re.Pattern[str], what: str, allow_empty: bool = False) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, str) or not ((allow_empty and v == "") or pattern.fullmatch(v)):
            return f"not {what}"
        return None

    return check


def one_of(*values: str) -> Check:
    def check(v: Any) -> str | None:
        return None if isinstance(v, str) and v in values else f"not one of {', '.join(values)}"

    return check


def integer(lo: int, hi: int) -> Check:
    def check(v: Any) -> str | None:
        return None if type(v) is int and lo <= v <= hi else f"not a whole number in {lo}..{hi}"

    return check


def number(lo: float, hi: float) -> Check:
    def check(v: Any) -> str | None:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi
        return None if ok else f"not a number in {lo}..{hi}"

    return check


def boolean(v: Any) -> str | None:
    return None if isinstance(v, bool) else "not true or false"


def list_of(item: Check, max_len: int = MAX_LIST) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, list) or len(v) > max_len:
            return f"not a list of at most {max_len}"
        for x in v:
            if (p := item(x)) is not None:
                return f"an entry is {p}"
        return None

    return check


def roster(v: Any) -> str | None:
    """An admitter's roster: journal id -> [public key hex, replica path]."""
    if not isinstance(v, dict) or len(v) > MAX_LIST:
        return "not a roster"
    for j, entry in v.items():
        if _HEX32.fullmatch(str(j)) is None or not isinstance(entry, list) or len(entry) != 2:
            return "not a roster"
        if HEX(entry[0]) or REPLICA_PATH(entry[1]):
            return "not a roster"
    return None


ID = matches(_ID, "an id")
OPTIONAL_ID = matches(_ID, "an id", allow_empty=True)
MEMBER = matches(_HEX32, "a member id")
OPTIONAL_MEMBER = matches(_HEX32, "a member id", allow_empty=True)
JOURNAL = matches(_HEX32, "a journal id")
KEY_ID = matches(_HEX32, "a key id")
HASH = matches(_HEX64, "a hash")
OPTIONAL_HASH = matches(_HEX64, "a hash", allow_empty=True)
HEX = matches(_HEX, "hex")
READING = matches(_READING, "a device's reading keys")
PUBLIC = matches(_PUBLIC, "a public identity")
REPLICA_PATH = matches(_REPLICA_PATH, "a replica path", allow_empty=True)
WHEN = matches(_WHEN, "a date and time (YYYY-MM-DD HH:MM)")
DUE = matches(_DATE, "a date (YYYY-MM-DD)", allow_empty=True)
TARGET = matches(_DATE, "a date (YYYY-MM-DD)")
NAME = text(MAX_NAME, 1)
TITLE = text(MAX_TITLE, 1)
OPTIONAL_TITLE = text(MAX_TITLE)
MINUTES = integer(1, 600)
MAX_EXTENSION = 60  # minutes one "more time" adds to an item at most
MAX_SLOTS = 16  # the most join attempts an invite can offer
SLOT = integer(1, MAX_SLOTS)
ENTRY_KINDS = ("note", "item", "action")  # what a redaction can hide
MESSAGE_KINDS = ("message", "feedback", "question", "reflection")  # what a private channel's messages are
SELF_NOTE_KINDS = ("note", "reflection")
# Kinds of a private channel (dyad scope): never part of the cohort's view, folded by circle.models.private.
PRIVATE_KINDS = frozenset({"dyad.message", "dyad.feedback_requested", "dyad.feedback_declined", "dyad.phase_set"})
# The relationship's phases (preparing, negotiating, enabling, closure), and closed: nothing more is written with its key.
DYAD_PHASES = ("preparing", "negotiating", "enabling", "closure", "closed")
# What a private channel may hold: its own kinds, and kinds the cohort scope knows too (a dyad's agreement;
# a private goal, which lives in the channel with its owner's mentor: models/goals.py).
CHANNEL_KINDS = PRIVATE_KINDS | {"agreement.proposed", "agreement.signed", "goal.set", "goal.checked_in", "goal.status_set"}

# Continuing-education credits (models/credits.py): amounts are decimal text, never binary floats, so every device computes the same figure.
_DECIMAL = re.compile(r"\d{1,4}(?:\.\d{1,2})?")
CREDIT_ACTIVITIES = ("meeting",)  # what circle records hours of: attended mentoring meetings


def amount(*, zero: bool = False) -> Check:
    """Decimal text ``NNNN[.NN]``: above zero, or also zero when ``zero``."""

    def check(v: Any) -> str | None:
        if not isinstance(v, str) or _DECIMAL.fullmatch(v) is None:
            return "not a decimal amount (like 2 or 0.5)"
        return None if zero or v.strip("0.") else "not above zero"

    return check


_CHARTER: dict[str, Check] = {
    "name": text(120, 1),
    "purpose": text(MAX_CHARTER),
    "cadence": one_of(*CADENCES),
    "meeting_minutes": integer(5, 600),
    "confidentiality": text(MAX_CHARTER),
    "feedback_norms": text(MAX_CHARTER),
    "mentees_per_mentor": integer(1, 100),  # the team mentoring ratio's limit (circle/models/mentoring.py)
    "goal_nudge_weeks": integer(1, 52),  # weeks without a check-in before a goal is nudged (circle/models/goals.py)
    "history": one_of(*HISTORY),  # what a newcomer reads of the time before they joined (circle/models/governance.py)
}

MAX_VERSION = 10_000  # versions of one agreement


def sections(v: Any) -> str | None:
    """An agreement version's sections: only the known ones (each is in the digest people sign), some text in one."""
    if not isinstance(v, dict) or not v:
        return "not the sections of an agreement"
    for k, t in v.items():
        if k not in SECTIONS:
            return f"has an unknown section {str(k)[:40]}"
        if (p := text(MAX_CHARTER)(t)) is not None:
            return f"section {k} {p}"
    if not any(v.values()):
        return "has no text"
    return None


# kind -> (required fields, optional fields)
SCHEMAS: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    "cohort.created": ({"name": _CHARTER["name"], "nonce": HASH}, {k: v for k, v in _CHARTER.items() if k != "name"}),
    "cohort.charter_set": ({}, _CHARTER),
    "member.admitted": (
        {"member": MEMBER, "name": NAME, "role": one_of(*ROLES), "public": PUBLIC, "journal": JOURNAL},
        {"profession": text(120), "replica_path": REPLICA_PATH, "roster": roster, "replaces": MEMBER, "reading": READING},
    ),
    "member.updated": ({"member": MEMBER}, {"name": NAME, "profession": text(120), "role": one_of(*ROLES), "away": boolean}),
    "member.removed": ({"member": MEMBER}, {"cut_seq": integer(0, 2**62)}),
    "member.device_added": ({"member": MEMBER, "journal": JOURNAL, "reading": READING}, {"replica_path": REPLICA_PATH, "device": text(MAX_NAME)}),
    "member.device_removed": ({"member": MEMBER, "journal": JOURNAL}, {}),
    "keys.epoch_started": (
        {"epoch": integer(1, 2**31), "key_id": KEY_ID, "recipients": list_of(MEMBER), "commit": HASH},
        {"prev": OPTIONAL_HASH, "reason": text(40), "roster": HASH},
    ),
    "cohort.seen": ({}, {}),  # carries a batch's citations where nothing else in it is roster-class (circle/store/cohort.py)
    "meeting.scheduled": ({"meeting": ID, "at": WHEN}, {"title": OPTIONAL_TITLE, "minutes": MINUTES}),
    "meeting.updated": ({"meeting": ID}, {"at": WHEN, "title": OPTIONAL_TITLE, "minutes": MINUTES, "cancelled": boolean}),
    "meeting.phase_set": ({"meeting": ID, "phase": one_of(*PHASES)}, {}),
    "meeting.handoff": ({"meeting": ID, "to": MEMBER}, {"from": OPTIONAL_MEMBER}),
    "meeting.held": ({"meeting": ID}, {"facilitator": OPTIONAL_MEMBER, "present": list_of(MEMBER), "items": list_of(ID)}),
    "rota.swapped": ({"meeting_a": ID, "meeting_b": ID}, {}),
    "rota.swap_accepted": ({"swap": HASH}, {}),
    "rota.given_back": ({"meeting": ID}, {}),
    "agenda.added": ({"item": ID, "meeting": OPTIONAL_ID, "title": TITLE}, {"owner": OPTIONAL_MEMBER, "minutes": integer(1, 240), "carried_from": OPTIONAL_ID}),
    "agenda.updated": (
        {"item": ID},
        {"meeting": ID, "title": TITLE, "owner": OPTIONAL_MEMBER, "minutes": integer(1, 240), "status": one_of("open", "done", "carried")},
    ),
    "agenda.current_set": ({"meeting": ID, "current_item": OPTIONAL_ID}, {"item_started": number(0, 1e11)}),
    "agenda.extended": ({"meeting": ID, "item": ID, "minutes": integer(1, MAX_EXTENSION)}, {}),
    "note.added": ({"meeting": ID, "text": text(MAX_TEXT, 1)}, {"item": OPTIONAL_ID, "kind": one_of("note", "decision")}),
    "note.edited": ({"note": HASH, "text": text(MAX_TEXT, 1)}, {"kind": one_of("note", "decision")}),
    "entry.redacted": ({"entry": ID, "what": one_of(*ENTRY_KINDS)}, {"reason": text(MAX_TITLE)}),
    "action.added": ({"action": ID, "meeting": ID, "title": TITLE}, {"owner": OPTIONAL_MEMBER, "due": DUE}),
    "action.updated": ({"action": ID}, {"title": TITLE, "owner": OPTIONAL_MEMBER, "due": DUE, "status": one_of("open", "done", "dropped")}),
    "attendance.marked": ({"meeting": ID, "member": MEMBER, "present": boolean}, {}),
    "self.note_added": ({"text": text(MAX_TEXT * 2, 1)}, {"meeting": OPTIONAL_ID, "kind": one_of(*SELF_NOTE_KINDS)}),
    "dyad.message": ({"id": ID, "text": text(MAX_TEXT, 1)}, {"kind": one_of(*MESSAGE_KINDS), "reply_to": OPTIONAL_ID, "request": OPTIONAL_ID}),
    "dyad.feedback_requested": ({"request": ID, "what": TITLE}, {"by": DUE}),
    "dyad.feedback_declined": ({"request": ID}, {"reason": OPTIONAL_TITLE}),
    "dyad.phase_set": ({"phase": one_of(*DYAD_PHASES)}, {"note": text(MAX_TEXT)}),
    "member.join_requested": ({"public": PUBLIC, "name": NAME, "journal": JOURNAL}, {"replica_path": REPLICA_PATH, "reading": READING}),
    "keys.wrapped": ({"w": list_of(HEX)}, {}),
    # The short-code exchange (store/joining.py): never in a cohort's view, checked by joining when read.
    "member.join_hello": ({"pake": HEX, "slot": SLOT}, {}),
    "invite.offered": ({"pake": list_of(HEX, MAX_SLOTS), "expires": integer(0, 2**40)}, {}),
    "invite.answered": (
        {"slot": SLOT, "inviter": MEMBER, "sign_pk": HASH, "journal": JOURNAL, "replica_path": REPLICA_PATH},
        {"cohort": OPTIONAL_MEMBER, "name": text(120)},
    ),
    "invite.refused": ({"slot": SLOT}, {"spent": boolean}),
    # Agreements (circle/models/agreements.py): a version's text, and a party's signature of its digest.
    "agreement.proposed": ({"id": ID, "version": integer(1, MAX_VERSION), "sections": sections}, {"prev": OPTIONAL_HASH}),
    "agreement.signed": ({"agreement": ID, "version": integer(1, MAX_VERSION), "digest": HASH, "coi": text(MAX_CHARTER)}, {}),
    "attendance.attested": ({"meeting": ID, "member": MEMBER, "minutes": MINUTES}, {}),
    "credit.rule_set": (
        {
            "id": ID,
            "name": NAME,
            "hours_per_unit": amount(),
            "credits_per_unit": amount(),
            "cap": amount(zero=True),
            "cycle_years": integer(1, 10),
            "activities": list_of(one_of(*CREDIT_ACTIVITIES), 8),
            "roles": list_of(one_of(*ROLES), 8),
        },
        {"body": text(MAX_TITLE), "unit": text(20, 1), "active": boolean},
    ),
    "credit.cycle_set": ({"start": integer(1900, 2200)}, {"rule": OPTIONAL_ID}),
    # Goals (circle/models/goals.py): in the cohort scope (shared) or a private channel; always naming their owner.
    "goal.set": (
        {"goal": ID, "owner": MEMBER, "title": TITLE, "domain": one_of(*DOMAINS), "measure": text(MAX_TITLE * 5, 1), "target": TARGET},
        {"links": list_of(ID, 20)},
    ),
    "goal.checked_in": ({"goal": ID, "owner": MEMBER, "progress": integer(0, 100), "note": text(MAX_TEXT, 1)}, {"evidence": text(MAX_TITLE)}),
    "goal.status_set": ({"goal": ID, "owner": MEMBER, "status": one_of(*STATUSES)}, {}),
}


# A line of the anonymous round: not an event (it lives outside every journal; see circle.crypto.anonymous).
ANONYMOUS_LINE: tuple[dict[str, Check], dict[str, Check]] = ({"id": matches(_HEX32, "a line id"), "text": TITLE}, {})


def line_problem(body: Any) -> str | None:
    """What is wrong with an anonymous line's body; no field beyond id and text, which could carry a name."""
    if isinstance(body, dict) and (extra := sorted(set(body) - set(ANONYMOUS_LINE[0]))):
        return f"unexpected field {extra[0]}"
    return shape_problem(ANONYMOUS_LINE, body)


def problem(kind: str, body: Any) -> str | None:
    """What is wrong with ``body`` for ``kind`` (one short line), or None if nothing is."""
    check = _SHAPES.get(kind)
    if check is None:
        return f"unknown kind {kind}"
    return check(body)


def shape_problem(schema: tuple[dict[str, Check], dict[str, Check]], body: Any) -> str | None:
    """What is wrong with ``body`` for ``schema`` (required fields, optional fields), or None."""
    return shape_check(schema)(body)


_MISSING = object()


def shape_check(schema: tuple[dict[str, Check], dict[str, Check]]) -> Check:
    """The checks of ``schema`` (required fields, optional fields) as one function of a body: what is wrong, or None.

    The fold checks every event's body once (100k events when a cohort opens
    cold), so each kind's fields are laid out once, here, as tuples the
    function walks: the same checks in the same order as reading the schema's
    two dicts for every body, about an eighth faster (a note's body: 0.59 µs
    against 0.68 µs on the 2-core machine of bench/README.md).
    """
    required, optional = tuple(schema[0].items()), tuple(schema[1].items())

    def check(body: Any) -> str | None:
        if not isinstance(body, dict):
            return "body is not an object"
        for name, field_check in required:
            value = body.get(name, _MISSING)
            if value is _MISSING:
                return f"{name} missing"
            if (p := field_check(value)) is not None:
                return f"{name} {p}"
        for name, field_check in optional:
            value = body.get(name, _MISSING)
            if value is not _MISSING and (p := field_check(value)) is not None:
                return f"{name} {p}"
        return None

    return check


_SHAPES: dict[str, Check] = {kind: shape_check(s) for kind, s in SCHEMAS.items()}  # SCHEMAS, laid out once (it never changes)
_KNOWN: dict[str, frozenset[str]] = {kind: frozenset(required) | frozenset(optional) for kind, (required, optional) in SCHEMAS.items()}


def known_fields(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without the fields its kind does not have (itself when it has none): docs/FORMAT.md says they are ignored.

    So they are not kept either. An altered client could put 50 MB of one
    letter in a field no one reads (a few hundred bytes once compressed);
    every device held it for good and wrote it into its snapshot.
    """
    known = _KNOWN.get(kind)
    if known is None or body.keys() <= known:
        return body
    return {k: v for k, v in body.items() if k in known}
