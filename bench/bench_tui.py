"""First paint of circle's screens against a minimal Textual app, on two cores and on one, and peak memory, at several sizes.

    /work/venv/bin/python bench/bench_tui.py                          # 100k events (building the cohort takes about 20 s)
    /work/venv/bin/python bench/bench_tui.py --sizes 1000 10000 100000 # the full tier of bench/run
    /work/venv/bin/python bench/bench_tui.py --sizes 5000 --reps 2    # quick look
    /work/venv/bin/python bench/bench_tui.py --keep /tmp/tui-cohorts  # build each size once (DIR/<n>), reuse later
    /work/venv/bin/python bench/bench_tui.py --trace-memory           # also: where the Python heap goes (a separate, traced run)

What is measured, for each size:

- (a) a minimal Textual app (Header, a 20-row DataTable, Footer): from the
  start of ``run_test`` until its table is painted. The baseline. It runs in
  its own process, which never imports circle (checked).
- (b) circle with an unlocked session (the KDF is outside the clock), a fresh
  ``Session`` per run, the sealed snapshot and the front page (what the home
  screen showed when the last run closed) warm on disk: until the home screen
  first paints, until the cohort is shown (its name and its next meeting,
  which the "Opening a cohort…" row never shows; from its front page when
  there is one, as a person sees it), and, as information, until the cohort
  is folded and its line is the one read from its view.
- (c) from pressing ``m`` on the home screen, once the cohort is folded, until
  the meeting room of the next meeting has painted: anything (first paint,
  information: it may be the "Opening the meeting…" placeholder), its title
  and agenda (content: the row with the target), then the notes of the
  running item. And pressed as soon as the home screen shows the cohort
  (from its front page, before the fold, as a person who knows the way
  does; a run of its own): until the room shows its title and agenda (the
  target row: from the front page when there is one, else after the fold),
  and, as information, until the real room (folded and read) is on screen.
- (d) one page of the longest windowed list (the notes of the running item):
  PgUp back through them and PgDn forward again (crossing windows), ``[``/``]``
  between windows, and moving to another agenda item (its notes are listed
  again): p95 from key to paint.
- (f) from Enter on the home screen until the cohort screen shows its charter:
  once the cohort is folded, and pressed before the fold (a run of its own;
  as information, until the real screen is on screen).
- (e) peak RSS (VmHWM) of a fresh process that opens the cohort, the meeting
  room and pages the notes, against a fresh process running the minimal app,
  tracemalloc off in both. Circle's unlock (Argon2id, by design up to 256 MiB)
  is left out by resetting the high-water mark after it (``/proc/self/clear_refs``)
  and reported on its own row.

(a)-(d) and (f) run twice: with the machine's cores, and with both processes
pinned to one core (``os.sched_setaffinity`` before exec, as ``taskset -c 0``).
Each time circle and the minimal app are two long-lived worker processes that
take turns, run after run, so each ratio compares runs under the same load and
the same pinning.

"Painted" means the screen's update went through the compositor and was turned
into terminal output, as a real driver does; the run is headless, so nothing
is written. Prints; never asserts.
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
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import TextGen, emit, fmt_s, median, pct, result  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import DataTable, Footer, Header  # noqa: E402

if TYPE_CHECKING:
    from circle.store.session import Home, Session

# circle is imported only where it is used (the builder, circle's workers), so the
# minimal app's processes never load it: its memory and its paints are Textual's alone.

PASSPHRASE = "correct horse battery staple"
FACILITATOR = "Noor Haddad"
COHORT = "Riverside Bench Circle"
PURPOSE = "Peer supervision for allied health staff at three rural sites."
NEXT_TITLE = "Annual retreat: what a year of the circle taught us"
THREAD_TITLE = "Running notes from the retreat day"
SIZE = (120, 40)
TARGET_PAINT = 1.5  # circle / minimal app
TARGET_SCROLL = 0.050  # seconds, p95
TARGET_RSS_MIB = 120  # issue 14: at most 120 MiB of RSS with a 100k-event cohort open
TARGET_RSS_AT = 100_000
TIMEOUT = 300.0
REPLY = "@@ "  # a worker's answer line on its stdout
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
    from circle.store.session import Home

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
    from circle.store.session import Home

    home = Home(meta.home)
    return home, home.unlock(PASSPHRASE)


def fresh_session(first: Session) -> Session:
    """A cold in-memory session over the same unlocked keystore: no cohort opened yet."""
    from circle.store.session import Session

    return Session(first.home, first.dir, first.keystore, first.clock)


def snapshots(session: Session) -> list[Path]:
    d = session.dir / "snapshots"
    return sorted(d.glob("*.snap")) if d.is_dir() else []


def front_pages(session: Session) -> list[Path]:
    d = session.dir / "snapshots"
    return sorted(d.glob("*.front")) if d.is_dir() else []


def set_aside(session: Session) -> dict[Path, Path]:
    """A first start: no snapshot and no front page (without the snapshot it belongs with, it would be ignored anyway).

    They are moved out of the home, not read into memory: a 100k-event snapshot held as bytes (31 MB) was counted in
    the cold run's peak. Returns where each went."""
    kept: dict[Path, Path] = {}
    files = snapshots(session) + front_pages(session)
    if files:
        aside = Path(tempfile.mkdtemp(prefix="aside-", dir=session.dir.parent))  # the same file system: a rename
        for p in files:
            kept[p] = p.rename(aside / p.name)
    return kept


