"""circle's journal against plain sqlite3 doing the same work, in one run.

    /work/venv/bin/python bench/bench_journal.py            # 100k events (a few minutes)
    /work/venv/bin/python bench/bench_journal.py --n 10000  # quick look
    /work/venv/bin/python bench/bench_journal.py --profile  # cProfile each circle path (times inflated)

See bench/README.md for what each line compares. Prints; never asserts on time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cryptography  # noqa: E402
from common import Ed25519Floor, Row, TextGen, compression_ratio, emit, fmt_s, median, pct, reference_ratio, result, results_of, single_core_verify_us, table  # noqa: E402

from circle.crypto import envelope  # noqa: E402
from circle.models.events import Event, decode_payload, encode_payload  # noqa: E402
from circle.models.view import View  # noqa: E402
from circle.store.session import Home, Session  # noqa: E402

PASSPHRASE = "correct horse battery staple"
TARGET_BULK, TARGET_SINGLE, TARGET_OPEN, TARGET_VERIFY = 4.0, 3.0, 1.5, 1.2


# ---------------------------------------------------------------------------
# The workload: a long-running cohort's meetings, mostly ~1 KB notes.


def make_items(n: int, gen: TextGen, member: str) -> list[tuple[str, dict[str, Any]]]:
    """``n`` events: per meeting of ~100 events, a schedule, agenda, notes, actions, attendance."""
    items: list[tuple[str, dict[str, Any]]] = []
    while len(items) < n:
        meeting = gen.hex_id()
        block: list[tuple[str, dict[str, Any]]] = [
            (
                "meeting.scheduled",
                {"meeting": meeting, "at": f"2025-{gen.rng.randint(1, 12):02d}-{gen.rng.randint(1, 28):02d}T18:00", "title": gen.title(), "minutes": 60},
            )
        ]
        agenda = [gen.hex_id() for _ in range(6)]
        block += [
            ("agenda.added", {"item": i, "meeting": meeting, "title": gen.title(), "owner": member, "minutes": gen.rng.choice((5, 10, 15))}) for i in agenda
        ]
        block += [("attendance.marked", {"meeting": meeting, "member": member, "present": gen.rng.random() < 0.9}) for _ in range(3)]
        block += [
            ("note.added", {"meeting": meeting, "item": gen.rng.choice(agenda), "text": gen.text(gen.rng.randint(800, 1100)), "kind": "note"})
            for _ in range(84)
        ]
        block += [("action.added", {"action": gen.hex_id(), "meeting": meeting, "title": gen.title(), "owner": member, "due": "2025-12-01"}) for _ in range(4)]
        block += [("agenda.updated", {"item": i, "status": "done"}) for i in agenda[:2]]
        items += block
    return items[:n]


def chunks(xs: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(xs), size):
        yield xs[i : i + size]


# ---------------------------------------------------------------------------
# The baseline: the same JSON payloads in a plain SQLite table, same PRAGMAs.


class Plain:
    """What circle would be without crypto: JSON rows, one table, WAL + synchronous=FULL."""

    def __init__(self, path: Path, cohort: str, author: str, journal: str) -> None:
        self.path, self.cohort, self.author = path, cohort, author
        self.journal = journal  # circle's journal id: the founding events it copies name it (the fold checks the cohort id against it)
        self.conn = self._connect()
        self.conn.execute("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        self.seq = 0
        self.lamport = 0

    def _connect(self, readonly: bool = False) -> sqlite3.Connection:
        if readonly:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None, timeout=5.0)
        else:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def seed(self, events: Sequence[Event]) -> None:
        """Copy circle's opening events (cohort, founder, epoch) so both folds agree."""
        with_payloads = [(e.seq, encode_payload(kind=e.kind, cohort=e.cohort, author=e.author, lamport=e.lamport, ts=e.ts, body=e.body)) for e in events]
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany("INSERT INTO events (seq, payload) VALUES (?, ?)", with_payloads)
        self.conn.execute("COMMIT")
        self.seq = max(s for s, _ in with_payloads)
        self.lamport = max(e.lamport for e in events)

    def append(self, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Encode and insert a batch in one transaction (as record_many does, minus crypto)."""
        now = time.time()
        rows = []
        for kind, body in items:
            self.seq += 1
            self.lamport += 1
            rows.append((self.seq, encode_payload(kind=kind, cohort=self.cohort, author=self.author, lamport=self.lamport, ts=now, body=body)))
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        c.executemany("INSERT INTO events (seq, payload) VALUES (?, ?)", rows)
        c.execute("COMMIT")

    def load(self) -> View:
        """Open, SELECT everything, json.loads, build Events and fold them into a View."""
        conn = self._connect(readonly=True)
        try:
            cur = conn.execute("SELECT seq, payload FROM events ORDER BY seq")
            events = []
            jid = self.journal
            while batch := cur.fetchmany(2000):
                for seq, raw in batch:
                    events.append(decode_payload(raw, id=f"{jid}:{seq}", journal=jid, seq=seq))
        finally:
            conn.close()
        view = View(self.cohort)
        view.apply(events)
        return view


# ---------------------------------------------------------------------------
# Profiling (optional): cProfile around the circle paths only.


class Prof:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.profiles: dict[str, cProfile.Profile] = {}

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        if not self.enabled:
            return fn()
        p = self.profiles.setdefault(name, cProfile.Profile())
        p.enable()
        try:
            return fn()
        finally:
            p.disable()

    def report(self, out_dir: Path | None, top: int = 18) -> None:
        for name, p in self.profiles.items():
            s = io.StringIO()
            st = pstats.Stats(p, stream=s).strip_dirs().sort_stats("tottime")
            st.print_stats(top)
            print(f"\n=== profile: {name} (sorted by own time) ===")
            print("\n".join(line for line in s.getvalue().splitlines() if line.strip() and not line.startswith(("   Ordered", "   List"))))
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                p.dump_stats(out_dir / f"{name}.prof")


# ---------------------------------------------------------------------------


def read_and_hash(path: Path) -> float:
    """The chain floor on one core: read every envelope of a journal and SHA-256 it, nothing else."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cur = conn.execute("SELECT seq, blob FROM envelopes ORDER BY seq")
        while batch := cur.fetchmany(2000):
            for _, blob in batch:
                envelope.event_id(blob)
    finally:
        conn.close()
    return time.perf_counter() - t0


def snapshot_files(session: Session) -> list[Path]:
    """Anything under the identity's directory that looks like a view snapshot."""
    return [p for p in session.dir.rglob("*") if p.is_file() and "snap" in p.name.lower()]


def fresh_session(home: Home) -> Session:
    """A newly unlocked session (the KDF is outside every clock)."""
    return home.unlock(PASSPHRASE)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="events appended in bulk (default 100000)")
    ap.add_argument("--batch", type=int, default=1000, help="events per bulk transaction (default 1000)")
    ap.add_argument("--single", type=int, default=300, help="interactive one-event appends each (default 300)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of open and verify; the median is shown (default 3)")
    ap.add_argument("--seed", type=int, default=20250601)
    ap.add_argument("--dir", type=Path, default=None, help="work here instead of a new temp dir (kept)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--profile", action="store_true", help="cProfile the circle paths and print hot spots (times inflated)")
    ap.add_argument("--profile-dir", type=Path, default=None, help="also dump .prof files here")
    args = ap.parse_args(argv)

    prof = Prof(args.profile)
    tmp = args.dir or Path(tempfile.mkdtemp(prefix="circle-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        return run(args, tmp, prof)
    finally:
        if args.dir is None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        elif args.keep:
            print(f"\nkept: {tmp}")


def run(args: argparse.Namespace, tmp: Path, prof: Prof) -> int:
    load_before = os.getloadavg()[0]
    t_setup = time.perf_counter()
    home = Home(tmp / "home", calibrate=False)
    session = home.create_identity("Bench Mentor", PASSPHRASE)
    svc = session.create_cohort("Bench cohort", purpose="benchmark")
    cid = svc.id
    plain = Plain(tmp / "plain.db", cid, session.id, svc.store.entry.journal)
    plain.seed(sorted(svc.view.events, key=lambda e: e.seq))

    gen = TextGen(args.seed)
    items = make_items(args.n, gen, session.id)
    singles = [("note.added", {"meeting": "m" * 16, "item": "i" * 16, "text": gen.text(950), "kind": "note"}) for _ in range(args.single)]
    payload_sizes = [len(encode_payload(kind=k, cohort=cid, author=session.id, lamport=10**5, ts=1.7e9, body=b)) for k, b in items[:5000]]
    sample = [encode_payload(kind=k, cohort=cid, author=session.id, lamport=10**5, ts=1.7e9, body=b) for k, b in items[:2000]]
    print(f"setup {fmt_s(time.perf_counter() - t_setup)}; workdir {tmp}", file=sys.stderr)

    # 1. bulk append, batches interleaved so both see the same disk and cache.
    t_circle = t_plain = 0.0
    for batch in chunks(items, args.batch):
        t0 = time.perf_counter()
        prof.run("1-bulk-append", partial(svc.store.record_many, batch))
        t1 = time.perf_counter()
        plain.append(batch)
        t2 = time.perf_counter()
        t_circle += t1 - t0
        t_plain += t2 - t1
    t0 = time.perf_counter()
    svc.store.flush()  # the verified head into the keystore: once per batch of work, not per event
    t_flush = time.perf_counter() - t0
    bulk = Row(f"1. bulk append {args.n:,} ({args.batch}/txn)", t_circle, t_plain, TARGET_BULK)
    print(f"bulk done: circle {fmt_s(t_circle)}, plain {fmt_s(t_plain)}", file=sys.stderr)

    # 2. interactive appends: one event per transaction, alternating.
    lat_c, lat_p = [], []
    for item in singles:
        t0 = time.perf_counter()
        prof.run("2-single-append", partial(svc.store.record, *item))
        t1 = time.perf_counter()
        plain.append([item])
        t2 = time.perf_counter()
        lat_c.append(t1 - t0)
        lat_p.append(t2 - t1)
    svc.store.flush()
    single_med = Row("2. single append, median", median(lat_c), median(lat_p), TARGET_SINGLE)
    single_p95 = Row("   single append, p95", pct(lat_c, 95), pct(lat_p, 95), TARGET_SINGLE)
    total_events = len(svc.view)
    journal_path = svc.store.journal.path
    journal_bytes = svc.store.journal.path.stat().st_size
    env_len = svc.store.journal.conn.execute("SELECT avg(length(blob)) FROM envelopes").fetchone()[0]
    svc.store.journal.close()
    plain.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    svc_conn = sqlite3.connect(svc.store.journal.path)
    svc_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    svc_conn.close()
    journal_bytes = svc.store.journal.path.stat().st_size
    plain_bytes = plain.path.stat().st_size
    del svc, session
    gc.collect()

    # 3. open the cohort and read everything into the view.
    for p in snapshot_files(fresh_session(home)):
        p.unlink()
    cold_c, cold_p, warm_c, warm_p = [], [], [], []
    plain_view_n = plain_notes = 0
    circle_view_n = circle_notes = 0
    have_snapshot = False
    for _ in range(args.repeat):
        s = fresh_session(home)
        for p in snapshot_files(s):
            p.unlink()
        gc.collect()
        t0 = time.perf_counter()
        opened = prof.run("3-open-cold", lambda s=s: s.cohort(cid))
        cold_c.append(time.perf_counter() - t0)
        circle_view_n, circle_notes = len(opened.view), len(opened.view.notes())
        opened.store.save_snapshot()
        have_snapshot = True
        del opened, s
        gc.collect()
        t0 = time.perf_counter()
        pv = plain.load()
        cold_p.append(time.perf_counter() - t0)
        plain_view_n, plain_notes = len(pv), len(pv.notes())
        del pv
        gc.collect()
        if have_snapshot:
            s = fresh_session(home)
            t0 = time.perf_counter()
            opened = prof.run("3-open-warm", lambda s=s: s.cohort(cid))
            warm_c.append(time.perf_counter() - t0)
            assert len(opened.view) == circle_view_n, "warm view differs from cold"
            del opened, s
            gc.collect()
            t0 = time.perf_counter()
            plain.load()
            warm_p.append(time.perf_counter() - t0)
            gc.collect()
    same_view = circle_view_n == plain_view_n and circle_notes == plain_notes
    open_cold = Row("3. open + fold, cold (no snapshot yet)", median(cold_c), median(cold_p), TARGET_OPEN)
    rows_open = [open_cold]
    if warm_c:
        rows_open.append(Row("   open + fold, warm (snapshot)", median(warm_c), median(warm_p), TARGET_OPEN))

    # 4. verify: every signature present and every link, on a loaded service,
    #    interleaved with the Ed25519 floors (workers stay up between runs).
    s = fresh_session(home)
    warmup = s.cohort(cid).store.verify_all()  # untimed: counts what is checked, warms the page cache
    del s
    gc.collect()
    msg_len = int(env_len) - envelope.SIG_LEN + len(envelope.LABEL_SIGNATURE)
    floors = {"present": Ed25519Floor(warmup.signatures, msg_len), "each": Ed25519Floor(warmup.events, msg_len)}
    cores = floors["each"].cores
    ver, cli, f_present, f_each, f_hash = [], [], [], [], []
    report = warmup
    try:
        for _ in range(args.repeat):
            s = fresh_session(home)
            loaded = s.cohort(cid)
            gc.collect()
            t0 = time.perf_counter()
            report = prof.run("4-verify-all", loaded.store.verify_all)
            ver.append(time.perf_counter() - t0)
            del loaded, s
            gc.collect()
            s = fresh_session(home)
            t0 = time.perf_counter()
            prof.run("4-circle-verify-cli", s.verify)  # what `circle verify` does after the KDF: open + verify_all
            cli.append(time.perf_counter() - t0)
            del s
            gc.collect()
            f_present.append(floors["present"].run())
            f_each.append(floors["each"].run())
            f_hash.append(read_and_hash(journal_path))
    finally:
        for f in floors.values():
            f.close()
    if report.problems:
        print("verify reported problems: " + "; ".join(report.problems), file=sys.stderr)
    one_core_us = single_core_verify_us(msg_len)
    floor_present, floor_each, hash_floor = median(f_present), median(f_each), median(f_hash)
    rows_verify = [
        Row(f"4. verify_all vs floor, {report.signatures:,} sigs present", median(ver), floor_present, TARGET_VERIFY, "Ed25519 floor"),
        Row(f"   verify_all vs floor, 1 sig/event ({report.events:,})", median(ver), floor_each, TARGET_VERIFY, "Ed25519 floor"),
        Row("   verify_all vs read + SHA-256 all + sigs present", median(ver), hash_floor + floor_present, None, "chain floor"),
        Row("   `circle verify` (open + verify_all) vs 1 sig/event", median(cli), floor_each, None, "Ed25519 floor"),
    ]

    # ---- report --------------------------------------------------------
    ref = reference_ratio(1000)
    print()
    print(f"circle journal bench: {args.n:,} bulk + {args.single} single events (+3 opening), {total_events:,} in the view")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, cryptography {cryptography.__version__}"
    )
    print(
        f"payload: mean {sum(payload_sizes) / len(payload_sizes):,.0f} B JSON; zlib ratio {compression_ratio(sample):.2f}"
        + (f" (English prose in 1 KB chunks: {ref:.2f})" if ref else "")
        + f"; envelope mean {env_len:,.0f} B"
    )
    print(f"files after checkpoint: circle journal {journal_bytes / 2**20:.1f} MiB, plain {plain_bytes / 2**20:.1f} MiB")
    print("both: WAL, synchronous=FULL, same JSON, same batches, same disk; page cache warm for both reads")
    print(f"load average (1 min) at start {load_before:.2f}, at end {os.getloadavg()[0]:.2f}: other work on the machine skews absolute times more than ratios")
    if args.profile:
        print("PROFILED RUN: circle times below include cProfile overhead; do not read the ratios")
    print()
    print(table([bulk, single_med, single_p95, *rows_open, *rows_verify]))
    emit(
        "bench_journal",
        [
            *results_of([bulk, single_med, single_p95, *rows_open, *rows_verify]),
            result("views agree (circle and the baseline folded the same)", "yes" if same_view else "NO", "yes", None, "PASS" if same_view else "MISS"),
        ],
    )
    print()
    print(f"- keystore flush after the bulk (head persisted; not in row 1): {fmt_s(t_flush)}")
    print(f"- views agree: circle {circle_view_n:,} events / {circle_notes:,} notes, plain {plain_view_n:,} / {plain_notes:,}: {'yes' if same_view else 'NO'}")
    if not warm_c:
        print("- no view snapshot found (no save_snapshot() and no *snap* file): only the cold open is measured")
    print(
        f"- verify: circle checks {report.events:,} events, {report.signatures:,} signatures (a batch signs only its last event), "
        "every hash link and nothing else (signatures and links authenticate every ciphertext); the floor rows are bare Ed25519 verifies only"
    )
    print(
        f"- Ed25519 floor on {cores} processes, {msg_len:,} B messages: {fmt_s(floor_present)} for the signatures present, "
        f"{fmt_s(floor_each)} for one per event; one core: {one_core_us:.0f} µs per verify"
    )
    print(f"- chain floor: reading every envelope and hashing it on one core takes {fmt_s(hash_floor)}")
    print("- the issue's target assumed one signature per event; with batch signing, compare circle with the 1 sig/event row")
    print("  to see what batching buys, and with the present-signatures row to see what the rest of verify costs")
    prof.report(args.profile_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
