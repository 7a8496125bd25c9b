"""A realistic demo cohort in a fresh home.

Seven real identities are created in the same home, each with its own
keystore and journal, all sealed with :data:`DEMO_PASSPHRASE`: a supervising
mentor who founds the cohort and admits six peers through the real invite,
join and admit exchange. Every event is written by its own author, exactly as
on seven laptops. While the history is written the identities read each
other's journals through links in their ``peers`` folders; at the end every
journal is pushed to the home's folder replica with Litestream and every
identity pulls the others from there, as `circle sync --once` does.

The content is fixed and the dates derive from ``today``, so two demo homes
built for the same day render the same screens (ids differ; screens never show
them).
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from circle.crypto.keystore import atomic_write
from circle.errors import AlreadyExists
from circle.paths import default_replica, private_dir
from circle.store.agreements import AgreementService
from circle.store.channels import ChannelService
from circle.store.credits import CreditService
from circle.store.joining import admit, create_invite, join
from circle.store.service import CohortService
from circle.store.session import Home, Session
from circle.sync.drop import ReplicaDrop
from circle.sync.location import mark_folder

DEMO_PASSPHRASE = "circle demo passphrase"
RECOVERY_CODES = "demo-recovery-codes.txt"  # in the demo home: each identity's recovery code, as `circle init` shows a real one
COHORT_NAME = "Riverside Allied Health Circle"

# (name, role, profession)
PEOPLE = [
    ("Helen Okafor", "mentor", "Consultant physiotherapist"),
    ("Amara Singh", "peer", "Dietitian"),
    ("Tom Berg", "peer", "Occupational therapist"),
    ("Lucia Romero", "peer", "Speech and language therapist"),
    ("Kwame Mensah", "peer", "Paramedic"),
    ("Priya Nair", "peer", "Clinical pharmacist"),
    ("Sam O'Neill", "participant", "Physiotherapist, newly qualified"),
]

CHARTER = {
    "purpose": "Peer supervision for early-career allied health professionals across the three Riverside community sites.",
    "cadence": "fortnightly",
    "meeting_minutes": 60,
    "confidentiality": "What is said in the circle stays in the circle. Case details are de-identified before anyone speaks.",
    "feedback_norms": "Ask before advising. Specific, kind and actionable. The person presenting chooses what to take away.",
}

AGREEMENT = {
    "goals": "Grow as reflective practitioners; bring real cases early; leave each session with one thing to try.",
    "cadence": "Fortnightly, 60 minutes, Wednesday evenings; apologies sent ahead.",
    "confidentiality": CHARTER["confidentiality"],
    "feedback": CHARTER["feedback_norms"],
    "ending": "The circle runs for the programme year and closes with a review session; anyone may leave with a word to the mentor.",
}
DYAD_AGREEMENT = {
    "goals": "Lead the circle's audit session with confidence; give feedback that colleagues can use.",
    "cadence": "Monthly, 30 minutes after the circle; more often before Kwame facilitates.",
    "confidentiality": "What we say here stays between us, unless someone's safety is at risk.",
    "feedback": "Written first, then talked through; specific, about what was done.",
    "ending": "At the end of the programme year, with a short summary we both agree.",
}
DYAD_FEEDBACK = (
    "When you handed over to me mid-item you said why and what was left: clear and calm. "
    "Next time, also say how long is left, so the group can decide whether to carry it over."
)
DYAD_REPLY = "Thanks. Could we look at how I timebox the audit item before I facilitate it?"
SIGNED = [
    ("Helen Okafor", "none"),
    ("Amara Singh", "none"),
    ("Tom Berg", "I supervise Sam O'Neill's placement hours"),
    ("Kwame Mensah", "none"),
    ("Priya Nair", "none"),
]

# Past meetings: title, agenda [(owner, title, minutes, finished)], notes [(author, item index, text, decision)],
# actions [(owner, title, due in days)], absent names, anonymous lines.
PAST = [
    (
        "Getting started",
        [("Helen Okafor", "Ground rules and confidentiality", 15, True), ("Amara Singh", "What each of us wants from the circle", 20, True)],
        [
            ("Tom Berg", 0, "Agreed to de-identify cases before presenting.", True),
            ("Lucia Romero", 1, "Most want help with difficult conversations and caseload pressure.", False),
        ],
        [("Amara Singh", "Circulate the charter draft", 7)],
        [],
        [],
    ),
    (
        "Caseload pressure",
        [("Tom Berg", "Waiting list triage at the Eastside clinic", 20, True), ("Priya Nair", "Saying no without guilt", 15, True)],
        [
            ("Kwame Mensah", 0, "Try a shared triage rubric for two weeks.", True),
            ("Amara Singh", 1, "Script: acknowledge, explain capacity, offer an alternative.", False),
        ],
        [("Tom Berg", "Draft the triage rubric", 14), ("Priya Nair", "Share the capacity script", 7)],
        [],
        ["I feel less alone with my caseload after today.", "Would like more time on the second item."],
    ),
    (
        "Difficult conversations",
        [("Lucia Romero", "A family disagreeing with a swallowing plan", 20, True), ("Sam O'Neill", "First discharge against advice", 15, False)],
        [
            ("Helen Okafor", 0, "Name the shared goal first: safety and dignity.", False),
            ("Priya Nair", 0, "Offer a second meeting with the dietitian present.", True),
        ],
        [("Lucia Romero", "Book a joint visit with Amara", 10)],
        ["Kwame Mensah"],
        [],
    ),
    (
        "Documentation",
        [("Kwame Mensah", "Handover notes that get read", 15, True), ("Amara Singh", "Templates for nutrition reviews", 15, True)],
        [("Tom Berg", 0, "SBAR at the top, detail below.", True)],
        [("Kwame Mensah", "Trial SBAR handover for one month", 30)],
        [],
        [],
    ),
    (
        "Reflective practice",
        [("Priya Nair", "A medication error I nearly missed", 20, True), ("Helen Okafor", "Writing reflections for revalidation", 15, True)],
        [
            ("Lucia Romero", 0, "Thank you for bringing this; the check that caught it worked.", False),
            ("Helen Okafor", 1, "Gibbs cycle template shared in the folder.", True),
        ],
        [("Sam O'Neill", "Write one reflection using the template", 14)],
        [],
        ["Brave of Priya to share.", "I want to bring a near miss next time.", "Helpful to hear the mentor's view."],
    ),
    (
        "Boundaries",
        [("Amara Singh", "Patients who message on personal phones", 15, True), ("Tom Berg", "Triage rubric: two weeks in", 15, False)],
        [("Kwame Mensah", 0, "Use the team phone only; say so at the first visit.", True)],
        [("Amara Singh", "Ask IT about a shared team phone", 21)],
        ["Sam O'Neill"],
        [],
    ),
    (
        "Burnout and rest",
        [("Sam O'Neill", "Keeping up with CPD while part-time", 15, True), ("Kwame Mensah", "Night shifts and recovery", 20, True)],
        [("Priya Nair", 1, "Protected recovery day after a run of nights.", False), ("Helen Okafor", 0, "CPD can include this circle: log it.", True)],
        [("Helen Okafor", "Confirm CPD hours count for the circle", 14)],
        [],
        ["Rest is part of the job.", "I will take my leave this month."],
    ),
    (
        "Teaching students",
        [("Lucia Romero", "Supervising my first student", 20, True), ("Priya Nair", "Feedback that students can use", 15, False)],
        [("Tom Berg", 0, "Set expectations in week one, in writing.", True), ("Amara Singh", 0, "Pair the student with a peer for one visit.", False)],
        [("Lucia Romero", "Share the student expectations sheet", 10)],
        [],
        [],
    ),
]

UPCOMING_ITEMS = [("Kwame Mensah", "SBAR trial: what we learned", 15), ("Sam O'Neill", "Preparing for my first audit", 15)]
DONE_ACTIONS = [
    "Circulate the charter draft",
    "Share the capacity script",
    "Book a joint visit with Amara",
    "Draft the triage rubric",
    "Write one reflection using the template",
    "Trial SBAR handover for one month",
]


def _epoch(day: dt.date, hour: int = 18) -> float:
    return float(calendar.timegm(dt.datetime(day.year, day.month, day.day, hour, 0).timetuple()))


@dataclass
class DemoClock:
    """A settable clock shared by the demo's sessions, so event times read like real meetings."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Demo:
    home: Path
    cohort_id: str
    names: list[str]
    sessions: dict[str, Session] = field(default_factory=dict)
    recovery_codes: dict[str, str] = field(default_factory=dict)  # name -> the code its recovery kits open with


