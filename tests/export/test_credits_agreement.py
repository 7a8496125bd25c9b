"""The Credits and Charter agreement sections: the figures are `circle credits`'s, and a signature that does not count is not shown.

The export demo has a body's credit rule and a few attestations (see
``conftest.add_credits``). Figures are compared with what `circle credits
--json` prints for the same cohort, member by member, for a whole export and
for a period; a tampered signature is written by an altered client
(``store.record`` with the digest of another text) and read on another device.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from circle import export as ex
from circle.cli import main
from circle.demo import DEMO_PASSPHRASE
from circle.models.agreements import CHARTER, digest
from tests.export.conftest import CREDIT_RULE, all_formats, need, open_as, readable
from tests.security.laptops import copy_db

FORGED_COI = "CANARY-FORGED-signature-2d61"


def cli(home: Path, *args: str) -> str:
    env = {"CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": DEMO_PASSPHRASE, "CIRCLE_IDENTITY": None}
    result = CliRunner().invoke(main, ["--identity", "Helen", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def home(export_demo, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("credits") / "home"
    shutil.copytree(export_demo, dest, symlinks=True)
    return dest


@pytest.mark.parametrize("period", [(), ("--from", "2025-04-01", "--to", "2025-04-30"), ("--from", "2025-05-01")])
def test_the_exported_figures_are_circle_credits_figures(home, tmp_path, period):
    out = tmp_path / "e.json"
    cli(home, "export", "Riverside", "--format", "json", "-o", str(out), *period)
    doc = json.loads(out.read_text())
    lo = period[1] if period else ""
    hi = period[3] if len(period) > 2 else ""
    exported = {m["member"]: m for m in doc["credits"]["members"]}
    assert len(exported) == 7
    assert sum(m["minutes"] for m in exported.values()) > 0  # the demo has counted hours in each of these periods: the test can fail
    ledgers: dict[int, dict[str, dict]] = {}
    for mid, m in exported.items():
        for cycle in m["cycles"]:
            if cycle["start"] not in ledgers:
                printed = json.loads(cli(home, "credits", "Riverside", "--json", "--cycle", str(cycle["start"])))
                ledgers[cycle["start"]] = {x["member"]: x for x in printed["members"]}
            led = ledgers[cycle["start"]][mid]
            assert (cycle["start"], cycle["end"]) == (led["cycle"]["start"], led["cycle"]["end"])
            assert cycle["minutes"] == led["cycle_minutes"] and cycle["units"] == led["cycle_units"]
            assert cycle["credits"] == led["cycle_credits"] and cycle["earned"] == led["cycle_earned"] and cycle["capped"] == led["capped"]
            assert m["rule"]["text"] == led["rule"]["text"] and m["rule"]["cap"] == led["rule"]["cap"]
            in_period = [r for r in led["meetings"] if (not lo or r["at"][:10] >= lo) and (not hi or r["at"][:10] <= hi)]
            assert m["minutes"] == sum(r["counted_minutes"] for r in in_period)
            assert [(r["meeting"], r["counted_minutes"]) for r in m["meetings"]] == [(r["meeting"], r["counted_minutes"]) for r in in_period]
            assert [r["meeting"] for r in m["gaps"]] == [r["meeting"] for r in in_period if r["missing"]]
    rule = doc["credits"]["rule_in_force"]
    assert (rule["name"], rule["body"], rule["hours_per_unit"], rule["cap"], rule["cycle_years"]) == (
        CREDIT_RULE["name"],
        CREDIT_RULE["body"],
        CREDIT_RULE["hours_per_unit"],
        CREDIT_RULE["cap"],
        2,
    )


def test_circle_credits_says_one_point_for_one(home):
    """Tom's cycle holds one CPD point: `circle credits` says "1 CPD point" (it said "1 CPD points", and its rule "per 1 h")."""
    out = cli(home, "credits", "Riverside", "Tom Berg", "--cycle", "2025")
    assert "→ 1 CPD point of at most 12 ·" in out, out
    assert "1 CPD point per hour with a mentor or peer" in out, out


