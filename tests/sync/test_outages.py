"""The sync service through an outage, as the app's badge and sync report show it.

The hard case is a store that hangs: it accepts connections and never answers.
Litestream's own processes then wait (its S3 client for up to a day) without a
word, so the service checks each location itself on every pass. Within one
pass (and the time a location has to answer) the status says offline, since
when, and what is not yet sent; nothing keeps waiting on the store; once it
answers, everything is sent, the copy here is caught up again, and nothing
written meanwhile is lost.
"""

from __future__ import annotations

import time
from pathlib import Path

from circle.sync.service import SyncService
from circle.sync.status import clock, offline_line
from tests.sync.helpers import eventually, note, once, visible_texts, write_burst
from tests.sync.servers import HOST, S3Server, StallingProxy, litestream_descendants
from tests.sync.test_faults import all_sent, reaches_everyone, two_homes
from tests.sync.test_service import _names

POLL = 0.5  # seconds between the service's full passes here (15 s in the app)
ANSWER = 2.0  # seconds a location has to answer the service's check here (10 s in the app)


def test_a_store_that_hangs_is_offline_within_one_pass_and_catches_up_once_it_answers(s3_server: S3Server, tmp_path: Path):
    proxy = StallingProxy(s3_server.port)
    loc = {"url": f"s3://{s3_server.bucket}/{tmp_path.name}", "endpoint": f"http://{HOST}:{proxy.port}", "access_key_id": s3_server.access_key_id,
           "secret_access_key": s3_server.secret_access_key, "force_path_style": True}  # fmt: skip
    try:
        a, b, cid = two_homes(tmp_path, loc)
        ca, cb = a.cohort(cid), b.cohort(cid)
        note(cb, "m1", "Ben, before")
        once(b)
        written = write_burst(ca, "online", 2)
        service = SyncService(a, interval=0.25, poll=POLL, answer=ANSWER)
        service.start(focus=cid)  # on screen: Ben's journal followed live
        try:
            eventually(lambda: all_sent(service) and _names(litestream_descendants()) == ["follow", "replicate"], what="sent, and following Ben")
            proxy.stall()
            hung = time.monotonic()
            written += write_burst(ca, "while it hangs", 3)
            st = eventually(lambda: (s := service.status()).state == "offline" and s, what="offline")
            took = time.monotonic() - hung
            print(f"offline {took:.2f} s after the store hung (a pass every {POLL} s, {ANSWER} s to answer)")
            assert took < POLL + ANSWER + 3.0  # a pass under way when it hung, the next one's check, the processes stopped
            co = st.cohorts[0]
            assert co.reach == "offline" and 0 < time.time() - co.since < 60 and co.why == "the replica does not answer"
            st = eventually(lambda: (s := service.status()).unsent >= 3 and s, what="the new events counted as unsent")
            co = st.cohorts[0]
            assert st.badge() == f"offline since {clock(co.since)} · {st.unsent} not yet sent"
            assert st.message == co.reach_line() == offline_line(co.replica, "the replica does not answer", co.since, co.unsent)  # `sync --once`'s words
            eventually(lambda: _names(litestream_descendants()) == [], what="the replicator and the follower no longer waiting on the store")
            proxy.resume()
            eventually(lambda: all_sent(service), what="everything sent once the store answers")
            st = eventually(
                lambda: (s := service.status()).cohorts[0].lag_s is not None and s.cohorts[0].lag_s < 2.0 and s, what="caught up again, and saying so"
            )
            assert (st.state, st.message, st.cohorts[0].reach) == ("up to date", "", "ok")
            eventually(lambda: _names(litestream_descendants()) == ["follow", "replicate"], what="replicating and following afresh")
            since = time.time()
            note(cb, "m1", "Ben, after the outage")
            once(b)
            eventually(lambda: "Ben, after the outage" in visible_texts(ca), what="Ben's note arriving through the new follower")
            assert service.status().cohorts[0].last_change >= since
        finally:
            service.stop()
        reaches_everyone("store hung, then answered", b, cid, ca, written)
    finally:
        proxy.stop()
