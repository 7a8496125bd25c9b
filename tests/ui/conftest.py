"""Fixtures for driving the app: a demo home built once, copied per test, a frozen clock."""

from __future__ import annotations

import calendar
import datetime as dt
import shutil
from pathlib import Path

import pytest

from circle.app import CircleApp, make_app  # noqa: E402
from circle.demo import DEMO_PASSPHRASE, build_demo  # noqa: E402
from circle.store.session import Home, Session  # noqa: E402
from tests.hostile import HostileHome, build_hostile_home

TODAY = dt.date(2025, 6, 2)  # the demo's upcoming meeting is on 2025-06-04 at 18:00
MEETING_START = float(calendar.timegm(dt.datetime(2025, 6, 4, 18, 5).timetuple()))


class FrozenClock:
    """A clock that moves only when a test says so."""

    def __init__(self, now: float = MEETING_START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "home"
    build_demo(root, today=TODAY)
    shutil.copytree(root / "replica", root.parent / "replica-as-built", symlinks=True)
    return root


@pytest.fixture
def demo_home(demo_template, tmp_path) -> Path:
    # The six members who joined keep the replica folder their invite named: the template's, by its absolute path.
    # So every copy of the home syncs through it; put it back as built, or what one test pushed reaches the next.
    replica = demo_template / "replica"
    shutil.rmtree(replica)
    shutil.copytree(demo_template.parent / "replica-as-built", replica, symlinks=True)
    dest = tmp_path / "home"
    shutil.copytree(demo_template, dest, symlinks=True)
    return dest


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def unlock(home: Path, name: str, clock: FrozenClock) -> Session:
    return Home(home).unlock(DEMO_PASSPHRASE, name, clock=clock)


@pytest.fixture
def app_for(demo_home, clock):
    """``app_for("Kwame Mensah")``: the app signed in as a demo member, with the frozen clock."""

    def make(name: str = "Kwame Mensah", **kwargs) -> CircleApp:
        return make_app(demo_home, session=unlock(demo_home, name, clock), clock=clock, cursor_blink=False, **kwargs)

    return make


@pytest.fixture(scope="session")
def hostile_template(tmp_path_factory) -> HostileHome:
    """The demo cohort after its members wrote the hostile corpus (see tests/hostile.py), built once."""
    return build_hostile_home(tmp_path_factory.mktemp("hostile") / "home", TODAY)


@pytest.fixture
def hostile_app(hostile_template, tmp_path, clock):
    """``hostile_app("Kwame Mensah")``: the app on a copy of the hostile home, signed in, with the frozen clock."""
    dest = tmp_path / "hostile"
    shutil.copytree(hostile_template.root, dest, symlinks=True)

    def make(name: str = "Kwame Mensah", **kwargs) -> CircleApp:
        return make_app(dest, session=unlock(dest, name, clock), clock=clock, cursor_blink=False, **kwargs)

    make.home = dest
    return make


async def opened(pilot) -> None:
    """Wait until the cohorts have opened and the screen has read its view in the background.

    A person sees "Opening a cohort…" meanwhile; a big view is read after the
    screen's next paint, so wait until nothing is queued or running.
    """
    app = pilot.app
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers) and not getattr(app.screen, "_read_queued", False):
            return
        await pilot.pause(0.01)
    raise AssertionError("the app kept working in the background")


async def tab_through_in_view(pilot) -> None:
    """Tab through the form on screen: every field, and its submit button, must be in view when Tab reaches it."""
    form = pilot.app.screen
    assert form.query_one(".modal-title").region.y >= form.query_one(".modal-box").region.y  # it opens at its title
    seen = set()
    for _ in range(len(form.fields) + 1):
        focused = form.focused
        assert focused is not None and focused.region.height and form.region.contains_region(focused.region), focused
        seen.add(focused.id)
        await pilot.press("tab")
        await pilot.pause()
    assert {f"field-{f.name}" for f in form.fields} | {"submit"} <= seen
