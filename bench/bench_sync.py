"""The sync service against the targets of issue 3, with the real litestream, in one run.

    /work/venv/bin/python bench/bench_sync.py            # full run (about 3 minutes)
    /work/venv/bin/python bench/bench_sync.py --quick    # fewer samples, shorter windows, 20k-event restore

What it measures (all replicas are folders; Litestream's monitor interval is
the service's default, 250 ms, or ``BENCH_INTERVAL`` seconds to explore the
trade-off between lag and idle CPU; the replica's own sync interval is a fifth
of it, see ``litestream._replica_wait``):

- sync lag: Ana writes one event; the time until Ben's copy of her journal
  holds it, and until Ben's folded view does. For the cohort on screen the
  kernel (inotify) wakes Ben's service when a file lands in a folder replica,
  which is then listed and restored (SFTP and S3 peers get ``litestream
  restore -f`` followers instead). Most of the lag is Ana's Litestream
  noticing the commit (up to one monitor interval) and one ``litestream
  restore`` (about 50 ms, 33 ms of it starting the process).
- the same lag with ``--lag-sizes N ...`` events already in the writer's
  journal (written with ``record_many`` in batches of 1,000 and folded by the
  peer before the clock starts), as a ratio against the small journal's lag
  measured first in the same run (issue 14: at most 400 ms at 100k). The
  peer's whole restore happens once, at the services' start (one change,
  not counted); after that a folder peer on screen applies only the new
  level-0 LTX files to the copy it keeps.
- idle CPU and memory of a sync service for one identity in three cohorts of
  twelve members (one folder location per cohort, the cohort on screen
  watched, the others checked every full pass), run as its own process: /proc
  of the process tree, litestream children included (reaped one-off children
  through cutime).
- bytes added to the replica per interactive event (one event, one sync),
  next to a plaintext journal of the same events.
- a full ``litestream restore`` of a 100k-event journal, next to a plaintext
  journal of the same events restored in the same run.

Prints a table with PASS/MISS; never asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_journal import Plain, chunks, make_items  # noqa: E402
from common import TextGen, emit, fmt_s, pct, result  # noqa: E402

from circle.crypto import envelope  # noqa: E402
from circle.crypto.identity import Identity  # noqa: E402
from circle.models.events import encode_payload  # noqa: E402
from circle.store import joining  # noqa: E402
from circle.store.journal import Journal, last_seq  # noqa: E402
from circle.store.service import CohortService
from circle.store.session import Home, Session  # noqa: E402
from circle.sync import litestream as ls  # noqa: E402
from circle.sync.service import SyncService, replica_for  # noqa: E402

PASSPHRASE = "correct horse battery staple"
INTERVAL = float(os.environ.get("BENCH_INTERVAL", ls.DEFAULT_INTERVAL))  # the service's own default unless asked otherwise
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Line:
    name: str
    value: str
    target: str
    ok: bool | None  # None: informative
    ratio: float | None = None  # for docs/BENCHMARKS.md, where there is one

    @property
    def verdict(self) -> str:
        return "info" if self.ok is None else ("PASS" if self.ok else "MISS")


def table(lines: Sequence[Line]) -> str:
    head = ("measurement", "value", "target", "")
    cells = [head] + [(ln.name, ln.value, ln.target, ln.verdict) for ln in lines]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    out = []
    for j, c in enumerate(cells):
        out.append("  ".join(v.ljust(w) if i in (0, 2) else v.rjust(w) for i, (v, w) in enumerate(zip(c, widths))).rstrip())
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def say(msg: str) -> None:
    print(f"  .. {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Homes, joined through the real flow


def new_home(root: Path, name: str) -> Session:
    return Home(root / name.lower(), calibrate=False).create_identity(name, PASSPHRASE)


def once(*sessions: Session) -> None:
    for s in sessions:
        r = SyncService(s).once()
        if r.unreachable or r.problems:
            raise RuntimeError(f"sync --once for {s.name}: {r.unreachable} {r.problems}")


def bring_in(admitter: Session, cid: str, newcomer: Session, loc: dict[str, Any]) -> None:
    svc = admitter.cohort(cid)
    joined = joining.join(newcomer, joining.create_invite(admitter, svc).code, replica=dict(loc))
    once(newcomer)
    joining.admit(svc, joined.join_code, lambda s, path, out: ls.restore(replica_for(admitter, s).child(path), out))
    once(admitter, newcomer)


def txid_stamp(out: Path) -> tuple[int, int, int, int] | None:
    """When the peer copy changed: a follower rewrites ``-txid``; a polled restore replaces the file."""
    try:
        st = os.stat(out)
    except FileNotFoundError:
        return None
    try:
        t = os.stat(f"{out}-txid")
        return st.st_ino, st.st_mtime_ns, t.st_ino, t.st_mtime_ns
    except FileNotFoundError:
        return st.st_ino, st.st_mtime_ns, 0, 0


# ---------------------------------------------------------------------------
# 1. Follower lag


def bench_lag(tmp: Path, samples: int, prefill: int = 0) -> tuple[list[float], list[float], int]:
    """Lag samples (to Ben's copy, to Ben's view, timeouts); ``prefill`` events are in Ana's journal first, folded by both."""
    where = tmp / f"lag-{prefill}"
    loc = {"url": str(where / "replica")}
    a, b = new_home(where, "Ana"), new_home(where, "Ben")
    cid = a.create_cohort("Lag", replica=dict(loc)).id
    once(a)
    bring_in(a, cid, b, loc)
    ca, cb = a.cohort(cid), b.cohort(cid)
    ca.store.record("meeting.scheduled", {"meeting": "m1", "at": "2026-12-01T10:00", "title": "lag", "minutes": 60})
    if prefill:
        t0 = time.perf_counter()
        for batch in chunks(make_items(prefill, TextGen(20250601), a.id), 1000):
            ca.store.record_many(batch)
        once(a, b)  # Ben restores and folds the whole history before the clock starts
        if len(cb.view) < prefill:
            raise RuntimeError(f"Ben folded {len(cb.view)} events of Ana's {prefill}")
        say(f"{prefill} events in Ana's journal, sent and folded by Ben in {fmt_s(time.perf_counter() - t0)}")
    out = cb.store.journal_path(ca.store.entry.journal)
    sa, sb = SyncService(a, interval=INTERVAL), SyncService(b, interval=INTERVAL)
    sa.start(focus=cid)
    sb.start(focus=cid)
    gen = TextGen(7)
    to_output: list[float] = []
    to_view: list[float] = []
    timeouts = 0
    try:
        head = ca.store.written()
        deadline = time.monotonic() + 30
        while last_seq(out) < head and time.monotonic() < deadline:
            time.sleep(0.05)
        # One change before the clock starts: the services' first passes (a whole restore of each peer
        # journal, a look through every meeting's anonymous round) are a start-up cost, not lag.
        t0 = time.perf_counter()
        ev = ca.store.record("note.added", {"meeting": "m1", "item": "", "text": "warm-up", "kind": "note"})
        while ev.id not in cb.view and time.perf_counter() - t0 < 120:
            time.sleep(0.01)
        say(f"first change after the services started: in Ben's view after {fmt_s(time.perf_counter() - t0)} (not counted)")
        for _ in range(samples):
            time.sleep(random.uniform(0.1, 0.4))  # not phase-locked to the 250 ms ticks
            t0 = time.perf_counter()
            ev = ca.store.record("note.added", {"meeting": "m1", "item": "", "text": gen.text(300), "kind": "note"})
            got_out = got_view = None
            limit = t0 + 10
            seen = txid_stamp(out)
            while time.perf_counter() < limit:
                # Open the follower's output only when its -txid file changed: a reader polling
                # the database itself would contend for the lock the follower applies pages under.
                if got_out is None and (now := txid_stamp(out)) != seen:
                    seen = now
                    if last_seq(out) >= ev.seq:
                        got_out = time.perf_counter() - t0
                if got_view is None and ev.id in cb.view:
                    got_view = time.perf_counter() - t0
                    to_view.append(got_view)
                if got_out is not None and got_view is not None:
                    break
                time.sleep(0.002)
            if got_out is None:
                timeouts += 1
            else:
                to_output.append(got_out)
    finally:
        sa.stop()
        sb.stop()
    return to_output, to_view, timeouts


