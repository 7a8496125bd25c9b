"""`circle agreement propose`: a charter is what a mentor wrote, never the draft alone."""

from __future__ import annotations

from tests.security.laptops import Laptops
from tests.unit.test_cli import assert_one_clear_line


def test_a_proposal_with_nothing_written_is_refused_and_makes_no_version(ward: Laptops):
    assert_one_clear_line(ward.cli("Ana", "agreement", "propose", "Ward"), "nothing to propose", "--goals")
    assert "no charter agreement" in ward.cli("Ana", "agreement", "show", "Ward").output.lower()
    r = ward.cli("Ana", "agreement", "propose", "Ward", "--goals", "Grow as educators")
    assert r.exit_code == 0 and "Proposed version 1" in r.stdout, r.output
