"""A demo cohort whose members wrote hostile text, for the app's and the CLI's "text from others is data" tests.

Members of a cohort can write anything into names, titles and notes with an
altered copy of circle: they sign and seal ordinary events with their own
keys, and every other member's device folds them. So the hostile text here is
written the way such a member would, with ``store.record`` (past the checks
that circle's own commands make), each event by the member entitled to write
it: the mentor renames the cohort and retitles a meeting, each member renames
themself, and members add items, notes, decisions, actions and anonymous
lines. Journals then travel to every identity as sync would carry them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from circle.demo import DEMO_PASSPHRASE, _replicate, build_demo
from circle.models.meeting import next_meeting
from circle.store.session import Home
from circle.sync.drop import ReplicaDrop

# As long as each field may be (models/schema.py: longer bodies are held aside before anything shows them).
LONG = ("long " * 800).strip()  # 3,999 characters (a note), with spaces to wrap at
LONG_WORD = "W" * 200  # a title of the longest kind, without a single space
LONG_NAME = "Sam " + "O'Neill" * 10 + "!" * 6  # 80 characters

CORPUS = {
    "markup": "[bold]x[/]",
    "close": "[/]",
    "click": "[@click=app.quit]x[/]",
    "link": "[link=https://evil.example]x[/link]",
    "csi": "\x1b[2J",
    "osc0": "\x1b]0;pwned\x07",
    "osc8": "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "bel": "\x07",
    "bs": "abc\x08\x08\x08xyz",
    "cr": "shown\rhidden",
    "bidi": "\u202eevil\u202c",
    "zero_width": "A\u200bna",
    "c1": "\x9b2J\x85",
    "long": LONG,
    "unicode": "Ana Tūhoe 👩‍⚕️ 李小龙 Zoë",
}

COHORT_NAME = "[/] Riverside [@click=app.quit]Circle[/] \x1b]0;pwned\x07\u202eevil"
MEETING_TITLE = "[/]\x1b[2J Audit [@click=app.quit]and[/] quality\x07"
# Who renames themself to what (each member may change their own name).
NAMES = {
    "Tom Berg": "[@click=app.quit]Tom[/] Berg",
    "Lucia Romero": "Lucia \x1b[2J\x1b]0;pwned\x07Romero",
    "Priya Nair": "\u202ePriya\u202c [link=https://evil.example]Nair[/link]",
    "Amara Singh": "A\u200bmara \x08\x08\x08Singh\r",
    "Sam O'Neill": LONG_NAME,
}
ITEMS = [
    "[bold]x[/] [/] bold?",
    "\x1b[2J\x1b]0;pwned\x07 cleared?",
    "click [@click=app.quit]here[/]",
    LONG_WORD,
    "Tūhoe 👩‍⚕️ 李小龙 [link=https://evil.example]x[/link]",
]
NOTES = [
    ("note", "[@click=app.quit]click me[/] and \x1b]8;;https://evil.example\x1b\\this\x1b]8;;\x1b\\"),
    ("note", "bell\x07 backspace\x08\x08 cr\rreturn \x9b31m c1"),
    ("decision", "[link=https://evil.example]decide[/link] \u202eevil\u202c [/]"),
    ("note", LONG),
    ("note", "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten"),
]
ACTIONS = [("[/] call \x1b[2J the ward [@click=app.quit]now[/]", "2025-06-18"), (LONG_WORD, "")]
ANON = ["[@click=app.quit]anon[/]", "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ \x07", LONG[:200]]
CHARTER = {
    "name": COHORT_NAME,
    "purpose": "[bold]x[/] \x1b[2J purpose\nsecond line\rCR [/]",
    "confidentiality": LONG,
    "feedback_norms": "[link=https://evil.example]norms[/link] " + CORPUS["osc8"],
}
# Private channels, goals, agreements and credits: what members write there is as hostile as anywhere.
PRIVATE = {
    "message": "[@click=app.quit]read me[/] \x1b]0;pwned\x07\nsecond line\r\u202eevil\u202c",
    "request": "[link=https://evil.example]my case[/link] \x1b[2J",
}
GOAL = {
    "title": "[bold]Lead[/] a family meeting \x1b]0;pwned\x07",
    "measure": "[@click=app.quit]observed[/] twice \u202eevil\u202c",
    "evidence": "\x1b]8;;https://evil.example\x1b\\notes\x1b]8;;\x1b\\ \x07",
}
COI = "[/]\x1b[2J I supervise [@click=app.quit]Sam[/]\x07"
RULE_NAME = "[link=https://evil.example]CPD[/link] \x1b]0;pwned\x07"
IDENTITY_NAME = "Mallory [/]\x1b]0;pwned\x07\u202e [@click=app.quit]x[/]"  # a newcomer's own identity on this device


@dataclass
class HostileHome:
    root: Path
    cohort_id: str
    meeting_id: str
    names: dict[str, str]  # demo name -> id


def build_hostile_home(root: Path, today: dt.date) -> HostileHome:
    """The demo cohort in ``root``, then the hostile corpus written into it by its members."""
    demo = build_demo(root, today=today)
    sessions, cid = demo.sessions, demo.cohort_id
    store = {name: s.cohort(cid).store for name, s in sessions.items()}
    view = store["Helen Okafor"].view
    upcoming = next_meeting(view)
    assert upcoming is not None
    later = [m for m in view.meetings() if not m.held and m.id != upcoming.id]

    def ids(name: str) -> str:
        return sessions[name].id

    store["Helen Okafor"].record_many(
        [
            ("cohort.charter_set", CHARTER),
            ("meeting.updated", {"meeting": upcoming.id, "title": MEETING_TITLE}),
            *[("meeting.updated", {"meeting": m.id, "title": "[/] \x1b[2J" + m.title}) for m in later],
        ]
    )
    for demo_name, hostile in NAMES.items():
        store[demo_name].record("member.updated", {"member": ids(demo_name), "name": hostile})
    items = [f"hostile{k:02d}" for k in range(len(ITEMS))]
    store["Tom Berg"].record_many(
        ("agenda.added", {"item": iid, "meeting": upcoming.id, "title": title, "owner": ids("Tom Berg"), "minutes": 10}) for iid, title in zip(items, ITEMS)
    )
    first = view.agenda(upcoming.id)[0].id  # the item highlighted when the room opens: its notes show
    store["Lucia Romero"].record_many(("note.added", {"meeting": upcoming.id, "item": first, "text": text, "kind": kind}) for kind, text in NOTES)
    store["Priya Nair"].record_many(
        ("action.added", {"action": f"hostile-action-{k}", "meeting": upcoming.id, "title": title, "owner": ids("Priya Nair"), "due": due})
        for k, (title, due) in enumerate(ACTIONS)
    )
    store["Tom Berg"].record_private(ids("Kwame Mensah"), "dyad.message", {"id": "hostile-dm", "text": PRIVATE["message"], "kind": "feedback"})
    store["Tom Berg"].record_private(ids("Kwame Mensah"), "dyad.feedback_requested", {"request": "hostile-rq", "what": PRIVATE["request"]})
    lucia = ids("Lucia Romero")
    store["Lucia Romero"].record_many(
        [
            (
                "goal.set",
                {"goal": "hostile-goal", "owner": lucia, "title": GOAL["title"], "domain": "skill", "measure": GOAL["measure"], "target": "2025-09-30"},
            ),
            ("goal.checked_in", {"goal": "hostile-goal", "owner": lucia, "progress": 40, "note": CORPUS["osc8"], "evidence": GOAL["evidence"]}),
        ]
    )
    charter = view.charter_agreement()
    if charter is not None:
        v = charter.current
        store["Priya Nair"].record("agreement.signed", {"agreement": "charter", "version": v.number, "digest": v.digest, "coi": COI})
    store["Helen Okafor"].record(
        "credit.rule_set",
        {
            "id": "hostile-rule",
            "name": RULE_NAME,
            "body": CORPUS["bidi"] + CORPUS["markup"],
            "hours_per_unit": "1",
            "credits_per_unit": "1",
            "cap": "20",
            "cycle_years": 2,
            "activities": ["meeting"],
            "roles": ["mentor"],
        },
    )
    for text in ANON:  # an altered client: the text as typed, nothing cleaned
        store["Amara Singh"].add_anonymous(upcoming.id, text, ReplicaDrop(sessions["Amara Singh"], store["Amara Singh"]))

    # What sync does: every journal goes to the cohort's folder replica, every identity restores the others' and folds them,
    # and fetches the anonymous round's lines.
    _replicate(list(sessions.values()), cid)
    for s in sessions.values():
        s.store(cid).gather_rounds(ReplicaDrop(s, s.store(cid)), dt.datetime.combine(today, dt.time(12)).timestamp())  # the cohort's today
    for s in sessions.values():
        s.close()
    Home(root, calibrate=False).create_identity(IDENTITY_NAME, DEMO_PASSPHRASE)
    return HostileHome(root, cid, upcoming.id, {name: s.id for name, s in sessions.items()})


def unsafe_characters(text: str) -> list[str]:
    """Characters that must never reach a terminal from member text: C0 but newline and tab, DEL, C1, bidi controls."""
    bad = []
    for ch in text:
        c = ord(ch)
        if (c < 0x20 and ch not in "\n\t") or 0x7F <= c <= 0x9F or c in (0x061C, 0x200E, 0x200F) or 0x202A <= c <= 0x202E or 0x2066 <= c <= 0x2069:
            bad.append(repr(ch))
    return bad
