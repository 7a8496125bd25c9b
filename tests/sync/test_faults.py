"""Faults during sync, with the real litestream: nothing a person was told is saved may be lost.

Each test writes events, breaks something (kill -9 of litestream or of the app,
a replica folder pulled out or emptied, a truncated replica file, an SFTP box
switched off), repairs nothing by hand, and then checks that every
acknowledged event is present on every device, printing the counts.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from circle.sync import litestream as ls
from circle.sync.location import mark_folder
from circle.sync.service import SyncService, replica_for
from tests.figures import record, scale
from tests.sync.helpers import (
    PASS,
    bring_in,
    eventually,
    meeting,
    new_home,
    once,
    reopen,
    visible_texts,
    write_burst,
)
from tests.sync.servers import SshServer, _wait_for_port, find_sshd, litestream_descendants, stop_tree


def two_homes(tmp_path: Path, loc: dict, name: str = "Pharmacists West"):
    a, b = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    cid = a.create_cohort(name, replica=dict(loc)).id
    once(a)
    bring_in(a, cid, b, loc)
    meeting(a.cohort(cid), "m1")
    return a, b, cid


def own_replica(session, cid: str) -> ls.Replica:
    svc = session.cohort(cid)
    return replica_for(session, svc.store).child(svc.store.entry.replica_path)


def report(what: str, written: int, present: int) -> None:
    record("crash", what, events_acknowledged=written, events_lost=written - present)
    print(f"{what}: {written} events written, {present} present on every device")


def reaches_everyone(what: str, reader, cid: str, writer_svc, written: list[str]) -> None:
    """After one `sync --once` on the reader's device, every written event is in its view and both views are the same."""
    once(reader)
    cb = reader.cohort(cid)
    present = visible_texts(cb) & set(written)
    report(what, len(written), len(present))
    assert present == set(written)
    assert cb.view.digest() == writer_svc.view.digest()


def all_sent(service: SyncService) -> bool:
    st = service.status()
    return st.unsent == 0 and st.state == "up to date"


# ---- kill -9 ------------------------------------------------------------------