def _copy_db(src: Path, dst: Path) -> bool:
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()
    return True


def _join(member: Session, founder: Session, cohort: CohortService, role: str, profession: str) -> None:
    """The real exchange: invite, join, admit; the member's request travels as a file copy."""
    joined = join(member, create_invite(founder, cohort).code)
    mine = member.store(joined.cohort_id)
    admit(cohort, joined.join_code, lambda _store, _path, out: _copy_db(mine.journal.path, out), role=role, profession=profession)
    # The member reads the founder's journal: the wrapped cohort key, and the cohort's real id.
    link = mine.peer_dir() / f"{cohort.store.entry.journal}.db"
    link.unlink(missing_ok=True)
    os.symlink(os.path.relpath(cohort.store.journal.path, link.parent), link)
    mine.ingest()


def _replicate(sessions: list[Session], cohort_id: str) -> None:
    """Replace the links by what sync does: push every journal to the folder replica, restore each once."""
    import shutil
    import tempfile

    from circle.sync import litestream as ls
    from circle.sync.location import mark_folder
    from circle.sync.service import replica_for

    restored = Path(tempfile.mkdtemp(prefix="circle-demo-restore-"))
    try:
        for s in sessions:
            store = s.store(cohort_id)
            base = replica_for(s, store)
            mark_folder(Path(base.config()["path"]))  # as `circle cohort replica` would: the folder every member uses
            replica = base.child(store.entry.replica_path)
            ls.replicate_once(store.journal.path, replica)
            ls.restore(replica, restored / f"{store.entry.journal}.db")
        for s in sessions:
            store = s.store(cohort_id)
            for link in (s.dir / "peers").iterdir():
                if link.is_symlink() or link.suffix == ".db":
                    link.unlink()
            for other in sessions:
                if other is not s:
                    jid = other.store(cohort_id).entry.journal
                    shutil.copyfile(restored / f"{jid}.db", store.peer_dir() / f"{jid}.db")
            store.ingest()
    finally:
        shutil.rmtree(restored, ignore_errors=True)


