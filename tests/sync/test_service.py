"""The sync service running in the background on two homes, as the TUI runs it.

Live followers for the cohort on screen, polling for the others, the status a
person sees, and a stop that leaves no litestream behind.
"""

from __future__ import annotations

import time

from circle.store.db import connect
from circle.sync import litestream as ls
from circle.sync import service
from circle.sync.service import TOUCH_ABOVE, SyncService, replica_for
from tests.locks import held_elsewhere
from tests.sync.helpers import bring_in, eventually, location, meeting, new_home, note, once, reopen, visible_texts
from tests.sync.servers import litestream_descendants


def _names(pids: list[tuple[int, str]]) -> list[str]:
    """The long-running litestream processes by role (replicate, follow); one-off commands left out."""
    out = []
    for pid, _ in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"-f" in args:
            out.append("follow")
        elif args[1:2] == [b"replicate"] and b"-once" not in args:
            out.append("replicate")
    return sorted(out)


def ana_and_ben(tmp_path):
    """Ana founds a cohort at a shared folder and brings Ben in; a meeting is scheduled."""
    loc = {"url": str(tmp_path / "shared")}
    a, b = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    cid = a.create_cohort("Midwives South", replica=dict(loc)).id
    once(a)
    bring_in(a, cid, b, loc)
    ca, cb = a.cohort(cid), b.cohort(cid)
    meeting(ca, "m1")
    return a, b, cid, ca, cb, loc


def test_live_sync_between_two_running_services(tmp_path):
    a, b, cid, ca, cb, loc = ana_and_ben(tmp_path)

    changed = []
    sa = SyncService(a, interval=0.25, poll=1.0)
    sb = SyncService(b, interval=0.25, poll=1.0, on_change=lambda svc: changed.append(svc.id))
    sa.start(focus=cid)
    sb.start(focus=cid)
    try:
        # A folder replica is listed directly every tick: one replicator each and no follower process.
        eventually(lambda: _names(litestream_descendants()) == ["replicate", "replicate"], what="replicators running")
        t0 = time.monotonic()
        note(ca, "m1", "live from Ana")
        eventually(lambda: "live from Ana" in visible_texts(cb), what="Ben's view receiving Ana's note")
        lag = time.monotonic() - t0
        eventually(lambda: cid in changed, what="the listener told")  # called just after the view changed, on the sync thread
        note(cb, "m1", "live from Ben")
        eventually(lambda: "live from Ben" in visible_texts(ca), what="Ana's view receiving Ben's note")
        assert ca.view.digest() == cb.view.digest()

        st = sb.status()
        (co,) = st.cohorts
        (peer,) = co.peers
        assert (peer.member, peer.state) == ("Ana", "caught up")
        assert peer.last_seq == int(a.keystore.data["journals"][ca.store.entry.journal]["seq"])
        assert peer.last_received > 0 and co.name == "Midwives South" and co.replica == loc["url"]
        eventually(lambda: sa.status().unsent == 0 and sa.status().state == "up to date", what="Ana's status: all sent, up to date")
        assert "not yet sent" not in sa.status().badge()
    finally:
        sa.stop()
        sb.stop()
    assert litestream_descendants() == []
    assert sa.status().state == "off"
    print(f"live: Ben saw Ana's note after {lag:.2f} s")