# ---------------------------------------------------------------------------
# 2. Idle CPU and memory: three cohorts of twelve, the service in its own process


def peer_sealer(peer: Identity, jid: bytes, kid: bytes, key: bytes, pt: bytes):
    """Seal ``pt`` as the peer would on their own device (their journal, their signature)."""

    def seal(seq: int, prev: bytes, sign: bool) -> bytes:
        return envelope.seal(journal_id=jid, seq=seq, prev=prev, key_id=kid, key=key, plaintext=pt, signer=peer.signer() if sign else None)

    return seal


def build_three_cohorts(tmp: Path, members: int = 12, events_each: int = 20) -> tuple[Path, list[str]]:
    """Mira founds three cohorts (one folder each) with eleven peers each, whose journals are on the replicas."""
    root = tmp / "three"
    me = new_home(root, "Mira")
    gen = TextGen(3)
    cids = []
    for k in range(3):
        svc = me.create_cohort(f"Cohort {k}", replica={"url": str(root / f"location-{k}")})
        cids.append(svc.id)
        base = replica_for(me, svc.store)
        kid = svc.store.entry.cohort_key.id
        key = svc.store.entry.cohort_key.secret
        for m in range(members - 1):
            peer = Identity.generate()
            jid, path = os.urandom(16), os.urandom(16).hex()
            svc.admit(peer.public(), f"Peer {k}.{m}", journal=jid.hex(), replica_path=path)
            j = Journal(root / "peer-journals" / f"{jid.hex()}.db", jid)
            j.path.parent.mkdir(exist_ok=True)
            for i in range(events_each):
                pt = encode_payload(
                    kind="note.added",
                    cohort=svc.id,
                    author=peer.id.hex(),
                    lamport=100 + i,
                    ts=time.time(),
                    body={"meeting": "m1", "item": "", "text": gen.text(200), "kind": "note"},
                )
                j.append([peer_sealer(peer, jid, bytes.fromhex(kid), key, pt)])
            j.close()
            ls.replicate_once(j.path, base.child(path))
    once(me)
    for cid in cids:
        got, want = len(me.cohort(cid).view.notes()), (members - 1) * events_each
        if got != want:
            raise RuntimeError(f"cohort {cid[:8]}: {got} notes folded, wanted {want}")
    me.close()  # as a finished command would: the measured service may write (and touch) the journals
    return me.home.root, cids


