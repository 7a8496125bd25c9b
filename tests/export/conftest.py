"""Fixtures for exports: the demo cohort built once for a fixed day, copied per test, read with a frozen clock."""

from __future__ import annotations

import calendar
import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from circle import export as ex
from circle.demo import DEMO_PASSPHRASE, build_demo
from circle.store.credits import CreditService
from circle.store.goals import GoalService
from circle.store.service import CohortService
from circle.store.session import Home, Session
from tests.security.laptops import copy_db

TODAY = dt.date(2025, 6, 2)  # the demo's upcoming meeting is on 2025-06-04
EXPORTED_AT = float(calendar.timegm(dt.datetime(2025, 6, 2, 9, 30).timetuple()))
GOLDEN = Path(__file__).parent / "golden"


def frozen() -> float:
    return EXPORTED_AT


# The credit rule the export demo's mentor sets: a body's rule, so the export shows every part of one (name, body, rate, cap, cycle).
CREDIT_RULE = {"name": "HCPC CPD", "body": "Health and Care Professions Council", "hours_per_unit": "1", "credits_per_unit": "1", "cap": "12"}


def add_credits(root: Path) -> None:
    """Credits in the demo: Helen sets a body's rule (a 2-year cycle, mentors' and peers' countersignatures count), a few
    members attest their hours and Helen or the meeting's facilitator countersigns some; Tom sets his cycle's start. The
    journals then travel between the devices as sync would carry them."""
    names = ["Helen Okafor", "Amara Singh", "Tom Berg", "Kwame Mensah", "Sam O'Neill"]
    sessions = {n: Home(root).unlock(DEMO_PASSPHRASE, n, clock=frozen) for n in names}
    cid = sessions["Helen Okafor"].cohort_ids()[0]
    svc = {n: s.cohort(cid) for n, s in sessions.items()}
    by_id = {s.id: n for n, s in sessions.items()}
    helen = CreditService(svc["Helen Okafor"])
    helen.set_rule(CREDIT_RULE["name"], **{k: v for k, v in CREDIT_RULE.items() if k != "name"}, cycle_years=2, roles=("mentor", "peer"), unit="CPD points")
    held = [m for m in svc["Helen Okafor"].view.meetings() if m.held]
    for m in held[-3:]:  # Amara attests her last three; Helen countersigns two of them
        CreditService(svc["Amara Singh"]).attest(m.id)
    for m in held[-3:-1]:
        helen.attest(m.id, sessions["Amara Singh"].id)
    CreditService(svc["Kwame Mensah"]).attest(held[-1].id, minutes=55)  # Helen says 50: 50 count
    helen.attest(held[-1].id, sessions["Kwame Mensah"].id, 50)
    CreditService(svc["Kwame Mensah"]).attest(held[-2].id)  # nobody countersigned
    helen.attest(held[-4].id, sessions["Sam O'Neill"].id)  # Sam has not attested it himself
    fac = svc["Helen Okafor"].facilitator(held[-5].id)
    CreditService(svc["Tom Berg"]).attest(held[-5].id)
    if fac in by_id and by_id[fac] != "Tom Berg":  # countersigned by that meeting's facilitator (a peer)
        CreditService(svc[by_id[fac]]).attest(held[-5].id, sessions["Tom Berg"].id)
    CreditService(svc["Tom Berg"]).set_cycle(2024)
    spread(sessions, cid)


def spread(sessions: dict[str, Session], cid: str) -> None:
    """Carry every device's journal to every other, as sync would, and close the sessions."""
    every = [s.store(cid) for s in sessions.values()]
    for a in every:
        a.flush()
    for a in every:
        for b in every:
            if a is not b:
                copy_db(a.journal.path, b.peer_dir() / f"{a.entry.journal}.db")
    for s in sessions.values():
        s.store(cid).ingest()
        s.store(cid).flush()
        s.close()


def carry(src: Session, dst: Session, cid: str) -> None:
    """One device's journal to another, as sync would carry it."""
    a, b = src.store(cid), dst.store(cid)
    a.flush()
    copy_db(a.journal.path, b.peer_dir() / f"{a.entry.journal}.db")
    b.ingest()


def day(text: str) -> float:
    """Noon UTC of a ``YYYY-MM-DD`` day, as seconds since the epoch."""
    return float(calendar.timegm(dt.datetime.fromisoformat(text + " 12:00").timetuple()))