def put_back(session: Session, kept: dict[Path, Path]) -> bool:
    """After a run from a first start: whether its close wrote a snapshot; if not (only after 2,000 events folded cold), the old one
    and its front page go back for the runs after this."""
    wrote = bool(snapshots(session))
    for p, moved in kept.items():
        if wrote:
            moved.unlink()
        else:
            moved.rename(p)
    for d in {moved.parent for moved in kept.values()}:
        d.rmdir()
    return wrote


# ---------------------------------------------------------------------------
# Watching paints


@dataclass
class Waiter:
    screen: str | None
    markers: list[re.Pattern[str]]
    future: asyncio.Future[float]
    absent: list[re.Pattern[str]] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    note: Callable[[], Any] | None = None  # called at the paint that resolves the future: what was true then


class PaintProbe:
    """Wraps ``App._display``: each update is rendered to terminal text, as a driver would, and checked for markers."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.waiters: list[Waiter] = []
        self.paints = 0
        self.texts: list[str] = []  # what each paint showed, while ``record`` is on
        self.record = False
        self.noted: dict[asyncio.Future[float], Any] = {}  # a waiter's note, taken at its paint
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count:
                return
            text = ANSI.sub("", renderable.render_segments(app.console))
            now = time.perf_counter()
            self.paints += 1
            if self.record:
                self.texts.append(text)
            for w in list(self.waiters):
                if w.screen is not None and screen.id != w.screen:
                    continue
                w.seen |= {i for i, m in enumerate(w.markers) if m.search(text)}
                if len(w.seen) == len(w.markers) and not any(m.search(text) for m in w.absent):
                    self.waiters.remove(w)
                    if w.note is not None:
                        self.noted[w.future] = w.note()
                    if not w.future.done():
                        w.future.set_result(now)

        app._display = display  # type: ignore[method-assign]

    def wait(self, screen: str | None, *markers: str, absent: Sequence[str] = (), note: Callable[[], Any] | None = None) -> asyncio.Future[float]:
        """A future with the time of the first paint (of ``screen``) after now that, with earlier ones, showed every marker (regexes).

        That paint must not show any of ``absent`` (a paint may redraw only part of the screen, so the markers are what prove it).
        ``note()`` is called at that paint and its value kept in :attr:`noted` (the awaiting coroutine may resume much later:
        the pilot waits for the app to be idle, which a fold on a worker thread delays).
        """
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters.append(Waiter(screen, [re.compile(m) for m in markers], fut, [re.compile(m) for m in absent], note=note))
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
    home_folded: float = 0.0  # the cohort folded and its line read from the view (the front page replaced)
    front: str = ""  # the cohort was first shown from its front page: "current" or "stale"; "" from the fold
    room_first: float = 0.0
    room_content: float = 0.0
    room_ready: float = 0.0
    cohort_ready: float = 0.0
    early: str = ""  # the key pressed as soon as the cohort was shown, before the fold ("m" or "enter"); "" for none
    early_first: float = 0.0  # from that key to the first paint of its screen
    early_content: float = 0.0  # ... to its content (the room's title and agenda; the cohort's charter)
    early_real: float = 0.0  # ... to the real screen: the cohort folded and the screen's own read shown
    early_painted: bool = False  # the content was painted before the cohort was folded (from the front page)
    opening_seen: bool = False  # "Opening a cohort…" was painted before the cohort was shown
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


HOME_OPEN = (re.escape(COHORT), "Next meeting", re.escape(NEXT_TITLE[:14]), "Open actions")  # only an open cohort's row and detail show these
OPENING = "Opening a cohort"


ROOM_CONTENT = (re.escape(NEXT_TITLE[:30]), re.escape(THREAD_TITLE))  # the room's title and agenda
COHORT_CONTENT = (re.escape(PURPOSE[:40]),)  # the cohort screen's charter


def real_screen(app: Any, screen: str) -> bool:
    """The screen on top is ``screen``, showing its own read of the folded view (not a front page)."""
    s = app.screen
    if s.id != screen or getattr(s, "service", None) is None or getattr(s, "early", False):
        return False
    reading = s._read_queued or any(w.group == "read" and w.node is s and not w.is_finished for w in app.workers)
    return not reading and s._stamp == s.read_stamp()


async def press_early(app: Any, pilot: Any, probe: PaintProbe, cid: str, key: str, out: CircleRun, t0: float) -> None:
    """Press ``key`` as soon as the cohort is shown (before the fold); time its screen's first paint, content, and the real screen."""
    screen, content = ("meeting", ROOM_CONTENT) if key == "m" else ("cohort", COHORT_CONTENT)
    first, shown = probe.wait(screen), probe.wait(screen, *content, note=lambda: app.opened(cid) is None)
    out.early = key
    t1 = time.perf_counter()
    await pilot.press(key)
    out.early_first = await when(first, f"the {screen} screen") - t1
    out.early_content = await when(shown, f"the {screen} screen's content") - t1
    out.early_painted = probe.noted.pop(shown)
    while not real_screen(app, screen):  # polled: the real screen and one from the front page can look the same
        if time.perf_counter() - t0 > TIMEOUT:
            raise SystemExit(f"bench_tui: timed out waiting for the real {screen} screen")
        await asyncio.sleep(0.002)
    await pilot.pause()  # its read shown, and painted
    out.early_real = time.perf_counter() - t1