def test_cohorts_off_screen_are_polled_without_followers(tmp_path, request):
    """Over S3 (a remote replica) the cohort on screen gets live followers; the others are polled."""
    loc = location("s3", request, tmp_path)
    a, b = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    on_screen = a.create_cohort("On screen", replica=dict(loc)).id
    other = a.create_cohort("Off screen", replica=dict(loc)).id
    once(a)
    bring_in(a, on_screen, b, loc)
    bring_in(a, other, b, loc)
    meeting(a.cohort(other), "m1")

    sa = SyncService(a, interval=0.25, poll=0.5)
    sb = SyncService(b, interval=0.25, poll=0.5)
    sa.start(focus=on_screen)
    sb.start(focus=on_screen)
    try:
        # One replicator per location, one follower: only the cohort on screen is followed.
        eventually(lambda: _names(litestream_descendants()) == ["follow", "follow", "replicate", "replicate"], what="one follower per side")
        note(a.cohort(other), "m1", "polled, not followed")
        eventually(lambda: "polled, not followed" in visible_texts(b.cohort(other)), what="the off-screen cohort catching up by polling")
        states = {co.name: [p.state for p in co.peers] for co in sb.status().cohorts}
        assert states == {"On screen": ["following"], "Off screen": ["caught up"]}
        # Moving the screen to the other cohort drops the old followers.
        sb.set_focus(other)
        eventually(
            lambda: [p.state for co in sb.status().cohorts if co.name == "Off screen" for p in co.peers] == ["following"], what="follower for the new focus"
        )
        # The new follower's process starts on its supervisor thread: wait for it, then there are two again.
        eventually(lambda: _names(litestream_descendants()).count("follow") == 2, what="two followers again")
    finally:
        sa.stop()
        sb.stop()
    assert litestream_descendants() == []


def test_off_screen_writes_count_as_unsent_until_shipped_and_a_big_commit_ends_small(tmp_path):
    loc = {"url": str(tmp_path / "shared")}
    a = new_home(tmp_path, "Ana")
    on_screen = a.create_cohort("On screen", replica=dict(loc)).id
    off = a.cohort(a.create_cohort("Off screen", replica=dict(loc)).id)
    meeting(off, "m1")
    off.store.record_many([("note.added", {"meeting": "m1", "item": "", "text": f"imported note {i} " + "x" * 400, "kind": "note"}) for i in range(300)])
    db = off.store.journal.path
    sa = SyncService(a, interval=0.25, poll=0.5)
    sa.start(focus=on_screen)
    try:
        eventually(lambda: sa.status().unsent == 0, what="everything sent")
        # The big commit's LTX is re-read by Litestream at every look: the service ends it with a tiny one.
        eventually(lambda: (ls.local_ltx_size(db, ls.local_txid(db) or 0) or TOUCH_ABOVE + 1) <= TOUCH_ABOVE, what="a tiny newest LTX")
        ro = connect(db, readonly=True)
        assert ro.execute("SELECT count(*) FROM marker").fetchone()[0] == 1
        ro.close()
        # Off screen, Litestream looks every few seconds: a new event is "not yet sent" until it has shipped.
        note(off, "m1", "written off screen")
        assert sa.status().unsent == 1
        eventually(lambda: sa.status().unsent == 0, what="the off-screen event sent")
        out = tmp_path / "from-the-replica.db"  # "sent" means a restore of the replica has it
        assert ls.restore(replica_for(a, off.store).child(off.store.entry.replica_path), out)
        ro = connect(out, readonly=True)
        assert ro.execute("SELECT max(seq) FROM envelopes").fetchone()[0] == off.store.written()
        ro.close()
    finally:
        sa.stop()
    assert litestream_descendants() == []


def test_a_newcomer_waiting_on_screen_follows_the_cohort_once_admitted(tmp_path):
    """Cleo joins in the app and stays on the cohort: once admitted, the cohort's notes reach her live, as the cohort on screen."""
    from circle.store import joining
    from tests.sync.helpers import fetch_from_replica

    loc = {"url": str(tmp_path / "shared")}
    a, c = new_home(tmp_path, "Ana"), new_home(tmp_path, "Cleo")
    cid = a.create_cohort("Midwives South", replica=dict(loc)).id
    ca = a.cohort(cid)
    meeting(ca, "m1")
    once(a)
    joined = joining.join(c, joining.create_invite(a, ca).code, replica=dict(loc))
    sc = SyncService(c, interval=0.25, poll=30.0)  # full passes far apart: what arrives later comes through the on-screen checks
    sc.start(focus=joined.cohort_id)  # the app focuses the pending cohort after `j`
    try:
        eventually(
            lambda: ls.latest_txid(replica_for(c, c.store(joined.cohort_id)).child(c.cohort(joined.cohort_id).store.entry.replica_path)),
            what="the join request on the replica",
        )
        joining.admit(ca, joined.join_code, fetch_from_replica(a))
        once(a)
        eventually(lambda: cid in c.cohort_ids() and sc.focus == cid, what="Cleo adopting the cohort, and the focus following it")
        note(ca, "m1", "welcome, Cleo")
        once(a)
        eventually(lambda: "welcome, Cleo" in visible_texts(c.cohort(cid)), timeout=10, what="Ana's note reaching Cleo between full passes")
        assert sc.status().state == "up to date"
    finally:
        sc.stop()


