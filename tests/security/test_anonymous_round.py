"""The anonymous round: given every replica and any one member's keys and journals, nobody can tell who wrote a line.

Lines live outside every journal, sealed under a fresh key per line drawn
from the current epoch key, signed by nobody, at slots only holders of that
key can name (circle.crypto.anonymous, circle.store.anonymous). They travel
through the real folder replica with the real Litestream. The altered
clients below write lines the honest client never would (under a removed
member's old key, moved between meetings, copied, malformed, garbage) and
every device refuses them; the honest lines in the same tests show.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from circle.crypto import anonymous as sealing
from circle.models.meeting import room
from circle.models.rota import compute_rota
from circle.paths import default_replica
from circle.store import anonymous
from circle.store.journal import read_rows
from circle.sync.drop import ReplicaDrop
from circle.sync.location import mark_folder
from tests.security.laptops import Laptops, tally


@pytest.fixture
def ward(tmp_path) -> tuple[Laptops, str]:
    """Ana (founder, mentor), Ben and Cleo (peers), a meeting tomorrow; all synced, the folder replica in place."""
    lap = Laptops(tmp_path, "Ana")
    lap.join("Ben", "peer")
    lap.join("Cleo", "peer")
    mark_folder(default_replica(lap.sessions["Ana"].home.root))
    tomorrow = (dt.datetime.now() + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    mid = lap.svc("Ana").schedule(tomorrow, "Case review")
    lap.sync()
    return lap, mid


def drop(lap: Laptops, name: str) -> ReplicaDrop:
    return ReplicaDrop(lap.sessions[name], lap.store(name))


def gather(lap: Laptops, *names: str) -> None:
    """What each device's sync pass does for the round: fetch new lines, open them into the view."""
    for n in names or lap.sessions:
        st = lap.store(n)
        st.gather_rounds(drop(lap, n), time.time())
        st.ingest()


def lines(lap: Laptops, name: str, mid: str) -> list[str]:
    return lap.store(name).view.anonymous_lines(mid)


def replica_files(lap: Laptops) -> list[Path]:
    return [p for p in default_replica(lap.sessions["Ana"].home.root).rglob("*") if p.is_file()]


def slot_dirs(lap: Laptops, name: str, mid: str) -> list[Path]:
    """The round's slot folders on the replica, as ``name`` (holding the current key) can name them."""
    st = lap.store(name)
    names = st.round_names(mid, st.sealing_key())
    base = default_replica(lap.sessions["Ana"].home.root)
    return [base / names(i) for i in range(anonymous.MAX_SLOTS) if (base / names(i)).is_dir()]


def blobs(lap: Laptops, name: str, mid: str) -> list[bytes]:
    return [b for m, _k, b in lap.store(name).rounds.rows() if m == mid]


def test_lines_reach_every_member_and_name_nobody(ward) -> None:
    lap, mid = ward
    journals = {p: p.read_bytes() for n in lap.sessions for p in lap.journals_of(n)}
    lap.svc("Ben").add_anonymous_line(mid, "I was nervous presenting.", drop(lap, "Ben"))
    lap.svc("Cleo").add_anonymous_line(mid, "More case time please.", drop(lap, "Cleo"))
    gather(lap)
    for n in lap.sessions:
        assert lines(lap, n, mid) == ["I was nervous presenting.", "More case time please."], n
    # In no journal: no device's journal changed by one byte, so no signature, no author, no seq.
    assert {p: p.read_bytes() for p in journals} == journals
    # Ana holds every replica, every key and her journals. What she has of the lines: same length, same key id, nothing else shared.
    got = blobs(lap, "Ana", mid)
    assert len(got) == 2 and len({len(b) for b in got}) == 1 == len({sealing.key_id_of(b) for b in got})
    for b in got:
        body = json.loads(sealing.open_line(b, lap.store("Ana").sealing_key().secret, lap.cid, mid))
        assert set(body) == {"id", "text"}
    # No identity, journal id, public key or name of any member is anywhere in the round's files on the replica.
    needles = []
    for n, s in lap.sessions.items():
        st = lap.store(n)
        needles += [s.id.encode(), bytes.fromhex(s.id), st.entry.journal.encode(), bytes.fromhex(st.entry.journal), n.encode()]
        needles += [bytes.fromhex(m.public)[:32] for m in st.view.members()]
    files = [f for d in slot_dirs(lap, "Ana", mid) for f in d.rglob("*") if f.is_file()]
    assert len(slot_dirs(lap, "Ana", mid)) == 2 and files
    for f in files:
        data = f.read_bytes()
        assert not [x for x in needles if x in data], f
    # The facilitator (anyone) sees how many lines came in.
    v = lap.store("Ana").view
    assert len(room(v, compute_rota(v), mid, lap.id("Ana")).anonymous) == 2


