"""A short invite code, end to end, through the real command line: separate processes, a folder replica, real Litestream.

Ana invites and says the code; Ben joins with it and is admitted. Someone
guessing the words is refused, costing the invite one of its three tries;
three wrong guesses spend it, and then even the right words do nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.sync.helpers import PASS, new_home

CODE = re.compile(r"^Invite code: (\d+-[a-z]+-[a-z]+)$", re.M)


def circle(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASS}
    return subprocess.run([sys.executable, "-c", "from circle.cli import main; main()", *args], env=env, capture_output=True, text=True, timeout=180)


def ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stdout + r.stderr
    return r.stdout


def refused(r: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert r.returncode not in (0, None) and "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("circle: ") and all(f in line for f in fragments), line
    return line


def wrong_words(code: str) -> str:
    n, first, second = code.split("-")
    return f"{n}-{'amber' if first != 'amber' else 'azure'}-{second}"


def test_a_short_code_joins_wrong_guesses_are_refused_and_three_spend_the_invite(tmp_path: Path):
    shared = tmp_path / "shared-folder"
    homes = {name: new_home(tmp_path, name).home.root for name in ("Ana", "Ben", "Mal", "Meg", "Max", "Zoe")}
    ok(circle(homes["Ana"], "cohort", "create", "Physio peers", "--replica", str(shared)))

    out = ok(circle(homes["Ana"], "invite", "Physio peers", "--card", str(tmp_path / "card.txt")))
    code = CODE.search(out).group(1)
    assert len(code) <= 24 and "72 hours" in out and "3 wrong tries" in out  # a code to say in one breath
    assert "Physio" not in (tmp_path / "card.txt").read_text() and code not in (tmp_path / "card.txt").read_text()

    # Mal guesses the words: his device cannot tell, Ana's refuses it (one try gone).
    ok(circle(homes["Mal"], "join", wrong_words(code), "--replica", str(shared), "--no-wait"))
    refused(circle(homes["Ana"], "admit", "Physio peers", code), "wrong code", "2 tries left")
    refused(circle(homes["Mal"], "join", wrong_words(code), "--replica", str(shared), "--wait", "0"), "the invite code was wrong")
    assert "Physio peers" not in ok(circle(homes["Mal"], "cohorts"))

    # Ben has the right words and the card that says where the replica is.
    joined = ok(circle(homes["Ben"], "join", code, "--card", str(tmp_path / "card.txt"), "--no-wait"))
    assert "Your fingerprint:" in joined and "Not admitted yet: run the same command again" in joined
    admitted = ok(circle(homes["Ana"], "admit", "Physio peers", code.split("-")[0]))  # the number is enough for the one who made it
    ben_fingerprint = ok(circle(homes["Ben"], "whoami")).splitlines()[1].removeprefix("Fingerprint: ")
    assert "Admitted Ben as participant." in admitted and ben_fingerprint in admitted
    welcome = ok(circle(homes["Ben"], "join", code, "--card", str(tmp_path / "card.txt"), "--no-wait"))  # one look, as --no-wait's help says
    assert "Admitted to Physio peers." in welcome
    cohort_fp = re.search(r"Cohort fingerprint, for everyone to compare: ([\d ]+)", admitted).group(1)
    assert cohort_fp in welcome  # both sides compare the same roster aloud
    assert "Physio peers  (2 members)" in ok(circle(homes["Ben"], "cohorts"))
    refused(circle(homes["Ana"], "admit", "Physio peers", code), "no open invite")  # used

    # A second invite: three wrong guesses spend it; the right words then do nothing.
    code2 = CODE.search(ok(circle(homes["Ana"], "invite", "Physio peers"))).group(1)
    assert code2.split("-")[0] != code.split("-")[0]  # the first number is still taken at this replica
    for n, who in enumerate(("Mal", "Meg", "Max")):
        ok(circle(homes[who], "join", wrong_words(code2), "--replica", str(shared), "--no-wait"))
        if n < 2:
            refused(circle(homes["Ana"], "admit", "Physio peers", code2), "wrong code", f"{2 - n} tr")
    refused(circle(homes["Ana"], "admit", "Physio peers", code2), "invite is now spent")
    refused(circle(homes["Zoe"], "join", code2, "--replica", str(shared), "--no-wait"), "this invite is spent")
    refused(circle(homes["Ana"], "admit", "Physio peers", code2), "no open invite")
    assert "Zoe" not in ok(circle(homes["Ana"], "cohorts"))
    assert "Physio peers  (2 members)" in ok(circle(homes["Ana"], "cohorts"))


def test_a_newcomer_who_asked_without_waiting_is_let_in_by_circle_sync(tmp_path: Path):
    """Ben asks with --no-wait and closes his laptop; Ana admits him; his next 'circle sync --once' brings the cohort."""
    shared = tmp_path / "shared-folder"
    homes = {name: new_home(tmp_path, name).home.root for name in ("Ana", "Ben")}
    ok(circle(homes["Ana"], "cohort", "create", "Dietitians North", "--replica", str(shared), "--history", "joining"))
    code = CODE.search(ok(circle(homes["Ana"], "invite", "Dietitians North"))).group(1)
    ok(circle(homes["Ben"], "join", code, "--replica", str(shared), "--no-wait"))
    assert "(waiting to be admitted)" in ok(circle(homes["Ben"], "cohorts"))
    ok(circle(homes["Ana"], "admit", "Dietitians North", code))
    ok(circle(homes["Ben"], "sync", "--once"))
    assert "Dietitians North  (2 members)" in ok(circle(homes["Ben"], "cohorts"))
