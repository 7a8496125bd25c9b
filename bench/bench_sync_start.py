"""Peak memory of `circle sync` starting on a big cohort, against opening that cohort once, in one run.

`circle sync` starts the sync thread and, at once, prints a status line from
the main thread; both ask the session for every cohort. Each case runs in a
fresh process (peak RSS is per process) over the same home:

- **open once** (the baseline): unlock and open the cohort, nothing else.
- **sync start**: unlock, start the sync service, read the status line as
  `circle sync` does, and wait for the first pass.
- **sync start, two loads** (info): the same with ``Session.cohort`` as it was
  before issue 14 (no lock), which let the two threads open the cohort twice.

    python bench/bench_sync_start.py [--n 20000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_journal import make_items  # noqa: E402
from common import TextGen, emit, result  # noqa: E402

from circle.store.cohort import CohortStore  # noqa: E402
from circle.store.service import CohortService  # noqa: E402
from circle.store.session import Home, Session  # noqa: E402

PASSPHRASE = "correct horse battery staple"


def build(home: Path, n: int) -> None:
    session = Home(home, calibrate=False).create_identity("Bench Mentor", PASSPHRASE)
    svc = session.create_cohort("Bench cohort", purpose="benchmark")
    items = make_items(n, TextGen(3), session.id)
    for i in range(0, len(items), 1000):
        svc.store.record_many(items[i : i + 1000])
    session.close()
    for snap in (session.dir / "snapshots").glob("*.snap"):
        snap.unlink()  # opened cold, as on a device that has just synced a big history in


def racy_cohort(self: Session, cid: str) -> CohortService:
    """Session.cohort before issue 14: check, then open, with nothing between two threads."""
    cid = self.vault.resolve(cid)
    if cid not in self._cohorts:
        store = CohortStore(self.vault, cid, self.author, self.dir, clock=self.now, on_moved=self._moved)
        svc = CohortService(store)
        store.load()
        self._cohorts[store.id] = svc
    return self._cohorts[self.vault.resolve(cid)]


def child(home: Path, case: str) -> None:
    from circle.sync.service import SyncService

    if case == "racy":
        Session.cohort = racy_cohort  # type: ignore[method-assign]
    session = Home(home).unlock(PASSPHRASE)
    t0 = time.perf_counter()
    loads = []
    real = CohortStore.load

    def counted(self: CohortStore, *a, **k):
        loads.append(self.id)
        return real(self, *a, **k)

    CohortStore.load = counted  # type: ignore[method-assign]
    if case == "open":
        session.cohort(session.cohort_ids()[0])
    else:
        service = SyncService(session, poll=15.0)
        service.start(focus=None)
        service.status()  # the first status line, from the main thread
        while service.status().state in ("off", "starting", "syncing") and time.perf_counter() - t0 < 120:
            time.sleep(0.1)
        service.stop()
    took = time.perf_counter() - t0
    print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "s": took, "loads": len(loads)}))


def run(home: Path, case: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", case, "--home", str(home)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--child")
    ap.add_argument("--home", type=Path)
    args = ap.parse_args()
    if args.child:
        child(args.home, args.child)
        return
    home = Path(tempfile.mkdtemp(prefix="circle-sync-start-")) / "home"
    t = time.perf_counter()
    build(home, args.n)
    print(f"cohort of {args.n:,} events written in {time.perf_counter() - t:.1f} s; each case below is a fresh process, opening it cold")
    base = run(home, "open")
    print(f"\n{'measurement':<44} {'peak RSS':>9} {'opens':>6} {'vs open once':>13} {'target':>8}")
    print(f"{'open the cohort once (baseline)':<44} {base['rss_mb']:>6.0f} MB {base['loads']:>6} {'1.00x':>13}")
    rows = []
    for label, case, target in (("circle sync start (status line + sync thread)", "sync", True), ("  the same, two loads as before issue 14", "racy", False)):
        r = run(home, case)
        ratio = r["rss_mb"] / base["rss_mb"]
        verdict = ("PASS" if r["loads"] == 1 and ratio <= 1.2 else "MISS") if target else "info"
        print(f"{label:<44} {r['rss_mb']:>6.0f} MB {r['loads']:>6} {ratio:>12.2f}x {'<= 1.2x' if target else '-':>8}  {verdict}")
        rows.append(
            result(
                f"peak RSS, {label.strip()}, {args.n:,} events",
                f"{r['rss_mb']:.0f} MB vs {base['rss_mb']:.0f} MB (open once), {r['loads']} load(s)",
                "<= 1.2x, one load" if target else "",
                ratio,
                verdict,
            )
        )
    emit("bench_sync_start", rows)


if __name__ == "__main__":
    main()