def test_two_members_writing_at_once_both_keep_their_line(ward) -> None:
    """Cleo's device looked at slot 0 before Ben's line landed there, and pushes hers to it too: the slot keeps Ben's
    (the first shipped), her read-back says so, and her line goes to the next slot."""
    lap, mid = ward

    class LateLook:
        """Cleo's drop, whose first look at slot 0 came before Ben's push (the race, made certain)."""

        def __init__(self, real: ReplicaDrop, slot0: str) -> None:
            self.real, self.slot0, self.fooled = real, slot0, False

        def exists(self, name: str) -> bool:
            if name == self.slot0 and not self.fooled:
                self.fooled = True
                return False
            return self.real.exists(name)

        def fetch(self, name: str, out: Path) -> bool:
            return self.real.fetch(name, out)

        def push(self, db: Path, name: str) -> None:
            self.real.push(db, name)

    lap.svc("Ben").add_anonymous_line(mid, "first", drop(lap, "Ben"))
    st = lap.store("Cleo")
    late = LateLook(drop(lap, "Cleo"), st.round_names(mid, st.sealing_key())(0))
    lap.svc("Cleo").add_anonymous_line(mid, "second", late)
    assert late.fooled
    gather(lap)
    for n in lap.sessions:
        assert lines(lap, n, mid) == ["first", "second"], n
    assert len(slot_dirs(lap, "Ana", mid)) == 2


def test_a_removed_member_adds_nothing_to_any_round(ward) -> None:
    """Cleo is removed; her altered client still holds the old epoch key and knows where slots are."""
    lap, mid = ward
    old = lap.store("Cleo").sealing_key()
    lap.svc("Ana").remove(lap.id("Cleo"))
    lap.sync("Ana", "Ben")
    new = lap.store("Ana").sealing_key()
    assert new.id != old.id
    tried = 0

    def line(key, text: str) -> bytes:
        return sealing.seal_line(bytes.fromhex(key.id), key.secret, lap.cid, mid, json.dumps({"id": os.urandom(16).hex(), "text": text}).encode())

    cache = anonymous.RoundCache(lap.store("Cleo").root / "attack-cache.db")
    cleo = drop(lap, "Cleo")
    # 1. Under the old key, at the old key's slots: nobody looks there any more.
    anonymous.deliver(cleo, cache, mid, old.id, lambda i: sealing.slot_name(old.secret, lap.cid, mid, i), line(old, "old slots"))
    tried += 1
    # 2. Under the old key, at the current round's slots (the replica shows their names once they exist; here she is told).
    names = lap.store("Ana").round_names(mid, new)
    anonymous.deliver(cleo, cache, mid, new.id, names, line(old, "current slots"))
    tried += 1
    lap.svc("Ben").add_anonymous_line(mid, "honest", drop(lap, "Ben"))
    gather(lap, "Ana", "Ben")
    for n in ("Ana", "Ben"):
        assert lines(lap, n, mid) == ["honest"], n
    tally("anonymous line from a removed member", tried, 0)


