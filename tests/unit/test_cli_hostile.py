"""Every command that prints what members wrote, against a cohort whose members wrote hostile text.

Names, titles and the hints of errors that list names reach stdout and
stderr with each control character made visible (``␛``, ``␇``, ``�``): no
byte 0x00-0x1f but newline and tab, no DEL, no C1 control, no bidi control.
The cleaned text is there (the test would see it missing), and every command
still does its job.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from circle.cli import main
from circle.demo import DEMO_PASSPHRASE
from tests.hostile import IDENTITY_NAME, HostileHome, build_hostile_home, unsafe_characters

TODAY = dt.date(2025, 6, 2)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileHome:
    return build_hostile_home(tmp_path_factory.mktemp("hostile-cli") / "home", TODAY)


def run(home: HostileHome, *args: str, who: str | None = "Kwame Mensah") -> Result:
    identity = ["--identity", who] if who else []
    return CliRunner().invoke(main, ["--home", str(home.root), *identity, *args], env={"CIRCLE_PASSPHRASE": DEMO_PASSPHRASE, "CIRCLE_IDENTITY": None})


def assert_clean(result: Result | tuple[bytes, bytes], *shown: str) -> str:
    """No control byte in stdout or stderr; returns both, decoded, for further checks."""
    out, err = (result.stdout_bytes, result.stderr_bytes) if isinstance(result, Result) else result
    for name, raw in (("stdout", out), ("stderr", err)):
        bad = sorted({f"0x{b:02x}" for b in raw if (b < 0x20 and b not in (0x0A, 0x09)) or b == 0x7F})
        assert not bad, f"{name} holds control bytes {bad}: {raw[:300]!r}"
        text = raw.decode("utf-8")
        assert not unsafe_characters(text), f"{name}: {unsafe_characters(text)[:5]}"
    both = (out + err).decode("utf-8")
    for s in shown:
        assert s in both, (s, both[:500])
    return both


def test_cohorts_and_agenda_show_hostile_names_and_titles_cleaned(hostile: HostileHome) -> None:
    r = run(hostile, "cohorts")
    assert r.exit_code == 0, r.output
    assert_clean(r, "[/] Riverside [@click=app.quit]Circle[/] ␛]0;pwned␇�evil")
    r = run(hostile, "agenda", "riverside")
    assert r.exit_code == 0, r.output
    text = assert_clean(
        r,
        "[/]␛[2J Audit [@click=app.quit]and[/] quality␇",
        "␛[2J␛]0;pwned␇ cleared?",
        "click [@click=app.quit]here[/]",
        "([@click=app.quit]Tom[/] Berg, 10 min)",
        "Tūhoe 👩‍⚕️ 李小龙",
    )
    assert "W" * 200 in text  # the CLI cuts nothing: a script reads it all


def test_whoami_of_a_hostile_identity_and_the_error_that_lists_identities(hostile: HostileHome) -> None:
    r = run(hostile, "whoami", who="mallory")
    assert r.exit_code == 0, r.output
    assert_clean(r, "Mallory [/]␛]0;pwned␇� [@click=app.quit]x[/]", "Fingerprint: ")
    r = run(hostile, "whoami", who=None)  # several identities: the hint lists their names
    assert r.exit_code != 0
    assert_clean(r, "several identities share this home", "Mallory [/]␛]0;pwned␇�")


def test_an_error_that_lists_member_names(hostile: HostileHome) -> None:
    r = run(hostile, "agenda", "add", "riverside", "An item", "--owner", "nobody")
    assert r.exit_code != 0 and r.stdout == ""
    assert_clean(r, "no member matches 'nobody'", "Lucia ␛[2J␛]0;pwned␇Romero", "[@click=app.quit]Tom[/] Berg", "mara ␈␈␈Singh␍")


def test_sync_verify_and_replica_print_clean_lines(hostile: HostileHome, tmp_path: Path) -> None:
    for args in (["sync", "--once"], ["verify"]):
        r = run(hostile, *args)
        assert r.exit_code == 0, r.output
        assert_clean(r)
    r = run(hostile, "cohort", "replica", "riverside", str(tmp_path / "stick"), who="Tom Berg")
    assert r.exit_code == 0, r.output
    assert_clean(r, "[/] Riverside [@click=app.quit]Circle[/] ␛]0;pwned␇�evil now replicates to")


def test_the_status_lines_of_circle_sync(hostile: HostileHome) -> None:
    """`circle sync` prints a line with each cohort's name and its members' names whenever something changes."""
    circle = Path(sys.executable).with_name("circle")
    env = {**os.environ, "CIRCLE_PASSPHRASE": DEMO_PASSPHRASE}
    proc = subprocess.Popen(
        [str(circle), "--home", str(hostile.root), "--identity", "Helen", "sync", "--interval", "0.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        deadline = time.monotonic() + 30
        seen = b""
        while time.monotonic() < deadline and b"Tom[/] Berg #" not in seen:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert_clean((seen + out, err), "Riverside [@click=app.quit]Circle[/] ␛]0;pwned␇�evil", "[@click=app.quit]Tom[/] Berg #", "Lucia ␛[2J␛]0;pwned␇Romero #")


def test_invite_join_admit_and_remove_name_the_newcomer_cleanly(hostile: HostileHome) -> None:
    r = run(hostile, "invite", "riverside", who="Helen")
    assert r.exit_code == 0, r.output
    assert_clean(r)
    code = r.stdout.split("Invite code: ")[1].split()[0]
    r = run(hostile, "join", code, "--replica", str(hostile.root / "replica"), "--no-wait", who="mallory")
    assert r.exit_code == 0, r.output
    assert_clean(r)
    r = run(hostile, "admit", "riverside", code, who="Helen")
    assert r.exit_code == 0, r.output
    assert_clean(r, f"Admitted {IDENTITY_NAME[:80]}".replace("\x1b", "␛").replace("\x07", "␇").replace("\u202e", "\ufffd"))
    r = run(hostile, "remove", "riverside", "berg", who="Helen")
    assert r.exit_code == 0, r.output
    assert_clean(r, "Removed [@click=app.quit]Tom[/] Berg.")
    r = run(hostile, "remove", "riverside", "mallory", who="Helen")
    assert r.exit_code == 0, r.output
    assert_clean(r, "Removed Mallory [/]␛]0;pwned␇� [@click=app.quit]x[/].")


def test_init_with_a_hostile_name(tmp_path: Path) -> None:
    env = {"CIRCLE_PASSPHRASE": DEMO_PASSPHRASE}
    r = CliRunner().invoke(main, ["--home", str(tmp_path / "new"), "init", "--name", IDENTITY_NAME], env=env)
    assert r.exit_code == 0, r.output
    assert_clean(r, "Created identity Mallory [/]␛]0;pwned␇� [@click=app.quit]x[/]")


def test_private_goals_agreement_and_credits_commands_print_clean_lines(hostile: HostileHome) -> None:
    """Tom's private message and request to Kwame, Lucia's goal, Priya's declaration, Helen's rule: shown as written, cleaned."""
    r = run(hostile, "dyad", "show", "riverside", "[@click=app.quit]Tom", who="kwame")
    assert r.exit_code == 0, r.output
    assert_clean(r, "[@click=app.quit]read me[/] ␛]0;pwned␇", "second line", "[link=https://evil.example]my case[/link] ␛[2J")
    for args in (["dyad", "requests", "riverside"], ["dyad", "show", "riverside", "[@click=app.quit]Tom", "--json"]):
        r = run(hostile, *args, who="kwame")
        assert r.exit_code == 0, r.output
        assert_clean(r)
    r = run(hostile, "goals", "riverside", who="kwame")
    assert r.exit_code == 0, r.output
    assert_clean(r, "[bold]Lead[/] a family meeting ␛]0;pwned␇")
    r = run(hostile, "agreement", "show", "riverside", who="kwame")
    assert r.exit_code == 0, r.output
    assert_clean(r, "I supervise [@click=app.quit]Sam[/]␇")
    r = run(hostile, "credits", "riverside", who="kwame")
    assert r.exit_code == 0, r.output
    assert_clean(r, "[link=https://evil.example]CPD[/link] ␛]0;pwned␇")
    for args in (["notes", "riverside"], ["devices"], ["status"]):
        r = run(hostile, *args, who="kwame")
        assert r.exit_code == 0, r.output
        assert_clean(r)