def test_every_counted_meeting_names_both_parties(helen):
    """A credit body can tell the hours were attested by the member and countersigned, by whom and in what role."""
    s = ex.summarize(helen)
    counted = [(m.name, r) for m in s.credits.members for r in m.meetings if r.counted_minutes]
    assert {name for name, _ in counted} == {"Amara Singh", "Kwame Mensah", "Tom Berg"}
    for _name, r in counted:
        assert r.own_minutes and r.countersigned_minutes and r.countersigned_by and r.countersigner_role
        assert r.counted_minutes == min(r.own_minutes, r.countersigned_minutes)
    kwame = next(r for name, r in counted if name == "Kwame Mensah")
    assert (kwame.own_minutes, kwame.countersigned_minutes, kwame.countersigned_by, kwame.countersigner_role) == (55, 50, "Helen Okafor", "supervising mentor")
    sam = next(m for m in s.credits.members if m.name == "Sam O'Neill")
    assert "the member's own attestation is missing" in [r.missing for r in sam.gaps]
    text = ex.render(s, "md").decode()
    assert "attested by both parties" in text and "countersigned 50 min by Helen Okafor, supervising mentor" in text


@pytest.fixture(scope="module")
def forged(export_demo, tmp_path_factory):
    """Lucia (who has not signed) signs with an altered client over another text; her journal reaches Helen's device."""
    home = tmp_path_factory.mktemp("forged") / "home"
    shutil.copytree(export_demo, home, symlinks=True)
    lucia_session, lucia = open_as(home, "Lucia Romero")
    with lucia.store.lock:
        v = lucia.view.charter_agreement().current
    other = digest({**v.sections, "confidentiality": "Anything goes"})
    bad = lucia.store.record("agreement.signed", {"agreement": CHARTER, "version": v.number, "digest": other, "coi": FORGED_COI})
    lucia.store.flush()
    helen_session, helen = open_as(home, "Helen Okafor")
    copy_db(lucia.store.journal.path, helen.store.peer_dir() / f"{lucia.store.entry.journal}.db")
    helen.store.ingest()
    with helen.store.lock:
        assert bad.id in helen.view.refused()
    return helen, all_formats(helen, tmp_path_factory.mktemp("forged-out"))


def test_a_signature_over_another_text_is_not_shown_and_is_counted_as_not_counting(forged):
    need("pdftotext")
    helen, files = forged
    s = ex.summarize(helen)
    a = s.agreement
    assert "Lucia Romero" not in [x.name for x in a.signatures] and "Lucia Romero" in a.missing
    assert len(a.signatures) == 5 and a.refused == 1
    for fmt, path in files.items():
        text = " ".join(readable(fmt, path).split())
        assert FORGED_COI not in text, fmt  # its declaration is not shown either
        if fmt == "csv":
            assert "signatures_not_matching_the_text,1" in text
        else:
            assert "1 signature did not match the text and does not count." in text, fmt
    doc = json.loads(files["json"].read_text())
    assert doc["agreement"]["refused"] == 1 and "Lucia Romero" in doc["agreement"]["missing"]
    assert doc["agreement"]["digest"] == a.digest and len(a.digest) == 64


def test_the_honest_agreement_section(helen):
    """The demo's charter: five of seven signed, Tom's declaration shown, nothing refused; the digest is the text's."""
    s = ex.summarize(helen)
    a = s.agreement
    with helen.store.lock:
        v = helen.view.charter_agreement().current
    assert a.digest == digest(v.sections) and a.version == 1 and a.earlier_versions == 0 and a.refused == 0
    assert [x.name for x in a.signatures] == ["Amara Singh", "Helen Okafor", "Kwame Mensah", "Priya Nair", "Tom Berg"]
    assert a.missing == ("Lucia Romero", "Sam O'Neill")
    assert next(x.coi for x in a.signatures if x.name == "Tom Berg") == "I supervise Sam O'Neill's placement hours"
    assert [x.key for x in a.sections] == ["goals", "cadence", "confidentiality", "feedback", "ending", "text"]
    assert a.refused_text == "" and "did not match" not in ex.render(s, "md").decode()


def test_minutes_of_one_meeting_carry_neither_section(helen):
    with helen.store.lock:
        meeting = ex.find_meeting(helen.view, "2025-05-21")
    s = ex.summarize(helen, meeting=meeting.id)
    assert s.credits is None and s.agreement is None
    doc = json.loads(ex.render(s, "json"))
    assert doc["credits"] is None and doc["agreement"] is None