def _tree(pid: int) -> list[int]:
    out = [pid]
    for p in list(out):
        out += _kids(p)
    return out


def _kids(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    found = list(kids)
    for k in kids:
        found += _kids(k)
    return found


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def tree_cpu(root: int) -> tuple[float, float, float]:
    """CPU seconds of (``root`` itself, its live descendants, its children already reaped)."""
    own = live = reaped = 0
    for pid in {root, *_kids(root)}:
        st = _stat(pid)
        if st is None:
            continue
        mine = int(st[11]) + int(st[12])  # utime, stime
        waited = int(st[13]) + int(st[14])  # cutime, cstime: children already reaped (one-off commands)
        if pid == root:
            own, reaped = own + mine, reaped + waited
        else:
            live += mine + waited
    return own / TICK, live / TICK, reaped / TICK


def _role(pid: int, root: int) -> str:
    if pid == root:
        return "python"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return "?"
    if b"-f" in args:
        return "follower"
    return "replicator" if args[1:2] == [b"replicate"] and b"-once" not in args else "one-off"


def tree_memory(root: int) -> tuple[float, float, dict[str, list[float]]]:
    """(RSS MB, PSS MB, RSS MB of each process by role) of ``root`` and its descendants."""
    rss = pss = 0
    roles: dict[str, list[float]] = {}
    for pid in {root, *_kids(root)}:
        mine = 0
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        mine = int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue
        rss += mine
        roles.setdefault(_role(pid, root), []).append(mine / 1024)
    return rss / 1024, pss / 1024, roles


def serve(home: Path, focus: str | None) -> None:
    """The measured process: one identity's sync service, as the app runs it, until SIGTERM."""
    session = Home(home).unlock(PASSPHRASE)
    service = SyncService(session, interval=INTERVAL)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("now", True))
    service.start(focus=focus or None)
    print("ready", flush=True)
    while not stop["now"]:
        time.sleep(0.2)
    service.stop()