async def run_circle(first: Session, scroll: bool = False, presses: int = 50, mark: Callable[[str], None] | None = None, early: str = "") -> CircleRun:
    """One run of circle from a fresh session; ``mark(stage)`` is called once the cohort is shown, the room is ready and (scroll) paged.

    ``early`` ("m" or "enter"): press that key as soon as the home screen shows the cohort, time its screen, and stop there.
    """
    from circle.app import make_app

    out = CircleRun()
    session = fresh_session(first)
    app = make_app(session.home.root, session=session, cursor_blink=False)
    probe = PaintProbe(app)
    probe.record = True
    home_first = probe.wait("home")
    home_open = probe.wait("home", *HOME_OPEN, absent=[OPENING])
    (cid,) = session.cohort_ids()
    t0 = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        out.home_first = await when(home_first, "the home screen") - t0
        out.home_open = await when(home_open, "the cohort on the home screen") - t0
        out.opening_seen = any(OPENING in t for t in probe.texts)
        shown = app.screen.lines.get(cid)
        out.front = shown.front if shown is not None else ""
        probe.record, probe.texts = False, []
        if early:
            await press_early(app, pilot, probe, cid, early, out, t0)
            out.home_folded = time.perf_counter() - t0
            app.close_session()
            return out
        # The fold behind the front page: polled (a front page and the line read from the view look the same).
        while not ((line := app.screen.lines.get(cid)) is not None and line.opened):
            if time.perf_counter() - t0 > TIMEOUT:
                raise SystemExit("bench_tui: timed out waiting for the cohort's fold")
            await asyncio.sleep(0.002)
        out.home_folded = time.perf_counter() - t0
        if mark is not None:
            mark("cohort shown")
        room_first = probe.wait("meeting")
        room_content = probe.wait("meeting", *ROOM_CONTENT)
        room_ready = probe.wait("meeting", re.escape(NEXT_TITLE[:30]), re.escape(THREAD_TITLE), r"Thread note \d+:")
        await pilot.pause()  # let the home screen settle (the cohort folded), as a person would look before pressing
        t1 = time.perf_counter()
        await pilot.press("m")
        out.room_first = await when(room_first, "the meeting room") - t1
        out.room_content = await when(room_content, "the meeting room's title and agenda") - t1
        out.room_ready = await when(room_ready, "the meeting room's agenda and notes") - t1
        if mark is not None:
            mark("meeting room shown")
        if scroll:
            out.scroll = await scroll_notes(app, pilot, probe, presses)
            if mark is not None:
                mark("notes paged")
        else:
            await pilot.press("escape")
            await pilot.pause()
            cohort_ready = probe.wait("cohort", *COHORT_CONTENT)
            t2 = time.perf_counter()
            await pilot.press("enter")
            out.cohort_ready = await when(cohort_ready, "the cohort screen's charter") - t2
    app.close_session()  # as quitting circle does (run_app): heads, a snapshot if the view changed a lot, the front pages
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
            if notes.page == (0 if key == "pageup" else notes.pages - 1) and notes._at_edge(last=key == "pagedown"):
                break  # at the end of a short thread a key changes nothing, so nothing would be painted
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
# Workers: circle and the minimal app each in a long-lived process of their own, taking turns on the parent's word


def circle_imported() -> bool:
    return any(m == "circle" or m.startswith("circle.") for m in sys.modules)


def reply(obj: dict[str, Any]) -> None:
    print(REPLY + json.dumps(obj), flush=True)


