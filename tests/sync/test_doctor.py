"""`circle doctor` against a real folder replica: it names what is wrong and what to do, with a non-zero exit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.sync.helpers import PASS, bring_in, new_home, once


def doctor(home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASS}
    return subprocess.run([sys.executable, "-c", "from circle.cli import main; main()", "doctor"], env=env, capture_output=True, text=True, timeout=120)


def test_doctor_says_all_good_then_names_a_pulled_stick_and_a_silent_member(tmp_path: Path):
    stick = tmp_path / "stick"
    a, b = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    cid = a.create_cohort("Dietitians North", replica={"url": str(stick)}).id
    once(a)
    bring_in(a, cid, b, {"url": str(stick)})
    for s in (a, b):
        s.close()
    copies = list(a.home.root.rglob("peers/*.db"))
    assert copies and {oct(p.stat().st_mode & 0o777) for p in copies} == {"0o600"}  # someone else's journal, kept as private as one's own

    r = doctor(a.home.root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Dietitians North: Ben's journal present" in r.stdout and r.stdout.rstrip().endswith("All good.")

    shutil.rmtree(stick / b.cohort(cid).entry["replica_path"])  # Ben's journal gone from the replica
    r = doctor(a.home.root)
    assert r.returncode == 1
    assert "FIX  Dietitians North: nothing from Ben on the replica yet — ask them to run 'circle sync --once'" in r.stdout

    shutil.move(stick, tmp_path / "drawer")  # the stick is pulled out
    r = doctor(a.home.root)
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert f"FIX  Dietitians North: replica folder {stick} is not there or not circle's — plug in the drive" in r.stdout