def test_without_inotify_the_cohort_on_screen_is_polled_every_interval(tmp_path, monkeypatch):
    """A folder the kernel cannot watch (no inotify, or a share other machines write to) is listed every tick, not every full pass."""
    import circle.sync.watch as watch_module

    monkeypatch.setattr(watch_module, "_LIBC", None)
    a, b, cid, ca, cb, _ = ana_and_ben(tmp_path)
    once(a)
    sb = SyncService(b, interval=0.25, poll=60.0)  # a full pass at start and a second in, then not for a minute
    sb.start(focus=cid)
    try:
        time.sleep(2.0)
        note(ca, "m1", "polled, not watched")
        once(a)
        eventually(lambda: "polled, not watched" in visible_texts(cb), timeout=10, what="Ana's note reaching Ben between full passes")
    finally:
        sb.stop()


def test_what_was_sent_stays_sent_across_a_restart(tmp_path):
    """Opening the app again does not show every event as 'not yet sent' while Litestream starts up."""
    loc = {"url": str(tmp_path / "shared")}
    a = new_home(tmp_path, "Ana")
    cid = a.create_cohort("Midwives South", replica=dict(loc)).id
    ca = a.cohort(cid)
    meeting(ca, "m1")
    note(ca, "m1", "sent before the restart")
    once(a)
    first = SyncService(a, interval=0.25, poll=1.0)
    assert first.status().unsent == 0  # --once pushed them all
    first.start(focus=cid)
    note(ca, "m1", "sent by the running service")
    eventually(lambda: first.status().unsent == 0, what="the new note sent")
    first.stop()
    a.close()
    a = reopen(a)  # the app opened again
    ca = a.cohort(cid)
    again = SyncService(a, interval=0.25, poll=1.0)
    again.start(focus=cid)
    try:
        assert again.status().unsent == 0
        note(ca, "m1", "after the restart")
        assert again.status().unsent == 1
        eventually(lambda: again.status().unsent == 0, what="the newest note sent")
    finally:
        again.stop()


def test_circle_sync_counts_and_ships_what_a_command_beside_it_writes(tmp_path):
    """`circle sync` runs; `circle agenda add` in another terminal writes: the note is shipped and counted, not invisible."""
    import subprocess
    import sys
    import textwrap

    from circle.store.journal import last_seq
    from tests.sync.helpers import PASS

    a = new_home(tmp_path, "Ana")
    cid = a.create_cohort("Midwives South", replica={"url": str(tmp_path / "shared")}).id
    meeting(a.cohort(cid), "m1")
    once(a)
    a.close()
    a.cohort(cid).store.journal.close()  # from here on this process only syncs; the other terminal writes
    service = SyncService(reopen(a), interval=0.25, poll=1.0)
    service.start(focus=None)  # as `circle sync` runs
    try:
        eventually(lambda: service.status().state == "up to date" and service.status().unsent == 0, what="all sent")
        script = textwrap.dedent(f"""
            import circle.crypto.keystore as keystore
            from pathlib import Path
            from circle.store.session import Home
            svc = Home(Path({str(a.home.root)!r})).unlock({PASS!r}).cohort({cid!r})
            svc.store.record("note.added", {{"meeting": "m1", "item": "", "text": "from the other terminal", "kind": "note"}})
        """)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        journal = service.session.cohort(cid).store.journal.path
        assert service.status().unsent == 1 and last_seq(journal) > service.session.store(cid).written()
        eventually(lambda: service.status().unsent == 0, what="the other terminal's note shipped (5 s for journals not on screen)")
        assert ls.latest_txid(replica_for(service.session, service.session.store(cid)).child(service.session.cohort(cid).store.entry.replica_path))
    finally:
        service.stop()