def bench_service(home: Path, focus: str | None, settle: float, window: float) -> dict[str, Any]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(home), focus or ""], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the sync service did not start")
        time.sleep(settle)  # first restores and polls done; from here on nothing changes
        c0, t0 = tree_cpu(proc.pid), time.monotonic()
        peak_rss = peak_pss = 0.0
        roles: dict[str, list[float]] = {}
        while time.monotonic() - t0 < window:
            time.sleep(min(1.0, window))
            rss, pss, r = tree_memory(proc.pid)
            if rss > peak_rss:
                peak_rss, roles = rss, r
            peak_pss = max(peak_pss, pss)
        c1, t1 = tree_cpu(proc.pid), time.monotonic()
        split = [(b - a) / (t1 - t0) for a, b in zip(c0, c1)]
        return {"cpu": sum(split), "split": split, "rss": peak_rss, "pss": peak_pss, "roles": roles}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            for pid in reversed(_tree(proc.pid)):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()


# ---------------------------------------------------------------------------
# 3. Bytes per interactive event


def dir_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def bench_bytes(tmp: Path, n: int) -> tuple[float, float]:
    s = new_home(tmp / "bytes", "Bea")
    svc = s.create_cohort("Bytes", replica={"url": str(tmp / "bytes-replica")})
    db, replica = svc.store.journal.path, replica_for(s, svc.store).child(svc.store.entry.replica_path)
    plain = Plain(tmp / "bytes-plain.db", svc.id, s.id, svc.store.entry.journal)
    plain.seed(list(svc.view.events))
    plain_replica = ls.Replica(str(tmp / "bytes-plain-replica")).child("plain")
    ls.replicate_once(db, replica)
    ls.replicate_once(plain.path, plain_replica)
    gen = TextGen(11)
    items = [("note.added", {"meeting": "m1", "item": "", "text": gen.text(gen.rng.randint(80, 400)), "kind": "note"}) for _ in range(n)]
    before, before_plain = dir_bytes(replica_dir(replica)), dir_bytes(replica_dir(plain_replica))
    for kind, body in items:  # one event, one sync: as the replicator ships a commit made alone
        svc.store.record(kind, body)
        ls.replicate_once(db, replica)
        plain.append([(kind, body)])
        ls.replicate_once(plain.path, plain_replica)
    plain.conn.close()
    return (dir_bytes(replica_dir(replica)) - before) / n, (dir_bytes(replica_dir(plain_replica)) - before_plain) / n


def replica_dir(replica: ls.Replica) -> Path:
    return Path(replica.config()["path"])


# ---------------------------------------------------------------------------
# 4. Full restore of a big journal


