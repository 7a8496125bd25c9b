"""First paint of circle's screens with a 100k-event cohort, against a minimal Textual app in the same run.

    /work/venv/bin/python bench/bench_tui.py              # 100k events (building the cohort takes a minute or two)
    /work/venv/bin/python bench/bench_tui.py --n 10000    # quick look
    /work/venv/bin/python bench/bench_tui.py --keep /tmp/tui-cohort   # build once, reuse in later runs

What is measured:

- (a) a minimal Textual app (Header, a 20-row DataTable, Footer): from the
  start of ``run_test`` until its table is painted. The baseline.
- (b) circle with an unlocked session (the KDF is outside the clock), a fresh
  ``Session`` per run, the sealed snapshot warm on disk: until the home screen
  first paints, and until it shows the cohort's name (the cohort is open).
- (c) from pressing ``m`` on the home screen until the meeting room of the next
  meeting has painted its title, its agenda and the notes of the running item.
- (d) one page of the longest windowed list (the 2,000 notes of the running
  item): PgUp back through them and PgDn forward again (crossing windows),
  ``[``/``]`` between windows, and moving to another agenda item (its notes
  are listed again): p95 from key to paint.
- (e) peak memory of a fresh process that opens the cohort, the meeting room
  and scrolls (RSS high-water mark with the KDF excluded, tracemalloc peak),
  beside the minimal app's.

"Painted" means the screen's update went through the compositor and was turned
into terminal output, as a real driver does; the run is headless, so nothing
is written. (a), (b) and (c) alternate, run after run. Prints; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import TextGen, emit, fmt_s, median, pct, result  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import DataTable, Footer, Header  # noqa: E402

from circle.app import make_app  # noqa: E402
from circle.store.session import Home, Session  # noqa: E402

PASSPHRASE = "correct horse battery staple"
FACILITATOR = "Noor Haddad"
COHORT = "Riverside Bench Circle"
PURPOSE = "Peer supervision for allied health staff at three rural sites."
NEXT_TITLE = "Annual retreat: what a year of the circle taught us"
THREAD_TITLE = "Running notes from the retreat day"
SIZE = (120, 40)
TARGET_PAINT = 1.5  # circle / minimal app
TARGET_SCROLL = 0.050  # seconds, p95
TIMEOUT = 120.0
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


# ---------------------------------------------------------------------------
# The cohort: about a thousand weekly meetings of ~100 events (mostly ~1 KB
# notes), then the upcoming meeting, in its agenda phase, whose first item
# carries a long thread of notes (n / 50 of them).


@dataclass
class Meta:
    n: int
    events: int
    meetings: int
    thread: int
    root: str

    @property
    def home(self) -> Path:
        return Path(self.root) / "home"


def make_items(n: int, gen: TextGen, me: str) -> list[tuple[str, dict[str, Any]]]:
    thread = max(50, n // 50)
    past = max(2, (n - thread - 12) // 100)
    start = dt.date(2006, 1, 5)
    items: list[tuple[str, dict[str, Any]]] = []
    for k in range(past):
        meeting = gen.hex_id()
        at = (start + dt.timedelta(days=7 * k)).isoformat() + " 18:00"
        agenda = [gen.hex_id() for _ in range(6)]
        actions = [gen.hex_id() for _ in range(4)]
        items.append(("meeting.scheduled", {"meeting": meeting, "at": at, "title": gen.title(), "minutes": 60}))
        items += [
            ("agenda.added", {"item": i, "meeting": meeting, "title": gen.title(), "owner": me, "minutes": gen.rng.choice((5, 10, 15, 20))}) for i in agenda
        ]
        items.append(("attendance.marked", {"meeting": meeting, "member": me, "present": True}))
        items += [
            (
                "note.added",
                {
                    "meeting": meeting,
                    "item": gen.rng.choice(agenda),
                    "text": gen.text(gen.rng.randint(800, 1100)),
                    "kind": "decision" if gen.rng.random() < 0.1 else "note",
                },
            )
            for _ in range(80)
        ]
        items += [
            ("action.added", {"action": a, "meeting": meeting, "title": gen.title(), "owner": me, "due": (start + dt.timedelta(days=7 * k + 14)).isoformat()})
            for a in actions
        ]
        items += [("action.updated", {"action": a, "status": "done"}) for a in actions[:3]]
        items += [("agenda.updated", {"item": i, "meeting": meeting, "status": "done"}) for i in agenda[:4]]
        items.append(("meeting.held", {"meeting": meeting, "facilitator": me, "present": [me]}))
    meeting = gen.hex_id()
    at = (start + dt.timedelta(days=7 * past)).isoformat() + " 09:00"
    agenda = [gen.hex_id() for _ in range(6)]
    items.append(("meeting.scheduled", {"meeting": meeting, "at": at, "title": NEXT_TITLE, "minutes": 240}))
    items.append(("agenda.added", {"item": agenda[0], "meeting": meeting, "title": THREAD_TITLE, "owner": me, "minutes": 240}))
    items += [("agenda.added", {"item": i, "meeting": meeting, "title": gen.title(), "owner": me, "minutes": 15}) for i in agenda[1:]]
    items.append(("meeting.phase_set", {"meeting": meeting, "phase": "agenda"}))
    items.append(("agenda.current_set", {"meeting": meeting, "current_item": agenda[0], "item_started": 0.0}))
    items += [
        ("note.added", {"meeting": meeting, "item": agenda[0], "text": f"Thread note {k + 1}: " + gen.text(gen.rng.randint(800, 1100)), "kind": "note"})
        for k in range(thread)
    ]
    return items


def chunks(xs: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(xs), size):
        yield xs[i : i + size]


def build(root: Path, n: int) -> Meta:
    """Write the cohort through the real service (record_many in batches of 1000), then seal a snapshot."""
    root.mkdir(parents=True, exist_ok=True)
    session = Home(root / "home", calibrate=False).create_identity(FACILITATOR, PASSPHRASE)
    svc = session.create_cohort(COHORT, purpose=PURPOSE, cadence="weekly")
    items = make_items(n - len(svc.view), TextGen(seed=4), session.id)
    t0 = time.perf_counter()
    for i, batch in enumerate(chunks(items, 1000)):
        svc.store.record_many(batch)
        if i % 10 == 9:
            print(f"  {min((i + 1) * 1000, len(items))}/{len(items)} events written", file=sys.stderr)
    meetings = len(svc.view.meetings())
    session.close()  # heads, and the sealed snapshot of the folded view (as quitting circle does)
    print(f"  wrote {len(items)} events in {fmt_s(time.perf_counter() - t0)}", file=sys.stderr)
    meta = Meta(
        n=n,
        events=len(svc.view),
        meetings=meetings,
        thread=sum(1 for k, b in items if k == "note.added" and b["text"].startswith("Thread note")),
        root=str(root),
    )
    (root / "meta.json").write_text(json.dumps(meta.__dict__))
    return meta


def unlock(meta: Meta) -> tuple[Home, Session]:
    home = Home(meta.home)
    return home, home.unlock(PASSPHRASE)


def fresh_session(first: Session) -> Session:
    """A cold in-memory session over the same unlocked keystore: no cohort opened yet."""
    return Session(first.home, first.dir, first.keystore, first.clock)


def snapshots(session: Session) -> list[Path]:
    d = session.dir / "snapshots"
    return sorted(d.glob("*.snap")) if d.is_dir() else []


# ---------------------------------------------------------------------------
# Watching paints


@dataclass
class Waiter:
    screen: str | None
    markers: list[re.Pattern[str]]
    future: asyncio.Future[float]
    seen: set[int] = field(default_factory=set)


class PaintProbe:
    """Wraps ``App._display``: each update is rendered to terminal text, as a driver would, and checked for markers."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.waiters: list[Waiter] = []
        self.paints = 0
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return
            text = ANSI.sub("", renderable.render_segments(app.console))
            now = time.perf_counter()
            self.paints += 1
            for w in list(self.waiters):
                if w.screen is not None and screen.id != w.screen:
                    continue
                w.seen |= {i for i, m in enumerate(w.markers) if m.search(text)}
                if len(w.seen) == len(w.markers):
                    self.waiters.remove(w)
                    if not w.future.done():
                        w.future.set_result(now)

        app._display = display  # type: ignore[method-assign]

    def wait(self, screen: str | None, *markers: str) -> asyncio.Future[float]:
        """A future with the time of the first paint (of ``screen``) after now that, with earlier ones, showed every marker (regexes)."""
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters.append(Waiter(screen, [re.compile(m) for m in markers], fut))
        return fut


