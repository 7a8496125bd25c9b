"""Replica faults told plainly: each wrong setting and each outage, against rclone's S3 server and sshd on 127.0.0.1.

Every fault is tried with :func:`check_location` as a location is set, and the
error is checked as a person meets it: its class (wrong settings are
``ReplicaMisconfigured``, out of reach is ``ReplicaOffline``), a message that
names the cause in one line under 160 characters, no credential in it, and
the time it took, measured. Litestream itself retries several of these for
about two minutes.
"""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from circle.errors import ReplicaMisconfigured, ReplicaOffline, SyncError
from circle.sync import litestream as ls
from tests.sync.servers import HOST, S3Server, SshServer, free_port

FAST = 3.0  # seconds: a fault that can be seen is told at once (Litestream's own answer, or a look at the endpoint)
BOUND = ls.ANSWER_TIMEOUT + 3.0  # what nothing may exceed: the answer time, a last look, stopping litestream
TIMES: dict[str, float] = {}


def told(replica: ls.Replica, timeout: float = ls.ANSWER_TIMEOUT) -> tuple[SyncError, float]:
    """The error ``check_location`` raises for ``replica``, and how long it took."""
    started = time.monotonic()
    with pytest.raises(SyncError) as exc:
        ls.check_location(replica, timeout=timeout)
    return exc.value, time.monotonic() - started


def assert_plain(name: str, err: SyncError, took: float, cls: type, *names: str, within: float = FAST, secrets: tuple[str, ...] = ()) -> None:
    TIMES[name] = took
    line = err.line()
    print(f"{name}: {took:.2f} s: {line}")
    assert isinstance(err, cls), f"{type(err).__name__}: {line}"
    for n in names:
        assert n in line, line
    assert len(line) < 160 and "\n" not in line and "Traceback" not in line
    for s in secrets:
        assert s not in line and s not in err.detail
    assert took < within, f"{name} took {took:.1f} s"


@pytest.fixture
def s3(s3_server: S3Server, tmp_path: Path) -> Iterator[S3Server]:
    yield s3_server


def keys(s3: S3Server) -> tuple[str, str]:
    return (s3.access_key_id, s3.secret_access_key)


# ---- S3 -----------------------------------------------------------------------


def test_the_right_settings_pass(s3: S3Server, sftp_server: SshServer, tmp_path: Path):
    (tmp_path / "stick").mkdir()  # a drive, mounted: its folder for circle is made when the location is set
    for replica in (s3.replica(tmp_path.name), sftp_server.replica(tmp_path.name), ls.Replica(str(tmp_path / "stick" / "circle"))):
        started = time.monotonic()
        ls.check_location(replica)
        assert time.monotonic() - started < FAST


def test_a_folder_whose_drive_is_not_there_is_refused_not_made(tmp_path: Path):
    """A mistyped or unplugged drive path was made into folders on the local disk, and the journals shipped there."""
    exc, _ = told(ls.Replica(str(tmp_path / "media" / "stick" / "circle")))
    assert isinstance(exc, ls.ReplicaMisconfigured) and "parent is not there" in exc.title and "plug in the drive" in exc.hint
    assert not (tmp_path / "media").exists()


def test_wrong_secret(s3: S3Server, tmp_path: Path):
    err, took = told(s3.replica(tmp_path.name, secret_access_key="not-the-secret-Qx81"))
    assert_plain("wrong secret", err, took, ReplicaMisconfigured, "secret access key", secrets=(*keys(s3), "not-the-secret-Qx81"))


def test_wrong_key_id(s3: S3Server, tmp_path: Path):
    err, took = told(s3.replica(tmp_path.name, access_key_id="nobody-Qx82"))
    assert_plain("wrong key id", err, took, ReplicaMisconfigured, "access key id", secrets=(*keys(s3), "nobody-Qx82"))


def test_missing_bucket(s3: S3Server):
    replica = ls.Replica("s3://no-such-bucket/x", endpoint=s3.endpoint, access_key_id=s3.access_key_id, secret_access_key=s3.secret_access_key)
    err, took = told(replica)
    assert_plain("missing bucket", err, took, ReplicaMisconfigured, "no-such-bucket does not exist", secrets=keys(s3))


