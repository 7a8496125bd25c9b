"""A full disk, a read-only home and a keystore that cannot be written: one line each, and the line tells the truth.

What is reported as failed is not committed; what was committed is reported
as saved. The disks are real: a small tmpfs and read-only bind mounts, made
inside the test (they need root; without it the tests are skipped, saying so).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs and read-only bind mounts needs root")


def circle(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASSPHRASE}
    env.pop("CIRCLE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "circle.cli", *args], env=env, capture_output=True, text=True, timeout=120)


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in r.stderr + r.stdout and "internal error" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


@contextlib.contextmanager
def mounted(*args: str, target: Path) -> Iterator[None]:
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def home_with_a_meeting(home: Path) -> None:
    for args in (("init", "--name", "Ana"), ("cohort", "create", "Night nurses")):
        assert circle(home, *args).returncode == 0
    code = f"from circle.store.session import Home; s = Home({str(home)!r}, calibrate=False).unlock({PASSPHRASE!r}); s.cohort(s.cohort_ids()[0]).schedule('2026-12-09 18:00'); s.close()"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def items(home: Path) -> str:
    r = circle(home, "agenda", "night")
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_a_full_disk_refuses_the_write_in_one_line_and_nothing_is_saved(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=4M", "tmpfs", target=disk):
        home = disk / "home"
        home_with_a_meeting(home)
        filler = disk / "filler"
        with open(filler, "wb") as f, contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 65536)
        r = circle(home, "agenda", "add", "night", "Item on a full disk")
        line = one_line(r)
        assert r.returncode != 0 and "the disk is full" in line and "nothing was saved" in line
        assert circle(home, "cohorts").returncode == 0  # reading still works
        filler.unlink()
        assert "Item on a full disk" not in items(home)  # what was reported as failed is not committed
        assert circle(home, "agenda", "add", "night", "Item after freeing space").returncode == 0
        assert "Item after freeing space" in items(home)


def test_a_read_only_home_refuses_writes_in_one_line_and_doctor_says_so(tmp_path: Path) -> None:
    home, view = tmp_path / "home", tmp_path / "view"
    home_with_a_meeting(home)
    view.mkdir()
    with mounted("--bind", str(home), target=view):
        with mounted("-o", "remount,bind,ro", target=view):
            r = circle(view, "agenda", "add", "night", "On a read-only home")
            line = one_line(r)
            assert r.returncode != 0 and "read-only" in line and "nothing was saved" in line
            assert circle(view, "cohorts").returncode == 0
            d = circle(view, "doctor")
            assert d.returncode == 1 and "read-only" in d.stdout and "All good" not in d.stdout
            assert "Traceback" not in d.stderr + d.stdout
    assert "On a read-only home" not in items(home)


def test_a_keystore_that_cannot_be_written_after_the_journal_commit_says_it_was_saved(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home_with_a_meeting(home)
    keystore = next(home.glob("identities/*/keystore"))
    with mounted("--bind", str(keystore), target=keystore):
        with mounted("-o", "remount,bind,ro", target=keystore):
            r = circle(home, "agenda", "add", "night", "Committed before the keystore")
            line = one_line(r)
            assert "saved in your journal" in line
    assert "Committed before the keystore" in items(home)  # and it was
