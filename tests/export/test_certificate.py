"""Closure certificates: a signed record that a mentoring relationship took place and closed, and nothing said in it.

Tom and Helen's channel holds a message, feedback, a feedback request, an
agreement with sections beyond its goals and a conflict-of-interest
declaration: canaries that no certificate may carry. Each writes a closure
note; each member's certificate carries only their own. Tom renames himself
to hostile text, which must come out inert.

Where the relationship was not agreed and closed by both, the certificate says
what happened instead: Amara closes her channel with Priya alone, without an
agreement; Kwame moves his with Helen (agreed by both) into closure alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from circle import export as ex
from circle.cli import main
from circle.demo import DEMO_PASSPHRASE
from circle.errors import UsageError
from circle.export import certificate
from circle.store.channels import ChannelService
from circle.store.session import Home
from tests.export.conftest import carry, day, need, readable
from tests.export.test_cli_export import one_line_error, run

DYAD = "CANARY-CERT-message-41d7"
FEEDBACK = "CANARY-CERT-feedback-9e02"
REQUEST = "CANARY-CERT-request-6ab3"
OTHER_SECTION = "CANARY-CERT-agreement-feedback-section-c815"
COI = "CANARY-CERT-coi-2f9a"
GOALS = "Tom leads a case review on his own by June"
TOM_NOTE = "CANARY-TOM-closure-note-77e1 [x](https://evil.example) <b>bold</b>"
HELEN_NOTE = "CANARY-HELEN-closure-note-0c4d"
NAME = '<b>Tom</b> [t](https://evil.example) =cmd|"/C calc"!A0'
CANARIES = (DYAD, FEEDBACK, REQUEST, OTHER_SECTION, COI)


@pytest.fixture(scope="module")
def dyad(export_demo, tmp_path_factory):
    """Tom and Helen's relationship, from a first message on 2025-03-01 to closure on 2025-05-25 and closed on 2025-05-30."""
    home = tmp_path_factory.mktemp("certificate") / "home"
    shutil.copytree(export_demo, home, symlinks=True)
    now = [day("2025-03-01")]
    sessions = {n: Home(home).unlock(DEMO_PASSPHRASE, n, clock=lambda: now[0]) for n in ("Tom Berg", "Helen Okafor")}
    cid = sessions["Tom Berg"].cohort_ids()[0]
    tom, helen = (sessions[n].cohort(cid) for n in ("Tom Berg", "Helen Okafor"))
    tch, hch = ChannelService(tom), ChannelService(helen)
    tch.send(helen.me, DYAD)
    tch.request_feedback(helen.me, REQUEST)
    tch.propose_agreement(helen.me, {"goals": GOALS, "feedback": OTHER_SECTION})
    carry(sessions["Tom Berg"], sessions["Helen Okafor"], cid)
    now[0] = day("2025-03-02")
    hch.send(tom.me, FEEDBACK, kind="feedback")
    hch.sign_agreement(tom.me, COI)
    carry(sessions["Helen Okafor"], sessions["Tom Berg"], cid)
    tch.sign_agreement(helen.me, "none")
    carry(sessions["Tom Berg"], sessions["Helen Okafor"], cid)
    refusals = []
    for svc, other in ((tom, "Helen Okafor"), (helen, "Tom Berg")):
        with pytest.raises(UsageError) as info:
            certificate.certify(svc, other)
        refusals.append(info.value)
    now[0] = day("2025-05-25")
    hch.set_phase(tom.me, "closure", HELEN_NOTE)
    carry(sessions["Helen Okafor"], sessions["Tom Berg"], cid)
    now[0] = day("2025-05-30")
    tch.set_phase(helen.me, "closed", TOM_NOTE)
    tom.store.record("member.updated", {"member": tom.me, "name": NAME})  # a member may rename themself
    carry(sessions["Tom Berg"], sessions["Helen Okafor"], cid)
    with helen.store.lock:
        assert DYAD in [m.text for m in hch.thread(tom.me)] and hch.phase(tom.me).phase == "closed"  # all there: the tests can fail
    out = tmp_path_factory.mktemp("certificate-out")
    files = {}
    cert = certificate.certify(tom, "Helen Okafor")
    for fmt in certificate.FORMATS:
        files[f"tom.{fmt}"] = path = out / f"tom.{fmt}"
        certificate.write(cert, fmt, path, ex.signer_of(tom.store.author), now[0])
    for s in sessions.values():
        s.store(cid).flush()
        s.close()
    return {"home": home, "out": out, "files": files, "cert": cert, "refusals": refusals, "tom": tom.me, "helen": helen.me}


