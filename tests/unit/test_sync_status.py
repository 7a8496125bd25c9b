"""The words of the sync status: one line for a replica out of reach, the same in the app and the CLI.

And the record of when each cohort's location last answered, which gives a
one-off command its "offline since".
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from circle.errors import UsageError
from circle.sync.location import REACHED, last_reached, note_reached, parse_location
from circle.sync.status import CohortSync, SyncStatus, clock, offline_line

NOW = time.mktime((2026, 3, 4, 15, 30, 0, 0, 0, -1))  # local time
S3 = "s3://circle-cohorts/north at http://192.0.2.20:8333"


def test_offline_says_since_when_why_and_what_waits():
    assert offline_line(S3, "the replica did not answer", NOW - 3600, 3, NOW) == (
        "offline since 14:30: s3://circle-cohorts/north at http://192.0.2.20:8333: the replica did not answer; 3 events not yet sent, kept until it is back"
    )
    assert offline_line("/media/usb/circle", "replica folder not found", 0.0, 1, NOW) == (
        "offline, never reached from here: /media/usb/circle: replica folder not found; 1 event not yet sent, kept until it is back"
    )
    assert offline_line("/media/usb/circle", "", NOW - 86400 * 2, 0, NOW) == (
        "offline since 2026-03-02 15:30: /media/usb/circle: out of reach; nothing waiting to be sent"
    )


@pytest.mark.parametrize("length", [10, 150, 400])
def test_a_long_location_is_cut_in_the_middle_and_the_line_stays_under_160(length: int):
    where = "/mnt/" + "x" * length + "/circle"
    line = offline_line(where, "replica folder not found (plug in the drive or mount the share)", NOW - 60, 12345, NOW)
    assert len(line) < 160 and line.startswith("offline since 15:29: /mnt/")
    assert line.endswith(": replica folder not found (plug in the drive or mount the share); 12345 events not yet sent, kept until it is back")
    assert ("…" in line) == (len(where) > 40)


def test_clock_is_the_time_today_and_the_date_otherwise():
    assert clock(NOW - 60, NOW) == "15:29"
    assert clock(NOW - 86400, NOW) == "2026-03-03 15:30"


def offline(name: str, since: float, unsent: int) -> CohortSync:
    return CohortSync(name, name, f"/media/{name}", unsent, None, (), "", "offline", since, "replica folder not found")


def test_the_badge_says_offline_since_the_earliest_location_away():
    st = SyncStatus("offline", "", (offline("a", NOW - 600, 2), offline("b", NOW - 60, 1), CohortSync("c", "c", "/srv", 0)))
    assert st.badge(NOW) == "offline since 15:20 · 3 not yet sent"
    assert SyncStatus("offline", "", (offline("a", 0.0, 0),)).badge(NOW) == "offline"  # never reached: no time to give
    wrong = CohortSync("d", "d", "s3://b/x", 4, None, (), "the S3 secret key is wrong: check it", "wrong")
    assert SyncStatus("problem", wrong.problem, (wrong,)).badge(NOW) == "problem · 4 not yet sent"
    assert wrong.reach_line() == "the S3 secret key is wrong: check it"  # wrong settings: the error's own line, as the CLI prints it
    assert offline("a", NOW - 600, 2).reach_line(NOW) == offline_line("/media/a", "replica folder not found", NOW - 600, 2, NOW)
    assert CohortSync("c", "c", "/srv").reach_line() == ""


def test_the_live_line_of_circle_sync_uses_the_same_words():
    co = offline("Riverside", NOW - 600, 2)
    line = SyncStatus("offline", "", (co,)).line()
    assert f"Riverside: {co.reach_line()}; no peers yet" in line


# ---- when a location last answered --------------------------------------------------------------


def test_when_a_location_last_answered_is_kept_per_cohort_and_location(tmp_path: Path):
    sync = tmp_path / "identity" / "sync"
    north, other = {"url": "s3://b/north", "endpoint": "http://192.0.2.20:8333", "secret_access_key": "sk-Qx90"}, {"url": "/media/usb"}
    assert last_reached(sync, "c1", north) == 0.0  # no record yet
    note_reached(sync, {"c1": (north, NOW), "c2": (other, NOW - 5)})
    assert last_reached(sync, "c1", north) == NOW and last_reached(sync, "c2", other) == NOW - 5
    assert last_reached(sync, "c1", other) == 0.0  # a location chosen since: never reached
    note_reached(sync, {"c1": (north, NOW + 60)})
    assert last_reached(sync, "c1", north) == NOW + 60 and last_reached(sync, "c2", other) == NOW - 5
    text = (sync / REACHED).read_text()
    assert "sk-Qx90" not in text and "192.0.2.20" not in text and "north" not in text  # ids, digests and times only
    assert os.stat(sync / REACHED).st_mode & 0o777 == 0o600 and os.listdir(sync) == [REACHED]
    (sync / REACHED).write_text("{not json")
    assert last_reached(sync, "c1", north) == 0.0  # damaged: only "since" is lost
    note_reached(sync, {"c1": (north, NOW)})
    assert json.loads((sync / REACHED).read_text())["cohorts"]["c1"][1] == NOW


def test_s3_addressing_is_kept_as_chosen_and_refused_for_other_kinds(tmp_path: Path):
    assert parse_location("s3://b/north", endpoint="http://192.0.2.5:8333")["force_path_style"] is True
    assert parse_location("s3://b/north", endpoint="http://192.0.2.5:8333", force_path_style=False)["force_path_style"] is False
    assert parse_location("s3://b/north")["force_path_style"] is False  # AWS: the bucket in the host name
    with pytest.raises(UsageError, match="for S3 locations"):
        parse_location(str(tmp_path), force_path_style=False)


def test_the_badge_is_not_up_to_date_while_our_own_events_wait():
    assert SyncStatus("up to date", "", (CohortSync("c", "c", "/srv", 2),)).badge(NOW) == "sending · 2 not yet sent"
    assert SyncStatus("up to date", "", (CohortSync("c", "c", "/srv", 0),)).badge(NOW) == "up to date"