def bench_restore(tmp: Path, n: int, repeat: int) -> dict[str, Any]:
    s = new_home(tmp / "big", "Bo")
    svc: CohortService = s.create_cohort("Big", replica={"url": str(tmp / "big-replica")})
    plain = Plain(tmp / "big-plain.db", svc.id, s.id, svc.store.entry.journal)
    plain.seed(list(svc.view.events))
    items = make_items(n, TextGen(20250601), s.id)
    t0 = time.perf_counter()
    for batch in chunks(items, 1000):
        svc.store.record_many(batch)
    say(f"{n} events sealed and appended in {fmt_s(time.perf_counter() - t0)}")
    for batch in chunks(items, 1000):
        plain.append(batch)
    plain.conn.close()
    svc.store.journal.close()
    replica = replica_for(s, svc.store).child(svc.store.entry.replica_path)
    plain_replica = ls.Replica(str(tmp / "big-plain-replica")).child("plain")
    ls.replicate_once(svc.store.journal.path, replica)
    ls.replicate_once(plain.path, plain_replica)
    times: dict[str, list[float]] = {"circle": [], "plain": []}
    for i in range(repeat):
        for name, rep in (("circle", replica), ("plain", plain_replica))[:: 1 if i % 2 == 0 else -1]:
            out = tmp / f"restored-{name}-{i}.db"
            t = time.perf_counter()
            ls.restore(rep, out)
            times[name].append(time.perf_counter() - t)
            if name == "circle" and last_seq(out) < n:
                raise RuntimeError("restored journal is short")
            out.unlink()
    return {
        "circle": statistics.median(times["circle"]),
        "plain": statistics.median(times["plain"]),
        "circle_mb": dir_bytes(replica_dir(replica)) / 1e6,
        "plain_mb": dir_bytes(replica_dir(plain_replica)) / 1e6,
    }


# ---------------------------------------------------------------------------