def cli_certificate(dyad, fmt: str) -> Path:
    """Helen's certificate, written by the command line."""
    path = dyad["out"] / f"helen.{fmt}"
    if not path.exists():
        result = run(dyad["home"], "dyad", "certificate", "Riverside", dyad["tom"], "--format", fmt, "-o", str(path))
        assert result.exit_code == 0, result.output
        assert f"Wrote {path}" in result.stdout and "not an accreditation" in result.stdout
    return path


def test_the_certificate_says_who_where_when_and_how_often_they_met(dyad, helen):
    c = dyad["cert"]
    assert [p.name for p in c.parties] == [NAME, "Helen Okafor"] and c.parties[1].role == "supervising mentor"
    assert c.cohort == "Riverside Allied Health Circle" and c.phase == "closed"
    assert (c.period_from, c.period_to) == ("2025-03-01", "2025-05-25")  # the first event to the move into closure
    assert c.agreement is not None and c.agreement.goals == GOALS and c.agreement.status.startswith("signed by both")
    assert c.closure_note == TOM_NOTE  # his own; Helen's is hers
    view = helen.view  # the template's: the same meetings and attendance
    both = [
        m.at[:10]
        for m in view.meetings()
        if m.held and "2025-03-01" <= m.at[:10] <= "2025-05-25" and view.attendance(m.id).get(dyad["tom"]) and view.attendance(m.id).get(dyad["helen"])
    ]
    held = [m for m in view.meetings() if m.held and "2025-03-01" <= m.at[:10] <= "2025-05-25"]
    assert c.meetings_together == len(both) == len(c.meeting_days) and list(c.meeting_days) == both
    assert 0 < len(both) <= len(held) and "2025-02-12" not in both  # a meeting before the first event is not counted
    md = (dyad["out"] / "tom.md").read_text()
    for text in ("a record that this mentoring relationship took place and closed", "not an accreditation", "2025-03-01 to 2025-05-25", GOALS):
        assert text in md, text
    assert f"Cohort meetings both attended in the period:** {len(both)}" in md


def test_refused_before_closure_in_one_line(dyad):
    assert all("not closed" in str(e.title) and "closure" in e.hint for e in dyad["refusals"])
    result = run(dyad["home"], "dyad", "certificate", "Riverside", "Sam", "-o", str(dyad["out"] / "sam.md"))
    assert result.exit_code == 2 and "Traceback" not in result.output  # a usage error: circle's code for "not now"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("circle: the relationship is in preparing, not closed"), result.stderr
    assert not (dyad["out"] / "sam.md").exists()


@pytest.mark.parametrize("who", ["tom", "helen"])
def test_no_message_feedback_request_or_other_section_in_any_certificate(dyad, who):
    need("pdftotext")
    for fmt in certificate.FORMATS:
        path = dyad["files"][f"tom.{fmt}"] if who == "tom" else cli_certificate(dyad, fmt)
        text = readable(fmt, path)
        data = path.read_bytes() + Path(f"{path}.sig").read_bytes()
        for canary in CANARIES:
            assert canary not in text and canary.encode() not in data, f"{canary} in {who}'s {fmt}"
        own, other = (TOM_NOTE, HELEN_NOTE) if who == "tom" else (HELEN_NOTE, TOM_NOTE)
        assert own.split()[0] in text, f"{who}'s own note missing from {fmt}"  # present: the test can fail
        assert other.split()[0] not in text and other.split()[0].encode() not in data, f"the other member's note in {who}'s {fmt}"


def test_certificates_verify_with_verify_export_and_a_changed_byte_does_not(dyad):
    paths = [dyad["files"]["tom.md"], dyad["files"]["tom.pdf"], cli_certificate(dyad, "md"), cli_certificate(dyad, "pdf")]
    for path in paths:
        check = run(None, "verify-export", str(path))
        assert check.exit_code == 0, check.output
        assert check.stdout.splitlines()[0] in ("Good signature by Helen Okafor", "Good signature by Tom Berg")  # the signing identity's name
    changed = dyad["out"] / "changed.md"
    changed.write_bytes(dyad["files"]["tom.md"].read_bytes().replace(b"2025-05-25", b"2025-05-26"))
    shutil.copy(f"{dyad['files']['tom.md']}.sig", f"{changed}.sig")
    one_line_error(run(None, "verify-export", str(changed)), "changed")


