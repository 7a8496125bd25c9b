"""The sealed snapshot in frames: it reads back whole, and any change to the file makes it unusable (deleted, never half-read)."""

from __future__ import annotations

import os
import struct
from dataclasses import replace

import pytest

from circle.models.events import Event
from circle.store import snapshot

COHORT = "c0" * 16
KEY = bytes(range(32))


def events(n: int) -> list[Event]:
    return [
        Event(
            f"{i:064x}",
            "ab" * 16,
            i + 1,
            "note.added",
            COHORT,
            "cd" * 16,
            i + 1,
            1000.0 + i,
            {"meeting": "m1", "text": f"note {i} ✓"},
            (("ef" * 16, i, "01" * 32),),
        )
        for i in range(n)
    ]


@pytest.fixture
def small_frames(monkeypatch):
    monkeypatch.setattr(snapshot, "FRAME_EVENTS", 3)


def write(path, n: int = 10) -> snapshot.Snapshot:
    snap = snapshot.Snapshot({"ab" * 16: (n, "00" * 32)}, events(n), {"x": "cd" * 16}, [("ef" * 16, 4, "id4")])
    snapshot.save(path, KEY, COHORT, snap)
    return snap


def frames_of(raw: bytes) -> tuple[bytes, list[bytes]]:
    head, pos, out = raw[:12], 12, []
    while pos < len(raw):
        (size,) = struct.unpack(">I", raw[pos : pos + 4])
        out.append(raw[pos : pos + 4 + size])
        pos += 4 + size
    return head, out


@pytest.mark.parametrize("n", [0, 1, 3, 10])
def test_a_snapshot_reads_back_whole(tmp_path, small_frames, n):
    path = tmp_path / "c.snap"
    snap = write(path, n)
    assert len(frames_of(path.read_bytes())[1]) == 1 + (n + 2) // 3
    got = snapshot.load(path, KEY, COHORT)
    assert got == snap and [e.deps for e in got.events] == [e.deps for e in snap.events] and [e.body for e in got.events] == [e.body for e in snap.events]
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_repeated_ids_and_citations_are_held_once(tmp_path, small_frames):
    """A journal id, an author or a citation met in many events is one object after loading, across frames (bench/README.md, "Memory")."""
    path = tmp_path / "c.snap"
    snap = snapshot.Snapshot(
        {}, [*events(10), *(replace(e, id=f"{i + 100:064x}", seq=i + 100, deps=events(10)[3].deps) for i, e in enumerate(events(4)))], {}, []
    )
    snapshot.save(path, KEY, COHORT, snap)
    got = snapshot.load(path, KEY, COHORT).events
    assert got == snap.events
    assert len({id(e.journal) for e in got}) == len({id(e.author) for e in got}) == len({id(e.kind) for e in got}) == 1
    cited = [e.deps[0] for e in got if e.deps[0][1] == 3]
    assert len(cited) == 5 and len({id(d) for d in cited}) == 1


def changes(raw: bytes) -> dict[str, bytes]:
    head, frames = frames_of(raw)
    count = struct.unpack(">I", head[8:])[0]
    return {
        "a flipped byte in a frame": raw[:40] + bytes([raw[40] ^ 1]) + raw[41:],
        "a flipped byte at the end": raw[:-1] + bytes([raw[-1] ^ 1]),
        "two frames swapped": head + frames[0] + frames[2] + frames[1] + b"".join(frames[3:]),
        "the last frame gone": head + b"".join(frames[:-1]),
        "the frame count lowered with it": head[:8] + struct.pack(">I", count - 1) + b"".join(frames[:-1]),
        "a frame repeated": head + b"".join(frames) + frames[-1],
        "cut in a frame": raw[: len(raw) - 5],
        "another magic": b"CRCLSNP2" + raw[8:],
    }


def test_any_change_makes_it_unusable_and_it_is_deleted(tmp_path, small_frames):
    path = tmp_path / "c.snap"
    write(path)
    raw = path.read_bytes()
    for what, changed in changes(raw).items():
        path.write_bytes(changed)
        assert snapshot.load(path, KEY, COHORT) is None, what
        assert not path.exists(), what
    path.write_bytes(raw)
    assert snapshot.load(path, KEY, "c1" * 16) is None  # another cohort's
    path.write_bytes(raw)
    assert snapshot.load(path, bytes(32), COHORT) is None  # another key
    assert snapshot.load(tmp_path / "none.snap", KEY, COHORT) is None