def add_goals(root: Path) -> None:
    """Goals in the demo: Kwame shares a goal with the cohort and checks in on it with evidence (one check-in before
    April, one in May), and Helen, the mentor, adds an observation; Amara shares one she has not checked in on. Private
    goals too, which no export may carry: Helen keeps one with Amara as her mentor for it, and Kwame one with Helen."""
    now = [EXPORTED_AT]
    names = ["Helen Okafor", "Amara Singh", "Kwame Mensah"]
    sessions = {n: Home(root).unlock(DEMO_PASSPHRASE, n, clock=lambda: now[0]) for n in names}
    cid = sessions["Helen Okafor"].cohort_ids()[0]
    goals = {n: GoalService(s.cohort(cid)) for n, s in sessions.items()}
    now[0] = day("2025-03-03")
    g = goals["Kwame Mensah"].add(
        "Lead a debrief after a critical incident", "skill", "Leads two debriefs; the team rates them useful", "2025-09-30", shared=True
    )
    goals["Amara Singh"].add("Know the safeguarding pathway", "knowledge", "Can walk a colleague through each referral step", "2025-07-31", shared=True)
    goals["Helen Okafor"].add("Give shorter feedback", "attitude", "One point per session, asked for first", "2025-12-31", mentor="Amara Singh")
    goals["Kwame Mensah"].add("Talk about my night shifts", "attitude", "Raise it once with Helen", "2025-08-31", mentor="Helen Okafor")
    now[0] = day("2025-03-20")
    goals["Kwame Mensah"].check_in(g, 20, "Co-led one with Sam.", "Debrief notes, ward 7, 18 March")
    carry(sessions["Kwame Mensah"], sessions["Helen Okafor"], cid)  # Helen reads Kwame's goal before checking in on it
    now[0] = day("2025-05-14")
    goals["Helen Okafor"].check_in(goals["Helen Okafor"].find(g.id), 50, "Observed him lead one.", "Observed: debrief after the 12 May arrest call")
    carry(sessions["Helen Okafor"], sessions["Kwame Mensah"], cid)
    now[0] = day("2025-05-28")
    goals["Kwame Mensah"].check_in(g, 60, "Led one on my own.", "")
    spread(sessions, cid)


@pytest.fixture(scope="session")
def export_demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("export-demo") / "home"
    build_demo(root, today=TODAY, attest=False)  # the credits of these tests are add_credits'
    add_credits(root)
    add_goals(root)
    return root


@pytest.fixture
def demo_copy(export_demo, tmp_path) -> Path:
    dest = tmp_path / "home"
    shutil.copytree(export_demo, dest, symlinks=True)
    return dest


def open_as(home: Path, name: str) -> tuple[Session, CohortService]:
    session = Home(home).unlock(DEMO_PASSPHRASE, name, clock=frozen)
    return session, session.cohort(session.cohort_ids()[0])


@pytest.fixture(scope="session")
def helen(export_demo) -> CohortService:
    """The demo read by its mentor, from the session's template (read only: nothing is written)."""
    return open_as(export_demo, "Helen Okafor")[1]


def all_formats(svc: CohortService, out: Path, **options) -> dict[str, Path]:
    """Export in every format into ``out``; returns format -> file (CSV: the zip)."""
    summary = ex.summarize(svc, **options)
    signer = ex.signer_of(svc.store.author)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for fmt in ex.FORMATS:
        path = out / ex.default_name(summary, fmt)
        ex.write(summary, fmt, path, signer, frozen())
        files[fmt] = path
    return files


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout


def readable(fmt: str, path: Path) -> str:
    """What a person (or a tool) reads of an export, as text: PDF through pdftotext, CSV as every table joined."""
    if fmt == "pdf":
        return pdf_text(path)
    if fmt == "csv":
        import zipfile

        with zipfile.ZipFile(path) as z:
            return "\n".join(f"== {n}\n" + z.read(n).decode("utf-8-sig") for n in z.namelist())
    return path.read_text(encoding="utf-8")


_FP = re.compile(r"\b\d{5}(?: \d{5}){7}\b")
_HEX = re.compile(r"\b[0-9a-f]{16}(?:[0-9a-f]{16})?\b")


def normalise(text: str) -> str:
    """Ids and fingerprints differ between two demo builds: name them by order of first appearance."""
    seen: dict[str, str] = {}

    def name(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(), f"<id{len(seen) + 1}>")

    return _HEX.sub(name, _FP.sub("<fingerprint>", text))


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package in .ci/apt-packages.txt)")
    return path
