"""The command line a facilitator scripts: schedule, list meetings and actions, tick an action, the list for the next meeting, status, --json.

Each command runs as a person or a script would run it (CliRunner, with
CIRCLE_HOME and CIRCLE_PASSPHRASE); JSON output is one line per command.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from circle.cli import main
from circle.store.session import Home
from tests.conftest import PASSPHRASE


def run(home: Path, *args: str, width: int | None = None) -> Result:
    env = {"CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASSPHRASE}
    return CliRunner().invoke(main, list(args), env=env, terminal_width=width)


def ok(r: Result) -> str:
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.fixture
def ana(tmp_path: Path) -> Path:
    root = tmp_path / "ana"
    s = Home(root, calibrate=False).create_identity("Ana Lima", PASSPHRASE)
    s.create_cohort("Night nurses").store.journal.close()
    return root


def test_the_list_for_the_next_meeting_then_schedule_and_list_meetings(ana: Path) -> None:
    out = ok(run(ana, "agenda", "add", "night", "Handover at 07:30", "--minutes", "15"))
    assert "No meeting is scheduled: on the list for the next meeting: Handover at 07:30" in out
    assert "Handover at 07:30  (Ana Lima, 15 min)" in ok(run(ana, "agenda", "night"))
    out = ok(run(ana, "meeting", "schedule", "night", "2030-12-09 07:30", "--title", "December", "--minutes", "45"))
    assert "Scheduled 2030-12-09 07:30 (45 min): December; facilitator Ana Lima." in out
    doc = json.loads(ok(run(ana, "agenda", "night", "--json")))
    assert doc["meeting"]["at"] == "2030-12-09 07:30" and [i["title"] for i in doc["items"]] == ["Handover at 07:30"] and doc["waiting"] == []
    ok(run(ana, "meeting", "schedule", "night", "2030-12-23 07:30"))
    listing = ok(run(ana, "meetings", "night")).splitlines()
    assert listing == [
        "2030-12-09 07:30  upcoming   December · facilitator Ana Lima · 1 item",
        "2030-12-23 07:30  upcoming   Meeting · facilitator Ana Lima · 0 items",
    ]
    doc = json.loads(ok(run(ana, "meetings", "night", "--json")))
    assert [(m["at"], m["state"], m["facilitator"], m["minutes"]) for m in doc["meetings"]] == [
        ("2030-12-09 07:30", "upcoming", "Ana Lima", 45),
        ("2030-12-23 07:30", "upcoming", "Ana Lima", 60),
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["2030-12-09 07:30", "--minutes", "0"], "a meeting is 5 to 600 minutes"),
        (["2030-12-09 07:30", "--minutes", "900"], "a meeting is 5 to 600 minutes"),
        (["next friday"], "that is not a date and time"),
        (["2020-01-01 10:00"], "2020-01-01 has passed"),
    ],
)
def test_schedule_checks_the_date_and_the_length(ana: Path, args: list[str], says: str) -> None:
    r = run(ana, "meeting", "schedule", "night", *args)
    assert r.exit_code == 2 and says in r.stderr and r.stdout == ""


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["agenda", "add", "night", "Handover", "--minutes", "0"], "Invalid value for '--minutes'"),
        (["agenda", "add"], "Missing argument 'COHORT'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["statu"], "Did you mean 'status'? see '"),  # not "?; see"
        (["credits", "night", "--cycle", "abc"], " credits --help'"),  # not the hidden 'credits show' it runs
    ],
)
def test_a_mistyped_command_line_is_one_line(ana: Path, args: list[str], says: str) -> None:
    """Click wrote its usage, a hint and the error on three lines; the README promises one."""
    r = run(ana, *args)
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("circle: ") and says in r.stderr and "--help'" in r.stderr


def test_actions_mine_and_open_overdue_marked_and_ticked_by_id_prefix(ana: Path) -> None:
    s = Home(ana).unlock(PASSPHRASE)
    svc = s.cohort(s.cohort_ids()[0])
    mid = svc.schedule("2026-11-02 07:30")
    now, s.clock = s.clock, lambda: time.mktime((2019, 12, 2, 9, 0, 0, 0, 0, -1))  # written when its day was still ahead
    ben = svc.add_action(mid, "Order the new sharps bins", due="2020-01-01")
    s.clock = now
    svc.add_action(mid, "Write up the audit", due="2999-01-01")
    done = svc.add_action(mid, "Book the room")
    svc.set_action_status(done, "done")
    s.close()
    lines = ok(run(ana, "actions", "night", "--open")).splitlines()
    assert lines == [f"{ben[:8]}  open     OVERDUE due 2020-01-01 · Ana Lima · Order the new sharps bins", lines[1]]
    assert "OVERDUE" not in lines[1] and "due 2999-01-01" in lines[1]
    assert len(ok(run(ana, "actions", "night")).splitlines()) == 3
    assert ok(run(ana, "actions", "night", "--mine", "--open")).count("\n") == 2
    doc = json.loads(ok(run(ana, "actions", "night", "--json")))
    assert doc["today"] == time.strftime("%Y-%m-%d") and [a["overdue"] for a in doc["actions"]] == [True, False, False]
    assert "Done: Order the new sharps bins" in ok(run(ana, "action", "done", ben[:6]))
    assert ben[:8] not in ok(run(ana, "actions", "night", "--open"))
    assert "Open again: Order the new sharps bins" in ok(run(ana, "action", "reopen", ben[:6]))
    r = run(ana, "action", "done", "zzzz")
    assert r.exit_code == 1 and "no action with that id" in r.stderr


def test_status_and_cohorts_for_a_person_and_a_script(ana: Path) -> None:
    ok(run(ana, "meeting", "schedule", "night", "2030-12-09 07:30", "--title", "December"))
    out = ok(run(ana, "status"))
    assert out.startswith("Ana Lima · fingerprint ")
    assert "Night nurses (1 member)\n" in out and "1 members" not in out
    assert "next meeting   2030-12-09 07:30  December · facilitator Ana Lima" in out
    assert "not yet sent   " in out and "last received  nothing yet" in out
    doc = json.loads(ok(run(ana, "status", "--json")))
    assert doc["identity"]["name"] == "Ana Lima" and doc["cohorts"][0]["next_meeting"]["facilitator"] == "Ana Lima"
    assert doc["cohorts"][0]["unsent"] >= 4 and doc["cohorts"][0]["last_received"] is None
    doc = json.loads(ok(run(ana, "cohorts", "--json")))
    assert [(c["name"], c["members"]) for c in doc["cohorts"]] == [("Night nurses", 1)]


def test_json_escapes_member_text_so_it_stays_data(ana: Path) -> None:
    ok(run(ana, "agenda", "add", "night", "Bed 4 \u202e\x1b]0;x\x07"))
    line = ok(run(ana, "agenda", "night", "--json"))
    assert "\x1b" not in line and "\u202e" not in line
    assert json.loads(line)["waiting"][0]["title"] == "Bed 4 \u202e\x1b]0;x\x07"


def test_help_at_80_columns_wraps_descriptions_instead_of_cutting_them() -> None:
    out = CliRunner().invoke(main, ["--help"], terminal_width=80).output
    commands = out.split("Commands:")[1]
    assert "..." not in commands
    words = " ".join(out.split())  # wherever the lines break
    assert "nobody changes their own)" in words and "say what to fix." in words


def test_join_with_a_replica_folder_that_is_not_there_says_so_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ok(run(home, "init", "--name", "Ben"))
    gone = tmp_path / "unplugged" / "circle"
    r = run(home, "join", "7-amber-falcon", "--replica", str(gone))
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert r.output.strip().splitlines() == [f"circle: replica folder not found: {gone}: plug in the drive or mount the share, then try again"]
    assert not (tmp_path / "unplugged").exists()