async def worker(kind: str, root: Path) -> None:
    """Warm up, say ready, then answer ``run``, ``early KEY``, ``cold`` and ``scroll P`` one line at a time until stdin closes."""
    loop = asyncio.get_running_loop()
    first = None
    if kind == "circle":
        meta = Meta(**json.loads((root / "meta.json").read_text()))
        _, first = unlock(meta)
        await run_circle(first)  # imports, CSS, the page cache; writes the snapshot if there is none
    else:
        await run_minimal()
    gc.collect()
    reply({"cpus": sorted(os.sched_getaffinity(0)), "circle_imported": circle_imported(), "snapshot": bool(first and snapshots(first))})
    while cmd := (await loop.run_in_executor(None, sys.stdin.readline)).split():
        if kind == "minimal":
            reply({"t": await run_minimal()})
        else:
            assert first is not None
            kept = {}
            if cmd[0] == "cold":
                kept = set_aside(first)
                gc.collect()
            r = await run_circle(first, scroll=cmd[0] == "scroll", presses=int(cmd[1]) if cmd[0] == "scroll" else 0, early=cmd[1] if cmd[0] == "early" else "")
            reply({**asdict(r), "snapshot_after": put_back(first, kept)})
        gc.collect()


class Worker:
    def __init__(self, kind: str, root: Path, cpus: set[int] | None) -> None:
        self.kind = kind
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None  # as taskset: before exec, so every thread inherits it
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, "--root", str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=pin
        )
        self.hello: dict[str, Any] = {}

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for text in self.proc.stdout:
            if text.startswith(REPLY):
                return json.loads(text[len(REPLY) :])
        raise SystemExit(f"bench_tui: the {self.kind} worker ended (exit code {self.proc.wait()})")

    def ask(self, cmd: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=120)


@dataclass
class Paints:
    cores: str
    base: list[float]
    warm: list[dict[str, Any]]
    early: dict[str, list[dict[str, Any]]]  # key -> runs pressing it before the fold
    cold: dict[str, Any]
    scroll: dict[str, list[float]]
    snapshot: bool  # the cohort had a sealed snapshot for the warm runs (circle writes one only past 2,000 events)


def paints(meta: Meta, cpus: set[int] | None, reps: int, presses: int) -> Paints:
    m, c = Worker("minimal", Path(meta.root), cpus), Worker("circle", Path(meta.root), cpus)
    try:
        for w in (m, c):
            w.hello = w.read()
        snapshot = c.hello["snapshot"]
        if m.hello["circle_imported"]:
            raise SystemExit("bench_tui: the minimal app's worker imported circle")
        want = sorted(cpus) if cpus else sorted(os.sched_getaffinity(0))
        if m.hello["cpus"] != want or c.hello["cpus"] != want:
            raise SystemExit(f"bench_tui: workers run on {m.hello['cpus']} and {c.hello['cpus']}, not {want}")
        base, warm = [], []
        early: dict[str, list[dict[str, Any]]] = {"m": [], "enter": []}
        for _ in range(reps):
            base.append(m.ask("run")["t"])
            warm.append(c.ask("run"))
            for key, runs in early.items():
                base.append(m.ask("run")["t"])
                runs.append(c.ask(f"early {key}"))
        base.append(m.ask("run")["t"])
        cold = c.ask("cold")  # its close writes the snapshot again
        scroll = c.ask(f"scroll {presses}")["scroll"]
    finally:
        for w in (m, c):
            w.close()
    n = len(want)
    return Paints(f"{n} core{'s' if n != 1 else ''} ({','.join(map(str, want))})", base, warm, early, cold, scroll, snapshot)


# ---------------------------------------------------------------------------
# (e) memory, a fresh process each, tracemalloc off


def status_kib(name: str) -> int:
    for text in Path("/proc/self/status").read_text().splitlines():
        if text.startswith(name + ":"):
            return int(text.split()[1])
    return 0


def reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


