"""A command run while the app is open: what each process writes or verifies is folded by the other, and nothing is lost.

The app takes its journal's write lock at its first write and keeps it; a
command run before that writes, closes, and moves the keystore's heads on.
The app then numbered its next event from a view without the command's:
its clock did not go forward in its journal, so every device held it aside
(and a restart showed the command's event and not the app's). And a keystore
save merges in heads another process verified, so the app's next ingest read
on from there and never folded what lay between.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from circle.store.session import Home

PASS = "correct horse battery staple"


def circle(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIRCLE_PASSPHRASE": PASS}
    exe = Path(sys.executable).with_name("circle")
    return subprocess.run([str(exe), "--home", str(home), *args], env=env, capture_output=True, text=True, timeout=120)


def founded(tmp_path: Path) -> tuple[Path, str, str]:
    s = Home(tmp_path, calibrate=False).create_identity("Ana Silva", PASS)
    svc = s.create_cohort("Nurses East", replica={"url": str(tmp_path / "rep")})
    mid = svc.schedule("2030-03-04T10:00", "Peer supervision", 60)
    s.close()
    return tmp_path, svc.id, mid


def titles(svc, mid: str) -> list[str]:  # noqa: ANN001
    return sorted(i.title for i in svc.view.agenda(mid))


def test_the_apps_next_write_after_a_command_counts_and_keeps_the_commands(tmp_path: Path) -> None:
    home, cid, mid = founded(tmp_path)
    app = Home(home, calibrate=False).unlock(PASS)
    svc = app.find_cohort(cid)  # open, not written yet: no write lock held
    r = circle(home, "agenda", "add", cid, "CLI item")
    assert r.returncode == 0, r.stderr
    svc.add_item(mid, "TUI item", svc.store.author.id, 10)
    assert titles(svc, mid) == ["CLI item", "TUI item"]
    assert svc.view.held_aside == 0
    app.close()
    again = Home(home, calibrate=False).unlock(PASS).find_cohort(cid)  # the app opened again: from its snapshot and the journal
    assert titles(again, mid) == ["CLI item", "TUI item"] and again.view.held_aside == 0
    r = circle(home, "verify")
    assert r.returncode == 0 and "held aside" not in r.stdout, r.stdout + r.stderr


def test_a_head_another_process_moved_is_still_read_from_where_this_one_stopped(tmp_path: Path) -> None:
    home, cid, mid = founded(tmp_path)
    app = Home(home, calibrate=False).unlock(PASS)
    svc = app.find_cohort(cid)
    assert circle(home, "agenda", "add", cid, "CLI item").returncode == 0
    svc.store.vault.save()  # merges the keystore the command wrote: the own journal's head is now past what the app read
    svc.store.ingest()
    assert titles(svc, mid) == ["CLI item"]
    app.close()
