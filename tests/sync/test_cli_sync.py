"""`circle doctor` and `circle sync --once` against a real folder replica, as separate processes, as a person runs them.

Doctor names what is wrong and what to do, with a non-zero exit; a pulled
USB stick is offline for `sync --once`: said in one line (since when, what
waits to be sent), exit 0, nothing written where the stick was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.sync.helpers import PASS, bring_in, new_home, once


def circle(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASS}
    return subprocess.run([sys.executable, "-c", "from circle.cli import main; main()", *args], env=env, capture_output=True, text=True, timeout=120)


def doctor(home: Path) -> subprocess.CompletedProcess[str]:
    return circle(home, "doctor")


def test_doctor_says_all_good_then_names_a_pulled_stick_and_a_silent_member(tmp_path: Path):
    stick = tmp_path / "stick"
    a, b = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    cid = a.create_cohort("Dietitians North", replica={"url": str(stick)}).id
    once(a)
    bring_in(a, cid, b, {"url": str(stick)})
    a.write_recovery_kit(tmp_path / "ana.kit")  # without one doctor says what to do, not "All good."
    for s in (a, b):
        s.close()
    copies = list(a.home.root.rglob("peers/*.db"))
    assert copies and {oct(p.stat().st_mode & 0o777) for p in copies} == {"0o600"}  # someone else's journal, kept as private as one's own

    r = doctor(a.home.root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Dietitians North: Ben's journal present" in r.stdout and r.stdout.rstrip().endswith("All good.")

    shutil.rmtree(stick / b.cohort(cid).store.entry.replica_path)  # Ben's journal gone from the replica
    r = doctor(a.home.root)
    assert r.returncode == 1
    assert "FIX  Dietitians North: nothing from Ben on the replica yet — ask them to run 'circle sync --once'" in r.stdout

    shutil.move(stick, tmp_path / "drawer")  # the stick is pulled out
    r = doctor(a.home.root)
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert f"FIX  Dietitians North: replica folder {stick} is not there or not circle's — plug in the drive" in r.stdout


def test_sync_once_without_the_stick_says_offline_and_writes_nothing_there(tmp_path: Path):
    stick = tmp_path / "media" / "stick"
    a = new_home(tmp_path, "Ana")
    cid = a.create_cohort("Dietitians North", replica={"url": str(stick)}).id
    once(a)
    a.cohort(cid).store.record("note.added", {"meeting": "m1", "item": "", "text": "written at the site", "kind": "note"})
    a.close()
    shutil.move(stick, tmp_path / "drawer")

    r = circle(a.home.root, "sync", "--once")
    assert r.returncode == 0 and "Traceback" not in r.stdout + r.stderr and r.stderr == ""
    [line] = r.stdout.splitlines()  # one line: since when (the last `sync --once` that reached it), why, what waits
    assert line.startswith("offline since ") and len(line) < 160, line
    assert line.endswith(": replica folder not found (plug in the drive or mount the share); 1 event not yet sent, kept until it is back"), line
    assert not stick.exists()

    shutil.move(tmp_path / "drawer", stick)
    r = circle(a.home.root, "sync", "--once")
    assert (r.returncode, r.stdout.splitlines()[0]) == (0, "Pushed 1 journal, pulled 0, 0 new events.")
