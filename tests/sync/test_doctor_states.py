"""`circle doctor` in every fault state of issue 11: it names what is wrong and what to do, never "All good." while one holds.

Each state is made with real homes, the real litestream binary and a folder
replica (tests/sync/helpers.py), then `circle doctor` runs through click's
CliRunner against the home as a person would run it. A state that breaks
something gives a FIX line and exit 1; a thing to do that breaks nothing yet
(the recovery kit) gives a TODO line and exit 0; the clean control says
"All good.".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from circle.cli import main
from circle.crypto import envelope as env
from circle.models.events import encode_payload
from circle.store.cohort import Part
from circle.store.journal import Journal
from circle.store.session import Home, Session
from circle.store.vault import Scope, ScopeKey
from circle.sync import litestream as ls
from circle.sync.service import replica_for
from tests.security.laptops import copy_db
from tests.sync.helpers import PASS, bring_in, new_home, note, once, reopen

pytestmark = pytest.mark.slow

COHORT = "Dietitians North"


def doctor(home: Path) -> Result:
    return CliRunner().invoke(main, ["doctor"], env={"CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASS, "CIRCLE_DEBUG": None})


@dataclass
class Pair:
    """Ana founded the cohort at a folder replica and brought Ben in; both synced; Ana's recovery kit holds the cohort."""

    root: Path
    ana: Session
    ben: Session
    cid: str
    stick: Path

    def replica_folder(self, s: Session) -> Path:
        return self.stick / s.cohort(self.cid).store.entry.replica_path

    def own_journal(self, s: Session) -> Path:
        return s.cohort(self.cid).store.journal.path

    def close(self) -> None:
        for s in (self.ana, self.ben):
            s.close()


def pair(root: Path) -> Pair:
    stick = root / "stick"
    ana, ben = new_home(root, "Ana"), new_home(root, "Ben")
    cid = ana.create_cohort(COHORT, replica={"url": str(stick)}).id
    once(ana)
    bring_in(ana, cid, ben, {"url": str(stick)})
    note(ana.cohort(cid), "m1", "Ana's first note")
    note(ben.cohort(cid), "m1", "Ben's first note")
    once(ana, ben, ana)
    ana.write_recovery_kit(root / "ana.kit")
    return Pair(root, ana, ben, cid, stick)


def fixes(r: Result) -> list[str]:
    return [ln for ln in r.stdout.splitlines() if ln.startswith("FIX")]


def told_broken(r: Result, *words: str) -> str:
    """Doctor found something broken: exit 1, no "All good.", no traceback, and one FIX line with every word (returned)."""
    out = r.stdout + (r.stderr if r.stderr_bytes is not None else "")
    assert r.exception is None or isinstance(r.exception, SystemExit), out
    assert "Traceback" not in out and "All good" not in out, out
    assert r.exit_code == 1, out
    hit = [ln for ln in fixes(r) if all(w in ln for w in words)]
    assert hit, f"no FIX line with {words}:\n{out}"
    assert r.stdout.rstrip().splitlines()[-1].endswith(("to fix.", "to do.")), out
    return hit[0]


# ---- the clean control ---------------------------------------------------------------


def test_a_clean_home_is_all_good(tmp_path: Path):
    p = pair(tmp_path)
    p.close()
    r = doctor(p.ana.home.root)
    assert r.exit_code == 0, r.stdout
    assert not fixes(r) and "TODO" not in r.stdout
    assert f"ok   {COHORT}: Ben's journal present" in r.stdout and "ok   the recovery kit holds every cohort" in r.stdout
    assert r.stdout.rstrip().endswith("All good.")


# ---- the states ------------------------------------------------------------------------


def own_journal_deleted(p: Pair) -> tuple[Path, tuple[str, ...]]:
    db = p.own_journal(p.ana)
    p.close()
    for f in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        f.unlink(missing_ok=True)
    return p.ana.home.root, ("your journal for this cohort", "run 'circle sync --once' to put it back")


def own_journal_truncated(p: Pair) -> tuple[Path, tuple[str, ...]]:
    db = p.own_journal(p.ana)
    p.close()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM envelopes WHERE seq >= (SELECT MAX(seq) FROM envelopes)")  # cut short: the newest event gone
    conn.close()
    return p.ana.home.root, ("your journal for this cohort on this device ends before event", "run 'circle sync --once' to put it back")


def own_journal_garbage(p: Pair) -> tuple[Path, tuple[str, ...]]:
    db = p.own_journal(p.ana)
    p.close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    assert len(data) >= 3 * page
    data[page : len(data)] = os.urandom(len(data) - page)  # every page after the header's: garbage
    db.write_bytes(bytes(data))
    return p.ana.home.root, ("your journal for this cohort", "run 'circle sync --once' to put it back")