@pytest.mark.parametrize("run", range(scale(1, 5)))
def test_kill_9_of_litestream_during_a_burst_loses_nothing(tmp_path, run):
    kill_at = 20 if run == 0 else random.Random(run).randint(2, 55)  # the full tier kills at other points too
    a, b, cid = two_homes(tmp_path, {"url": str(tmp_path / "shared")})
    ca = a.cohort(cid)
    service = SyncService(a, interval=0.25, poll=0.5)
    service.start(focus=cid)
    try:
        rep = eventually(lambda: next((r for r in service._replicators.values() if r.pid), None), what="replicator running")
        acknowledged: list[str] = []
        for i in range(60):
            acknowledged += write_burst(ca, f"burst{i}", 1)  # each returned: the person saw it saved
            if i == kill_at:
                os.kill(rep.pid, signal.SIGKILL)
            time.sleep(0.02)
        eventually(lambda: rep.restarts >= 1 and rep.alive(), what="the supervisor restarting litestream")
    finally:
        service.stop()
    # The app restarts: a fresh service must finish what the killed process left unsent.
    again = SyncService(a, interval=0.25, poll=0.5)
    again.start(focus=cid)
    try:
        eventually(lambda: all_sent(again), what="everything sent after the restart")
    finally:
        again.stop()
    reaches_everyone("kill -9 litestream", b, cid, ca, acknowledged)


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import circle.crypto.keystore as keystore
    from circle.store.session import Home
    from circle.sync.service import SyncService
    root, cid, passphrase = sys.argv[1:4]
    session = Home(Path(root), calibrate=False).unlock(passphrase)
    svc = session.cohort(cid)
    SyncService(session, interval=0.25, poll=0.5).start(focus=cid)  # the app syncs while people write
    print("ready", flush=True)
    i = 0
    while True:
        ev = svc.store.record("note.added", {"meeting": "m1", "item": "", "text": f"crash {i}", "kind": "note"})
        print(ev.seq, i, flush=True)  # acknowledged: the append's transaction committed
        i += 1
    """
)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


@pytest.mark.parametrize("run", range(scale(1, 5)))
def test_kill_9_of_the_app_during_appends_loses_nothing_acknowledged(tmp_path, run):
    kill_after = 150 if run == 0 else random.Random(run).randint(1, 300)  # the full tier kills at other points too
    a, b, cid = two_homes(tmp_path, {"url": str(tmp_path / "shared")})
    once(a)
    a.cohort(cid).store.journal.close()  # from here on the journal belongs to the app process below
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(a.home.root), cid, PASS], stdout=subprocess.PIPE, text=True)
    acknowledged: list[str] = []
    children: list[int] = []
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        while len(acknowledged) < kill_after:
            seq, i = proc.stdout.readline().split()
            acknowledged.append(f"crash {i}")
            if not children:
                children = [pid for pid, _ in litestream_descendants(proc.pid)]
        os.kill(proc.pid, signal.SIGKILL)  # mid-way through the next appends
        rest = proc.stdout.read().split("\n")  # lines already in the pipe were acknowledged too
        acknowledged += [f"crash {line.split()[1]}" for line in rest if len(line.split()) == 2]
        # Its litestream dies with it: nothing keeps replicating or holding the journal open.
        assert children, "the app's sync service never started litestream"
        eventually(lambda: all(_gone(pid) for pid in children), timeout=10, what="the app's litestream dying with it")
    finally:
        proc.kill()
        proc.wait()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    # The app starts again: the journal opens, the chain verifies, sync carries everything.
    a2 = reopen(a)
    ca = a2.cohort(cid)
    assert not a2.problems()
    committed = len([t for t in visible_texts(ca) if t.startswith("crash ")])
    assert set(acknowledged) <= visible_texts(ca)
    once(a2, b)
    cb = b.cohort(cid)
    present = visible_texts(cb) & set(acknowledged)
    report("kill -9 app", len(acknowledged), len(present))
    print(f"  ({committed} committed, {committed - len(acknowledged)} of them after the last acknowledgement)")
    assert present == set(acknowledged)
    assert cb.view.digest() == ca.view.digest()
    for s in (a2, b):
        r = s.verify()  # every signature and every link, from the first event
        assert not r.problems and not r.missing, r.problems
    ca.store.record("note.added", {"meeting": "m1", "item": "", "text": "after the crash", "kind": "note"})  # no fork, no reuse
    once(a2, b)
    assert "after the crash" in visible_texts(cb) and not b.problems() and not cb.store.alarms


# ---- the replica folder ------------------------------------------------------


def counting_heals(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    healed: list[Path] = []
    real = ls.heal

    def heal(db, replica, **kw):
        healed.append(Path(db))
        return real(db, replica, **kw)

    monkeypatch.setattr(ls, "heal", heal)  # as the service calls it
    monkeypatch.setattr(ls.commands, "heal", heal)  # as a Replicator calls it
    return healed


def unplug(shared: Path, drawer: Path) -> None:
    """The stick is pulled out (it keeps its contents); the mount point it leaves is empty or gone."""
    shutil.move(shared, drawer)


def plug_back(drawer: Path, shared: Path) -> None:
    """The stick is back: the mount hides whatever Litestream may have written under the mount point meanwhile."""
    shutil.rmtree(shared, ignore_errors=True)
    shutil.move(drawer, shared)


def test_replica_folder_pulled_out_waits_for_the_stick_then_ships(tmp_path, monkeypatch):
    """A pulled stick: nothing is shipped to the local disk under its mount point; offline, unsent counted; shipped once back."""
    shared = tmp_path / "stick"
    a, b, cid = two_homes(tmp_path, {"url": str(shared)})
    ca = a.cohort(cid)
    healed = counting_heals(monkeypatch)
    service = SyncService(a, interval=0.25, poll=0.5)
    service.start(focus=cid)
    try:
        written = write_burst(ca, "before", 5)
        eventually(lambda: all_sent(service), what="first events sent")
        unplug(shared, tmp_path / "drawer")
        written += write_burst(ca, "away", 5)
        st = eventually(lambda: (s := service.status()).state == "offline" and s.unsent >= 5 and s, what="offline with the new events unsent")
        assert "replica folder not found" in st.message and [p.state for p in st.cohorts[0].peers] == ["unreachable"]
        # Litestream may have shipped within its first tick to a folder it created under the mount point;
        # once circle sees the stick is away it ships there no more, and none of it counted as sent.
        under_mount_point = ls.latest_txid(own_replica(a, cid))
        written += write_burst(ca, "still away", 3)
        time.sleep(1.5)  # six monitor ticks
        assert ls.latest_txid(own_replica(a, cid)) == under_mount_point, "circle went on shipping to the local disk"
        assert service.status().unsent >= 8
        plug_back(tmp_path / "drawer", shared)
        written += write_burst(ca, "back", 5)
        eventually(lambda: all_sent(service), what="everything sent once the stick is back")
    finally:
        service.stop()
    assert healed == []  # the stick came back as it left: no gap, no heal
    reaches_everyone("replica folder pulled and re-plugged", b, cid, ca, written)


def test_an_old_copy_of_the_stick_coming_back_is_healed(tmp_path, monkeypatch):
    """The stick that comes back holds an older copy (a backup, a second stick): a gap the service heals."""
    shared = tmp_path / "stick"
    a, b, cid = two_homes(tmp_path, {"url": str(shared)})
    ca = a.cohort(cid)
    healed = counting_heals(monkeypatch)
    service = SyncService(a, interval=0.25, poll=0.5)
    service.start(focus=cid)
    try:
        written = write_burst(ca, "before", 5)
        eventually(lambda: all_sent(service), what="first events sent")
        shutil.copytree(shared, tmp_path / "old-copy")
        written += write_burst(ca, "after the copy", 5)
        eventually(lambda: all_sent(service), what="the next events sent")
        unplug(shared, tmp_path / "drawer")
        plug_back(tmp_path / "old-copy", shared)  # an old copy, a gap ahead
        written += write_burst(ca, "back", 5)
        eventually(lambda: all_sent(service) and not ls.needs_heal(own_replica(a, cid), ca.store.journal.path), what="the service healing the replica")
    finally:
        service.stop()
    # The running service heals when its check finds a gap; Litestream may also have shipped past the
    # gap by itself before that check runs. Either way only this journal is touched and the replica is whole.
    assert set(healed) <= {ca.store.journal.path}
    assert not ls.needs_heal(own_replica(a, cid), ca.store.journal.path)
    reaches_everyone("an old copy of the stick plugged in", b, cid, ca, written)


def test_replica_folder_emptied_is_healed_by_each_owner(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    a, b, cid = two_homes(tmp_path, {"url": str(shared)})
    ca, cb = a.cohort(cid), b.cohort(cid)
    written = write_burst(ca, "Ana", 4) + write_burst(cb, "Ben", 4)
    once(a, b, a)
    healed = counting_heals(monkeypatch)
    for journal in shared.iterdir():  # every journal gone (rm -r shared/*); every device still has its own
        if journal.is_dir():
            shutil.rmtree(journal)
    written += write_burst(ca, "Ana later", 2) + write_burst(cb, "Ben later", 2)
    r = SyncService(b).once()  # before Ana has healed hers: Ben is told, not silently "up to date"
    assert any("Ana's journal is no longer on the replica" in p for p in r.problems), r.problems
    once(a, b, a)  # each heals its own replica with a fresh snapshot
    assert healed == [cb.store.journal.path, ca.store.journal.path]
    for s in (a, b):
        assert not ls.needs_heal(own_replica(s, cid), s.cohort(cid).store.journal.path)
    # A device that never saw the journals restores everything from the healed replica.
    c = new_home(tmp_path, "Cleo")
    bring_in(a, cid, c, {"url": str(shared)})
    once(b, c)
    cc = c.cohort(cid)
    for svc in (cb, cc):
        present = visible_texts(svc) & set(written)
        report(f"replica emptied, {svc.store.author.name}", len(written), len(present))
        assert present == set(written)
    assert ca.view.digest() == cc.view.digest()


def test_an_unmounted_share_is_not_written_to_until_it_is_set_again(tmp_path):
    """`circle sync --once` with the share not mounted: unreachable, nothing written on the empty mount point; chosen again, it heals."""
    shared = tmp_path / "share"
    a, b, cid = two_homes(tmp_path, {"url": str(shared)})
    ca = a.cohort(cid)
    written = write_burst(ca, "mounted", 3)
    once(a)
    unplug(shared, tmp_path / "elsewhere")
    shared.mkdir()  # the mount point, empty
    written += write_burst(ca, "unmounted", 3)
    r = SyncService(a).once()
    assert list(r.unreachable) == [str(shared)] and r.pushed == 0  # her journal's and Ben's location, out of reach
    assert r.unreachable[str(shared)].startswith("replica folder not found")
    assert list(shared.iterdir()) == [], "circle wrote to the empty mount point"
    mark_folder(shared)  # what `circle cohort replica` does: the person says this empty folder is the location now
    r = SyncService(a).once()
    assert r.pushed == 1 and r.problems == [
        "Ben's journal is no longer on the replica: was the folder emptied, or is this another drive? It comes back when they sync"
    ]
    once(b, a)  # Ben's device heals his journal onto the new folder
    reaches_everyone("share unmounted, then set again", b, cid, ca, written)


def test_truncated_replica_file_is_reported_not_folded_then_healed(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    a, b, cid = two_homes(tmp_path, {"url": str(shared)})
    ca, cb = a.cohort(cid), b.cohort(cid)
    first = write_burst(ca, "first", 3)
    once(a, b)
    second = write_burst(ca, "second", 3)
    once(a)
    ltx = sorted((shared / ca.store.entry.replica_path).rglob("*.ltx"), key=lambda p: p.name)[-1]
    data = ltx.read_bytes()
    ltx.write_bytes(data[: len(data) // 2])

    sb = SyncService(b)
    r = sb.once()
    # Detected and reported, the old copy kept: nothing half-read is folded, nothing already seen is lost.
    assert [p for p in r.problems if p.startswith("Ana's journal: litestream could not restore")], r.problems
    assert "unexpected EOF" in sb.status().cohorts[0].problem
    assert set(first) <= visible_texts(cb) and not set(second) & visible_texts(cb)
    assert not b.problems() and not cb.store.alarms

    healed = counting_heals(monkeypatch)
    once(a)  # the owner's next sync finds the damage and writes a fresh snapshot
    assert healed == [ca.store.journal.path]
    assert not ls.needs_heal(own_replica(a, cid), ca.store.journal.path)
    once(b)
    present = visible_texts(cb) & set(first + second)
    report("truncated replica file", len(first + second), len(present))
    assert present == set(first + second)
    assert cb.view.digest() == ca.view.digest()


# ---- an unreachable replica ----------------------------------------------------


@pytest.mark.parametrize("focus", [True, False], ids=["on screen", "circle sync"])
def test_a_pulled_stick_is_offline_with_its_lag_growing_then_catches_up(tmp_path, focus):
    """Ben's service, while the stick holding the cohort is out: offline, how stale, then Ana's events once it is back."""
    shared = tmp_path / "stick"
    a, b, cid = two_homes(tmp_path, {"url": str(shared)})
    ca, cb = a.cohort(cid), b.cohort(cid)
    service = SyncService(b, interval=0.25, poll=0.5)
    service.start(focus=cid if focus else None)
    try:
        st = eventually(lambda: (s := service.status()).state == "up to date" and s.cohorts[0].lag_s is not None and s, what="caught up")
        assert st.cohorts[0].lag_s < 2.0 and "caught up with the replica" in st.cohorts[0].caught_up()
        unplug(shared, tmp_path / "stick-in-a-drawer")
        st = eventually(lambda: (s := service.status()).state == "offline" and s, what="status offline")
        assert [p.state for p in st.cohorts[0].peers] == ["unreachable"]
        assert "replica folder not found" in st.message
        st = eventually(lambda: (s := service.status()).cohorts[0].lag_s > 2.0 and s, what="lag growing while the stick is out")
        assert "ago" in st.cohorts[0].caught_up()
        written = write_burst(ca, "while away", 3)  # Ana goes on writing on her laptop
        plug_back(tmp_path / "stick-in-a-drawer", shared)
        once(a)  # Ana syncs onto it
        eventually(lambda: visible_texts(cb) >= set(written), what="Ana's events reaching Ben's view")
        eventually(lambda: (s := service.status()).state == "up to date" and s.cohorts[0].lag_s < 2.0, what="caught up again")
    finally:
        service.stop()
    report("stick pulled, Ben's service", len(written), len(visible_texts(cb) & set(written)))
    assert cb.view.digest() == ca.view.digest()


def _relaunch(server: SshServer) -> None:
    """Start the same sshd again: same port, host key and client key (the box is switched back on)."""
    with server.log.open("ab") as log:
        server.proc = subprocess.Popen(
            [str(server.sshd.resolve()), "-D", "-e", "-f", str(server.root / "sshd_config")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    _wait_for_port(server.port, server.proc, server.log, banner=b"SSH-2.0")


@pytest.fixture
def own_sftp(tmp_path):
    if find_sshd() is None:
        pytest.skip("sshd is not installed (apt-get install openssh-server)")
    server = SshServer(tmp_path / "box", find_sshd()).start()
    yield server
    if server.proc is not None:
        stop_tree(server.proc)


def test_unreachable_sftp_box_is_offline_not_an_error_and_catches_up(own_sftp, tmp_path):
    loc = {
        "url": f"sftp://{own_sftp.user}@127.0.0.1:{own_sftp.port}{own_sftp.data / 'circle'}",
        "key_path": str(own_sftp.client_key),
        "host_key": own_sftp.host_key,
    }
    a, b, cid = two_homes(tmp_path, loc)
    ca = a.cohort(cid)
    written = write_burst(ca, "online", 2)
    service = SyncService(a, interval=0.25, poll=0.5)
    service.start(focus=None)  # as `circle sync` runs: every peer polled
    try:
        eventually(lambda: all_sent(service), what="first events sent")
        own_sftp.stop()  # the LAN box is switched off
        written += write_burst(ca, "offline", 3)
        st = eventually(lambda: (s := service.status()).state == "offline" and s, what="status offline")
        assert st.unsent >= 3 and "not yet sent" in st.badge()
        assert [p.state for co in st.cohorts for p in co.peers] == ["unreachable"]
        assert "unreachable" in st.message
        r = SyncService(b).once()  # no exception: offline is a normal state
        assert r.unreachable and not r.problems
        # How stale the copy here may be keeps growing while the box is off.
        eventually(lambda: service.status().cohorts[0].lag_s > 2.0, what="lag growing while offline")
        _relaunch(own_sftp)
        eventually(lambda: all_sent(service), what="catching up once the box is back")
        eventually(lambda: service.status().cohorts[0].lag_s < 2.0, what="lag back to a fraction of the poll once the box is back")
    finally:
        service.stop()
    reaches_everyone("SFTP box switched off", b, cid, ca, written)
