"""One meeting on the wire (issue 14): every byte a real ``litestream replicate`` writes to a folder replica.

    /tmp/venv-base/bin/python bench/bench_wire.py                      # time scale 60: the hour in 60 s
    /tmp/venv-base/bin/python bench/bench_wire.py --scale 120 --levels circle   # the short tier: a 30 s meeting

The facilitator's laptop plays one realistic meeting of a cohort of eight
through circle's own services, as the meeting room calls them (CohortService:
schedule, agenda items, the check-in, attendance marked member by member,
items started and finished, notes and decisions on each item, actions, the
wrap-up): 77 events in 71 commits. Beside it, in the same run and under the
same Litestream process and config, a plain SQLite table receives the same
events as plaintext JSON in the same transactions (a store listener copies
each commit).

Litestream ships a level-0 LTX file per monitor tick with a commit, then
merges them into each compaction level: circle's config has one, hourly
(``sync/litestream/config.py:LEVELS``); Litestream's defaults, which circle
used before, are 30 s, 5 min and 1 h. Every page is written again at each
level. Waiting an hour is not a bench, so time runs ``--scale`` times
faster: the meeting's hour and the level intervals shrink together (the
monitor interval stays circle's own 250 ms, which is shorter than the gap
between two commits at any scale here). The run waits until the top level
holds every commit, counts every byte the replica folders gained, per
level, then checks that ``litestream restore`` of every replica gives its
database's rows. The daily snapshot (level 9, the whole journal) is printed
beside it, measured by a one-off snapshot of the journal into a scratch
replica.

In one run: for each ``--levels`` set (``circle``, ``defaults``; one
Litestream process each), ``circle`` as circle writes journals now,
``plain`` (the baseline), one circle journal per ``--pages`` size, rewritten
to it before the meeting (512 and 4096 by default: smaller pages, measured
and not taken, and journals as circle wrote them before issue 14), and the ``--variants``: ``register`` (attendance in one
commit, the room's "all present") and ``norowid`` (the envelopes table
rebuilt WITHOUT ROWID). Prints bytes per level, per event and against
plain, a table per lever against the journal under Litestream's default
levels, and where level 0's bytes go by what each page holds (page 1 and
how often it was written, interior, leaf pages; LTX framing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import TextGen, emit, result  # noqa: E402

from circle.crypto.identity import Identity  # noqa: E402
from circle.models.events import Event, as_written, encode_payload  # noqa: E402
from circle.store.service import CohortService  # noqa: E402
from circle.store.session import Home  # noqa: E402
from circle.sync import litestream as ls  # noqa: E402
from circle.sync.litestream.binary import litestream_binary, litestream_env  # noqa: E402

PASSPHRASE = "correct horse battery staple"
LEVELS = (30.0, 300.0, 3600.0)  # Litestream 0.5's default compaction levels L1, L2, L3 (seconds)
MEETING = 3600.0  # one hour, as the charter's default
TARGET_KB = 100.0  # issue 14: one meeting <= 100 KB on the wire, merges included


def say(msg: str) -> None:
    print(f"  .. {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# The meeting, as the meeting room drives CohortService


def meeting(svc: CohortService, members: list[str], seed: int, register: bool = False) -> Iterator[str]:
    """One meeting typed on the facilitator's laptop; yields after each thing a person does.

    With ``register``, attendance is taken in one go (``mark_attendance_many``,
    the room's "all present" key, ``circle`` commands and the demo) instead of
    member by member: one commit at the first mark, then the same pauses, so
    that journals playing both ways stay in step.
    """
    gen = TextGen(seed)
    rng = random.Random(seed)
    mid = svc.schedule("2030-03-04T10:00", "Fortnightly peer supervision", 60)
    yield "schedule"
    items = []
    for k in range(6):
        items.append(svc.add_item(mid, gen.title()[:80], members[k % len(members)], rng.choice((5, 10, 15))))
        yield "item"
    svc.advance_phase(mid)  # check-in
    yield "phase"
    if register:
        svc.mark_attendance_many(mid, {m: k != 5 for k, m in enumerate(members)})
        for _ in members:
            yield "attendance"
    else:
        for k, m in enumerate(members):  # the room marks the register one member at a time
            svc.mark_attendance(mid, m, k != 5)
            yield "attendance"
    svc.advance_phase(mid)  # agenda
    yield "phase"
    svc.start_item(mid, items[0])
    yield "start"
    for k, item in enumerate(items):
        for _ in range(5 + (k == 0)):
            svc.add_note(mid, gen.text(rng.randint(120, 600)), item)
            yield "note"
        svc.add_note(mid, gen.text(rng.randint(60, 240)), item, decision=True)
        yield "decision"
        svc.finish_item(mid)  # done, and the next one starts
        yield "finish"
    svc.advance_phase(mid)  # feedback
    yield "phase"
    svc.advance_phase(mid)  # actions
    yield "phase"
    for k in range(6):
        svc.add_action(mid, gen.title()[:120], members[(k * 3) % len(members)], f"2030-03-{10 + k:02d}")
        yield "action"
    svc.advance_phase(mid)  # wrap-up
    yield "phase"
    svc.mark_held(mid)
    yield "held"


# ---------------------------------------------------------------------------
# The sides: circle's journal and the plain table


class Plain:
    """The baseline: each of circle's commits again, as plaintext JSON rows in one plain SQLite table."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        self.plaintext = 0
        self.events = 0

    def write(self, events: list[Event], count: bool = True) -> None:
        rows = [
            (e.seq, encode_payload(kind=e.kind, cohort=e.cohort, author=e.author, lamport=e.lamport, ts=e.ts, body=as_written(e), deps=e.deps)) for e in events
        ]
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany("INSERT INTO events (seq, payload) VALUES (?, ?)", rows)
        self.conn.execute("COMMIT")
        if count:
            self.plaintext += sum(len(p) for _, p in rows)
            self.events += len(rows)


def own_newest(store: Any, n: int) -> list[Event]:
    """The last ``n`` events this store wrote to its own journal, as its view holds them: what one commit of the cohort's events was."""
    if not n:
        return []
    own = [e for e in store.view.events if e.journal == store.entry.journal]
    return sorted(own, key=lambda e: e.seq)[-n:]


@dataclass
class Side:
    name: str
    db: Path
    replica: ls.Replica
    svc: CohortService | None = None
    members: list[str] = field(default_factory=list)
    plain: Plain | None = None
    register: bool = False
    commits: int = 0
    events: int = 0

    @property
    def folder(self) -> Path:
        return Path(self.replica.config()["path"])


def set_page_size(path: Path, size: int) -> None:
    """Rewrite a closed SQLite file with pages of ``size`` bytes (VACUUM), in WAL mode again."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute(f"PRAGMA page_size={int(size)}")
        conn.execute("VACUUM")
        conn.execute("PRAGMA journal_mode=WAL")
        got = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    if got != size:
        raise RuntimeError(f"{path.name}: page size {got}, wanted {size}")


def page_size(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA page_size").fetchone()[0])
    finally:
        conn.close()


def without_rowid(path: Path) -> None:
    """Rebuild a closed journal's ``envelopes`` as a WITHOUT ROWID table (the same columns and rows), then VACUUM."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE envelopes_new (seq INTEGER PRIMARY KEY, blob BLOB NOT NULL) WITHOUT ROWID")
        conn.execute("INSERT INTO envelopes_new SELECT seq, blob FROM envelopes")
        conn.execute("DROP TABLE envelopes")
        conn.execute("ALTER TABLE envelopes_new RENAME TO envelopes")
        conn.execute("COMMIT")
        conn.execute("VACUUM")
    finally:
        conn.close()


def circle_side(root: Path, name: str, pages: int | None = None, register: bool = False, rowid: bool = True) -> Side:
    """A facilitator who founded a cohort and admitted seven members (the setup is not counted).

    With ``pages``, the journal is rewritten with that page size before the
    meeting; without ``rowid``, its table is rebuilt WITHOUT ROWID; with
    ``register``, the meeting's attendance is taken in one go.
    """
    s = Home(root / name, calibrate=False).create_identity("Facilitator", PASSPHRASE)
    svc = s.create_cohort("Wire", replica={"url": str(root / f"{name}-location")})
    for k in range(7):
        peer = Identity.generate()
        svc.admit(peer.public(), f"Member {k + 1}", role="peer", journal=os.urandom(16).hex(), replica_path=os.urandom(16).hex())
    if pages is not None and page_size(svc.store.journal.path) != pages:
        svc.store.journal.close()  # the next append opens it again
        set_page_size(svc.store.journal.path, pages)
    if not rowid:
        svc.store.journal.close()
        without_rowid(svc.store.journal.path)
    side = Side(name, svc.store.journal.path, ls.Replica(str(root / f"{name}-replica")), svc=svc, members=[m.id for m in svc.view.members()], register=register)

    def count(store: Any, n: int) -> None:
        side.commits += 1
        side.events += n

    svc.store.listeners.append(count)
    return side


# ---------------------------------------------------------------------------
# Litestream: circle's config with shorter levels, and what lands in the replica


def write_config(path: Path, sides: list[Side], levels: list[float]) -> None:
    ls.write_config(path, [(s.db, s.replica) for s in sides])  # circle's own config ...
    doc = json.loads(path.read_text())
    doc["levels"] = [{"interval": f"{round(x * 1000)}ms"} for x in levels]  # ... with the level intervals scaled
    path.write_text(json.dumps(doc, indent=1))


def ltx_files(folder: Path) -> dict[str, int]:
    """Every file in a replica folder and its size."""
    out = {}
    for p in folder.rglob("*"):
        with contextlib.suppress(FileNotFoundError):
            if p.is_file():
                out[str(p.relative_to(folder))] = p.stat().st_size
    return out


def level_of(rel: str) -> str:
    parts = Path(rel).parts
    return parts[1] if len(parts) >= 3 and parts[0] == "ltx" else "other"


def max_txid(files: dict[str, int], level: str) -> int:
    best = 0
    for rel in files:
        if level_of(rel) == level and rel.endswith(".ltx"):
            best = max(best, int(Path(rel).stem.split("-")[1], 16))
    return best


def settled(sides: list[Side], top: str) -> bool:
    for s in sides:
        files = ltx_files(s.folder)
        if not files or max_txid(files, top) < max_txid(files, "0") or max_txid(files, "0") == 0:
            return False
    return True


def wait_settled(sides: list[Side], top: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if settled(sides, top):
            return True
        time.sleep(0.2)
    return False


def snapshot_bytes(db: Path, tmp: Path) -> int:
    """The size of a level-9 snapshot of ``db``: a one-off snapshot into a scratch replica."""
    scratch = Path(tempfile.mkdtemp(dir=tmp))
    ls.replicate_once(db, ls.Replica(str(scratch)), force_snapshot=True)
    files = ltx_files(scratch)
    return sum(n for rel, n in files.items() if level_of(rel) == "9")


# ---------------------------------------------------------------------------


def page_kinds(db: Path) -> dict[int, str]:
    """What each page of a SQLite file holds now: page 1, interior (index) pages, leaf pages, overflow pages."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT name, pageno, pagetype FROM dbstat").fetchall()
    finally:
        conn.close()
    out = {}
    for name, pgno, kind in rows:
        if pgno == 1:
            out[pgno] = "page 1"
        elif name in ("envelopes", "events"):
            out[pgno] = {"internal": "interior", "leaf": "leaf", "overflow": "overflow"}.get(kind, kind)
        else:
            out[pgno] = "other tables"
    return out


def ltx_pages(path: Path) -> list[tuple[int, int]]:
    """(page number, bytes on the wire) of each page frame in an LTX file (superfly/ltx v0.5: LZ4 block per page)."""
    b = path.read_bytes()
    pos, out = 100, []  # the header is 100 bytes
    while True:
        pgno, _flags = struct.unpack_from(">IH", b, pos)
        pos += 6
        if pgno == 0:
            return out
        (n,) = struct.unpack_from(">I", b, pos)
        pos += 4
        out.append((pgno, 10 + n))  # page header, size and the compressed page
        pos += n


def where_bytes_go(side: Side, before: dict[str, int]) -> dict[str, int]:
    """Level 0 of the meeting by what its pages hold; the rest is each LTX file's header, page index and trailer."""
    kinds = page_kinds(side.db)
    by: dict[str, int] = {}
    for rel, size in ltx_files(side.folder).items():
        if rel in before or level_of(rel) != "0":
            continue
        frames = ltx_pages(side.folder / rel)
        for pgno, n in frames:
            k = kinds.get(pgno, "free")
            by[k] = by.get(k, 0) + n
            if pgno == 1:
                by["page 1 writes"] = by.get("page 1 writes", 0) + 1
        by["LTX header, index, trailer"] = by.get("LTX header, index, trailer", 0) + size - sum(n for _, n in frames)
    return by


@dataclass
class Count:
    total: int
    by_level: dict[str, int]
    files: int


def delta(before: dict[str, int], after: dict[str, int]) -> Count:
    by: dict[str, int] = {}
    n = 0
    for rel, size in after.items():
        if rel in before and before[rel] == size:
            continue
        by[level_of(rel)] = by.get(level_of(rel), 0) + size - before.get(rel, 0)
        n += 1
    return Count(sum(by.values()), dict(sorted(by.items())), n)


@dataclass
class Group:
    """Databases replicated by one Litestream process with one set of compaction levels."""

    name: str
    levels: list[float]
    sides: list[Side]
    plain: Plain
    proc: subprocess.Popen | None = None
    before: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, Count] = field(default_factory=dict)
    wheres: dict[str, dict[str, int]] = field(default_factory=dict)
    restored: dict[str, bool] = field(default_factory=dict)

    @property
    def top(self) -> str:
        return str(len(self.levels))


def make_group(tmp: Path, name: str, levels: list[float], pages: list[int], variants: list[str]) -> Group:
    root = tmp / name
    root.mkdir()
    sides = [circle_side(root, "circle")] + [circle_side(root, f"circle-p{n}", n) for n in pages]
    if "register" in variants:
        sides.append(circle_side(root, "circle-register", register=True))
    if "norowid" in variants:
        sides.append(circle_side(root, "circle-norowid", rowid=False))
    plain = Plain(root / "plain.db")
    plain.write(list(sides[0].svc.view.events), count=False)  # the same opening events (cohort, roster, keys)
    sides[0].svc.store.listeners.append(lambda store, n: plain.write(own_newest(store, n)))
    sides.append(Side("plain", plain.path, ls.Replica(str(root / "plain-replica")), plain=plain))
    g = Group(name, levels, sides, plain)
    cfg = root / "litestream.yml"
    write_config(cfg, sides, levels)
    g.proc = subprocess.Popen(
        [str(litestream_binary()), "replicate", "-config", str(cfg)],
        env=litestream_env(*(s.replica for s in sides), long_running=True),
        stdout=open(root / "litestream.log", "w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return g


def settle(groups: list[Group], what: str, extra: float) -> None:
    for g in groups:
        if not wait_settled(g.sides, g.top, g.levels[-1] * 2 + extra):
            raise RuntimeError(f"{what} never reached level {g.top} in {g.name}; see its litestream.log")
    time.sleep(max(g.levels[0] for g in groups) * 2)


def seconds(duration: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    if m is None:
        raise ValueError(duration)
    return float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]


LEVEL_SETS = {  # name: compaction level intervals in real seconds (L1, L2, ...)
    "circle": tuple(seconds(x) for x in ls.LEVELS),  # circle's config (sync/litestream/config.py)
    "defaults": LEVELS,  # Litestream's own, which circle used before issue 14
}
LABELS = {"circle": "circle's config", "defaults": "Litestream's default levels"}


def restores(side: Side, tmp: Path) -> bool:
    """Whether a ``litestream restore`` of the side's replica gives the journal's rows."""
    out = Path(tempfile.mkdtemp(dir=tmp)) / "restored.db"
    if not ls.restore(side.replica, out):
        return False
    return rows_of(out) == rows_of(side.db)


def rows_of(db: Path) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        table = "envelopes" if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'envelopes'").fetchone() else "events"
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=60.0, help="time runs this many times faster than a real hour (default 60)")
    ap.add_argument("--pages", type=int, nargs="*", default=[512, 4096], help="more circle journals, rewritten with these page sizes before the meeting")
    ap.add_argument("--levels", nargs="*", default=list(LEVEL_SETS), choices=list(LEVEL_SETS), help="compaction level sets, one Litestream process each")
    ap.add_argument(
        "--variants",
        nargs="*",
        default=["register", "norowid"],
        choices=["register", "norowid"],
        help="more circle journals: the register taken in one go; the table WITHOUT ROWID",
    )
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-wire-"))
    groups: list[Group] = []
    try:
        say(
            f"setting up {len(args.levels)} x {2 + len(args.pages) + len(args.variants)} databases: a cohort of eight (founder + seven admitted) each, and the plain table"
        )
        for name in args.levels:
            groups.append(make_group(tmp, name, [x / args.scale for x in LEVEL_SETS[name]], args.pages, args.variants))
        say("litestream replicating; waiting for the setup to reach the top level")
        settle(groups, "the setup", 30)
        for g in groups:
            g.before = {s.name: ltx_files(s.folder) for s in g.sides}

        circles = [s for g in groups for s in g.sides if s.svc is not None]
        gap = MEETING / args.scale / 71  # seconds between two things people do (one commit each)
        say(f"playing the meeting on {len(circles)} journals at once: one action every {gap:.2f} s on average")
        rng = random.Random(args.seed)
        plays = [meeting(s.svc, s.members, args.seed, s.register) for s in circles]
        t0 = time.monotonic()
        for _ in zip(*plays, strict=True):
            time.sleep(gap * rng.uniform(0.5, 1.5))
        played = time.monotonic() - t0
        say(f"played in {played:.1f} s; waiting for the top level to hold it")
        settle(groups, "the meeting", 60)
        for g in groups:
            for s in g.sides:
                g.counts[s.name] = delta(g.before[s.name], ltx_files(s.folder))
                g.wheres[s.name] = where_bytes_go(s, g.before[s.name])
            assert g.proc is not None
            ls_stop(g.proc)
            g.proc = None
            g.restored = {s.name: restores(s, tmp) for s in g.sides}
        snaps = {s.name: snapshot_bytes(s.db, tmp) for s in groups[0].sides}
    finally:
        for g in groups:
            if g.proc is not None:
                ls_stop(g.proc)

    ref = next((g for g in groups if g.name == "circle"), groups[0])
    c, plain = ref.sides[0], ref.plain
    same = [s for s in circles if not s.register]
    if len({(s.events, s.commits) for s in same}) != 1 or plain.events != c.events or any(s.events != c.events for s in circles):
        raise RuntimeError("the journals did not record the same meeting")
    print()
    print(
        f"one meeting: {c.events} events in {c.commits} commits; plaintext JSON {plain.plaintext / 1024:.1f} KB ({plain.plaintext / plain.events:.0f} B an event)"
    )
    print(f"time scale {args.scale:g}: the hour took {played:.0f} s; Litestream monitor interval {ls.DEFAULT_INTERVAL * 1000:.0f} ms (circle's)")
    for g in groups:
        print()
        print(f"levels {g.name!r} ({LABELS[g.name]}): " + ", ".join(f"L{i + 1} every {x * args.scale:g} s (here {x:g} s)" for i, x in enumerate(g.levels)))
        cols = [str(i) for i in range(len(g.levels) + 1)]
        head = (
            f"{'database':<16} {'page':>5} {'commits':>7} "
            + " ".join(f"{'L' + i + ' KB':>7}" for i in cols)
            + f" {'total KB':>9} {'B/event':>8} {'vs plain':>8} restores"
        )
        print(head)
        print("-" * len(head))
        pk = g.counts["plain"].total
        for s in g.sides:
            k = g.counts[s.name]
            lv = " ".join(f"{k.by_level.get(i, 0) / 1024:7.1f}" for i in cols)
            other = k.total - sum(k.by_level.get(i, 0) for i in cols)
            print(
                f"{s.name:<16} {page_size(s.db):5d} {s.commits if s.svc else c.commits:7d} {lv} {k.total / 1024:9.1f} {k.total / c.events:8.0f} {k.total / pk:7.2f}x"
                + f" {'yes' if g.restored[s.name] else 'NO'}"
                + (f"  (+{other} B at other levels)" if other else "")
            )

    def kb(g: Group, name: str, level: str | None = None) -> float:
        k = g.counts[name]
        return (k.total if level is None else k.by_level.get(level, 0)) / 1024

    print()
    print("per lever, the same meeting in the same run (KB; merges = every level above 0; the daily snapshot apart;")
    print("before = Litestream's default levels, the journal as circle writes it):")
    head = f"{'lever':<86} {'L0':>7} {'merges':>7} {'total':>7} {'vs before':>9}"
    print(head)
    print("-" * len(head))
    by_name = {g.name: g for g in groups}
    before = kb(by_name["defaults"], "circle") if "defaults" in by_name else None
    levers = []
    for g in groups:
        for s in g.sides:
            what = {
                "circle": f"journal as circle writes it ({page_size(s.db)}-byte pages)",
                "circle-register": "+ the register in one commit (the room's 'all present')",
                "circle-norowid": "+ envelopes WITHOUT ROWID",
                "plain": "plain SQLite, plaintext JSON (the baseline)",
            }.get(s.name, f"+ {page_size(s.db)}-byte pages")
            levers.append((f"{LABELS[g.name]}: {what}", kb(g, s.name, "0"), kb(g, s.name) - kb(g, s.name, "0"), kb(g, s.name)))
    for name, l0, merges, total in levers:
        vs = f"{total / before:8.2f}x" if before else ""
        print(f"{name:<86} {l0:7.1f} {merges:7.1f} {total:7.1f} {vs:>9}")

    rows = []
    ck, pk = ref.counts["circle"], ref.counts["plain"]
    rows.append(
        result(
            f"one meeting on the wire, merges included, {LABELS[ref.name]} ({c.events} events, {c.commits} commits)",
            f"{ck.total / 1024:.1f} KB vs {pk.total / 1024:.1f} KB plain ({ck.total / c.events:.0f} B an event)",
            f"<= {TARGET_KB:g} KB",
            ck.total / pk.total,
            "PASS" if ck.total / 1024 <= TARGET_KB else "MISS",
        )
    )
    for name, l0, merges, total in levers:
        headline = name.startswith(LABELS[ref.name]) and "journal as circle" in name
        if headline or "plain SQLite" in name or (not name.startswith(LABELS[ref.name]) and "journal as circle" not in name):
            continue  # the headline, the baseline (in the headline) and the other levers under the old levels
        rows.append(result(f"  {name}", f"{total:.1f} KB ({l0:.1f} at once + {merges:.1f} merges)" + (f", {total / before:.2f}x before" if before else "")))

    print()
    print("level 0 of the meeting (what ships at once) by what its pages hold, KB:")
    kinds = ["LTX header, index, trailer", "page 1", "interior", "leaf", "overflow", "other tables", "free"]
    print(f"{'database':<16} " + " ".join(f"{k[:12]:>12}" for k in kinds) + f" {'L0 total':>9} {'page-1 writes':>13}")
    for s in ref.sides:
        w = dict(ref.wheres[s.name])
        p1 = w.pop("page 1 writes", 0)
        print(f"{s.name:<16} " + " ".join(f"{w.get(k, 0) / 1024:12.1f}" for k in kinds) + f" {sum(w.values()) / 1024:9.1f} {p1:13d}")
    env = envelope_bytes(c.db, c.events)
    print(f"the meeting's envelopes themselves: {env / 1024:.1f} KB ({env / c.events:.0f} B an event)")
    print()
    print("daily snapshot (level 9: the whole database, once per day on which it changed), KB: " + ", ".join(f"{n} {b / 1024:.1f}" for n, b in snaps.items()))
    l0 = ck.by_level.get("0", 0)
    rows.append(result("level 0 alone (shipped at once)", f"{l0 / 1024:.1f} KB vs {pk.by_level.get('0', 0) / 1024:.1f} KB plain"))
    rows.append(result("daily snapshot of the journal after the meeting", f"{snaps['circle'] / 1024:.1f} KB vs {snaps['plain'] / 1024:.1f} KB plain"))
    bad = [f"{g.name}/{n}" for g in groups for n, ok in g.restored.items() if not ok]
    rows.append(
        result(
            "every replica restores to its database (litestream restore)",
            "yes" if not bad else "NO: " + ", ".join(bad),
            "yes",
            None,
            "PASS" if not bad else "MISS",
        )
    )
    emit("wire", rows)
    if args.keep:
        print(f"kept {tmp}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def envelope_bytes(db: Path, events: int) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT sum(length(blob)) FROM (SELECT blob FROM envelopes ORDER BY seq DESC LIMIT ?)", (events,)).fetchone()[0])
    finally:
        conn.close()


def ls_stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


if __name__ == "__main__":
    raise SystemExit(main())