def test_lines_moved_copied_made_up_or_malformed_are_refused(ward) -> None:
    lap, mid = ward
    other = lap.svc("Ana").schedule((dt.datetime.now() + dt.timedelta(days=8)).strftime("%Y-%m-%d %H:%M"), "Next")
    lap.sync()
    key = lap.store("Ben").sealing_key()
    base = default_replica(lap.sessions["Ana"].home.root)
    lap.svc("Ben").add_anonymous_line(mid, "honest line", drop(lap, "Ben"))
    [slot0] = slot_dirs(lap, "Ben", mid)
    here, there = lap.store("Ben").round_names(mid, key), lap.store("Ben").round_names(other, key)
    # 1. Moved to another meeting's round: sealed for this one, it does not open there.
    shutil.copytree(slot0, base / there(0))
    # 2. Copied to the next slot of the same round: one line, shown once.
    shutil.copytree(slot0, base / here(1))
    ben = drop(lap, "Ben")

    def put(blob: bytes, slot: int) -> None:
        """An altered client writes any bytes straight into a slot of its choosing."""
        with tempfile.TemporaryDirectory() as d:
            made = Path(d) / "line.db"
            anonymous._write(blob, made)
            ben.push(made, here(slot))

    def content(text: object, **extra: object) -> bytes:
        return json.dumps({"id": os.urandom(16).hex(), "text": text, **extra}).encode()

    made_up = os.urandom(32)
    attacks = [
        sealing.seal_line(bytes.fromhex(key.id), made_up, lap.cid, mid, content("made-up key, real key id")),
        sealing.seal_line(os.urandom(16), made_up, lap.cid, mid, content("made-up key and id")),
        sealing.seal_line(bytes.fromhex(key.id), key.secret, "another-cohort", mid, content("other cohort")),
        sealing.seal_line(bytes.fromhex(key.id), key.secret, lap.cid, mid, content("x" * 201)),
        sealing.seal_line(bytes.fromhex(key.id), key.secret, lap.cid, mid, content(["not", "text"])),
        sealing.seal_line(bytes.fromhex(key.id), key.secret, lap.cid, mid, content("")),
        sealing.seal_line(bytes.fromhex(key.id), key.secret, lap.cid, mid, b"not json"),
        sealing.seal_line(bytes.fromhex(key.id), key.secret, lap.cid, mid, json.dumps({"text": "no id"}).encode()),
        sealing.seal_line(bytes.fromhex(key.id), key.secret, lap.cid, mid, content("extra", who=lap.id("Ben"))),
        sealing.seal_line(bytes.fromhex(key.id), key.secret, lap.cid, mid, content("not text: \udc80")),  # a lone surrogate, escaped
        b"CRAN\x01" + os.urandom(sealing.LINE_LEN - 5),
        b"short",
    ]
    for slot, blob in enumerate(attacks, start=2):
        put(blob, slot)
    # 3. Garbage that is no SQLite file at all, in the next free slot.
    garbage = base / here(len(attacks) + 2)
    garbage.mkdir()
    (garbage / "junk").write_bytes(os.urandom(500))
    lap.svc("Cleo").add_anonymous_line(mid, "after the junk", drop(lap, "Cleo"))
    gather(lap)
    for n in lap.sessions:
        assert lines(lap, n, mid) == ["after the junk", "honest line"], n
        assert lines(lap, n, other) == [], n
    tally("anonymous line moved, copied, made up or malformed", len(attacks) + 2, 0)


def test_a_replica_folder_that_is_away_is_said_and_nothing_is_written(ward, tmp_path) -> None:
    lap, mid = ward
    st = lap.store("Ben")
    st.entry.replica = {"url": str(tmp_path / "unplugged")}
    with pytest.raises(Exception) as err:
        lap.svc("Ben").add_anonymous_line(mid, "lost?", drop(lap, "Ben"))
    assert "replica folder not found" in str(err.value.args[0])
    assert not (tmp_path / "unplugged").exists()


def test_the_round_of_a_held_meeting_is_closed(ward) -> None:
    lap, mid = ward
    lap.svc("Ana").mark_held(mid)
    lap.sync()
    with pytest.raises(Exception, match="closed"):
        lap.svc("Ben").add_anonymous_line(mid, "too late", drop(lap, "Ben"))


def test_nothing_from_a_line_stays_in_the_journal_rows(ward) -> None:
    """The author's device keeps what it fetched, sealed, like everyone's: no row, no plaintext, nothing marked as its own."""
    lap, mid = ward
    lap.svc("Ben").add_anonymous_line(mid, "CanaryRoundLine", drop(lap, "Ben"))
    gather(lap)
    for n in lap.sessions:
        st = lap.store(n)
        assert all(b"CanaryRoundLine" not in r.blob for r in read_rows(st.journal.path))
        assert b"CanaryRoundLine" not in st.rounds.path.read_bytes()
        assert [k for _m, k, _b in st.rounds.rows()] == [st.sealing_key().id]
    for f in replica_files(lap):
        assert b"CanaryRoundLine" not in f.read_bytes()