def test_a_kept_copy_follows_level_0_while_another_level_names_a_newer_txid(tmp_path, monkeypatch):
    """Litestream starting may write a snapshot up to a TXID before its level-0 file lands: no whole restore for that."""
    a, b, cid, ca, cb, loc = ana_and_ben(tmp_path)
    sb = SyncService(b, interval=0.25, poll=30.0)
    sb.start(focus=cid)
    try:
        note(ca, "m1", "first")
        once(a)
        eventually(lambda: "first" in visible_texts(cb), what="Ben's view receiving the first note")
        peer = next(p for p in sb._peers.values() if p.journal == ca.store.entry.journal)
        assert peer.kept is not None  # kept while it is on screen
        held = peer.kept
        level0 = ls.level0_txid(peer.replica)
        assert level0 == held == ls.latest_txid(peer.replica)
        assert sb._reachable(peer, held + 2) is None  # level 0 holds nothing newer yet: wait, no whole restore
        peer.kept = held - 1
        assert sb._reachable(peer, held + 2) == held  # what level 0 holds is taken meanwhile
        monkeypatch.setattr(service, "LEVEL0_LAG", 0.0)
        assert sb._reachable(peer, held + 2) == held + 2  # behind for longer (pruned, rebuilt): the whole restore
        assert sb._reachable(peer, held) == held and not peer.lagging
    finally:
        sb.stop()


def test_a_peer_on_screen_is_brought_forward_by_new_ltx_files_and_a_spoiled_copy_is_restored_afresh(tmp_path, monkeypatch):
    a, b, cid, ca, cb, loc = ana_and_ben(tmp_path)
    restores, applied = [], []
    real_restore, real_apply = ls.restore, ls.apply_level0
    monkeypatch.setattr(ls, "restore", lambda *args, **kw: restores.append(args[1]) or real_restore(*args, **kw))
    monkeypatch.setattr(ls, "apply_level0", lambda *args: applied.append(args[1]) or real_apply(*args))
    sa, sb = SyncService(a, interval=0.25, poll=30.0), SyncService(b, interval=0.25, poll=30.0)
    sa.start(focus=cid)
    sb.start(focus=cid)
    mirror = cb.store.journal_path(ca.store.entry.journal).with_name(f".{ca.store.entry.journal}.mirror.db")
    try:
        note(ca, "m1", "first")
        eventually(lambda: "first" in visible_texts(cb), what="Ben's view receiving the first note")
        eventually(lambda: mirror.exists(), what="Ben keeping his copy of Ana's journal while it is on screen")
        before = restores.count(mirror)
        for i in range(3):
            note(ca, "m1", f"next {i}")
            eventually(lambda i=i: f"next {i}" in visible_texts(cb), what="Ben's view receiving the next note")
        assert restores.count(mirror) == before and mirror in applied  # only the new level-0 files: no whole restore

        with open(mirror, "r+b") as f:  # a copy spoiled on this disk (pages a commit rewrites heal themselves): never an alarm
            f.write(bytes(100))
        note(ca, "m1", "after the damage")
        eventually(lambda: "after the damage" in visible_texts(cb), what="Ben's view receiving the note after the damage")
        assert restores.count(mirror) > before  # restored whole instead
        assert not cb.store.alarms and not (cb.store.root / "evidence").exists()
        assert ca.view.digest() == cb.view.digest()
    finally:
        sa.stop()
        sb.stop()
    assert not mirror.exists()  # kept only while the service runs


def test_the_status_never_waits_for_an_ingest_holding_the_cohort(tmp_path):
    """The badge reads the status on the UI thread every second; an ingest (seconds at 100k) holds the store's lock meanwhile."""
    a, b, cid, ca, cb, loc = ana_and_ben(tmp_path)
    sa = SyncService(a)
    assert [c.name for c in sa.status().cohorts] == ["Midwives South"]
    with held_elsewhere(ca.store.lock, at_most=30):  # an ingest running
        start = time.monotonic()
        assert [c.name for c in sa.status().cohorts] == ["Midwives South"]  # the name last read
        assert time.monotonic() - start < 5  # not the 30 s the lock is held
