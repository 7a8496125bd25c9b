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
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from circle.errors import UsageError
from circle.sync.litestream.replica import Replica

DEFAULT_INTERVAL = 0.25  # seconds: lag p95 275-315 ms at 0.75-1.0 % idle CPU (bench_sync.py, 3 cohorts x 12)
SHUTDOWN_SYNC_TIMEOUT = "3s"
L0_RETENTION = "24h"

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


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="circle-ls-"))  # 0700
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _placeholder(d: Path) -> Path:
    # ltx, restore and status name the database of a config by its path; it need not exist.
    return d / "replica.db"
