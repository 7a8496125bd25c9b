"""`circle credits rule`: a mentor adds a professional body's rule and retires it; its terms stay as they were set.

Three laptops (tests/security/laptops.py); Ana is the cohort's mentor, Cleo a peer.
"""

from __future__ import annotations

import json

from tests.security.laptops import Laptops
from tests.unit.test_cli import assert_one_clear_line


def rules(ward: Laptops, who: str) -> dict:
    r = ward.cli(who, "credits", "rule", "list", "Ward", "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_a_retired_rule_keeps_its_terms_and_the_rule_in_force_is_named(ward: Laptops):
    add = ("credits", "rule", "add", "Ward", "Dietitians Board CPD", "--body", "Dietitians Board", "--hours", "1", "--cap", "30")
    r = ward.cli("Ana", *add, "--cycle-years", "3", "--roles", "mentor,peer", "--unit", "CPD points")
    assert r.exit_code == 0, r.output
    set_ = next(x for x in rules(ward, "Ana")["rules"] if x["id"] == "dietitians-board-cpd")
    r = ward.cli("Cleo", "credits", "cycle", "Ward", "2026")
    assert r.exit_code == 0 and "under the rule in force, which a mentor may change" in r.stdout, r.output
    assert_one_clear_line(ward.cli("Cleo", "credits", "rule", "retire", "Ward", "dietitians-board-cpd"), "only a mentor")
    r = ward.cli("Ana", "credits", "rule", "retire", "Ward", "dietitians-board-cpd")
    assert r.exit_code == 0, r.output
    assert "Retired rule dietitians-board-cpd: Dietitians Board CPD, Dietitians Board: 1 CPD point per hour with a mentor or peer" in r.stdout
    assert "In force now: Mentorship contract (default)" in r.stdout
    doc = rules(ward, "Ana")
    retired = next(x for x in doc["rules"] if x["id"] == "dietitians-board-cpd")
    assert {**set_, "active": False, "text": retired["text"]} == retired  # every term as it was set: only "active" changed
    assert doc["in_force"] == "default" and doc["rules"][0]["id"] == "default"  # the default, in force again, is listed first
    listing = ward.cli("Ana", "credits", "rule", "list", "Ward").stdout.splitlines()
    assert listing[0].startswith("default") and "in force" in listing[0] and "retired" in listing[1]
    assert_one_clear_line(ward.cli("Ana", "credits", "rule", "retire", "Ward", "dietitians-board-cpd"), "no active credit rule")
    assert_one_clear_line(ward.cli("Ana", "credits", "rule", "retire", "Ward", "default"), "the built-in rule cannot be retired")


def test_a_cycle_start_reads_as_set_by_whoever_set_it(ward: Laptops):
    """Cleo sets her cycle's start; Ana reading the cohort's credits is not told that she set it."""
    assert ward.cli("Cleo", "credits", "cycle", "Ward", "2026").exit_code == 0
    ward.deliver("Ana", "Cleo")
    line = next(ln for ln in ward.cli("Ana", "credits", "show", "Ward").stdout.splitlines() if ln.startswith("Cleo"))
    assert "(set by the member)" in line and "you set" not in line, line
    line = next(ln for ln in ward.cli("Cleo", "credits", "show", "Ward").stdout.splitlines() if ln.startswith("Cleo"))
    assert "(you set)" in line, line