def _link_peers(sessions: list[Session], cohort_id: str) -> None:
    """Let every identity follow every other journal through a relative link (what sync would copy)."""
    for s in sessions:
        peers = s.dir / "peers"
        private_dir(peers)
        for other in sessions:
            if other is s:
                continue
            jid = other.vault.cohort(cohort_id).journal
            link = peers / f"{jid}.db"
            if link.exists() and not link.is_symlink():
                link.unlink()  # the copy fetched when admitting: follow the live file instead
            if not link.exists():
                os.symlink(os.path.relpath(other.dir / "journals" / f"{jid}.db", peers), link)


def build_demo(
    root: Path, today: dt.date | None = None, passphrase: str = DEMO_PASSPHRASE, progress: Callable[[str], None] | None = None, attest: bool = True
) -> Demo:
    """Create the demo cohort in a new or empty home at ``root``.

    Args:
        root: the home directory; must not hold identities yet.
        today: the day the demo is built for (the upcoming meeting is after it).
        passphrase: the passphrase of every demo identity.
        progress: called with a short line as each step finishes.
        attest: members attest their hours and the mentor countersigns (False: no credit events, for tests that
            write their own).
    """
    say = progress or (lambda _line: None)
    home = Home(root, calibrate=False)  # demo identities share a published passphrase: a second each buys nothing
    if home.identities():
        raise AlreadyExists("this home already has identities", "build the demo in a fresh home (leave out --home)")
    private_dir(root)
    today = today or dt.date.today()
    first = today - dt.timedelta(days=14 * len(PAST) - 2)  # the upcoming meeting is in two days
    clock = DemoClock(_epoch(first - dt.timedelta(days=7), 9))
    sessions: dict[str, Session] = {}
    for name, _role, _prof in PEOPLE:
        sessions[name] = home.create_identity(name, passphrase, clock=clock)
        say(f"identity {name}")
    founder = sessions[PEOPLE[0][0]]
    fsvc = founder.create_cohort(COHORT_NAME, profession=PEOPLE[0][2], **CHARTER)
    mark_folder(default_replica(root))  # the folder replica every member uses (the anonymous rounds' lines go there at once)
    cid = fsvc.id
    for name, role, prof in PEOPLE[1:]:
        clock.now += 60
        _join(sessions[name], founder, fsvc, role, prof)
    _link_peers(list(sessions.values()), cid)
    for s in sessions.values():
        s.cohort(cid)  # load: takes the wrapped cohort key, folds everything
    say("cohort and roster")

    def svc(name: str) -> CohortService:
        c = sessions[name].cohort(cid)
        c.store.ingest()
        return c

    def id_of(name: str) -> str:
        return sessions[name].id

    def lead(mid: str) -> CohortService:
        fac = svc(PEOPLE[0][0]).facilitator(mid)
        name = next(n for n, s in sessions.items() if s.id == fac)
        return svc(name)

    # The charter agreement: the programme allows eight mentees per mentor (room for a newcomer); most have signed, Lucia and Sam have not yet.
    charter = AgreementService(svc(PEOPLE[0][0]))
    charter.set_mentee_limit(8)
    charter.propose(AGREEMENT)
    for name, coi in SIGNED:
        clock.now += 600
        AgreementService(svc(name)).sign(coi)
    say("charter agreement")

    # A private channel: Helen mentors Kwame one-on-one, under an agreement both signed.
    def channel(name: str) -> ChannelService:
        return ChannelService(svc(name))  # svc() reads what the others wrote first

    clock.now += 3600
    channel(PEOPLE[0][0]).propose_agreement(id_of("Kwame Mensah"), DYAD_AGREEMENT)
    for name, other in (("Kwame Mensah", PEOPLE[0][0]), (PEOPLE[0][0], "Kwame Mensah")):
        clock.now += 600
        channel(name).sign_agreement(id_of(other), "none")
    channel(PEOPLE[0][0]).set_phase(id_of("Kwame Mensah"), "enabling")
    say("a private channel")

    all_names = [p[0] for p in PEOPLE]
    for n, (title, items, notes, actions, absent, anon) in enumerate(PAST):
        day = first + dt.timedelta(days=14 * n)
        clock.now = _epoch(day) - 3 * 86400
        mid = svc(PEOPLE[0][0]).schedule(f"{day.isoformat()} 18:00", title)
        for who in absent:  # apologies sent ahead: the rota skips them
            svc(who).mark_attendance(mid, id_of(who), False)
        item_ids = [svc(owner).add_item(mid, t, minutes=mins) for owner, t, mins, _ in items]
        if n == 4:  # Priya cannot make her turn and gives it back; she takes the next one
            fac = svc(PEOPLE[0][0]).facilitator(mid)
            if fac == id_of("Priya Nair"):
                svc("Priya Nair").give_back(mid)
        clock.now = _epoch(day)
        m = lead(mid)
        m.mark_attendance_many(mid, {id_of(w): True for w in all_names if w not in absent})
        m.advance_phase(mid)  # check-in
        m.advance_phase(mid)  # agenda
        carried = [i for i in m.view.agenda(mid) if i.carried_from]
        for ci in carried:  # carried items: follow-ups are touched on, then closed
            m.start_item(mid, ci.id)
            clock.now += 120
            m.finish_item(mid)
        for k, (_owner, _title, mins, finished) in enumerate(items):
            m = lead(mid)
            m.start_item(mid, item_ids[k])
            for author, idx, text, decision in notes:
                if idx == k:
                    clock.now += 60 * 4
                    svc(author).add_note(mid, text, item_ids[k], decision=decision)
            clock.now += 60 * (mins - 2)
            if n == 5 and k == 0:  # the facilitator is called away and hands over to the mentor
                m.handoff(mid, id_of(PEOPLE[0][0]))
            m = lead(mid)
            if finished:
                m.finish_item(mid)
        m = lead(mid)
        m.advance_phase(mid)  # feedback
        for line in anon:  # on the home's folder replica, in no journal: every member's device gathers them when it syncs
            clock.now += 30
            writer = all_names[(len(line) % 6) + 1]
            svc(writer).add_anonymous_line(mid, line, ReplicaDrop(sessions[writer], svc(writer).store))
        m.advance_phase(mid)  # actions
        for owner, t, due_days in actions:
            clock.now += 60
            m.add_action(mid, t, owner=id_of(owner), due=(day + dt.timedelta(days=due_days)).isoformat())
        for a in m.view.actions():
            if a.status == "open" and a.title in DONE_ACTIONS and a.meeting != mid:
                svc(next(nm for nm in all_names if id_of(nm) == a.owner)).set_action_status(a.id, "done")
        m.advance_phase(mid)  # wrap-up
        clock.now += 300
        m.mark_held(mid)
        # Hours toward continuing-education credit: each member attests, the mentor countersigns (the default
        # rule counts hours with a mentor); the newest meeting is still being signed: Sam has not attested yet,
        # Helen has not countersigned Kwame yet. Helen's own hours wait for a second mentor.
        newest = n == len(PAST) - 1
        for who in (w for w in all_names if w not in absent and attest):
            clock.now += 30
            if not (newest and who == "Sam O'Neill"):
                CreditService(svc(who)).attest(mid)
            if who != PEOPLE[0][0] and not (newest and who == "Kwame Mensah"):
                CreditService(svc(PEOPLE[0][0])).attest(mid, id_of(who))
        if n == 5:  # after the meeting where Kwame handed over mid-item, Helen writes to him privately
            clock.now += 3600
            channel(PEOPLE[0][0]).send(id_of("Kwame Mensah"), DYAD_FEEDBACK, kind="feedback")
            clock.now += 7200
            channel("Kwame Mensah").send(id_of(PEOPLE[0][0]), DYAD_REPLY, kind="question")
        say(f"meeting {n + 1}: {title}")

    # The upcoming meeting, with a few items already brought, and the one after it.
    nxt_day = first + dt.timedelta(days=14 * len(PAST))
    clock.now = _epoch(today, 9)
    mentor = svc(PEOPLE[0][0])
    mid = mentor.schedule(f"{nxt_day.isoformat()} 18:00", "Audit and quality")
    for owner, t, mins in UPCOMING_ITEMS:
        svc(owner).add_item(mid, t, minutes=mins)
    svc(PEOPLE[0][0]).schedule(f"{(nxt_day + dt.timedelta(days=14)).isoformat()} 18:00", "Open session")
    svc("Sam O'Neill").mark_attendance(mid, id_of("Sam O'Neill"), True)
    channel("Sam O'Neill").request_feedback(id_of("Kwame Mensah"), "my first case presentation (the falls audit)", by=nxt_day.isoformat())
    for s in sessions.values():
        s.store(cid).gather_rounds(ReplicaDrop(s, s.store(cid)), clock.now)  # what each device's first sync does
        s.store(cid).ingest()
        s.store(cid).flush()
    say("upcoming meeting")
    _replicate(list(sessions.values()), cid)
    say("synced through the folder replica")
    codes = {name: s.recovery_code() for name, s in sessions.items()}
    keep_recovery_codes(root, codes)
    return Demo(root, cid, all_names, sessions, codes)


def keep_recovery_codes(root: Path, codes: dict[str, str]) -> Path:
    """Write each demo identity's recovery code to :data:`RECOVERY_CODES` in the demo home (mode 0600).

    `circle init` shows a real identity's code once, to be written on paper and
    never kept on the laptop. Nobody sees a demo identity being made, so its
    code is kept here, where the demo says it is: without it a demo recovery
    kit could never be opened. It gives nothing away that the demo's published
    passphrase does not.
    """
    roles = {name: role for name, role, _ in PEOPLE}
    lines = [
        "# circle demo: the recovery code of each demo identity (a real one is shown once by 'circle init', never kept here).",
        "# Write a kit: circle --home HOME --identity NAME recovery-kit -o FILE",
        "# Open it:     circle --home ANOTHER_HOME recover FILE (it asks for the code)",
        *(f"{name} ({roles.get(name, 'member')}): {code}" for name, code in codes.items()),
    ]
    path = root / RECOVERY_CODES
    atomic_write(path, ("\n".join(lines) + "\n").encode())
    return path