async def memory_probe(kind: str, root: Path) -> dict[str, Any]:
    """Peak RSS of one run: the minimal app from the process's start; circle from just after its unlock (``cold``: with no snapshot)."""
    import tracemalloc

    out: dict[str, Any] = {"rss_start": status_kib("VmRSS") * 1024}
    if kind == "minimal":
        await run_minimal()
        out["rss_end"] = status_kib("VmRSS") * 1024
    elif kind == "export":  # the export screen's read (summary and preview) and a whole-history `circle export --format md`, after the open
        from circle import export as ex
        from circle.export import markdown
        from circle.screens.export import PREVIEW_CHARS

        meta = Meta(**json.loads((root / "meta.json").read_text()))
        _, first = unlock(meta)
        svc = first.cohort(first.cohort_ids()[0])
        gc.collect()
        out["hwm_reset"] = reset_hwm()
        out["rss_open"] = status_kib("VmRSS") * 1024
        t0 = time.perf_counter()
        markdown.render(ex.summarize(svc), limit=PREVIEW_CHARS)
        out["screen_s"] = time.perf_counter() - t0
        out["screen_hwm"] = status_kib("VmHWM") * 1024
        gc.collect()
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            written = ex.write(ex.summarize(svc), "md", Path(d) / "all.md", ex.signer_of(svc.store.author), svc.now())
        out["export_s"], out["export_bytes"] = time.perf_counter() - t0, written.size
    elif kind == "verify":  # `circle verify`'s work after its unlock: open the cohort, walk and open every envelope of every journal
        meta = Meta(**json.loads((root / "meta.json").read_text()))
        _, first = unlock(meta)
        gc.collect()
        out["hwm_reset"] = reset_hwm()
        report = fresh_session(first).verify()
        out["opened"], out["problems"] = report.opened, len(report.problems)
    else:
        meta = Meta(**json.loads((root / "meta.json").read_text()))
        before = status_kib("VmHWM") * 1024
        _, first = unlock(meta)
        out["kdf_hwm"] = status_kib("VmHWM") * 1024
        out["kdf_extra"] = out["kdf_hwm"] - before
        out["kdf_memory_kib"] = first.keystore._params.memory_kib
        kept = set_aside(first) if kind == "cold" else {}
        out["snapshot"] = bool(snapshots(first))
        gc.collect()
        out["hwm_reset"] = reset_hwm()  # Argon2id's memory is the unlock's, reported on its own row
        out["rss_after_unlock"] = status_kib("VmRSS") * 1024
        marks: dict[str, int] = {}
        peaks: dict[str, int] = {}

        def mark(stage: str) -> None:
            marks[stage] = status_kib("VmRSS") * 1024
            peaks[stage] = status_kib("VmHWM") * 1024

        await run_circle(first, scroll=True, presses=20, mark=mark)
        put_back(first, kept)
        out["marks"], out["peaks"] = marks, peaks
        out["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # the same high-water mark (clear_refs resets it too)
    out["rss_hwm"] = status_kib("VmHWM") * 1024
    out["tracing"] = tracemalloc.is_tracing()
    out["circle_imported"] = circle_imported()
    return out


async def traced_probe(root: Path, top: int) -> dict[str, Any]:
    """Where the Python heap goes: the same circle run with tracemalloc on (slower, and its RSS is not reported)."""
    import tracemalloc

    meta = Meta(**json.loads((root / "meta.json").read_text()))
    _, first = unlock(meta)
    gc.collect()
    tracemalloc.start()
    snaps: dict[str, Any] = {}

    def mark(stage: str) -> None:
        if stage == "meeting room shown":
            snaps["open"] = tracemalloc.take_snapshot()
            snaps["traced_open"] = tracemalloc.get_traced_memory()[0]

    await run_circle(first, scroll=True, presses=20, mark=mark)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    snap = snaps["open"].filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    root_dir = str(Path(__file__).resolve().parents[1]) + "/"

    def where(key: str) -> list[tuple[str, int, int]]:
        out = []
        for s in snap.statistics(key)[:top]:
            fr = s.traceback[0]
            name = fr.filename.replace(root_dir, "").split("site-packages/")[-1]
            out.append((f"{name}:{fr.lineno}" if key == "lineno" else name, s.size, s.count))
        return out

    return {"peak": peak, "open": snaps["traced_open"], "by_file": where("filename"), "by_line": where("lineno")}


def child_json(args: list[str], what: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"bench_tui: {what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# Output


def line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()


def print_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print(line(head, widths))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r, widths))


def verdict(value: float, target: float | None) -> str:
    return "info" if target is None else ("PASS" if value <= target else "MISS")


def mib(b: float) -> str:
    return f"{b / 2**20:.0f} MiB"


def paint_rows(p: Paints) -> list[tuple[str, float, float | None]]:
    """(name, circle's seconds, target ratio) for the paint rows of one pinning."""
    w = p.warm
    return [
        ("(a) minimal app: Header, 20-row DataTable, Footer", median(p.base), None),
        ("(b) home screen, first paint", median([r["home_first"] for r in w]), TARGET_PAINT),
        (
            "(b) home screen, cohort open and shown " + ("(snapshot)" if p.snapshot else "(no snapshot under 2,000 events: cold)"),
            median([r["home_open"] for r in w]),
            TARGET_PAINT,
        ),
        ("(b) the cohort folded behind it, its line read from the view", median([r["home_folded"] for r in w]), None),
        ("(b) the same without a snapshot (one cold run)", p.cold["home_open"], None),
        ("(c) meeting room after m (folded), first paint", median([r["room_first"] for r in w]), None),
        ("(c) meeting room after m (folded), title and agenda shown", median([r["room_content"] for r in w]), TARGET_PAINT),
        ("(c) meeting room after m (folded), agenda and notes shown", median([r["room_ready"] for r in w]), None),
        ("(c) m before the fold: title and agenda shown", median([r["early_content"] for r in p.early["m"]]), TARGET_PAINT),
        ("(c) m before the fold: the real room (folded, read)", median([r["early_real"] for r in p.early["m"]]), None),
        ("(f) cohort screen after Enter (folded), charter shown", median([r["cohort_ready"] for r in w]), TARGET_PAINT),
        ("(f) Enter before the fold: charter shown", median([r["early_content"] for r in p.early["enter"]]), TARGET_PAINT),
        ("(f) Enter before the fold: the real screen (folded, read)", median([r["early_real"] for r in p.early["enter"]]), None),
    ]