def service_lines(lines: list[Line], what: str, r: dict[str, Any]) -> None:
    own, live, reaped = r["split"]
    lines.append(Line(f"idle CPU, 3x12, {what}", f"{r['cpu'] * 100:.2f} % of a core", "<= 1 %", r["cpu"] <= 0.01))
    lines.append(Line("  python / litestream running / one-off commands", f"{own * 100:.1f} / {live * 100:.1f} / {reaped * 100:.1f} %", "-", None))
    lines.append(Line(f"memory (RSS), 3x12, {what}", f"{r['rss']:.0f} MB", "< 150 MB", r["rss"] < 150))
    lines.append(Line("  same as PSS (shared pages counted once)", f"{r['pss']:.0f} MB", "-", None))
    roles = ", ".join(f"{len(v)} {k} {statistics.mean(v):.0f} MB" for k, v in sorted(r["roles"].items()) if k != "one-off")
    lines.append(Line("  processes (RSS each)", roles, "-", None))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer samples and shorter windows (about a minute)")
    ap.add_argument("--samples", type=int, default=None, help="lag samples (default 50, quick 15)")
    ap.add_argument("--idle", type=float, default=None, help="seconds of idle measured (default 20, quick 8)")
    ap.add_argument("--n", type=int, default=None, help="events in the restored journal (default 100000, quick 20000)")
    ap.add_argument(
        "--lag-sizes", type=int, nargs="*", default=None, metavar="N", help="lag again with N events in the writer's journal (default 1000 10000, quick 1000)"
    )
    ap.add_argument("--lag-only", action="store_true", help="only the lag rows (small journal, then --lag-sizes)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--serve", nargs=2, metavar=("HOME", "FOCUS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(Path(args.serve[0]), args.serve[1])
        return 0
    samples = args.samples or (15 if args.quick else 50)
    idle = args.idle or (8.0 if args.quick else 20.0)
    n = args.n or (20_000 if args.quick else 100_000)
    sizes = args.lag_sizes if args.lag_sizes is not None else ([1000] if args.quick else [1000, 10_000])
    tmp = Path(tempfile.mkdtemp(prefix="circle-bench-sync-"))
    lines: list[Line] = []
    try:
        print(
            f"bench_sync: litestream {ls.LITESTREAM_VERSION}, {os.cpu_count()} cores, intervals {INTERVAL * 1000:.0f} ms, folder replicas, "
            f"load average {os.getloadavg()[0]:.2f} at the start"
        )

        say(f"follower lag, {samples} samples")
        out, view, timeouts = bench_lag(tmp, samples)
        if out:
            lines.append(Line(f"lag to the peer's copy p95 ({len(out)} samples)", fmt_s(pct(out, 95)), "<= 500 ms", pct(out, 95) <= 0.5 and not timeouts))
            lines.append(Line("lag to the peer's copy p50 / max", f"{fmt_s(pct(out, 50))} / {fmt_s(max(out))}", "-", None))
        if view:
            lines.append(Line("lag to the peer's folded view p95", fmt_s(pct(view, 95)), "-", None))
        if timeouts:
            lines.append(Line("lag samples over 10 s", str(timeouts), "0", False))
        small = pct(view, 95) if view else None
        for size in sizes:
            say(f"follower lag with {size} events in the writer's journal, {samples} samples")
            _, big, late = bench_lag(tmp, samples, prefill=size)
            if big:
                p95 = pct(big, 95)
                ratio = p95 / small if small else None
                vs = f" ({ratio:.2f}x the small journal's)" if ratio is not None else ""
                name = f"lag to the peer's folded view p95, {size // 1000}k-event writer"
                lines.append(Line(name, f"{fmt_s(p95)}{vs}", "<= 400 ms", p95 <= 0.4 and not late, ratio))
            if late:
                lines.append(Line(f"  lag samples over 10 s, {size // 1000}k-event writer", str(late), "0", False))
        if args.lag_only:
            print(f"load average {os.getloadavg()[0]:.2f} at the end\n")
            print(table(lines))
            emit("bench_sync", [result(ln.name.strip(), ln.value, "" if ln.target == "-" else ln.target, ln.ratio, ln.verdict) for ln in lines])
            return 0

        say("three cohorts of twelve members: building the replicas")
        home, cids = build_three_cohorts(tmp)
        say(f"sync service with live followers for one cohort: settle, then {idle:.0f} s idle")
        focused = bench_service(home, cids[0], settle=6.0, window=idle)
        service_lines(lines, "followers for 1 cohort", focused)
        if not args.quick:
            say(f"sync service polling only (as `circle sync`): settle, then {idle:.0f} s idle")
            service_lines(lines, "no followers", bench_service(home, None, settle=6.0, window=idle))

        per = 20 if args.quick else 50
        say(f"bytes per interactive event, {per} events")
        enc, plain = bench_bytes(tmp, per)
        lines.append(Line("replica bytes per interactive event", f"{enc / 1024:.2f} KB", "-", None))
        lines.append(Line("  plaintext journal, same events", f"{plain / 1024:.2f} KB ({enc / plain:.2f}x)", "-", None))

        say(f"full restore of a {n}-event journal")
        r = bench_restore(tmp, n, repeat=3)
        ratio = r["circle"] / r["plain"]
        lines.append(Line(f"full restore, {n // 1000}k events", fmt_s(r["circle"]), "<= 3 s", r["circle"] <= 3.0))
        lines.append(Line("  vs plaintext journal, same run", f"{fmt_s(r['plain'])} ({ratio:.2f}x)", "<= 1.5x", ratio <= 1.5, ratio))
        lines.append(Line("  replica size", f"{r['circle_mb']:.1f} MB vs {r['plain_mb']:.1f} MB plain", "-", None))
        print(f"load average {os.getloadavg()[0]:.2f} at the end (other work on the machine inflates lag and CPU)\n")
        print(table(lines))
        emit("bench_sync", [result(ln.name.strip(), ln.value, "" if ln.target == "-" else ln.target, ln.ratio, ln.verdict) for ln in lines])
        return 0
    finally:
        if args.keep:
            print(f"\nkept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
