"""`circle goal` and `circle goals`: goals from the shell, private with a mentor or shared, with check-ins and nudges.

Three laptops (journals carried by file copy, as in tests/security); each
command runs against one person's home. Bad input is one clear line and a
non-zero exit.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import Result

from circle.store.goals import GoalService
from tests.security.laptops import Laptops
from tests.unit.test_cli import assert_one_clear_line

NEXT = dt.date.today().year + 1  # dates a year or more ahead: a day that has passed is refused


def run(lap: Laptops, who: str, *args: str) -> Result:
    return lap.cli(who, *args)


def goals_of(lap: Laptops, who: str, *more: str) -> list[dict]:
    r = run(lap, who, "goals", "Ward", *more, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["goals"]


def test_a_private_goal_with_the_mentor_and_a_shared_one(ward: Laptops):
    add = ("goal", "add", "Ward")
    r = run(ward, "Cleo", *add, "Lead a family meeting", "--domain", "skill", "--measure", "observed twice", "--target", f"{NEXT}-09-30")
    assert r.exit_code == 0, r.output
    assert "Only you and Ana can read it" in r.stdout
    r = run(ward, "Cleo", *add, "Teach ECG basics", "--domain", "knowledge", "--measure", "three sessions", "--target", f"{NEXT}-06-30", "--shared")
    assert r.exit_code == 0 and "Everyone in the cohort can read it" in r.stdout
    ward.sync()
    r = run(
        ward, "Ana", "goal", "check-in", "Ward", "Lead a family", "--of", "Cleo", "--progress", "40", "--note", "Rushed the silence", "--evidence", "obs 12 May"
    )
    assert r.exit_code == 0, r.output
    assert "Cleo's goal" in r.stdout and "[####------] 40%" in r.stdout
    ward.sync()
    mine = {g["title"]: g for g in goals_of(ward, "Cleo")}
    assert mine["Lead a family meeting"]["readers"] == ["Cleo", "Ana"] and mine["Lead a family meeting"]["progress"] == 40
    assert mine["Lead a family meeting"]["check_ins"][0] == {
        "by": "Ana",
        "at": mine["Lead a family meeting"]["check_ins"][0]["at"],
        "progress": 40,
        "note": "Rushed the silence",
        "evidence": "obs 12 May",
    }
    assert mine["Teach ECG basics"]["readers"] == "cohort"
    # Ben reads only the shared one; he cannot close it.
    assert [g["title"] for g in goals_of(ward, "Ben")] == ["Teach ECG basics"]
    assert_one_clear_line(run(ward, "Ben", "goal", "status", "Ward", "Teach ECG", "achieved"), "no goal")
    assert run(ward, "Cleo", "goal", "status", "Ward", "Teach ECG", "achieved").exit_code == 0
    ward.sync()
    assert [g["status"] for g in goals_of(ward, "Ben", "Cleo")] == ["achieved"]
    text = run(ward, "Ana", "goals", "Ward")
    assert f"Cleo · skill · [####------] 40% · by {NEXT}-09-30 · active · Only Cleo and you can read it" in text.stdout


def test_the_mentor_sets_the_nudge_and_a_quiet_goal_is_nudged(ward: Laptops):
    assert run(ward, "Ana", "goal", "nudge", "Ward", "1").exit_code == 0
    ward.sync()
    GoalService(ward.svc("Cleo")).add("Say no to extra shifts", "attitude", "a month", f"{NEXT}-07-31")
    # A goal set a week and more ago: the store's clock moves on.
    st = ward.store("Cleo")
    real = st.clock
    st.clock = lambda: real() + 8 * 86400
    read = GoalService(ward.svc("Cleo")).read()
    assert [(n.goal.title, n.weeks, n.never) for n in read.nudges] == [("Say no to extra shifts", 1, True)] and read.weeks == 1
    assert not GoalService(ward.svc("Cleo")).read(now=real()).nudges


@pytest.mark.parametrize(
    "args, fragments",
    [
        (("goal", "add", "Ward", "T", "--domain", "skill", "--measure", "m", "--target", "soon"), ("not a date",)),
        (("goal", "add", "Ward", "T", "--domain", "skill", "--measure", "m", "--target", " "), ("a date is needed here",)),
        (("goal", "add", "Ward", "T", "--domain", "skill", "--measure", "m", "--target", "2020-01-31"), ("2020-01-31 has passed", "today is")),
        (
            ("goal", "add", "Ward", "T", "--domain", "skill", "--measure", "m", "--target", f"{NEXT}-01-01", "--mentor", "Cleo"),
            ("between you and someone else",),
        ),
        (("goal", "add", "Ward", "T", "--domain", "skill", "--measure", "m", "--target", f"{NEXT}-01-01", "--link", "nope"), ("no meeting or action",)),
        (("goal", "check-in", "Ward", "nothing", "--progress", "10", "--note", "n"), ("no goal",)),
        (("goal", "nudge", "Ward", "3"), ("only a supervising mentor",)),
    ],
)
def test_bad_input_is_one_line(ward: Laptops, args, fragments):
    assert_one_clear_line(run(ward, "Cleo", *args), *fragments)


def test_progress_out_of_range_is_one_line(ward: Laptops):
    run(ward, "Cleo", "goal", "add", "Ward", "Lead", "--domain", "skill", "--measure", "m", "--target", f"{NEXT}-09-30", "--shared")
    assert_one_clear_line(run(ward, "Cleo", "goal", "check-in", "Ward", "Lead", "--progress", "140", "--note", "n"), "0 to 100")


def test_a_goal_named_twice_is_told_apart_by_id_and_a_mentor_is_told_whose_status_it_is(ward: Laptops):
    add = ("goal", "add", "Ward", "Teach SBAR to students", "--domain", "skill", "--measure", "two sessions", "--target", f"{NEXT}-03-31")
    assert run(ward, "Cleo", *add).exit_code == 0
    assert run(ward, "Cleo", *add, "--shared").exit_code == 0
    ids = sorted(g["id"] for g in goals_of(ward, "Cleo"))
    r = run(ward, "Cleo", "goal", "status", "Ward", "Teach SBAR", "achieved")
    assert_one_clear_line(r, "several goals match", "give the start of one's id", f"Teach SBAR to students ({ids[0][:8]})", f"({ids[1][:8]})")
    assert run(ward, "Cleo", "goal", "status", "Ward", ids[0][:6], "achieved").exit_code == 0
    ward.sync()
    r = run(ward, "Ana", "goal", "check-in", "Ward", "Teach", "--progress", "10", "--note", "n")  # two of Cleo's she may check in on
    assert_one_clear_line(r, "several goals match")
    r = run(ward, "Ana", "goal", "status", "Ward", ids[1][:6], "dropped")  # Ana mentors it, Cleo owns it
    assert_one_clear_line(r, "only its owner changes a goal's status")