async def when(fut: asyncio.Future[float], what: str) -> float:
    try:
        return await asyncio.wait_for(fut, TIMEOUT)
    except TimeoutError:
        raise SystemExit(f"bench_tui: timed out waiting for {what}") from None


# ---------------------------------------------------------------------------
# (a) the baseline


def minimal_rows() -> list[tuple[str, ...]]:
    gen = TextGen(seed=20)
    return [(f"2025-06-{i + 1:02d} 18:00", gen.title()[:24], gen.title()[:40], str(gen.rng.choice((5, 10, 15))), "open") for i in range(20)]


class MinimalApp(App[None]):
    """The baseline: Header, a DataTable with 20 rows, Footer."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("When", "Who", "Item", "Minutes", "Status")
        table.add_rows(minimal_rows())


async def run_minimal() -> float:
    app = MinimalApp()
    probe = PaintProbe(app)
    painted = probe.wait(None, re.escape(minimal_rows()[-1][2][:16]))
    t0 = time.perf_counter()
    async with app.run_test(size=SIZE):
        t = await when(painted, "the minimal app's table")
    return t - t0


# ---------------------------------------------------------------------------
# (b), (c), (d) circle


@dataclass
class CircleRun:
    home_first: float = 0.0
    home_open: float = 0.0
    room_first: float = 0.0
    room_ready: float = 0.0
    cohort_ready: float = 0.0
    scroll: dict[str, list[float]] = field(default_factory=dict)


async def press_and_paint(pilot: Any, probe: PaintProbe, screen: str, key: str, *markers: str) -> float:
    """Seconds from a key to the paint that shows its effect; inf if nothing was painted within 2 s."""
    painted = probe.wait(screen, *markers)
    t0 = time.perf_counter()
    await pilot.press(key)
    try:
        return await asyncio.wait_for(painted, 2.0) - t0
    except TimeoutError:
        probe.waiters = [w for w in probe.waiters if w.future is not painted]
        return float("inf")


async def run_circle(first: Session, scroll: bool = False, presses: int = 50, inside: Callable[[], None] | None = None) -> CircleRun:
    out = CircleRun()
    session = fresh_session(first)
    app = make_app(session.home.root, session=session, cursor_blink=False)
    probe = PaintProbe(app)
    home_first = probe.wait("home")
    home_open = probe.wait("home", re.escape(COHORT))
    t0 = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        out.home_first = await when(home_first, "the home screen") - t0
        out.home_open = await when(home_open, "the cohort on the home screen") - t0
        room_first = probe.wait("meeting")
        room_ready = probe.wait("meeting", re.escape(NEXT_TITLE[:30]), re.escape(THREAD_TITLE), r"Thread note \d+:")
        await pilot.pause()  # let the home screen settle, as a person would look before pressing
        t1 = time.perf_counter()
        await pilot.press("m")
        out.room_first = await when(room_first, "the meeting room") - t1
        out.room_ready = await when(room_ready, "the meeting room's agenda and notes") - t1
        if scroll:
            out.scroll = await scroll_notes(app, pilot, probe, presses)
            if inside is not None:
                inside()
        else:
            await pilot.press("escape")
            await pilot.pause()
            cohort_ready = probe.wait("cohort", re.escape(PURPOSE[:40]))
            t2 = time.perf_counter()
            await pilot.press("enter")
            out.cohort_ready = await when(cohort_ready, "the cohort screen's charter") - t2
    session.close()  # as quitting circle does: heads, and a snapshot if the view changed a lot
    return out


async def scroll_notes(app: Any, pilot: Any, probe: PaintProbe, presses: int) -> dict[str, list[float]]:
    """Page through the running item's notes (across windows), jump windows, move between agenda items."""
    from circle.widgets import WindowedList

    await pilot.pause()
    notes = app.screen.query_one("#meeting-notes", WindowedList)
    await pilot.press("1")  # focus the notes; they open on their newest window
    await pilot.press("end")
    await pilot.pause()
    out: dict[str, list[float]] = {"page": [], "window": [], "item": []}
    for key in ("pageup", "pagedown"):  # read back through the thread a page at a time, then forward again
        for _ in range(presses):
            out["page"].append(await press_and_paint(pilot, probe, "meeting", key))
    back = True
    for _ in range(presses):
        if notes.pages < 2:
            break
        if back and notes.page == 0:
            back = False
        elif not back and notes.page == notes.pages - 1:
            back = True
        out["window"].append(await press_and_paint(pilot, probe, "meeting", "[" if back else "]"))
    app.screen.query_one("#meeting-agenda", WindowedList).focus()
    await pilot.pause()
    for k in range(presses):
        # Down leaves the long thread for an item without notes; up comes back to it.
        key, shown = ("down", "No notes for this item yet") if k % 2 == 0 else ("up", r"Thread note \d+:")
        out["item"].append(await press_and_paint(pilot, probe, "meeting", key, shown))
    return out