def peer_replica_rolled_back(p: Pair) -> tuple[Path, tuple[str, ...]]:
    folder = p.replica_folder(p.ben)
    shutil.copytree(folder, p.root / "ben-last-week")
    note(p.ben.cohort(p.cid), "m1", "Ben's second note")
    once(p.ben, p.ana)  # Ana verified it
    p.close()
    shutil.rmtree(folder)
    shutil.copytree(p.root / "ben-last-week", folder)  # an older copy put back
    return p.ana.home.root, ("Ben's journal on the replica", "rolled back", "ask Ben to run 'circle sync --once'")


def replica_folders_swapped(p: Pair) -> tuple[Path, tuple[str, ...]]:
    a, b = p.replica_folder(p.ana), p.replica_folder(p.ben)
    p.close()
    a.rename(p.root / "swap")
    b.rename(a)
    (p.root / "swap").rename(b)
    return p.ana.home.root, ("Ben's journal on the replica", "not theirs", "swapped by hand, put them back")


def ltx_byte_flipped(p: Pair) -> tuple[Path, tuple[str, ...]]:
    folder = p.replica_folder(p.ben)
    p.close()
    ltx = max(folder.rglob("*.ltx"), key=lambda f: f.stat().st_size)
    data = bytearray(ltx.read_bytes())
    data[len(data) // 2] ^= 0x01
    ltx.write_bytes(bytes(data))
    return p.ana.home.root, ("Ben's journal on the replica", "ask Ben to run 'circle sync --once'")


def journal_forked(p: Pair) -> tuple[Path, tuple[str, ...]]:
    """Ben's journal shows Ana one note at a position, and the replica another: two histories."""
    ben = p.ben.cohort(p.cid).store
    note(p.ben.cohort(p.cid), "m1", "the note Ana saw")
    once(p.ben, p.ana)
    seq = ben.written()
    other = p.root / "ben-other.db"
    copy_db(ben.journal.path, other)
    conn = sqlite3.connect(other)
    with conn:
        conn.execute("DELETE FROM envelopes WHERE seq >= ?", (seq,))
    conn.close()
    key = ben.sealing_key()
    body = {"meeting": "m1", "text": "the note the replica shows", "item": "", "kind": "note"}
    pt = encode_payload(kind="note.added", cohort=ben.id, author=ben.author.id, lamport=ben.view.max_lamport, ts=0, body=body)
    j = Journal(other, ben.journal_id)
    j.append(
        [
            lambda s, prev, sign: env.seal(
                journal_id=ben.journal_id, seq=s, prev=prev, key_id=key.raw_id, key=key.secret, plaintext=pt, signer=ben.author.signer if sign else None
            )
        ]
    )
    j.close()
    replica = replica_for(p.ben, ben).child(ben.entry.replica_path)
    p.close()
    shutil.rmtree(p.replica_folder(p.ben))
    ls.heal(other, replica)  # the other history, where everyone reads Ben's journal
    return p.ana.home.root, ("Ben's journal", "forked", "compare with Ben in person")


def events_held_aside(p: Pair) -> tuple[Path, tuple[str, ...]]:
    """Ben, a participant on an altered client, removes Ana: every device holds it aside."""
    p.ben.cohort(p.cid).store.record("member.removed", {"member": p.ana.id})
    once(p.ben, p.ana)
    p.close()
    return p.ana.home.root, ("1 event broke the cohort's rules", "'circle verify' lists it")


STATES: dict[str, Callable[[Pair], tuple[Path, tuple[str, ...]]]] = {
    "own journal deleted": own_journal_deleted,
    "own journal truncated": own_journal_truncated,
    "own journal garbage": own_journal_garbage,
    "peer replica rolled back": peer_replica_rolled_back,
    "replica folders swapped": replica_folders_swapped,
    "LTX byte flipped": ltx_byte_flipped,
    "journal forked": journal_forked,
    "events held aside": events_held_aside,
}


@pytest.mark.parametrize("state", list(STATES))
def test_doctor_names_the_state_and_what_to_do(state: str, tmp_path: Path):
    home, words = STATES[state](pair(tmp_path))
    r = doctor(home)
    line = told_broken(r, *words)
    print(f"{state}: {line}")
    if state.startswith("own journal"):  # with part of the history missing here, nothing is said to have broken the rules
        assert "broke the cohort's rules" not in r.stdout, r.stdout


def test_a_swapped_folder_is_said_of_ones_own_journal_too(tmp_path: Path):
    home, _ = replica_folders_swapped(pair(tmp_path))
    line = told_broken(doctor(home), "your journal on the replica", "not your journal")
    print(f"replica folders swapped, own journal: {line}")


# ---- this laptop removed from the member's devices ---------------------------------------


def test_a_laptop_removed_from_the_members_devices_is_told_so(tmp_path: Path):
    p = pair(tmp_path)
    code = p.ana.recovery_code()
    kit, _ = p.ana.add_device("ward laptop", tmp_path / "ward.kit")
    once(p.ana)
    ward = Home(tmp_path / "ward", calibrate=False).recover(kit, code, PASS)
    once(ward)
    p.ana.remove_device("ward laptop")
    once(p.ana, ward)
    ward.write_recovery_kit(tmp_path / "ward-recovery.kit")
    for s in (p.ana, p.ben, ward):
        s.close()
    line = told_broken(doctor(ward.home.root), "this laptop was removed from your devices", "write from another laptop of yours")
    print(f"laptop removed: {line}")


# ---- keys that match no epoch: explained by a removal, or not --------------------------------


def laptops(p: Pair, tmp_path: Path) -> Session:
    """Ana's ward laptop, set up from a device kit and synced with everyone."""
    code = p.ana.recovery_code()
    kit, _ = p.ana.add_device("ward laptop", tmp_path / "ward.kit")
    once(p.ana)
    ward = Home(tmp_path / "ward", calibrate=False).recover(kit, code, PASS)
    once(ward, p.ana, p.ben)
    return ward


def test_keys_a_laptop_made_before_it_knew_it_was_removed_accuse_nobody(tmp_path: Path):
    """Ana removes her ward laptop while it, not knowing yet, starts a key epoch (a rotation here; a removal or an
    admission does the same). Its wraps reach every device and match no epoch: it wrote them after its cut. Doctor said
    on every laptop that someone sent keys they were not entitled to, and to tell the cohort's mentor. A key Ben, an
    active member, wraps to Ana for no epoch at all is still said so."""
    p = pair(tmp_path)
    ward = laptops(p, tmp_path)
    p.ana.remove_device("ward laptop")
    ward.cohort(p.cid).rotate_epoch()
    once(p.ana, p.ben)  # Ben knows of the removal: what he wraps to Ana goes to her laptop only
    ben = p.ben.cohort(p.cid).store
    made_up = ScopeKey.new(Scope.COHORT, 7)
    ben.commit([Part("keys.wrapped", ben.keys.wrap_body(p.cid, [(made_up, "", "")], ben.readers([ben.view.member(p.ana.id)])), None)])
    once(p.ana, ward, p.ben, p.ana, ward)
    assert [s.cohort(p.cid).store.refused_wraps for s in (p.ana, p.ben, ward)] == [2, 1, 1]  # held, never used
    for s in (p.ana, p.ben, ward):
        s.close()
    for s, whose in ((p.ana, "your removed laptop 'ward laptop'"), (p.ben, "Ana's removed laptop 'ward laptop'"), (ward, "this laptop")):
        r = doctor(s.home.root)
        assert f"ok   {COHORT}: 1 key from {whose}, written after its removal, is never used" in r.stdout, r.stdout
        if s is not p.ana:
            assert "tell the cohort's mentor" not in r.stdout and "no key epoch" not in r.stdout, r.stdout
    line = told_broken(doctor(p.ana.home.root), f"{COHORT}: 1 key wrapped to you matches no key epoch", "tell the cohort's mentor")
    print(f"an unexplained wrap beside a removed laptop's: {line}")


def test_a_key_made_for_a_removal_refused_while_the_app_writes_accuses_nobody(tmp_path: Path):
    """`circle device remove` while the app is open on the same laptop (it holds the journal's write lock) is refused,
    and done again once the app is closed. The key the refused one had made stays in the keystore, for an epoch that
    never started; doctor said someone sent keys they were not entitled to, and to tell the cohort's mentor."""
    p = pair(tmp_path)
    laptops(p, tmp_path).close()
    p.ben.close()
    p.ana.cohort(p.cid).add_item("", "written in the open app")  # its first write takes the journal's write lock
    env = {**os.environ, "CIRCLE_HOME": str(p.ana.home.root), "CIRCLE_PASSPHRASE": PASS}
    remove = [str(Path(sys.executable).with_name("circle")), "device", "remove", "ward laptop"]
    refused = subprocess.run(remove, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "already writing for you in another window" in refused.stderr, refused.stderr
    p.close()
    done = subprocess.run(remove, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    once(ana := reopen(p.ana))
    assert ana.cohort(p.cid).store.refused_wraps == 1  # held, never used
    ana.close()
    r = doctor(p.ana.home.root)
    assert r.exit_code == 0 and "no key epoch" not in r.stdout and "All good." in r.stdout, r.stdout
    made = f"ok   {COHORT}: 1 key you made for a key epoch that never started (a change refused before it was written) is never used"
    assert made in r.stdout, r.stdout


def test_keys_a_member_made_before_they_knew_they_were_removed_accuse_nobody(tmp_path: Path):
    """Ana removes Ben while his laptop, not knowing yet, starts a key epoch: explained by his removal."""
    p = pair(tmp_path)
    p.ana.cohort(p.cid).remove(p.ben.id)
    p.ben.cohort(p.cid).rotate_epoch()
    once(p.ana, p.ben, p.ana)
    assert p.ana.cohort(p.cid).store.refused_wraps == 1
    p.close()
    r = doctor(p.ana.home.root)
    assert "tell the cohort's mentor" not in r.stdout and "no key epoch" not in r.stdout, r.stdout
    assert f"ok   {COHORT}: 1 key from Ben, written after their removal, is never used" in r.stdout, r.stdout


# ---- a read-only home, a full disk -------------------------------------------------------


@contextlib.contextmanager
def mounted(*args: str, target: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs and read-only bind mounts needs root")
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def test_a_read_only_home(tmp_path: Path):
    p = pair(tmp_path)
    p.close()
    view = tmp_path / "view"
    view.mkdir()
    with mounted("--bind", str(p.ana.home.root), target=view), mounted("-o", "remount,bind,ro", target=view):
        line = told_broken(doctor(view), "read-only")
    print(f"read-only home: {line}")


def test_a_full_disk(tmp_path: Path):
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=8M", "tmpfs", target=disk):
        p = pair(disk)
        p.close()
        shutil.move(p.stick, tmp_path / "stick")  # the replica lives on another disk; only the home is full
        (tmp_path / "stick").rename(tmp_path / "away")
        os.symlink(tmp_path / "away", p.stick)
        with open(disk / "filler", "wb") as f, contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 65536)
        line = told_broken(doctor(p.ana.home.root), "disk is full")
    print(f"full disk: {line}")


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` as read-only as this user can make it: a read-only bind mount as root (chmod stops no write of
    root's), its files' write bits off otherwise."""
    if os.geteuid() == 0:
        with mounted("--bind", str(folder), target=folder), mounted("-o", "remount,bind,ro", target=folder):
            yield
        return
    modes = {f: f.stat().st_mode for f in (folder, *folder.rglob("*"))}
    for f, mode in modes.items():
        f.chmod(mode & ~0o222)
    try:
        yield
    finally:
        for f, mode in modes.items():
            f.chmod(mode)


def test_a_read_only_replica_folder_is_said_as_sync_says_it(tmp_path: Path):
    """Sync refused to send to a replica folder it cannot write in, while doctor said it was fine ("All good.")."""
    p = pair(tmp_path)
    note(p.ana.cohort(p.cid), "m1", "Ana's note that waits to be sent")
    p.close()
    with read_only(p.stick):
        sync = CliRunner().invoke(main, ["sync", "--once"], env={"CIRCLE_HOME": str(p.ana.home.root), "CIRCLE_PASSPHRASE": PASS, "CIRCLE_DEBUG": None})
        assert sync.exit_code == 1 and str(p.stick) in sync.stderr, sync.output  # the control: sync refuses it
        line = told_broken(doctor(p.ana.home.root), f"{COHORT}: replica {p.stick}: the replica folder is not writable", "circle cohort replica")
    print(f"read-only replica folder: sync said {sync.stderr.strip()!r}; doctor: {line}")
    assert "All good" in doctor(p.ana.home.root).stdout  # writable again: nothing said


# ---- the recovery kit: a thing to do, nothing broken yet -----------------------------------


def test_a_kit_never_written_and_a_kit_missing_a_cohort_are_things_to_do(tmp_path: Path):
    stick = tmp_path / "stick"
    ana = new_home(tmp_path, "Ana")
    ana.create_cohort(COHORT, replica={"url": str(stick)})
    once(ana)
    ana.close()
    r = doctor(ana.home.root)
    assert r.exit_code == 0 and "All good" not in r.stdout and not fixes(r), r.stdout
    assert "TODO no recovery kit written yet — run: circle recovery-kit -o FILE" in r.stdout
    assert r.stdout.rstrip().endswith("Nothing broken; 1 thing to do.")

    ana = reopen(ana)
    ana.write_recovery_kit(tmp_path / "ana.kit")
    ana.create_cohort("Physios South", replica={"url": str(stick)})
    once(ana)
    ana.close()
    r = doctor(ana.home.root)
    assert r.exit_code == 0 and "All good" not in r.stdout and not fixes(r), r.stdout
    assert "TODO the recovery kit does not hold Physios South — write it again: circle recovery-kit -o FILE" in r.stdout
    print([ln for ln in r.stdout.splitlines() if ln.startswith("TODO")])