def test_hostile_names_and_notes_are_inert(dyad):
    need("pdftotext")
    md = dyad["files"]["tom.md"].read_text()
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    kinds = {t.type for tok in parser.parse(md) for t in (tok, *(tok.children or ()))}
    assert not kinds & {"link_open", "image", "html_inline", "html_block", "code_inline"}, kinds
    rendered = parser.render(md)
    assert "<a " not in rendered and "<b>" not in rendered and "&lt;b&gt;Tom&lt;/b&gt;" in rendered
    pdf = " ".join(readable("pdf", dyad["files"]["tom.pdf"]).split())
    assert "<b>Tom</b> [t](https://evil.example)" in pdf and "<b>bold</b>" in pdf  # printed as written
    data = dyad["files"]["tom.pdf"].read_bytes()
    assert b"/URI" not in data and b"/JavaScript" not in data and b"/Annots" not in data


def test_a_file_name_of_a_format_a_certificate_is_not_is_refused(dyad):
    out = dyad["out"] / "tom.html"
    result = run(dyad["home"], "dyad", "certificate", "Riverside", dyad["tom"], "-o", str(out))
    assert result.exit_code == 2 and result.stderr == "circle: tom.html ends in .html, which this export is not: name it .md or .pdf\n"
    assert not out.exists()
    named = run(dyad["home"], "dyad", "certificate", "Riverside", dyad["tom"], "-o", str(dyad["out"] / "tom-by-name.pdf"))  # the ending says PDF
    assert named.exit_code == 0 and (dyad["out"] / "tom-by-name.pdf").read_bytes().startswith(b"%PDF")


@pytest.fixture(scope="module")
def lopsided(export_demo, tmp_path_factory):
    """Amara writes to Priya on 2025-04-01 (no agreement) and closes the channel alone on 2025-05-20; Kwame moves his
    channel with Helen (the demo's, agreed by both) into closure alone on 2025-05-28. Each member's certificate."""
    home = tmp_path_factory.mktemp("lopsided") / "home"
    shutil.copytree(export_demo, home, symlinks=True)
    now = [day("2025-04-01")]
    names = ("Amara Singh", "Priya Nair", "Kwame Mensah", "Helen Okafor")
    sessions = {n: Home(home).unlock(DEMO_PASSPHRASE, n, clock=lambda: now[0]) for n in names}
    cid = sessions["Amara Singh"].cohort_ids()[0]
    svc = {n: s.cohort(cid) for n, s in sessions.items()}
    ChannelService(svc["Amara Singh"]).send(svc["Priya Nair"].me, "Shall we pair up?")
    now[0] = day("2025-05-20")
    ChannelService(svc["Amara Singh"]).set_phase(svc["Priya Nair"].me, "closed")
    now[0] = day("2025-05-28")
    ChannelService(svc["Kwame Mensah"]).set_phase(svc["Helen Okafor"].me, "closure")
    carry(sessions["Amara Singh"], sessions["Priya Nair"], cid)
    carry(sessions["Kwame Mensah"], sessions["Helen Okafor"], cid)
    certs = {
        "priya": certificate.certify(svc["Priya Nair"], "Amara Singh"),
        "amara": certificate.certify(svc["Amara Singh"], "Priya Nair"),
        "helen": certificate.certify(svc["Helen Okafor"], "Kwame Mensah"),
    }
    out = tmp_path_factory.mktemp("lopsided-out")
    files = {}
    for who, cert in certs.items():
        for fmt in certificate.FORMATS:
            files[f"{who}.{fmt}"] = path = out / f"{who}.{fmt}"
            certificate.write(cert, fmt, path, ex.signer_of(svc[cert.exporter].store.author), now[0])
    for s in sessions.values():
        s.store(cid).flush()
        s.close()
    return {"home": home, "out": out, "certs": certs, "files": files}