# ---------------------------------------------------------------------------
# (e) memory, in a fresh process


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


async def memory_probe(kind: str, root: str) -> dict[str, Any]:
    import tracemalloc

    first = None
    if kind == "circle":
        meta = Meta(**json.loads((Path(root) / "meta.json").read_text()))
        _, first = unlock(meta)  # Argon2's 64 MiB are not the app's: the high-water mark is reset after it
    gc.collect()
    reset = reset_hwm()
    tracemalloc.start()
    open_: dict[str, int] = {}

    def while_open() -> None:
        open_["rss"] = status_kib("VmRSS") * 1024
        open_["traced"] = tracemalloc.get_traced_memory()[0]

    if kind == "circle":
        assert first is not None
        await run_circle(first, scroll=True, presses=20, inside=while_open)
    else:
        await run_minimal()
        while_open()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"rss_hwm": status_kib("VmHWM") * 1024, "rss_open": open_["rss"], "traced_peak": peak, "traced_open": open_["traced"], "hwm_reset": reset}


def measure_memory(kind: str, root: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--memory-probe", kind, "--keep", str(root)], capture_output=True, text=True, timeout=1200)
    if out.returncode != 0:
        raise SystemExit(f"bench_tui: memory probe ({kind}) failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# Output


def line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()


def print_table(rows: list[tuple[str, ...]]) -> None:
    head = ("measurement", "circle", "baseline", "ratio", "target", "")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print(line(head, widths))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r, widths))


