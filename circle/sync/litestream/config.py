"""Litestream config files: intervals, the file itself, and the scratch folders one-off commands use.

JSON is valid YAML, so a config is written with :mod:`json`. See
``docs/litestream.md`` for why the replica waits a fifth of the monitor
interval.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from circle.errors import UsageError
from circle.paths import private_dir  # noqa: F401  (re-exported for the package's modules)
from circle.sync.litestream.replica import Replica

DEFAULT_INTERVAL = 0.25  # seconds: lag p95 275-315 ms at 0.75-1.0 % idle CPU (bench_sync.py, 3 cohorts x 12)
SHUTDOWN_SYNC_TIMEOUT = "3s"
L0_RETENTION = "24h"
# Compaction levels above level 0. Litestream's defaults are 30 s, 5 min and 1 h, and
# each level writes every page a change touched again: one meeting (77 events) shipped
# 322-325 KB with them and 154 KB with one hourly level (bench/bench_wire.py). Peers read
# level 0 (kept ``L0_RETENTION``) or restore (snapshot, then any level's files, so
# replicas written with the defaults restore as before); one level is the least that
# lets Litestream prune level 0. A restore reads the level-0 files of the current hour.
LEVELS = ("1h",)

_DURATION = re.compile(r"\d+(\.\d+)?(ms|s|m|h)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


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


def write_config(
    path: Path,
    dbs: Sequence[tuple[Path, Replica]],
    *,
    monitor_interval: float | str = DEFAULT_INTERVAL,
    intervals: Mapping[Path, float | str] | None = None,
    log_level: str = "info",
) -> Path:
    """Write a Litestream config for ``dbs`` atomically, mode 0600, in a folder of mode 0700.

    It holds no credential: only ``${NAME}`` references to the environment a
    child gets from :func:`~circle.sync.litestream.binary.litestream_env`.
    Litestream expands ``$`` everywhere in its config, so every other ``$``
    (in a folder path, say) is written as the JSON escape ``\\u0024``.
    JSON is valid YAML. Each database is watched and shipped every
    ``monitor_interval``, or at its own interval from ``intervals``.
    Logs go to stderr so that stdout carries only a command's ``-json`` output.
    """
    every = {Path(db): _duration((intervals or {}).get(Path(db), monitor_interval)) for db, _ in dbs}
    doc = {
        "logging": {"level": log_level, "type": "text", "stderr": True},
        "shutdown-sync-timeout": SHUTDOWN_SYNC_TIMEOUT,
        "l0-retention": L0_RETENTION,
        "levels": [{"interval": level} for level in LEVELS],
        "dbs": [
            {"path": os.path.abspath(db), "monitor-interval": every[Path(db)], "replica": {**replica.config(), "sync-interval": _replica_wait(every[Path(db)])}}
            for db, replica in dbs
        ],
    }
    text = json.dumps(doc, indent=1).replace("$", "\\u0024")
    for name in {name for _, replica in dbs for name in replica.credential_env()}:
        text = text.replace(f"\\u0024{{{name}}}", f"${{{name}}}")
    path = Path(path)
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


# Config files and scratch folders carry the pid of the circle process that made them,
# so that one started later can tell a leftover (its process killed hard) from one in use.
_CONFIG = re.compile(r"\.?(replicate|follow)-(\d+)-[0-9a-f]{8}\.yml(\.[0-9a-f]{8}\.tmp)?")
_LEGACY_CONFIG = re.compile(r"\.?(replicate|follow-[0-9a-f]{8})\.yml(\.[0-9a-f]{8}\.tmp)?")  # older names: may hold credentials
_SCRATCH_PREFIX = "circle-ls-"
_cleaned: set[str] = set()
_cleaning = threading.Lock()


def config_name(kind: str) -> str:
    """A fresh config file name for a ``replicate`` or ``follow`` process of this circle process."""
    return f"{kind}-{os.getpid()}-{secrets.token_hex(4)}.yml"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's: alive
        return True
    return True


def remove_stale_configs(folder: Path) -> list[Path]:
    """Remove the configs that circle processes now gone left in ``folder`` (killed hard); once per folder and process.

    Configs hold no credentials, so a leftover is harmless; configs from
    before that (``replicate.yml``, ``follow-xxxxxxxx.yml``) may hold them and
    always go. Returns what was removed.
    """
    folder = Path(os.path.abspath(folder))
    with _cleaning:
        if str(folder) in _cleaned:
            return []
        _cleaned.add(str(folder))
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        m = _CONFIG.fullmatch(entry.name)
        if (m and not _alive(int(m.group(2)))) or _LEGACY_CONFIG.fullmatch(entry.name):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def scratch_dir() -> Path:
    """A new private folder (0700) in the system's temporary folder, named for this process.

    The first call of a process removes those that circle processes now gone left behind.
    """
    tmp = tempfile.gettempdir()
    with _cleaning:
        first = tmp not in _cleaned
        _cleaned.add(tmp)
    if first:
        _remove_stale_scratch(Path(tmp))
    return Path(tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-"))


def _remove_stale_scratch(tmp: Path) -> None:
    named = re.compile(re.escape(_SCRATCH_PREFIX) + r"(\d+)-[A-Za-z0-9_]+")
    try:
        entries = list(os.scandir(tmp))
    except OSError:
        return
    for entry in entries:
        m = named.fullmatch(entry.name)
        try:
            ours = m is not None and entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_uid == os.getuid()
        except (OSError, AttributeError):  # os.getuid: not on Windows
            ours = False
        if ours and m is not None and not _alive(int(m.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    d = scratch_dir()
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _placeholder(d: Path) -> Path:
    # ltx, restore and status name the database of a config by its path; it need not exist.
    return d / "replica.db"
