"""Damaged and foreign files in the replica, met through the command line: one line, never a traceback, nothing verified lost.

Ana and Ben share a folder replica. For each case a fresh copy of the shared
folder is damaged the way a bad disk, a broken copy or a stranger would
damage it (the newest files hold events Ben has not seen yet), then Ben runs `circle sync --once` and `circle verify` (real
processes, as a person would). The figures count the cases, the tracebacks
shown (must be 0) and the files damaged by circle (must be 0): an event Ben
had verified that is gone from his view afterwards, or a byte changed by
Ben's device in Ana's part of the replica, which only Ana writes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from circle.store.session import Home
from tests.figures import record
from tests.sync.helpers import PASS, once, visible_texts, write_burst
from tests.sync.test_nothing_lost import two


def circle(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASS}
    env.pop("CIRCLE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "circle.cli", *args], env=env, capture_output=True, text=True, timeout=180)


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def newest_ltx(folder: Path) -> Path:
    return sorted((folder / "ltx" / "0").glob("*.ltx"))[-1]


def cut(folder: Path) -> None:
    p = newest_ltx(folder)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def flipped(folder: Path) -> None:
    p = newest_ltx(folder)
    data = bytearray(p.read_bytes())
    for i in range(8, len(data), max(1, len(data) // 8)):
        data[i] ^= 0x5A
    p.write_bytes(bytes(data))


def garbage(folder: Path) -> None:
    p = newest_ltx(folder)
    p.write_bytes(os.urandom(p.stat().st_size))


def emptied(folder: Path) -> None:
    for p in (folder / "ltx").rglob("*.ltx"):
        p.write_bytes(b"")


def foreign_ltx(folder: Path) -> None:
    (newest_ltx(folder).parent / "ffffffffffffffff-ffffffffffffffff.ltx").write_bytes(os.urandom(3000))


def folder_is_a_file(folder: Path) -> None:
    shutil.rmtree(folder)
    folder.write_bytes(b"not a replica")


def stranger(folder: Path) -> None:
    other = folder.parent / ("ab" * 16)
    (other / "ltx" / "0").mkdir(parents=True)
    (other / "ltx" / "0" / "0000000000000001-0000000000000001.ltx").write_bytes(os.urandom(4096))


CASES: dict[str, Callable[[Path], None]] = {
    "newest LTX file truncated": cut,
    "newest LTX file with bytes flipped": flipped,
    "newest LTX file overwritten with random bytes": garbage,
    "every LTX file emptied": emptied,
    "a foreign LTX file among Ana's": foreign_ltx,
    "Ana's folder replaced by a file": folder_is_a_file,
    "a stranger's journal folder added": stranger,
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("replica-damage")
    a, b, cid = two(tmp)
    ca = a.cohort(cid)
    written = write_burst(ca, "Ana", 5)
    once(a, b)
    assert set(written) <= visible_texts(b.cohort(cid))
    write_burst(ca, "Ana later", 3)  # on the replica, not yet on Ben's device: his next sync reads the damaged files
    once(a)
    ana_folder = ca.store.entry.replica_path
    for s in (a, b):
        s.close()
    pristine = tmp / "pristine"
    shutil.copytree(tmp / "shared", pristine)
    return b.home.root, cid, written, tmp / "shared", pristine, ana_folder


@pytest.mark.parametrize("case", CASES)
def test_a_damaged_or_foreign_replica_file_is_told_in_one_line_and_damages_nothing(cohort, case: str) -> None:
    ben_home, cid, written, shared, pristine, ana_folder = cohort
    shutil.rmtree(shared)
    shutil.copytree(pristine, shared)
    CASES[case](shared / ana_folder)
    ana_part = shared / ana_folder
    before = digest(ana_part) if ana_part.is_dir() else ana_part.read_bytes()
    outputs = [circle(ben_home, "sync", "--once"), circle(ben_home, "verify")]
    tracebacks = sum("Traceback" in r.stdout + r.stderr or "internal error" in r.stderr for r in outputs)
    after = digest(ana_part) if ana_part.is_dir() else ana_part.read_bytes()
    session = Home(ben_home, calibrate=False).unlock(PASS)
    try:
        lost = set(written) - visible_texts(session.cohort(cid))
    finally:
        session.close()
    damaged = len(lost) + (before != after)
    record("files", f"replica: {case}", cases_tried=1, tracebacks_shown=tracebacks, files_damaged_by_circle=damaged)
    assert tracebacks == 0, [r.stdout + r.stderr for r in outputs]
    assert not lost, lost
    assert before == after, "Ben's device wrote into Ana's part of the replica"
    for r in outputs:
        assert all(len(line) < 400 for line in (r.stdout + r.stderr).splitlines())