def test_no_access_key_fails_at_once_without_looking_elsewhere(s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Valid keys where the AWS SDK would look on its own: the person's environment and ~/.aws.
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(f"[default]\naws_access_key_id = {s3.access_key_id}\naws_secret_access_key = {s3.secret_access_key}\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_access_key)
    err, took = told(s3.replica(tmp_path.name, access_key_id=None, secret_access_key=None))
    assert_plain("no access key", err, took, ReplicaMisconfigured, "no access key", secrets=keys(s3))
    assert "access disabled" in err.detail  # litestream's own words: it did not ask the cloud metadata address


def test_connection_refused(s3: S3Server, tmp_path: Path):
    port = free_port()
    err, took = told(s3.replica(tmp_path.name, endpoint=f"http://{HOST}:{port}"))
    assert_plain("refused port", err, took, ReplicaMisconfigured, f"{HOST}:{port}", "connection refused", secrets=keys(s3))


def test_https_on_the_http_port(s3: S3Server, tmp_path: Path):
    err, took = told(s3.replica(tmp_path.name, endpoint=s3.endpoint.replace("http://", "https://")))
    assert_plain("https on http port", err, took, ReplicaMisconfigured, f"http://{HOST}:{s3.port}", secrets=keys(s3))


def test_endpoint_without_scheme(s3: S3Server, tmp_path: Path):
    err, took = told(s3.replica(tmp_path.name, endpoint=f"{HOST}:{s3.port}"))
    assert_plain("no scheme", err, took, ReplicaMisconfigured, "no http:// or https://", f"http://{HOST}:{s3.port}", secrets=keys(s3))


def test_unknown_host(s3: S3Server, tmp_path: Path):
    err, took = told(s3.replica(tmp_path.name, endpoint="http://store.circle-test.invalid:9000"))
    assert_plain("unknown host", err, took, ReplicaMisconfigured, "unknown host store.circle-test.invalid", secrets=keys(s3))


def test_bucket_in_the_endpoint_host(s3: S3Server, tmp_path: Path):
    # A person copies the bucket's own address (virtual-host style) into the endpoint.
    err, took = told(s3.replica(tmp_path.name, endpoint=f"http://{s3.bucket}.localhost:{s3.port}"))
    assert_plain("bucket in endpoint", err, took, ReplicaMisconfigured, "endpoint names the bucket", secrets=keys(s3))


def test_virtual_host_addressing_is_a_choice(s3: S3Server, tmp_path: Path):
    """force_path_style=False reaches Litestream; rclone's server takes path style, so a host name fails plainly."""
    db = tmp_path / "a.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    with con:
        con.execute("CREATE TABLE t (x)")
        con.execute("INSERT INTO t VALUES (1)")
    con.close()
    # With an IP address the S3 client cannot put the bucket in the host name: it uses the path, and it works.
    by_ip = s3.replica(tmp_path.name, force_path_style=False)
    assert by_ip.config()["force-path-style"] is False
    ls.replicate_once(db, by_ip)
    assert ls.restore(by_ip, tmp_path / "out.db")
    # With a host name it asks for <bucket>.<host>, which nothing resolves here.
    err, took = told(s3.replica(tmp_path.name, endpoint=f"http://localhost:{s3.port}", force_path_style=False))
    assert_plain("virtual host", err, took, ReplicaMisconfigured, "path-style", secrets=keys(s3))
    ls.check_location(s3.replica(tmp_path.name, endpoint=f"http://localhost:{s3.port}"))  # path style by the same name: fine


def test_http_on_the_https_port_and_an_untrusted_certificate(s3_tls_server: S3Server, tmp_path: Path):
    err, took = told(s3_tls_server.replica(tmp_path.name, endpoint=s3_tls_server.endpoint.replace("https://", "http://")))
    assert_plain("http on https port", err, took, ReplicaMisconfigured, f"https://{HOST}:{s3_tls_server.port}", secrets=keys(s3_tls_server))
    # Litestream retries a certificate it does not trust and says nothing: the answer time passes, then a look says why.
    err, took = told(s3_tls_server.replica(tmp_path.name), timeout=2.0)
    assert_plain("untrusted certificate", err, took, ReplicaMisconfigured, "not trusted", "CA bundle", within=2.0 + 3.0, secrets=keys(s3_tls_server))
    ls.check_location(s3_tls_server.replica(tmp_path.name, ca_bundle=str(s3_tls_server.ca_bundle)))


# ---- SFTP ---------------------------------------------------------------------


def test_sftp_wrong_host_key(sftp_server: SshServer, tmp_path: Path):
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ"
    err, took = told(sftp_server.replica(tmp_path.name, host_key=other))
    assert_plain("sftp host key", err, took, ReplicaMisconfigured, "host key does not match")


def test_sftp_login_refused(sftp_server: SshServer, tmp_path: Path):
    err, took = told(sftp_server.replica(tmp_path.name, key_path=None, password="hunter2-Qx83"))
    assert_plain("sftp login", err, took, ReplicaMisconfigured, "refused the login", secrets=("hunter2-Qx83",))


def test_sftp_port_that_is_not_ssh(sftp_server: SshServer, s3: S3Server, tmp_path: Path):
    replica = ls.Replica(f"sftp://{sftp_server.user}@{HOST}:{s3.port}/srv/x", key_path=str(sftp_server.client_key), host_key=sftp_server.host_key)
    err, took = told(replica)
    assert_plain("sftp not ssh", err, took, ReplicaMisconfigured, "does not speak SSH")


# ---- out of reach, and every command bounded ------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word: a store that hangs."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen(16)
        yield s.getsockname()[1]


def test_a_store_that_never_answers_is_offline_after_the_answer_time(silent_server: int, tmp_path: Path):
    replica = ls.Replica("s3://circle/x", endpoint=f"http://{HOST}:{silent_server}", access_key_id="ak", secret_access_key="sk-Qx84")
    err, took = told(replica, timeout=2.0)
    assert_plain("silent store", err, took, ReplicaOffline, f"{HOST}:{silent_server}", within=2.0 + 3.0, secrets=("sk-Qx84",))
    assert took >= 2.0  # it was given its time


def test_inside_a_bounded_block_each_location_fails_once_then_at_once(s3: S3Server, tmp_path: Path):
    """A command that touches many journals at an unreachable location waits once, not once per journal."""
    dead = s3.replica(tmp_path.name, endpoint=f"http://{HOST}:{free_port()}")
    with ls.bounded():
        first, took = told(dead)
        assert isinstance(first, ls.ReplicaRefused) and took > 0.5  # seen by a look at the endpoint after a second
        started = time.monotonic()
        for path in ("a", "b", "c"):
            with pytest.raises(ls.ReplicaRefused) as again:
                ls.latest_txid(dead.child(path))
            assert again.value.line() == first.line()
        assert time.monotonic() - started < 0.3
        ls.check_location(s3.replica(tmp_path.name))  # another location is tried on its own
    _, took = told(dead)
    assert took > 0.5  # the memory ends with the block


@pytest.mark.parametrize("command", ["latest_txid", "verify", "restore", "replicate_once"])
def test_every_command_gives_up_on_a_dead_endpoint_within_the_bound(command: str, s3: S3Server, tmp_path: Path):
    db = tmp_path / "a.db"
    sqlite3.connect(db).close()
    replica = s3.replica(tmp_path.name, endpoint=f"http://{HOST}:{free_port()}")
    run = {
        "latest_txid": lambda: ls.latest_txid(replica),
        "verify": lambda: ls.verify(replica),
        "restore": lambda: ls.restore(replica, tmp_path / "out.db"),  # up to 300 s before
        "replicate_once": lambda: ls.replicate_once(db, replica),
    }[command]
    started = time.monotonic()
    with pytest.raises(ReplicaMisconfigured) as exc:
        run()
    assert time.monotonic() - started < FAST
    assert "connection refused" in exc.value.line()


def test_a_big_restore_from_a_store_that_answers_is_not_cut_short(s3: S3Server, tmp_path: Path):
    db = tmp_path / "big.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    with con:
        con.execute("CREATE TABLE t (b BLOB)")
        con.executemany("INSERT INTO t VALUES (randomblob(4000))", [()] * 8000)  # 32 MB
    con.close()
    replica = s3.replica(tmp_path.name)
    ls.replicate_once(db, replica, timeout=120)
    answer = 0.2  # the store must answer this quickly; the transfer takes longer
    started = time.monotonic()
    assert ls.restore(replica, tmp_path / "out.db", answer=answer)
    took = time.monotonic() - started
    print(f"restore of 32 MB: {took:.2f} s with {answer} s to answer")
    assert took > answer
    con = sqlite3.connect(tmp_path / "out.db")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (8000,)
    con.close()