def latency_rows(p: Paints, thread: int) -> list[tuple[str, list[float], float | None]]:
    return [
        (f"(d) {thread} notes: PgUp/PgDn through them", p.scroll.get("page", []), TARGET_SCROLL),
        ("(d) the notes: [ ] to another window", p.scroll.get("window", []), TARGET_SCROLL),
        ("(d) agenda: next item, its notes listed", p.scroll.get("item", []), None),
    ]


def p95_text(xs: list[float]) -> str:
    if not xs:
        return "-"
    p95 = pct(xs, 95)
    missed = sum(1 for x in xs if x == float("inf"))
    return ("never" if p95 == float("inf") else fmt_s(p95)) + f" (median {fmt_s(median(xs))}, {len(xs)} keys{f', {missed} not painted' if missed else ''})"


def report_size(
    meta: Meta,
    runs: list[Paints],
    mem_c: dict[str, Any],
    mem_b: dict[str, Any],
    mem_cold: dict[str, Any] | None,
    mem_v: dict[str, Any],
    mem_x: dict[str, Any],
) -> list[dict]:
    size = f"{meta.events:,} events"
    print(f"\n{size}: medians of {len(runs[0].warm)} alternating runs ({len(runs[0].base)} of the minimal app), terminal {SIZE[0]}x{SIZE[1]}, headless:\n")
    head = ["measurement", "target"]
    for p in runs:
        head += [p.cores, "minimal", "ratio", ""]
    table, out = [], []
    for k, (name, _, target) in enumerate(paint_rows(runs[0])):
        cells = [name, f"<= {target:g}x" if target else "-"]
        for p in runs:
            c, b = paint_rows(p)[k][1], median(p.base)
            cells += [fmt_s(c), fmt_s(b), f"{c / b:.2f}x", verdict(c / b, target)]
            out.append(
                result(
                    f"{name}, {size}, {p.cores}",
                    f"{fmt_s(c)} vs {fmt_s(b)} (minimal app, own process, same cores)",
                    f"<= {target:g}x" if target else "",
                    c / b,
                    verdict(c / b, target),
                )
            )
        table.append(cells)
    for k, (name, _, target) in enumerate(latency_rows(runs[0], meta.thread)):
        cells = [f"{name} (p95)", f"<= {target * 1e3:g} ms" if target else "-"]
        for p in runs:
            xs = latency_rows(p, meta.thread)[k][1]
            p95 = pct(xs, 95) if xs else float("nan")
            cells += [fmt_s(p95) if xs and p95 != float("inf") else "never" if xs else "-", "", "", verdict(p95, target) if xs else "n/a"]
            if xs:
                out.append(result(f"{name} (p95), {size}, {p.cores}", p95_text(xs), f"<= {target * 1e3:g} ms" if target else "", None, verdict(p95, target)))
        table.append(cells)
    print_table(head, table)
    for p in runs:
        opening = sum(1 for r in p.warm if r["opening_seen"])
        fronts = [r["front"] for r in p.warm if r["front"]]
        print(
            f"  {p.cores}: minimal {fmt_s(min(p.base))}..{fmt_s(max(p.base))}; home open {fmt_s(min(r['home_open'] for r in p.warm))}.."
            f"{fmt_s(max(r['home_open'] for r in p.warm))}; room ready {fmt_s(min(r['room_ready'] for r in p.warm))}..{fmt_s(max(r['room_ready'] for r in p.warm))}; "
            f'"Opening a cohort…" painted before the cohort in {opening} of {len(p.warm)} warm runs'
            f"{' and the cold one' if p.cold['opening_seen'] else ''}; "
            + "; ".join(
                f"{k} before the fold: its content painted before the fold ended in {sum(r['early_painted'] for r in rs)} of {len(rs)} runs"
                for k, rs in p.early.items()
            )
            + "; "
            f"shown from its front page in {len(fronts)} of {len(p.warm)} warm runs ({', '.join(sorted(set(fronts))) or 'none'})"
            f"{', and in the cold one' if p.cold['front'] else ''}; folded {fmt_s(min(r['home_folded'] for r in p.warm))}.."
            f"{fmt_s(max(r['home_folded'] for r in p.warm))}; "
            + ("snapshot rewritten by the cold run's close" if p.cold["snapshot_after"] else "no snapshot after the cold run (none under 2,000 events)")
        )

    print("\n(e) peak RSS (VmHWM), a fresh process each, tracemalloc off:")
    print(
        f"    minimal app (circle not imported: {'yes' if not mem_b['circle_imported'] else 'NO'}): peak {mib(mem_b['rss_hwm'])}, at the start {mib(mem_b['rss_start'])}"
    )
    print(
        f"    circle, {size}{'' if mem_c['snapshot'] else ' (no snapshot: cold open)'}: peak {mib(mem_c['rss_hwm'])} after the unlock"
        f" (imports and unlocked {mib(mem_c['rss_after_unlock'])}; "
        + "; ".join(f"{k} {mib(v)} (peak so far {mib(mem_c['peaks'][k])})" for k, v in mem_c["marks"].items())
        + f"); getrusage agrees: {mib(mem_c['ru_maxrss'])}"
    )
    if mem_cold is not None:
        print(
            f"    circle, {size}, cold (no snapshot, as a first open after joining or recovering): peak {mib(mem_cold['rss_hwm'])} after the unlock; "
            + "; ".join(f"{k} {mib(v)}" for k, v in mem_cold["marks"].items())
        )
    print(
        f"    circle verify, {size}: peak {mib(mem_v['rss_hwm'])} after the unlock{'' if mem_v['hwm_reset'] else ' (unlock INCLUDED)'};"
        f" {mem_v['opened']:,} envelopes opened, {mem_v['problems']} problems"
    )
    print(
        f"    unlock: Argon2id at m = {mem_c['kdf_memory_kib'] // 1024} MiB (this keystore; a calibrated one uses up to 256 MiB) "
        f"raised the high-water mark by {mib(mem_c['kdf_extra'])}, to {mib(mem_c['kdf_hwm'])}"
    )
    if not mem_c["hwm_reset"]:
        print("    (could not reset the RSS high-water mark: circle's peak includes the unlock)")
    x_screen, x_all = mem_x["screen_hwm"] - mem_x["rss_open"], mem_x["rss_hwm"] - mem_x["rss_open"]
    print(
        f"    exports, {size}, over the open cohort ({mib(mem_x['rss_open'])}): the export screen's read (summary and preview) "
        f"{fmt_s(mem_x['screen_s'])}, peak +{mib(x_screen)}; a whole-history signed Markdown export ({mem_x['export_bytes'] / 1e6:.0f} MB) "
        f"{fmt_s(mem_x['export_s'])}, peak +{mib(x_all)}"
    )
    if mem_c["tracing"] or mem_b["tracing"] or mem_v["tracing"] or mem_x["tracing"] or (mem_cold or {}).get("tracing"):
        raise SystemExit("bench_tui: tracemalloc was on in a memory probe")
    peak = mem_c["rss_hwm"]
    kdf_note = "unlock excluded" if mem_c["hwm_reset"] else "unlock INCLUDED (high-water mark could not be reset)"
    out.append(
        result(
            f"(e) peak RSS, circle with {size} ({kdf_note})", f"{mib(peak)} vs {mib(mem_b['rss_hwm'])} (minimal app, own process)", "", peak / mem_b["rss_hwm"]
        )
    )
    if meta.n >= TARGET_RSS_AT:
        out.append(
            result(
                f"(e) peak RSS, circle with {size}, against issue 14's target",
                mib(peak),
                f"<= {TARGET_RSS_MIB} MiB at 100k",
                peak / (TARGET_RSS_MIB * 2**20),
                verdict(peak, TARGET_RSS_MIB * 2**20),
            )
        )
    if mem_cold is not None:
        out.append(
            result(
                f"(e) peak RSS, circle with {size}, cold open (no snapshot)",
                f"{mib(mem_cold['rss_hwm'])} vs {mib(mem_b['rss_hwm'])} (minimal app, own process)",
                "",
                mem_cold["rss_hwm"] / mem_b["rss_hwm"],
            )
        )
    out.append(
        result(
            f"(e) peak RSS, circle verify with {size} ({'unlock excluded' if mem_v['hwm_reset'] else 'unlock INCLUDED'})",
            f"{mib(mem_v['rss_hwm'])} vs {mib(mem_b['rss_hwm'])} (minimal app, own process)",
            "",
            mem_v["rss_hwm"] / mem_b["rss_hwm"],
        )
    )
    out.append(result(f"(e) export screen's read, {size}: summary and preview", f"{fmt_s(mem_x['screen_s'])}, peak +{mib(x_screen)} over the open cohort"))
    out.append(
        result(
            f"(e) whole-history signed Markdown export, {size} ({mem_x['export_bytes'] / 1e6:.0f} MB)",
            f"{fmt_s(mem_x['export_s'])}, peak +{mib(x_all)} over the open cohort",
        )
    )
    out.append(
        result(
            f"(e) the unlock's own peak: Argon2id at m = {mem_c['kdf_memory_kib'] // 1024} MiB (bench keystore; calibrated: up to 256 MiB)",
            f"+{mib(mem_c['kdf_extra'])} over the process before it",
        )
    )
    return out


