"""`circle dyad` and `circle note`/`notes`: private channels and self notes from the shell.

Three laptops (journals carried by file copy, as in tests/security); the
commands run against one person's home. Bad input is one clear line and a
non-zero exit; member text is printed cleaned, line by line.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import Result

from circle.store.channels import ChannelService
from tests.security.laptops import Laptops
from tests.unit.test_cli import assert_one_clear_line

NEXT = dt.date.today().year + 1  # dates a year or more ahead: a day that has passed is refused


def run(lap: Laptops, who: str, *args: str) -> Result:
    return lap.cli(who, *args)


def test_a_thread_shows_oldest_first_with_requests(ward: Laptops):
    ChannelService(ward.svc("Ana")).send(ward.id("Cleo"), "First:\nthe handover.", kind="feedback")
    ward.sync()
    r = run(ward, "Cleo", "dyad", "send", "Ward", "Ana", "Thanks \x1b[31mred\x1b[0m", "--kind", "question")
    assert r.exit_code == 0, r.output
    assert "only the two of you can read it" in r.stdout
    assert run(ward, "Cleo", "dyad", "ask", "Ward", "Ana", "my case presentation", "--by", f"{NEXT}-12-10").exit_code == 0
    shown = run(ward, "Cleo", "dyad", "show", "Ward", "Ana")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert "\x1b" not in shown.stdout  # someone's escape sequence is shown as data, never sent to the terminal
    first = next(i for i, line in enumerate(lines) if "First:" in line)
    assert "(feedback)" in lines[first] and lines[first + 1].strip() == "the handover."
    assert any("you (question): Thanks" in line for line in lines[first + 2 :])
    assert any(f"[open] you asked for feedback on: my case presentation by {NEXT}-12-10" in line for line in lines)
    doc = json.loads(run(ward, "Cleo", "dyad", "show", "Ward", "Ana", "--json").stdout)
    assert [m["kind"] for m in doc["messages"]] == ["feedback", "question"] and doc["readers"] == ["Cleo", "Ana"]
    assert doc["requests"][0]["status"] == "open"
    rid = doc["requests"][0]["id"]
    ward.sync()
    r = run(ward, "Ana", "dyad", "send", "Ward", "Cleo", "Slide 3 first.", "--kind", "feedback", "--answers", rid[:6].upper())  # as shown, shortened
    assert r.exit_code == 0, r.output
    ward.sync()
    doc = json.loads(run(ward, "Cleo", "dyad", "show", "Ward", "Ana", "--json").stdout)
    assert doc["requests"][0]["status"] != "open" and doc["messages"][-1]["answers"] == rid


def test_self_notes_from_the_shell(ward: Laptops):
    assert run(ward, "Ben", "note", "add", "Ward", "I rushed the discharge.", "--reflection").exit_code == 0
    doc = json.loads(run(ward, "Ben", "notes", "Ward", "--json").stdout)
    assert [(n["kind"], n["text"]) for n in doc["notes"]] == [("reflection", "I rushed the discharge.")]
    assert json.loads(run(ward, "Ana", "notes", "Ward", "--json").stdout) == {"notes": []}


@pytest.mark.parametrize(
    "args, fragments",
    [
        (("dyad", "send", "Ward", "Cleo", "hello"), ("between you and someone else",)),
        (("dyad", "send", "Ward", "Nobody", "hello"), ("no member matches",)),
        (("dyad", "send", "Ward", "Ana", "x" * 4001), ("too long",)),
        (("dyad", "ask", "Ward", "Ana", "slides", "--by", "tomorrow"), ("not a date",)),
        (("dyad", "ask", "Ward", "Ana", "slides", "--by", "2020-01-31"), ("2020-01-31 has passed", "today is")),
        (("dyad", "decline", "Ward", "Ana", "nope"), ("not open for you",)),
        (("note", "add", "Ward", "   "), ("empty",)),
    ],
)
def test_bad_input_is_one_line(ward: Laptops, args, fragments):
    assert_one_clear_line(run(ward, "Cleo", *args), *fragments)


def test_a_removed_members_channel_is_still_read_and_written_no_more(ward: Laptops):
    ChannelService(ward.svc("Cleo")).send(ward.id("Ana"), "Thank you for the year.")
    ward.sync()
    ward.svc("Ana").remove(ward.id("Cleo"))
    ward.sync()
    shown = run(ward, "Ana", "dyad", "show", "Ward", "Cleo")
    assert shown.exit_code == 0 and "Thank you for the year." in shown.stdout, shown.output
    assert_one_clear_line(run(ward, "Ana", "dyad", "send", "Ward", "Cleo", "Are you there?"), "no member matches")