def paint_row(name: str, circle: float, base: float, target: float | None = TARGET_PAINT) -> tuple[str, ...]:
    ratio = circle / base
    verdict = "info" if target is None else ("PASS" if ratio <= target else "MISS")
    return (name, fmt_s(circle), fmt_s(base), f"{ratio:.2f}x", f"<= {target:g}x" if target else "-", verdict)


def latency_row(name: str, xs: list[float], target: float | None = TARGET_SCROLL) -> tuple[str, ...]:
    if not xs:
        return (name, "-", "", "", "", "n/a")
    p95 = pct(xs, 95)
    missed = sum(1 for x in xs if x == float("inf"))
    note = f", {missed} not painted" if missed else ""
    verdict = "info" if target is None else ("PASS" if p95 <= target else "MISS")
    return (
        f"{name} (p95 of {len(xs)}, median {fmt_s(median(xs))}{note})",
        fmt_s(p95) if p95 != float("inf") else "never",
        "",
        "",
        f"<= {target * 1e3:g} ms" if target else "-",
        verdict,
    )


def mib(b: float) -> str:
    return f"{b / 2**20:.0f} MiB"


# ---------------------------------------------------------------------------


async def measure(meta: Meta, reps: int, presses: int) -> None:
    _, first = unlock(meta)
    print(f"unlocked in a fresh session each run (KDF outside the clock); snapshot on disk: {'yes' if snapshots(first) else 'no'}")

    # Warm up imports, CSS and the page cache on both sides; the first circle run writes the snapshot if there is none.
    await run_minimal()
    await run_circle(first)
    gc.collect()

    base, warm = [], []
    for _ in range(reps):
        base.append(await run_minimal())
        gc.collect()
        warm.append(await run_circle(first))
        gc.collect()
    base.append(await run_minimal())

    for p in snapshots(first):
        p.unlink()
    gc.collect()
    cold = await run_circle(first)  # its close writes the snapshot again
    gc.collect()
    scrolled = (await run_circle(first, scroll=True, presses=presses)).scroll

    b = median(base)
    print(f"\nmedians of {reps} alternating runs ({len(base)} of the baseline), terminal {SIZE[0]}x{SIZE[1]}, headless, painted to terminal text:\n")
    rows = [
        paint_row("(a) minimal app: Header, 20-row DataTable, Footer", b, b, None),
        paint_row("(b) home screen, first paint", median([r.home_first for r in warm]), b),
        paint_row("(b) home screen, cohort open and shown (snapshot)", median([r.home_open for r in warm]), b, None),
        paint_row("(b) the same without a snapshot (one cold run)", cold.home_open, b, None),
        paint_row("(c) meeting room after m, first paint", median([r.room_first for r in warm]), b),
        paint_row("(c) meeting room after m, agenda and notes shown", median([r.room_ready for r in warm]), b, None),
        paint_row("(f) cohort screen after Enter, charter shown", median([r.cohort_ready for r in warm]), b, None),
        latency_row(f"(d) {meta.thread} notes: PgUp/PgDn through them", scrolled.get("page", [])),
        latency_row("(d) the notes: [ ] to another window", scrolled.get("window", [])),
        latency_row("(d) agenda: next item, its notes listed", scrolled.get("item", []), None),
    ]
    print_table(rows)
    print(
        f"\nspread: minimal {fmt_s(min(base))}..{fmt_s(max(base))}; home open {fmt_s(min(r.home_open for r in warm))}.."
        f"{fmt_s(max(r.home_open for r in warm))}; room ready {fmt_s(min(r.room_ready for r in warm))}..{fmt_s(max(r.room_ready for r in warm))}"
    )

    mem_c = measure_memory("circle", Path(meta.root))
    mem_b = measure_memory("minimal", Path(meta.root))
    print("\n(e) memory, a fresh process each (circle opens home and the meeting room and pages the notes; the KDF is left out):")
    for name, m in ((f"circle, {meta.events} events", mem_c), ("minimal app", mem_b)):
        print(
            f"    {name:<22} RSS: peak {mib(m['rss_hwm']):>8}, while open {mib(m['rss_open']):>8};  "
            f"Python heap (tracemalloc): peak {mib(m['traced_peak']):>8}, while open {mib(m['traced_open']):>8}"
        )
    if not mem_c["hwm_reset"]:
        print("    (could not reset the RSS high-water mark: circle's includes the KDF's 64 MiB)")
    out = [
        result(name, f"{c} vs {b} (minimal app)" if b else c, "" if target == "-" else target, float(ratio.rstrip("x")) if ratio else None, verdict)
        for name, c, b, ratio, target, verdict in rows
    ]
    out.append(
        result(
            f"(e) peak RSS, circle with {meta.events} events",
            f"{mib(mem_c['rss_hwm'])} vs {mib(mem_b['rss_hwm'])} (minimal app)",
            "",
            mem_c["rss_hwm"] / mem_b["rss_hwm"],
        )
    )
    emit("bench_tui", out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="events in the cohort (default 100000)")
    ap.add_argument("--reps", type=int, default=7, help="alternating runs of (a), (b), (c)")
    ap.add_argument("--presses", type=int, default=50, help="PgDn/PgUp presses for (d)")
    ap.add_argument("--keep", type=Path, help="build the cohort here once and reuse it in later runs")
    ap.add_argument("--memory-probe", choices=("circle", "minimal"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.memory_probe:
        print(json.dumps(asyncio.run(memory_probe(args.memory_probe, str(args.keep)))))
        return 0

    tmp = None
    root = args.keep
    if root is None:
        tmp = Path(tempfile.mkdtemp(prefix="circle-bench-tui-"))
        root = tmp / "cohort"
    try:
        meta_path = root / "meta.json"
        meta = Meta(**json.loads(meta_path.read_text())) if meta_path.exists() else None
        if meta is None or meta.n != args.n:
            if root.exists():
                shutil.rmtree(root)
            print(f"building a cohort of {args.n} events in {root} ...", file=sys.stderr)
            meta = build(root, args.n)
        load = os.getloadavg()[0]
        print(
            f"bench_tui: {meta.events} events, {meta.meetings} meetings, {meta.thread} notes on the running item; "
            f"python {platform.python_version()}, {os.cpu_count()} cores, load {load:.2f}"
        )
        asyncio.run(measure(meta, args.reps, args.presses))
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (rerun if it was above about 1)")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