def print_traced(meta: Meta, t: dict[str, Any]) -> None:
    print(f"\nwhere the Python heap goes, {meta.events:,} events: a SEPARATE run with tracemalloc on (not the RSS run above; slower).")
    print(f"    traced Python heap: {mib(t['open'])} with the meeting room shown, peak {mib(t['peak'])}; largest at the meeting room:")
    for title, key in (("by file", "by_file"), ("by line", "by_line")):
        print(f"  {title}:")
        for name, size, count in t[key]:
            print(f"    {size / 2**20:8.1f} MiB {count:>9,} blocks  {name}")


# ---------------------------------------------------------------------------


def ensure_cohort(root: Path, n: int) -> Meta:
    meta_path = root / "meta.json"
    meta = Meta(**json.loads(meta_path.read_text())) if meta_path.exists() else None
    if meta is None or meta.n != n or meta.root != str(root):
        if root.exists():
            shutil.rmtree(root)
        print(f"building a cohort of {n} events in {root} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, __file__, "--build", str(n), "--root", str(root)], check=True)  # its own process: the parent stays small
        meta = Meta(**json.loads(meta_path.read_text()))
    return meta


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000], help="events in the cohort, one cohort per size (default 100000)")
    ap.add_argument("--n", type=int, help="one size (the same as --sizes N)")
    ap.add_argument("--reps", type=int, default=7, help="alternating runs of (a), (b), (c), (f), and of m and Enter before the fold")
    ap.add_argument("--presses", type=int, default=50, help="PgDn/PgUp presses for (d)")
    ap.add_argument("--cores", choices=("both", "all", "one"), default="both", help="paint rows with every core, pinned to one, or both (default)")
    ap.add_argument("--keep", type=Path, help="build each cohort in DIR/<n> once and reuse it in later runs")
    ap.add_argument("--trace-memory", action="store_true", help="also a separate traced run: the Python heap's largest allocations")
    ap.add_argument("--top", type=int, default=15, help="allocation sites to list with --trace-memory")
    ap.add_argument("--worker", choices=("circle", "minimal"), help=argparse.SUPPRESS)
    ap.add_argument("--memory-probe", choices=("circle", "cold", "verify", "export", "minimal", "traced"), help=argparse.SUPPRESS)
    ap.add_argument("--build", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.build:
        print(json.dumps(build(args.root, args.build).__dict__))
        return 0
    if args.worker:
        asyncio.run(worker(args.worker, args.root))
        return 0
    if args.memory_probe == "traced":
        print(json.dumps(asyncio.run(traced_probe(args.root, args.top))))
        return 0
    if args.memory_probe:
        print(json.dumps(asyncio.run(memory_probe(args.memory_probe, args.root))))
        return 0

    sizes = [args.n] if args.n else args.sizes
    pins: list[set[int] | None] = []
    if args.cores in ("both", "all"):
        pins.append(None)
    if args.cores in ("both", "one"):
        pins.append({sorted(os.sched_getaffinity(0))[0]})
    tmp = None
    keep = args.keep
    if keep is None:
        tmp = Path(tempfile.mkdtemp(prefix="circle-bench-tui-"))
        keep = tmp
    rows: list[dict] = []
    try:
        print(
            f"bench_tui: sizes {', '.join(f'{n:,}' for n in sizes)}; python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
        )
        for n in sizes:
            meta = ensure_cohort(keep / str(n), n)
            print(f"\n== {meta.events:,} events, {meta.meetings} meetings, {meta.thread} notes on the running item; load {os.getloadavg()[0]:.2f}", flush=True)
            runs = [paints(meta, cpus, args.reps, args.presses) for cpus in pins]
            mem_c = child_json(["--memory-probe", "circle", "--root", meta.root], "circle's memory probe")
            mem_b = child_json(["--memory-probe", "minimal", "--root", meta.root], "the minimal app's memory probe")
            mem_cold = child_json(["--memory-probe", "cold", "--root", meta.root], "circle's memory probe, cold") if mem_c["snapshot"] else None
            mem_v = child_json(["--memory-probe", "verify", "--root", meta.root], "circle verify's memory probe")
            mem_x = child_json(["--memory-probe", "export", "--root", meta.root], "the exports' memory probe")
            rows += report_size(meta, runs, mem_c, mem_b, mem_cold, mem_v, mem_x)
            if args.trace_memory:
                print_traced(meta, child_json(["--memory-probe", "traced", "--root", meta.root, "--top", str(args.top)], "the traced run"))
            if tmp is not None:
                shutil.rmtree(keep / str(n), ignore_errors=True)
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (rerun if it was above about 1)")
        emit("bench_tui", rows)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