def test_a_channel_closed_by_one_member_without_an_agreement_is_not_said_to_have_taken_place_and_closed(lopsided):
    """Either member's certificate, in either format, and the command's last line say there was no agreement and that
    Amara closed it alone, when; never that the relationship "took place and closed" (they did, before)."""
    need("pdftotext")
    said = "had no channel agreement, and was closed by Amara Singh alone"
    for who in ("priya", "amara"):
        c = lopsided["certs"][who]
        assert c.agreement is None and c.phase == "closed" and c.standing == said
        for fmt in certificate.FORMATS:
            text = " ".join(readable(fmt, lopsided["files"][f"{who}.{fmt}"]).split()).replace("*", "")
            assert said in text and "Amara Singh closed it on 2025-05-20" in text, (who, fmt, text)
            assert "took place and closed" not in text and "and closed (now" not in text, (who, fmt)
    env = {"CIRCLE_HOME": str(lopsided["home"]), "CIRCLE_PASSPHRASE": DEMO_PASSPHRASE, "CIRCLE_IDENTITY": None}
    result = CliRunner().invoke(main, ["--identity", "Priya", "dyad", "certificate", "Riverside", "Amara", "-o", str(lopsided["out"] / "cli.md")], env=env)
    assert result.exit_code == 0, result.output
    assert f"A record that this mentoring relationship {said}: not an accreditation." in result.stdout


def test_a_relationship_one_member_moved_into_closure_is_said_to_be_in_closure_not_closed(lopsided):
    need("pdftotext")
    c = lopsided["certs"]["helen"]
    assert c.agreement is not None and c.agreement.status.startswith("signed by both") and c.phase == "closure"
    said = "was moved into closure by Kwame Mensah alone and is not closed"
    assert c.standing == said
    for fmt in certificate.FORMATS:
        text = " ".join(readable(fmt, lopsided["files"][f"helen.{fmt}"]).split()).replace("*", "")
        assert said in text and "Kwame Mensah moved it into closure on 2025-05-28" in text, (fmt, text)
        assert "took place and closed" not in text and "and closed (now" not in text, fmt


def test_a_relationship_agreed_and_closed_by_both_says_so_and_how(dyad):
    """Helen moved it into closure, Tom closed it: both took part, so it took place and closed, and the certificate says who did what, when."""
    need("pdftotext")
    assert dyad["cert"].standing == "took place and closed"
    for fmt in certificate.FORMATS:
        text = " ".join(readable(fmt, dyad["files"][f"tom.{fmt}"]).split()).replace("*", "")
        assert "Helen Okafor moved it into closure on 2025-05-25; " in text and " closed it on 2025-05-30" in text, (fmt, text)


@pytest.mark.parametrize(
    ("signed", "steps", "phase", "standing"),
    [
        (("Ana", "Ben"), (("Ana", "closure"), ("Ben", "closed")), "closed", "took place and closed"),
        (("Ana", "Ben"), (("Ana", "closure"), ("Ana", "closed")), "closed", "was closed by Ana alone"),
        (("Ana", "Ben"), (("Ben", "closure"), ("Ana", "closure")), "closure", "is in closure, not closed"),
        (("Ana",), (("Ana", "closure"), ("Ben", "closed")), "closed", "had an agreement Ben did not sign, and was closed by both members"),
        ((), (("Ben", "closed"),), "closed", "had an agreement neither member signed, and was closed by Ben alone"),
        (None, (("Ana", "closure"),), "closure", "had no channel agreement, and was moved into closure by Ana alone and is not closed"),
    ],
)
def test_what_a_certificate_says_the_relationship_was(signed, steps, phase, standing):
    """Only an agreement both signed and a closure both took part in, ending closed, is "took place and closed"."""
    agreement = None if signed is None else certificate.AgreementGoals(1, "d", "goals", signed, tuple(n for n in ("Ana", "Ben") if n not in signed))
    closers = {who for who, _ in steps}
    c = certificate.Certificate(
        "Cohort",
        "2025-06-01T00:00:00Z",
        "Ana",
        (certificate.Party("Ana", "peer"), certificate.Party("Ben", "peer")),
        phase,
        "2025-01-01",
        "2025-05-01",
        agreement,
        0,
        (),
        "",
        tuple(certificate.ClosingStep(who, p, "2025-05-01") for who, p in steps),
        next(iter(closers)) if len(closers) == 1 else "",
    )
    assert c.standing == standing
    assert c.statement.startswith(f"This is a record that this mentoring relationship {standing}. It is not an accreditation")
