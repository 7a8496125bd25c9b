"""The litestream wrapper against the real binary, a folder, sshd and an S3 server.

Plain WAL-mode SQLite files stand in for journals: the wrapper only moves
files. Waits are generous polls, not timing assertions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from circle.errors import CircleError, NotFound, SyncError, UsageError
from circle.sync import litestream as ls
from tests.sync.servers import S3Server, SshServer

WAIT = 20.0  # seconds; a generous ceiling for anything that should take well under one


def make_db(path: Path, rows: int = 3) -> Path:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)")
    con.commit()
    con.close()
    add_rows(path, rows)
    return path


def add_rows(path: Path, n: int) -> None:
    con = sqlite3.connect(path)
    with con:
        start = con.execute("SELECT count(*) FROM t").fetchone()[0]
        con.executemany("INSERT INTO t (body) VALUES (?)", [(f"row {start + i}",) for i in range(n)])
    con.close()


def rows(path: Path) -> list[tuple[int, str]]:
    """Rows through a fresh read-only connection, as an ingest would read them."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("SELECT id, body FROM t ORDER BY id").fetchall()
    finally:
        con.close()


def eventually(check, timeout: float = WAIT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {timeout} s")


def committed(db: Path, write) -> int:
    """Run ``write`` and return the local TXID once litestream has picked it up."""
    before = ls.local_txid(db) or 0
    write()
    eventually(lambda: (ls.local_txid(db) or 0) > before, what="litestream noticing the commit")
    return ls.local_txid(db)


@pytest.fixture(params=["folder", "sftp", "s3"])
def replica(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ls.Replica:
    """One fresh replica location of each kind, one level down as a journal's would be."""
    if request.param == "folder":
        base = ls.Replica(str(tmp_path / "replica"))
    elif request.param == "sftp":
        server: SshServer = request.getfixturevalue("sftp_server")
        base = server.replica(tmp_path.name)
    else:
        s3: S3Server = request.getfixturevalue("s3_server")
        # The environment of these machines sets it; it must not reach litestream.
        monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
        base = s3.replica(tmp_path.name)
    return base.child("j" + os.urandom(8).hex())


# ---- the binary, locations and configs --------------------------------------


def test_binary_is_the_pinned_litestream():
    binary = ls.litestream_binary()
    out = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ls.LITESTREAM_VERSION


def test_missing_binary_says_to_reinstall(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SyncError) as exc:
        ls.litestream_binary()
    assert "reinstall circle" in exc.value.hint


def test_sftp_location_refuses_to_exist_without_a_host_key():
    with pytest.raises(UsageError, match="host key"):
        ls.Replica("sftp://circle@192.0.2.10/srv/circle", key_path="/k")
    ok = ls.Replica("sftp://circle@192.0.2.10:2222/srv/circle", key_path="/k", host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8=")
    assert ok.config()["host"] == "192.0.2.10:2222"


def test_child_paths_stay_inside_the_location():
    base = ls.Replica("s3://bucket/cohorts", endpoint="http://127.0.0.1:9", secret_access_key="sek", access_key_id="ak")
    assert base.child("abc123").config()["path"] == "cohorts/abc123"
    for bad in ("../up", "a/b", "", "..", "-x"):
        with pytest.raises(UsageError):
            base.child(bad)
    assert "sek" not in repr(base)


def test_config_is_private_json_that_litestream_reads_without_a_credential_in_it(tmp_path: Path):
    db = make_db(tmp_path / "a.db")
    replica = ls.Replica("sftp://circle:pa$$word@127.0.0.1:2222/srv/x", host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8=")
    cfg = ls.write_config(tmp_path / "conf" / "ls.yml", [(db, replica)], monitor_interval=0.1)
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600 and stat.S_IMODE(cfg.parent.stat().st_mode) == 0o700
    assert "pa$$word" not in cfg.read_text() and "pa$$word" not in repr(replica)
    doc = json.loads(cfg.read_text())
    section = doc["dbs"][0]["replica"]
    (name,) = replica.credential_env()
    assert section["password"] == "${" + name + "}" and name.startswith("CIRCLE_LS_CRED_")  # litestream expands it from its environment
    assert replica.url == "sftp://circle@127.0.0.1:2222/srv/x"
    assert doc["dbs"][0]["monitor-interval"] == "100ms" and section["sync-interval"] == "20ms"
    out = subprocess.run([str(ls.litestream_binary()), "databases", "-config", str(cfg)], capture_output=True, text=True, env=ls.litestream_env(replica))
    assert out.returncode == 0 and str(db) in out.stdout


def test_a_dollar_in_a_folder_path_is_not_expanded_away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Litestream expands $NAME and ${NAME} everywhere in its config; circle writes other dollars as \u0024.
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    folder = tmp_path / "a$HOME" / "b${HOME}$" / "$$"
    db = make_db(tmp_path / "x$HOME.db")
    ls.replicate_once(db, ls.Replica(str(folder)))
    assert list((folder / "ltx" / "0").glob("*.ltx")) and not (tmp_path / "elsewhere").exists()
    assert ls.restore(ls.Replica(str(folder)), tmp_path / "out$1.db") and rows(tmp_path / "out$1.db") == rows(db)


def test_long_running_litestream_gets_one_scheduler_thread_unless_the_person_chose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    db = make_db(tmp_path / "a.db")

    def environ_of_replicator() -> dict[str, str]:
        rep = ls.Replicator([(db, ls.Replica(str(tmp_path / "replica")).child("a"))], config_dir=tmp_path / "sync")
        rep.start()
        try:
            eventually(lambda: rep.pid is not None, what="replicator running")
            with open(f"/proc/{rep.pid}/environ", "rb") as f:
                return dict(kv.split("=", 1) for kv in f.read().decode().split("\0") if "=" in kv)
        finally:
            rep.stop()

    monkeypatch.delenv("GOMAXPROCS", raising=False)
    assert environ_of_replicator()["GOMAXPROCS"] == "1"
    monkeypatch.setenv("GOMAXPROCS", "2")
    assert environ_of_replicator()["GOMAXPROCS"] == "2"


def test_the_replica_waits_on_the_monitor_not_beside_it():
    # Equal intervals let the replica look just before the monitor writes the new
    # LTX file, which then waits a whole interval more: a fifth keeps it behind.
    assert [ls._replica_wait(d) for d in ("250ms", "1s", "2m", "0.5h", "3ms")] == ["50ms", "200ms", "24000ms", "360000ms", "1ms"]


def test_replicator_watches_busy_databases_often_and_the_rest_seldom(tmp_path: Path):
    base = ls.Replica(str(tmp_path / "replica"))
    a, b = make_db(tmp_path / "a.db"), make_db(tmp_path / "b.db")
    dbs = [(a, base.child("ja")), (b, base.child("jb"))]
    rep = ls.Replicator(dbs, monitor_interval=0.1, idle_interval=5, busy=[a], config_dir=tmp_path / "sync")

    def intervals() -> dict[str, tuple[str, str]]:
        doc = json.loads(rep.config_path.read_text())
        return {Path(d["path"]).name: (d["monitor-interval"], d["replica"]["sync-interval"]) for d in doc["dbs"]}

    rep.start()
    try:
        eventually(lambda: rep.pid is not None, what="replicator running")
        assert intervals() == {"a.db": ("100ms", "20ms"), "b.db": ("5000ms", "1000ms")}
        pid = rep.pid
        rep.set_dbs(dbs, busy=[a])  # nothing changed: the process keeps running
        assert rep.pid == pid
        rep.set_dbs(dbs, busy=[b])  # the screen moved to the other cohort: a new config, a new process
        eventually(lambda: rep.pid not in (None, pid), what="replicator restarted")
        assert intervals() == {"a.db": ("5000ms", "1000ms"), "b.db": ("100ms", "20ms")}
        eventually(lambda: ls.captured(b, ls.local_txid(b) or 0), what="b read")
        before = ls.latest_txid(base.child("jb")) or 0
        add_rows(b, 2)
        eventually(lambda: (ls.latest_txid(base.child("jb")) or 0) > before, what="busy database shipped")
        assert ls.restore(base.child("jb"), tmp_path / "out.db") and rows(tmp_path / "out.db") == rows(b)
        assert rep.restarts == 0
    finally:
        rep.stop()


def test_captured_tells_whether_litestream_has_read_the_latest_commit(tmp_path: Path):
    db, replica = make_db(tmp_path / "a.db"), ls.Replica(str(tmp_path / "replica"))
    ls.replicate_once(db, replica)
    txid = ls.local_txid(db)
    assert txid is not None and ls.captured(db, txid)
    add_rows(db, 1)  # committed, not yet read by Litestream: a replica at txid lacks it
    assert not ls.captured(db, txid)
    ls.replicate_once(db, replica)
    assert ls.local_txid(db) == txid + 1 and ls.captured(db, txid + 1)
    assert not ls.captured(db, txid + 5)  # no such LTX file: not captured


def test_env_drops_aws_ca_bundle_and_hands_a_configured_bundle_to_go(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    assert "AWS_CA_BUNDLE" not in ls.litestream_env(ls.Replica("s3://b/p"))
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    env = ls.litestream_env(ls.Replica("s3://b/p", ca_bundle=str(bundle)))
    assert env["SSL_CERT_FILE"] == str(bundle) and "AWS_CA_BUNDLE" not in env
    with pytest.raises(NotFound):
        ls.litestream_env(ls.Replica("s3://b/p", ca_bundle=str(tmp_path / "nope.pem")))


# ---- one-off commands on every kind of location ------------------------------


def test_replicate_once_then_restore_gives_the_same_rows(replica: ls.Replica, tmp_path: Path):
    db = make_db(tmp_path / "a.db", rows=5)
    assert ls.latest_txid(replica) is None
    assert ls.verify(replica) is None
    assert ls.restore(replica, tmp_path / "nothing.db") is False
    assert not (tmp_path / "nothing.db").exists()

    ls.replicate_once(db, replica)
    txid = ls.latest_txid(replica)
    assert txid is not None and txid == ls.local_txid(db) == ls.verify(replica)
    out = tmp_path / "peer" / "a.db"
    assert ls.restore(replica, out) is True
    assert rows(out) == rows(db)

    # A second restore replaces the first atomically, stale sidecars and all.
    add_rows(db, 2)
    ls.replicate_once(db, replica)
    Path(f"{out}-wal").write_bytes(b"stale")
    assert ls.restore(replica, out) is True
    assert rows(out) == rows(db) and len(rows(out)) == 7
    assert not Path(f"{out}-wal").exists() or Path(f"{out}-wal").read_bytes() != b"stale"
    assert not list(out.parent.glob(".*restoring*"))


def test_replicate_once_refuses_a_missing_database(tmp_path: Path):
    with pytest.raises(NotFound):
        ls.replicate_once(tmp_path / "none.db", ls.Replica(str(tmp_path / "r")))


def test_wrong_sftp_host_key_is_refused(sftp_server: SshServer, tmp_path: Path):
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ"
    replica = sftp_server.replica(tmp_path.name, host_key=other)
    with pytest.raises(SyncError) as exc:
        ls.latest_txid(replica)
    assert exc.value.title == "SFTP host key does not match"


def test_unreachable_replica_is_a_sync_error_not_a_hang(sftp_server: SshServer):
    from tests.sync.servers import free_port

    replica = ls.Replica(f"sftp://circle@127.0.0.1:{free_port()}/srv", key_path=str(sftp_server.client_key), host_key=sftp_server.host_key)
    with pytest.raises(SyncError) as exc:
        ls.latest_txid(replica, timeout=10)
    assert exc.value.title == "the replica is unreachable"
    assert "Traceback" not in exc.value.line()


def test_s3_over_tls_trusts_only_the_configured_ca_bundle(s3_tls_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_CA_BUNDLE", str(s3_tls_server.ca_bundle))  # would break litestream if passed on
    db = make_db(tmp_path / "a.db")
    trusted = s3_tls_server.replica("j1", ca_bundle=str(s3_tls_server.ca_bundle))
    ls.replicate_once(db, trusted)
    assert ls.restore(trusted, tmp_path / "out.db") and rows(tmp_path / "out.db") == rows(db)
    # Without the bundle the self-signed server is not trusted (litestream retries; we give up).
    with pytest.raises(SyncError):
        ls.latest_txid(s3_tls_server.replica("j1"), timeout=2)


# ---- supervised processes -------------------------------------------------


def test_follower_sees_new_rows_and_survives_kill_9(replica: ls.Replica, tmp_path: Path):
    db = make_db(tmp_path / "a.db")
    seen: list[int] = []
    rep = ls.Replicator([(db, replica)], monitor_interval=0.1)
    follower = ls.Follower(replica, tmp_path / "peer" / "a.db", interval=0.1, on_change=seen.append)
    rep.start()
    try:
        eventually(lambda: ls.latest_txid(replica) is not None, what="first sync")
        follower.start()
        eventually(lambda: follower.txid is not None, what="first restore")
        assert follower.state == "following" and follower.txid_changed()

        local = committed(db, lambda: add_rows(db, 4))
        assert follower.wait_for(local, WAIT)
        assert rows(follower.out) == rows(db)
        assert seen and seen[-1] >= local

        os.kill(follower.pid, signal.SIGKILL)
        eventually(lambda: follower.restarts == 1 and follower.alive(), what="follower restart")
        add_rows(db, 2)
        eventually(lambda: rows(follower.out) == rows(db) if follower.out.exists() else False, what="rows after restart")
    finally:
        follower.stop()
        rep.stop()
    assert not follower.alive() and not rep.alive()


def test_replicator_restarts_after_kill_9(tmp_path: Path):
    replica = ls.Replica(str(tmp_path / "replica" / "j1"))
    db = make_db(tmp_path / "a.db")
    rep = ls.Replicator([(db, replica)], monitor_interval=0.1)
    rep.start()
    try:
        eventually(lambda: ls.latest_txid(replica) is not None, what="first sync")
        os.kill(rep.pid, signal.SIGKILL)
        eventually(lambda: rep.restarts == 1 and rep.alive(), what="replicator restart")
        local = committed(db, lambda: add_rows(db, 3))
        eventually(lambda: (ls.latest_txid(replica) or 0) >= local, what="rows shipped after restart")
    finally:
        rep.stop()
    assert ls.restore(replica, tmp_path / "out.db") and rows(tmp_path / "out.db") == rows(db)


def test_follower_waits_for_a_replica_that_does_not_exist_yet(tmp_path: Path):
    replica = ls.Replica(str(tmp_path / "replica" / "j1"))
    follower = ls.Follower(replica, tmp_path / "peer.db", interval=0.1)
    follower.start()
    try:
        eventually(lambda: follower.state == "waiting", what="follower waiting")
        assert follower.txid is None and not follower.out.exists()
        db = make_db(tmp_path / "a.db")
        ls.replicate_once(db, replica)
        eventually(lambda: follower.txid is not None, what="follower picks up the new replica")
        assert rows(follower.out) == rows(db)
    finally:
        follower.stop()


def test_replicator_serves_several_journals_and_can_change_them(tmp_path: Path):
    base = ls.Replica(str(tmp_path / "replica"))
    a, b = make_db(tmp_path / "a.db"), make_db(tmp_path / "b.db")
    rep = ls.Replicator([(a, base.child("ja"))], monitor_interval=0.1, config_dir=tmp_path / "sync")
    rep.start()
    try:
        eventually(lambda: ls.latest_txid(base.child("ja")) is not None, what="first journal")
        config = rep.config_path
        assert config.parent == tmp_path / "sync" and stat.S_IMODE(config.stat().st_mode) == 0o600
        rep.set_dbs([(a, base.child("ja")), (b, base.child("jb"))])
        eventually(lambda: ls.latest_txid(base.child("jb")) is not None, what="second journal")
        assert rep.restarts == 0  # a reconfiguration is not a death
    finally:
        rep.stop()
    assert not config.exists() and not list((tmp_path / "sync").iterdir())  # nothing lingers


# ---- vanished and re-plugged replica folders --------------------------------


def test_heal_checks_start_no_process_while_a_replica_only_grows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    replica = ls.Replica(str(tmp_path / "stick" / "j1"))
    db = make_db(tmp_path / "a.db")
    rep = ls.Replicator([(db, replica)], monitor_interval=0.1)
    checks: list[Path] = []
    real = ls.needs_heal
    monkeypatch.setattr(ls.commands, "needs_heal", lambda r, d=None, **kw: checks.append(d) or real(r, d, **kw))  # as the Replicator calls it
    rep.start()
    try:
        eventually(lambda: ls.latest_txid(replica) is not None, what="first snapshot")
        assert rep.heal_broken() == [] and checks == [db]  # checked whole once
        rep.heal_broken()
        add_rows(db, 2)
        before = ls.latest_txid(replica)
        eventually(lambda: (ls.latest_txid(replica) or 0) > before, what="new rows shipped")
        assert rep.heal_broken() == [] and checks == [db]  # idle, then grown by its own writer: no check
        level0 = sorted((tmp_path / "stick" / "j1" / "ltx" / "0").glob("*.ltx"))[-1]
        level0.write_bytes(level0.read_bytes()[:-10])  # damage: a file changed size
        assert rep.heal_broken() == [db] and checks == [db, db]
        assert not real(replica, db)
        rep.heal_broken()  # whole again, as it is now
        add_rows(db, 1)
        before = ls.latest_txid(replica)
        eventually(lambda: (ls.latest_txid(replica) or 0) > before, what="the next rows shipped")
        newest = sorted((tmp_path / "stick" / "j1" / "ltx" / "0").glob("*.ltx"))[-1]
        newest.write_bytes(newest.read_bytes()[:-10])  # a new file that arrived cut short (a share's write interrupted)
        assert rep.heal_broken() == [db]
        assert not real(replica, db)
    finally:
        rep.stop()


def test_only_grew_sees_pulled_swapped_and_damaged_replicas():
    a, b, c = (0, "01", "01", 100), (0, "02", "02", 50), (1, "01", "02", 120)
    assert ls._only_grew((a,), (a, b))  # the writer added a file
    assert ls._only_grew((a, b), (a, b, c))  # compaction added a level-1 file
    assert ls._only_grew((a, b, c), (a, b))  # ... and a level-1 file went away
    assert not ls._only_grew((a, b), (b,))  # a level-0 file vanished: emptied or swapped
    assert not ls._only_grew((a, b), ())  # the folder is gone
    assert not ls._only_grew((a, b), (a, (0, "02", "02", 25)))  # truncated
    assert not ls._only_grew((c,), ((1, "01", "01", 80),))  # the newest TXID went down: an older copy
    d, e = (0, "03", "03", 40), (0, "05", "05", 40)
    assert ls._only_grew((a, b), (a, b, d))  # the next TXID
    assert not ls._only_grew((a, b), (a, b, e))  # shipped past a gap onto an older copy
    assert ls._only_grew((a, b), (a, b, (9, "01", "05", 300), e))  # a new snapshot covers it: a heal


def test_vanished_folder_is_detected_and_healed(tmp_path: Path):
    replica = ls.Replica(str(tmp_path / "stick" / "j1"))
    db = make_db(tmp_path / "a.db")
    rep = ls.Replicator([(db, replica)], monitor_interval=0.1)
    rep.start()
    try:
        eventually(lambda: ls.verify(replica) is not None, what="first snapshot")
        shutil.rmtree(tmp_path / "stick")  # the USB stick is pulled
        add_rows(db, 3)
        eventually(lambda: ls.latest_txid(replica) is not None, what="litestream recreating the folder")
        with pytest.raises(ls.ReplicaBroken):
            ls.verify(replica)
        assert ls.needs_heal(replica, db)
        assert rep.heal_broken() == [db]
        assert not ls.needs_heal(replica, db)
        assert rep.alive() or eventually(rep.alive, what="replicator back") is None
    finally:
        rep.stop()
    assert ls.restore(replica, tmp_path / "out.db") and rows(tmp_path / "out.db") == rows(db)


def test_verify_and_restore_ask_again_when_the_first_file_lands_between_two_looks(tmp_path: Path, monkeypatch):
    # The restore finds the folder empty; the owner's first file lands before the listing that follows.
    # That is a replica being written, not one that lost its snapshot (a CI run once failed on this).
    written = ls.Replica(str(tmp_path / "written" / "j1"))
    db = make_db(tmp_path / "a.db")
    ls.replicate_once(db, written)
    replica = ls.Replica(str(tmp_path / "stick" / "j1"))
    Path(replica.url).mkdir(parents=True)
    real = ls.commands._one_off
    calls = []

    def landing_after_the_first(*args, **kwargs):
        answer = real(*args, **kwargs)
        if not calls:
            shutil.copytree(written.url, replica.url, dirs_exist_ok=True)
        calls.append(answer)
        return answer

    monkeypatch.setattr(ls.commands, "_one_off", landing_after_the_first)
    assert ls.verify(replica) == ls.verify(written) is not None
    assert "no matching backup files" in calls[0][2]  # the race did happen: the first look saw nothing
    shutil.rmtree(replica.url)
    Path(replica.url).mkdir()
    calls.clear()
    assert ls.restore(replica, tmp_path / "out.db") and rows(tmp_path / "out.db") == rows(db)
    assert "no matching backup files" in calls[0][2]


def test_replugged_old_copy_leaves_a_gap_that_heal_repairs(tmp_path: Path):
    replica = ls.Replica(str(tmp_path / "stick" / "j1"))
    db = make_db(tmp_path / "a.db")
    rep = ls.Replicator([(db, replica)], monitor_interval=0.1)
    follower = ls.Follower(replica, tmp_path / "peer.db", interval=0.1)
    rep.start()
    try:
        eventually(lambda: ls.verify(replica) is not None, what="first snapshot")
        shutil.move(tmp_path / "stick", tmp_path / "old-stick")  # pulled, keeps its old copy
        add_rows(db, 2)
        eventually(lambda: ls.latest_txid(replica) is not None, what="writes while the stick is out")
        shutil.rmtree(tmp_path / "stick")
        shutil.move(tmp_path / "old-stick", tmp_path / "stick")  # plugged back in
        before = ls.latest_txid(replica)
        add_rows(db, 2)
        eventually(lambda: (ls.latest_txid(replica) or 0) > before, what="writes after re-plugging")
        with pytest.raises(ls.ReplicaBroken) as exc:
            ls.restore(replica, tmp_path / "gap.db")
        assert exc.value.title == "the replica has a gap"
        follower.start()
        eventually(lambda: follower.state == "broken", what="follower noticing the gap")
        assert "non-contiguous" in (follower.last_error or "")
        rep.heal(db)
        eventually(lambda: follower.txid is not None, what="follower after the heal")
        assert rows(follower.out) == rows(db)
    finally:
        follower.stop()
        rep.stop()
    assert ls.restore(replica, tmp_path / "out.db") and rows(tmp_path / "out.db") == rows(db)


def test_empty_replica_and_old_local_state_heal_by_reset(tmp_path: Path):
    replica = ls.Replica(str(tmp_path / "stick" / "j1"))
    db = make_db(tmp_path / "a.db")
    ls.replicate_once(db, replica)
    add_rows(db, 2)
    ls.replicate_once(db, replica)
    shutil.rmtree(tmp_path / "stick")
    # Litestream prunes old level-0 files after l0-retention; do it now.
    meta = tmp_path / ".a.db-litestream" / "ltx" / "0"
    oldest = sorted(meta.glob("*.ltx"))[0]
    oldest.unlink()
    with pytest.raises(SyncError):
        ls.replicate_once(db, replica, force_snapshot=True)
    assert ls.needs_heal(replica, db)
    ls.heal(db, replica)
    assert ls.restore(replica, tmp_path / "out.db") and rows(tmp_path / "out.db") == rows(db)


def test_errors_carry_one_line_without_secrets(sftp_server: SshServer, tmp_path: Path):
    replica = sftp_server.replica(tmp_path.name, key_path=None, password="hunter2-secret")
    with pytest.raises(CircleError) as exc:
        ls.latest_txid(replica)
    line = exc.value.line()
    assert "hunter2-secret" not in line and "\n" not in line


def _replicate_for_a_while(cfg: Path, replica: ls.Replica, until, what: str) -> str:
    """Run ``litestream replicate`` on ``cfg`` until ``until()`` holds; returns its log."""
    log = cfg.with_suffix(".log")
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(ls.litestream_binary()), "replicate", "-config", str(cfg)],
            env=ls.litestream_env(replica),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            eventually(until, what=what)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
    return log.read_text()


def test_circle_config_compacts_into_one_hourly_level_and_restores_replicas_of_the_default_levels(tmp_path: Path):
    # Issue 14: every compaction level ships a meeting's pages again, so circle's config names one hourly level.
    db = make_db(tmp_path / "a.db")
    replica = ls.Replica(str(tmp_path / "replica"))
    folder = tmp_path / "replica" / "ltx"
    # A replica written under Litestream's default three levels (here 100/200/400 ms), as circle wrote them before.
    old = ls.write_config(tmp_path / "old" / "ls.yml", [(db, replica)], monitor_interval=0.05)
    doc = json.loads(old.read_text())
    doc["levels"] = [{"interval": x} for x in ("100ms", "200ms", "400ms")]
    old.write_text(json.dumps(doc))
    add_rows(db, 5)
    _replicate_for_a_while(old, replica, lambda: any((folder / "3").glob("*.ltx")), "a level-3 file")
    assert ls.restore(replica, tmp_path / "old.db") and rows(tmp_path / "old.db") == rows(db)
    # circle's config on the same replica: Litestream starts a monitor for level 1 (hourly) and the snapshot only.
    cfg = ls.write_config(tmp_path / "new" / "ls.yml", [(db, replica)], monitor_interval=0.05)
    assert json.loads(cfg.read_text())["levels"] == [{"interval": "1h"}] and ls.LEVELS == ("1h",)
    n = ls.latest_txid(replica) or 0
    add_rows(db, 4)
    log = _replicate_for_a_while(cfg, replica, lambda: (ls.latest_txid(replica) or 0) > n, "the new rows shipped")
    monitors = dict(re.findall(r'msg="starting compaction monitor" .*?level=(\d+) interval=(\S+)', log))
    assert monitors == {"1": "1h0m0s", "9": "24h0m0s"}
    assert ls.restore(replica, tmp_path / "new.db") and rows(tmp_path / "new.db") == rows(db)
